//! Reading the files the subcommands take, and reporting bad ones.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use janitor::lifecycle::{LifecyclePolicy, PolicyErrors};

/// Exit status for invalid input: a missing or malformed file, an invalid policy.
pub const INVALID_INPUT: u8 = 2;
/// Exit status when the output cannot be written.
const OUTPUT_FAILED: u8 = 1;

/// Prints `message` on stderr and returns the invalid-input exit status.
pub fn invalid(message: &str) -> ExitCode {
    eprintln!("ecr-janitor: {message}");
    ExitCode::from(INVALID_INPUT)
}

/// Reads a whole text file; the error names the file and what it was for.
pub fn read_text(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {what} file {}: {error}", path.display()))
}

/// Reads and validates a lifecycle policy file.
pub fn read_policy(path: &Path) -> Result<LifecyclePolicy, String> {
    let text = read_text(path, "policy")?;
    LifecyclePolicy::parse(&text).map_err(|errors| policy_errors(path, &errors))
}

/// One line per problem, each naming the file.
pub fn policy_errors(path: &Path, errors: &PolicyErrors) -> String {
    let count = errors.errors().len();
    let mut message = format!(
        "{}: invalid lifecycle policy ({count} {})",
        path.display(),
        if count == 1 { "error" } else { "errors" }
    );
    for error in errors.errors() {
        message.push_str(&format!("\n{}: {error}", path.display()));
    }
    message
}

/// Writes the whole output to stdout; a closed pipe is an error, not a panic.
pub fn write_stdout(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ecr-janitor: cannot write the output: {error}");
            ExitCode::from(OUTPUT_FAILED)
        }
    }
}

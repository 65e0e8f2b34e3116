//! `ecr-janitor validate`: checks a lifecycle policy document.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::input;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The lifecycle policy JSON, exactly as given to PutLifecyclePolicy.
    #[arg(long, value_name = "POLICY.json")]
    policy: PathBuf,
}

/// Exit 0 with a one-line confirmation, or 2 with every problem on stderr.
pub fn run(args: &ValidateArgs) -> ExitCode {
    match input::read_policy(&args.policy) {
        Ok(policy) => {
            let count = policy.rules().len();
            input::write_stdout(&format!(
                "{}: valid lifecycle policy ({count} {})\n",
                args.policy.display(),
                if count == 1 { "rule" } else { "rules" }
            ))
        }
        Err(message) => input::invalid(&message),
    }
}

//! `ecr-janitor check-tag`: the tag-enforcer's verdict on one tag, offline, from the
//! configuration document alone (no AWS call, so protected tags and the image's
//! other tags, which only matter when acting, play no part).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use janitor::config::JanitorConfig;
use janitor::tags::Verdict;

use crate::input;

/// Exit status when the tag breaks its rule.
const VIOLATION: u8 = 1;
/// ECR's limits on a repository name and a tag.
const REPOSITORY_LENGTH: std::ops::RangeInclusive<usize> = 2..=256;
const TAG_LENGTH: std::ops::RangeInclusive<usize> = 1..=300;

#[derive(Debug, Args)]
pub struct CheckTagArgs {
    /// The janitor configuration document (the JSON the functions load).
    #[arg(long, value_name = "CONFIG.json")]
    config: PathBuf,
    /// The repository the tag would be pushed to.
    #[arg(long, value_name = "NAME")]
    repository: String,
    /// The tag to judge.
    #[arg(long, value_name = "TAG")]
    tag: String,
}

/// Exit 0 when the tag is allowed, 1 with the rule and action when it breaks its
/// rule, 2 when the configuration, repository name or tag is invalid.
pub fn run(args: &CheckTagArgs) -> ExitCode {
    if let Err(message) = check_input(&args.repository, &args.tag) {
        return input::invalid(&message);
    }
    let config = match JanitorConfig::from_file(&args.config.display().to_string()) {
        Ok(config) => config,
        Err(error) => return input::invalid(&error.to_string()),
    };
    let verdict = config.tag_rules.verdict(&args.repository, &args.tag);
    let written = input::write_stdout(&format!("{}:{}: {verdict}\n", args.repository, args.tag));
    match verdict {
        Verdict::Violation(_) if written == ExitCode::SUCCESS => ExitCode::from(VIOLATION),
        _ => written,
    }
}

/// Rejects names ECR would never accept, so a typo is not mistaken for a verdict.
fn check_input(repository: &str, tag: &str) -> Result<(), String> {
    let repository_ok = REPOSITORY_LENGTH.contains(&repository.len())
        && repository.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '/' | '-')
        });
    if !repository_ok {
        return Err(format!(
            "invalid repository name {repository:?}: ECR names are 2 to 256 characters of a-z 0-9 . _ / -"
        ));
    }
    let tag_ok = TAG_LENGTH.contains(&tag.len())
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !tag_ok {
        return Err(format!(
            "invalid tag {tag:?}: tags are 1 to 300 characters of A-Z a-z 0-9 . _ -"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_names_and_tags_pass() {
        assert_eq!(check_input("prod/api", "v1.2.3"), Ok(()));
        assert_eq!(check_input("a.b_c-d/e", "Build_7-rc.1"), Ok(()));
    }

    #[test]
    fn impossible_names_and_tags_are_rejected() {
        for (repository, tag) in [
            ("Prod/api", "v1"),
            ("a", "v1"),
            ("prod/api", ""),
            ("prod/api", "v1 2"),
            ("prod/api", "v1/2"),
        ] {
            assert!(check_input(repository, tag).is_err(), "{repository} {tag}");
        }
        assert!(check_input("prod/api", &"a".repeat(301)).is_err());
    }
}

//! `ecr-janitor exclude-pull-times`: registers a principal (the sweeper's role) whose
//! pulls never update `lastRecordedPullTime` in the registry the environment points
//! at, so that the sweeper's reads of image index manifests leave pull times exact.

use std::process::ExitCode;
use std::sync::LazyLock;

use clap::Args;
use janitor::aws;
use janitor::sweep::pull_times::{exclude_from_pull_times, Exclusion};

use crate::input;

/// Exit status when the AWS call fails.
const CALL_FAILED: u8 = 1;

/// An IAM role or user ARN, as ECR accepts for a pull-time update exclusion.
static PRINCIPAL_ARN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9_+=,.@/-]{1,512}$")
        .unwrap_or_else(|err| unreachable!("constant regex: {err}"))
});

#[derive(Debug, Args)]
pub struct ExcludePullTimesArgs {
    /// The principal whose pulls must not update pull times: the lifecycle-sweeper's
    /// role (the janitor Terraform module's `role_arns["lifecycle-sweeper"]`).
    #[arg(long, value_name = "ARN")]
    principal_arn: String,
}

pub fn run(args: &ExcludePullTimesArgs) -> ExitCode {
    if !PRINCIPAL_ARN.is_match(&args.principal_arn) {
        return input::invalid(&format!(
            "--principal-arn {:?} is not an IAM role or user ARN",
            janitor::untrusted::excerpt(&args.principal_arn)
        ));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ecr-janitor: cannot start the async runtime: {error}");
            return ExitCode::from(CALL_FAILED);
        }
    };
    runtime.block_on(async {
        let sdk = aws::load_sdk_config().await;
        let ecr = aws_sdk_ecr::Client::new(&sdk);
        match exclude_from_pull_times(&ecr, &args.principal_arn).await {
            Ok(Exclusion::Registered) => input::write_stdout(&format!(
                "{}: its pulls no longer update pull times\n",
                args.principal_arn
            )),
            Ok(Exclusion::AlreadyRegistered) => input::write_stdout(&format!(
                "{}: already excluded from pull-time updates\n",
                args.principal_arn
            )),
            Err(error) => {
                eprintln!("ecr-janitor: {error}");
                ExitCode::from(CALL_FAILED)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_roles_and_users_of_any_partition_are_principals() {
        for good in [
            "arn:aws:iam::123456789012:role/ecr-janitor-lifecycle-sweeper",
            "arn:aws-cn:iam::123456789012:role/path/to/sweeper",
            "arn:aws-us-gov:iam::123456789012:user/ops@example.com",
        ] {
            assert!(PRINCIPAL_ARN.is_match(good), "{good}");
        }
        for bad in [
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::12345:role/x",
            "arn:aws:sts::123456789012:assumed-role/x/session",
            "role/x",
        ] {
            assert!(!PRINCIPAL_ARN.is_match(bad), "{bad}");
        }
    }
}

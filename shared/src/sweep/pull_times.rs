//! Keeping the sweeper's own reads from moving pull times.
//!
//! To learn an image index's children the sweeper reads the index manifest with
//! `BatchGetImage`, which AWS documents may count as a pull and move the index's
//! `lastRecordedPullTime` — the time `sinceImagePulled` rules judge. The sweeper never
//! reads other manifests, so only indexes are affected; to keep even those exact, ECR
//! lets a registry name up to 100 principals whose pulls never update pull times
//! (`RegisterPullTimeUpdateExclusion`). The janitor registers the sweeper's role there
//! once, at install time (`ecr-janitor exclude-pull-times`), rather than at every cold
//! start: it is a registry-wide setting, changed by whoever owns the registry, and the
//! sweeper's role needs no permission to change it.

use aws_sdk_ecr::operation::register_pull_time_update_exclusion::RegisterPullTimeUpdateExclusionError;

use super::error::AwsCallError;

/// What registering a principal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// The principal's pulls no longer update pull times.
    Registered,
    /// They already did not.
    AlreadyRegistered,
}

/// Excludes `principal_arn` (an IAM role or user) from pull-time updates in the
/// registry `ecr` points at; registering it twice is harmless.
pub async fn exclude_from_pull_times(
    ecr: &aws_sdk_ecr::Client,
    principal_arn: &str,
) -> Result<Exclusion, AwsCallError> {
    match ecr
        .register_pull_time_update_exclusion()
        .principal_arn(principal_arn)
        .send()
        .await
    {
        Ok(_) => Ok(Exclusion::Registered),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(RegisterPullTimeUpdateExclusionError::ExclusionAlreadyExistsException(_))
            ) =>
        {
            Ok(Exclusion::AlreadyRegistered)
        }
        Err(err) => Err(AwsCallError::new("RegisterPullTimeUpdateExclusion", &err)),
    }
}

//! Thin adapters between the pure domain and AWS. Everything here talks to AWS through
//! the real SDK clients; endpoint, region and credentials come from the environment
//! (`AWS_ENDPOINT_URL` points them at moto in tests and the demo).
//!
//! How each kind of call is retried is decided here; `docs/lifecycle-sweeper.md`,
//! "Throttling", says why.

pub mod bus;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ecr::config::retry::{RetryPartition, TokenBucket};

/// Attempts of a sweep's reads: listing, manifests, the sources of "in use".
pub const READ_MAX_ATTEMPTS: u32 = 8;
/// First backoff of a read; it doubles at each retry, with full jitter.
pub const READ_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Longest backoff of a read.
pub const READ_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Attempts of a call that changes the registry, and of the re-read that confirms it.
pub const ACT_MAX_ATTEMPTS: u32 = 6;
/// First backoff of an acting call; it doubles at each retry, with full jitter.
pub const ACT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// Longest backoff of an acting call.
pub const ACT_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The retry partition of acting calls: a token bucket of their own (see
/// [`acting_client`]).
pub const ACT_RETRY_PARTITION: &str = "ecr-janitor-acting";

/// Loads the SDK configuration from the environment with the standard retry policy.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .load()
        .await
}

/// The retry policy of a sweep's reads, and of every other call its clients make
/// (events included): standard mode, which never delays a first attempt, with backoffs
/// short enough that eight attempts wait at most 22.5 s.
pub fn sweep_read_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(READ_MAX_ATTEMPTS)
        .with_initial_backoff(READ_INITIAL_BACKOFF)
        .with_max_backoff(READ_MAX_BACKOFF)
}

/// The sweeper's configuration loader: the environment, with
/// [`sweep_read_retry_config`]. Tests point it at another endpoint before loading.
pub fn sweep_config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).retry_config(sweep_read_retry_config())
}

/// Loads the sweeper's SDK configuration (see [`sweep_config_loader`]).
pub async fn load_sweep_sdk_config() -> aws_config::SdkConfig {
    sweep_config_loader().load().await
}

/// The retry policy of calls that change the registry (`BatchDeleteImage`,
/// `UpdateImageStorageClass`) and of the re-read that confirms each batch: standard
/// mode, at most [`ACT_MAX_ATTEMPTS`] and never more than `client_max_attempts` (a
/// client set to fewer, e.g. a test's single attempt, keeps them), waiting at most 5 s
/// in all. A batch is only acted on while its re-read is fresh, and its two calls must
/// fit in the margin an invocation keeps before its deadline.
pub fn acting_retry_config(client_max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(ACT_MAX_ATTEMPTS.min(client_max_attempts).max(1))
        .with_initial_backoff(ACT_INITIAL_BACKOFF)
        .with_max_backoff(ACT_MAX_BACKOFF)
}

/// `ecr` as acting calls use it: [`acting_retry_config`], in a retry partition of its
/// own without a retry quota. The SDK's quota (500 tokens per service and Region,
/// shared by the whole process, 5 spent on each retry of a throttled call and lost
/// when that call needs another) drains over a long sweep under steady throttling and
/// would then fail a call at its first throttle; acting calls are few at a time (one
/// per repository, or [`crate::sweep::executor`]'s transitions) and a sweep stops at
/// the first one that fails, which bounds their retries without it. Interceptors,
/// endpoint and credentials are `ecr`'s.
pub fn acting_client(ecr: &aws_sdk_ecr::Client) -> aws_sdk_ecr::Client {
    let config = ecr.config();
    let client_max_attempts = config
        .retry_config()
        .map_or(ACT_MAX_ATTEMPTS, RetryConfig::max_attempts);
    aws_sdk_ecr::Client::from_conf(
        config
            .to_builder()
            .retry_config(acting_retry_config(client_max_attempts))
            .retry_partition(
                RetryPartition::custom(ACT_RETRY_PARTITION)
                    .token_bucket(TokenBucket::unlimited())
                    .build(),
            )
            .build(),
    )
}

/// Renders an SDK error with its whole chain of causes (service code and message),
/// which the SDK's own `Display` leaves out.
pub fn error_text<E: std::error::Error>(err: &E) -> String {
    aws_sdk_ecr::error::DisplayErrorContext(err).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::retry::RetryMode;

    fn ecr_client(retry: RetryConfig) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::from_conf(
            aws_sdk_ecr::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(aws_sdk_ecr::config::Region::new("us-east-1"))
                .retry_config(retry)
                .build(),
        )
    }

    #[test]
    fn reads_retry_in_standard_mode_with_short_backoffs() {
        let read = sweep_read_retry_config();
        assert_eq!(read.mode(), RetryMode::Standard);
        assert_eq!(read.max_attempts(), 8);
        // The backoff before retry n is at most min(0.5 s * 2^(n-1), 5 s).
        let longest_wait: Duration = (0..read.max_attempts() - 1)
            .map(|retry| (read.initial_backoff() * 2u32.pow(retry)).min(read.max_backoff()))
            .sum();
        assert_eq!(longest_wait, Duration::from_millis(22_500));
    }

    #[test]
    fn acting_calls_retry_briefly_in_a_partition_of_their_own() {
        let acting = acting_client(&ecr_client(sweep_read_retry_config()));
        let config = acting.config();
        let retry = config.retry_config().expect("a retry policy");
        assert_eq!(retry.mode(), RetryMode::Standard);
        assert_eq!(retry.max_attempts(), 6);
        let longest_wait: Duration = (0..retry.max_attempts() - 1)
            .map(|retry_number| {
                (retry.initial_backoff() * 2u32.pow(retry_number)).min(retry.max_backoff())
            })
            .sum();
        assert_eq!(longest_wait, Duration::from_secs(5));
        assert_eq!(
            config.retry_partition().map(ToString::to_string).as_deref(),
            Some(ACT_RETRY_PARTITION)
        );
    }

    #[test]
    fn acting_calls_never_retry_more_than_their_client_would() {
        for (client, acting) in [(1, 1), (3, 3), (6, 6), (8, 6)] {
            let ecr = ecr_client(RetryConfig::standard().with_max_attempts(client));
            let retry = acting_client(&ecr).config().retry_config().cloned();
            assert_eq!(retry.map(|retry| retry.max_attempts()), Some(acting));
        }
    }
}

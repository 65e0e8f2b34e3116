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
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

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

/// One line for a failed AWS call, for results and logs: AWS's error code and message
/// (`ResourceNotFoundException: Event bus janitor does not exist.`) when AWS answered
/// with an error, else the chain of causes (`dispatch failure: io error: ...`). The
/// SDK's own `Display` says only "service error", and its debug form spans the raw
/// response. Callers name the operation.
pub fn error_text<E>(err: &E) -> String
where
    E: std::error::Error + ProvideErrorMetadata,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => one_line(&format!("{code}: {message}")),
        (Some(code), None) => one_line(code),
        (None, _) => cause_chain(err),
    }
}

/// An error and its causes on one line, each cause once: for failures that carry no
/// AWS error code (no connection, a timeout, a body that could not be read).
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(current) = next {
        let text = one_line(&current.to_string());
        // Wrappers often repeat their source's text in their own.
        if !text.is_empty() && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}

/// Whitespace runs (newlines included) become one space: messages are log fields.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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

    type PutEventsSdkError = aws_sdk_eventbridge::error::SdkError<
        aws_sdk_eventbridge::operation::put_events::PutEventsError,
        aws_sdk_eventbridge::config::http::HttpResponse,
    >;

    fn http_response(status: u16) -> aws_sdk_ecr::config::http::HttpResponse {
        let status = status.try_into().expect("an HTTP status");
        aws_sdk_ecr::config::http::HttpResponse::new(
            status,
            aws_smithy_types::body::SdkBody::empty(),
        )
    }

    fn metadata(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
        aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build()
    }

    /// An error of `PutEvents`, which models no exception for a missing bus: the SDK
    /// builds it from the code and message of EventBridge's answer.
    fn put_events_error(meta: aws_smithy_types::error::ErrorMetadata) -> PutEventsSdkError {
        PutEventsSdkError::service_error(
            aws_sdk_eventbridge::operation::put_events::PutEventsError::generic(meta),
            http_response(400),
        )
    }

    #[test]
    fn a_modeled_service_error_is_its_code_and_message() {
        use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
        use aws_sdk_ecr::types::error::RepositoryNotFoundException;
        let message =
            "The repository with name 'app' does not exist in the registry with id '123456789012'";
        let missing = RepositoryNotFoundException::builder()
            .message(message)
            .meta(metadata("RepositoryNotFoundException", message))
            .build();
        let err = aws_sdk_ecr::error::SdkError::service_error(
            DescribeImagesError::RepositoryNotFoundException(missing),
            http_response(400),
        );
        assert_eq!(
            error_text(&err),
            "RepositoryNotFoundException: The repository with name 'app' does not exist in the \
             registry with id '123456789012'"
        );
    }

    #[test]
    fn an_unmodeled_service_error_is_its_code_and_message_on_one_line() {
        let missing_bus = put_events_error(metadata(
            "ResourceNotFoundException",
            "Event bus janitor does not exist.",
        ));
        assert_eq!(
            error_text(&missing_bus),
            "ResourceNotFoundException: Event bus janitor does not exist."
        );
        let two_lines = put_events_error(metadata(
            "InternalFailure",
            "The request failed\n   for an unknown reason.",
        ));
        assert_eq!(
            error_text(&two_lines),
            "InternalFailure: The request failed for an unknown reason."
        );
        let code_only = put_events_error(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("ThrottlingException")
                .build(),
        );
        assert_eq!(error_text(&code_only), "ThrottlingException");
    }

    #[test]
    fn an_error_without_a_code_is_its_chain_of_causes() {
        let timeout = PutEventsSdkError::timeout_error(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer within 3.1 s",
        ));
        assert_eq!(
            error_text(&timeout),
            "request has timed out: no answer within 3.1 s"
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

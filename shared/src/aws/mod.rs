//! Thin adapters between the pure domain and AWS. Everything here talks to AWS through
//! the real SDK clients; endpoint, region and credentials come from the environment
//! (`AWS_ENDPOINT_URL` points them at moto in tests and the demo).

pub mod bus;

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;

/// Loads the SDK configuration from the environment with the standard retry policy.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .load()
        .await
}

/// Loads the SDK configuration with adaptive retry, for sweeps that make many calls
/// to APIs without published throttling quotas: the client slows itself down when
/// it sees throttling instead of failing the sweep.
pub async fn load_sweep_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::adaptive().with_max_attempts(8))
        .load()
        .await
}

/// Renders an SDK error with its whole chain of causes (service code and message),
/// which the SDK's own `Display` leaves out.
pub fn error_text<E: std::error::Error>(err: &E) -> String {
    aws_sdk_ecr::error::DisplayErrorContext(err).to_string()
}

//! Errors that stop a sweep (of one repository or of a whole run).

/// A call to AWS failed after the SDK's own retries (throttling, network, permissions).
/// Such failures are transient or need an operator; the invocation fails so that Lambda
/// retries it and the failure shows up in the function's error metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{operation} failed: {message}")]
pub struct AwsCallError {
    /// The API operation, e.g. `DescribeImages`.
    pub operation: String,
    /// AWS's error code and message, on one line ([`crate::aws::error_text`]).
    pub message: String,
}

impl AwsCallError {
    pub fn new<E>(operation: &str, err: &E) -> Self
    where
        E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata,
    {
        AwsCallError {
            operation: operation.to_owned(),
            message: crate::aws::error_text(err),
        }
    }
}

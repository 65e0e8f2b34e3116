//! Log setup: JSON lines in Lambda (one object per line, CloudWatch Logs Insights can
//! query the fields), readable text on a terminal.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` sets the level (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests, a CLI calling twice) keeps the first subscriber.
    let _ = if in_lambda {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

//! lifecycle-sweeper: applies the janitor's lifecycle policies to ECR on a schedule,
//! per repository. All logic lives in `janitor::sweep`; this only wires it to Lambda.

use janitor::aws::bus::bus_name_from_env;
use janitor::config::JanitorConfig;
use janitor::sweep::in_use::snapshot_store::ENV_SNAPSHOT_S3_URI;
use janitor::sweep::organization::Organization;
use janitor::sweep::{Budget, Sweeper};
use janitor::{aws, logging};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let sdk = aws::load_sweep_sdk_config().await;
    let config = JanitorConfig::load_from_env(&sdk)
        .await
        .inspect_err(|err| tracing::error!(error = %err, "invalid configuration"))?;
    // Summaries and fan-out events go to the bus: a sweeper without one could not
    // report what it did, so it does not start.
    let bus_name = bus_name_from_env().inspect_err(|err| tracing::error!(error = %err))?;
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let snapshot_uri = std::env::var(ENV_SNAPSHOT_S3_URI).ok();
    let organization = Organization::new(&sdk, &config, &function_name, snapshot_uri.as_deref())
        .await
        .inspect_err(|err| tracing::error!(error = %err, "cannot reach the targets"))?;
    let mut sweeper = Sweeper::from_sdk_config(&sdk, config, Some(bus_name));
    sweeper.organization = organization;
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget = Budget::lambda(event.context.deadline, std::time::SystemTime::now());
        sweeper
            .handle_event(&event.payload, chrono::Utc::now(), budget)
            .await
            .inspect_err(|err| tracing::error!(error = %err, "invocation failed"))
            .map_err(Error::from)
    }))
    .await
}

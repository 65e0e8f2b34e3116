//! tag-enforcer: judges every pushed tag against the janitor's tag rules and reports,
//! untags or deletes violations. All logic lives in `janitor::tags`; this only wires
//! it to Lambda.

use std::sync::Arc;

use janitor::aws::bus::{bus_name_from_env, EventBus};
use janitor::config::JanitorConfig;
use janitor::tags::TagEnforcer;
use janitor::targets::TargetDirectory;
use janitor::{aws, logging};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let sdk = aws::load_sdk_config().await;
    let config = JanitorConfig::load_from_env(&sdk)
        .await
        .inspect_err(|err| {
            tracing::error!(error = %err, "invalid configuration");
        })?;
    let bus_name = bus_name_from_env().inspect_err(|err| tracing::error!(error = %err))?;
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let targets = TargetDirectory::for_installation(&sdk, config.targets.as_ref(), &function_name)
        .await
        .inspect_err(|err| tracing::error!(error = %err, "cannot reach the targets"))?;
    let mut enforcer = TagEnforcer::new(
        aws_sdk_ecr::Client::new(&sdk),
        EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), bus_name),
        config,
    );
    if let Some(targets) = targets {
        enforcer = enforcer.with_targets(Arc::new(targets));
    }
    let enforcer = &enforcer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        enforcer.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}

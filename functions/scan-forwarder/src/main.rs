//! scan-forwarder: forwards ECR scan findings (enhanced and basic) to Security Hub and
//! the janitor's event bus. Wiring only; the logic lives in `janitor::findings`.

use std::sync::Arc;

use janitor::aws::bus::{bus_name_from_env, EventBus};
use janitor::config::JanitorConfig;
use janitor::findings::{Caller, ForwardReport, ScanForwarder};
use janitor::targets::TargetDirectory;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    janitor::logging::init();
    let sdk = janitor::aws::load_sdk_config().await;
    let config = JanitorConfig::load_from_env(&sdk)
        .await
        .inspect_err(|err| tracing::error!(error = %err, "invalid configuration"))?;
    let bus_name = bus_name_from_env().inspect_err(|err| tracing::error!(error = %err))?;
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let targets = TargetDirectory::for_installation(&sdk, config.targets.as_ref(), &function_name)
        .await
        .inspect_err(|err| tracing::error!(error = %err, "cannot reach the targets"))?;
    let mut forwarder = ScanForwarder::new(
        config.scan,
        aws_sdk_ecr::Client::new(&sdk),
        aws_sdk_securityhub::Client::new(&sdk),
        EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), bus_name),
    );
    if let Some(targets) = targets {
        forwarder = forwarder.with_targets(Arc::new(targets));
    }
    let forwarder = &forwarder;
    let region = sdk.region().map(|r| r.to_string());
    let region = &region;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let function_arn = &event.context.invoked_function_arn;
        let caller =
            Caller::resolve(function_arn, region.as_deref(), &event.payload).ok_or_else(|| {
                format!("cannot tell the account and Region from function ARN {function_arn:?}")
            })?;
        let report: ForwardReport = forwarder
            .handle(&event.payload, &caller, chrono::Utc::now())
            .await
            .inspect_err(|err| tracing::error!(error = %err, "invocation failed"))?;
        Ok::<ForwardReport, Error>(report)
    }))
    .await
}

//! How a failed AWS call reads in what a function returns and logs: one line naming
//! the operation, AWS's error code and its message, from the SDK's real error for the
//! real answer (moto's, over HTTP), not a debug dump of the response.

use janitor::aws::bus::{BusEvent, EventBus};
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::tags::TagEnforcer;
use janitor_e2e::{create_repository, push_image, sample_event, test_sdk_config, Moto};
use serde_json::json;

fn event() -> BusEvent {
    BusEvent {
        detail_type: "Test".to_owned(),
        detail: json!({}),
        resources: vec![],
    }
}

#[tokio::test]
async fn a_missing_bus_is_one_line_with_operation_code_and_message() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let bus = EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), "janitor");

    let err = bus.publish(&[event()]).await.expect_err("no such bus");

    assert_eq!(
        err.to_string(),
        "PutEvents to bus janitor failed: ResourceNotFoundException: Event bus janitor does not exist."
    );
}

#[tokio::test]
async fn the_tag_enforcer_returns_the_same_line_when_its_bus_is_missing() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    create_repository(&ecr, "app").await;
    let digest = push_image(&ecr, "app", 1, Some("latest")).await;
    let config = JanitorConfig::from_json(
        &json!({"tagRules": {"rules": [{"repositories": ["*"], "forbidden": ["latest"]}]}})
            .to_string(),
        ConfigSource::Inline,
    )
    .expect("valid configuration");
    let enforcer = TagEnforcer::new(
        ecr,
        EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), "janitor"),
        config,
    );
    let mut push = sample_event("ecr-image-action-push-success.json");
    push["detail"]["repository-name"] = json!("app");
    push["detail"]["image-digest"] = json!(digest);

    let err = enforcer.handle(push).await.expect_err("no such bus");

    assert_eq!(
        err.to_string(),
        "PutEvents to bus janitor failed: ResourceNotFoundException: Event bus janitor does not exist."
    );
}

#[tokio::test]
async fn no_answer_at_all_is_the_chain_of_causes_on_one_line() {
    // A port nothing listens on: moto's, once it has stopped.
    let endpoint = {
        let moto = Moto::start();
        moto.endpoint()
    };
    let sdk = test_sdk_config(&endpoint).await;
    let bus = EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), "janitor");

    let err = bus.publish(&[event()]).await.expect_err("nothing listens");

    assert_eq!(
        err.to_string(),
        "PutEvents to bus janitor failed: dispatch failure: io error: client error (Connect): \
         tcp connect error: Connection refused (os error 111)"
    );
}

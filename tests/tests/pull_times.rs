//! Excluding the sweeper's role from pull-time updates, through the real SDK. moto does
//! not implement `RegisterPullTimeUpdateExclusion`: the loopback proxy answers it as
//! ECR's API documents it — the principal and its creation time, then
//! `ExclusionAlreadyExistsException` for a principal already registered.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use janitor::sweep::pull_times::{exclude_from_pull_times, Exclusion};
use janitor_e2e::proxy::{on_request, Forward, LoopbackProxy, ProxyResponse};
use janitor_e2e::Moto;
use serde_json::json;

const ROLE: &str = "arn:aws:iam::123456789012:role/ecr-janitor-lifecycle-sweeper";

#[tokio::test]
async fn the_sweeper_role_is_excluded_once_and_again_harmlessly() {
    let moto = Moto::start();
    let registered: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let exclusions = registered.clone();
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_request(move |request, _| {
            if request.operation() != Some("RegisterPullTimeUpdateExclusion") {
                return Forward::Upstream(request);
            }
            let principal = request.json()["principalArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let fresh = exclusions.lock().expect("lock").insert(principal.clone());
            Forward::Respond(if fresh {
                ProxyResponse::json_status(
                    200,
                    &json!({"principalArn": principal, "createdAt": 1_764_000_000.0}),
                )
            } else {
                ProxyResponse::json_status(
                    400,
                    &json!({"__type": "ExclusionAlreadyExistsException",
                            "message": "The specified pull time update exclusion already exists."}),
                )
            })
        }),
    );
    let ecr = aws_sdk_ecr::Client::new(&proxy.sdk_config().await);
    assert_eq!(
        exclude_from_pull_times(&ecr, ROLE).await,
        Ok(Exclusion::Registered)
    );
    assert_eq!(
        exclude_from_pull_times(&ecr, ROLE).await,
        Ok(Exclusion::AlreadyRegistered)
    );
    assert_eq!(
        *registered.lock().expect("lock"),
        BTreeSet::from([ROLE.to_owned()])
    );
    // Any other refusal is an error naming the call.
    let unknown =
        exclude_from_pull_times(&aws_sdk_ecr::Client::new(&moto.sdk_config().await), ROLE)
            .await
            .expect_err("moto does not implement the call");
    assert_eq!(unknown.operation, "RegisterPullTimeUpdateExclusion");
}

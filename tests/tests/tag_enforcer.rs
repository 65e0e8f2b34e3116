//! tag-enforcer end to end: the real handler against moto server over HTTP.
//!
//! Each test pushes images with `PutImage`, delivers the `ECR Image Action` event ECR
//! would send (built from the shipped sample) to the handler, then asserts the
//! registry (`DescribeImages`), the handler's answer, the ECR calls it made and the
//! `Tag Rule Violation` events that reached an SQS queue through a bus rule.

use std::collections::BTreeMap;

use janitor::aws::bus::EventBus;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::tags::{Decision, TagEnforcer};
use janitor_e2e::proxy::LoopbackProxy;
use janitor_e2e::tag_deletes::EcrTagDeletes;
use janitor_e2e::{
    create_repository, images, push_image, sample_event, BusCapture, EcrCallLog, Moto,
};
use serde_json::{json, Value};

const BUS: &str = "janitor";

/// `report/*`, `untag/*` and `delete/*` repositories share one tag policy (versions
/// or `sha-` commit ids, never `latest`) and differ only in the action.
fn config() -> JanitorConfig {
    let text = json!({"tagRules": {
        "rules": [
            {"repositories": ["report/*"], "allowed": ["v*.*.*"], "forbidden": ["latest"]},
            {"repositories": ["untag/*"], "allowed": ["v*.*.*"], "forbidden": ["latest"],
             "action": "untag"},
            {"repositories": ["delete/*"], "allowed": ["v*.*.*"], "allowedRegex": ["sha-[0-9a-f]{7}"],
             "forbidden": ["latest"], "action": "delete"}
        ],
        "protectedTags": ["release-*"]
    }})
    .to_string();
    JanitorConfig::from_json(&text, ConfigSource::Inline).expect("valid configuration")
}

struct Env {
    _proxy: LoopbackProxy,
    _moto: Moto,
    ecr: aws_sdk_ecr::Client,
    bus: BusCapture,
    enforcer: TagEnforcer,
    /// The ECR calls the enforcer makes.
    calls: EcrCallLog,
}

impl Env {
    /// moto with the janitor bus captured, and the enforcer built with clients pointed
    /// at it.
    async fn start() -> Env {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let bus = BusCapture::start(&sdk, BUS).await;
        let calls = EcrCallLog::default();
        // The enforcer untags by tag and digest, which moto does not do as ECR does.
        let proxy = LoopbackProxy::start(moto.port(), EcrTagDeletes);
        let enforcer = TagEnforcer::new(
            calls.client(&proxy.sdk_config().await),
            EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), BUS),
            config(),
        );
        Env {
            ecr: aws_sdk_ecr::Client::new(&sdk),
            _proxy: proxy,
            _moto: moto,
            bus,
            enforcer,
            calls,
        }
    }

    async fn create_repository(&self, name: &str) {
        create_repository(&self.ecr, name).await;
    }

    /// Pushes image number `n` (its layer digest, and so moto's image digest, depends
    /// on `n` only); `tag: None` pushes it untagged. Returns the digest moto assigned.
    async fn push(&self, repository: &str, n: u64, tag: Option<&str>) -> String {
        push_image(&self.ecr, repository, n, tag).await
    }

    /// Pushes image `n` under each tag in turn (one image, several tags).
    async fn push_tags(&self, repository: &str, n: u64, tags: &[&str]) -> String {
        let mut digest = String::new();
        for tag in tags {
            digest = self.push(repository, n, Some(tag)).await;
        }
        digest
    }

    /// Every image of the repository: digest -> sorted tags.
    async fn images(&self, repository: &str) -> BTreeMap<String, Vec<String>> {
        images(&self.ecr, repository).await
    }

    /// Delivers the event ECR sends for a push and returns the handler's answer as JSON.
    async fn deliver(&self, repository: &str, digest: &str, tag: Option<&str>) -> Value {
        let decision = self
            .enforcer
            .handle(push_event(repository, digest, tag))
            .await
            .expect("handled");
        serde_json::to_value(&decision).expect("json")
    }

    /// The details of every `Tag Rule Violation` event that reached the queue so far.
    async fn violation_events(&self) -> Vec<Value> {
        self.bus.details("Tag Rule Violation", 0).await
    }
}

/// The shipped sample push event, re-pointed at an image.
fn push_event(repository: &str, digest: &str, tag: Option<&str>) -> Value {
    let mut event = sample_event("ecr-image-action-push-success.json");
    event["detail"]["repository-name"] = json!(repository);
    event["detail"]["image-digest"] = json!(digest);
    match tag {
        Some(tag) => event["detail"]["image-tag"] = json!(tag),
        None => {
            if let Some(detail) = event["detail"].as_object_mut() {
                detail.remove("image-tag");
            }
        }
    }
    event
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|tag| tag.to_string()).collect()
}

/// The `Tag Rule Violation` detail for `latest` forbidden by rule `rule`.
fn latest_violation(
    repository: &str,
    digest: &str,
    rule: usize,
    action: &str,
    action_taken: &str,
    note: Option<&str>,
) -> Value {
    let mut detail = json!({
        "repositoryName": repository, "imageDigest": digest, "imageTag": "latest",
        "rule": format!("tagRules.rules[{rule}]"), "violation": "forbidden", "pattern": "latest",
        "action": action, "actionTaken": action_taken
    });
    if let Some(note) = note {
        detail["note"] = json!(note);
    }
    detail
}

fn violation_outcome(detail: &Value) -> Value {
    let mut outcome = detail.clone();
    outcome["outcome"] = json!("violation");
    outcome
}

#[tokio::test]
async fn an_allowed_tag_changes_nothing_and_reports_nothing() {
    let env = Env::start().await;
    env.create_repository("delete/app").await;
    let digest = env.push("delete/app", 1, Some("v1.2.3")).await;
    let commit = env.push("delete/app", 2, Some("sha-0abc123")).await;

    assert_eq!(
        env.deliver("delete/app", &digest, Some("v1.2.3")).await,
        json!({"outcome": "allowed", "repositoryName": "delete/app", "imageDigest": digest,
               "imageTag": "v1.2.3", "verdict": "allowed", "rule": "tagRules.rules[2]",
               "allowedBy": "pattern", "pattern": "v*.*.*"})
    );
    assert_eq!(
        env.deliver("delete/app", &commit, Some("sha-0abc123"))
            .await["allowedBy"],
        "regex"
    );

    assert_eq!(
        env.images("delete/app").await,
        BTreeMap::from([
            (digest, tags(&["v1.2.3"])),
            (commit, tags(&["sha-0abc123"]))
        ])
    );
    assert_eq!(env.calls.names(), Vec::<String>::new());
    assert_eq!(env.violation_events().await, Vec::<Value>::new());
}

#[tokio::test]
async fn untag_removes_only_the_forbidden_tag_and_the_image_if_it_was_the_last() {
    let env = Env::start().await;
    env.create_repository("untag/app").await;
    env.create_repository("untag/solo").await;
    let shared = env.push_tags("untag/app", 1, &["v1.0.0", "latest"]).await;
    let solo = env.push("untag/solo", 2, Some("latest")).await;

    let first = latest_violation("untag/app", &shared, 1, "untag", "untagged", None);
    let second = latest_violation("untag/solo", &solo, 1, "untag", "untagged", None);
    assert_eq!(
        env.deliver("untag/app", &shared, Some("latest")).await,
        violation_outcome(&first)
    );
    assert_eq!(
        env.deliver("untag/solo", &solo, Some("latest")).await,
        violation_outcome(&second)
    );

    assert_eq!(
        env.images("untag/app").await,
        BTreeMap::from([(shared, tags(&["v1.0.0"]))])
    );
    // ECR deletes an image when its last tag goes.
    assert_eq!(env.images("untag/solo").await, BTreeMap::new());
    assert_eq!(
        env.calls.names(),
        [
            "DescribeImages",
            "BatchDeleteImage",
            "DescribeImages",
            "BatchDeleteImage"
        ]
    );
    assert_eq!(env.violation_events().await, vec![first, second]);
}

#[tokio::test]
async fn delete_never_deletes_an_image_that_also_carries_an_allowed_or_protected_tag() {
    let env = Env::start().await;
    env.create_repository("delete/app").await;
    env.create_repository("delete/protected").await;
    let versioned = env.push_tags("delete/app", 1, &["v2.0.0", "latest"]).await;
    // `release-1` breaks the rule (not a version) but is protected.
    let released = env
        .push_tags("delete/protected", 2, &["release-1", "latest"])
        .await;

    let kept_for_version = latest_violation(
        "delete/app",
        &versioned,
        2,
        "delete",
        "untagged",
        Some("not deleted: the image also carries tag \"v2.0.0\" that breaks no rule; only the offending tag is removed"),
    );
    let kept_for_protection = latest_violation(
        "delete/protected",
        &released,
        2,
        "delete",
        "untagged",
        Some("not deleted: the image also carries tag \"release-1\" protected by protectedTags pattern \"release-*\"; only the offending tag is removed"),
    );
    assert_eq!(
        env.deliver("delete/app", &versioned, Some("latest")).await,
        violation_outcome(&kept_for_version)
    );
    assert_eq!(
        env.deliver("delete/protected", &released, Some("latest"))
            .await,
        violation_outcome(&kept_for_protection)
    );

    assert_eq!(
        env.images("delete/app").await,
        BTreeMap::from([(versioned, tags(&["v2.0.0"]))])
    );
    assert_eq!(
        env.images("delete/protected").await,
        BTreeMap::from([(released, tags(&["release-1"]))])
    );
    assert_eq!(
        env.violation_events().await,
        vec![kept_for_version, kept_for_protection]
    );
}

#[tokio::test]
async fn delete_removes_an_image_whose_tags_all_break_the_rule() {
    let env = Env::start().await;
    env.create_repository("delete/app").await;
    let bad = env.push_tags("delete/app", 1, &["latest", "nightly"]).await;
    let good = env.push("delete/app", 2, Some("v3.0.0")).await;

    let detail = latest_violation("delete/app", &bad, 2, "delete", "deleted", None);
    assert_eq!(
        env.deliver("delete/app", &bad, Some("latest")).await,
        violation_outcome(&detail)
    );

    assert_eq!(
        env.images("delete/app").await,
        BTreeMap::from([(good, tags(&["v3.0.0"]))])
    );
    assert_eq!(env.calls.names(), ["DescribeImages", "BatchDeleteImage"]);
    assert_eq!(env.violation_events().await, vec![detail]);
}

#[tokio::test]
async fn report_leaves_the_registry_unchanged() {
    let env = Env::start().await;
    env.create_repository("report/app").await;
    let digest = env.push("report/app", 1, Some("latest")).await;
    let nightly = env.push("report/app", 2, Some("nightly")).await;

    let forbidden = latest_violation("report/app", &digest, 0, "report", "reported", None);
    let not_allowed = json!({
        "repositoryName": "report/app", "imageDigest": nightly, "imageTag": "nightly",
        "rule": "tagRules.rules[0]", "violation": "notAllowed", "action": "report",
        "actionTaken": "reported"
    });
    assert_eq!(
        env.deliver("report/app", &digest, Some("latest")).await,
        violation_outcome(&forbidden)
    );
    assert_eq!(
        env.deliver("report/app", &nightly, Some("nightly")).await,
        violation_outcome(&not_allowed)
    );

    assert_eq!(
        env.images("report/app").await,
        BTreeMap::from([(digest, tags(&["latest"])), (nightly, tags(&["nightly"]))])
    );
    assert_eq!(env.calls.names(), Vec::<String>::new());
    assert_eq!(env.violation_events().await, vec![forbidden, not_allowed]);
}

#[tokio::test]
async fn a_duplicate_delivery_is_harmless() {
    let env = Env::start().await;
    env.create_repository("untag/app").await;
    env.create_repository("delete/app").await;
    let shared = env.push_tags("untag/app", 1, &["v1.0.0", "latest"]).await;
    let doomed = env.push("delete/app", 2, Some("latest")).await;

    let untagged = latest_violation("untag/app", &shared, 1, "untag", "untagged", None);
    let deleted = latest_violation("delete/app", &doomed, 2, "delete", "deleted", None);
    assert_eq!(
        env.deliver("untag/app", &shared, Some("latest")).await,
        violation_outcome(&untagged)
    );
    assert_eq!(
        env.deliver("delete/app", &doomed, Some("latest")).await,
        violation_outcome(&deleted)
    );
    env.calls.clear();

    // The same two events again: nothing left to do, and no destructive call.
    let tag_gone = latest_violation(
        "untag/app",
        &shared,
        1,
        "untag",
        "alreadyResolved",
        Some("the tag is no longer on the image"),
    );
    let image_gone = latest_violation(
        "delete/app",
        &doomed,
        2,
        "delete",
        "alreadyResolved",
        Some("the image is no longer in the repository"),
    );
    assert_eq!(
        env.deliver("untag/app", &shared, Some("latest")).await,
        violation_outcome(&tag_gone)
    );
    assert_eq!(
        env.deliver("delete/app", &doomed, Some("latest")).await,
        violation_outcome(&image_gone)
    );
    assert_eq!(env.calls.names(), ["DescribeImages", "DescribeImages"]);

    assert_eq!(
        env.images("untag/app").await,
        BTreeMap::from([(shared, tags(&["v1.0.0"]))])
    );
    assert_eq!(env.images("delete/app").await, BTreeMap::new());
    assert_eq!(
        env.violation_events().await,
        vec![untagged, deleted, tag_gone, image_gone]
    );
}

#[tokio::test]
async fn a_stale_event_never_touches_the_image_the_tag_moved_to() {
    let env = Env::start().await;
    env.create_repository("delete/app").await;
    // `latest` was pushed onto image 1, then onto image 2 (ECR moved the tag; moto
    // deletes image 1), while image 1's event was still on its way.
    let first = env.push("delete/app", 1, Some("latest")).await;
    let second = env.push_tags("delete/app", 2, &["v1.0.0", "latest"]).await;

    let detail = latest_violation(
        "delete/app",
        &first,
        2,
        "delete",
        "alreadyResolved",
        Some("the image is no longer in the repository"),
    );
    assert_eq!(
        env.deliver("delete/app", &first, Some("latest")).await,
        violation_outcome(&detail)
    );
    assert_eq!(
        env.images("delete/app").await,
        BTreeMap::from([(second, tags(&["latest", "v1.0.0"]))])
    );
    assert_eq!(env.calls.names(), ["DescribeImages"]);
    assert_eq!(env.violation_events().await, vec![detail]);
}

#[tokio::test]
async fn untagged_pushes_deletes_and_malformed_events_are_acknowledged_without_action() {
    let env = Env::start().await;
    env.create_repository("delete/app").await;
    let child = env.push("delete/app", 1, None).await;

    assert_eq!(
        env.deliver("delete/app", &child, None).await,
        json!({"outcome": "ignored", "ignored": "untagged", "repositoryName": "delete/app",
               "imageDigest": child})
    );
    let delete = env
        .enforcer
        .handle(sample_event("ecr-image-action-delete-success.json"))
        .await
        .expect("handled");
    assert_eq!(
        serde_json::to_value(&delete).expect("json"),
        json!({"outcome": "ignored", "ignored": "notAPush", "actionType": "DELETE"})
    );
    let mut no_repository = push_event("delete/app", &child, Some("latest"));
    if let Some(detail) = no_repository["detail"].as_object_mut() {
        detail.remove("repository-name");
    }
    assert_eq!(
        env.enforcer.handle(no_repository).await.expect("handled"),
        Decision::Malformed {
            error: "ECR Image Action event 13cde686-328b-6117-af20-0e5566167482 has no detail.repository-name".into()
        }
    );

    assert_eq!(
        env.images("delete/app").await,
        BTreeMap::from([(child, Vec::new())])
    );
    assert_eq!(env.calls.names(), Vec::<String>::new());
    assert_eq!(env.violation_events().await, Vec::<Value>::new());
}

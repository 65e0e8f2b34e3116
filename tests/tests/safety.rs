//! No wrong deletion: every hole an adversarial review found in the paths that remove
//! images, played end to end against moto through a loopback proxy that acts as the
//! concurrent client (or gives the answers moto cannot), each test asserting the exact
//! registry afterwards and, as a control, that the sweep or the enforcer did act.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use janitor::aws::bus::EventBus;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::lifecycle::{KeepReason, Outcome};
use janitor::sweep::registry::Repository;
use janitor::sweep::{RepositorySweep, SweepTiming, Sweeper};
use janitor::tags::TagEnforcer;
use janitor_e2e::proxy::{
    on_request, on_response, Forward, LoopbackProxy, ProxyHooks, ProxyRequest, ProxyResponse,
    Upstream,
};
use janitor_e2e::tag_deletes::{rewrite_request, EcrTagDeletes};
use janitor_e2e::{
    create_event_bus, create_repository, fake_digest, images, push_image, put_image, sample_event,
    Moto, ACCOUNT, DOCKER_MANIFEST, REGION,
};
use serde_json::{json, Value};

const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Expire `dev*` images older than 14 days and untagged images older than 7 days.
fn policy() -> Value {
    json!({"rules": [
        {"rulePriority": 10, "selection": {"tagStatus": "tagged", "tagPrefixList": ["dev"],
            "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
         "action": {"type": "expire"}},
        {"rulePriority": 20, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
            "countUnit": "days", "countNumber": 7},
         "action": {"type": "expire"}}
    ]})
}

/// Keep the `n` newest untagged images.
fn keep_untagged(n: u32) -> Value {
    json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged",
        "countType": "imageCountMoreThan", "countNumber": n}, "action": {"type": "expire"}}]})
}

fn a_month_later() -> DateTime<Utc> {
    Utc::now() + TimeDelta::days(30)
}

/// moto, a proxy in front of it with the test's hooks, and the janitor's clients
/// pointed at the proxy; `ecr` talks to moto directly (the test's own client).
struct Env {
    _moto: Moto,
    proxy: LoopbackProxy,
    ecr: aws_sdk_ecr::Client,
    sdk: aws_config::SdkConfig,
    via_proxy: aws_config::SdkConfig,
}

impl Env {
    async fn start(hooks: impl ProxyHooks) -> Env {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let proxy = LoopbackProxy::start(moto.port(), hooks);
        let via_proxy = proxy.sdk_config().await;
        Env {
            ecr: aws_sdk_ecr::Client::new(&sdk),
            _moto: moto,
            proxy,
            sdk,
            via_proxy,
        }
    }

    fn config(document: Value) -> JanitorConfig {
        JanitorConfig::from_json(&document.to_string(), ConfigSource::Inline)
            .expect("valid configuration")
    }

    /// A sweeper whose every client goes through the proxy.
    fn sweeper(&self, document: Value) -> Sweeper {
        Sweeper::from_sdk_config(&self.via_proxy, Self::config(document), None)
    }

    async fn repository(&self, name: &str) -> Repository {
        let repository = create_repository(&self.ecr, name).await;
        Repository {
            name: name.to_owned(),
            uri: repository.repository_uri().expect("uri").to_owned(),
            arn: repository.repository_arn().expect("arn").to_owned(),
        }
    }

    async fn sweep(
        &self,
        sweeper: &Sweeper,
        repository: &Repository,
        now: DateTime<Utc>,
    ) -> RepositorySweep {
        let entry = sweeper
            .config
            .sweeper
            .entry_for(&repository.name)
            .expect("entry");
        let in_use = sweeper.images_in_use(Utc::now()).await;
        assert_eq!(in_use.unknown(), None);
        sweeper
            .sweep_repository(repository, entry, &in_use, SweepTiming::unlimited(now))
            .await
    }

    async fn images(&self, repository: &str) -> BTreeMap<String, Vec<String>> {
        images(&self.ecr, repository).await
    }
}

/// Adds `tag` to the image `digest`, as a CI promotion pushing the same manifest does.
fn add_tag(upstream: &Upstream, repository: &str, digest: &str, tag: &str) {
    let found = upstream.ecr(
        "BatchGetImage",
        &json!({"repositoryName": repository, "imageIds": [{"imageDigest": digest}]}),
    );
    let manifest = found["images"][0]["imageManifest"]
        .as_str()
        .expect("manifest");
    upstream.ecr(
        "PutImage",
        &json!({"repositoryName": repository, "imageManifest": manifest, "imageTag": tag}),
    );
}

fn digests_of(request: &ProxyRequest) -> HashSet<String> {
    request.json()["imageIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| id["imageDigest"].as_str().map(str::to_owned))
        .collect()
}

fn keep_reason(sweep: &RepositorySweep, digest: &str) -> String {
    match &sweep
        .plan
        .decisions
        .iter()
        .find(|decision| decision.digest == digest)
        .unwrap_or_else(|| panic!("no decision for {digest}"))
        .outcome
    {
        Outcome::Keep {
            reason: KeepReason::Protected { reason },
        } => reason.to_string(),
        other => panic!("{digest}: {other:?}"),
    }
}

// ---------------------------------------------------------------- retag before delete

#[tokio::test]
async fn an_image_promoted_while_the_sweep_deletes_is_kept() {
    // The plan expires 140 of 150 untagged images in two calls. When the first call
    // reaches the registry, a CI promotion tags `prod-1` (protected) onto an image the
    // second call would delete.
    let planned: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let promoted: Arc<Mutex<Option<String>>> = Arc::default();
    let (plan, victim) = (planned.clone(), promoted.clone());
    let env = Env::start(on_request(move |request, upstream| {
        let mut victim = victim.lock().expect("lock");
        if request.operation() == Some("BatchDeleteImage") && victim.is_none() {
            let first_call = digests_of(&request);
            let later = plan
                .lock()
                .expect("lock")
                .iter()
                .find(|digest| !first_call.contains(*digest))
                .cloned()
                .expect("an image planned for the second call");
            add_tag(upstream, "bulk", &later, "prod-1");
            *victim = Some(later);
        }
        Forward::Upstream(request)
    }))
    .await;
    let repository = env.repository("bulk").await;
    for n in 0..150 {
        push_image(&env.ecr, "bulk", n, None).await;
    }
    let document = |mode: &str| {
        json!({"protectedTags": ["prod-*"], "sweeper": {"mode": mode, "repositories": [
            {"include": ["bulk"], "policy": keep_untagged(10)}]}})
    };
    let dry = env
        .sweep(&env.sweeper(document("dry-run")), &repository, Utc::now())
        .await;
    assert_eq!(dry.actions.len(), 140);
    *planned.lock().expect("lock") = dry.actions.iter().map(|a| a.digest.clone()).collect();

    let sweep = env
        .sweep(&env.sweeper(document("enforce")), &repository, Utc::now())
        .await;
    let victim = promoted.lock().expect("lock").clone().expect("promoted");
    // The promoted image stays; every other planned image went (the control).
    let left = env.images("bulk").await;
    assert_eq!(left.len(), 11);
    assert_eq!(left[&victim], vec!["prod-1"]);
    assert!(planned
        .lock()
        .expect("lock")
        .iter()
        .all(|digest| *digest == victim || !left.contains_key(digest)));
    assert_eq!(sweep.summary.expired, 139);
    assert_eq!(sweep.summary.changed_since_planned_count, 1);
    let skipped = &sweep.summary.changed_since_planned[0];
    assert_eq!(skipped.digest, victim);
    assert_eq!(skipped.reason, r#"tags {} are now {"prod-1"}"#);
    // One re-read before each of the two deletion calls.
    let calls: Vec<String> = env
        .proxy
        .operations()
        .into_iter()
        .filter(|op| op == "DescribeImages" || op == "BatchDeleteImage")
        .collect();
    assert_eq!(
        calls[calls.len() - 4..],
        [
            "DescribeImages",
            "BatchDeleteImage",
            "DescribeImages",
            "BatchDeleteImage"
        ]
    );
}

// ---------------------------------------------------------------- other registry hosts

#[tokio::test]
async fn images_named_through_fips_and_dual_stack_hosts_are_in_use() {
    // moto's DescribeTasks carries no imageDigest: the proxy adds the one ECS resolved
    // for the dual-stack reference, whose tag no longer exists.
    let resolved: Arc<Mutex<String>> = Arc::default();
    let digest = resolved.clone();
    let env = Env::start(on_response(move |request, response, _| {
        if request.operation() != Some("DescribeTasks") {
            return response;
        }
        let mut body = response.json();
        for task in body["tasks"].as_array_mut().into_iter().flatten() {
            for container in task["containers"].as_array_mut().into_iter().flatten() {
                if container["image"]
                    .as_str()
                    .is_some_and(|i| i.contains(".on.aws"))
                {
                    container["imageDigest"] = json!(*digest.lock().expect("lock"));
                }
            }
        }
        response.with_json(&body)
    }))
    .await;
    let repository = env.repository("app").await;
    let dev1 = push_image(&env.ecr, "app", 1, Some("dev-1")).await;
    let dev2 = push_image(&env.ecr, "app", 2, Some("dev-2")).await;
    let dev3 = push_image(&env.ecr, "app", 3, Some("dev-3")).await;
    *resolved.lock().expect("lock") = dev2.clone();

    let ecs = aws_sdk_ecs::Client::new(&env.sdk);
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .expect("cluster");
    for (family, image) in [
        (
            "fips",
            format!("{ACCOUNT}.dkr.ecr-fips.{REGION}.amazonaws.com/app:dev-1"),
        ),
        (
            "dual-stack",
            format!("{ACCOUNT}.dkr-ecr.{REGION}.on.aws:443/app:moved-on"),
        ),
    ] {
        ecs.register_task_definition()
            .family(family)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name(family)
                    .image(image)
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .expect("task definition");
        ecs.run_task()
            .cluster("prod")
            .task_definition(family)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .send()
            .await
            .expect("run task");
    }
    let sweeper = env.sweeper(json!({"sweeper": {"mode": "enforce", "repositories": [
        {"include": ["app"], "policy": policy()}]}}));
    let sweep = env.sweep(&sweeper, &repository, a_month_later()).await;
    assert_eq!(
        env.images("app").await.into_keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([dev1.clone(), dev2.clone()])
    );
    assert_eq!(sweep.summary.expired, 1, "the control: dev-3 {dev3} went");
    for digest in [&dev1, &dev2] {
        let reason = keep_reason(&sweep, digest);
        assert!(
            reason.starts_with("in use by ECS task arn:aws:ecs:"),
            "{reason}"
        );
    }
}

// ---------------------------------------------------------------- one notion of protected tags

#[tokio::test]
async fn every_protected_tag_list_protects_in_every_function() {
    let env = Env::start(EcrTagDeletes).await;
    create_event_bus(&env.sdk, "janitor").await;
    let repository = env.repository("app").await;
    let stable = push_image(&env.ecr, "app", 1, Some("dev-1")).await;
    push_image(&env.ecr, "app", 1, Some("stable")).await;
    let prod = push_image(&env.ecr, "app", 2, Some("dev-2")).await;
    push_image(&env.ecr, "app", 2, Some("prod-9")).await;
    let plain = push_image(&env.ecr, "app", 3, Some("dev-3")).await;
    let document = json!({
        "protectedTags": ["prod-*"],
        "tagRules": {"protectedTags": ["stable"], "rules": [
            {"repositories": ["app"], "allowed": ["v*"], "action": "delete"}]},
        "sweeper": {"mode": "enforce", "repositories": [
            {"include": ["app"], "policy": policy(), "protectedTags": ["keep-*"]}]}
    });
    // The sweeper honours the top-level list and tagRules' list.
    let sweep = env
        .sweep(&env.sweeper(document.clone()), &repository, a_month_later())
        .await;
    assert_eq!(keep_reason(&sweep, &stable), "protected tag stable");
    assert_eq!(keep_reason(&sweep, &prod), "protected tag prod-9");
    assert!(!env.images("app").await.contains_key(&plain), "the control");

    // The enforcer's delete honours the sweeper entry's list: only the bad tag goes.
    let keeper = push_image(&env.ecr, "app", 4, Some("nightly")).await;
    push_image(&env.ecr, "app", 4, Some("keep-me")).await;
    let doomed = push_image(&env.ecr, "app", 5, Some("nightly-2")).await;
    let enforcer = TagEnforcer::new(
        aws_sdk_ecr::Client::new(&env.via_proxy),
        EventBus::new(aws_sdk_eventbridge::Client::new(&env.sdk), "janitor"),
        Env::config(document),
    );
    let decision = enforcer
        .handle(push_event("app", &keeper, "nightly"))
        .await
        .expect("handled");
    let decision = serde_json::to_value(&decision).expect("json");
    assert_eq!(decision["actionTaken"], "untagged");
    assert!(decision["note"].as_str().is_some_and(
        |note| note.contains("\"keep-me\" protected by protectedTags pattern \"keep-*\"")
    ));
    let control = enforcer
        .handle(push_event("app", &doomed, "nightly-2"))
        .await
        .expect("handled");
    assert_eq!(
        serde_json::to_value(&control).expect("json")["actionTaken"],
        "deleted"
    );
    let left = env.images("app").await;
    assert_eq!(left[&keeper], vec!["keep-me"]);
    assert!(!left.contains_key(&doomed));
}

fn push_event(repository: &str, digest: &str, tag: &str) -> Value {
    let mut event = sample_event("ecr-image-action-push-success.json");
    event["detail"]["repository-name"] = json!(repository);
    event["detail"]["image-digest"] = json!(digest);
    event["detail"]["image-tag"] = json!(tag);
    event
}

// ---------------------------------------------------------------- untag of a moved tag

/// Moves `latest` to a new image when the enforcer's untag reaches the registry.
struct MoveTagThenEcr {
    moved: AtomicBool,
}

impl ProxyHooks for MoveTagThenEcr {
    fn request(&self, request: ProxyRequest, upstream: &Upstream) -> Forward {
        if request.operation() == Some("BatchDeleteImage")
            && !self.moved.swap(true, Ordering::SeqCst)
        {
            let manifest = janitor_e2e::image_manifest(2);
            upstream.ecr(
                "PutImage",
                &json!({"repositoryName": "app", "imageManifest": manifest.to_string(), "imageTag": "latest"}),
            );
        }
        rewrite_request(request, upstream)
    }

    fn response(
        &self,
        request: &ProxyRequest,
        response: ProxyResponse,
        upstream: &Upstream,
    ) -> ProxyResponse {
        EcrTagDeletes.response(request, response, upstream)
    }
}

#[tokio::test]
async fn an_untag_never_removes_a_tag_that_moved_to_another_image() {
    let env = Env::start(MoveTagThenEcr {
        moved: AtomicBool::new(false),
    })
    .await;
    create_event_bus(&env.sdk, "janitor").await;
    create_repository(&env.ecr, "app").await;
    let old = push_image(&env.ecr, "app", 1, Some("v1.0.0")).await;
    push_image(&env.ecr, "app", 1, Some("latest")).await;
    let enforcer = TagEnforcer::new(
        aws_sdk_ecr::Client::new(&env.via_proxy),
        EventBus::new(aws_sdk_eventbridge::Client::new(&env.sdk), "janitor"),
        Env::config(json!({"tagRules": {"rules": [
            {"repositories": ["app"], "allowed": ["v*.*.*"], "action": "untag"}]}})),
    );
    let decision = enforcer
        .handle(push_event("app", &old, "latest"))
        .await
        .expect("handled");
    let decision = serde_json::to_value(&decision).expect("json");
    assert_eq!(decision["actionTaken"], "alreadyResolved");
    assert!(decision["note"]
        .as_str()
        .is_some_and(|note| note.starts_with("ECR: ImageTagDoesNotMatchDigest")));
    let left = env.images("app").await;
    let newer = left
        .iter()
        .find(|(_, tags)| tags.contains(&"latest".to_owned()))
        .map(|(digest, _)| digest.clone())
        .expect("latest moved to the newer image and stayed there");
    assert_eq!(left[&old], vec!["v1.0.0"]);
    // The control: the newer image's own event removes the tag (its last, so the image).
    let control = enforcer
        .handle(push_event("app", &newer, "latest"))
        .await
        .expect("handled");
    assert_eq!(
        serde_json::to_value(&control).expect("json")["actionTaken"],
        "untagged"
    );
    assert_eq!(
        env.images("app").await,
        BTreeMap::from([(old, vec!["v1.0.0".to_owned()])])
    );
}

// ---------------------------------------------------------------- repeated page entries

/// Splits moto's one-page `DescribeImages` listing into two pages (moto ignores
/// paging) and repeats the first page's entries on the second; with `conflict`, the
/// repeated entries carry other tags.
fn paged_with_repeats(conflict: bool) -> impl ProxyHooks {
    on_response(move |request, response, _| {
        let asked = request.json();
        if request.operation() != Some("DescribeImages") || asked["imageIds"].is_array() {
            return response;
        }
        let mut body = response.json();
        let details = body["imageDetails"].as_array().cloned().unwrap_or_default();
        let half = details.len() / 2;
        if asked["nextToken"].is_null() {
            body["imageDetails"] = json!(details[..half]);
            body["nextToken"] = json!("page-2");
        } else {
            let mut second = details[half..].to_vec();
            for entry in &details[..half] {
                let mut repeated = entry.clone();
                if conflict {
                    repeated["imageTags"] = json!(["moved"]);
                }
                second.push(repeated);
            }
            body["imageDetails"] = json!(second);
        }
        response.with_json(&body)
    })
}

#[tokio::test]
async fn entries_repeated_across_pages_are_counted_once() {
    let env = Env::start(paged_with_repeats(false)).await;
    let repository = env.repository("app").await;
    for n in 0..6 {
        push_image(&env.ecr, "app", n, None).await;
    }
    let document = |mode: &str| json!({"sweeper": {"mode": mode, "repositories": [{"include": ["app"], "policy": keep_untagged(3)}]}});
    // What the plan is when each image is listed once (straight from moto).
    let direct = Sweeper::from_sdk_config(&env.sdk, Env::config(document("dry-run")), None);
    let expected: BTreeSet<String> = env
        .sweep(&direct, &repository, Utc::now())
        .await
        .actions
        .iter()
        .map(|action| action.digest.clone())
        .collect();
    assert_eq!(expected.len(), 3);
    let sweep = env
        .sweep(&env.sweeper(document("enforce")), &repository, Utc::now())
        .await;
    assert_eq!(sweep.summary.images, 6);
    assert_eq!(
        sweep
            .actions
            .iter()
            .map(|a| a.digest.clone())
            .collect::<BTreeSet<_>>(),
        expected
    );
    let left = env.images("app").await;
    assert_eq!(left.len(), 3, "the control: three went, three stayed");
    assert!(expected.iter().all(|digest| !left.contains_key(digest)));
}

#[tokio::test]
async fn entries_that_disagree_across_pages_stop_the_sweep() {
    let env = Env::start(paged_with_repeats(true)).await;
    let repository = env.repository("app").await;
    for n in 0..6 {
        push_image(&env.ecr, "app", n, None).await;
    }
    let sweeper = env.sweeper(json!({"sweeper": {"mode": "enforce", "repositories": [
        {"include": ["app"], "policy": keep_untagged(3)}]}}));
    let sweep = env.sweep(&sweeper, &repository, Utc::now()).await;
    let error = sweep.summary.error.clone().expect("stopped");
    assert!(error.contains("twice with different details"), "{error}");
    assert_eq!(env.images("app").await.len(), 6);
}

// ---------------------------------------------------------------- unreadable indexes

/// How the proxy shows the kept index `release-multi`.
const ARCHIVED: u8 = 0;
const NOT_FOUND_BY_BATCH_GET: u8 = 1;
const READABLE: u8 = 2;

#[tokio::test]
async fn an_index_whose_manifest_cannot_be_read_keeps_what_it_may_list() {
    let mode = Arc::new(AtomicU8::new(ARCHIVED));
    let index: Arc<Mutex<String>> = Arc::default();
    let (shown, target) = (mode.clone(), index.clone());
    let env = Env::start(on_response(move |request, response, _| {
        let target = target.lock().expect("lock").clone();
        let mut body = response.json();
        match (request.operation(), shown.load(Ordering::SeqCst)) {
            (Some("DescribeImages"), ARCHIVED) => {
                for detail in body["imageDetails"].as_array_mut().into_iter().flatten() {
                    if detail["imageDigest"] == json!(target) {
                        detail["imageStatus"] = json!("ARCHIVED");
                        detail["lastArchivedAt"] = detail["imagePushedAt"].clone();
                    }
                }
            }
            // Archived images cannot be pulled: ECR answers ImageNotFound.
            (Some("BatchGetImage"), ARCHIVED | NOT_FOUND_BY_BATCH_GET) => {
                if let Some(images) = body["images"].as_array_mut() {
                    images.retain(|image| image["imageId"]["imageDigest"] != json!(target));
                }
                let failures = body["failures"].as_array().cloned().unwrap_or_default();
                let mut failures = failures;
                failures.push(json!({"imageId": {"imageDigest": target},
                    "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}));
                body["failures"] = json!(failures);
            }
            _ => return response,
        }
        response.with_json(&body)
    }))
    .await;
    let repository = env.repository("app").await;
    let mut digest = BTreeMap::new();
    for (n, name) in [(1, "c1"), (2, "c2"), (3, "c3"), (4, "c4"), (5, "u1")] {
        digest.insert(name, push_image(&env.ecr, "app", n, None).await);
    }
    for (n, (tag, children)) in [("release-multi", ["c1", "c2"]), ("dev-multi", ["c3", "c4"])]
        .into_iter()
        .enumerate()
    {
        let manifests: Vec<Value> = children
            .iter()
            .map(|child| {
                json!({"mediaType": DOCKER_MANIFEST, "size": 500, "digest": digest[child],
                "platform": {"architecture": "amd64", "os": "linux"}})
            })
            .collect();
        let manifest =
            json!({"schemaVersion": 2, "mediaType": MANIFEST_LIST, "manifests": manifests});
        let pushed = put_image(
            &env.ecr,
            "app",
            Some(tag),
            &manifest,
            Some(fake_digest(900 + n as u64)),
        )
        .await;
        digest.insert(tag, pushed);
    }
    *index.lock().expect("lock") = digest["release-multi"].clone();
    let sweeper = env.sweeper(json!({"sweeper": {"mode": "enforce", "repositories": [
        {"include": ["app"], "policy": policy()}]}}));
    let all: BTreeSet<String> = digest.values().cloned().collect();

    for unreadable in [ARCHIVED, NOT_FOUND_BY_BATCH_GET] {
        mode.store(unreadable, Ordering::SeqCst);
        let sweep = env.sweep(&sweeper, &repository, a_month_later()).await;
        assert_eq!(sweep.summary.error, None);
        // Every image the unreadable index may list stays, dev-multi included.
        assert_eq!(
            env.images("app").await.into_keys().collect::<BTreeSet<_>>(),
            all
        );
        let reason = keep_reason(&sweep, &digest["c1"]);
        assert!(
            reason.starts_with(&format!(
                "possibly listed by image index {}",
                digest["release-multi"]
            )),
            "{reason}"
        );
    }
    // The control: readable again, the sweep takes exactly what the policy says.
    mode.store(READABLE, Ordering::SeqCst);
    env.sweep(&sweeper, &repository, a_month_later()).await;
    let kept = ["release-multi", "c1", "c2"].map(|name| digest[name].clone());
    assert_eq!(
        env.images("app").await.into_keys().collect::<BTreeSet<_>>(),
        BTreeSet::from(kept)
    );
}

// ---------------------------------------------------------------- cap per storage class

#[tokio::test]
async fn the_safety_cap_weighs_runnable_images_against_runnable_images() {
    // 4 active untagged images and 12 the proxy shows as archived (moto has no archive).
    let archived: Arc<Mutex<HashSet<String>>> = Arc::default();
    let shown = archived.clone();
    let env = Env::start(on_response(move |request, response, _| {
        if request.operation() != Some("DescribeImages") {
            return response;
        }
        let archived = shown.lock().expect("lock");
        let mut body = response.json();
        for detail in body["imageDetails"].as_array_mut().into_iter().flatten() {
            if detail["imageDigest"]
                .as_str()
                .is_some_and(|d| archived.contains(d))
            {
                detail["imageStatus"] = json!("ARCHIVED");
                detail["lastArchivedAt"] = detail["imagePushedAt"].clone();
            }
        }
        response.with_json(&body)
    }))
    .await;
    let repository = env.repository("app").await;
    for n in 0..16 {
        let digest = push_image(&env.ecr, "app", n, None).await;
        if n >= 4 {
            archived.lock().expect("lock").insert(digest);
        }
    }
    let capped = |fraction: f64| {
        env.sweeper(json!({"sweeper": {"mode": "enforce", "repositories": [
            {"include": ["app"], "policy": keep_untagged(1), "safetyCap": {"maxFraction": fraction}}]}}))
    };
    // 3 of 16 images, but 3 of the 4 runnable ones: over a cap of one half.
    let sweep = env.sweep(&capped(0.5), &repository, Utc::now()).await;
    assert_eq!(sweep.actions.len(), 3);
    assert_eq!(
        sweep.summary.cap_tripped.as_deref(),
        Some("3 of 4 active images would be acted on, more than safetyCap.maxFraction = 0.5")
    );
    assert_eq!(env.images("app").await.len(), 16);
    // The control: under a cap of 0.8 the same plan is carried out.
    let sweep = env.sweep(&capped(0.8), &repository, Utc::now()).await;
    assert_eq!(
        (sweep.summary.cap_tripped, sweep.summary.expired),
        (None, 3)
    );
    assert_eq!(env.images("app").await.len(), 13);
}

//! lifecycle-sweeper end to end: the real sweep code against moto server over HTTP.
//!
//! moto stamps every push "now" and ignores DescribeImages paging, so age rules are
//! evaluated "as of" a later instant and page counts are asserted for one page.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use janitor::aws::bus::EventBus;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::lifecycle::{evaluate, Action, EvaluationInput, KeepReason, LifecyclePolicy, Outcome};
use janitor::sweep::in_use::InUseClients;
use janitor::sweep::registry::{image_records, Repository};
use janitor::sweep::{
    sweep_repository, Budget, RepositorySweep, SweepMode, SweepRules, SweepTiming, SweepTrigger,
    Sweeper,
};
use janitor_e2e::{
    create_event_bus, create_lambda_role, create_repository, fake_digest, images, push_image,
    put_image, BusCapture, EcrCallLog, Moto, ACCOUNT, DOCKER_MANIFEST, REGION,
};
use serde_json::{json, Value};

const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const BUS: &str = "janitor";

/// Expire `dev*` images older than 14 days and untagged images older than 7 days.
fn policy() -> Value {
    json!({"rules": [
        {"rulePriority": 10, "description": "old dev builds",
         "selection": {"tagStatus": "tagged", "tagPrefixList": ["dev"], "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": 14},
         "action": {"type": "expire"}},
        {"rulePriority": 20, "description": "old untagged",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
         "action": {"type": "expire"}}
    ]})
}

/// A month after the pushes: every `dev*` and untagged image is old enough.
fn a_month_later() -> DateTime<Utc> {
    Utc::now() + TimeDelta::days(30)
}

// ---------------------------------------------------------------- environment

struct Env {
    /// Kept alive for the test's duration; stopped on drop.
    _moto: Moto,
    sdk: aws_config::SdkConfig,
    ecr: aws_sdk_ecr::Client,
    /// Every call of `ecr`, the sweeper's client included.
    calls: EcrCallLog,
}

static IMAGE_NUMBER: AtomicU64 = AtomicU64::new(1);

impl Env {
    async fn start() -> Env {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let calls = EcrCallLog::default();
        let ecr = calls.client(&sdk);
        create_event_bus(&sdk, BUS).await;
        Env {
            _moto: moto,
            sdk,
            ecr,
            calls,
        }
    }

    fn sweeper(&self, sweeper_config: Value) -> Sweeper {
        let config = JanitorConfig::from_json(
            &json!({ "sweeper": sweeper_config }).to_string(),
            ConfigSource::Inline,
        )
        .expect("valid configuration");
        Sweeper {
            ecr: self.ecr.clone(),
            workloads: InUseClients::new(&self.sdk),
            bus: Some(EventBus::new(
                aws_sdk_eventbridge::Client::new(&self.sdk),
                BUS,
            )),
            config,
            organization: None,
        }
    }

    async fn create_repository(&self, name: &str) -> Repository {
        let repository = create_repository(&self.ecr, name).await;
        Repository {
            name: name.to_owned(),
            uri: repository.repository_uri().expect("uri").to_owned(),
            arn: repository.repository_arn().expect("arn").to_owned(),
        }
    }

    /// Pushes a new single-platform image; returns the digest moto assigned.
    async fn push_image(&self, repository: &str, tag: Option<&str>) -> String {
        let n = IMAGE_NUMBER.fetch_add(1, Ordering::Relaxed);
        push_image(&self.ecr, repository, n, tag).await
    }

    /// Pushes a manifest list over `children`. moto gives layer-less manifests one of
    /// only 101 random digests, so the index's digest is passed explicitly.
    async fn push_index(&self, repository: &str, tag: &str, children: &[String]) -> String {
        let n = IMAGE_NUMBER.fetch_add(1, Ordering::Relaxed);
        let manifests: Vec<Value> = children
            .iter()
            .zip(["amd64", "arm64", "s390x"])
            .map(|(digest, architecture)| {
                json!({"mediaType": DOCKER_MANIFEST, "size": 500, "digest": digest,
                       "platform": {"architecture": architecture, "os": "linux"}})
            })
            .collect();
        let manifest =
            json!({"schemaVersion": 2, "mediaType": MANIFEST_LIST, "manifests": manifests});
        put_image(
            &self.ecr,
            repository,
            Some(tag),
            &manifest,
            Some(fake_digest(2_000_000 + n)),
        )
        .await
    }

    /// The digests of the repository's images.
    async fn digests(&self, repository: &str) -> BTreeSet<String> {
        images(&self.ecr, repository).await.into_keys().collect()
    }
}

/// The seeded repository `app` and what the policy should do to it a month later.
struct App {
    repository: Repository,
    digests: HashMap<&'static str, String>,
    /// index digest → children, as pushed.
    index_children: HashMap<String, Vec<String>>,
}

impl App {
    fn digest(&self, name: &str) -> &str {
        &self.digests[name]
    }

    fn set(&self, names: &[&str]) -> BTreeSet<String> {
        names
            .iter()
            .map(|name| self.digest(name).to_owned())
            .collect()
    }

    fn all(&self) -> BTreeSet<String> {
        self.digests.values().cloned().collect()
    }
}

const EXPIRED: [&str; 9] = [
    "dev-1",
    "dev-2",
    "dev-3",
    "u1",
    "u2",
    "u3",
    "dev-multi",
    "c3",
    "c4",
];
const KEPT: [&str; 5] = ["release-1", "release-2", "release-multi", "c1", "c2"];

async fn seed_app(env: &Env) -> App {
    let repository = env.create_repository("app").await;
    let mut digests = HashMap::new();
    for tag in ["release-1", "release-2", "dev-1", "dev-2", "dev-3"] {
        digests.insert(tag, env.push_image("app", Some(tag)).await);
    }
    for name in ["u1", "u2", "u3", "c1", "c2", "c3", "c4"] {
        digests.insert(name, env.push_image("app", None).await);
    }
    let kept_children = vec![digests["c1"].clone(), digests["c2"].clone()];
    let expired_children = vec![digests["c3"].clone(), digests["c4"].clone()];
    digests.insert(
        "release-multi",
        env.push_index("app", "release-multi", &kept_children).await,
    );
    digests.insert(
        "dev-multi",
        env.push_index("app", "dev-multi", &expired_children).await,
    );
    let index_children = HashMap::from([
        (digests["release-multi"].clone(), kept_children),
        (digests["dev-multi"].clone(), expired_children),
    ]);
    App {
        repository,
        digests,
        index_children,
    }
}

fn app_config(mode: &str) -> Value {
    json!({"mode": mode, "repositories": [{"include": ["app"], "policy": policy()}]})
}

async fn sweep(sweeper: &Sweeper, app: &App, now: DateTime<Utc>) -> RepositorySweep {
    let entry = sweeper
        .config
        .sweeper
        .entry_for(&app.repository.name)
        .expect("entry");
    let in_use = sweeper.images_in_use(Utc::now()).await;
    assert_eq!(in_use.unknown(), None);
    sweeper
        .sweep_repository(&app.repository, entry, &in_use, SweepTiming::unlimited(now))
        .await
}

/// Rules that enforce `entry` with no protected tag.
fn enforce(entry: &janitor::sweep::RepositoryEntry) -> SweepRules<'_> {
    static NONE: std::sync::OnceLock<janitor::protected_tags::ProtectedTags> =
        std::sync::OnceLock::new();
    SweepRules {
        entry,
        protected_tags: NONE.get_or_init(Default::default),
        mode: SweepMode::Enforce,
        tagged_artifacts: true,
    }
}

/// The plan's outcome for the image named `name`.
fn outcome_of<'s>(sweep: &'s RepositorySweep, app: &App, name: &str) -> &'s Outcome<'static> {
    let digest = app.digest(name);
    &sweep
        .plan
        .decisions
        .iter()
        .find(|decision| decision.digest == digest)
        .unwrap_or_else(|| panic!("no decision for {name}"))
        .outcome
}

fn acted_on(sweep: &RepositorySweep) -> BTreeSet<String> {
    sweep
        .actions
        .iter()
        .map(|action| action.digest.clone())
        .collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn dry_run_reports_exactly_the_engine_plan_and_changes_nothing() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    let sweeper = env.sweeper(app_config("dry-run"));
    let now = a_month_later();
    env.calls.clear();
    let sweep = sweep(&sweeper, &app, now).await;
    // One page of images, one BatchGetImage for the two indexes, no deletion.
    assert_eq!(env.calls.count("DescribeImages"), 1);
    assert_eq!(env.calls.count("BatchGetImage"), 1);
    assert_eq!(env.calls.count("BatchDeleteImage"), 0);

    // The plan is the engine's plan for the registry as DescribeImages shows it.
    let described = env
        .ecr
        .describe_images()
        .repository_name("app")
        .send()
        .await
        .expect("describe");
    let records: Vec<_> = image_records(described.image_details.unwrap_or_default()).collect();
    let policy = LifecyclePolicy::parse(&policy().to_string()).expect("policy");
    let nothing_protected = HashMap::new();
    let expected = evaluate(
        &policy,
        &EvaluationInput {
            images: &records,
            index_children: &app.index_children,
            protected: &nothing_protected,
            now,
        },
    );
    assert_eq!(sweep.plan, expected);
    assert_eq!(acted_on(&sweep), app.set(&EXPIRED));
    assert!(sweep
        .actions
        .iter()
        .all(|action| action.action == Action::Expire));
    // Children of the kept index stay because of it.
    for child in ["c1", "c2"] {
        assert_eq!(
            *outcome_of(&sweep, &app, child),
            Outcome::Keep {
                reason: KeepReason::ReferencedByIndex {
                    index_digest: app.digest("release-multi").into()
                }
            }
        );
    }
    let summary = &sweep.summary;
    assert!(summary.dry_run);
    assert_eq!(
        (summary.images, summary.planned_expire, summary.expired),
        (14, 9, 0)
    );
    assert_eq!(summary.error, None);

    // Nothing changed.
    assert_eq!(env.digests("app").await, app.all());

    // As of today nothing is old enough.
    let today = sweep_today(&sweeper, &app).await;
    assert!(today.actions.is_empty(), "{:?}", today.actions);
}

async fn sweep_today(sweeper: &Sweeper, app: &App) -> RepositorySweep {
    sweep(sweeper, app, Utc::now()).await
}

#[tokio::test]
async fn enforce_deletes_exactly_the_plan_indexes_first_and_a_second_run_is_a_noop() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    let sweeper = env.sweeper(app_config("enforce"));
    let now = a_month_later();
    env.calls.clear();
    let first = sweep(&sweeper, &app, now).await;

    assert_eq!(acted_on(&first), app.set(&EXPIRED));
    assert_eq!(env.digests("app").await, app.set(&KEPT));
    assert_eq!(first.summary.expired, 9);
    assert_eq!(first.summary.failure_count, 0);
    assert!(!first.summary.dry_run);

    // Two calls: the expired index (with the images nothing lists), then its children,
    // once the index is confirmed gone. Each is preceded by a re-read of its images.
    let deletes: Vec<BTreeSet<String>> = env
        .calls
        .deletes()
        .into_iter()
        .map(|call| call.into_iter().collect())
        .collect();
    assert_eq!(
        deletes,
        vec![
            app.set(&["dev-1", "dev-2", "dev-3", "u1", "u2", "u3", "dev-multi"]),
            app.set(&["c3", "c4"]),
        ]
    );
    // (The test's own DescribeImages of the registry follows them.)
    assert_eq!(
        env.calls.names()[..6],
        [
            "DescribeImages",
            "BatchGetImage",
            "DescribeImages",
            "BatchDeleteImage",
            "DescribeImages",
            "BatchDeleteImage"
        ]
    );

    env.calls.clear();
    let second = sweep(&sweeper, &app, now).await;
    assert!(second.actions.is_empty());
    assert_eq!(env.calls.count("BatchDeleteImage"), 0);
    assert_eq!(env.digests("app").await, app.set(&KEPT));
}

#[tokio::test]
async fn images_in_use_by_ecs_tasks_and_lambda_functions_are_kept() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    let uri = &app.repository.uri;

    // A running Fargate task on dev-1 (by tag).
    let ecs = aws_sdk_ecs::Client::new(&env.sdk);
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .expect("cluster");
    ecs.register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image(format!("{uri}:dev-1"))
                .memory(512)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
    ecs.run_task()
        .cluster("prod")
        .task_definition("web")
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .send()
        .await
        .expect("run task");

    // Lambda functions on dev-2 (by tag) and u1 (by digest).
    let role_arn = create_lambda_role(&env.sdk, "fn").await;
    let lambda = aws_sdk_lambda::Client::new(&env.sdk);
    for (name, image) in [
        ("api", format!("{uri}:dev-2")),
        ("worker", format!("{uri}@{}", app.digest("u1"))),
    ] {
        lambda
            .create_function()
            .function_name(name)
            .role(&role_arn)
            .package_type(aws_sdk_lambda::types::PackageType::Image)
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .image_uri(image)
                    .build(),
            )
            .send()
            .await
            .expect("create function");
    }

    let sweeper = env.sweeper(app_config("enforce"));
    let sweep = sweep(&sweeper, &app, a_month_later()).await;

    let mut expired: Vec<&str> = EXPIRED.to_vec();
    expired.retain(|name| !["dev-1", "dev-2", "u1"].contains(name));
    assert_eq!(acted_on(&sweep), app.set(&expired));
    let mut remaining: Vec<&str> = KEPT.to_vec();
    remaining.extend(["dev-1", "dev-2", "u1"]);
    assert_eq!(env.digests("app").await, app.set(&remaining));
    assert_eq!(
        sweep.summary.protected,
        [(janitor::sweep::protection::ProtectionKind::InUse, 3)].into()
    );
    let reason = |name: &str| match outcome_of(&sweep, &app, name) {
        Outcome::Keep {
            reason: KeepReason::Protected { reason },
        } => reason.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert!(
        reason("dev-1").starts_with("in use by ECS task arn:aws:ecs:"),
        "{}",
        reason("dev-1")
    );
    assert!(
        reason("dev-2").starts_with("in use by Lambda function api"),
        "{}",
        reason("dev-2")
    );
    assert!(
        reason("u1").starts_with("in use by Lambda function worker"),
        "{}",
        reason("u1")
    );
}

#[tokio::test]
async fn a_tripped_safety_cap_deletes_nothing_and_says_why() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    let sweeper = env.sweeper(json!({"mode": "enforce", "repositories": [
        {"include": ["app"], "policy": policy(), "safetyCap": {"maxImages": 5}}
    ]}));
    let sweep = sweep(&sweeper, &app, a_month_later()).await;
    assert_eq!(sweep.actions.len(), 9);
    let why = sweep.summary.cap_tripped.clone().expect("cap tripped");
    assert!(why.contains("maxImages = 5"), "{why}");
    assert_eq!(sweep.summary.expired, 0);
    assert_eq!(env.calls.count("BatchDeleteImage"), 0);
    assert_eq!(env.digests("app").await, app.all());
}

#[tokio::test]
async fn protected_tags_and_minimum_age_are_honoured() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    let sweeper = env.sweeper(json!({"mode": "enforce", "repositories": [
        {"include": ["app"], "policy": policy(), "protectedTags": ["dev-3", "dev-m*"], "minimumAgeDays": 40}
    ]}));
    // A month later everything is younger than 40 days: nothing is touched.
    let young = sweep(&sweeper, &app, a_month_later()).await;
    assert!(young.actions.is_empty());
    // Two months later only the protected tags (and the children of the kept index) stay.
    let old = sweep(&sweeper, &app, Utc::now() + TimeDelta::days(60)).await;
    assert_eq!(
        acted_on(&old),
        app.set(&["dev-1", "dev-2", "u1", "u2", "u3"])
    );
    let mut remaining = KEPT.to_vec();
    remaining.extend(["dev-3", "dev-multi", "c3", "c4"]);
    assert_eq!(env.digests("app").await, app.set(&remaining));
}

#[tokio::test]
async fn deletions_go_in_calls_of_at_most_one_hundred_and_pages_of_one_thousand() {
    let env = Env::start().await;
    let repository = env.create_repository("bulk").await;
    for _ in 0..150 {
        env.push_image("bulk", None).await;
    }
    let sweeper = env.sweeper(json!({"mode": "enforce", "repositories": [{"include": ["bulk"], "policy": {"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 10},
         "action": {"type": "expire"}}]}}]}));
    env.calls.clear();
    let entry = sweeper.config.sweeper.entry_for("bulk").expect("entry");
    let sweep = sweep_repository(
        &sweeper.ecr,
        &repository,
        &enforce(entry),
        &Default::default(),
        &SweepTiming::unlimited(Utc::now()),
    )
    .await;
    assert_eq!(sweep.summary.expired, 140);
    // N = 150 images: ceil(150 / 1000) = 1 page; D = 140 deletions: ceil(140 / 100) = 2
    // calls, each preceded by a re-read of its images: 1 + 2 DescribeImages.
    assert_eq!(env.calls.count("DescribeImages"), 3);
    assert_eq!(env.calls.count("BatchDeleteImage"), 2);
    assert_eq!(
        env.calls.deletes().iter().map(Vec::len).collect::<Vec<_>>(),
        vec![100, 40]
    );
    // No index, no manifest read.
    assert_eq!(env.calls.count("BatchGetImage"), 0);
    assert_eq!(env.digests("bulk").await.len(), 10);
}

#[tokio::test]
async fn above_the_threshold_a_scheduled_run_publishes_one_event_per_repository() {
    let env = Env::start().await;
    for name in ["team-a/api", "team-a/web", "team-a/worker", "team-b/api"] {
        env.create_repository(name).await;
    }
    let bus = BusCapture::detail_type(&env.sdk, BUS, "Sweep Repository").await;
    let sweeper = env.sweeper(json!({"fanOutThreshold": 2, "repositories": [
        {"include": ["team-a/*"], "policy": policy()}
    ]}));
    let run = sweeper
        .handle_event(&json!({"sweep": "all"}), Utc::now(), Budget::unlimited())
        .await
        .expect("run");
    assert_eq!(run["repositoriesSelected"], 3);
    assert_eq!(run["fannedOut"], 3);
    assert_eq!(run["repositories"], json!([]));

    let mut received: Vec<SweepTrigger> = bus
        .events(3)
        .await
        .iter()
        // Each published event is a valid trigger of the sweeper itself.
        .map(|event| SweepTrigger::parse(event).expect("trigger"))
        .collect();
    received.sort_by_key(|trigger| format!("{trigger:?}"));
    assert_eq!(
        received,
        ["team-a/api", "team-a/web", "team-a/worker"]
            .map(|name| SweepTrigger::Repository(name.to_owned()))
            .to_vec()
    );
    // Nothing was swept inline.
    assert_eq!(env.calls.count("DescribeImages"), 0);
}

#[tokio::test]
async fn a_scheduled_run_below_the_threshold_sweeps_inline_and_reports() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    env.create_repository("other").await;
    let bus = BusCapture::detail_type(&env.sdk, BUS, "Sweep Completed").await;
    let sweeper = env.sweeper(app_config("enforce"));
    let scheduled = janitor_e2e::sample_event("eventbridge-scheduled-event-rule.json");
    let run = sweeper
        .run(
            SweepTrigger::parse(&scheduled).expect("trigger"),
            a_month_later(),
            Budget::unlimited(),
        )
        .await
        .expect("run");
    assert_eq!(run.trigger, SweepTrigger::Scheduled);
    assert_eq!((run.repositories_selected, run.fanned_out), (1, 0));
    let summary = &run.repositories[0];
    assert_eq!(summary.repository_name, "app");
    assert_eq!((summary.planned_expire, summary.expired), (9, 9));
    assert_eq!(summary.by_rule.len(), 2);
    assert!(run.event_failures.is_empty());
    assert_eq!(env.digests("app").await, app.set(&KEPT));
    // The same summary went to the janitor bus.
    let events = bus.events(1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "Sweep Completed");
    assert_eq!(events[0]["resources"], json!([app.repository.arn]));
    assert_eq!(
        events[0]["detail"],
        serde_json::to_value(summary).expect("json")
    );
}

#[tokio::test]
async fn malformed_events_are_rejected_without_touching_the_registry() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    let sweeper = env.sweeper(app_config("enforce"));
    let rejected = sweeper
        .handle_event(
            &json!({"detail-type": "Sweep Repository", "source": "ecr-janitor", "detail": {"repository": "app"}}),
            a_month_later(),
            Budget::unlimited(),
        )
        .await
        .expect("rejected, not failed");
    assert_eq!(rejected["rejected"]["field"], "detail.repositoryName");
    assert_eq!(env.calls.count("DescribeImages"), 0);
    assert_eq!(env.digests("app").await, app.all());

    // A well-formed event for that repository sweeps it.
    let run = sweeper
        .handle_event(
            &json!({"detail-type": "Sweep Repository", "source": "ecr-janitor", "detail": {"repositoryName": "app"}}),
            a_month_later(),
            Budget::unlimited(),
        )
        .await
        .expect("run");
    assert_eq!(run["repositories"][0]["expired"], 9);
    // One for a repository the configuration does not select does nothing.
    env.create_repository("unlisted").await;
    let run = sweeper
        .handle_event(
            &json!({"detail-type": "Sweep Repository", "source": "ecr-janitor", "detail": {"repositoryName": "unlisted"}}),
            a_month_later(),
            Budget::unlimited(),
        )
        .await
        .expect("run");
    assert_eq!(
        run["repositories"][0]["skipped"],
        "not selected by the sweeper configuration"
    );
}

#[tokio::test]
async fn native_policies_are_previewed_never_applied() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    env.ecr
        .put_lifecycle_policy()
        .repository_name("app")
        .lifecycle_policy_text(policy().to_string())
        .send()
        .await
        .expect("put lifecycle policy");
    env.create_repository("no-policy").await;
    let sweeper = env.sweeper(json!({"mode": "enforce", "repositories": [
        {"include": ["*"], "policy": "native", "mode": "enforce"}
    ]}));
    let sweep = sweep(&sweeper, &app, a_month_later()).await;
    assert!(sweep.summary.dry_run);
    assert_eq!(acted_on(&sweep), app.set(&EXPIRED));
    assert_eq!(env.digests("app").await, app.all());

    let entry = sweeper
        .config
        .sweeper
        .entry_for("no-policy")
        .expect("entry");
    let repository = Repository {
        name: "no-policy".into(),
        uri: format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/no-policy"),
        arn: format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/no-policy"),
    };
    let none = sweep_repository(
        &env.ecr,
        &repository,
        &enforce(entry),
        &Default::default(),
        &SweepTiming::unlimited(Utc::now()),
    )
    .await;
    assert_eq!(
        none.summary.skipped.as_deref(),
        Some("the repository has no lifecycle policy")
    );
    assert_eq!(none.error, None);
}

#[tokio::test]
async fn transitions_moto_cannot_apply_are_reported_as_failures() {
    let env = Env::start().await;
    let app = seed_app(&env).await;
    let sweeper = env.sweeper(
        json!({"mode": "enforce", "repositories": [{"include": ["app"], "policy": {"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["release-"],
            "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 7},
         "action": {"type": "transition", "targetStorageClass": "archive"}}]}}]}),
    );
    let sweep = sweep(&sweeper, &app, a_month_later()).await;
    assert_eq!(
        acted_on(&sweep),
        app.set(&["release-1", "release-2", "release-multi"])
    );
    assert!(sweep
        .actions
        .iter()
        .all(|action| action.action == Action::Transition));
    // moto does not implement UpdateImageStorageClass: every transition is reported.
    assert_eq!(sweep.summary.transitioned, 0);
    assert_eq!(sweep.summary.failure_count, 3);
    assert!(sweep
        .summary
        .failures
        .iter()
        .all(|failure| failure.action == Action::Transition));
    assert_eq!(env.digests("app").await, app.all());
}

//! The ECS sources of "in use" against moto: services whatever their desired count, the
//! newest ACTIVE revisions of every task-definition family, and the ECS targets of
//! EventBridge rules (every bus) and EventBridge Scheduler schedules (every group). One
//! registry, a policy that keeps one image, an enforced sweep: the exact images left and
//! the exact reason each one stays. Then: a schedule naming a task definition that no
//! longer exists stops every action.
//!
//! Where moto falls short of AWS, the unit tests of each source cover AWS's documented
//! shape:
//! - `DescribeServices`: moto gives a service one PRIMARY deployment and never an
//!   ACTIVE one (a rollout in progress), nor task sets for a blue/green service
//!   (`in_use::ecs_services` tests);
//! - `ListTaskDefinitions`: moto takes `familyPrefix` as the exact family and ignores
//!   `sort` and `maxResults`, listing oldest first (`in_use::task_definitions` tests;
//!   the newest five are still the ones kept here, as the source orders them itself).

use std::collections::BTreeMap;

use chrono::Utc;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::lifecycle::{KeepReason, Outcome};
use janitor::sweep::in_use::{InUse, SourceFailure};
use janitor::sweep::registry::Repository;
use janitor::sweep::{RepositorySweep, Sweeper};
use janitor_e2e::{create_repository, images, push_image, Moto, ACCOUNT, REGION};
use serde_json::json;

const REPOSITORY: &str = "app";
const CLUSTER: &str = "prod";
/// The role EventBridge and Scheduler run ECS tasks with (moto does not check it).
const ROLE: &str = "arn:aws:iam::123456789012:role/ecs-events";

fn image(tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:{tag}")
}

/// moto, its registry `app` with one image per tag, and the SDK configuration for it.
struct Registry {
    _moto: Moto,
    sdk: aws_config::SdkConfig,
    ecr: aws_sdk_ecr::Client,
    ecs: aws_sdk_ecs::Client,
    repository: Repository,
    /// Tag → digest.
    digests: BTreeMap<String, String>,
}

impl Registry {
    /// Pushes one image per tag of `tags`, then `newest` a second later (moto stamps
    /// pushes in whole seconds), the one image the policy keeps.
    async fn start(tags: &[&str]) -> Registry {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let ecr = aws_sdk_ecr::Client::new(&sdk);
        let created = create_repository(&ecr, REPOSITORY).await;
        let repository = Repository {
            name: REPOSITORY.to_owned(),
            uri: created.repository_uri().expect("uri").to_owned(),
            arn: created.repository_arn().expect("arn").to_owned(),
        };
        let mut digests = BTreeMap::new();
        for (n, tag) in (0..).zip(tags) {
            let digest = push_image(&ecr, REPOSITORY, n, Some(tag)).await;
            digests.insert((*tag).to_owned(), digest);
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let digest = push_image(&ecr, REPOSITORY, 1000, Some("newest")).await;
        digests.insert("newest".to_owned(), digest);
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        ecs.create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .expect("cluster");
        Registry {
            _moto: moto,
            ecs,
            ecr,
            sdk,
            repository,
            digests,
        }
    }

    /// Registers a revision of `family` with one container on `tag`; returns its ARN.
    async fn register(&self, family: &str, tag: &str) -> String {
        self.ecs
            .register_task_definition()
            .family(family)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("main")
                    .image(image(tag))
                    .memory(256)
                    .build(),
            )
            .send()
            .await
            .expect("register task definition")
            .task_definition()
            .and_then(|definition| definition.task_definition_arn())
            .expect("task definition ARN")
            .to_owned()
    }

    /// Deregisters a revision: INACTIVE, it is no longer among its family's newest, yet
    /// what names it can still start it.
    async fn deregister(&self, task_definition: &str) {
        self.ecs
            .deregister_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .expect("deregister task definition");
    }

    /// A rule on `bus` with one ECS target running `task_definition`.
    async fn rule(&self, bus: &str, name: &str, task_definition: &str) {
        let events = aws_sdk_eventbridge::Client::new(&self.sdk);
        events
            .put_rule()
            .name(name)
            .event_bus_name(bus)
            .event_pattern(json!({"source": ["uploads"]}).to_string())
            .send()
            .await
            .expect("rule");
        events
            .put_targets()
            .rule(name)
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("task")
                    .arn(self.cluster_arn())
                    .role_arn(ROLE)
                    .ecs_parameters(
                        aws_sdk_eventbridge::types::EcsParameters::builder()
                            .task_definition_arn(task_definition)
                            .task_count(1)
                            .build()
                            .expect("ECS parameters"),
                    )
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("targets");
    }

    /// A schedule in `group` with `target`.
    async fn schedule(
        &self,
        group: Option<&str>,
        name: &str,
        target: aws_sdk_scheduler::types::Target,
    ) {
        aws_sdk_scheduler::Client::new(&self.sdk)
            .create_schedule()
            .set_group_name(group.map(str::to_owned))
            .name(name)
            .schedule_expression("rate(1 day)")
            .flexible_time_window(
                aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                    .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                    .build()
                    .expect("window"),
            )
            .target(target)
            .send()
            .await
            .expect("schedule");
    }

    fn cluster_arn(&self) -> String {
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}")
    }

    /// Expire every tagged image but the newest, enforced; every source on (5 revisions).
    fn sweeper(&self) -> Sweeper {
        let config = json!({"sweeper": {"mode": "enforce", "repositories": [{"include": [REPOSITORY],
            "policy": {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged",
                "tagPatternList": ["*"], "countType": "imageCountMoreThan", "countNumber": 1},
                "action": {"type": "expire"}}]}}]}});
        let config = JanitorConfig::from_json(&config.to_string(), ConfigSource::Inline)
            .expect("valid configuration");
        Sweeper::from_sdk_config(&self.sdk, config, None)
    }

    async fn sweep(&self, sweeper: &Sweeper, in_use: &InUse) -> RepositorySweep {
        let entry = sweeper.config.sweeper.entry_for(REPOSITORY).expect("entry");
        sweeper
            .sweep_repository(
                &self.repository,
                entry,
                in_use,
                janitor::sweep::SweepTiming::unlimited(Utc::now()),
            )
            .await
    }

    /// The tags of the images left in the registry.
    async fn left(&self) -> Vec<String> {
        let mut tags: Vec<String> = images(&self.ecr, REPOSITORY)
            .await
            .into_values()
            .flatten()
            .collect();
        tags.sort();
        tags
    }

    /// Tag → why the image with that tag was kept.
    fn kept(&self, sweep: &RepositorySweep, tags: &[String]) -> BTreeMap<String, String> {
        tags.iter()
            .map(|tag| {
                let digest = &self.digests[tag];
                let decision = sweep
                    .plan
                    .decisions
                    .iter()
                    .find(|decision| decision.digest == *digest)
                    .unwrap_or_else(|| panic!("no decision for {tag}"));
                let reason = match &decision.outcome {
                    Outcome::Keep {
                        reason: KeepReason::Protected { reason },
                    } => reason.to_string(),
                    Outcome::Keep { reason } => format!("{reason:?}"),
                    other => panic!("{tag}: {other:?}"),
                };
                (tag.clone(), reason)
            })
            .collect()
    }
}

fn sorted(tags: &[&str]) -> Vec<String> {
    let mut tags: Vec<String> = tags.iter().map(|tag| (*tag).to_owned()).collect();
    tags.sort();
    tags
}

#[tokio::test]
async fn services_newest_revisions_rules_and_schedules_keep_what_they_can_start() {
    let registry = Registry::start(&[
        "svc-zero",
        "rev-1",
        "rev-2",
        "rev-3",
        "rev-4",
        "rev-5",
        "rev-6",
        "rev-7",
        "rev-8",
        "rule",
        "sched",
        "sched-run",
        "unused-1",
        "unused-2",
    ])
    .await;
    let ecs = &registry.ecs;

    // A service scaled to zero, on a revision deregistered since: only the service
    // holds svc-zero.
    let web = registry.register("web", "svc-zero").await;
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("web")
        .task_definition(&web)
        .desired_count(0)
        .send()
        .await
        .expect("service");
    registry.deregister(&web).await;

    // Eight revisions of `api`: the newest five stay, rev-2 because a rule names it.
    let mut api = Vec::new();
    for revision in 1..=8 {
        api.push(registry.register("api", &format!("rev-{revision}")).await);
    }

    // Rules: one on a custom bus, one on the default bus naming an old revision.
    aws_sdk_eventbridge::Client::new(&registry.sdk)
        .create_event_bus()
        .name("ops")
        .send()
        .await
        .expect("bus");
    let on_upload = registry.register("on-upload", "rule").await;
    registry.rule("ops", "on-upload", &on_upload).await;
    registry.deregister(&on_upload).await;
    registry.rule("default", "replay", &api[1]).await;

    // Schedules: a templated ECS target in a custom group, a universal `ecs:runTask`
    // target in the default group, and a Lambda target (not read past ListSchedules).
    aws_sdk_scheduler::Client::new(&registry.sdk)
        .create_schedule_group()
        .name("batch")
        .send()
        .await
        .expect("schedule group");
    let nightly = registry.register("nightly", "sched").await;
    registry
        .schedule(
            Some("batch"),
            "nightly",
            aws_sdk_scheduler::types::Target::builder()
                .arn(registry.cluster_arn())
                .role_arn(ROLE)
                .ecs_parameters(
                    aws_sdk_scheduler::types::EcsParameters::builder()
                        .task_definition_arn(&nightly)
                        .build()
                        .expect("ECS parameters"),
                )
                .build()
                .expect("target"),
        )
        .await;
    registry.deregister(&nightly).await;
    let adhoc = registry.register("adhoc", "sched-run").await;
    registry
        .schedule(
            None,
            "run-adhoc",
            aws_sdk_scheduler::types::Target::builder()
                .arn("arn:aws:scheduler:::aws-sdk:ecs:runTask")
                .role_arn(ROLE)
                .input(json!({"Cluster": CLUSTER, "TaskDefinition": adhoc}).to_string())
                .build()
                .expect("target"),
        )
        .await;
    registry.deregister(&adhoc).await;
    registry
        .schedule(
            None,
            "report",
            aws_sdk_scheduler::types::Target::builder()
                .arn(format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:report"))
                .role_arn(ROLE)
                .build()
                .expect("target"),
        )
        .await;

    let sweeper = registry.sweeper();
    let in_use = sweeper.images_in_use(Utc::now()).await;
    assert_eq!(in_use.unknown(), None);
    let sweep = registry.sweep(&sweeper, &in_use).await;

    let kept = sorted(&[
        "svc-zero",
        "rev-2",
        "rev-4",
        "rev-5",
        "rev-6",
        "rev-7",
        "rev-8",
        "rule",
        "sched",
        "sched-run",
        "newest",
    ]);
    assert_eq!(registry.left().await, kept);
    assert_eq!(sweep.summary.expired, 4, "rev-1, rev-3, unused-1, unused-2");
    let mut expected: BTreeMap<String, String> = [
        (
            "svc-zero",
            "in use by ECS service prod/web (task definition web:1)",
        ),
        (
            "rev-2",
            "in use by EventBridge rule default/replay (task definition api:2)",
        ),
        (
            "rule",
            "in use by EventBridge rule ops/on-upload (task definition on-upload:1)",
        ),
        (
            "sched",
            "in use by EventBridge Scheduler schedule batch/nightly (task definition nightly:1)",
        ),
        (
            "sched-run",
            "in use by EventBridge Scheduler schedule default/run-adhoc (task definition adhoc:1)",
        ),
    ]
    .into_iter()
    .map(|(tag, reason)| (tag.to_owned(), reason.to_owned()))
    .collect();
    for revision in 4..=8 {
        expected.insert(
            format!("rev-{revision}"),
            format!(
                "in use by ECS task definition api:{revision} (one of the newest 5 ACTIVE revisions)"
            ),
        );
    }
    expected.insert(
        "newest".to_owned(),
        format!("{:?}", KeepReason::KeptByRule { rule_priority: 1 }),
    );
    assert_eq!(registry.kept(&sweep, &kept), expected);
}

#[tokio::test]
async fn a_rule_naming_a_task_definition_that_no_longer_exists_stops_every_action() {
    let registry = Registry::start(&["unused-1", "unused-2"]).await;
    // Never registered, as if deleted (DeleteTaskDefinitions) after the rule was made.
    let gone = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/gone:1");
    registry.rule("default", "replay", &gone).await;

    let sweeper = registry.sweeper();
    let in_use = sweeper.images_in_use(Utc::now()).await;
    let [SourceFailure { source, reason }] = in_use.failed.as_slice() else {
        panic!("one source fails: {:?}", in_use.failed);
    };
    assert_eq!(source, "scheduled ECS tasks");
    assert!(
        reason.starts_with(&format!(
            "DescribeTaskDefinition failed: {gone} (named by EventBridge rule default/replay): "
        )),
        "{reason}"
    );
    assert!(reason.contains("ClientException"), "{reason}");
    let sweep = registry.sweep(&sweeper, &in_use).await;
    // Planned, reported, not acted on.
    assert_eq!(sweep.actions.len(), 2);
    assert_eq!(sweep.summary.expired, 0);
    assert!(sweep.summary.in_use_unknown.is_some());
    assert_eq!(
        registry.left().await,
        sorted(&["newest", "unused-1", "unused-2"])
    );
}

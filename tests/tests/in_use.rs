//! "In use" means "can be started": one registry, every kind of workload that can start
//! an image, a policy that keeps one image, an enforced sweep — and the exact images
//! left with the exact reason each one stays. Then: a source that cannot be read stops
//! every action.
//!
//! Where moto answers differently from AWS, the loopback proxy plays AWS's documented
//! answer, and the unit tests of each source cover the same shape:
//! - `GetFunction` with a version qualifier returns that version's code on AWS; moto
//!   returns the latest code (see `in_use::lambda` tests);
//! - `DescribeTasks` lists every container on AWS; moto lists only the first (the
//!   sidecar here is still protected through its task definition; see
//!   `in_use::ecs_tasks` tests).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::lifecycle::{KeepReason, Outcome};
use janitor::sweep::registry::Repository;
use janitor::sweep::{Budget, RepositorySweep, SweepTiming, SweepTrigger, Sweeper};
use janitor_e2e::proxy::{
    Forward, LoopbackProxy, ProxyHooks, ProxyRequest, ProxyResponse, Upstream,
};
use janitor_e2e::{
    create_lambda_role, create_repository, images, push_image, Moto, ACCOUNT, REGION,
};
use serde_json::{json, Value};

const REPOSITORY: &str = "app";

fn uri(tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:{tag}")
}

/// Keep the newest image, expire every other one.
fn keep_one() -> Value {
    json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["*"],
        "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]})
}

/// AWS's answers where moto's differ (see the module documentation), and an access
/// denial for one operation when `denied` names it.
#[derive(Default)]
struct AwsAnswers {
    /// Lambda version → the image URI that version was published with.
    version_images: Mutex<BTreeMap<String, String>>,
    denied: Mutex<Option<String>>,
}

/// The proxy's handle on the shared answers.
struct Answering(Arc<AwsAnswers>);

impl ProxyHooks for Answering {
    fn request(&self, request: ProxyRequest, _upstream: &Upstream) -> Forward {
        let denied = self.0.denied.lock().expect("lock").clone();
        if denied.is_some() && request.operation().map(str::to_owned) == denied {
            return Forward::Respond(ProxyResponse::json_status(
                400,
                &json!({"__type": "AccessDeniedException", "message": "not authorized to perform this call"}),
            ));
        }
        Forward::Upstream(request)
    }

    fn response(
        &self,
        request: &ProxyRequest,
        response: ProxyResponse,
        _: &Upstream,
    ) -> ProxyResponse {
        let qualifier = request
            .path
            .split_once("Qualifier=")
            .map(|(_, rest)| rest.split('&').next().unwrap_or_default().to_owned());
        let version_image = qualifier.and_then(|version| {
            self.0
                .version_images
                .lock()
                .expect("lock")
                .get(&version)
                .cloned()
        });
        match version_image {
            Some(image) if request.method == "GET" && request.path.contains("/functions/") => {
                let mut body = response.json();
                body["Code"]["ImageUri"] = json!(image);
                body["Code"]["ResolvedImageUri"] = Value::Null;
                response.with_json(&body)
            }
            _ => response,
        }
    }
}

struct Seeded {
    _moto: Moto,
    _proxy: LoopbackProxy,
    answers: Arc<AwsAnswers>,
    sdk: aws_config::SdkConfig,
    via_proxy: aws_config::SdkConfig,
    repository: Repository,
    digest: BTreeMap<String, String>,
    /// The ARN of the task that stopped.
    stopped_task: String,
}

impl Seeded {
    fn sweeper(&self) -> Sweeper {
        let config = json!({"sweeper": {"mode": "enforce",
            "repositories": [{"include": [REPOSITORY], "policy": keep_one()}],
            "inUse": {"externalLists": [{"s3Uri": "s3://lists/k8s/", "maxAgeHours": 1}]}}});
        let config = JanitorConfig::from_json(&config.to_string(), ConfigSource::Inline)
            .expect("valid configuration");
        Sweeper::from_sdk_config(&self.via_proxy, config, None)
    }

    async fn sweep(&self, sweeper: &Sweeper) -> RepositorySweep {
        let entry = sweeper.config.sweeper.entry_for(REPOSITORY).expect("entry");
        let in_use = sweeper.images_in_use(Utc::now()).await;
        sweeper
            .sweep_repository(
                &self.repository,
                entry,
                &in_use,
                SweepTiming::unlimited(Utc::now()),
            )
            .await
    }

    async fn left(&self) -> BTreeSet<String> {
        let by_digest: BTreeMap<&String, &String> = self
            .digest
            .iter()
            .map(|(name, digest)| (digest, name))
            .collect();
        images(&aws_sdk_ecr::Client::new(&self.sdk), REPOSITORY)
            .await
            .into_keys()
            .map(|digest| {
                by_digest
                    .get(&digest)
                    .map_or(digest.clone(), |name| (*name).clone())
            })
            .collect()
    }
}

async fn register(ecs: &aws_sdk_ecs::Client, family: &str, tags: &[&str]) -> String {
    let mut request = ecs.register_task_definition().family(family);
    for (n, tag) in tags.iter().enumerate() {
        request = request.container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name(format!("c{n}"))
                .image(uri(tag))
                .memory(256)
                .build(),
        );
    }
    request
        .send()
        .await
        .expect("register task definition")
        .task_definition()
        .and_then(|definition| definition.task_definition_arn())
        .expect("task definition ARN")
        .to_owned()
}

async fn seed() -> Seeded {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let answers = Arc::new(AwsAnswers::default());
    let proxy = LoopbackProxy::start(moto.port(), Answering(answers.clone()));
    let via_proxy = proxy.sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let created = create_repository(&ecr, REPOSITORY).await;
    let repository = Repository {
        name: REPOSITORY.to_owned(),
        uri: created.repository_uri().expect("uri").to_owned(),
        arn: created.repository_arn().expect("arn").to_owned(),
    };
    let mut digest = BTreeMap::new();
    let names = [
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
        "batch",
        "lambda-old",
        "lambda-new",
        "stopped-main",
        "stopped-sidecar",
        "k8s-cron",
        "k8s-deploy-zero",
        "plain",
        "unused-1",
        "unused-2",
    ];
    for (n, name) in names.iter().enumerate() {
        digest.insert(
            (*name).to_owned(),
            push_image(&ecr, REPOSITORY, n as u64, Some(name)).await,
        );
    }
    // cosign's signature and attestation of lambda-new, stored by tag.
    let subject_hex = digest["lambda-new"]
        .trim_start_matches("sha256:")
        .to_owned();
    for (n, suffix) in [(100, "sig"), (101, "att")] {
        let tag = format!("sha256-{subject_hex}.{suffix}");
        digest.insert(
            format!("cosign .{suffix}"),
            push_image(&ecr, REPOSITORY, n, Some(&tag)).await,
        );
    }
    // moto stamps push times in whole seconds: the newest image is pushed a second later.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    digest.insert(
        "newest".into(),
        push_image(&ecr, REPOSITORY, 200, Some("newest")).await,
    );

    // ECS: a service at 0, a family of 8 revisions, a stopped task with two containers.
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let cluster = ecs
        .create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .expect("cluster");
    let cluster_arn = cluster
        .cluster()
        .and_then(|c| c.cluster_arn())
        .expect("cluster ARN")
        .to_owned();
    let zero = register(&ecs, "zero", &["svc-zero"]).await;
    ecs.create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition(&zero)
        .desired_count(0)
        .send()
        .await
        .expect("service");
    for revision in 1..=8 {
        register(&ecs, "api", &[&format!("rev-{revision}")]).await;
    }
    let stopped = register(&ecs, "stopped-job", &["stopped-main", "stopped-sidecar"]).await;
    let task = ecs
        .run_task()
        .cluster("prod")
        .task_definition(&stopped)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .send()
        .await
        .expect("run task");
    let task_arn = task.tasks()[0].task_arn().expect("task ARN").to_owned();
    ecs.stop_task()
        .cluster("prod")
        .task(&task_arn)
        .reason("crash loop")
        .send()
        .await
        .expect("stop task");

    // Scheduled ECS tasks: a rule on a custom bus and an EventBridge Scheduler schedule.
    let rule_task = register(&ecs, "rule-task", &["rule"]).await;
    let sched_task = register(&ecs, "sched-task", &["sched"]).await;
    let role = format!("arn:aws:iam::{ACCOUNT}:role/ecs-events");
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    events
        .create_event_bus()
        .name("ops")
        .send()
        .await
        .expect("bus");
    events
        .put_rule()
        .name("on-upload")
        .event_bus_name("ops")
        .event_pattern(json!({"source": ["uploads"]}).to_string())
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("on-upload")
        .event_bus_name("ops")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("task")
                .arn(&cluster_arn)
                .role_arn(&role)
                .ecs_parameters(
                    aws_sdk_eventbridge::types::EcsParameters::builder()
                        .task_definition_arn(&rule_task)
                        .build()
                        .expect("ECS parameters"),
                )
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");
    aws_sdk_scheduler::Client::new(&sdk)
        .create_schedule()
        .name("nightly")
        .schedule_expression("rate(1 day)")
        .flexible_time_window(
            aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .expect("window"),
        )
        .target(
            aws_sdk_scheduler::types::Target::builder()
                .arn(&cluster_arn)
                .role_arn(&role)
                .ecs_parameters(
                    aws_sdk_scheduler::types::EcsParameters::builder()
                        .task_definition_arn(&sched_task)
                        .build()
                        .expect("ECS parameters"),
                )
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("schedule");

    // AWS Batch.
    aws_sdk_batch::Client::new(&sdk)
        .register_job_definition()
        .job_definition_name("nightly")
        .r#type(aws_sdk_batch::types::JobDefinitionType::Container)
        .container_properties(
            aws_sdk_batch::types::ContainerProperties::builder()
                .image(uri("batch"))
                .resource_requirements(
                    aws_sdk_batch::types::ResourceRequirement::builder()
                        .r#type(aws_sdk_batch::types::ResourceType::Vcpu)
                        .value("1")
                        .build(),
                )
                .resource_requirements(
                    aws_sdk_batch::types::ResourceRequirement::builder()
                        .r#type(aws_sdk_batch::types::ResourceType::Memory)
                        .value("512")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("job definition");

    // Lambda: version 1 on lambda-old with alias `live`, version 2 and $LATEST on lambda-new.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let role_arn = create_lambda_role(&sdk, "fn").await;
    lambda
        .create_function()
        .function_name("payments")
        .role(&role_arn)
        .package_type(aws_sdk_lambda::types::PackageType::Image)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .image_uri(uri("lambda-old"))
                .build(),
        )
        .send()
        .await
        .expect("function");
    let first = lambda
        .publish_version()
        .function_name("payments")
        .send()
        .await
        .expect("version");
    let first = first.version().expect("version number").to_owned();
    answers
        .version_images
        .lock()
        .expect("lock")
        .insert(first.clone(), uri("lambda-old"));
    lambda
        .update_function_code()
        .function_name("payments")
        .image_uri(uri("lambda-new"))
        .send()
        .await
        .expect("update code");
    lambda
        .publish_version()
        .function_name("payments")
        .send()
        .await
        .expect("version 2");
    lambda
        .create_alias()
        .function_name("payments")
        .name("live")
        .function_version(&first)
        .send()
        .await
        .expect("alias");

    // Kubernetes: a kubectl list with a CronJob and a Deployment at 0 replicas, and a
    // plain list naming an image by its bare name.
    let s3 = aws_sdk_s3::Client::new(&sdk);
    s3.create_bucket()
        .bucket("lists")
        .send()
        .await
        .expect("bucket");
    let kubectl = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "jobs"},
         "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "report", "image": uri("k8s-cron")}], "restartPolicy": "Never"}}}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "namespace": "web"},
         "spec": {"replicas": 0, "template": {"spec": {"containers": [{"name": "shop", "image": uri("k8s-deploy-zero")}]}}}}
    ]});
    for (key, body) in [
        ("k8s/prod.json", kubectl.to_string()),
        (
            "k8s/plain.txt",
            format!("# images of the build farm\n{REPOSITORY}:plain\n"),
        ),
    ] {
        s3.put_object()
            .bucket("lists")
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await
            .expect("put list");
    }
    Seeded {
        _moto: moto,
        _proxy: proxy,
        answers,
        sdk,
        via_proxy,
        repository,
        digest,
        stopped_task: task_arn,
    }
}

fn reason(sweep: &RepositorySweep, digest: &str) -> String {
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
        Outcome::Keep { reason } => format!("{reason:?}"),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn every_workload_that_can_start_an_image_keeps_it() {
    let seeded = seed().await;
    let sweep = seeded.sweep(&seeded.sweeper()).await;
    assert_eq!(sweep.summary.in_use_unknown, None);
    let expired = ["rev-1", "rev-2", "rev-3", "unused-1", "unused-2"];
    let all: BTreeSet<String> = seeded.digest.keys().cloned().collect();
    let kept: BTreeSet<String> = all
        .iter()
        .filter(|name| !expired.contains(&name.as_str()))
        .cloned()
        .collect();
    assert_eq!(seeded.left().await, kept);
    assert_eq!(sweep.summary.expired, expired.len());
    let reasons: BTreeMap<String, String> = kept
        .iter()
        .map(|name| (name.clone(), reason(&sweep, &seeded.digest[name])))
        .collect();
    let newest_five = |family: &str| {
        format!("ECS task definition {family}:1 (one of the newest 5 ACTIVE revisions)")
    };
    let subject = seeded.digest["lambda-new"].clone();
    let mut expected: BTreeMap<String, String> = [
        ("batch", "in use by Batch job definition nightly:1".to_owned()),
        ("k8s-cron", "in use by kubernetes list s3://lists/k8s/prod.json: jobs/CronJob/report".to_owned()),
        ("k8s-deploy-zero", "in use by kubernetes list s3://lists/k8s/prod.json: web/Deployment/shop".to_owned()),
        ("lambda-new", "in use by Lambda function payments:$LATEST; Lambda function payments:2".to_owned()),
        ("lambda-old", "in use by Lambda function payments:1 (alias live)".to_owned()),
        ("plain", "in use by list s3://lists/k8s/plain.txt: line 2".to_owned()),
        ("rule", format!("in use by {}; EventBridge rule ops/on-upload (task definition rule-task:1)", newest_five("rule-task"))),
        ("sched", format!("in use by {}; EventBridge Scheduler schedule default/nightly (task definition sched-task:1)", newest_five("sched-task"))),
        ("stopped-main", format!("in use by ECS task {} (task definition stopped-job:1, stopped); {}", seeded.stopped_task, newest_five("stopped-job"))),
        ("stopped-sidecar", format!("in use by {}", newest_five("stopped-job"))),
        ("svc-zero", format!("in use by ECS service prod/web (task definition zero:1); {}", newest_five("zero"))),
        ("cosign .sig", format!("{:?}", KeepReason::SubjectKept { subject_digest: subject.clone().into() })),
        ("cosign .att", format!("{:?}", KeepReason::SubjectKept { subject_digest: subject.into() })),
        ("newest", format!("{:?}", KeepReason::KeptByRule { rule_priority: 1 })),
    ]
    .into_iter()
    .map(|(name, reason)| (name.to_owned(), reason))
    .collect();
    for revision in 4..=8 {
        expected.insert(
            format!("rev-{revision}"),
            format!("in use by ECS task definition api:{revision} (one of the newest 5 ACTIVE revisions)"),
        );
    }
    assert_eq!(reasons, expected);
    // The report (the `Sweep Completed` event) names who holds each protected image.
    let reported: BTreeMap<String, String> = sweep
        .summary
        .protected_images
        .iter()
        .map(|image| (image.digest.clone(), image.reason.clone()))
        .collect();
    let protected: BTreeMap<String, String> = expected
        .iter()
        .filter(|(_, reason)| reason.starts_with("in use by "))
        .map(|(name, reason)| (seeded.digest[name].clone(), reason.clone()))
        .collect();
    assert_eq!(reported, protected);
}

#[tokio::test]
async fn a_source_that_cannot_be_read_stops_every_action() {
    let seeded = seed().await;
    *seeded.answers.denied.lock().expect("lock") = Some("ListServices".into());
    let before = seeded.left().await;
    let sweeper = seeded.sweeper();
    let sweep = seeded.sweep(&sweeper).await;
    let unknown = sweep
        .summary
        .in_use_unknown
        .clone()
        .expect("in use unknown");
    assert!(
        unknown.starts_with("images in use are unknown (ECS services: ListServices failed: "),
        "{unknown}"
    );
    assert!(unknown.contains("AccessDeniedException"), "{unknown}");
    // The plan is still made and reported; nothing is acted on.
    assert_eq!(sweep.actions.len(), 5);
    assert_eq!(sweep.summary.expired, 0);
    assert_eq!(seeded.left().await, before);
    // The run says it is incomplete (and so fails, for Lambda to retry and alarm).
    let run = sweeper
        .run(
            SweepTrigger::Repository(REPOSITORY.into()),
            Utc::now(),
            Budget::unlimited(),
        )
        .await
        .expect_err("incomplete");
    assert!(run.to_string().contains("ECS services"), "{run}");
    assert_eq!(seeded.left().await, before);
}

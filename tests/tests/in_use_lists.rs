//! Lists of images in use published to S3 (`sweeper.inUse.externalLists`) end to end,
//! against moto's S3 and ECR: a `kubectl get ... -o json` list and a plain list protect
//! exactly the images they name, each with its holder as the reason; a stale list or a
//! prefix without any object makes "in use" unknown, and an enforce sweep then deletes
//! nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::lifecycle::{KeepReason, Outcome};
use janitor::sweep::in_use::InUse;
use janitor::sweep::registry::Repository;
use janitor::sweep::{RepositorySweep, Sweeper};
use janitor_e2e::{create_repository, images, push_image, Moto};
use serde_json::{json, Value};

const BUCKET: &str = "lists";
const KUBECTL_LIST: &str = "k8s/prod.json";
const PLAIN_LIST: &str = "k8s/plain.txt";
/// The tags pushed to `app`, oldest first; each names its own image.
const TAGS: [&str; 7] = [
    "cron",
    "deploy-zero",
    "pod-digest",
    "plain",
    "unused-1",
    "unused-2",
    "newest",
];

/// Keep the newest tagged image, expire every other one.
fn keep_newest_tagged() -> Value {
    json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged",
        "tagPatternList": ["*"], "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}}]})
}

fn sweeper(sdk: &aws_config::SdkConfig, s3_uri: &str) -> Sweeper {
    let document = json!({"sweeper": {
        "mode": "enforce",
        "repositories": [{"include": ["app"], "policy": keep_newest_tagged()}],
        "inUse": {"externalLists": [{"s3Uri": s3_uri, "maxAgeHours": 1}]}
    }});
    let config = JanitorConfig::from_json(&document.to_string(), ConfigSource::Inline)
        .expect("valid configuration");
    Sweeper::from_sdk_config(sdk, config, None)
}

/// moto with the repository `app` (one image per tag of [`TAGS`]) and the bucket
/// [`BUCKET`] holding both lists.
struct Env {
    _moto: Moto,
    sdk: aws_config::SdkConfig,
    ecr: aws_sdk_ecr::Client,
    s3: aws_sdk_s3::Client,
    repository: Repository,
    /// tag → digest.
    digests: BTreeMap<&'static str, String>,
}

impl Env {
    async fn start() -> Env {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let ecr = aws_sdk_ecr::Client::new(&sdk);
        let s3 = aws_sdk_s3::Client::new(&sdk);
        let created = create_repository(&ecr, "app").await;
        let repository = Repository {
            name: "app".to_owned(),
            uri: created.repository_uri().expect("uri").to_owned(),
            arn: created.repository_arn().expect("arn").to_owned(),
        };
        let mut digests = BTreeMap::new();
        for (n, tag) in (1..).zip(TAGS) {
            if tag == "newest" {
                // moto stamps pushes to the second and the policy breaks ties by digest:
                // a second later, `newest` is the newest whatever its digest.
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            digests.insert(tag, push_image(&ecr, "app", n, Some(tag)).await);
        }
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("create bucket");
        let env = Env {
            _moto: moto,
            sdk,
            ecr,
            s3,
            repository,
            digests,
        };
        env.put_object(KUBECTL_LIST, &env.kubectl_list().to_string())
            .await;
        env.put_object(
            PLAIN_LIST,
            "# images the build farm starts, outside any cluster\n\napp:plain\n",
        )
        .await;
        env
    }

    async fn put_object(&self, key: &str, text: &str) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(text.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put object");
    }

    /// What `kubectl get pods,deployments,...,cronjobs -A -o json` prints for a CronJob
    /// on `cron`, a Deployment scaled to 0 on `deploy-zero`, and a Pod started from the
    /// tag `rollout-41`, since moved away and deleted, whose container runs the image
    /// now tagged `pod-digest` (its status's `imageID` says so).
    fn kubectl_list(&self) -> Value {
        let uri = &self.repository.uri;
        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
            {"apiVersion": "batch/v1", "kind": "CronJob",
             "metadata": {"name": "nightly", "namespace": "batch"},
             "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                 "restartPolicy": "OnFailure",
                 "containers": [{"name": "nightly", "image": format!("{uri}:cron")}]}}}}},
             "status": {}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "web", "namespace": "prod"},
             "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                          "containers": [{"name": "web", "image": format!("{uri}:deploy-zero")}]}}},
             "status": {"observedGeneration": 3}},
            {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "worker-5f7c9-k2x8d", "namespace": "prod"},
             "spec": {"containers": [{"name": "worker", "image": format!("{uri}:rollout-41")}]},
             "status": {"phase": "Running", "containerStatuses": [{"name": "worker",
                 "image": format!("{uri}:rollout-41"),
                 "imageID": format!("docker-pullable://{uri}@{}", self.digests["pod-digest"]),
                 "ready": true, "restartCount": 0}]}}
        ]})
    }

    fn digests_of(&self, tags: &[&str]) -> BTreeSet<String> {
        tags.iter().map(|tag| self.digests[tag].clone()).collect()
    }

    /// What the policy expires when nothing is in use.
    fn all_but_newest(&self) -> BTreeSet<String> {
        self.digests_of(&TAGS[..TAGS.len() - 1])
    }

    /// The digests left in `app`.
    async fn remaining(&self) -> BTreeSet<String> {
        images(&self.ecr, "app").await.into_keys().collect()
    }

    async fn sweep(&self, sweeper: &Sweeper, in_use: &InUse) -> RepositorySweep {
        let entry = sweeper
            .config
            .sweeper
            .entry_for("app")
            .expect("an entry for app");
        sweeper
            .sweep_repository(
                &self.repository,
                entry,
                in_use,
                janitor::sweep::SweepTiming::unlimited(Utc::now()),
            )
            .await
    }

    /// When S3 last wrote `key`.
    async fn last_modified(&self, key: &str) -> DateTime<Utc> {
        let head = self
            .s3
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .expect("head object");
        let time = head.last_modified().expect("LastModified");
        DateTime::from_timestamp(time.secs(), time.subsec_nanos()).expect("a valid time")
    }
}

/// The digests the sweep acted on (deleted, in enforce mode, unless held back).
fn acted_on(sweep: &RepositorySweep) -> BTreeSet<String> {
    sweep
        .actions
        .iter()
        .map(|action| action.digest.clone())
        .collect()
}

/// digest → protection reason, for every image the plan keeps as protected.
fn protections(sweep: &RepositorySweep) -> BTreeMap<String, String> {
    sweep
        .plan
        .decisions
        .iter()
        .filter_map(|decision| match &decision.outcome {
            Outcome::Keep {
                reason: KeepReason::Protected { reason },
            } => Some((decision.digest.to_string(), reason.to_string())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn images_named_by_a_kubectl_list_or_a_plain_list_are_kept() {
    let env = Env::start().await;
    let sweeper = sweeper(&env.sdk, "s3://lists/k8s/");

    let in_use = sweeper.images_in_use(Utc::now()).await;
    assert_eq!(in_use.unknown(), None);
    let sweep = env.sweep(&sweeper, &in_use).await;

    assert_eq!(sweep.summary.in_use_unknown, None);
    assert_eq!(
        env.remaining().await,
        env.digests_of(&["cron", "deploy-zero", "pod-digest", "plain", "newest"])
    );
    let kubernetes = "in use by kubernetes list s3://lists/k8s/prod.json";
    assert_eq!(
        protections(&sweep),
        BTreeMap::from([
            (
                env.digests["cron"].clone(),
                format!("{kubernetes}: batch/CronJob/nightly")
            ),
            (
                env.digests["deploy-zero"].clone(),
                format!("{kubernetes}: prod/Deployment/web")
            ),
            (
                env.digests["pod-digest"].clone(),
                format!("{kubernetes}: prod/Pod/worker-5f7c9-k2x8d")
            ),
            (
                env.digests["plain"].clone(),
                "in use by list s3://lists/k8s/plain.txt: line 3".to_owned()
            ),
        ])
    );
    // The control: the sweep did act, on exactly the images no list names.
    assert_eq!(acted_on(&sweep), env.digests_of(&["unused-1", "unused-2"]));
}

#[tokio::test]
async fn a_stale_list_makes_in_use_unknown_and_nothing_is_deleted() {
    let env = Env::start().await;
    let sweeper = sweeper(&env.sdk, "s3://lists/k8s/");
    // S3 lists keys in order: plain.txt comes first, so it is the stale object named.
    let written = env.last_modified(PLAIN_LIST).await;
    let two_hours_later = written + TimeDelta::hours(2);

    let in_use = sweeper.images_in_use(two_hours_later).await;
    let unknown = format!(
        "images in use are unknown (list s3://lists/k8s/: s3://lists/k8s/plain.txt was last \
         modified {} (2h00m ago), more than maxAgeHours 1: stale data is unknown data)",
        written.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(in_use.unknown(), Some(unknown.clone()));
    let sweep = env.sweep(&sweeper, &in_use).await;

    assert_eq!(sweep.summary.in_use_unknown, Some(unknown));
    assert_eq!(env.remaining().await, env.digests_of(&TAGS));
    // The control: the plan expires every image but the newest, and only the unknown
    // "in use" held it back.
    assert_eq!(acted_on(&sweep), env.all_but_newest());
}

#[tokio::test]
async fn a_prefix_without_any_object_makes_in_use_unknown_and_nothing_is_deleted() {
    let env = Env::start().await;
    let sweeper = sweeper(&env.sdk, "s3://lists/eks-staging/");

    let in_use = sweeper.images_in_use(Utc::now()).await;
    let unknown = "images in use are unknown (list s3://lists/eks-staging/: no object under \
                   s3://lists/eks-staging/: a missing list is an unknown list)";
    assert_eq!(in_use.unknown().as_deref(), Some(unknown));
    let sweep = env.sweep(&sweeper, &in_use).await;

    assert_eq!(sweep.summary.in_use_unknown.as_deref(), Some(unknown));
    assert_eq!(env.remaining().await, env.digests_of(&TAGS));
    assert_eq!(acted_on(&sweep), env.all_but_newest());
}

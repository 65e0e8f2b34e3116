//! Lists of images in use published to S3 (`sweeper.inUse.externalLists`): what the
//! janitor cannot see itself, above all Kubernetes workloads (EKS or any other cluster
//! pulling from this registry), which a CronJob in each cluster publishes (see
//! `infra/kubernetes/`).
//!
//! Every object under the list's prefix is read, and each is either
//! - the JSON that `kubectl get pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs -A -o json`
//!   prints (a `{"kind": "List", "items": [...]}`): every image of every pod spec it
//!   holds, a pod's own and the templates of workloads that can start pods later (a
//!   Deployment scaled to 0, a CronJob between runs), plus the digest each running
//!   container resolved its image to (`status.containerStatuses[].imageID`), which
//!   protects the image even after its tag has moved; or
//! - a plain list: one image reference per line, `#` starting a comment. A reference
//!   without a registry host (`app:v1`) names this registry, as people writing such a
//!   list mean it.
//!
//! A list that cannot be trusted makes "in use" unknown, so the sweep acts on nothing:
//! no object under the prefix (a missing list), an object older than `maxAgeHours`
//! (stale data is unknown data: the cluster may have started anything since), an empty
//! object (a publisher that failed), or one that does not parse.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Deserialize;

use super::config::ExternalList;
use super::ImageUse;
use crate::sweep::reference::ImageReference;

/// Why a list's uses are unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("`{0}` is not an S3 location (s3://bucket/prefix)")]
    NotAnS3Uri(String),
    #[error("{operation} {uri} failed: {message}")]
    Call {
        /// The S3 operation, e.g. `ListObjectsV2`.
        operation: &'static str,
        uri: String,
        message: String,
    },
    #[error("no object under {uri}: a missing list is an unknown list")]
    Missing { uri: String },
    #[error("{uri} has no LastModified: its age is unknown")]
    UnknownAge { uri: String },
    #[error(
        "{uri} was last modified {} ({} ago), more than maxAgeHours {max_age_hours}: \
         stale data is unknown data",
        .last_modified.to_rfc3339_opts(SecondsFormat::Secs, true),
        hours_and_minutes(.age)
    )]
    Stale {
        uri: String,
        last_modified: DateTime<Utc>,
        age: TimeDelta,
        max_age_hours: u32,
    },
    #[error("{uri} is empty: a publisher that failed may have written nothing")]
    Empty { uri: String },
    #[error("{uri} is not UTF-8 text: {problem}")]
    NotUtf8 { uri: String, problem: String },
    #[error("{uri} is unparseable: {problem}")]
    Unparseable { uri: String, problem: String },
}

/// `2h05m`.
fn hours_and_minutes(age: &TimeDelta) -> String {
    let minutes = age.num_minutes();
    format!("{}h{:02}m", minutes / 60, minutes % 60)
}

/// The images the objects under the list's prefix name, judged fresh as of `now`.
pub async fn images(
    s3: &aws_sdk_s3::Client,
    list: &ExternalList,
    now: DateTime<Utc>,
) -> Result<Vec<ImageUse>, ListError> {
    let (bucket, prefix) = list
        .bucket_and_prefix()
        .ok_or_else(|| ListError::NotAnS3Uri(list.s3_uri.clone()))?;
    let pages: Vec<_> = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|err| ListError::Call {
            operation: "ListObjectsV2",
            uri: list.s3_uri.clone(),
            message: crate::aws::error_text(&err),
        })?;
    let objects: Vec<(&str, Option<&aws_smithy_types::DateTime>)> = pages
        .iter()
        .flat_map(|page| page.contents())
        .filter_map(|object| Some((object.key()?, object.last_modified())))
        // The S3 console's "folders" are empty objects whose key ends in '/'.
        .filter(|(key, _)| !key.ends_with('/'))
        .collect();
    if objects.is_empty() {
        return Err(ListError::Missing {
            uri: list.s3_uri.clone(),
        });
    }
    // Every object's age first: one stale object makes the whole list stale, and is
    // then reported without reading the others.
    for (key, last_modified) in &objects {
        let uri = format!("s3://{bucket}/{key}");
        let last_modified = last_modified
            .and_then(|time| DateTime::from_timestamp(time.secs(), time.subsec_nanos()))
            .ok_or_else(|| ListError::UnknownAge { uri: uri.clone() })?;
        check_age(&uri, last_modified, list.max_age_hours, now)?;
    }
    let mut uses = Vec::new();
    for (key, _) in objects {
        let uri = format!("s3://{bucket}/{key}");
        let call_failed = |message: String| ListError::Call {
            operation: "GetObject",
            uri: uri.clone(),
            message,
        };
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| call_failed(crate::aws::error_text(&err)))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|err| call_failed(crate::aws::cause_chain(&err)))?
            .into_bytes();
        let text = std::str::from_utf8(&bytes).map_err(|err| ListError::NotUtf8 {
            uri: uri.clone(),
            problem: err.to_string(),
        })?;
        uses.extend(parse_list(&uri, text)?);
    }
    Ok(uses)
}

/// Fails when the object at `uri`, last modified at `last_modified`, is more than
/// `max_age_hours` old at `now`.
fn check_age(
    uri: &str,
    last_modified: DateTime<Utc>,
    max_age_hours: u32,
    now: DateTime<Utc>,
) -> Result<(), ListError> {
    let age = now - last_modified;
    if age > TimeDelta::hours(i64::from(max_age_hours)) {
        return Err(ListError::Stale {
            uri: uri.to_owned(),
            last_modified,
            age,
            max_age_hours,
        });
    }
    Ok(())
}

/// The uses one object (at `uri`) names: a kubectl list when it is a JSON object, a
/// plain list of references otherwise.
pub fn parse_list(uri: &str, text: &str) -> Result<Vec<ImageUse>, ListError> {
    // Editors on Windows start UTF-8 files with a byte-order mark.
    let text = text.trim_start_matches('\u{feff}');
    let unparseable = |problem: String| ListError::Unparseable {
        uri: uri.to_owned(),
        problem,
    };
    if text.trim().is_empty() {
        return Err(ListError::Empty {
            uri: uri.to_owned(),
        });
    }
    // No image reference starts with '{': such an object can only be meant as JSON.
    if text.trim_start().starts_with('{') {
        let list: KubernetesList =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
                .map_err(|err| {
                    // serde_path_to_error names the document itself `.`.
                    let path = err.path().to_string();
                    let at = if path == "." {
                        String::new()
                    } else {
                        format!("{path}: ")
                    };
                    unparseable(format!(
                        "not a `kubectl get ... -o json` list: {at}{}",
                        err.inner()
                    ))
                })?;
        return Ok(list
            .items
            .iter()
            .flat_map(|object| object.images(uri))
            .collect());
    }
    let mut uses = Vec::new();
    for (index, line) in text.lines().enumerate() {
        // '#' cannot occur in a reference: whatever follows it is a comment.
        let reference = line.split('#').next().unwrap_or_default().trim();
        if reference.is_empty() {
            continue;
        }
        let number = index + 1;
        ImageReference::parse(reference).map_err(|err| {
            unparseable(format!(
                "line {number}: `{reference}` is not an image reference: {err}"
            ))
        })?;
        uses.push(listed(
            reference,
            None,
            &format!("list {uri}: line {number}"),
        ));
    }
    Ok(uses)
}

/// A use from a list: a host-less reference names this registry.
fn listed(image: &str, digest: Option<&str>, user: &str) -> ImageUse {
    ImageUse {
        bare_is_this_registry: true,
        ..ImageUse::new(image, digest, user)
    }
}

/// What `kubectl get ... -o json` prints for several kinds at once.
#[derive(Debug, Deserialize)]
struct KubernetesList {
    /// Required: a JSON object without it is not such a list.
    items: Vec<KubernetesObject>,
}

/// One object of any kind: its pod specs are found where the workload kinds keep them,
/// and kinds without any (a Service, say) name no image.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct KubernetesObject {
    kind: String,
    metadata: ObjectMeta,
    spec: Spec,
    status: PodStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ObjectMeta {
    namespace: String,
    name: String,
}

/// A Pod's spec, or the spec of a workload holding a pod template (which is itself a
/// spec, in a template).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    /// A Pod's own containers.
    containers: Vec<Container>,
    init_containers: Vec<Container>,
    ephemeral_containers: Vec<Container>,
    /// The pod template of Deployments, StatefulSets, DaemonSets, ReplicaSets and Jobs
    /// (whatever their replicas: scaled to 0 they start it again when scaled up), and
    /// of the Job spec in a CronJob's job template.
    template: Option<Box<Template>>,
    /// CronJobs.
    job_template: Option<Box<Template>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Template {
    spec: Spec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Container {
    /// Optional in templates, which a controller may fill in.
    image: String,
}

/// A Pod's status: the image each container runs, and the digest it resolved.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodStatus {
    container_statuses: Vec<ContainerStatus>,
    init_container_statuses: Vec<ContainerStatus>,
    ephemeral_container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerStatus {
    image: String,
    /// `docker-pullable://HOST/REPO@sha256:…` (Docker), `HOST/REPO@sha256:…`
    /// (containerd), empty before the image is pulled.
    #[serde(rename = "imageID")]
    image_id: String,
}

impl Spec {
    /// The images of this spec's containers and of every template it holds.
    fn images(&self) -> Vec<&str> {
        let mut images: Vec<&str> = self
            .containers
            .iter()
            .chain(&self.init_containers)
            .chain(&self.ephemeral_containers)
            .map(|container| container.image.as_str())
            .collect();
        for template in self.template.iter().chain(&self.job_template) {
            images.extend(template.spec.images());
        }
        images
    }
}

impl KubernetesObject {
    /// Every image this object names, held by `kubernetes list URI: NAMESPACE/KIND/NAME`.
    fn images(&self, uri: &str) -> Vec<ImageUse> {
        let ObjectMeta { namespace, name } = &self.metadata;
        let user = if namespace.is_empty() {
            format!("kubernetes list {uri}: {}/{name}", self.kind)
        } else {
            format!("kubernetes list {uri}: {namespace}/{}/{name}", self.kind)
        };
        let specified = self
            .spec
            .images()
            .into_iter()
            .filter(|image| !image.is_empty())
            .map(|image| listed(image, None, &user));
        let status = &self.status;
        let running = status
            .container_statuses
            .iter()
            .chain(&status.init_container_statuses)
            .chain(&status.ephemeral_container_statuses)
            .filter(|container| !container.image.is_empty())
            .map(|container| {
                let digest = container
                    .image_id
                    .split_once('@')
                    .map(|(_, digest)| digest)
                    .filter(|digest| !digest.is_empty());
                listed(&container.image, digest, &user)
            });
        specified.chain(running).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const URI: &str = "s3://lists/k8s/prod.json";

    fn digest(hex: char) -> String {
        format!("sha256:{}", hex.to_string().repeat(64))
    }

    /// Trimmed from what `kubectl get pods,deployments,statefulsets,daemonsets,
    /// replicasets,jobs,cronjobs -A -o json` prints (kubectl 1.30, containerd).
    fn kubectl_list() -> String {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"resourceVersion": ""},
            "items": [
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": "worker-7d4b9c-x2x9q",
                        "namespace": "prod",
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                            "name": "worker-7d4b9c", "uid": "0b5e", "controller": true}]
                    },
                    "spec": {
                        "initContainers": [{"name": "migrate", "image": format!("{ECR}/migrations:v12"),
                            "resources": {}, "terminationMessagePolicy": "File"}],
                        "containers": [{"name": "worker", "image": format!("{ECR}/worker:old"),
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}]}],
                        "nodeName": "ip-10-0-1-17.ec2.internal",
                        "restartPolicy": "Always"
                    },
                    "status": {
                        "phase": "Running",
                        "initContainerStatuses": [{"name": "migrate", "image": format!("{ECR}/migrations:v12"),
                            "imageID": format!("{ECR}/migrations@{}", digest('a')), "ready": true,
                            "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                        "containerStatuses": [{"name": "worker", "image": format!("{ECR}/worker:old"),
                            "imageID": format!("docker-pullable://{ECR}/worker@{}", digest('b')),
                            "ready": true, "restartCount": 2, "started": true,
                            "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}}}]
                    }
                },
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "web-0", "namespace": "prod"},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                    "status": {"phase": "Pending", "containerStatuses": [{"name": "web",
                        "image": "nginx:1.27", "imageID": "", "ready": false, "restartCount": 0,
                        "state": {"waiting": {"reason": "ContainerCreating"}}}]}
                },
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "api", "namespace": "prod", "generation": 4},
                    "spec": {
                        "replicas": 0,
                        "selector": {"matchLabels": {"app": "api"}},
                        "strategy": {"type": "RollingUpdate"},
                        "template": {
                            "metadata": {"creationTimestamp": null, "labels": {"app": "api"}},
                            "spec": {"containers": [{"name": "api", "image": format!("{ECR}/api:v3"),
                                "imagePullPolicy": "IfNotPresent"}]}
                        }
                    },
                    "status": {"observedGeneration": 4, "conditions": [{"type": "Available",
                        "status": "True"}]}
                },
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "metadata": {"name": "nightly-report", "namespace": "batch"},
                    "spec": {
                        "schedule": "0 3 * * *",
                        "suspend": false,
                        "jobTemplate": {
                            "metadata": {"creationTimestamp": null},
                            "spec": {"backoffLimit": 2, "template": {
                                "metadata": {"creationTimestamp": null},
                                "spec": {"restartPolicy": "OnFailure", "containers": [
                                    {"name": "report", "image": "report:2024.05"}]}
                            }}
                        }
                    },
                    "status": {"lastScheduleTime": "2024-05-01T03:00:00Z", "active": [
                        {"kind": "Job", "name": "nightly-report-28574820", "namespace": "batch"}]}
                },
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "api", "namespace": "prod"},
                    "spec": {"type": "ClusterIP", "ports": [{"port": 80, "targetPort": 8080}]}
                }
            ]
        })
        .to_string()
    }

    #[test]
    fn a_kubectl_list_names_every_pod_spec_and_every_resolved_digest() {
        let holder = |object: &str| format!("kubernetes list {URI}: {object}");
        let worker = holder("prod/Pod/worker-7d4b9c-x2x9q");
        let (a, b) = (digest('a'), digest('b'));
        assert_eq!(
            parse_list(URI, &kubectl_list()).expect("parses"),
            vec![
                // The pod's spec: containers, then init containers.
                listed(&format!("{ECR}/worker:old"), None, &worker),
                listed(&format!("{ECR}/migrations:v12"), None, &worker),
                // Its status: each container's digest, whatever its tag says now.
                listed(&format!("{ECR}/worker:old"), Some(&b), &worker),
                listed(&format!("{ECR}/migrations:v12"), Some(&a), &worker),
                // A container not pulled yet has no digest.
                listed("nginx:1.27", None, &holder("prod/Pod/web-0")),
                listed("nginx:1.27", None, &holder("prod/Pod/web-0")),
                // A Deployment at 0 replicas still names its image.
                listed(
                    &format!("{ECR}/api:v3"),
                    None,
                    &holder("prod/Deployment/api")
                ),
                // A CronJob between runs too; host-less means this registry.
                listed(
                    "report:2024.05",
                    None,
                    &holder("batch/CronJob/nightly-report")
                ),
            ]
        );
    }

    #[test]
    fn a_plain_list_names_one_reference_per_line() {
        let text = "# images the on-premises cluster runs\n\
                    \n\
                    app:plain\n\
                    \u{20}\u{20}123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v3   # pinned\n\
                    worker@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n";
        let uri = "s3://lists/k8s/plain.txt";
        let uses = parse_list(uri, text).expect("parses");
        assert_eq!(
            uses,
            vec![
                listed("app:plain", None, &format!("list {uri}: line 3")),
                listed(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v3",
                    None,
                    &format!("list {uri}: line 4")
                ),
                listed(
                    &format!("worker@{}", digest('c')),
                    None,
                    &format!("list {uri}: line 5")
                ),
            ]
        );
        assert!(uses.iter().all(|image_use| image_use.bare_is_this_registry));
    }

    #[test]
    fn a_list_that_does_not_parse_is_an_error_naming_the_object_and_the_problem() {
        let unparseable = |text: &str| match parse_list(URI, text) {
            Err(ListError::Unparseable { uri, problem }) => {
                assert_eq!(uri, URI);
                problem
            }
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            unparseable(r#"{"kind": "Pod", "metadata": {"name": "web"}}"#),
            "not a `kubectl get ... -o json` list: missing field `items` at line 1 column 44"
        );
        assert_eq!(
            unparseable(
                r#"{"items": [{"kind": "Pod", "spec": {"containers": {"image": "app:v1"}}}]}"#
            ),
            "not a `kubectl get ... -o json` list: items[0].spec.containers: \
             invalid type: map, expected a sequence at line 1 column 50"
        );
        assert_eq!(
            unparseable("app:v1\napp:v1 app:v2\n"),
            "line 2: `app:v1 app:v2` is not an image reference: `app:v1 app` is not a \
             repository path (lower-case letters and digits separated by '.', '_', '__' or \
             dashes, components separated by '/')"
        );
        assert_eq!(
            parse_list(URI, " \n\n"),
            Err(ListError::Empty { uri: URI.into() })
        );
    }

    #[test]
    fn an_object_older_than_max_age_hours_is_stale() {
        let written = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        assert_eq!(
            check_age(URI, written, 1, written + TimeDelta::minutes(60)),
            Ok(())
        );
        let stale =
            check_age(URI, written, 1, written + TimeDelta::minutes(125)).expect_err("stale");
        assert_eq!(
            stale.to_string(),
            "s3://lists/k8s/prod.json was last modified 2023-11-14T22:13:20Z (2h05m ago), \
             more than maxAgeHours 1: stale data is unknown data"
        );
    }
}

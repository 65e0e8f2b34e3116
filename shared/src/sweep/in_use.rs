//! Images that are running: referenced by running ECS tasks or by Lambda functions of
//! package type Image, in the sweeper's own account and Region.
//!
//! The workloads are read once per run; [`protect_in_use`] then matches their image
//! references against each repository. A reference names an image by digest
//! (`…/repo@sha256:…`, ECS's resolved `imageDigest`, Lambda's `ResolvedImageUri`) or by
//! tag (`…/repo:tag`, `…/repo` = `latest`); tags are resolved to the image they point at
//! now. Every form found protects its image: over-protecting costs a sweep cycle,
//! under-protecting breaks a running service.

use std::collections::HashMap;

use aws_sdk_ecs::types::DesiredStatus;
use aws_sdk_lambda::types::{FunctionVersion, PackageType};
use futures::{StreamExt, TryStreamExt};

use super::error::AwsCallError;
use crate::lifecycle::ImageRecord;

/// Task ARNs per `DescribeTasks` call (AWS limit).
const DESCRIBE_TASKS_LIMIT: usize = 100;
/// `GetFunction` calls in flight at once.
const GET_FUNCTION_CONCURRENCY: usize = 4;

/// One image reference held by a running workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// The image as the workload names it, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1`.
    pub image: String,
    /// The digest the workload resolved `image` to, when known.
    pub digest: Option<String>,
    /// Who uses it, for the protection reason: `ECS task arn:…`, `Lambda function name:1`.
    pub user: String,
}

/// Images of running ECS tasks in every cluster.
pub async fn running_ecs_images(ecs: &aws_sdk_ecs::Client) -> Result<Vec<ImageUse>, AwsCallError> {
    let clusters: Vec<String> = ecs
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| AwsCallError::new("ListClusters", &err))?;
    let mut uses = Vec::new();
    for cluster in &clusters {
        let tasks: Vec<String> = ecs
            .list_tasks()
            .cluster(cluster)
            .desired_status(DesiredStatus::Running)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| AwsCallError::new("ListTasks", &err))?;
        for batch in tasks.chunks(DESCRIBE_TASKS_LIMIT) {
            let output = ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|err| AwsCallError::new("DescribeTasks", &err))?;
            for task in output.tasks() {
                let user = format!("ECS task {}", task.task_arn().unwrap_or("(unknown)"));
                for container in task.containers() {
                    if let Some(image) = container.image() {
                        uses.push(ImageUse {
                            image: image.to_owned(),
                            digest: container.image_digest().map(str::to_owned),
                            user: user.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(uses)
}

/// Images of every version of every Lambda function of package type Image (an alias
/// may point at an older version, which still runs).
pub async fn lambda_images(lambda: &aws_sdk_lambda::Client) -> Result<Vec<ImageUse>, AwsCallError> {
    let functions: Vec<aws_sdk_lambda::types::FunctionConfiguration> = lambda
        .list_functions()
        .function_version(FunctionVersion::All)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| AwsCallError::new("ListFunctions", &err))?;
    let image_functions: Vec<(String, Option<String>)> = functions
        .iter()
        .filter(|function| function.package_type() == Some(&PackageType::Image))
        .filter_map(|function| {
            Some((
                function.function_name()?.to_owned(),
                function.version().map(str::to_owned),
            ))
        })
        .collect();
    let uses: Vec<Vec<ImageUse>> = futures::stream::iter(image_functions)
        .map(|(name, version)| async move {
            let output = lambda
                .get_function()
                .function_name(&name)
                .set_qualifier(version.clone())
                .send()
                .await
                .map_err(|err| AwsCallError::new("GetFunction", &err))?;
            let user = match &version {
                Some(version) => format!("Lambda function {name}:{version}"),
                None => format!("Lambda function {name}"),
            };
            let code = output.code();
            let references = [
                code.and_then(|code| code.image_uri()),
                code.and_then(|code| code.resolved_image_uri()),
            ];
            Ok::<_, AwsCallError>(
                references
                    .into_iter()
                    .flatten()
                    .map(|image| ImageUse {
                        image: image.to_owned(),
                        digest: None,
                        user: user.clone(),
                    })
                    .collect(),
            )
        })
        .buffer_unordered(GET_FUNCTION_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(uses.into_iter().flatten().collect())
}

/// What a reference names inside one repository.
#[derive(Debug, PartialEq, Eq)]
enum Reference<'a> {
    Tag(&'a str),
    Digest(&'a str),
    TagAndDigest(&'a str, &'a str),
}

/// Parses `image` as a reference into the repository at `repository_uri`; `None` when
/// it names another repository.
fn reference<'a>(image: &'a str, repository_uri: &str) -> Option<Reference<'a>> {
    let rest = image.strip_prefix(repository_uri)?;
    let (tag_part, digest) = match rest.split_once('@') {
        Some((tag_part, digest)) => (tag_part, Some(digest)),
        None => (rest, None),
    };
    let tag = match tag_part {
        "" => None,
        _ => Some(tag_part.strip_prefix(':').filter(|tag| !tag.is_empty())?),
    };
    match (tag, digest) {
        (_, Some(digest)) if !digest.starts_with("sha256:") => None,
        (Some(tag), Some(digest)) => Some(Reference::TagAndDigest(tag, digest)),
        (None, Some(digest)) => Some(Reference::Digest(digest)),
        (Some(tag), None) => Some(Reference::Tag(tag)),
        (None, None) => Some(Reference::Tag("latest")),
    }
}

/// Digest → protection reason for the images of one repository that are in use.
pub fn protect_in_use(
    uses: &[ImageUse],
    repository_uri: &str,
    images: &[ImageRecord],
) -> HashMap<String, String> {
    let tagged: HashMap<&str, &str> = images
        .iter()
        .flat_map(|image| {
            image
                .tags
                .iter()
                .map(|tag| (tag.as_str(), image.digest.as_str()))
        })
        .collect();
    let mut protected = HashMap::new();
    for image_use in uses {
        let Some(reference) = reference(&image_use.image, repository_uri) else {
            continue;
        };
        let mut digests: Vec<&str> = match reference {
            Reference::Tag(tag) => tagged.get(tag).copied().into_iter().collect(),
            Reference::Digest(digest) => vec![digest],
            Reference::TagAndDigest(tag, digest) => tagged
                .get(tag)
                .copied()
                .into_iter()
                .chain([digest])
                .collect(),
        };
        digests.extend(image_use.digest.as_deref());
        for digest in digests {
            protected
                .entry(digest.to_owned())
                .or_insert_with(|| format!("in use by {}", image_use.user));
        }
    }
    protected
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api";

    fn image(digest: &str, tags: &[&str]) -> ImageRecord {
        ImageRecord::active(
            digest,
            tags,
            chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
        )
    }

    fn used(image: &str, digest: Option<&str>, user: &str) -> ImageUse {
        ImageUse {
            image: image.into(),
            digest: digest.map(str::to_owned),
            user: user.into(),
        }
    }

    #[test]
    fn parses_every_reference_form() {
        assert_eq!(
            reference(&format!("{URI}:v1"), URI),
            Some(Reference::Tag("v1"))
        );
        assert_eq!(reference(URI, URI), Some(Reference::Tag("latest")));
        assert_eq!(
            reference(&format!("{URI}@sha256:ab"), URI),
            Some(Reference::Digest("sha256:ab"))
        );
        assert_eq!(
            reference(&format!("{URI}:v1@sha256:ab"), URI),
            Some(Reference::TagAndDigest("v1", "sha256:ab"))
        );
        // Another repository whose name starts with this one's, or nonsense.
        assert_eq!(reference(&format!("{URI}-worker:v1"), URI), None);
        assert_eq!(reference(&format!("{URI}/sub:v1"), URI), None);
        assert_eq!(reference(&format!("{URI}:"), URI), None);
        assert_eq!(reference(&format!("{URI}@sha256@sha256:ab"), URI), None);
        assert_eq!(reference("nginx:latest", URI), None);
    }

    #[test]
    fn protects_images_by_tag_digest_and_resolved_digest() {
        let images = [
            image("sha256:a", &["v1"]),
            image("sha256:b", &["latest"]),
            image("sha256:c", &[]),
            image("sha256:d", &[]),
            image("sha256:e", &["v5"]),
        ];
        let uses = [
            used(&format!("{URI}:v1"), None, "ECS task t1"),
            used(URI, None, "ECS task t2"),
            used(&format!("{URI}@sha256:c"), None, "Lambda function f:1"),
            used(&format!("{URI}:gone"), Some("sha256:d"), "ECS task t3"),
            used(&format!("{URI}-other:v5"), Some("sha256:e"), "ECS task t4"),
        ];
        let protected = protect_in_use(&uses, URI, &images);
        let mut found: Vec<(&str, &str)> = protected
            .iter()
            .map(|(digest, reason)| (digest.as_str(), reason.as_str()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("sha256:a", "in use by ECS task t1"),
                ("sha256:b", "in use by ECS task t2"),
                ("sha256:c", "in use by Lambda function f:1"),
                ("sha256:d", "in use by ECS task t3"),
            ]
        );
    }
}

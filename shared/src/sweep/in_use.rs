//! Images that are running: referenced by running ECS tasks or by Lambda functions of
//! package type Image, in the sweeper's own account and Region.
//!
//! The workloads are read once per run; [`protect_in_use`] then matches their image
//! references against each repository. References are parsed (see [`super::reference`])
//! rather than compared as text, because one registry answers to several host names:
//! a task may name `ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com/app:v1`, the dual-stack
//! `ACCOUNT.dkr-ecr.REGION.on.aws/app:v1` or add `:443`, and still run this
//! repository's image. A reference names an image by digest (`…/repo@sha256:…`,
//! Lambda's `ResolvedImageUri`) or by tag (`…/repo:tag`, `…/repo` = `latest`); tags are
//! resolved to the image they point at now. The digest a workload resolved its
//! reference to (ECS's `imageDigest`) protects that image whatever the reference says.
//! Every form found protects its image: over-protecting costs a sweep cycle,
//! under-protecting breaks a running service.

use std::collections::{HashMap, HashSet};

use aws_sdk_ecs::types::DesiredStatus;
use aws_sdk_lambda::types::{FunctionVersion, PackageType};
use futures::{StreamExt, TryStreamExt};

use super::error::AwsCallError;
use super::reference::{EcrRepository, ImageReference};
use crate::lifecycle::ImageRecord;

/// The tag a reference without tag or digest means.
const IMPLICIT_TAG: &str = "latest";
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

/// Digest → protection reason for the images of one repository that are in use.
///
/// A use names the repository at `repository_uri` when its reference is an ECR host of
/// the same account and Region, in any host form, and its path is the repository's
/// name exactly. Its tag protects the image the tag points at now, its digest that
/// image. Independently, the digest the workload resolved (`ImageUse::digest`) protects
/// the image with that digest in this repository, whatever the reference said
/// (another host form, an unparseable text, another registry): the same digest means
/// the same image, and over-protecting is the safe mistake. When `repository_uri`
/// itself cannot be parsed, no reference names the repository and only resolved
/// digests protect.
pub fn protect_in_use(
    uses: &[ImageUse],
    repository_uri: &str,
    images: &[ImageRecord],
) -> HashMap<String, String> {
    let repository = match EcrRepository::from_uri(repository_uri) {
        Ok(repository) => Some(repository),
        Err(err) => {
            tracing::warn!(
                repository_uri,
                error = %err,
                "repository URI not understood: only resolved digests protect its images"
            );
            None
        }
    };
    let present: HashSet<&str> = images.iter().map(|image| image.digest.as_str()).collect();
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
        let named = repository.as_ref().and_then(|repository| {
            ImageReference::parse(&image_use.image)
                .ok()
                .filter(|reference| repository.is_named_by(reference))
        });
        let mut digests: Vec<&str> = Vec::new();
        if let Some(reference) = &named {
            let tag = match (&reference.tag, &reference.digest) {
                (Some(tag), _) => Some(tag.as_str()),
                (None, None) => Some(IMPLICIT_TAG),
                (None, Some(_)) => None,
            };
            digests.extend(tag.and_then(|tag| tagged.get(tag).copied()));
            digests.extend(reference.digest.as_deref());
        }
        digests.extend(image_use.digest.as_deref());
        for digest in digests
            .into_iter()
            .filter(|digest| present.contains(digest))
        {
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

    /// A well-formed digest made of one repeated hex digit.
    fn digest(hex: char) -> String {
        format!("sha256:{}", hex.to_string().repeat(64))
    }

    fn image(hex: char, tags: &[&str]) -> ImageRecord {
        ImageRecord::active(
            &digest(hex),
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

    /// The protected digests, sorted.
    fn protected_digests(
        uses: &[ImageUse],
        repository_uri: &str,
        images: &[ImageRecord],
    ) -> Vec<String> {
        let mut digests: Vec<String> = protect_in_use(uses, repository_uri, images)
            .into_keys()
            .collect();
        digests.sort();
        digests
    }

    #[test]
    fn parses_every_reference_form() {
        let images = [
            image('a', &["v1"]),
            image('b', &["latest"]),
            image('c', &[]),
        ];
        let (a, b, c) = (digest('a'), digest('b'), digest('c'));
        let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
        for (reference, expected) in [
            // This repository, through every host form of its registry.
            (format!("{URI}:v1"), vec![a]),
            (URI.to_owned(), vec![b]),
            (format!("{URI}@{c}"), vec![c]),
            (format!("{URI}:v1@{c}"), vec![a, c]),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/team/api:v1".into(),
                vec![a],
            ),
            (
                "123456789012.dkr-ecr.us-east-1.on.aws/team/api:v1".into(),
                vec![a],
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-1.on.aws/team/api".into(),
                vec![b],
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com:443/team/api:v1".into(),
                vec![a],
            ),
            (
                "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM/team/api:v1".into(),
                vec![a],
            ),
            // Another account, Region, port or registry, another repository whose name
            // starts with this one's, or nonsense.
            (
                "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/api:v1".into(),
                vec![],
            ),
            (
                "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/api:v1".into(),
                vec![],
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com:8443/team/api:v1".into(),
                vec![],
            ),
            ("registry.example.com/team/api:v1".into(), vec![]),
            ("team/api:v1".into(), vec![]),
            (format!("{URI}-worker:v1"), vec![]),
            (format!("{URI}/sub:v1"), vec![]),
            (format!("{URI}:"), vec![]),
            (format!("{URI}@sha256@{c}"), vec![]),
            ("nginx:latest".into(), vec![]),
        ] {
            let uses = [used(&reference, None, "ECS task t1")];
            assert_eq!(
                protected_digests(&uses, URI, &images),
                expected,
                "{reference}"
            );
        }
    }

    #[test]
    fn matches_china_partition_hosts() {
        let uri = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/api";
        let images = [image('a', &["v1"])];
        for (reference, expected) in [
            (format!("{uri}:v1"), vec![digest('a')]),
            (
                "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn/team/api:v1".into(),
                vec![digest('a')],
            ),
            (
                "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn/team/api:v1".into(),
                vec![],
            ),
            (format!("{URI}:v1"), vec![]),
        ] {
            let uses = [used(&reference, None, "ECS task t1")];
            assert_eq!(
                protected_digests(&uses, uri, &images),
                expected,
                "{reference}"
            );
        }
    }

    #[test]
    fn protects_images_by_tag_digest_and_resolved_digest() {
        let images = [
            image('a', &["v1"]),
            image('b', &["latest"]),
            image('c', &[]),
            image('d', &[]),
            image('e', &["v5"]),
            image('f', &[]),
            image('0', &[]),
            image('8', &["v8"]),
        ];
        let (c, d, e, f, zero) = (
            digest('c'),
            digest('d'),
            digest('e'),
            digest('f'),
            digest('0'),
        );
        let elsewhere = digest('9');
        let uses = [
            used(&format!("{URI}:v1"), None, "ECS task t1"),
            used(URI, None, "ECS task t2"),
            used(&format!("{URI}@{c}"), None, "Lambda function f:1"),
            // The tag moved on; the digest the task resolved still runs.
            used(&format!("{URI}:gone"), Some(&d), "ECS task t3"),
            // Resolved digests protect whatever the reference said: another
            // repository's name, another registry, an unparseable text.
            used(&format!("{URI}-other:v5"), Some(&e), "ECS task t4"),
            used("public.ecr.aws/team/api:v1", Some(&f), "ECS task t5"),
            used("not a reference", Some(&zero), "ECS task t6"),
            // A digest of an image that is not in this repository protects nothing here.
            used(&format!("{URI}:v1"), Some(&elsewhere), "ECS task t7"),
            // Another account's repository of the same name is not this one.
            used(
                "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/api:v8",
                None,
                "ECS task t8",
            ),
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
                (zero.as_str(), "in use by ECS task t6"),
                (digest('a').as_str(), "in use by ECS task t1"),
                (digest('b').as_str(), "in use by ECS task t2"),
                (c.as_str(), "in use by Lambda function f:1"),
                (d.as_str(), "in use by ECS task t3"),
                (e.as_str(), "in use by ECS task t4"),
                (f.as_str(), "in use by ECS task t5"),
            ]
        );
    }

    #[test]
    fn an_unparseable_repository_uri_honours_only_resolved_digests() {
        let images = [image('a', &["v1"]), image('b', &[])];
        let uses = [
            used(&format!("{URI}:v1"), None, "ECS task t1"),
            used(&format!("{URI}:v2"), Some(&digest('b')), "ECS task t2"),
        ];
        for uri in ["", "not a uri", "registry.example.com/team/api", "team/api"] {
            assert_eq!(
                protected_digests(&uses, uri, &images),
                vec![digest('b')],
                "{uri}"
            );
        }
    }
}

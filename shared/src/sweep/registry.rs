//! Reading a registry: repositories, every image of a repository (active, archived
//! and activating), and a repository's native lifecycle policy.

use std::collections::HashMap;

use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
use aws_sdk_ecr::types::{
    DescribeImagesFilter, ImageDetail, ImageIdentifier, ImageStatus as EcrImageStatus,
    ImageStatusFilter,
};
use chrono::{DateTime, Utc};

use super::error::AwsCallError;
use crate::lifecycle::{ImageRecord, ImageStatus};

/// Largest page `DescribeImages` and `DescribeRepositories` return.
pub const PAGE_SIZE: i32 = 1000;

/// A repository to sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub name: String,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`: how running workloads refer to it.
    pub uri: String,
    pub arn: String,
}

fn repository(repo: &aws_sdk_ecr::types::Repository) -> Option<Repository> {
    Some(Repository {
        name: repo.repository_name()?.to_owned(),
        uri: repo.repository_uri()?.to_owned(),
        arn: repo.repository_arn()?.to_owned(),
    })
}

/// Every repository of the registry, in pages of 1000.
pub async fn list_repositories(ecr: &aws_sdk_ecr::Client) -> Result<Vec<Repository>, AwsCallError> {
    let mut pages = ecr
        .describe_repositories()
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    let mut repositories = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| AwsCallError::new("DescribeRepositories", &err))?;
        repositories.extend(page.repositories().iter().filter_map(repository));
    }
    Ok(repositories)
}

/// One repository by name; `None` when it does not exist (any more).
pub async fn find_repository(
    ecr: &aws_sdk_ecr::Client,
    name: &str,
) -> Result<Option<Repository>, AwsCallError> {
    match ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(output) => Ok(output.repositories().iter().find_map(repository)),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|service| service.is_repository_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(AwsCallError::new("DescribeRepositories", &err)),
    }
}

/// Why a repository's images could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageListError {
    #[error(transparent)]
    Call(#[from] AwsCallError),
    /// The pages listed one digest twice with different details: which one is true is
    /// unknown, so nothing in the repository is acted on.
    #[error("DescribeImages listed image {digest} twice with different details; the repository is not acted on")]
    Conflicting { digest: String },
}

/// Every image of a repository whatever its storage class, in pages of 1000 converted
/// as they arrive so that the SDK's larger structures never pile up.
pub async fn describe_images(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
) -> Result<Vec<ImageRecord>, ImageListError> {
    let mut pages = describe_images_request(ecr, repository)
        .into_paginator()
        .send();
    let mut images = UniqueImages::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| AwsCallError::new("DescribeImages", &err))?;
        images.extend(image_records(page.image_details.unwrap_or_default()))?;
    }
    Ok(images.into_vec())
}

/// Images gathered across pages, each digest once. A page sequence may repeat an
/// entry (a listing that shifts while it is paged): counting it twice would make
/// `imageCountMoreThan` expire one image too many.
#[derive(Debug, Default)]
pub struct UniqueImages {
    images: Vec<ImageRecord>,
    positions: HashMap<String, usize>,
}

impl UniqueImages {
    /// Adds `records`; a repeated digest is dropped when it is the same image, and an
    /// error when its details differ.
    pub fn extend(
        &mut self,
        records: impl IntoIterator<Item = ImageRecord>,
    ) -> Result<(), ImageListError> {
        for mut record in records {
            record.tags.sort_unstable();
            match self.positions.get(&record.digest) {
                Some(&position) if self.images[position] == record => {}
                Some(_) => {
                    return Err(ImageListError::Conflicting {
                        digest: record.digest,
                    })
                }
                None => {
                    self.positions
                        .insert(record.digest.clone(), self.images.len());
                    self.images.push(record);
                }
            }
        }
        Ok(())
    }

    pub fn into_vec(self) -> Vec<ImageRecord> {
        self.images
    }
}

/// The images `digests` name, as `DescribeImages` shows them now (any storage class),
/// by digest; an image that is not in the repository is absent from the map.
/// ECR fails the whole call with `ImageNotFoundException` when one id is missing, so
/// such a call is repeated image by image (rare: only when something else deleted an
/// image meanwhile). At most 100 digests per call.
pub async fn describe_image_ids(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    digests: &[&str],
) -> Result<HashMap<String, ImageRecord>, AwsCallError> {
    match describe_ids(ecr, repository, digests).await? {
        Some(found) => Ok(found),
        None => {
            let mut found = HashMap::with_capacity(digests.len());
            for digest in digests {
                found.extend(
                    describe_ids(ecr, repository, &[digest])
                        .await?
                        .unwrap_or_default(),
                );
            }
            Ok(found)
        }
    }
}

/// One `DescribeImages` call by id; `None` when ECR answers that an image is not found.
async fn describe_ids(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    digests: &[&str],
) -> Result<Option<HashMap<String, ImageRecord>>, AwsCallError> {
    let ids = digests
        .iter()
        .map(|digest| ImageIdentifier::builder().image_digest(*digest).build())
        .collect();
    let result = ecr
        .describe_images()
        .repository_name(repository)
        .set_image_ids(Some(ids))
        .filter(
            DescribeImagesFilter::builder()
                .image_status(ImageStatusFilter::Any)
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(output) => Ok(Some(
            image_records(output.image_details.unwrap_or_default())
                .map(|record| (record.digest.clone(), record))
                .collect(),
        )),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(DescribeImagesError::ImageNotFoundException(_))
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(AwsCallError::new("DescribeImages", &err)),
    }
}

/// The first `DescribeImages` request of a repository: pages of 1000, every status
/// (without the filter, ECR lists only ACTIVE images and archived ones would go unseen).
fn describe_images_request(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
) -> aws_sdk_ecr::operation::describe_images::builders::DescribeImagesFluentBuilder {
    ecr.describe_images()
        .repository_name(repository)
        .max_results(PAGE_SIZE)
        .filter(
            DescribeImagesFilter::builder()
                .image_status(ImageStatusFilter::Any)
                .build(),
        )
}

/// Converts a page of `imageDetails`. Entries without a digest or a push time cannot
/// be identified or ordered; ECR always sends both, so they are skipped, not guessed.
pub fn image_records(details: Vec<ImageDetail>) -> impl Iterator<Item = ImageRecord> {
    details.into_iter().filter_map(image_record)
}

fn image_record(detail: ImageDetail) -> Option<ImageRecord> {
    Some(ImageRecord {
        digest: detail.image_digest?,
        tags: detail.image_tags.unwrap_or_default(),
        pushed_at: timestamp(detail.image_pushed_at.as_ref())?,
        last_pulled_at: timestamp(detail.last_recorded_pull_time.as_ref()),
        status: match detail.image_status {
            Some(EcrImageStatus::Archived) => ImageStatus::Archived,
            Some(EcrImageStatus::Activating) => ImageStatus::Activating,
            _ => ImageStatus::Active,
        },
        archived_at: timestamp(detail.last_archived_at.as_ref()),
        activated_at: timestamp(detail.last_activated_at.as_ref()),
        manifest_media_type: detail.image_manifest_media_type,
        artifact_media_type: detail.artifact_media_type,
        subject_digest: detail.subject_manifest_digest,
        size_bytes: detail.image_size_in_bytes,
    })
}

fn timestamp(time: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let time = time?;
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// The repository's own lifecycle policy text; `None` when it has none.
pub async fn native_policy(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
) -> Result<Option<String>, AwsCallError> {
    match ecr
        .get_lifecycle_policy()
        .repository_name(repository)
        .send()
        .await
    {
        Ok(output) => Ok(output.lifecycle_policy_text().map(str::to_owned)),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|service| service.is_lifecycle_policy_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(AwsCallError::new("GetLifecyclePolicy", &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_read_in_pages_of_one_thousand_whatever_their_status() {
        let config = aws_sdk_ecr::Config::builder()
            .behavior_version(aws_sdk_ecr::config::BehaviorVersion::latest())
            .region(aws_sdk_ecr::config::Region::new("us-east-1"))
            .build();
        let ecr = aws_sdk_ecr::Client::from_conf(config);
        let request = describe_images_request(&ecr, "team/api");
        let input = request.as_input();
        assert_eq!(input.get_repository_name().as_deref(), Some("team/api"));
        assert_eq!(*input.get_max_results(), Some(1000));
        assert_eq!(
            input
                .get_filter()
                .as_ref()
                .and_then(|filter| filter.image_status()),
            Some(&ImageStatusFilter::Any)
        );
    }

    fn detail() -> aws_sdk_ecr::types::builders::ImageDetailBuilder {
        ImageDetail::builder()
            .image_digest("sha256:aa")
            .image_pushed_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
    }

    #[test]
    fn converts_every_field_the_engine_reads() {
        let full = detail()
            .image_tags("v1")
            .image_tags("latest")
            .image_size_in_bytes(42)
            .image_manifest_media_type("application/vnd.oci.image.index.v1+json")
            .artifact_media_type("application/vnd.example")
            .subject_manifest_digest("sha256:bb")
            .last_recorded_pull_time(aws_smithy_types::DateTime::from_secs(1_700_000_100))
            .image_status(EcrImageStatus::Archived)
            .last_archived_at(aws_smithy_types::DateTime::from_secs(1_700_000_200))
            .last_activated_at(aws_smithy_types::DateTime::from_fractional_secs(
                1_700_000_300,
                0.5,
            ))
            .build();
        let records: Vec<ImageRecord> = image_records(vec![full]).collect();
        let at = |secs| DateTime::from_timestamp(secs, 0).expect("time");
        assert_eq!(
            records,
            vec![ImageRecord {
                digest: "sha256:aa".into(),
                tags: vec!["v1".into(), "latest".into()],
                pushed_at: at(1_700_000_000),
                last_pulled_at: Some(at(1_700_000_100)),
                status: ImageStatus::Archived,
                archived_at: Some(at(1_700_000_200)),
                activated_at: DateTime::from_timestamp(1_700_000_300, 500_000_000),
                manifest_media_type: Some("application/vnd.oci.image.index.v1+json".into()),
                artifact_media_type: Some("application/vnd.example".into()),
                subject_digest: Some("sha256:bb".into()),
                size_bytes: Some(42),
            }]
        );
    }

    #[test]
    fn a_repeated_entry_counts_once_and_a_conflicting_one_stops_the_listing() {
        let at = |secs| DateTime::from_timestamp(secs, 0).expect("time");
        let image = |digest: &str, tags: &[&str]| ImageRecord {
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            ..image_records(vec![detail().image_digest(digest).build()])
                .next()
                .expect("record")
        };
        let mut unique = UniqueImages::default();
        unique
            .extend([image("sha256:a", &["v1", "latest"]), image("sha256:b", &[])])
            .expect("first page");
        // The same image again, its tags in another order, on the next page.
        unique
            .extend([image("sha256:c", &[]), image("sha256:a", &["latest", "v1"])])
            .expect("second page");
        let digests: Vec<String> = unique
            .into_vec()
            .into_iter()
            .map(|image| image.digest)
            .collect();
        assert_eq!(digests, ["sha256:a", "sha256:b", "sha256:c"]);

        let mut conflicting = UniqueImages::default();
        conflicting
            .extend([image("sha256:a", &["v1"])])
            .expect("first page");
        let mut moved = image("sha256:a", &["v1"]);
        moved.pushed_at = at(5);
        assert_eq!(
            conflicting.extend([moved]),
            Err(ImageListError::Conflicting {
                digest: "sha256:a".into()
            })
        );
    }

    #[test]
    fn absent_status_is_active_and_unidentifiable_entries_are_skipped() {
        let details = vec![
            detail().build(),
            ImageDetail::builder()
                .image_pushed_at(aws_smithy_types::DateTime::from_secs(1))
                .build(),
            ImageDetail::builder().image_digest("sha256:cc").build(),
            detail().image_status(EcrImageStatus::Activating).build(),
        ];
        let statuses: Vec<ImageStatus> =
            image_records(details).map(|record| record.status).collect();
        assert_eq!(statuses, vec![ImageStatus::Active, ImageStatus::Activating]);
    }
}

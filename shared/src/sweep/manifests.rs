//! Which images each image index (multi-arch manifest list / OCI index) references.
//!
//! `DescribeImages` does not say, so the index manifests themselves are read with
//! `BatchGetImage` — only for index media types, never for ordinary images. AWS
//! documents that `BatchGetImage` may count as a pull; an index's recorded pull time can
//! therefore move when it is swept, which only delays `sinceImagePulled` transitions of
//! indexes (never of the images that run).
//!
//! An index whose manifest cannot be read keeps what it lists, and what it lists is
//! unknown: archived (and restoring) indexes cannot be pulled, so their manifests are
//! not asked for; an active one that `BatchGetImage` cannot return (`ImageNotFound`
//! while `DescribeImages` still lists it, or any other per-image failure, or a manifest
//! that is not an index) is unreadable too. Only an index that `DescribeImages` no
//! longer lists is gone. The sweep then protects every image that could be such an
//! index's child (see [`super::protection`]).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ecr::types::{ImageFailureCode, ImageIdentifier};
use serde::Deserialize;

use super::error::AwsCallError;
use super::registry::describe_image_ids;
use crate::lifecycle::{ImageRecord, ImageStatus};

/// Image ids per `BatchGetImage` call (AWS limit).
pub const BATCH_GET_LIMIT: usize = 100;

/// Media types of image indexes, accepted when reading them back.
pub const INDEX_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

#[derive(Deserialize)]
struct IndexManifest {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    digest: String,
}

/// The child digests an index manifest (Docker manifest list or OCI index) lists.
pub fn index_children(manifest: &str) -> Result<Vec<String>, serde_json::Error> {
    let index: IndexManifest = serde_json::from_str(manifest)?;
    Ok(index
        .manifests
        .into_iter()
        .map(|entry| entry.digest)
        .collect())
}

/// What the sweep knows of a repository's image indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexChildren {
    /// Index digest → the children its manifest lists.
    pub children: HashMap<String, Vec<String>>,
    /// Index digest → why its manifest could not be read (its children are unknown).
    pub unreadable: BTreeMap<String, String>,
}

/// Reads every active index among `images` (≤ 100 per call) and maps its digest to its
/// children; indexes that cannot be read are listed as unreadable, with the reason.
pub async fn read_index_children(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    images: &[ImageRecord],
) -> Result<IndexChildren, AwsCallError> {
    let mut known = IndexChildren::default();
    let mut active = Vec::new();
    for image in images.iter().filter(|image| image.is_index()) {
        let why = match image.status {
            ImageStatus::Active => {
                active.push(image.digest.as_str());
                continue;
            }
            ImageStatus::Archived => "it is archived, and archived images cannot be pulled",
            ImageStatus::Activating => "it is being restored from archive and cannot be pulled yet",
        };
        known
            .unreadable
            .insert(image.digest.clone(), why.to_owned());
    }
    let mut not_found = Vec::new();
    for batch in active.chunks(BATCH_GET_LIMIT) {
        let ids = batch
            .iter()
            .map(|digest| ImageIdentifier::builder().image_digest(*digest).build())
            .collect();
        let output = ecr
            .batch_get_image()
            .repository_name(repository)
            .set_image_ids(Some(ids))
            .set_accepted_media_types(Some(INDEX_MEDIA_TYPES.map(str::to_owned).to_vec()))
            .send()
            .await
            .map_err(|err| AwsCallError::new("BatchGetImage", &err))?;
        for failure in output.failures() {
            let Some(digest) = failure.image_id().and_then(ImageIdentifier::image_digest) else {
                continue;
            };
            if failure.failure_code() == Some(&ImageFailureCode::ImageNotFound) {
                not_found.push(digest.to_owned());
                continue;
            }
            known.unreadable.insert(
                digest.to_owned(),
                format!(
                    "BatchGetImage failed: {}: {}",
                    failure
                        .failure_code()
                        .map(|code| code.as_str())
                        .unwrap_or("(no code)"),
                    failure.failure_reason().unwrap_or_default()
                ),
            );
        }
        for image in output.images() {
            let Some(digest) = image.image_id().and_then(ImageIdentifier::image_digest) else {
                continue;
            };
            match index_children(image.image_manifest().unwrap_or_default()) {
                Ok(listed) => {
                    known.children.insert(digest.to_owned(), listed);
                }
                Err(err) => {
                    known.unreadable.insert(
                        digest.to_owned(),
                        format!("its manifest is not an image index: {err}"),
                    );
                }
            }
        }
    }
    // Not found by BatchGetImage: gone only if DescribeImages no longer lists it.
    for batch in not_found.chunks(BATCH_GET_LIMIT) {
        let digests: Vec<&str> = batch.iter().map(String::as_str).collect();
        let listed = describe_image_ids(ecr, repository, &digests).await?;
        for digest in batch.iter().filter(|digest| listed.contains_key(*digest)) {
            known.unreadable.insert(
                digest.clone(),
                "BatchGetImage answered ImageNotFound while DescribeImages still lists it"
                    .to_owned(),
            );
        }
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_children_of_docker_and_oci_indexes() {
        let docker = r#"{"schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [
              {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 7, "digest": "sha256:a1",
               "platform": {"architecture": "amd64", "os": "linux"}},
              {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 7, "digest": "sha256:a2",
               "platform": {"architecture": "arm64", "os": "linux"}}]}"#;
        assert_eq!(
            index_children(docker).expect("index"),
            vec!["sha256:a1", "sha256:a2"]
        );
        let oci = r#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": "sha256:b1"}],
            "annotations": {"x": "y"}}"#;
        assert_eq!(index_children(oci).expect("index"), vec!["sha256:b1"]);
        assert_eq!(
            index_children(r#"{"schemaVersion": 2}"#).expect("empty"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn rejects_what_is_not_an_index() {
        assert!(index_children("not json").is_err());
        assert!(index_children(r#"{"manifests": [{"size": 1}]}"#).is_err());
    }
}

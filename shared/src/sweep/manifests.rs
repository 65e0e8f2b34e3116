//! Which images each image index (multi-arch manifest list / OCI index) references.
//!
//! `DescribeImages` does not say, so the index manifests themselves are read with
//! `BatchGetImage` — only for index media types, never for ordinary images. AWS
//! documents that `BatchGetImage` may count as a pull; an index's recorded pull time can
//! therefore move when it is swept, which only delays `sinceImagePulled` transitions of
//! indexes (never of the images that run).

use std::collections::HashMap;

use aws_sdk_ecr::types::{ImageFailureCode, ImageIdentifier};
use serde::Deserialize;

use super::error::AwsCallError;
use crate::lifecycle::ImageRecord;

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

/// Why the children of an index could not be learned. Without them the sweep could
/// delete an image an index still needs, so the repository is not acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexReadError {
    #[error(transparent)]
    Call(#[from] AwsCallError),
    #[error("cannot read image index {digest}: {reason}")]
    Unreadable { digest: String, reason: String },
}

/// Reads every index among `images` (≤ 100 per call) and maps its digest to its
/// children. An index deleted meanwhile (`ImageNotFound`) has no children to protect.
pub async fn read_index_children(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    images: &[ImageRecord],
) -> Result<HashMap<String, Vec<String>>, IndexReadError> {
    let indexes: Vec<&str> = images
        .iter()
        .filter(|image| image.is_index())
        .map(|image| image.digest.as_str())
        .collect();
    let mut children = HashMap::with_capacity(indexes.len());
    for batch in indexes.chunks(BATCH_GET_LIMIT) {
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
            if failure.failure_code() == Some(&ImageFailureCode::ImageNotFound) {
                continue;
            }
            let digest = failure
                .image_id()
                .and_then(ImageIdentifier::image_digest)
                .unwrap_or("(unknown)");
            return Err(IndexReadError::Unreadable {
                digest: digest.to_owned(),
                reason: format!(
                    "{}: {}",
                    failure
                        .failure_code()
                        .map(|code| code.as_str())
                        .unwrap_or("(no code)"),
                    failure.failure_reason().unwrap_or_default()
                ),
            });
        }
        for image in output.images() {
            let Some(digest) = image.image_id().and_then(ImageIdentifier::image_digest) else {
                continue;
            };
            let manifest = image.image_manifest().unwrap_or_default();
            let listed = index_children(manifest).map_err(|err| IndexReadError::Unreadable {
                digest: digest.to_owned(),
                reason: format!("manifest is not an image index: {err}"),
            })?;
            children.insert(digest.to_owned(), listed);
        }
    }
    Ok(children)
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

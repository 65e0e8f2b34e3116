//! One image of a repository, as `DescribeImages` describes it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Media types of manifests that reference other manifests (multi-arch images).
const INDEX_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// Where an image's layers live (`imageStatus`; absent means `ACTIVE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ImageStatus {
    #[default]
    Active,
    Archived,
    /// Being restored from archive: neither storage class's rules see it.
    Activating,
}

/// One entry of `DescribeImages`' `imageDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRecord {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: DateTime<Utc>,
    /// `lastRecordedPullTime`.
    pub last_pulled_at: Option<DateTime<Utc>>,
    pub status: ImageStatus,
    /// `lastArchivedAt`.
    pub archived_at: Option<DateTime<Utc>>,
    /// `lastActivatedAt`: when the image was last restored from archive.
    pub activated_at: Option<DateTime<Utc>>,
    pub manifest_media_type: Option<String>,
    pub artifact_media_type: Option<String>,
    /// `subjectManifestDigest`: set on referrers (signatures, SBOMs, attestations).
    pub subject_digest: Option<String>,
    pub size_bytes: Option<i64>,
}

impl ImageRecord {
    /// Whether the manifest is a manifest list / OCI image index.
    pub fn is_index(&self) -> bool {
        self.manifest_media_type
            .as_deref()
            .is_some_and(|media_type| INDEX_MEDIA_TYPES.contains(&media_type))
    }
}

#[cfg(test)]
impl ImageRecord {
    /// An active, single-manifest image with only the fields rules look at most:
    /// the builder the engine's and the sweeper's unit tests share.
    pub(crate) fn active(digest: &str, tags: &[&str], pushed_at: DateTime<Utc>) -> ImageRecord {
        ImageRecord {
            digest: digest.to_owned(),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            pushed_at,
            last_pulled_at: None,
            status: ImageStatus::Active,
            archived_at: None,
            activated_at: None,
            manifest_media_type: None,
            artifact_media_type: None,
            subject_digest: None,
            size_bytes: None,
        }
    }
}

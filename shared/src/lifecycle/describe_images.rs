//! Reading `aws ecr describe-images --output json` exports.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::image::{ImageRecord, ImageStatus};
use crate::config::{display_json_path, json_error_message};

/// A problem with an export, naming the field (`imageDetails[3].imagePushedAt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ImagesError {
    pub field: String,
    pub message: String,
}

/// The export as the AWS CLI prints it; other fields (`nextToken`, scan results, ...)
/// are ignored, since AWS adds fields over time.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Export {
    image_details: Vec<ExportedImage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportedImage {
    image_digest: String,
    #[serde(default)]
    image_tags: Vec<String>,
    #[serde(deserialize_with = "timestamp")]
    image_pushed_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "optional_timestamp")]
    last_recorded_pull_time: Option<DateTime<Utc>>,
    #[serde(default)]
    image_status: Option<ImageStatus>,
    #[serde(default, deserialize_with = "optional_timestamp")]
    last_archived_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_timestamp")]
    last_activated_at: Option<DateTime<Utc>>,
    image_manifest_media_type: Option<String>,
    artifact_media_type: Option<String>,
    subject_manifest_digest: Option<String>,
    image_size_in_bytes: Option<i64>,
}

/// Parses a `DescribeImages` export (`{"imageDetails": [...]}`). Timestamps may be
/// ISO-8601 strings or epoch seconds, as the AWS CLI prints them.
pub fn parse_describe_images(text: &str) -> Result<Vec<ImageRecord>, ImagesError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let export: Export = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // Where the input ended early, the path names the value left open.
        let path = display_json_path("", error.path());
        let inner = error.inner();
        ImagesError {
            field: if path.is_empty() {
                "document".to_owned()
            } else {
                path
            },
            message: format!(
                "{} at line {} column {}",
                json_error_message(inner),
                inner.line(),
                inner.column()
            ),
        }
    })?;
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (position, image) in export.image_details.iter().enumerate() {
        if let Some(first) = first_seen.insert(&image.image_digest, position) {
            return Err(ImagesError {
                field: format!("imageDetails[{position}].imageDigest"),
                message: format!(
                    "{} is listed twice (also at imageDetails[{first}])",
                    image.image_digest
                ),
            });
        }
    }
    Ok(export
        .image_details
        .into_iter()
        .map(ImageRecord::from)
        .collect())
}

impl From<ExportedImage> for ImageRecord {
    fn from(image: ExportedImage) -> Self {
        ImageRecord {
            digest: image.image_digest,
            tags: image.image_tags,
            pushed_at: image.image_pushed_at,
            last_pulled_at: image.last_recorded_pull_time,
            status: image.image_status.unwrap_or_default(),
            archived_at: image.last_archived_at,
            activated_at: image.last_activated_at,
            manifest_media_type: image.image_manifest_media_type,
            artifact_media_type: image.artifact_media_type,
            subject_digest: image.subject_manifest_digest,
            size_bytes: image.image_size_in_bytes,
        }
    }
}

fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_any(TimestampVisitor)
}

fn optional_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_option(OptionalTimestampVisitor)
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ISO-8601 timestamp or epoch seconds")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| {
                E::custom(format!(
                    "invalid timestamp {text:?}: expected ISO-8601 such as \"2026-01-31T12:00:00+00:00\" or epoch seconds"
                ))
            })
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Self::Value, E> {
        DateTime::from_timestamp(seconds, 0)
            .ok_or_else(|| E::custom(format!("epoch seconds {seconds} out of range")))
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Self::Value, E> {
        let seconds = i64::try_from(seconds)
            .map_err(|_| E::custom(format!("epoch seconds {seconds} out of range")))?;
        self.visit_i64(seconds)
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Self::Value, E> {
        let out_of_range = || E::custom(format!("epoch seconds {seconds} out of range"));
        if !seconds.is_finite() || seconds.abs() > 1e15 {
            return Err(out_of_range());
        }
        let whole = seconds.floor();
        // Rounded to the microsecond: the CLI prints at most six decimals.
        let micros = ((seconds - whole) * 1e6).round() as i64;
        DateTime::from_timestamp(whole as i64, 0)
            .and_then(|at| at.checked_add_signed(chrono::TimeDelta::microseconds(micros)))
            .ok_or_else(out_of_range)
    }
}

struct OptionalTimestampVisitor;

impl<'de> Visitor<'de> for OptionalTimestampVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ISO-8601 timestamp, epoch seconds or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        timestamp(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid test timestamp")
            .with_timezone(&Utc)
    }

    #[test]
    fn reads_every_field_of_an_aws_cli_export() {
        let text = r#"{"imageDetails": [{
            "registryId": "123456789012",
            "repositoryName": "team-a/api",
            "imageDigest": "sha256:aa",
            "imageTags": ["v1", "latest"],
            "imageSizeInBytes": 52428800,
            "imagePushedAt": "2026-05-04T16:40:12.123000+02:00",
            "lastRecordedPullTime": 1782900000.5,
            "imageManifestMediaType": "application/vnd.oci.image.index.v1+json",
            "artifactMediaType": "application/vnd.dev.cosign.artifact.sig.v1+json",
            "subjectManifestDigest": "sha256:bb",
            "imageStatus": "ARCHIVED",
            "lastArchivedAt": 1782900000,
            "lastActivatedAt": null,
            "imageScanStatus": {"status": "COMPLETE"}
        }], "nextToken": "abc"}"#;
        let images = parse_describe_images(text).expect("valid export");
        assert_eq!(
            images,
            vec![ImageRecord {
                digest: "sha256:aa".into(),
                tags: vec!["v1".into(), "latest".into()],
                pushed_at: at("2026-05-04T14:40:12.123Z"),
                last_pulled_at: Some(at("2026-07-01T10:00:00.5Z")),
                status: ImageStatus::Archived,
                archived_at: Some(Utc.timestamp_opt(1_782_900_000, 0).single().expect("valid")),
                activated_at: None,
                manifest_media_type: Some("application/vnd.oci.image.index.v1+json".into()),
                artifact_media_type: Some("application/vnd.dev.cosign.artifact.sig.v1+json".into()),
                subject_digest: Some("sha256:bb".into()),
                size_bytes: Some(52_428_800),
            }]
        );
        assert!(images[0].is_index());
    }

    #[test]
    fn absent_optional_fields_mean_an_active_untagged_image() {
        let images = parse_describe_images(
            r#"{"imageDetails": [{"imageDigest": "sha256:aa", "imagePushedAt": 0}]}"#,
        )
        .expect("valid export");
        assert_eq!(images[0].status, ImageStatus::Active);
        assert!(images[0].tags.is_empty());
        assert_eq!(images[0].last_pulled_at, None);
        assert!(!images[0].is_index());
    }

    #[test]
    fn errors_name_the_image_and_the_field() {
        let error = parse_describe_images(
            r#"{"imageDetails": [{"imageDigest": "sha256:aa", "imagePushedAt": 0}, {"imageDigest": "sha256:bb", "imagePushedAt": "yesterday"}]}"#,
        )
        .expect_err("bad timestamp");
        assert_eq!(error.field, "imageDetails[1].imagePushedAt");
        assert!(error
            .message
            .starts_with("invalid timestamp \"yesterday\": expected ISO-8601"));

        let error = parse_describe_images(r#"{"imageDetails": [{"imageDigest": "sha256:aa"}]}"#)
            .expect_err("missing push time");
        assert_eq!(error.field, "imageDetails[0]");
        assert!(error.message.starts_with("missing field `imagePushedAt`"));

        let error = parse_describe_images(
            r#"{"imageDetails": [{"imageDigest": "sha256:aa", "imagePushedAt": 0, "imageStatus": "FROZEN"}]}"#,
        )
        .expect_err("unknown status");
        assert_eq!(error.field, "imageDetails[0].imageStatus");

        let error = parse_describe_images("[]").expect_err("not an export");
        assert_eq!(error.field, "document");
    }

    #[test]
    fn an_export_cut_short_names_the_value_left_open_and_says_where_it_ended() {
        let error = parse_describe_images(r#"{"imageDetails": [{"imageDigest": "sha256:aa""#)
            .expect_err("truncated");
        assert_eq!(
            error.to_string(),
            "imageDetails[0]: unexpected end of file at line 1 column 45"
        );
        let error = parse_describe_images("").expect_err("empty");
        assert_eq!(
            error.to_string(),
            "document: unexpected end of file at line 1 column 0"
        );
    }

    #[test]
    fn a_digest_listed_twice_is_an_error() {
        let error = parse_describe_images(
            r#"{"imageDetails": [{"imageDigest": "sha256:aa", "imagePushedAt": 0}, {"imageDigest": "sha256:aa", "imagePushedAt": 1}]}"#,
        )
        .expect_err("duplicate");
        assert_eq!(
            error.to_string(),
            "imageDetails[1].imageDigest: sha256:aa is listed twice (also at imageDetails[0])"
        );
    }
}

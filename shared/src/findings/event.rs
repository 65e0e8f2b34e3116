//! Incoming EventBridge events, told apart by source and detail-type.
//!
//! The envelope is read leniently (its `time` with [`super::timestamp`]) so a
//! malformed timestamp never costs a finding; the detail is then read per kind.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::inspector::InspectorFindingDetail;
use super::timestamp;

/// The EventBridge envelope shared by every event.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub time: Option<Value>,
    #[serde(default)]
    pub detail: Value,
}

impl Envelope {
    /// The event's `time`, or `now` when it is missing or unreadable.
    pub fn time_or(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.time
            .as_ref()
            .and_then(timestamp::parse_value)
            .unwrap_or(now)
    }
}

/// Where the event came from, for findings built from it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventOrigin {
    pub account: String,
    pub region: String,
    /// The event's `time`: the fallback for every unreadable timestamp in it.
    pub time: DateTime<Utc>,
}

/// ECR's `ECR Image Scan` detail (basic scanning). Every field is optional here, so
/// that [`super::basic::scanned_image`] names the one actually missing; the severity
/// counts are not read at all, since the findings themselves are fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BasicScanDetail {
    #[serde(rename = "scan-status", default)]
    pub scan_status: Option<String>,
    #[serde(rename = "repository-name", default)]
    pub repository_name: Option<String>,
    #[serde(rename = "image-digest", default)]
    pub image_digest: Option<String>,
    /// Present, and empty for an untagged image.
    #[serde(rename = "image-tags", default)]
    pub image_tags: Option<Vec<String>>,
}

/// Inspector's per-image scan summary. Its `repository-name` is the repository ARN.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorScanSummary {
    #[serde(rename = "scan-status", default)]
    pub scan_status: Option<String>,
    #[serde(rename = "repository-name", default)]
    pub repository_arn: Option<String>,
    #[serde(rename = "image-digest", default)]
    pub image_digest: Option<String>,
    #[serde(rename = "image-tags", default)]
    pub image_tags: Vec<String>,
    #[serde(rename = "finding-severity-counts", default)]
    pub finding_severity_counts: BTreeMap<String, i64>,
}

impl InspectorScanSummary {
    /// The repository name from the ARN (`arn:aws:ecr:REGION:ACCOUNT:repository/NAME`).
    pub fn repository_name(&self) -> Option<&str> {
        let arn = self.repository_arn.as_deref()?;
        Some(arn.split_once(":repository/").map_or(arn, |(_, name)| name))
    }
}

/// What an incoming event is.
#[derive(Debug, Clone)]
pub enum ScanEvent {
    /// `aws.inspector2` / `Inspector2 Finding`: one enhanced-scanning finding.
    InspectorFinding(Box<InspectorFindingDetail>),
    /// `aws.ecr` / `ECR Image Scan`: a basic scan finished; findings are fetched.
    BasicScan(BasicScanDetail),
    /// `aws.inspector2` / `Inspector2 Scan`: an enhanced scan's summary.
    InspectorScan(InspectorScanSummary),
    /// Anything else: acknowledged and logged.
    Unsupported,
}

/// An event the forwarder can never process; it is logged and acknowledged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EventError {
    #[error("not an EventBridge event: {0}")]
    Envelope(String),
    #[error("{detail_type} event has an unreadable detail: {message}")]
    Detail {
        detail_type: String,
        message: String,
    },
}

/// Reads the envelope and the detail of the kind it announces.
pub fn parse(event: &Value, now: DateTime<Utc>) -> Result<(EventOrigin, ScanEvent), EventError> {
    // serde reads a struct from an array of its fields too: an event is an object.
    if !event.is_object() {
        return Err(EventError::Envelope(format!(
            "expected a JSON object, got {}",
            crate::untrusted::excerpt(&event.to_string())
        )));
    }
    let envelope: Envelope = serde_json::from_value(event.clone())
        .map_err(|err| EventError::Envelope(err.to_string()))?;
    let origin = EventOrigin {
        account: envelope.account.clone().unwrap_or_default(),
        region: envelope.region.clone().unwrap_or_default(),
        time: envelope.time_or(now),
    };
    let detail = |message: String| EventError::Detail {
        detail_type: envelope.detail_type.clone(),
        message,
    };
    let kind = match (envelope.source.as_str(), envelope.detail_type.as_str()) {
        ("aws.inspector2", "Inspector2 Finding") => {
            ScanEvent::InspectorFinding(Box::new(read_detail(&envelope.detail).map_err(detail)?))
        }
        ("aws.ecr", "ECR Image Scan") => {
            ScanEvent::BasicScan(read_detail(&envelope.detail).map_err(detail)?)
        }
        ("aws.inspector2", "Inspector2 Scan") => {
            ScanEvent::InspectorScan(read_detail(&envelope.detail).map_err(detail)?)
        }
        _ => ScanEvent::Unsupported,
    };
    Ok((origin, kind))
}

/// Reads a detail; the error names the field at fault (`image-tags: invalid type ...`).
fn read_detail<T: DeserializeOwned>(detail: &Value) -> Result<T, String> {
    if !detail.is_object() {
        return Err(format!(
            "expected a JSON object, got {}",
            crate::untrusted::excerpt(&detail.to_string())
        ));
    }
    serde_path_to_error::deserialize(detail).map_err(|err| {
        let path = err.path().to_string();
        if path == "." {
            err.inner().to_string()
        } else {
            format!("{path}: {}", err.inner())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("sample event exists");
        serde_json::from_str(&text).expect("sample event is JSON")
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn basic_scan_sample_is_read_exactly() {
        let (origin, kind) =
            parse(&sample("ecr-image-scan-basic-complete.json"), now()).expect("parses");
        assert_eq!(origin.account, "123456789012");
        assert_eq!(origin.region, "us-east-1");
        assert_eq!(origin.time.to_rfc3339(), "2019-10-29T02:36:48+00:00");
        let ScanEvent::BasicScan(detail) = kind else {
            panic!("basic scan expected, got {kind:?}");
        };
        assert_eq!(detail.scan_status.as_deref(), Some("COMPLETE"));
        assert_eq!(
            detail.repository_name.as_deref(),
            Some("my-repository-name")
        );
        assert_eq!(
            detail.image_digest.as_deref(),
            Some("sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234")
        );
        assert_eq!(detail.image_tags, Some(vec![]));
    }

    #[test]
    fn a_basic_scan_detail_lacking_fields_is_read_for_the_check_to_name_them() {
        let event = json!({"detail-type": "ECR Image Scan", "source": "aws.ecr",
            "detail": {"scan-status": "COMPLETE", "image-digest": "sha256:ab", "image-tags": []}});
        let (_, kind) = parse(&event, now()).expect("parses");
        let ScanEvent::BasicScan(detail) = kind else {
            panic!("basic scan expected, got {kind:?}");
        };
        assert_eq!(detail.repository_name, None);
        assert_eq!(detail.image_digest.as_deref(), Some("sha256:ab"));
    }

    #[test]
    fn inspector_scan_sample_names_the_repository_by_arn() {
        let (origin, kind) = parse(
            &sample("inspector2-scan-ecr-initial-scan-complete.json"),
            now(),
        )
        .expect("parses");
        assert_eq!(origin.region, "us-east-2");
        let ScanEvent::InspectorScan(summary) = kind else {
            panic!("scan summary expected, got {kind:?}");
        };
        assert_eq!(
            summary.scan_status.as_deref(),
            Some("INITIAL_SCAN_COMPLETE")
        );
        assert_eq!(
            summary.repository_arn.as_deref(),
            Some("arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample")
        );
        assert_eq!(summary.repository_name(), Some("amazon/amazon-ecs-sample"));
        assert_eq!(summary.image_tags, vec!["latest"]);
        assert_eq!(
            summary.finding_severity_counts,
            BTreeMap::from([
                ("CRITICAL".to_owned(), 7),
                ("HIGH".to_owned(), 61),
                ("MEDIUM".to_owned(), 62),
                ("TOTAL".to_owned(), 158),
            ])
        );
    }

    #[test]
    fn inspector_finding_sample_is_recognised() {
        let (origin, kind) = parse(
            &sample("inspector2-finding-ecr-package-vulnerability.json"),
            now(),
        )
        .expect("parses");
        assert_eq!(origin.time.to_rfc3339(), "2021-12-03T18:02:30+00:00");
        assert!(matches!(kind, ScanEvent::InspectorFinding(_)));
    }

    #[test]
    fn other_events_are_unsupported_not_errors() {
        for name in [
            "ecr-image-action-push-success.json",
            "ecr-image-action-delete-success.json",
            "eventbridge-scheduled-event-rule.json",
        ] {
            let (_, kind) = parse(&sample(name), now()).expect("parses");
            assert!(matches!(kind, ScanEvent::Unsupported), "{name}");
        }
    }

    #[test]
    fn an_unreadable_event_time_falls_back_to_now() {
        let event = json!({"detail-type": "X", "source": "y", "time": "soon", "detail": {}});
        let (origin, _) = parse(&event, now()).expect("parses");
        assert_eq!(origin.time, now());
    }

    #[test]
    fn malformed_events_are_errors_naming_the_problem() {
        assert!(matches!(
            parse(&json!({"sweep": "all"}), now()),
            Err(EventError::Envelope(_))
        ));
        let bad_detail = json!({"detail-type": "ECR Image Scan", "source": "aws.ecr", "detail": {"image-tags": 5}});
        assert_eq!(
            parse(&bad_detail, now()).map(|_| ()),
            Err(EventError::Detail {
                detail_type: "ECR Image Scan".into(),
                message: "image-tags: invalid type: integer `5`, expected a sequence".into()
            })
        );
    }
}

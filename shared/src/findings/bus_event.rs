//! The `Image Vulnerability Finding` event the janitor emits per forwarded finding.
//!
//! Compact and stable for EventBridge rules: the fields teams route on (`severity`,
//! `repository`, `vulnerabilityId`, `fixAvailable`) sit at the top level of `detail`
//! (no nesting to match through), and
//! `findingId` is the same id Security Hub gets, so consumers can deduplicate
//! at-least-once deliveries.

use serde::Serialize;

use super::asff::asff_time;
use super::model::{Finding, FindingSource, FindingStatus, FixAvailable, Package, Severity};
use crate::aws::bus::BusEvent;

pub const DETAIL_TYPE: &str = "Image Vulnerability Finding";

/// `detail` of an `Image Vulnerability Finding` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingEventDetail<'a> {
    pub severity: Severity,
    pub repository: &'a str,
    pub vulnerability_id: &'a str,
    pub fix_available: FixAvailable,
    pub status: FindingStatus,
    pub source: FindingSource,
    pub finding_id: String,
    pub account: &'a str,
    pub region: &'a str,
    pub image_digest: &'a str,
    pub image_tags: &'a [String],
    pub packages: &'a [Package],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f64>,
    pub title: &'a str,
    pub first_observed_at: String,
    pub last_observed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<&'a str>,
    /// What could not be read from the source and what stands in for it; only present
    /// when there is something to say.
    #[serde(skip_serializing_if = "no_notes")]
    pub notes: &'a [String],
}

fn no_notes(notes: &&[String]) -> bool {
    notes.is_empty()
}

/// The event for one finding; its resource is the image ARN.
pub fn finding_event(finding: &Finding) -> BusEvent {
    let detail = FindingEventDetail {
        severity: finding.severity,
        repository: &finding.repository,
        vulnerability_id: &finding.vulnerability_id,
        fix_available: finding.fix_available,
        status: finding.status,
        source: finding.source,
        finding_id: finding.finding_id(),
        account: &finding.account,
        region: &finding.region,
        image_digest: &finding.digest,
        image_tags: &finding.tags,
        packages: &finding.packages,
        cvss_score: finding.cvss_score,
        title: &finding.title,
        first_observed_at: asff_time(finding.first_observed_at),
        last_observed_at: asff_time(finding.last_observed_at),
        source_url: finding.source_url.as_deref(),
        notes: &finding.notes,
    };
    BusEvent {
        detail_type: DETAIL_TYPE.to_owned(),
        // Serialising plain strings, numbers and enums cannot fail.
        detail: serde_json::to_value(detail).unwrap_or_default(),
        resources: vec![finding.image_arn()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::model::tests::sample_finding;
    use serde_json::json;

    #[test]
    fn event_detail_is_exact_with_routing_fields_at_the_top_level() {
        let event = finding_event(&sample_finding());
        assert_eq!(event.detail_type, "Image Vulnerability Finding");
        assert_eq!(
            event.resources,
            vec!["arn:aws:ecr:us-east-1:123456789012:repository/team-a/api/sha256:abc"]
        );
        assert_eq!(
            event.detail,
            json!({
                "severity": "HIGH",
                "repository": "team-a/api",
                "vulnerabilityId": "CVE-2023-1234",
                "fixAvailable": "UNKNOWN",
                "status": "ACTIVE",
                "source": "basic",
                "findingId": sample_finding().finding_id(),
                "account": "123456789012",
                "region": "us-east-1",
                "imageDigest": "sha256:abc",
                "imageTags": ["v1.2.3"],
                "packages": [{"name": "openssl", "version": "1.1.1"}],
                "cvssScore": 7.5,
                "title": "CVE-2023-1234 - openssl",
                "firstObservedAt": "2024-05-01T12:00:00.000Z",
                "lastObservedAt": "2024-05-01T12:00:00.000Z"
            })
        );
    }

    #[test]
    fn notes_on_unreadable_values_are_carried_when_there_are_any() {
        let mut finding = sample_finding();
        finding.notes =
            vec!["firstObservedAt unreadable: 'soon'; the event time is used".to_owned()];
        let event = finding_event(&finding);
        assert_eq!(
            event.detail["notes"],
            json!(["firstObservedAt unreadable: 'soon'; the event time is used"])
        );
    }
}

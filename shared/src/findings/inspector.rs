//! Enhanced scanning: Amazon Inspector's `Inspector2 Finding` detail, read leniently
//! (every field optional, timestamps in any format) and normalised.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::event::EventOrigin;
use super::model::{
    fix_available_from_packages, CvssScore, Finding, FindingSource, FindingStatus, FixAvailable,
    Package, Severity,
};
use super::object_only::{object, objects, optional_object};
use super::timestamp;
use crate::untrusted::excerpt;

/// Inspector's resource type for container images.
const ECR_IMAGE_RESOURCE_TYPE: &str = "AWS_ECR_CONTAINER_IMAGE";
/// Inspector's `fixedInVersion` when no fix exists.
const NO_FIXED_VERSION: &str = "NotAvailable";
/// What stands in for an unreadable observation time.
const EVENT_TIME_USED: &str = "the event time is used";
/// What becomes of an unreadable push time.
const PUSH_TIME_LEFT_OUT: &str = "it is left out";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorFindingDetail {
    pub aws_account_id: Option<String>,
    pub finding_arn: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub finding_type: Option<String>,
    pub first_observed_at: Option<Value>,
    pub last_observed_at: Option<Value>,
    pub updated_at: Option<Value>,
    pub inspector_score: Option<f64>,
    pub fix_available: Option<String>,
    #[serde(default, deserialize_with = "optional_object")]
    pub package_vulnerability_details: Option<PackageVulnerabilityDetails>,
    #[serde(default, deserialize_with = "objects")]
    pub resources: Vec<InspectorResource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageVulnerabilityDetails {
    pub vulnerability_id: Option<String>,
    #[serde(default, deserialize_with = "objects")]
    pub cvss: Vec<InspectorCvss>,
    pub source_url: Option<String>,
    #[serde(default)]
    pub reference_urls: Vec<String>,
    #[serde(default, deserialize_with = "objects")]
    pub vulnerable_packages: Vec<InspectorPackage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorCvss {
    pub base_score: Option<f64>,
    pub scoring_vector: Option<String>,
    pub source: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorPackage {
    pub name: Option<String>,
    pub version: Option<String>,
    pub fixed_in_version: Option<String>,
    pub package_manager: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorResource {
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub id: Option<String>,
    #[serde(default, deserialize_with = "object")]
    pub details: InspectorResourceDetails,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorResourceDetails {
    #[serde(default, deserialize_with = "optional_object")]
    pub aws_ecr_container_image: Option<InspectorEcrImage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectorEcrImage {
    pub architecture: Option<String>,
    pub image_hash: Option<String>,
    #[serde(default)]
    pub image_tags: Vec<String>,
    pub pushed_at: Option<Value>,
    pub registry: Option<String>,
    pub repository_name: Option<String>,
}

/// Why an Inspector finding cannot become a normalised finding. Such findings are
/// acknowledged and logged: redelivery would never make them valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectorSkip {
    #[error("finding is about {0}, not a container image")]
    NotAnImage(String),
    #[error("finding lacks {0}")]
    Missing(&'static str),
}

impl InspectorFindingDetail {
    /// The normalised finding. Unreadable observation times fall back to the event's
    /// time, an unreadable push time is left out; each such substitute is logged as a
    /// warning and noted on the finding.
    pub fn to_finding(&self, origin: &EventOrigin) -> Result<Finding, InspectorSkip> {
        let resource = self
            .resources
            .iter()
            .find(|r| r.resource_type.as_deref() == Some(ECR_IMAGE_RESOURCE_TYPE))
            .ok_or_else(|| {
                InspectorSkip::NotAnImage(
                    self.resources
                        .first()
                        .and_then(|r| r.resource_type.clone())
                        .unwrap_or_else(|| "no resource".to_owned()),
                )
            })?;
        let image =
            resource
                .details
                .aws_ecr_container_image
                .as_ref()
                .ok_or(InspectorSkip::Missing(
                    "resources[].details.awsEcrContainerImage",
                ))?;
        let repository = non_empty(image.repository_name.as_deref()).ok_or(
            InspectorSkip::Missing("awsEcrContainerImage.repositoryName"),
        )?;
        let digest = non_empty(image.image_hash.as_deref())
            .ok_or(InspectorSkip::Missing("awsEcrContainerImage.imageHash"))?;
        let details = self
            .package_vulnerability_details
            .clone()
            .unwrap_or_default();
        let vulnerability_id = non_empty(details.vulnerability_id.as_deref()).ok_or(
            InspectorSkip::Missing("packageVulnerabilityDetails.vulnerabilityId"),
        )?;

        let mut packages: Vec<Package> = details
            .vulnerable_packages
            .iter()
            .filter_map(|p| {
                Some(Package {
                    name: non_empty(p.name.as_deref())?.to_owned(),
                    version: non_empty(p.version.as_deref()).map(str::to_owned),
                    fixed_in_version: non_empty(p.fixed_in_version.as_deref())
                        .filter(|v| *v != NO_FIXED_VERSION)
                        .map(str::to_owned),
                    package_manager: non_empty(p.package_manager.as_deref()).map(str::to_owned),
                })
            })
            .collect();
        packages.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        let cvss: Vec<CvssScore> = details
            .cvss
            .iter()
            .filter_map(|c| {
                Some(CvssScore {
                    version: non_empty(c.version.as_deref())?.to_owned(),
                    base_score: c.base_score?,
                    vector: non_empty(c.scoring_vector.as_deref()).map(str::to_owned),
                    source: non_empty(c.source.as_deref()).map(str::to_owned),
                })
            })
            .collect();
        let cvss_score = self.inspector_score.or_else(|| newest_cvss_score(&cvss));
        let fix_available = match self.fix_available.as_deref() {
            Some(text) => FixAvailable::parse(text),
            None => fix_available_from_packages(&packages),
        };

        let mut notes = Vec::new();
        let mut read = |field: &str, value: &Option<Value>, stand_in: &str| {
            read_timestamp(field, value.as_ref(), stand_in, &mut notes)
        };
        let first_observed_at = read("firstObservedAt", &self.first_observed_at, EVENT_TIME_USED);
        let last_observed_at =
            read("lastObservedAt", &self.last_observed_at, EVENT_TIME_USED).unwrap_or(origin.time);
        let first_observed_at = first_observed_at
            .unwrap_or(origin.time)
            .min(last_observed_at);
        // A status change (closed, suppressed) moves updatedAt, not lastObservedAt.
        let updated_at = read("updatedAt", &self.updated_at, EVENT_TIME_USED)
            .unwrap_or(origin.time)
            .max(last_observed_at);
        let image_pushed_at = read(
            "awsEcrContainerImage.pushedAt",
            &image.pushed_at,
            PUSH_TIME_LEFT_OUT,
        );
        let title = non_empty(self.title.as_deref())
            .map(str::to_owned)
            .unwrap_or_else(|| default_title(vulnerability_id, &packages));

        Ok(Finding {
            source: FindingSource::Enhanced,
            account: non_empty(image.registry.as_deref())
                .or(non_empty(self.aws_account_id.as_deref()))
                .unwrap_or(&origin.account)
                .to_owned(),
            region: origin.region.clone(),
            repository: repository.to_owned(),
            digest: digest.to_owned(),
            tags: image.image_tags.clone(),
            architecture: non_empty(image.architecture.as_deref()).map(str::to_owned),
            image_pushed_at,
            vulnerability_id: vulnerability_id.to_owned(),
            description: non_empty(self.description.as_deref())
                .map(str::to_owned)
                .unwrap_or_else(|| title.clone()),
            title,
            packages,
            severity: Severity::parse(self.severity.as_deref().unwrap_or_default()),
            cvss_score,
            cvss,
            fix_available,
            status: FindingStatus::parse(self.status.as_deref().unwrap_or_default()),
            first_observed_at,
            last_observed_at,
            updated_at,
            source_url: non_empty(details.source_url.as_deref()).map(str::to_owned),
            reference_urls: details.reference_urls.clone(),
            source_finding_arn: non_empty(self.finding_arn.as_deref()).map(str::to_owned),
            notes,
        })
    }
}

/// One of Inspector's timestamps. Absent (or `null`) is `None`; present but unreadable
/// is `None` too, with a warning and a note saying what stands in for it, so that the
/// substitute is never passed on as Inspector's own time.
fn read_timestamp(
    field: &str,
    value: Option<&Value>,
    stand_in: &str,
    notes: &mut Vec<String>,
) -> Option<DateTime<Utc>> {
    let value = value.filter(|value| !value.is_null())?;
    let read = timestamp::parse_value(value);
    if read.is_none() {
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let text = excerpt(&text);
        tracing::warn!(field, text = %text, instead = stand_in, "unreadable Inspector timestamp");
        notes.push(format!("{field} unreadable: '{text}'; {stand_in}"));
    }
    read
}

/// `CVE-… - package[, package…]`, the title style Inspector and ECR use.
pub(crate) fn default_title(vulnerability_id: &str, packages: &[Package]) -> String {
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    if names.is_empty() {
        vulnerability_id.to_owned()
    } else {
        format!("{vulnerability_id} - {}", names.join(", "))
    }
}

/// The base score of the newest CVSS version reported.
pub(crate) fn newest_cvss_score(cvss: &[CvssScore]) -> Option<f64> {
    cvss.iter()
        .max_by(|a, b| version_key(&a.version).cmp(&version_key(&b.version)))
        .map(|c| c.base_score)
}

fn version_key(version: &str) -> Vec<u32> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

pub(crate) fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::event::{parse, ScanEvent};
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn origin(time: DateTime<Utc>) -> EventOrigin {
        EventOrigin {
            account: "123456789012".into(),
            region: "us-east-2".into(),
            time,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn sample_detail() -> InspectorFindingDetail {
        let path = format!(
            "{}/../tests/events/inspector2-finding-ecr-package-vulnerability.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("json");
        match parse(&event, Utc::now()).expect("parses").1 {
            ScanEvent::InspectorFinding(detail) => *detail,
            other => panic!("inspector finding expected, got {other:?}"),
        }
    }

    #[test]
    fn sample_finding_normalises_exactly() {
        let finding = sample_detail()
            .to_finding(&origin(at("2021-12-03T18:02:30Z")))
            .expect("an image finding");
        assert_eq!(finding.source, FindingSource::Enhanced);
        assert_eq!(finding.account, "123456789012");
        assert_eq!(finding.region, "us-east-2");
        assert_eq!(finding.repository, "amazon/amazon-ecs-sample");
        assert_eq!(
            finding.digest,
            "sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE"
        );
        assert_eq!(finding.tags, vec!["latest"]);
        assert_eq!(finding.architecture.as_deref(), Some("amd64"));
        assert_eq!(finding.image_pushed_at, Some(at("2021-12-03T18:02:13Z")));
        assert_eq!(finding.vulnerability_id, "CVE-2019-17498");
        assert_eq!(finding.title, "CVE-2019-17498 - libssh2");
        assert!(finding
            .description
            .starts_with("In libssh2 v1.9.0 and earlier"));
        assert_eq!(
            finding.packages,
            vec![Package {
                name: "libssh2".into(),
                version: Some("1.4.3".into()),
                fixed_in_version: None,
                package_manager: Some("OS".into()),
            }]
        );
        assert_eq!(finding.severity, Severity::Medium);
        assert_eq!(finding.cvss_score, Some(6.5));
        assert_eq!(finding.cvss.len(), 3);
        assert_eq!(
            finding.cvss[2],
            CvssScore {
                version: "3.1".into(),
                base_score: 8.1,
                vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:H".into()),
                source: Some("NVD".into()),
            }
        );
        assert_eq!(finding.fix_available, FixAvailable::No);
        assert_eq!(finding.status, FindingStatus::Active);
        assert_eq!(finding.first_observed_at, at("2021-12-03T18:02:30Z"));
        assert_eq!(finding.last_observed_at, at("2021-12-03T18:02:30Z"));
        assert_eq!(finding.updated_at, at("2021-12-03T18:02:30Z"));
        assert_eq!(
            finding.source_url.as_deref(),
            Some("https://access.redhat.com/security/cve/CVE-2019-17498")
        );
        assert_eq!(
            finding.reference_urls,
            vec!["https://access.redhat.com/errata/RHSA-2020:3915"]
        );
        assert_eq!(
            finding.source_finding_arn.as_deref(),
            Some("arn:aws:inspector2:us-east-2:123456789012:finding/be674aaddd0f75ac632055EXAMPLE")
        );
    }

    #[test]
    fn unreadable_timestamps_fall_back_to_the_event_time() {
        let mut detail = sample_detail();
        detail.first_observed_at = Some(json!("the day before yesterday"));
        detail.last_observed_at = Some(json!({"not": "a time"}));
        detail.updated_at = None;
        if let Some(image) = detail.resources[0].details.aws_ecr_container_image.as_mut() {
            image.pushed_at = Some(json!("a while ago"));
        }
        let event_time = at("2024-02-02T10:00:00Z");
        let finding = detail.to_finding(&origin(event_time)).expect("kept");
        assert_eq!(finding.first_observed_at, event_time);
        assert_eq!(finding.last_observed_at, event_time);
        assert_eq!(finding.updated_at, event_time);
        assert_eq!(finding.image_pushed_at, None);
        assert_eq!(
            finding.notes,
            vec![
                "firstObservedAt unreadable: 'the day before yesterday'; the event time is used",
                "lastObservedAt unreadable: '{\"not\":\"a time\"}'; the event time is used",
                "awsEcrContainerImage.pushedAt unreadable: 'a while ago'; it is left out",
            ]
        );
    }

    #[test]
    fn java_date_timestamps_are_read_not_replaced_by_the_event_time() {
        let mut detail = sample_detail();
        detail.first_observed_at = Some(json!("Wed Sep 04 16:55:38.411 UTC 2024"));
        detail.last_observed_at = Some(json!("Sep 4, 2024, 4:56:00 PM"));
        detail.updated_at = Some(json!("Wed Sep 04 17:00:00.000 UTC 2024"));
        let finding = detail
            .to_finding(&origin(at("2030-01-01T00:00:00Z")))
            .expect("kept");
        assert_eq!(finding.first_observed_at, at("2024-09-04T16:55:38.411Z"));
        assert_eq!(finding.last_observed_at, at("2024-09-04T16:56:00Z"));
        assert_eq!(finding.updated_at, at("2024-09-04T17:00:00Z"));
        assert!(finding.notes.is_empty(), "{:?}", finding.notes);
    }

    #[test]
    fn absent_timestamps_use_the_event_time_without_a_note() {
        let mut detail = sample_detail();
        detail.first_observed_at = None;
        detail.updated_at = Some(Value::Null);
        let finding = detail
            .to_finding(&origin(at("2030-01-01T00:00:00Z")))
            .expect("kept");
        assert_eq!(finding.first_observed_at, at("2021-12-03T18:02:30Z"));
        assert!(finding.notes.is_empty(), "{:?}", finding.notes);
    }

    #[test]
    fn iso_and_epoch_timestamps_are_read_too() {
        let mut detail = sample_detail();
        detail.first_observed_at = Some(json!("2021-12-01T08:00:00.000Z"));
        detail.last_observed_at = Some(json!(1_638_554_550));
        detail.updated_at = Some(json!("2021-12-04T00:00:00Z"));
        let finding = detail
            .to_finding(&origin(at("2030-01-01T00:00:00Z")))
            .expect("kept");
        assert_eq!(finding.first_observed_at, at("2021-12-01T08:00:00Z"));
        assert_eq!(finding.last_observed_at, at("2021-12-03T18:02:30Z"));
        assert_eq!(finding.updated_at, at("2021-12-04T00:00:00Z"));
    }

    #[test]
    fn closed_findings_with_fixes_are_read() {
        let mut detail = sample_detail();
        detail.status = Some("CLOSED".into());
        detail.fix_available = Some("PARTIAL".into());
        if let Some(details) = detail.package_vulnerability_details.as_mut() {
            details.vulnerable_packages[0].fixed_in_version = Some("1.4.3-13".into());
        }
        let finding = detail
            .to_finding(&origin(at("2030-01-01T00:00:00Z")))
            .expect("kept");
        assert_eq!(finding.status, FindingStatus::Closed);
        assert_eq!(finding.fix_available, FixAvailable::Partial);
        assert_eq!(
            finding.packages[0].fixed_in_version.as_deref(),
            Some("1.4.3-13")
        );
    }

    #[test]
    fn findings_about_other_resources_or_without_identity_are_skipped() {
        let mut lambda = sample_detail();
        lambda.resources[0].resource_type = Some("AWS_LAMBDA_FUNCTION".into());
        let when = origin(at("2030-01-01T00:00:00Z"));
        assert_eq!(
            lambda.to_finding(&when),
            Err(InspectorSkip::NotAnImage("AWS_LAMBDA_FUNCTION".into()))
        );
        let mut no_cve = sample_detail();
        no_cve.package_vulnerability_details = None;
        assert_eq!(
            no_cve.to_finding(&when),
            Err(InspectorSkip::Missing(
                "packageVulnerabilityDetails.vulnerabilityId"
            ))
        );
    }

    #[test]
    fn newest_cvss_version_wins_when_inspector_gives_no_score() {
        let score = |version: &str, base_score: f64| CvssScore {
            version: version.into(),
            base_score,
            vector: None,
            source: None,
        };
        assert_eq!(
            newest_cvss_score(&[score("3.1", 8.1), score("2.0", 5.8), score("3.0", 6.5)]),
            Some(8.1)
        );
        assert_eq!(newest_cvss_score(&[]), None);
    }
}

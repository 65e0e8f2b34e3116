//! Basic scanning: ECR's `ECR Image Scan` event says a scan finished; the findings
//! themselves come from `DescribeImageScanFindings`. ECR reports package, version and
//! CVSS as loose `attributes`; this module turns them into normalised findings.

use aws_sdk_ecr::types::ImageScanFinding;
use chrono::{DateTime, Utc};

use super::event::{BasicScanDetail, EventOrigin};
use super::inspector::{default_title, newest_cvss_score, non_empty};
use super::model::{
    CvssScore, Finding, FindingSource, FindingStatus, FixAvailable, Package, Severity,
};

/// The scan status whose findings are worth fetching.
pub const SCAN_COMPLETE: &str = "COMPLETE";

/// The image a completed basic scan is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedImage {
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
}

/// Why a basic scan event has no findings to fetch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BasicScanSkip {
    /// A scan that failed or is not finished: nothing to fetch, nothing wrong.
    #[error("scan status is {0}, not COMPLETE")]
    NotComplete(String),
    /// A malformed event: it lacks (or has an empty) field every scan event carries.
    #[error("event lacks {0}")]
    Missing(&'static str),
}

/// The image whose findings to fetch, if the scan completed. Fields are checked in
/// the order that decides what to do: the status, then the image's identity.
pub fn scanned_image(detail: &BasicScanDetail) -> Result<ScannedImage, BasicScanSkip> {
    let status = non_empty(detail.scan_status.as_deref())
        .ok_or(BasicScanSkip::Missing("detail.scan-status"))?;
    if status != SCAN_COMPLETE {
        return Err(BasicScanSkip::NotComplete(status.to_owned()));
    }
    Ok(ScannedImage {
        repository: non_empty(detail.repository_name.as_deref())
            .ok_or(BasicScanSkip::Missing("detail.repository-name"))?
            .to_owned(),
        digest: non_empty(detail.image_digest.as_deref())
            .ok_or(BasicScanSkip::Missing("detail.image-digest"))?
            .to_owned(),
        tags: detail
            .image_tags
            .clone()
            .ok_or(BasicScanSkip::Missing("detail.image-tags"))?,
    })
}

/// Normalises one basic-scan finding. `completed_at` is the scan's completion time
/// (`imageScanCompletedAt`, else the event's time): basic scanning keeps no history,
/// so it is both the first and the last observation. `None` for a finding without a
/// vulnerability name, which cannot be identified.
pub fn to_finding(
    image: &ScannedImage,
    scan_finding: &ImageScanFinding,
    completed_at: DateTime<Utc>,
    origin: &EventOrigin,
) -> Option<Finding> {
    let vulnerability_id = non_empty(scan_finding.name())?.to_owned();
    let attribute = |key: &str| {
        scan_finding
            .attributes()
            .iter()
            .find(|a| a.key() == key)
            .and_then(|a| non_empty(a.value()))
            .map(str::to_owned)
    };
    let packages: Vec<Package> = attribute("package_name")
        .map(|name| Package {
            name,
            version: attribute("package_version"),
            fixed_in_version: None,
            package_manager: None,
        })
        .into_iter()
        .collect();
    let cvss: Vec<CvssScore> = [("2.0", "CVSS2"), ("3.0", "CVSS3")]
        .iter()
        .filter_map(|(version, prefix)| {
            Some(CvssScore {
                version: (*version).to_owned(),
                base_score: attribute(&format!("{prefix}_SCORE"))?.parse().ok()?,
                vector: attribute(&format!("{prefix}_VECTOR")),
                source: None,
            })
        })
        .collect();
    let title = default_title(&vulnerability_id, &packages);
    Some(Finding {
        source: FindingSource::Basic,
        account: origin.account.clone(),
        region: origin.region.clone(),
        repository: image.repository.clone(),
        digest: image.digest.clone(),
        tags: image.tags.clone(),
        architecture: None,
        image_pushed_at: None,
        description: non_empty(scan_finding.description())
            .map(str::to_owned)
            .unwrap_or_else(|| title.clone()),
        title,
        vulnerability_id,
        packages,
        severity: Severity::parse(scan_finding.severity().map_or("", |s| s.as_str())),
        cvss_score: newest_cvss_score(&cvss),
        cvss,
        fix_available: FixAvailable::Unknown,
        status: FindingStatus::Active,
        first_observed_at: completed_at,
        last_observed_at: completed_at,
        updated_at: completed_at,
        source_url: non_empty(scan_finding.uri()).map(str::to_owned),
        reference_urls: Vec::new(),
        source_finding_arn: None,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::types::{Attribute, FindingSeverity};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn image() -> ScannedImage {
        ScannedImage {
            repository: "my-repository-name".into(),
            digest: "sha256:7f5b".into(),
            tags: vec!["v1".into()],
        }
    }

    fn origin() -> EventOrigin {
        EventOrigin {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            time: at("2019-10-29T02:36:48Z"),
        }
    }

    fn attribute(key: &str, value: &str) -> Attribute {
        Attribute::builder()
            .key(key)
            .value(value)
            .build()
            .expect("key is set")
    }

    #[test]
    fn ecr_attributes_become_package_and_cvss() {
        let scan_finding = ImageScanFinding::builder()
            .name("CVE-2021-3711")
            .description("SM2 decryption buffer overflow.")
            .uri("https://security-tracker.debian.org/tracker/CVE-2021-3711")
            .severity(FindingSeverity::Critical)
            .attributes(attribute("package_version", "1.1.1d-0+deb10u6"))
            .attributes(attribute("package_name", "openssl"))
            .attributes(attribute("CVSS2_VECTOR", "AV:N/AC:L/Au:N/C:P/I:P/A:P"))
            .attributes(attribute("CVSS2_SCORE", "7.5"))
            .attributes(attribute(
                "CVSS3_VECTOR",
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            ))
            .attributes(attribute("CVSS3_SCORE", "9.8"))
            .build();
        let completed = at("2019-10-29T02:36:40Z");
        let finding = to_finding(&image(), &scan_finding, completed, &origin()).expect("named");
        assert_eq!(finding.source, FindingSource::Basic);
        assert_eq!(finding.account, "123456789012");
        assert_eq!(finding.region, "us-east-1");
        assert_eq!(finding.repository, "my-repository-name");
        assert_eq!(finding.digest, "sha256:7f5b");
        assert_eq!(finding.tags, vec!["v1"]);
        assert_eq!(finding.vulnerability_id, "CVE-2021-3711");
        assert_eq!(finding.title, "CVE-2021-3711 - openssl");
        assert_eq!(finding.description, "SM2 decryption buffer overflow.");
        assert_eq!(
            finding.packages,
            vec![Package {
                name: "openssl".into(),
                version: Some("1.1.1d-0+deb10u6".into()),
                fixed_in_version: None,
                package_manager: None,
            }]
        );
        assert_eq!(finding.severity, Severity::Critical);
        assert_eq!(finding.cvss_score, Some(9.8));
        assert_eq!(
            finding.cvss,
            vec![
                CvssScore {
                    version: "2.0".into(),
                    base_score: 7.5,
                    vector: Some("AV:N/AC:L/Au:N/C:P/I:P/A:P".into()),
                    source: None,
                },
                CvssScore {
                    version: "3.0".into(),
                    base_score: 9.8,
                    vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
                    source: None,
                },
            ]
        );
        assert_eq!(finding.fix_available, FixAvailable::Unknown);
        assert_eq!(finding.status, FindingStatus::Active);
        assert_eq!(finding.first_observed_at, completed);
        assert_eq!(finding.last_observed_at, completed);
        assert_eq!(finding.updated_at, completed);
        assert_eq!(
            finding.source_url.as_deref(),
            Some("https://security-tracker.debian.org/tracker/CVE-2021-3711")
        );
    }

    #[test]
    fn sparse_findings_are_kept_and_nameless_ones_dropped() {
        let bare = ImageScanFinding::builder()
            .name("CVE-2020-0001")
            .severity(FindingSeverity::Undefined)
            .attributes(attribute("CVSS2_SCORE", "not a number"))
            .build();
        let finding = to_finding(&image(), &bare, origin().time, &origin()).expect("named");
        assert_eq!(finding.title, "CVE-2020-0001");
        assert_eq!(finding.description, "CVE-2020-0001");
        assert!(finding.packages.is_empty());
        assert!(finding.cvss.is_empty());
        assert_eq!(finding.severity, Severity::Untriaged);
        let nameless = ImageScanFinding::builder()
            .severity(FindingSeverity::High)
            .build();
        assert_eq!(
            to_finding(&image(), &nameless, origin().time, &origin()),
            None
        );
    }

    #[test]
    fn only_completed_scans_are_fetched() {
        let path = format!(
            "{}/../tests/events/ecr-image-scan-basic-complete.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("json");
        let mut detail: BasicScanDetail =
            serde_json::from_value(event["detail"].clone()).expect("detail");
        assert_eq!(
            scanned_image(&detail),
            Ok(ScannedImage {
                repository: "my-repository-name".into(),
                digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"
                    .into(),
                tags: vec![],
            })
        );
        detail.scan_status = Some("FAILED".into());
        assert_eq!(
            scanned_image(&detail),
            Err(BasicScanSkip::NotComplete("FAILED".into()))
        );
    }

    #[test]
    fn a_missing_field_is_named_itself_even_without_severity_counts() {
        let detail = |value: serde_json::Value| -> BasicScanDetail {
            serde_json::from_value(value).expect("every field is optional")
        };
        assert_eq!(
            scanned_image(&detail(serde_json::json!({
                "scan-status": "COMPLETE", "image-digest": "sha256:ab", "image-tags": []
            }))),
            Err(BasicScanSkip::Missing("detail.repository-name"))
        );
        assert_eq!(
            scanned_image(&detail(serde_json::json!({
                "scan-status": "COMPLETE", "repository-name": "a", "image-digest": "sha256:ab"
            }))),
            Err(BasicScanSkip::Missing("detail.image-tags"))
        );
        assert_eq!(
            scanned_image(&detail(serde_json::json!({"repository-name": "a"}))),
            Err(BasicScanSkip::Missing("detail.scan-status"))
        );
        assert_eq!(
            scanned_image(&detail(serde_json::json!({
                "scan-status": "COMPLETE", "repository-name": "a", "image-digest": "sha256:ab",
                "image-tags": ["v1"]
            }))),
            Ok(ScannedImage {
                repository: "a".into(),
                digest: "sha256:ab".into(),
                tags: vec!["v1".into()],
            })
        );
    }
}

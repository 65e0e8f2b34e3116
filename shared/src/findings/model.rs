//! The normalised vulnerability finding: one shape for enhanced (Inspector) and basic
//! (ECR) scan results, so filtering, events and Security Hub mapping exist once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Severity of a finding, as Inspector and ECR name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
    /// Inspector's "no severity assigned yet"; ECR basic scanning calls it `UNDEFINED`.
    Untriaged,
}

impl Severity {
    /// Parses Inspector's and ECR's severity names; anything unknown is untriaged.
    pub fn parse(text: &str) -> Severity {
        match text.trim().to_ascii_uppercase().as_str() {
            "INFORMATIONAL" => Severity::Informational,
            "LOW" => Severity::Low,
            "MEDIUM" => Severity::Medium,
            "HIGH" => Severity::High,
            "CRITICAL" => Severity::Critical,
            _ => Severity::Untriaged,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
            Severity::Untriaged => "UNTRIAGED",
        }
    }

    /// Rank for threshold comparisons. Untriaged ranks with informational, which is
    /// also the label Inspector's own Security Hub integration gives it.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Informational | Severity::Untriaged => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }
}

/// Lifecycle state of a finding at its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingStatus {
    Active,
    /// Suppressed by an Inspector suppression rule.
    Suppressed,
    /// Fixed or gone (the image or package no longer has the vulnerability).
    Closed,
}

impl FindingStatus {
    /// Inspector's status names; anything unknown is treated as active so it is not lost.
    pub fn parse(text: &str) -> FindingStatus {
        match text.trim().to_ascii_uppercase().as_str() {
            "SUPPRESSED" => FindingStatus::Suppressed,
            "CLOSED" => FindingStatus::Closed,
            _ => FindingStatus::Active,
        }
    }
}

/// Which scanner produced the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSource {
    /// Enhanced scanning: Amazon Inspector.
    Enhanced,
    /// ECR basic scanning.
    Basic,
}

impl FindingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingSource::Enhanced => "enhanced",
            FindingSource::Basic => "basic",
        }
    }
}

/// Whether a fixed version exists for the vulnerable packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FixAvailable {
    Yes,
    No,
    /// Some of the vulnerable packages have a fix.
    Partial,
    /// The scanner does not say (ECR basic scanning).
    Unknown,
}

impl FixAvailable {
    pub fn parse(text: &str) -> FixAvailable {
        match text.trim().to_ascii_uppercase().as_str() {
            "YES" => FixAvailable::Yes,
            "NO" => FixAvailable::No,
            "PARTIAL" => FixAvailable::Partial,
            _ => FixAvailable::Unknown,
        }
    }
}

/// One vulnerable package of a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_in_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_manager: Option<String>,
}

/// One CVSS score the scanner reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CvssScore {
    pub version: String,
    pub base_score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A vulnerability in one container image, whichever scanner found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub source: FindingSource,
    pub account: String,
    pub region: String,
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub architecture: Option<String>,
    pub image_pushed_at: Option<DateTime<Utc>>,
    pub vulnerability_id: String,
    pub title: String,
    pub description: String,
    /// Sorted by name, then version: the order is part of the finding's identity.
    pub packages: Vec<Package>,
    pub severity: Severity,
    /// The score the scanner ranks by (Inspector score, else the newest CVSS version).
    pub cvss_score: Option<f64>,
    pub cvss: Vec<CvssScore>,
    pub fix_available: FixAvailable,
    pub status: FindingStatus,
    pub first_observed_at: DateTime<Utc>,
    pub last_observed_at: DateTime<Utc>,
    /// When the source last changed or re-observed the finding: drives Security Hub's
    /// `UpdatedAt`, so the same data re-delivered is a no-op and newer data updates.
    pub updated_at: DateTime<Utc>,
    pub source_url: Option<String>,
    pub reference_urls: Vec<String>,
    /// Inspector's finding ARN (enhanced findings only).
    pub source_finding_arn: Option<String>,
    /// What could not be read from the source and what stands in for it (e.g.
    /// `firstObservedAt unreadable: 'soon'; the event time is used`), so a substitute
    /// value is never passed on as the scanner's own. Empty when everything was read.
    pub notes: Vec<String>,
}

impl Finding {
    /// AWS partition of the finding's Region.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }

    /// The image's ARN, the resource id Inspector and Security Hub use for it:
    /// `arn:aws:ecr:REGION:ACCOUNT:repository/REPO/sha256:DIGEST`.
    pub fn image_arn(&self) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/{}/{}",
            self.partition(),
            self.region,
            self.account,
            self.repository,
            self.digest
        )
    }

    /// Package names, sorted and joined by `,` (empty when the scanner names none).
    pub fn package_key(&self) -> String {
        let mut names: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.join(",")
    }

    /// Deterministic identity of the finding: the same image (account, Region,
    /// repository, digest), vulnerability and package(s) always give the same id, so
    /// a re-delivered or re-scanned finding updates instead of duplicating. Hashed to
    /// stay within Security Hub's 512-character `Id` whatever the repository name.
    pub fn finding_id(&self) -> String {
        let key = format!(
            "{}\n{}\n{}",
            self.image_arn(),
            self.vulnerability_id,
            self.package_key()
        );
        format!("ecr-janitor/scan/{:x}", Sha256::digest(key.as_bytes()))
    }
}

/// AWS partition of a Region name.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Fix availability from the packages' fixed-in versions (Inspector writes
/// `NotAvailable` when there is none).
pub fn fix_available_from_packages(packages: &[Package]) -> FixAvailable {
    let fixed = packages
        .iter()
        .filter(|p| p.fixed_in_version.is_some())
        .count();
    match fixed {
        0 => FixAvailable::No,
        n if n == packages.len() => FixAvailable::Yes,
        _ => FixAvailable::Partial,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A basic-scan finding for tests of the modules that consume findings.
    pub(crate) fn sample_finding() -> Finding {
        let at = Utc
            .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
            .single()
            .expect("valid");
        Finding {
            source: FindingSource::Basic,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            repository: "team-a/api".into(),
            digest: "sha256:abc".into(),
            tags: vec!["v1.2.3".into()],
            architecture: None,
            image_pushed_at: None,
            vulnerability_id: "CVE-2023-1234".into(),
            title: "CVE-2023-1234 - openssl".into(),
            description: "A flaw.".into(),
            packages: vec![Package {
                name: "openssl".into(),
                version: Some("1.1.1".into()),
                fixed_in_version: None,
                package_manager: None,
            }],
            severity: Severity::High,
            cvss_score: Some(7.5),
            cvss: vec![],
            fix_available: FixAvailable::Unknown,
            status: FindingStatus::Active,
            first_observed_at: at,
            last_observed_at: at,
            updated_at: at,
            source_url: None,
            reference_urls: vec![],
            source_finding_arn: None,
            notes: vec![],
        }
    }

    #[test]
    fn severity_names_parse_case_insensitively_and_unknown_is_untriaged() {
        assert_eq!(Severity::parse("critical"), Severity::Critical);
        assert_eq!(Severity::parse("UNDEFINED"), Severity::Untriaged);
        assert_eq!(Severity::parse("UNTRIAGED"), Severity::Untriaged);
        assert_eq!(Severity::Untriaged.rank(), Severity::Informational.rank());
        assert!(Severity::Critical.rank() > Severity::High.rank());
    }

    #[test]
    fn image_arn_is_the_resource_id_inspector_uses() {
        let finding = sample_finding();
        assert_eq!(
            finding.image_arn(),
            "arn:aws:ecr:us-east-1:123456789012:repository/team-a/api/sha256:abc"
        );
        let mut china = sample_finding();
        china.region = "cn-north-1".into();
        assert!(china.image_arn().starts_with("arn:aws-cn:ecr:cn-north-1:"));
    }

    #[test]
    fn finding_id_is_deterministic_and_depends_only_on_identity() {
        let finding = sample_finding();
        assert_eq!(
            finding.finding_id(),
            "ecr-janitor/scan/3ebe1026e0c7183eed261f5d916f55d3bb56a1a2905570b1584914c804daef08"
        );
        let mut rescanned = sample_finding();
        rescanned.severity = Severity::Critical;
        rescanned.updated_at = Utc::now();
        rescanned.tags = vec![];
        assert_eq!(rescanned.finding_id(), finding.finding_id());
        let mut other_package = sample_finding();
        other_package.packages[0].name = "libssl".into();
        assert_ne!(other_package.finding_id(), finding.finding_id());
        let mut other_digest = sample_finding();
        other_digest.digest = "sha256:def".into();
        assert_ne!(other_digest.finding_id(), finding.finding_id());
        let mut other_repository = sample_finding();
        other_repository.repository = "team-b/api".into();
        assert_ne!(other_repository.finding_id(), finding.finding_id());
    }

    #[test]
    fn fix_availability_follows_the_packages() {
        let package = |fixed: Option<&str>| Package {
            name: "p".into(),
            version: None,
            fixed_in_version: fixed.map(str::to_owned),
            package_manager: None,
        };
        assert_eq!(fix_available_from_packages(&[]), FixAvailable::No);
        assert_eq!(
            fix_available_from_packages(&[package(Some("2.0"))]),
            FixAvailable::Yes
        );
        assert_eq!(
            fix_available_from_packages(&[package(Some("2.0")), package(None)]),
            FixAvailable::Partial
        );
        assert_eq!(
            fix_available_from_packages(&[package(None)]),
            FixAvailable::No
        );
    }
}

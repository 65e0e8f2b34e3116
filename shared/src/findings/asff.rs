//! Normalised findings as AWS Security Finding Format, and their `BatchImportFindings`
//! batches.

use std::ops::Range;

use aws_sdk_securityhub::types::{
    AwsEcrContainerImageDetails, AwsSecurityFinding, Cvss, Partition, RecordState, Resource,
    ResourceDetails, Severity as AsffSeverity, SeverityLabel, SoftwarePackage, Vulnerability,
    VulnerabilityFixAvailable,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::model::{partition_of, Finding, FindingStatus, FixAvailable, Severity};

pub const SCHEMA_VERSION: &str = "2018-10-08";
pub const CVE_FINDING_TYPE: &str = "Software and Configuration Checks/Vulnerabilities/CVE";
pub const ECR_IMAGE_RESOURCE_TYPE: &str = "AwsEcrContainerImage";
pub const MAX_TITLE_CHARS: usize = 256;
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Characters of one `ProductFields` value (AWS limit).
pub const MAX_PRODUCT_FIELD_CHARS: usize = 2048;
/// Separates the finding's notes in their one `ProductFields` value.
const NOTES_SEPARATOR: &str = " | ";
/// Findings per `BatchImportFindings` call (AWS limit).
pub const MAX_FINDINGS_PER_CALL: usize = 100;
/// Request size per call (AWS limit: 6 MB).
pub const MAX_CALL_BYTES: usize = 6 * 1024 * 1024;
/// JSON keys and punctuation ASFF adds around a normalised finding's values: a generous
/// bound, so size estimates never undercount.
const ASFF_OVERHEAD_BYTES: usize = 4 * 1024;

/// The account and Region the function runs in: Security Hub only accepts findings
/// for the caller's own account under its default product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: String,
    pub region: String,
}

impl Caller {
    /// From the invoked function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
    pub fn from_function_arn(arn: &str) -> Option<Caller> {
        let mut parts = arn.split(':');
        let (Some("arn"), Some(_partition), Some("lambda"), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        (!region.is_empty() && !account.is_empty()).then(|| Caller {
            account_id: account.to_owned(),
            region: region.to_owned(),
        })
    }

    /// The caller of an invocation: from the function's ARN in Lambda. Local emulators
    /// (cargo lambda) pass a placeholder ARN; there the SDK's Region and the event's
    /// `account` stand in.
    pub fn resolve(function_arn: &str, sdk_region: Option<&str>, event: &Value) -> Option<Caller> {
        Caller::from_function_arn(function_arn).or_else(|| {
            let account = event.get("account").and_then(Value::as_str)?;
            let region = sdk_region?;
            (!account.is_empty() && !region.is_empty()).then(|| Caller {
                account_id: account.to_owned(),
                region: region.to_owned(),
            })
        })
    }

    /// The account's default custom product, which accepts its own findings.
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            partition_of(&self.region),
            self.region,
            self.account_id,
            self.account_id
        )
    }
}

/// ASFF's timestamp format: ISO-8601 UTC with milliseconds.
pub fn asff_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Shortens `text` to at most `max_chars` characters, ending with `…` when cut. Counts
/// characters, never splitting one, since Security Hub's limits are in characters.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn severity_label(severity: Severity) -> SeverityLabel {
    match severity {
        Severity::Informational | Severity::Untriaged => SeverityLabel::Informational,
        Severity::Low => SeverityLabel::Low,
        Severity::Medium => SeverityLabel::Medium,
        Severity::High => SeverityLabel::High,
        Severity::Critical => SeverityLabel::Critical,
    }
}

fn fix_available(fix: FixAvailable) -> Option<VulnerabilityFixAvailable> {
    match fix {
        FixAvailable::Yes => Some(VulnerabilityFixAvailable::Yes),
        FixAvailable::No => Some(VulnerabilityFixAvailable::No),
        FixAvailable::Partial => Some(VulnerabilityFixAvailable::Partial),
        FixAvailable::Unknown => None,
    }
}

/// Generator of the finding: which scanner's results the janitor imported.
pub fn generator_id(finding: &Finding) -> String {
    format!("ecr-janitor/{}-scan", finding.source.as_str())
}

/// The finding in ASFF. `CreatedAt` is the first observation and `UpdatedAt` the
/// source's last change, so a re-delivery carries the same `UpdatedAt` (Security Hub
/// ignores it) and a newer scan a later one (Security Hub updates). Closed findings
/// are archived. Notes on values that could not be read from the source go into
/// `ProductFields` `ecr-janitor/notes`.
pub fn to_asff(finding: &Finding, caller: &Caller) -> AwsSecurityFinding {
    let title = truncate_chars(&finding.title, MAX_TITLE_CHARS);
    let description = truncate_chars(&finding.description, MAX_DESCRIPTION_CHARS);
    let created_at = finding.first_observed_at.min(finding.updated_at);

    let mut image = AwsEcrContainerImageDetails::builder()
        .registry_id(&finding.account)
        .repository_name(&finding.repository)
        .image_digest(&finding.digest)
        .set_architecture(finding.architecture.clone())
        .set_image_published_at(finding.image_pushed_at.map(asff_time));
    for tag in finding.tags.iter().filter(|t| !t.trim().is_empty()) {
        image = image.image_tags(tag);
    }
    let resource = Resource::builder()
        .r#type(ECR_IMAGE_RESOURCE_TYPE)
        .id(finding.image_arn())
        .partition(Partition::from(finding.partition()))
        .region(&finding.region)
        .details(
            ResourceDetails::builder()
                .aws_ecr_container_image(image.build())
                .build(),
        )
        .build();

    let mut vulnerability = Vulnerability::builder()
        .id(&finding.vulnerability_id)
        .set_fix_available(fix_available(finding.fix_available));
    for package in &finding.packages {
        vulnerability = vulnerability.vulnerable_packages(
            SoftwarePackage::builder()
                .name(&package.name)
                .set_version(package.version.clone())
                .set_fixed_in_version(package.fixed_in_version.clone())
                .set_package_manager(package.package_manager.clone())
                .build(),
        );
    }
    for score in &finding.cvss {
        vulnerability = vulnerability.cvss(
            Cvss::builder()
                .version(&score.version)
                .base_score(score.base_score)
                .set_base_vector(score.vector.clone())
                .set_source(score.source.clone())
                .build(),
        );
    }
    for url in &finding.reference_urls {
        vulnerability = vulnerability.reference_urls(url);
    }

    let record_state = match finding.status {
        FindingStatus::Closed => RecordState::Archived,
        FindingStatus::Active | FindingStatus::Suppressed => RecordState::Active,
    };
    let mut asff = AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(finding.finding_id())
        .product_arn(caller.product_arn())
        .generator_id(generator_id(finding))
        .aws_account_id(&caller.account_id)
        .region(&finding.region)
        .types(CVE_FINDING_TYPE)
        .first_observed_at(asff_time(finding.first_observed_at))
        .last_observed_at(asff_time(finding.last_observed_at))
        .created_at(asff_time(created_at))
        .updated_at(asff_time(finding.updated_at))
        .severity(
            AsffSeverity::builder()
                .label(severity_label(finding.severity))
                .original(finding.severity.as_str())
                .build(),
        )
        .title(title)
        .description(description)
        .set_source_url(finding.source_url.clone())
        .resources(resource)
        .vulnerabilities(vulnerability.build())
        .record_state(record_state)
        .product_fields("ecr-janitor/source", finding.source.as_str());
    if let Some(arn) = &finding.source_finding_arn {
        asff = asff.product_fields("ecr-janitor/inspectorFindingArn", arn);
    }
    if !finding.notes.is_empty() {
        asff = asff.product_fields(
            "ecr-janitor/notes",
            truncate_chars(
                &finding.notes.join(NOTES_SEPARATOR),
                MAX_PRODUCT_FIELD_CHARS,
            ),
        );
    }
    asff.build()
}

/// An upper bound of the finding's size in a request: its normalised JSON plus ASFF's
/// keys. The SDK's types are not serialisable, and exactness is not needed to stay
/// under the per-call limit.
pub fn estimated_size(finding: &Finding) -> usize {
    serde_json::to_string(finding).map_or(0, |json| json.len()) + ASFF_OVERHEAD_BYTES
}

/// Splits items of the given sizes into consecutive `BatchImportFindings` calls of at
/// most 100 findings and 6 MB.
pub fn plan_batches(sizes: &[usize]) -> Vec<Range<usize>> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, size) in sizes.iter().enumerate() {
        let full = index - start == MAX_FINDINGS_PER_CALL || bytes + size > MAX_CALL_BYTES;
        if full && index > start {
            batches.push(start..index);
            start = index;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        batches.push(start..sizes.len());
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::model::tests::sample_finding;
    use crate::findings::model::{CvssScore, FindingSource, Package};
    use proptest::prelude::*;

    fn caller() -> Caller {
        Caller {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn caller_comes_from_the_function_arn() {
        assert_eq!(
            Caller::from_function_arn(
                "arn:aws:lambda:eu-west-1:210987654321:function:scan-forwarder"
            ),
            Some(Caller {
                account_id: "210987654321".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(Caller::from_function_arn("not-an-arn"), None);
        assert_eq!(
            Caller::from_function_arn("arn:aws:lambda:::function:x"),
            None
        );
        let event = serde_json::json!({"account": "123456789012"});
        assert_eq!(
            Caller::resolve("function-arn", Some("us-east-1"), &event),
            Some(caller())
        );
        assert_eq!(
            Caller::resolve(
                "arn:aws:lambda:eu-west-1:210987654321:function:f",
                Some("us-east-1"),
                &event
            )
            .map(|c| c.account_id),
            Some("210987654321".to_owned())
        );
        assert_eq!(Caller::resolve("function-arn", None, &event), None);
        assert_eq!(
            Caller::resolve("function-arn", Some("us-east-1"), &serde_json::json!({})),
            None
        );
        assert_eq!(
            caller().product_arn(),
            "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
        );
    }

    #[test]
    fn enhanced_finding_maps_to_exact_asff() {
        let mut finding = sample_finding();
        finding.source = FindingSource::Enhanced;
        finding.tags = vec!["v1".into(), "latest".into()];
        finding.architecture = Some("amd64".into());
        finding.image_pushed_at = Some(at("2024-04-30T08:00:00Z"));
        finding.first_observed_at = at("2024-04-30T09:00:00Z");
        finding.updated_at = at("2024-05-02T10:00:00Z");
        finding.packages[0].fixed_in_version = Some("1.1.2".into());
        finding.packages[0].package_manager = Some("OS".into());
        finding.fix_available = FixAvailable::Yes;
        finding.cvss = vec![CvssScore {
            version: "3.1".into(),
            base_score: 7.5,
            vector: Some("CVSS:3.1/AV:N".into()),
            source: Some("NVD".into()),
        }];
        finding.source_url = Some("https://nvd.nist.gov/vuln/detail/CVE-2023-1234".into());
        finding.reference_urls = vec!["https://example.com/advisory".into()];
        finding.source_finding_arn =
            Some("arn:aws:inspector2:us-east-1:123456789012:finding/f1".into());

        let asff = to_asff(&finding, &caller());
        assert_eq!(asff.schema_version(), Some("2018-10-08"));
        assert_eq!(asff.id(), Some(finding.finding_id().as_str()));
        assert_eq!(
            asff.product_arn(),
            Some("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default")
        );
        assert_eq!(asff.generator_id(), Some("ecr-janitor/enhanced-scan"));
        assert_eq!(asff.aws_account_id(), Some("123456789012"));
        assert_eq!(asff.region(), Some("us-east-1"));
        assert_eq!(
            asff.types(),
            ["Software and Configuration Checks/Vulnerabilities/CVE"]
        );
        assert_eq!(asff.first_observed_at(), Some("2024-04-30T09:00:00.000Z"));
        assert_eq!(asff.last_observed_at(), Some("2024-05-01T12:00:00.000Z"));
        assert_eq!(asff.created_at(), Some("2024-04-30T09:00:00.000Z"));
        assert_eq!(asff.updated_at(), Some("2024-05-02T10:00:00.000Z"));
        let severity = asff.severity().expect("severity");
        assert_eq!(severity.label(), Some(&SeverityLabel::High));
        assert_eq!(severity.original(), Some("HIGH"));
        assert_eq!(asff.title(), Some("CVE-2023-1234 - openssl"));
        assert_eq!(asff.description(), Some("A flaw."));
        assert_eq!(
            asff.source_url(),
            Some("https://nvd.nist.gov/vuln/detail/CVE-2023-1234")
        );
        assert_eq!(asff.record_state(), Some(&RecordState::Active));
        let fields = asff.product_fields().expect("product fields");
        assert_eq!(
            fields.get("ecr-janitor/source").map(String::as_str),
            Some("enhanced")
        );
        assert_eq!(
            fields
                .get("ecr-janitor/inspectorFindingArn")
                .map(String::as_str),
            Some("arn:aws:inspector2:us-east-1:123456789012:finding/f1")
        );

        let [resource] = asff.resources() else {
            panic!("one resource expected");
        };
        assert_eq!(resource.r#type(), Some("AwsEcrContainerImage"));
        assert_eq!(
            resource.id(),
            Some("arn:aws:ecr:us-east-1:123456789012:repository/team-a/api/sha256:abc")
        );
        assert_eq!(resource.partition(), Some(&Partition::Aws));
        assert_eq!(resource.region(), Some("us-east-1"));
        let image = resource
            .details()
            .and_then(|d| d.aws_ecr_container_image())
            .expect("image details");
        assert_eq!(image.registry_id(), Some("123456789012"));
        assert_eq!(image.repository_name(), Some("team-a/api"));
        assert_eq!(image.image_digest(), Some("sha256:abc"));
        assert_eq!(image.image_tags(), ["v1", "latest"]);
        assert_eq!(image.image_published_at(), Some("2024-04-30T08:00:00.000Z"));
        assert_eq!(image.architecture(), Some("amd64"));

        let [vulnerability] = asff.vulnerabilities() else {
            panic!("one vulnerability expected");
        };
        assert_eq!(vulnerability.id(), Some("CVE-2023-1234"));
        assert_eq!(
            vulnerability.fix_available(),
            Some(&VulnerabilityFixAvailable::Yes)
        );
        let [package] = vulnerability.vulnerable_packages() else {
            panic!("one package expected");
        };
        assert_eq!(package.name(), Some("openssl"));
        assert_eq!(package.version(), Some("1.1.1"));
        assert_eq!(package.fixed_in_version(), Some("1.1.2"));
        assert_eq!(package.package_manager(), Some("OS"));
        let [cvss] = vulnerability.cvss() else {
            panic!("one CVSS score expected");
        };
        assert_eq!(cvss.version(), Some("3.1"));
        assert_eq!(cvss.base_score(), Some(7.5));
        assert_eq!(cvss.base_vector(), Some("CVSS:3.1/AV:N"));
        assert_eq!(cvss.source(), Some("NVD"));
        assert_eq!(
            vulnerability.reference_urls(),
            ["https://example.com/advisory"]
        );
    }

    #[test]
    fn basic_finding_leaves_unknowns_out() {
        let asff = to_asff(&sample_finding(), &caller());
        assert_eq!(asff.generator_id(), Some("ecr-janitor/basic-scan"));
        assert_eq!(asff.created_at(), asff.updated_at());
        let vulnerability = &asff.vulnerabilities()[0];
        assert_eq!(vulnerability.fix_available(), None);
        assert!(vulnerability.cvss().is_empty());
        let image = asff.resources()[0]
            .details()
            .and_then(|d| d.aws_ecr_container_image())
            .expect("image details");
        assert_eq!(image.architecture(), None);
        assert_eq!(image.image_published_at(), None);
        assert!(asff.product_fields().is_some_and(|f| {
            !f.contains_key("ecr-janitor/inspectorFindingArn")
                && !f.contains_key("ecr-janitor/notes")
        }));
    }

    #[test]
    fn notes_on_unreadable_values_go_into_one_bounded_product_field() {
        let mut finding = sample_finding();
        finding.notes = vec![
            "firstObservedAt unreadable: 'soon'; the event time is used".into(),
            "updatedAt unreadable: 'later'; the event time is used".into(),
        ];
        let asff = to_asff(&finding, &caller());
        assert_eq!(
            asff.product_fields()
                .and_then(|f| f.get("ecr-janitor/notes"))
                .map(String::as_str),
            Some(
                "firstObservedAt unreadable: 'soon'; the event time is used | updatedAt unreadable: 'later'; the event time is used"
            )
        );
        finding.notes = vec!["x".repeat(5000)];
        let asff = to_asff(&finding, &caller());
        let notes = asff
            .product_fields()
            .and_then(|f| f.get("ecr-janitor/notes"))
            .expect("notes");
        assert_eq!(notes.chars().count(), MAX_PRODUCT_FIELD_CHARS);
    }

    #[test]
    fn closed_findings_are_archived_and_untriaged_is_informational() {
        let mut finding = sample_finding();
        finding.status = FindingStatus::Closed;
        finding.severity = Severity::Untriaged;
        let asff = to_asff(&finding, &caller());
        assert_eq!(asff.record_state(), Some(&RecordState::Archived));
        let severity = asff.severity().expect("severity");
        assert_eq!(severity.label(), Some(&SeverityLabel::Informational));
        assert_eq!(severity.original(), Some("UNTRIAGED"));
    }

    #[test]
    fn long_title_and_description_are_cut_on_character_boundaries() {
        let mut finding = sample_finding();
        finding.title = "é".repeat(300);
        finding.description = "🦀".repeat(2000);
        finding.packages = vec![Package {
            name: "x".into(),
            version: None,
            fixed_in_version: None,
            package_manager: None,
        }];
        let asff = to_asff(&finding, &caller());
        let title = asff.title().expect("title");
        assert_eq!(title.chars().count(), 256);
        assert!(title.ends_with("é…"));
        let description = asff.description().expect("description");
        assert_eq!(description.chars().count(), 1024);
        assert!(description.ends_with("🦀…"));
    }

    #[test]
    fn truncation_keeps_short_text_and_counts_characters() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("exactly10!", 10), "exactly10!");
        assert_eq!(truncate_chars("eleven char", 10), "eleven ch…");
        assert_eq!(truncate_chars("ééé", 2), "é…");
    }

    #[test]
    fn batches_hold_at_most_100_findings() {
        let sizes = vec![1000; 250];
        assert_eq!(plan_batches(&sizes), vec![0..100, 100..200, 200..250]);
        assert!(plan_batches(&[]).is_empty());
    }

    #[test]
    fn batches_stay_under_six_megabytes() {
        let sizes = vec![240 * 1024; 60];
        let batches = plan_batches(&sizes);
        assert_eq!(batches, vec![0..25, 25..50, 50..60]);
    }

    proptest! {
        #[test]
        fn batches_cover_every_finding_once_within_limits(
            sizes in proptest::collection::vec(1usize..300_000, 0..400)
        ) {
            let batches = plan_batches(&sizes);
            let mut next = 0;
            for batch in &batches {
                prop_assert_eq!(batch.start, next);
                prop_assert!(!batch.is_empty());
                prop_assert!(batch.len() <= MAX_FINDINGS_PER_CALL);
                prop_assert!(sizes[batch.clone()].iter().sum::<usize>() <= MAX_CALL_BYTES);
                next = batch.end;
            }
            prop_assert_eq!(next, sizes.len());
        }

        #[test]
        fn truncation_never_exceeds_the_limit_or_splits_characters(
            text in "\\PC{0,400}", max in 1usize..300
        ) {
            let cut = truncate_chars(&text, max);
            prop_assert!(cut.chars().count() <= max);
            if text.chars().count() <= max {
                prop_assert_eq!(cut, text);
            } else {
                let kept = cut.trim_end_matches('…');
                prop_assert!(text.starts_with(kept));
            }
        }
    }
}

//! Which findings are forwarded: severity threshold, then suppressions with expiry.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::config::{ScanConfig, Suppression};
use super::model::{Finding, FindingStatus, Severity};

/// What happens to one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    Forward,
    BelowThreshold,
    /// By one of our suppressions (its index in `scan.suppressions`).
    Suppressed {
        suppression: usize,
    },
    /// By an Inspector suppression rule (status `SUPPRESSED` at the source).
    SuppressedAtSource,
}

/// The findings split by disposition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterOutcome {
    pub forward: Vec<Finding>,
    pub below_threshold: usize,
    /// The severity of each suppressed finding.
    pub suppressed: Vec<Severity>,
    /// Indices of expired suppressions that would have matched a finding: logged once
    /// per invocation so that stale entries get renewed or removed.
    pub expired_matches: BTreeSet<usize>,
}

impl Suppression {
    /// Whether the suppression still applies at `now`: it stops applying at 00:00 UTC
    /// on its `expires` date.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now.date_naive() < self.expires
    }

    /// Whether it names this finding (ignoring expiry). Every field given must match.
    pub fn matches(&self, finding: &Finding) -> bool {
        let vulnerability = self
            .vulnerability_id
            .as_deref()
            .is_none_or(|id| id.trim().eq_ignore_ascii_case(&finding.vulnerability_id));
        let package = self
            .package
            .as_deref()
            .is_none_or(|name| finding.packages.iter().any(|p| p.name == name.trim()));
        let repository = self.repositories.is_empty()
            || self
                .repositories
                .iter()
                .any(|pattern| pattern.matches(&finding.repository));
        vulnerability && package && repository
    }
}

/// Decides one finding. Closed findings are exempt from suppressions so that a
/// finding forwarded earlier is still archived when it is fixed.
pub fn decide(
    config: &ScanConfig,
    finding: &Finding,
    now: DateTime<Utc>,
    expired_matches: &mut BTreeSet<usize>,
) -> Disposition {
    if finding.severity.rank() < config.minimum_severity.rank() {
        return Disposition::BelowThreshold;
    }
    match finding.status {
        FindingStatus::Closed => return Disposition::Forward,
        FindingStatus::Suppressed => return Disposition::SuppressedAtSource,
        FindingStatus::Active => {}
    }
    for (index, suppression) in config.suppressions.iter().enumerate() {
        if !suppression.matches(finding) {
            continue;
        }
        if suppression.is_active(now) {
            return Disposition::Suppressed { suppression: index };
        }
        expired_matches.insert(index);
    }
    Disposition::Forward
}

/// Keeps one finding per id (the most recently updated; the first seen on a tie), in
/// first-seen order: Security Hub must not see one id twice in a batch, and teams
/// must not get two events for one finding.
pub fn dedupe(findings: Vec<Finding>) -> Vec<Finding> {
    let mut positions: HashMap<String, usize> = HashMap::new();
    let mut unique: Vec<Finding> = Vec::new();
    for finding in findings {
        match positions.entry(finding.finding_id()) {
            Entry::Occupied(slot) => {
                let kept = &mut unique[*slot.get()];
                if finding.updated_at > kept.updated_at {
                    *kept = finding;
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(unique.len());
                unique.push(finding);
            }
        }
    }
    unique
}

/// Splits findings into those to forward and the counts of the rest.
pub fn filter(config: &ScanConfig, findings: Vec<Finding>, now: DateTime<Utc>) -> FilterOutcome {
    let mut outcome = FilterOutcome::default();
    for finding in findings {
        match decide(config, &finding, now, &mut outcome.expired_matches) {
            Disposition::Forward => outcome.forward.push(finding),
            Disposition::BelowThreshold => outcome.below_threshold += 1,
            Disposition::Suppressed { suppression } => {
                tracing::info!(
                    finding_id = %finding.finding_id(),
                    repository = %finding.repository,
                    vulnerability_id = %finding.vulnerability_id,
                    suppression,
                    reason = %config.suppressions[suppression].reason,
                    "finding suppressed"
                );
                outcome.suppressed.push(finding.severity);
            }
            Disposition::SuppressedAtSource => outcome.suppressed.push(finding.severity),
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::model::tests::sample_finding;
    use crate::findings::model::Severity;
    use crate::pattern::WildcardPattern;
    use chrono::NaiveDate;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn suppression(id: Option<&str>, package: Option<&str>, repos: &[&str]) -> Suppression {
        Suppression {
            vulnerability_id: id.map(str::to_owned),
            package: package.map(str::to_owned),
            repositories: repos.iter().map(|r| WildcardPattern::new(r)).collect(),
            expires: NaiveDate::from_ymd_opt(2027, 1, 31).expect("valid"),
            reason: "no fix upstream".into(),
        }
    }

    fn config(minimum: Severity, suppressions: Vec<Suppression>) -> ScanConfig {
        ScanConfig {
            minimum_severity: minimum,
            suppressions,
            ..ScanConfig::default()
        }
    }

    #[test]
    fn severity_threshold_is_inclusive() {
        let now = at("2026-01-01T00:00:00Z");
        let mut expired = BTreeSet::new();
        let finding = sample_finding(); // HIGH
        for (minimum, expected) in [
            (Severity::Informational, Disposition::Forward),
            (Severity::High, Disposition::Forward),
            (Severity::Critical, Disposition::BelowThreshold),
        ] {
            assert_eq!(
                decide(&config(minimum, vec![]), &finding, now, &mut expired),
                expected,
                "{minimum:?}"
            );
        }
        let mut untriaged = sample_finding();
        untriaged.severity = Severity::Untriaged;
        assert_eq!(
            decide(
                &config(Severity::Low, vec![]),
                &untriaged,
                now,
                &mut expired
            ),
            Disposition::BelowThreshold
        );
    }

    #[test]
    fn every_given_field_of_a_suppression_must_match() {
        let finding = sample_finding(); // CVE-2023-1234, openssl, team-a/api
        assert!(suppression(Some("CVE-2023-1234"), None, &[]).matches(&finding));
        assert!(suppression(Some("cve-2023-1234"), None, &[]).matches(&finding));
        assert!(suppression(None, Some("openssl"), &[]).matches(&finding));
        assert!(
            suppression(Some("CVE-2023-1234"), Some("openssl"), &["team-a/*"]).matches(&finding)
        );
        assert!(suppression(None, Some("openssl"), &["legacy/*", "team-*/api"]).matches(&finding));
        assert!(!suppression(Some("CVE-2023-9999"), Some("openssl"), &[]).matches(&finding));
        assert!(!suppression(Some("CVE-2023-1234"), Some("libssl"), &[]).matches(&finding));
        assert!(!suppression(Some("CVE-2023-1234"), None, &["legacy/*"]).matches(&finding));
    }

    #[test]
    fn a_suppression_stops_applying_at_midnight_utc_of_its_expiry_date() {
        let config = config(
            Severity::Informational,
            vec![suppression(Some("CVE-2023-1234"), None, &[])],
        );
        let finding = sample_finding();
        let mut expired = BTreeSet::new();
        assert_eq!(
            decide(&config, &finding, at("2027-01-30T23:59:59Z"), &mut expired),
            Disposition::Suppressed { suppression: 0 }
        );
        assert!(expired.is_empty());
        assert_eq!(
            decide(&config, &finding, at("2027-01-31T00:00:00Z"), &mut expired),
            Disposition::Forward
        );
        assert_eq!(expired, BTreeSet::from([0]));
    }

    #[test]
    fn closed_findings_pass_suppressions_and_inspector_suppressed_ones_do_not() {
        let config = config(
            Severity::Informational,
            vec![suppression(Some("CVE-2023-1234"), None, &[])],
        );
        let now = at("2026-01-01T00:00:00Z");
        let mut expired = BTreeSet::new();
        let mut closed = sample_finding();
        closed.status = FindingStatus::Closed;
        assert_eq!(
            decide(&config, &closed, now, &mut expired),
            Disposition::Forward
        );
        let mut suppressed = sample_finding();
        suppressed.status = FindingStatus::Suppressed;
        suppressed.vulnerability_id = "CVE-2000-0001".into();
        assert_eq!(
            decide(&config, &suppressed, now, &mut expired),
            Disposition::SuppressedAtSource
        );
    }

    #[test]
    fn dedupe_keeps_the_latest_of_each_id_in_first_seen_order() {
        let first = sample_finding();
        let mut other = sample_finding();
        other.vulnerability_id = "CVE-2024-0001".into();
        let mut newer = sample_finding();
        newer.updated_at = at("2024-06-01T00:00:00Z");
        newer.severity = Severity::Critical;
        let mut older = sample_finding();
        older.updated_at = at("2024-01-01T00:00:00Z");
        assert_eq!(
            dedupe(vec![
                first.clone(),
                other.clone(),
                newer.clone(),
                older,
                first
            ]),
            vec![newer, other]
        );
    }

    #[test]
    fn filter_counts_each_disposition_and_collects_expired_matches() {
        let config = config(
            Severity::Medium,
            vec![
                suppression(Some("CVE-2023-1234"), None, &["team-a/*"]),
                suppression(None, Some("zlib"), &[]),
            ],
        );
        let mut low = sample_finding();
        low.severity = Severity::Low;
        let mut zlib = sample_finding();
        zlib.vulnerability_id = "CVE-2022-37434".into();
        zlib.packages[0].name = "zlib".into();
        let mut other_repo = sample_finding();
        other_repo.repository = "team-b/api".into();
        let findings = vec![sample_finding(), low, zlib.clone(), other_repo.clone()];

        let before = filter(&config, findings.clone(), at("2026-06-01T00:00:00Z"));
        assert_eq!(before.forward, vec![other_repo.clone()]);
        assert_eq!(before.below_threshold, 1);
        assert_eq!(before.suppressed, vec![Severity::High, Severity::High]);
        assert!(before.expired_matches.is_empty());

        let after = filter(&config, findings, at("2027-06-01T00:00:00Z"));
        assert_eq!(after.forward, vec![sample_finding(), zlib, other_repo]);
        assert!(after.suppressed.is_empty());
        assert_eq!(after.expired_matches, BTreeSet::from([0, 1]));
    }
}

//! The `scan` section of the configuration document.

use chrono::NaiveDate;
use serde::Deserialize;

use super::model::Severity;
use crate::config::FieldError;
use crate::pattern::WildcardPattern;

/// How scan findings are filtered and where they go.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanConfig {
    /// Findings below this severity are dropped (untriaged ranks as informational).
    #[serde(default = "default_minimum_severity")]
    pub minimum_severity: Severity,
    /// `false` turns Security Hub imports off entirely (events are still emitted).
    #[serde(default = "default_security_hub")]
    pub security_hub: bool,
    /// Also import enhanced-scanning (Inspector) findings: only for accounts where
    /// Inspector's native Security Hub integration is off, or they appear twice.
    #[serde(default)]
    pub import_enhanced_findings: bool,
    #[serde(default)]
    pub suppressions: Vec<Suppression>,
}

/// Silences matching findings until `expires`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Suppression {
    #[serde(default)]
    pub vulnerability_id: Option<String>,
    /// Name of a vulnerable package, e.g. `openssl`.
    #[serde(default)]
    pub package: Option<String>,
    /// Repository globs (`*` wildcards); empty means every repository.
    #[serde(default)]
    pub repositories: Vec<WildcardPattern>,
    /// `YYYY-MM-DD`; the suppression stops applying at 00:00 UTC on this date.
    pub expires: NaiveDate,
    /// Why the finding is accepted, e.g. a ticket reference.
    pub reason: String,
}

fn default_minimum_severity() -> Severity {
    Severity::Informational
}

fn default_security_hub() -> bool {
    true
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            minimum_severity: default_minimum_severity(),
            security_hub: default_security_hub(),
            import_enhanced_findings: false,
            suppressions: Vec::new(),
        }
    }
}

impl ScanConfig {
    /// Collects every semantic problem of the section, each naming its field.
    pub fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        if self.minimum_severity == Severity::Untriaged {
            errors.push(FieldError::new(
                format!("{field}.minimumSeverity"),
                "must be one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL",
            ));
        }
        for (index, suppression) in self.suppressions.iter().enumerate() {
            suppression.validate(&format!("{field}.suppressions[{index}]"), errors);
        }
    }
}

impl Suppression {
    /// Every semantic problem of the suppression at `field` (`scan.suppressions[0]`).
    pub(crate) fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        let blank = |value: &Option<String>| value.as_deref().is_some_and(|v| v.trim().is_empty());
        if self.vulnerability_id.is_none() && self.package.is_none() {
            errors.push(FieldError::new(
                field,
                "needs a vulnerabilityId, a package or both",
            ));
        }
        if blank(&self.vulnerability_id) {
            errors.push(FieldError::new(
                format!("{field}.vulnerabilityId"),
                "must not be empty",
            ));
        }
        if blank(&self.package) {
            errors.push(FieldError::new(
                format!("{field}.package"),
                "must not be empty",
            ));
        }
        for (index, pattern) in self.repositories.iter().enumerate() {
            if pattern.as_str().trim().is_empty() {
                errors.push(FieldError::new(
                    format!("{field}.repositories[{index}]"),
                    "must not be empty",
                ));
            }
        }
        if self.reason.trim().is_empty() {
            errors.push(FieldError::new(
                format!("{field}.reason"),
                "must say why the finding is accepted",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, ConfigSource, JanitorConfig};
    use crate::findings::model::Severity;

    fn load(scan: &str) -> Result<JanitorConfig, ConfigError> {
        JanitorConfig::from_json(&format!(r#"{{"scan": {scan}}}"#), ConfigSource::Inline)
    }

    fn invalid_fields(scan: &str) -> Vec<(String, String)> {
        match load(scan) {
            Err(ConfigError::Invalid { errors, .. }) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn contract_example_is_valid() {
        let config = load(
            r#"{
              "minimumSeverity": "HIGH",
              "securityHub": true,
              "importEnhancedFindings": false,
              "suppressions": [
                { "vulnerabilityId": "CVE-2023-1234", "package": "openssl", "repositories": ["legacy/*"],
                  "expires": "2027-01-31", "reason": "no fix upstream; tracked in SEC-42" }
              ]
            }"#,
        )
        .expect("valid");
        let scan = config.scan;
        assert_eq!(scan.minimum_severity, Severity::High);
        assert!(scan.security_hub);
        assert!(!scan.import_enhanced_findings);
        assert_eq!(scan.suppressions.len(), 1);
        assert_eq!(scan.suppressions[0].expires.to_string(), "2027-01-31");
        assert_eq!(scan.suppressions[0].repositories[0].as_str(), "legacy/*");
    }

    #[test]
    fn defaults_forward_everything_to_security_hub_except_enhanced() {
        let scan = load("{}").expect("valid").scan;
        assert_eq!(scan.minimum_severity, Severity::Informational);
        assert!(scan.security_hub);
        assert!(!scan.import_enhanced_findings);
        assert!(scan.suppressions.is_empty());
    }

    #[test]
    fn every_semantic_error_is_reported_with_its_field() {
        let fields = invalid_fields(
            r#"{
              "minimumSeverity": "UNTRIAGED",
              "suppressions": [
                { "vulnerabilityId": "CVE-1", "expires": "2027-01-31", "reason": "ok" },
                { "expires": "2027-01-31", "reason": " " },
                { "vulnerabilityId": "", "package": " ", "repositories": ["a/*", ""], "expires": "2027-01-31", "reason": "x" }
              ]
            }"#,
        );
        let names: Vec<&str> = fields.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "scan.minimumSeverity",
                "scan.suppressions[1]",
                "scan.suppressions[1].reason",
                "scan.suppressions[2].vulnerabilityId",
                "scan.suppressions[2].package",
                "scan.suppressions[2].repositories[1]",
            ]
        );
    }

    #[test]
    fn malformed_fields_are_named_by_the_parser() {
        for (scan, field) in [
            (
                r#"{"suppressions": [{"package": "a", "expires": "2027-01-31", "reason": "r"}, {"package": "b", "expires": "31/01/2027", "reason": "r"}]}"#,
                "scan.suppressions[1].expires",
            ),
            (r#"{"minimumSeverity": "SEVERE"}"#, "scan.minimumSeverity"),
            (r#"{"securityHub": "yes"}"#, "scan.securityHub"),
            (
                r#"{"suppressions": [{"package": "a", "reason": "r"}]}"#,
                "scan.suppressions[0]",
            ),
            (r#"{"suppresions": []}"#, "scan.suppresions"),
        ] {
            let named: Vec<String> = invalid_fields(scan)
                .into_iter()
                .map(|(field, _)| field)
                .collect();
            assert_eq!(named, vec![field], "{scan}");
        }
    }
}

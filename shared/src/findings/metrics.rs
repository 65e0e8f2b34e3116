//! The scan-forwarder's CloudWatch metrics for one event: the totals, and the findings
//! forwarded and suppressed per severity.

use super::handler::ForwardReport;
use super::model::{Finding, Severity};
use crate::metrics::{self, EmfRecord};

const FUNCTION: &str = "scan-forwarder";

/// Every severity, most severe first: the order of the per-severity records.
pub(crate) const SEVERITIES: [Severity; 6] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Informational,
    Severity::Untriaged,
];

/// One record of totals (dimension `Function`), then one per severity that had a
/// finding forwarded or suppressed (dimensions `Function`, `Severity`). A severity is a
/// dimension rather than part of the metric's name so that one dashboard line or alarm
/// can cover them all, and records only for the severities seen keep an event's
/// metrics to what it held.
pub fn records(
    report: &ForwardReport,
    forwarded: &[Finding],
    suppressed: &[Severity],
) -> Vec<EmfRecord> {
    let totals = EmfRecord::new()
        .dimension("Function", FUNCTION)
        .value(metrics::FINDINGS_FORWARDED, report.forwarded as f64)
        .value(metrics::FINDINGS_SUPPRESSED, report.suppressed as f64)
        .value(
            metrics::FINDINGS_BELOW_THRESHOLD,
            report.below_threshold as f64,
        )
        .value(
            metrics::FINDINGS_FAILED,
            (report.failed_events.len() + report.failed_imports.len()) as f64,
        );
    let per_severity = SEVERITIES.into_iter().filter_map(|severity| {
        let forwarded = forwarded
            .iter()
            .filter(|finding| finding.severity == severity)
            .count();
        let suppressed = suppressed.iter().filter(|&&s| s == severity).count();
        (forwarded + suppressed > 0).then(|| {
            EmfRecord::new()
                .dimension("Function", FUNCTION)
                .dimension("Severity", severity.as_str())
                .value(metrics::FINDINGS_FORWARDED, forwarded as f64)
                .value(metrics::FINDINGS_SUPPRESSED, suppressed as f64)
        })
    });
    std::iter::once(totals).chain(per_severity).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::model::tests::sample_finding;
    use serde_json::{json, Value};

    fn finding(severity: Severity) -> Finding {
        Finding {
            severity,
            ..sample_finding()
        }
    }

    fn lines(records: &[EmfRecord]) -> Vec<Value> {
        records
            .iter()
            .map(|record| serde_json::from_str(&record.to_line(0)).expect("emf json"))
            .collect()
    }

    #[test]
    fn totals_then_one_record_per_severity_seen() {
        let report = ForwardReport {
            forwarded: 3,
            suppressed: 2,
            below_threshold: 4,
            ..ForwardReport::default()
        };
        let forwarded = [
            finding(Severity::High),
            finding(Severity::Critical),
            finding(Severity::High),
        ];
        let suppressed = [Severity::Medium, Severity::High];

        let lines = lines(&records(&report, &forwarded, &suppressed));

        let summary: Vec<Value> = lines
            .iter()
            .map(|line| {
                json!([
                    line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                    line["Severity"],
                    line["FindingsForwarded"],
                    line["FindingsSuppressed"],
                    line["FindingsBelowThreshold"],
                ])
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                json!([[["Function"]], null, 3.0, 2.0, 4.0]),
                json!([[["Function", "Severity"]], "CRITICAL", 1.0, 0.0, null]),
                json!([[["Function", "Severity"]], "HIGH", 2.0, 1.0, null]),
                json!([[["Function", "Severity"]], "MEDIUM", 0.0, 1.0, null]),
            ]
        );
        assert!(lines.iter().all(|line| line["Function"] == FUNCTION));
    }

    #[test]
    fn an_event_without_findings_has_only_totals() {
        let lines = lines(&records(&ForwardReport::default(), &[], &[]));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["FindingsForwarded"], 0.0);
        assert_eq!(lines[0]["FindingsFailed"], 0.0);
    }
}

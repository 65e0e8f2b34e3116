//! CloudWatch Embedded Metric Format: a JSON line on stdout that CloudWatch Logs turns
//! into metrics without any API call from the function.
//!
//! Every metric the functions emit is a constant here, listed in [`ALL`]; a record
//! takes only these. `infra/modules/janitor/metrics.json`, which the dashboard is
//! built from, lists the same metrics with their dimensions, and a test
//! (`catalog_tests`) keeps it equal to what the functions emit.

use serde_json::{json, Map, Value};

/// Namespace of every janitor metric.
pub const NAMESPACE: &str = "EcrJanitor";

/// The unit CloudWatch records a metric's values in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Count,
    Bytes,
}

impl Unit {
    /// CloudWatch's name of the unit.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
        }
    }
}

/// One metric: its CloudWatch name and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
}

const fn count(name: &'static str) -> Metric {
    Metric {
        name,
        unit: Unit::Count,
    }
}

// The lifecycle-sweeper's, one record per swept repository (see
// `sweep::report::RepositorySummary::metrics`).
pub const IMAGES_SWEPT: Metric = count("ImagesSwept");
pub const IMAGES_PLANNED_EXPIRE: Metric = count("ImagesPlannedExpire");
pub const IMAGES_PLANNED_TRANSITION: Metric = count("ImagesPlannedTransition");
pub const IMAGES_EXPIRED: Metric = count("ImagesExpired");
pub const IMAGES_TRANSITIONED: Metric = count("ImagesTransitioned");
pub const BYTES_FREED: Metric = Metric {
    name: "BytesFreed",
    unit: Unit::Bytes,
};
pub const ACTION_FAILURES: Metric = count("ActionFailures");
pub const ACTIONS_CHANGED_SINCE_PLANNED: Metric = count("ActionsChangedSincePlanned");
pub const SAFETY_CAP_TRIPPED: Metric = count("SafetyCapTripped");
pub const SWEEP_ERRORS: Metric = count("SweepErrors");
pub const IN_USE_UNKNOWN: Metric = count("InUseUnknown");
pub const PROTECTED_IN_USE: Metric = count("ProtectedInUse");
pub const PROTECTED_BY_TAG: Metric = count("ProtectedByTag");
pub const PROTECTED_BY_AGE: Metric = count("ProtectedByAge");
pub const PROTECTED_INDEX_UNREADABLE: Metric = count("ProtectedIndexUnreadable");

// The scan-forwarder's, per forwarded event (see `findings::metrics`).
pub const FINDINGS_FORWARDED: Metric = count("FindingsForwarded");
pub const FINDINGS_SUPPRESSED: Metric = count("FindingsSuppressed");
pub const FINDINGS_BELOW_THRESHOLD: Metric = count("FindingsBelowThreshold");
pub const FINDINGS_FAILED: Metric = count("FindingsFailed");

/// Every metric the functions emit.
pub const ALL: &[Metric] = &[
    IMAGES_SWEPT,
    IMAGES_PLANNED_EXPIRE,
    IMAGES_PLANNED_TRANSITION,
    IMAGES_EXPIRED,
    IMAGES_TRANSITIONED,
    BYTES_FREED,
    ACTION_FAILURES,
    ACTIONS_CHANGED_SINCE_PLANNED,
    SAFETY_CAP_TRIPPED,
    SWEEP_ERRORS,
    IN_USE_UNKNOWN,
    PROTECTED_IN_USE,
    PROTECTED_BY_TAG,
    PROTECTED_BY_AGE,
    PROTECTED_INDEX_UNREADABLE,
    FINDINGS_FORWARDED,
    FINDINGS_SUPPRESSED,
    FINDINGS_BELOW_THRESHOLD,
    FINDINGS_FAILED,
];

/// One EMF record: a set of dimensions and counts taken at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct EmfRecord {
    dimensions: Vec<(String, String)>,
    values: Vec<(Metric, f64)>,
}

impl EmfRecord {
    pub fn new() -> Self {
        EmfRecord {
            dimensions: Vec::new(),
            values: Vec::new(),
        }
    }

    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn value(mut self, metric: Metric, value: f64) -> Self {
        self.values.push((metric, value));
        self
    }

    /// The record as one EMF JSON line.
    pub fn to_line(&self, timestamp_millis: i64) -> String {
        let metrics: Vec<Value> = self
            .values
            .iter()
            .map(|(metric, _)| json!({ "Name": metric.name, "Unit": metric.unit.as_str() }))
            .collect();
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let mut root = Map::new();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_millis,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimension_names],
                    "Metrics": metrics,
                }],
            }),
        );
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (metric, value) in &self.values {
            root.insert(metric.name.to_owned(), json!(value));
        }
        Value::Object(root).to_string()
    }

    /// Prints the record to stdout, where Lambda's log capture picks it up.
    pub fn emit(&self) {
        println!("{}", self.to_line(chrono::Utc::now().timestamp_millis()));
    }
}

impl Default for EmfRecord {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod catalog_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_declares_every_metric_with_its_unit_and_every_dimension() {
        let line = EmfRecord::new()
            .dimension("Function", "lifecycle-sweeper")
            .value(IMAGES_EXPIRED, 3.0)
            .value(BYTES_FREED, 1024.0)
            .to_line(1_700_000_000_000);
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "ImagesExpired", "Unit": "Count"}, {"Name": "BytesFreed", "Unit": "Bytes"}])
        );
        assert_eq!(value["Function"], "lifecycle-sweeper");
        assert_eq!(value["ImagesExpired"], 3.0);
        assert_eq!(value["BytesFreed"], 1024.0);
    }

    #[test]
    fn every_metric_is_listed_once() {
        let names: std::collections::BTreeSet<&str> =
            ALL.iter().map(|metric| metric.name).collect();
        assert_eq!(names.len(), ALL.len());
    }
}

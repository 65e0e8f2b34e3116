//! CloudWatch Embedded Metric Format: a JSON line on stdout that CloudWatch Logs turns
//! into metrics without any API call from the function.

use serde_json::{json, Map, Value};

/// Namespace of every janitor metric.
pub const NAMESPACE: &str = "EcrJanitor";

/// One EMF record: a set of dimensions and counts taken at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct EmfRecord {
    dimensions: Vec<(String, String)>,
    counts: Vec<(String, f64)>,
}

impl EmfRecord {
    pub fn new() -> Self {
        EmfRecord {
            dimensions: Vec::new(),
            counts: Vec::new(),
        }
    }

    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn count(mut self, name: &str, value: f64) -> Self {
        self.counts.push((name.to_owned(), value));
        self
    }

    /// The record as one EMF JSON line.
    pub fn to_line(&self, timestamp_millis: i64) -> String {
        let metrics: Vec<Value> = self
            .counts
            .iter()
            .map(|(name, _)| json!({ "Name": name, "Unit": "Count" }))
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
        for (name, value) in &self.counts {
            root.insert(name.clone(), json!(value));
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
mod tests {
    use super::*;

    #[test]
    fn line_declares_every_metric_and_dimension() {
        let line = EmfRecord::new()
            .dimension("Function", "scan-forwarder")
            .count("Forwarded", 3.0)
            .count("Suppressed", 1.0)
            .to_line(1_700_000_000_000);
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "Forwarded", "Unit": "Count"}, {"Name": "Suppressed", "Unit": "Count"}])
        );
        assert_eq!(value["Function"], "scan-forwarder");
        assert_eq!(value["Forwarded"], 3.0);
        assert_eq!(value["Suppressed"], 1.0);
    }
}

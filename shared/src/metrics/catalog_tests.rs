//! `infra/modules/janitor/metrics.json` lists exactly the metrics the functions emit:
//! every metric name, unit, dimension set and dimension value a record carries is
//! listed, and every one listed is emitted. The dashboard is built from that file.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{EmfRecord, ALL, NAMESPACE};
use crate::findings::model::tests::sample_finding;
use crate::findings::{metrics as forwarder_metrics, Finding, ForwardReport};
use crate::sweep::report::{PolicyKind, RepositorySummary};
use crate::sweep::SweepMode;

const CATALOG: &str = include_str!("../../../infra/modules/janitor/metrics.json");

/// A metric as CloudWatch tells metrics apart, by name and dimension names.
type MetricKey = (String, BTreeSet<String>);

/// What is known of one metric: its unit and the values of each dimension.
#[derive(Debug, Default, PartialEq)]
struct MetricFacts {
    units: BTreeSet<String>,
    dimension_values: BTreeMap<String, BTreeSet<String>>,
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// The catalog, keyed like [`emitted`].
fn listed() -> BTreeMap<MetricKey, MetricFacts> {
    let catalog: Value = serde_json::from_str(CATALOG).expect("metrics.json is JSON");
    assert_eq!(catalog["namespace"], NAMESPACE);
    let mut listed = BTreeMap::new();
    for metric in catalog["metrics"].as_array().expect("a metrics list") {
        let dimensions = metric["dimensions"]
            .as_object()
            .expect("a dimensions object");
        let key = (text(&metric["name"]), dimensions.keys().cloned().collect());
        let facts = MetricFacts {
            units: BTreeSet::from([text(&metric["unit"])]),
            dimension_values: dimensions
                .iter()
                .map(|(name, values)| {
                    let values = values.as_array().expect("a list of values");
                    (name.clone(), values.iter().map(text).collect())
                })
                .collect(),
        };
        let previous = listed.insert(key.clone(), facts);
        assert!(previous.is_none(), "{key:?} is listed twice");
    }
    listed
}

/// Every metric in the records' EMF lines, keyed by name and dimension names.
fn emitted(records: &[EmfRecord]) -> BTreeMap<MetricKey, MetricFacts> {
    let mut emitted: BTreeMap<MetricKey, MetricFacts> = BTreeMap::new();
    for record in records {
        let line: Value = serde_json::from_str(&record.to_line(0)).expect("EMF JSON");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        let dimension_names: BTreeSet<String> = directive["Dimensions"][0]
            .as_array()
            .expect("one dimension set")
            .iter()
            .map(text)
            .collect();
        for metric in directive["Metrics"].as_array().expect("a metrics list") {
            let facts = emitted
                .entry((text(&metric["Name"]), dimension_names.clone()))
                .or_default();
            facts.units.insert(text(&metric["Unit"]));
            for name in &dimension_names {
                facts
                    .dimension_values
                    .entry(name.clone())
                    .or_default()
                    .insert(text(&line[name]));
            }
        }
    }
    emitted
}

/// Every record the functions can emit: a sweep in each mode, and a forwarded event
/// with findings of every severity, forwarded and suppressed.
fn every_record() -> Vec<EmfRecord> {
    let severities = forwarder_metrics::SEVERITIES;
    let findings: Vec<Finding> = severities
        .iter()
        .map(|&severity| Finding {
            severity,
            ..sample_finding()
        })
        .collect();
    let mut records: Vec<EmfRecord> = [SweepMode::DryRun, SweepMode::Enforce]
        .into_iter()
        .map(|mode| RepositorySummary::new("repo", PolicyKind::Configured, mode).metrics())
        .collect();
    records.extend(forwarder_metrics::records(
        &ForwardReport::default(),
        &findings,
        &severities,
    ));
    records
}

#[test]
fn the_catalog_lists_exactly_the_emitted_metrics() {
    assert_eq!(emitted(&every_record()), listed());
}

#[test]
fn the_catalog_names_exactly_the_metric_constants() {
    let constants: BTreeSet<(String, String)> = ALL
        .iter()
        .map(|metric| (metric.name.to_owned(), metric.unit.as_str().to_owned()))
        .collect();
    let listed: BTreeSet<(String, String)> = listed()
        .into_iter()
        .flat_map(|((name, _), facts)| {
            facts
                .units
                .into_iter()
                .map(move |unit| (name.clone(), unit))
        })
        .collect();
    assert_eq!(constants, listed);
}

//! Scan findings (issue 5). Placeholder section type until the scan-forwarder lands.

use crate::config::FieldError;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanConfig {}

impl ScanConfig {
    pub fn validate(&self, _field: &str, _errors: &mut Vec<FieldError>) {}
}

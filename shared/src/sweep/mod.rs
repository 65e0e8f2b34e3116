//! Lifecycle sweeps (issue 3). Placeholder section type until the sweeper lands.

use crate::config::FieldError;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SweeperConfig {}

impl SweeperConfig {
    pub fn validate(&self, _field: &str, _errors: &mut Vec<FieldError>) {}
}

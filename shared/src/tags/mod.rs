//! Tag rules (issue 4). Placeholder section type until the tag-enforcer lands.

use crate::config::FieldError;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagRulesConfig {}

impl TagRulesConfig {
    pub fn validate(&self, _field: &str, _errors: &mut Vec<FieldError>) {}
}

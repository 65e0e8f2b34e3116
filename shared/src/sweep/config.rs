//! The `sweeper` section of the configuration: which repositories are swept, with
//! which lifecycle policy, in which mode and under which protections.
//!
//! Repository entries are tried in order and the first entry that matches a
//! repository wins: an entry matches when one of its `include` globs matches the name
//! and none of its `exclude` globs does. A repository excluded by one entry can still
//! be picked up by a later one.

use serde::{Deserialize, Deserializer, Serialize};

use super::in_use::InUseConfig;
use crate::config::FieldError;
use crate::lifecycle::{ImageStatus, LifecyclePolicy};
use crate::pattern::WildcardPattern;

/// Default number of selected repositories above which a scheduled run fans out.
pub const DEFAULT_FAN_OUT_THRESHOLD: usize = 20;
/// Upper bound of `minimumAgeDays` (ten years): larger values are almost surely typos.
const MAX_MINIMUM_AGE_DAYS: u32 = 3650;

/// Whether a sweep only reports its plan or also applies it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepMode {
    #[default]
    DryRun,
    Enforce,
}

/// The `sweeper` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SweeperConfig {
    /// Mode of entries that do not set their own.
    #[serde(default)]
    pub mode: SweepMode,
    /// Above this many selected repositories, a scheduled run publishes one
    /// `Sweep Repository` event per repository instead of sweeping them itself.
    #[serde(default = "default_fan_out_threshold")]
    pub fan_out_threshold: usize,
    /// Repository entries; the first matching entry wins.
    #[serde(default)]
    pub repositories: Vec<RepositoryEntry>,
    /// Which sources of "in use" are read.
    #[serde(default)]
    pub in_use: InUseConfig,
    /// Whether images tagged `sha256-<digest>.<suffix>` (cosign signatures,
    /// attestations, SBOMs) follow the image they name; on by default.
    #[serde(default = "default_tagged_artifacts")]
    pub tagged_artifacts: bool,
}

fn default_tagged_artifacts() -> bool {
    true
}

fn default_fan_out_threshold() -> usize {
    DEFAULT_FAN_OUT_THRESHOLD
}

impl Default for SweeperConfig {
    fn default() -> Self {
        SweeperConfig {
            mode: SweepMode::default(),
            fan_out_threshold: DEFAULT_FAN_OUT_THRESHOLD,
            repositories: Vec::new(),
            in_use: InUseConfig::default(),
            tagged_artifacts: true,
        }
    }
}

/// One `sweeper.repositories[]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryEntry {
    /// Repository name globs (ECR `*` wildcards); at least one.
    pub include: Vec<WildcardPattern>,
    /// Names matching any of these are not matched by this entry.
    #[serde(default)]
    pub exclude: Vec<WildcardPattern>,
    /// The lifecycle policy to apply.
    pub policy: PolicySource,
    /// Overrides the section's mode for these repositories.
    #[serde(default)]
    pub mode: Option<SweepMode>,
    /// Protected tags added for these repositories (see [`crate::protected_tags`]).
    #[serde(default)]
    pub protected_tags: Vec<WildcardPattern>,
    /// Images pushed (or restored) less than this many days ago are never acted on.
    #[serde(default)]
    pub minimum_age_days: u32,
    /// Above this, a run acts on nothing and reports why.
    #[serde(default)]
    pub safety_cap: Option<SafetyCap>,
}

/// Where an entry's lifecycle policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The repository's own ECR lifecycle policy (`GetLifecyclePolicy`); preview only.
    Native,
    /// An ECR lifecycle policy document (its JSON text).
    Document(String),
}

impl<'de> Deserialize<'de> for PolicySource {
    /// Accepts `"native"`, a policy object, or a policy as JSON text (as ECR's API and
    /// Terraform's `jsonencode` carry it).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) if text == "native" => Ok(PolicySource::Native),
            serde_json::Value::String(text) => Ok(PolicySource::Document(text)),
            value @ serde_json::Value::Object(_) => Ok(PolicySource::Document(value.to_string())),
            _ => Err(serde::de::Error::custom(
                "expected \"native\" or an ECR lifecycle policy document ({\"rules\": [...]})",
            )),
        }
    }
}

/// Limits on how much one run may act on in one repository.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SafetyCap {
    /// At most this many images acted on.
    #[serde(default)]
    pub max_images: Option<u64>,
    /// At most this fraction (0 < f ≤ 1) of the repository's images acted on.
    #[serde(default)]
    pub max_fraction: Option<f64>,
}

/// Images counted by the storage class an action applies to: expirations and
/// transitions of active images take runnable images away, so they are weighed against
/// the repository's active images; expirations of archived (or restoring) images
/// against its archived ones. A repository that is mostly archive cannot hide the loss
/// of every runnable image behind its archived ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCounts {
    /// `ACTIVE` images.
    pub standard: usize,
    /// `ARCHIVED` and `ACTIVATING` images.
    pub archive: usize,
}

impl ClassCounts {
    pub fn add(&mut self, status: ImageStatus) {
        match status {
            ImageStatus::Active => self.standard += 1,
            ImageStatus::Archived | ImageStatus::Activating => self.archive += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.standard + self.archive
    }
}

impl SafetyCap {
    /// Why acting on `acted` images of a repository holding `held` would exceed the
    /// cap, if it would: `maxImages` counts every action, `maxFraction` applies to each
    /// storage class on its own.
    pub fn exceeded_by(&self, acted: ClassCounts, held: ClassCounts) -> Option<String> {
        if let Some(max) = self.max_images {
            let actions = acted.total();
            if actions as u64 > max {
                return Some(format!(
                    "{actions} images would be acted on, more than safetyCap.maxImages = {max}"
                ));
            }
        }
        let max = self.max_fraction?;
        [
            ("active", acted.standard, held.standard),
            ("archived", acted.archive, held.archive),
        ]
        .into_iter()
        .find(|(_, actions, total)| *total > 0 && *actions as f64 > max * *total as f64)
        .map(|(class, actions, total)| {
            format!(
                "{actions} of {total} {class} images would be acted on, more than safetyCap.maxFraction = {max}"
            )
        })
    }
}

impl SweeperConfig {
    /// The entry that governs `repository`: the first whose globs match.
    pub fn entry_for(&self, repository: &str) -> Option<&RepositoryEntry> {
        self.repositories
            .iter()
            .find(|entry| entry.matches(repository))
    }

    pub fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        for (index, entry) in self.repositories.iter().enumerate() {
            entry.validate(&format!("{field}.repositories[{index}]"), errors);
        }
        self.in_use.validate(&format!("{field}.inUse"), errors);
    }
}

impl RepositoryEntry {
    pub fn matches(&self, repository: &str) -> bool {
        self.include.iter().any(|glob| glob.matches(repository))
            && !self.exclude.iter().any(|glob| glob.matches(repository))
    }

    /// The mode this entry runs in: native policies are only ever previewed.
    pub fn effective_mode(&self, default: SweepMode) -> SweepMode {
        match self.policy {
            PolicySource::Native => SweepMode::DryRun,
            PolicySource::Document(_) => self.mode.unwrap_or(default),
        }
    }

    /// Every semantic problem of the entry at `field` (`sweeper.repositories[0]`).
    pub(crate) fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        if self.include.is_empty() {
            errors.push(FieldError::new(
                format!("{field}.include"),
                "must list at least one repository name glob",
            ));
        }
        for (list, globs) in [("include", &self.include), ("exclude", &self.exclude)] {
            for (index, glob) in globs.iter().enumerate() {
                if glob.as_str().is_empty() {
                    errors.push(FieldError::new(
                        format!("{field}.{list}[{index}]"),
                        "must not be empty",
                    ));
                }
            }
        }
        crate::tags::config::check_tag_patterns(
            &self.protected_tags,
            &format!("{field}.protectedTags"),
            errors,
        );
        if self.minimum_age_days > MAX_MINIMUM_AGE_DAYS {
            errors.push(FieldError::new(
                format!("{field}.minimumAgeDays"),
                format!(
                    "must be at most {MAX_MINIMUM_AGE_DAYS}, got {}",
                    self.minimum_age_days
                ),
            ));
        }
        if let Some(cap) = &self.safety_cap {
            if cap.max_images.is_none() && cap.max_fraction.is_none() {
                errors.push(FieldError::new(
                    format!("{field}.safetyCap"),
                    "must set maxImages, maxFraction or both",
                ));
            }
            if cap.max_images == Some(0) {
                errors.push(FieldError::new(
                    format!("{field}.safetyCap.maxImages"),
                    "must be at least 1, got 0",
                ));
            }
            if let Some(fraction) = cap.max_fraction {
                if !(fraction > 0.0 && fraction <= 1.0) {
                    errors.push(FieldError::new(
                        format!("{field}.safetyCap.maxFraction"),
                        format!("must be greater than 0 and at most 1, got {fraction}"),
                    ));
                }
            }
        }
        if let PolicySource::Document(text) = &self.policy {
            if let Err(policy_errors) = LifecyclePolicy::parse(text) {
                for error in policy_errors.errors() {
                    let rule = error
                        .rule_priority
                        .map(|priority| format!(".rules[rulePriority={priority}]"))
                        .unwrap_or_default();
                    let inner = if error.field.is_empty() {
                        String::new()
                    } else {
                        format!(".{}", error.field)
                    };
                    errors.push(FieldError::new(
                        format!("{field}.policy{rule}{inner}"),
                        error.message.clone(),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, ConfigSource, JanitorConfig};
    use serde_json::json;

    const POLICY: &str = r#"{"rules": [{"rulePriority": 10, "description": "old untagged",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
        "action": {"type": "expire"}}]}"#;

    fn sweeper(value: serde_json::Value) -> Result<SweeperConfig, ConfigError> {
        JanitorConfig::from_json(
            &json!({ "sweeper": value }).to_string(),
            ConfigSource::Inline,
        )
        .map(|config| config.sweeper)
    }

    fn invalid_fields(value: serde_json::Value) -> Vec<String> {
        match sweeper(value) {
            Err(ConfigError::Invalid { errors, .. }) => {
                errors.into_iter().map(|error| error.field).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn policy() -> serde_json::Value {
        serde_json::from_str(POLICY).expect("policy json")
    }

    #[test]
    fn defaults_are_dry_run_with_a_threshold_of_twenty() {
        let config = sweeper(json!({})).expect("valid");
        assert_eq!(config.mode, SweepMode::DryRun);
        assert_eq!(config.fan_out_threshold, 20);
        assert!(config.repositories.is_empty());
        assert_eq!(SweeperConfig::default().fan_out_threshold, 20);
    }

    #[test]
    fn the_contract_example_parses() {
        let config = sweeper(json!({
            "mode": "dry-run",
            "fanOutThreshold": 20,
            "repositories": [
                { "include": ["team-a/*"], "exclude": ["team-a/legacy-*"], "policy": policy(),
                  "mode": "enforce", "protectedTags": ["prod-*", "release-*"], "minimumAgeDays": 3,
                  "safetyCap": {"maxImages": 500, "maxFraction": 0.5} },
                { "include": ["*"], "policy": "native" }
            ]
        }))
        .expect("valid");
        let first = &config.repositories[0];
        assert_eq!(first.effective_mode(config.mode), SweepMode::Enforce);
        assert_eq!(first.minimum_age_days, 3);
        assert_eq!(
            first.safety_cap,
            Some(SafetyCap {
                max_images: Some(500),
                max_fraction: Some(0.5)
            })
        );
        assert_eq!(config.repositories[1].policy, PolicySource::Native);
    }

    #[test]
    fn first_matching_entry_wins_and_exclusions_fall_through() {
        let config = sweeper(json!({
            "repositories": [
                { "include": ["team-a/*"], "exclude": ["team-a/legacy-*"], "policy": policy() },
                { "include": ["*"], "policy": "native" }
            ]
        }))
        .expect("valid");
        let entry = |name| {
            config
                .entry_for(name)
                .map(|entry| entry.policy == PolicySource::Native)
        };
        assert_eq!(entry("team-a/api"), Some(false));
        assert_eq!(entry("team-a/legacy-api"), Some(true));
        assert_eq!(entry("team-b/api"), Some(true));
        let narrow =
            sweeper(json!({"repositories": [{"include": ["team-a/*"], "policy": policy()}]}))
                .expect("valid");
        assert!(narrow.entry_for("team-b/api").is_none());
    }

    #[test]
    fn native_policies_are_always_dry_run() {
        let config = sweeper(json!({
            "mode": "enforce",
            "repositories": [{ "include": ["*"], "policy": "native", "mode": "enforce" }]
        }))
        .expect("valid");
        assert_eq!(
            config.repositories[0].effective_mode(config.mode),
            SweepMode::DryRun
        );
    }

    #[test]
    fn policy_may_be_given_as_json_text() {
        let config = sweeper(json!({"repositories": [{"include": ["*"], "policy": POLICY}]}))
            .expect("valid");
        assert!(matches!(
            config.repositories[0].policy,
            PolicySource::Document(_)
        ));
    }

    #[test]
    fn semantic_errors_name_their_fields() {
        let fields = invalid_fields(json!({
            "repositories": [
                { "include": [], "policy": policy() },
                { "include": ["*"], "exclude": [""], "policy": policy(), "protectedTags": [""],
                  "minimumAgeDays": 5000, "safetyCap": {"maxImages": 0, "maxFraction": 1.5} },
                { "include": ["*"], "policy": policy(), "safetyCap": {} }
            ]
        }));
        assert_eq!(
            fields,
            vec![
                "sweeper.repositories[0].include",
                "sweeper.repositories[1].exclude[0]",
                "sweeper.repositories[1].protectedTags[0]",
                "sweeper.repositories[1].minimumAgeDays",
                "sweeper.repositories[1].safetyCap.maxImages",
                "sweeper.repositories[1].safetyCap.maxFraction",
                "sweeper.repositories[2].safetyCap",
            ]
        );
    }

    #[test]
    fn policy_errors_are_mapped_under_the_policy_field() {
        let mut bad = policy();
        bad["rules"][0]["selection"]["countNumber"] = json!(0);
        let fields = invalid_fields(json!({"repositories": [{"include": ["*"], "policy": bad}]}));
        assert!(!fields.is_empty());
        assert!(
            fields
                .iter()
                .all(|field| field.starts_with("sweeper.repositories[0].policy")),
            "{fields:?}"
        );
        assert!(
            fields.iter().any(|field| field.contains("countNumber")),
            "{fields:?}"
        );
    }

    #[test]
    fn structural_errors_name_their_fields() {
        for (value, field) in [
            (json!({"mode": "delete"}), "sweeper.mode"),
            (
                json!({"repositories": [{"include": ["*"]}]}),
                "sweeper.repositories[0]",
            ),
            (
                json!({"repositories": [{"include": ["*"], "policy": 3}]}),
                "sweeper.repositories[0].policy",
            ),
            (
                json!({"repositories": [{"include": ["*"], "policy": "native", "minAge": 1}]}),
                "sweeper.repositories[0].minAge",
            ),
        ] {
            assert_eq!(invalid_fields(value.clone()), vec![field], "{value}");
        }
    }

    fn counts(standard: usize, archive: usize) -> ClassCounts {
        ClassCounts { standard, archive }
    }

    #[test]
    fn safety_cap_counts_images_and_fractions() {
        let cap = SafetyCap {
            max_images: Some(10),
            max_fraction: Some(0.5),
        };
        assert_eq!(cap.exceeded_by(counts(10, 0), counts(20, 0)), None);
        assert!(cap
            .exceeded_by(counts(11, 0), counts(100, 0))
            .is_some_and(|why| why.contains("maxImages")));
        assert_eq!(
            cap.exceeded_by(counts(6, 0), counts(10, 0)).as_deref(),
            Some("6 of 10 active images would be acted on, more than safetyCap.maxFraction = 0.5")
        );
        assert_eq!(cap.exceeded_by(counts(0, 0), counts(0, 0)), None);
    }

    #[test]
    fn max_fraction_weighs_each_storage_class_on_its_own() {
        let cap = SafetyCap {
            max_images: None,
            max_fraction: Some(0.5),
        };
        // Every one of 10 runnable images in a repository of 1000 archived ones.
        assert_eq!(
            cap.exceeded_by(counts(10, 0), counts(10, 1000)).as_deref(),
            Some("10 of 10 active images would be acted on, more than safetyCap.maxFraction = 0.5")
        );
        assert_eq!(
            cap.exceeded_by(counts(0, 600), counts(10, 1000)).as_deref(),
            Some("600 of 1000 archived images would be acted on, more than safetyCap.maxFraction = 0.5")
        );
        assert_eq!(cap.exceeded_by(counts(5, 500), counts(10, 1000)), None);
        let mut held = ClassCounts::default();
        for status in [
            ImageStatus::Active,
            ImageStatus::Archived,
            ImageStatus::Activating,
        ] {
            held.add(status);
        }
        assert_eq!(held, counts(1, 2));
    }
}

//! The janitor's configuration: one JSON document shared by all three functions.
//!
//! Each function reads the section it needs; all sections are validated together at
//! cold start so that a bad document fails every function loudly instead of one of
//! them quietly. The document can live inline in an environment variable (small
//! configurations, local runs), in a file, or in S3 (deployments: Lambda's 4 KB
//! environment limit does not apply there).

use std::fmt;

use serde::Deserialize;

use crate::findings::ScanConfig;
use crate::pattern::WildcardPattern;
use crate::protected_tags::ProtectedTags;
use crate::sweep::SweeperConfig;
use crate::tags::TagRulesConfig;

/// Inline JSON configuration.
pub const ENV_CONFIG_JSON: &str = "JANITOR_CONFIG";
/// Path of a JSON configuration file.
pub const ENV_CONFIG_FILE: &str = "JANITOR_CONFIG_FILE";
/// `s3://bucket/key` of a JSON configuration object.
pub const ENV_CONFIG_S3_URI: &str = "JANITOR_CONFIG_S3_URI";

/// The whole configuration document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JanitorConfig {
    /// Tags (ECR `*` wildcards) whose images no function ever removes, in every
    /// repository (see [`ProtectedTags`]).
    #[serde(default)]
    pub protected_tags: Vec<WildcardPattern>,
    /// Scheduled lifecycle sweeps.
    #[serde(default)]
    pub sweeper: SweeperConfig,
    /// Tag rules applied on every push.
    #[serde(default)]
    pub tag_rules: TagRulesConfig,
    /// Scan finding forwarding.
    #[serde(default)]
    pub scan: ScanConfig,
}

/// One problem with one field of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `sweeper.repositories[1].safetyCap.maxFraction`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Where a configuration document came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Inline,
    File(String),
    S3(String),
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Inline => write!(f, "{ENV_CONFIG_JSON}"),
            ConfigSource::File(path) => write!(f, "file {path}"),
            ConfigSource::S3(uri) => write!(f, "{uri}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration: set exactly one of {ENV_CONFIG_JSON}, {ENV_CONFIG_FILE} or {ENV_CONFIG_S3_URI}")]
    Missing,
    #[error("ambiguous configuration: set only one of {ENV_CONFIG_JSON}, {ENV_CONFIG_FILE} or {ENV_CONFIG_S3_URI} (found {0})")]
    Ambiguous(String),
    #[error("{ENV_CONFIG_S3_URI} must look like s3://bucket/key, got {0:?}")]
    BadS3Uri(String),
    #[error("cannot read configuration from {source_name}: {message}")]
    Read {
        source_name: ConfigSource,
        message: String,
    },
    #[error("configuration {source_name} is not valid JSON for field {field}: {message}")]
    Parse {
        source_name: ConfigSource,
        field: String,
        message: String,
    },
    #[error("configuration {source_name} is invalid:\n{}", .errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        source_name: ConfigSource,
        errors: Vec<FieldError>,
    },
}

impl JanitorConfig {
    /// Parses and validates a configuration document, reporting every problem at once.
    pub fn from_json(text: &str, source_name: ConfigSource) -> Result<Self, ConfigError> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let config: JanitorConfig =
            serde_path_to_error::deserialize(deserializer).map_err(|err| ConfigError::Parse {
                source_name: source_name.clone(),
                field: display_path(&err.path().to_string()),
                message: err.inner().to_string(),
            })?;
        let errors = config.validate();
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                source_name,
                errors,
            })
        }
    }

    /// Every semantic problem of the document, in document order.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        crate::tags::config::check_tag_patterns(&self.protected_tags, "protectedTags", &mut errors);
        self.sweeper.validate("sweeper", &mut errors);
        self.tag_rules.validate("tagRules", &mut errors);
        self.scan.validate("scan", &mut errors);
        errors
    }

    /// The protected tags of `repository`: the top-level list, `tagRules.protectedTags`
    /// and the `protectedTags` of the sweeper entry that selects the repository.
    pub fn protected_tags(&self, repository: &str) -> ProtectedTags {
        let entry = self
            .sweeper
            .entry_for(repository)
            .map(|entry| entry.protected_tags.as_slice())
            .unwrap_or_default();
        ProtectedTags::new(
            self.protected_tags
                .iter()
                .chain(&self.tag_rules.protected_tags)
                .chain(entry),
        )
    }

    /// Loads the configuration named by the environment (see the `ENV_*` constants).
    pub async fn load_from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let inline = std::env::var(ENV_CONFIG_JSON).ok();
        let file = std::env::var(ENV_CONFIG_FILE).ok();
        let s3 = std::env::var(ENV_CONFIG_S3_URI).ok();
        let set: Vec<&str> = [
            (ENV_CONFIG_JSON, &inline),
            (ENV_CONFIG_FILE, &file),
            (ENV_CONFIG_S3_URI, &s3),
        ]
        .iter()
        .filter(|(_, value)| value.as_deref().is_some_and(|v| !v.trim().is_empty()))
        .map(|(name, _)| *name)
        .collect();
        if set.len() > 1 {
            return Err(ConfigError::Ambiguous(set.join(", ")));
        }
        match set.first().copied() {
            Some(ENV_CONFIG_JSON) => {
                Self::from_json(inline.as_deref().unwrap_or_default(), ConfigSource::Inline)
            }
            Some(ENV_CONFIG_FILE) => {
                let path = file.unwrap_or_default();
                Self::from_file(&path)
            }
            Some(_) => {
                let uri = s3.unwrap_or_default();
                let text = read_s3_object(sdk, &uri).await?;
                Self::from_json(&text, ConfigSource::S3(uri))
            }
            None => Err(ConfigError::Missing),
        }
    }

    /// Reads and validates a configuration file.
    pub fn from_file(path: &str) -> Result<Self, ConfigError> {
        let source_name = ConfigSource::File(path.to_owned());
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
            source_name: source_name.clone(),
            message: err.to_string(),
        })?;
        Self::from_json(&text, source_name)
    }
}

/// serde_path_to_error prints `.` for the root; say "(document)" instead.
fn display_path(path: &str) -> String {
    if path == "." || path.is_empty() {
        "(document)".to_owned()
    } else {
        path.to_owned()
    }
}

fn parse_s3_uri(uri: &str) -> Result<(&str, &str), ConfigError> {
    let rest = uri
        .strip_prefix("s3://")
        .ok_or_else(|| ConfigError::BadS3Uri(uri.to_owned()))?;
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok((bucket, key)),
        _ => Err(ConfigError::BadS3Uri(uri.to_owned())),
    }
}

async fn read_s3_object(sdk: &aws_config::SdkConfig, uri: &str) -> Result<String, ConfigError> {
    let (bucket, key) = parse_s3_uri(uri)?;
    let source_name = ConfigSource::S3(uri.to_owned());
    let read_error = |message: String| ConfigError::Read {
        source_name: source_name.clone(),
        message,
    };
    let client = aws_sdk_s3::Client::new(sdk);
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|err| read_error(aws_sdk_s3::error::DisplayErrorContext(err).to_string()))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|err| read_error(err.to_string()))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|err| read_error(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_the_default_configuration() {
        let config = JanitorConfig::from_json("{}", ConfigSource::Inline).expect("valid");
        assert!(config.validate().is_empty());
    }

    #[test]
    fn unknown_top_level_field_is_named() {
        let err = JanitorConfig::from_json(r#"{"sweepr": {}}"#, ConfigSource::Inline)
            .expect_err("unknown field");
        let text = err.to_string();
        assert!(text.contains("sweepr"), "{text}");
    }

    #[test]
    fn every_protected_tag_list_protects_in_the_repositories_it_covers() {
        let config = JanitorConfig::from_json(
            r#"{"protectedTags": ["prod-*"],
                "tagRules": {"protectedTags": ["stable"]},
                "sweeper": {"repositories": [
                    {"include": ["team-a/*"], "policy": "native", "protectedTags": ["keep-*"]}]}}"#,
            ConfigSource::Inline,
        )
        .expect("valid");
        let protected = |repository: &str, tag: &str| {
            config
                .protected_tags(repository)
                .pattern_for(tag)
                .map(|pattern| pattern.as_str().to_owned())
        };
        assert_eq!(protected("team-a/api", "prod-1").as_deref(), Some("prod-*"));
        assert_eq!(protected("team-a/api", "stable").as_deref(), Some("stable"));
        assert_eq!(
            protected("team-a/api", "keep-me").as_deref(),
            Some("keep-*")
        );
        assert_eq!(protected("team-b/api", "stable").as_deref(), Some("stable"));
        assert_eq!(protected("team-b/api", "keep-me"), None);
    }

    #[test]
    fn top_level_protected_tags_are_validated_like_tags() {
        match JanitorConfig::from_json(
            r#"{"protectedTags": ["ok", "", "a b"]}"#,
            ConfigSource::Inline,
        ) {
            Err(ConfigError::Invalid { errors, .. }) => assert_eq!(
                errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
                vec!["protectedTags[1]", "protectedTags[2]"]
            ),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn s3_uri_must_name_bucket_and_key() {
        assert_eq!(
            parse_s3_uri("s3://bucket/path/config.json").expect("valid"),
            ("bucket", "path/config.json")
        );
        for bad in ["bucket/key", "s3://bucket", "s3://bucket/", "s3:///key"] {
            assert!(
                matches!(parse_s3_uri(bad), Err(ConfigError::BadS3Uri(_))),
                "{bad}"
            );
        }
    }
}

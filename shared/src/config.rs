//! The janitor's configuration: one JSON document shared by all three functions.
//!
//! Each function reads the section it needs; all sections are validated together at
//! cold start so that a bad document fails every function loudly instead of one of
//! them quietly. The document can live inline in an environment variable (small
//! configurations, local runs), in a file, or in S3 (deployments: Lambda's 4 KB
//! environment limit does not apply there).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use crate::findings::{ScanConfig, Suppression};
use crate::pattern::WildcardPattern;
use crate::protected_tags::ProtectedTags;
use crate::sweep::{RepositoryEntry, SweeperConfig};
use crate::tags::{TagRule, TagRulesConfig};
use crate::targets::TargetsConfig;

/// Inline JSON configuration.
pub const ENV_CONFIG_JSON: &str = "JANITOR_CONFIG";
/// Path of a JSON configuration file.
pub const ENV_CONFIG_FILE: &str = "JANITOR_CONFIG_FILE";
/// `s3://bucket/key` of a JSON configuration object.
pub const ENV_CONFIG_S3_URI: &str = "JANITOR_CONFIG_S3_URI";
/// How errors name the document as a whole.
const DOCUMENT_FIELD: &str = "(document)";

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
    /// The member accounts and Regions served besides the hub's own; absent, the
    /// janitor serves only the account and Region it runs in.
    #[serde(default)]
    pub targets: Option<TargetsConfig>,
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
    /// The text is not JSON at all.
    #[error("configuration {source_name} is not JSON: {message} at line {line} column {column}")]
    Parse {
        source_name: ConfigSource,
        line: usize,
        column: usize,
        message: String,
    },
    /// The document is JSON: every value of the wrong type, unknown field and
    /// semantic problem, each with its field path.
    #[error("configuration {source_name} is invalid:\n{}", .errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        source_name: ConfigSource,
        errors: Vec<FieldError>,
    },
}

impl JanitorConfig {
    /// Parses and validates a configuration document, reporting every problem at once:
    /// each section and each element of its lists is read on its own, so one value of
    /// the wrong type hides neither the others nor the semantic problems of what could
    /// be read.
    pub fn from_json(text: &str, source_name: ConfigSource) -> Result<Self, ConfigError> {
        let document: Value = serde_json::from_str(text).map_err(|err| ConfigError::Parse {
            source_name: source_name.clone(),
            line: err.line(),
            column: err.column(),
            message: json_error_message(&err),
        })?;
        let mut reader = DocumentReader::default();
        let parts = reader.read_document(&document);
        let mut errors = reader.errors;
        parts.validate(&mut errors);
        match parts.assemble() {
            Some(config) if errors.is_empty() => Ok(config),
            _ => Err(ConfigError::Invalid {
                source_name,
                errors,
            }),
        }
    }

    /// Every semantic problem of the document, in document order.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        crate::tags::config::check_tag_patterns(&self.protected_tags, "protectedTags", &mut errors);
        self.sweeper.validate("sweeper", &mut errors);
        self.tag_rules.validate("tagRules", &mut errors);
        self.scan.validate("scan", &mut errors);
        if let Some(targets) = &self.targets {
            targets.validate("targets", &mut errors);
        }
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

/// The path serde_path_to_error found, below `base` (`sweeper.repositories[0]`),
/// dotted as in the documentation: `base.safetyCap.maxImages`, `base[2]`. Segments
/// it could not name (where the input ended, or a key that is not text) are left
/// out, so a path never reads `.?`. An empty result is the document itself.
pub fn display_json_path(base: &str, path: &serde_path_to_error::Path) -> String {
    let mut text = base.to_owned();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    text
}

/// serde_json's message, except that input ending too early says so in words rather
/// than as `EOF while parsing ...`.
pub fn json_error_message(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Eof => "unexpected end of file".to_owned(),
        _ => {
            let text = error.to_string();
            let location = format!(" at line {} column {}", error.line(), error.column());
            text.strip_suffix(&location).unwrap_or(&text).to_owned()
        }
    }
}

/// A short rendering of a JSON value's kind for error messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Reads a configuration document piece by piece, collecting every type error with
/// its field path instead of stopping at the first.
#[derive(Debug, Default)]
struct DocumentReader {
    errors: Vec<FieldError>,
}

/// A section read with the elements of its list read one by one.
#[derive(Debug)]
struct SplitSection<S, E> {
    /// The section without the list (left empty); `None` when it could not be read.
    section: Option<S>,
    /// The elements that could be read, with their positions in the document.
    elements: Vec<(usize, E)>,
    /// Whether the list and every element of it could be read.
    whole_list: bool,
}

impl<S, E> SplitSection<S, E> {
    /// The section with its list, when every part of it could be read.
    fn assemble(self, put_list: impl FnOnce(&mut S, Vec<E>)) -> Option<S> {
        let mut section = self.section.filter(|_| self.whole_list)?;
        put_list(
            &mut section,
            self.elements
                .into_iter()
                .map(|(_, element)| element)
                .collect(),
        );
        Some(section)
    }
}

/// What could be read of the whole document.
#[derive(Debug)]
struct DocumentParts {
    /// The document without its sections (left at their defaults).
    top: Option<JanitorConfig>,
    sweeper: SplitSection<SweeperConfig, RepositoryEntry>,
    tag_rules: SplitSection<TagRulesConfig, TagRule>,
    scan: SplitSection<ScanConfig, Suppression>,
}

impl DocumentParts {
    /// The semantic problems of every part that could be read, in the order
    /// [`JanitorConfig::validate`] reports them. Each part is validated on its own,
    /// so that positions in lists stay those of the document; a section's own
    /// validation sees its list empty.
    fn validate(&self, errors: &mut Vec<FieldError>) {
        if let Some(top) = &self.top {
            errors.extend(top.validate());
        }
        for (index, entry) in &self.sweeper.elements {
            entry.validate(&format!("sweeper.repositories[{index}]"), errors);
        }
        if let Some(sweeper) = &self.sweeper.section {
            sweeper.validate("sweeper", errors);
        }
        for (index, rule) in &self.tag_rules.elements {
            rule.validate(&format!("tagRules.rules[{index}]"), errors);
        }
        if let Some(tag_rules) = &self.tag_rules.section {
            tag_rules.validate("tagRules", errors);
        }
        if let Some(scan) = &self.scan.section {
            scan.validate("scan", errors);
        }
        for (index, suppression) in &self.scan.elements {
            suppression.validate(&format!("scan.suppressions[{index}]"), errors);
        }
    }

    /// The whole configuration, when every part of it could be read.
    fn assemble(self) -> Option<JanitorConfig> {
        let sweeper = self
            .sweeper
            .assemble(|sweeper, entries| sweeper.repositories = entries);
        let tag_rules = self
            .tag_rules
            .assemble(|tag_rules, rules| tag_rules.rules = rules);
        let scan = self
            .scan
            .assemble(|scan, suppressions| scan.suppressions = suppressions);
        Some(JanitorConfig {
            sweeper: sweeper?,
            tag_rules: tag_rules?,
            scan: scan?,
            ..self.top?
        })
    }
}

impl DocumentReader {
    fn read_document(&mut self, document: &Value) -> DocumentParts {
        let empty = Value::Object(Map::new());
        let top = self.object(document, "");
        let mut rest = top.cloned().unwrap_or_default();
        // Absent sections read as empty objects: their defaults.
        let mut section = |key: &str| rest.remove(key).unwrap_or_else(|| empty.clone());
        let (sweeper, tag_rules, scan) = (section("sweeper"), section("tagRules"), section("scan"));
        DocumentParts {
            top: top.and_then(|_| self.read(&Value::Object(rest), "")),
            sweeper: self.read_split(&sweeper, "sweeper", "repositories"),
            tag_rules: self.read_split(&tag_rules, "tagRules", "rules"),
            scan: self.read_split(&scan, "scan", "suppressions"),
        }
    }

    /// `value` as a JSON object. serde reads a list as a struct, field by field in
    /// declaration order, so anything but an object is rejected here first.
    fn object<'v>(&mut self, value: &'v Value, field: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(object) => Some(object),
            other => {
                self.errors.push(FieldError::new(
                    display_field(field),
                    format!("must be a JSON object {{...}}, got {}", describe(other)),
                ));
                None
            }
        }
    }

    /// Reads the object `value` (found at `field`) as a `T`. A field of the wrong type,
    /// or an unknown one, is reported and left out, and the rest read again, so that
    /// every field's problem is reported. `None` when anything was wrong: a partly read
    /// value would be validated with defaults standing in for what was left out.
    fn read<T: DeserializeOwned>(&mut self, value: &Value, field: &str) -> Option<T> {
        let mut object = self.object(value, field)?.clone();
        let mut left_out: Vec<String> = Vec::new();
        loop {
            let error = match serde_path_to_error::deserialize(&Value::Object(object.clone())) {
                Ok(read) => return left_out.is_empty().then_some(read),
                Err(error) => error,
            };
            let message = error.inner().to_string();
            let bad_field = match error.path().iter().next() {
                Some(Segment::Map { key }) if object.contains_key(key) => Some(key.clone()),
                _ => None,
            };
            match bad_field {
                Some(key) => {
                    self.errors.push(FieldError::new(
                        display_json_path(field, error.path()),
                        message,
                    ));
                    object.remove(&key);
                    left_out.push(key);
                }
                None => {
                    // A field left out above is not missing: its problem is reported.
                    let left_out_is_missing = left_out
                        .iter()
                        .any(|key| message == format!("missing field `{key}`"));
                    if !left_out_is_missing {
                        self.errors.push(FieldError::new(
                            display_field(&display_json_path(field, error.path())),
                            message,
                        ));
                    }
                    return None;
                }
            }
        }
    }

    /// Reads the section at `field` with each element of its list `list` read on its
    /// own, so one bad element hides neither the others nor the rest of the section.
    fn read_split<S: DeserializeOwned, E: DeserializeOwned>(
        &mut self,
        value: &Value,
        field: &str,
        list: &str,
    ) -> SplitSection<S, E> {
        let Some(object) = self.object(value, field) else {
            return SplitSection {
                section: None,
                elements: Vec::new(),
                whole_list: false,
            };
        };
        let mut rest = object.clone();
        let items = rest.remove(list);
        let section = self.read(&Value::Object(rest), field);
        let mut elements = Vec::new();
        let mut whole_list = true;
        match items {
            None => {}
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    match self.read(item, &format!("{field}.{list}[{index}]")) {
                        Some(element) => elements.push((index, element)),
                        None => whole_list = false,
                    }
                }
            }
            Some(other) => {
                self.errors.push(FieldError::new(
                    format!("{field}.{list}"),
                    format!("must be a list [...], got {}", describe(&other)),
                ));
                whole_list = false;
            }
        }
        SplitSection {
            section,
            elements,
            whole_list,
        }
    }
}

/// The field as errors name it: the document itself has no path.
fn display_field(field: &str) -> String {
    if field.is_empty() {
        DOCUMENT_FIELD.to_owned()
    } else {
        field.to_owned()
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
        .map_err(|err| read_error(format!("GetObject: {}", crate::aws::error_text(&err))))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|err| read_error(crate::aws::cause_chain(&err)))?
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

    fn invalid(text: &str) -> Vec<String> {
        match JanitorConfig::from_json(text, ConfigSource::Inline) {
            Err(ConfigError::Invalid { errors, .. }) => {
                errors.iter().map(ToString::to_string).collect()
            }
            other => panic!("expected an invalid configuration, got {other:?}"),
        }
    }

    #[test]
    fn a_document_that_is_not_an_object_is_rejected_not_read_by_position() {
        for text in [
            "[]",
            r#"[{}, {"rules": []}]"#,
            r#"[["prod-*"], {}, {}, {}]"#,
            "null",
            "5",
        ] {
            let errors = invalid(text);
            assert_eq!(errors.len(), 1, "{text}: {errors:?}");
            assert!(
                errors[0].starts_with("(document): must be a JSON object {...}, got "),
                "{text}: {errors:?}"
            );
        }
        assert_eq!(
            invalid(r#"{"sweeper": [], "scan": [true, false]}"#),
            vec![
                "sweeper: must be a JSON object {...}, got a list",
                "scan: must be a JSON object {...}, got a list",
            ]
        );
    }

    #[test]
    fn type_errors_are_all_reported_with_semantic_errors_of_what_could_be_read() {
        let errors = invalid(
            r#"{"sweeper": {"repositories": [
                   {"include": ["*"], "policy": "native", "safetyCap": {"maxImages": -1}},
                   {"include": [], "policy": "native"}]},
                "tagRules": {"rules": [{"repositories": ["*"], "allowedRegex": ["v("]}]}}"#,
        );
        assert_eq!(
            errors,
            vec![
                "sweeper.repositories[0].safetyCap.maxImages: invalid value: integer `-1`, expected u64",
                "sweeper.repositories[1].include: must list at least one repository name glob",
                "tagRules.rules[0].allowedRegex[0]: invalid regular expression \"v(\": unclosed group at character 2",
            ]
        );
    }

    #[test]
    fn every_bad_field_of_a_section_or_element_is_reported_and_none_is_called_missing() {
        let errors = invalid(
            r#"{"protectedTags": "prod-*", "sweepr": {},
                "sweeper": {"mode": "delete", "fanOutThreshold": "many", "repositories": {}},
                "tagRules": {"rules": [
                    {"repositories": ["*"], "forbidden": ["latest"], "action": "nuke", "allowed": 5},
                    {"repositories": 7, "forbidden": ["latest"]},
                    "latest"]},
                "scan": {"minimumSeverity": "SEVERE", "suppressions": [
                    {"package": "a", "expires": "31/01/2027", "reason": "r"},
                    {"package": "b", "reason": "r"}]}}"#,
        );
        let fields: Vec<&str> = errors
            .iter()
            .map(|error| error.split(": ").next().unwrap_or_default())
            .collect();
        assert_eq!(
            fields,
            vec![
                "protectedTags",
                "sweepr",
                // Within an object, fields are read in alphabetical order.
                "sweeper.fanOutThreshold",
                "sweeper.mode",
                "sweeper.repositories",
                "tagRules.rules[0].action",
                "tagRules.rules[0].allowed",
                "tagRules.rules[1].repositories",
                "tagRules.rules[2]",
                "scan.minimumSeverity",
                "scan.suppressions[0].expires",
                "scan.suppressions[1]",
            ],
            "{errors:#?}"
        );
        assert_eq!(
            errors[4],
            "sweeper.repositories: must be a list [...], got an object"
        );
        assert_eq!(errors[11], "scan.suppressions[1]: missing field `expires`");
    }

    #[test]
    fn text_that_is_not_json_is_a_parse_error_with_its_position() {
        match JanitorConfig::from_json("{\n  \"sweeper\": {,\n}", ConfigSource::Inline) {
            Err(ConfigError::Parse {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!((line, column), (2, 15));
                assert_eq!(message, "key must be a string");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
        let err = JanitorConfig::from_json(r#"{"sweeper": {"mode": "#, ConfigSource::Inline)
            .expect_err("truncated");
        assert_eq!(
            err.to_string(),
            "configuration JANITOR_CONFIG is not JSON: unexpected end of file at line 1 column 21"
        );
    }

    #[test]
    fn paths_leave_out_the_segments_serde_could_not_name() {
        let mut deserializer = serde_json::Deserializer::from_str(r#"{"a": [{"b": 1"#);
        let error =
            serde_path_to_error::deserialize::<_, Value>(&mut deserializer).expect_err("truncated");
        assert_eq!(error.path().to_string(), "a[0].?");
        assert_eq!(display_json_path("", error.path()), "a[0]");
        assert_eq!(display_json_path("images", error.path()), "images.a[0]");
        assert_eq!(json_error_message(error.inner()), "unexpected end of file");
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

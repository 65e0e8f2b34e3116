//! Reading and validating a lifecycle policy document, as `PutLifecyclePolicy` would.
//!
//! The document is read as plain JSON and checked field by field, so that every
//! problem — wrong types, unknown fields, bad values, bad pairings, cross-rule
//! conflicts — is reported at once rather than stopping at the first.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::pattern::WildcardPattern;

use super::plan::Action;
use super::policy::{
    CountCriterion, LifecyclePolicy, PolicyError, PolicyErrors, Rule, Selection, StorageClass,
    TagFilter, TagSelection,
};

const MIN_POLICY_CHARS: usize = 100;
const MAX_POLICY_CHARS: usize = 30_720;
const MAX_RULES: usize = 50;
const MAX_WILDCARDS: usize = 4;
/// `rulePriority` and `countNumber` are 32-bit integers in ECR's API.
const MAX_INTEGER: i64 = i32::MAX as i64;

const RULE_FIELDS: &str = "rulePriority, description, selection, action";
const SELECTION_FIELDS: &str =
    "tagStatus, tagPrefixList, tagPatternList, storageClass, countType, countUnit, countNumber";
const ACTION_FIELDS: &str = "type, targetStorageClass";

impl LifecyclePolicy {
    /// Parses and validates a policy document (`{"rules": [...]}`), reporting every
    /// problem at once.
    pub fn parse(text: &str) -> Result<LifecyclePolicy, PolicyErrors> {
        let mut errors = Vec::new();
        let length = text.chars().count();
        if !(MIN_POLICY_CHARS..=MAX_POLICY_CHARS).contains(&length) {
            errors.push(document_error(
                "policy",
                format!("must be 100 to 30,720 characters long, got {length}"),
            ));
        }
        let document: Value = match serde_json::from_str(text) {
            Ok(document) => document,
            Err(error) => {
                errors.push(document_error(
                    "policy",
                    format!("is not valid JSON: {error}"),
                ));
                return Err(PolicyErrors(errors));
            }
        };
        let rules = read_document(&document, &mut errors);
        let mut partial_rules = Vec::new();
        let mut priorities = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            let mut reader = RuleReader::new(position, rule, &mut errors);
            if let Some(priority) = reader.priority {
                priorities.push(priority);
            }
            partial_rules.push(reader.read());
        }
        check_unique_priorities(&priorities, &mut errors);
        check_storage_class_groups(&partial_rules, &mut errors);
        if errors.is_empty() {
            let mut rules: Vec<Rule> = partial_rules
                .into_iter()
                .filter_map(|rule| rule.rule)
                .collect();
            rules.sort_by_key(|rule| rule.priority);
            Ok(LifecyclePolicy { rules })
        } else {
            Err(PolicyErrors(errors))
        }
    }
}

fn document_error(field: &str, message: impl Into<String>) -> PolicyError {
    PolicyError {
        rule_priority: None,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The top level: exactly `{"rules": [...]}` with 1 to 50 rules.
fn read_document<'d>(document: &'d Value, errors: &mut Vec<PolicyError>) -> &'d [Value] {
    let Value::Object(top) = document else {
        errors.push(document_error(
            "policy",
            format!(
                "must be a JSON object {{\"rules\": [...]}}, got {}",
                describe(document)
            ),
        ));
        return &[];
    };
    for key in top.keys().filter(|key| key.as_str() != "rules") {
        errors.push(document_error(
            key,
            "unknown field; a policy holds only \"rules\"",
        ));
    }
    let rules: &[Value] = match top.get("rules") {
        Some(Value::Array(rules)) => rules,
        Some(other) => {
            errors.push(document_error(
                "rules",
                format!("must be a list of rules, got {}", describe(other)),
            ));
            &[]
        }
        None => {
            errors.push(document_error("rules", "is required"));
            &[]
        }
    };
    if top.get("rules").is_some_and(Value::is_array) && rules.is_empty() {
        errors.push(document_error("rules", "must hold at least one rule"));
    }
    if rules.len() > MAX_RULES {
        errors.push(document_error(
            "rules",
            format!("at most {MAX_RULES} rules are allowed, got {}", rules.len()),
        ));
    }
    rules
}

/// A short rendering of a JSON value for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) if text.chars().count() <= 60 => format!("{text:?}"),
        Value::String(_) => "a long string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Reads one rule, recording its problems against its priority (or its position
/// when the priority is unreadable).
struct RuleReader<'r, 'e> {
    position: usize,
    priority: Option<i64>,
    rule: &'r Value,
    errors: &'e mut Vec<PolicyError>,
}

impl<'r, 'e> RuleReader<'r, 'e> {
    fn new(position: usize, rule: &'r Value, errors: &'e mut Vec<PolicyError>) -> Self {
        let priority = rule.get("rulePriority").and_then(Value::as_i64);
        RuleReader {
            position,
            priority,
            rule,
            errors,
        }
    }

    fn error(&mut self, field: &str, message: impl Into<String>) {
        let field = match self.priority {
            Some(_) => field.to_owned(),
            None => format!("rules[{}].{field}", self.position),
        };
        self.errors.push(PolicyError {
            rule_priority: self.priority,
            field,
            message: message.into(),
        });
    }

    fn unknown_fields(&mut self, object: &Map<String, Value>, prefix: &str, known: &str) {
        let known_names: Vec<&str> = known.split(", ").collect();
        for key in object.keys() {
            if !known_names.contains(&key.as_str()) {
                self.error(
                    &format!("{prefix}{key}"),
                    format!("unknown field; allowed fields are {known}"),
                );
            }
        }
    }

    /// A required object field.
    fn object(
        &mut self,
        parent: &'r Map<String, Value>,
        key: &str,
    ) -> Option<&'r Map<String, Value>> {
        match parent.get(key) {
            Some(Value::Object(object)) => Some(object),
            Some(other) => {
                self.error(key, format!("must be an object, got {}", describe(other)));
                None
            }
            None => {
                self.error(key, "is required");
                None
            }
        }
    }

    /// An optional string field; `Err(())` when present but not a string.
    fn string(
        &mut self,
        object: &'r Map<String, Value>,
        field: &str,
        key: &str,
    ) -> Result<Option<&'r str>, ()> {
        match object.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => {
                self.error(field, format!("must be a string, got {}", describe(other)));
                Err(())
            }
        }
    }

    /// A required string field holding one of `allowed`.
    fn choice(
        &mut self,
        object: &'r Map<String, Value>,
        field: &str,
        key: &str,
        allowed: &[&str],
    ) -> Option<&'r str> {
        let expected = allowed
            .iter()
            .map(|value| format!("\"{value}\""))
            .collect::<Vec<_>>()
            .join(", ");
        match self.string(object, field, key) {
            Ok(Some(value)) if allowed.contains(&value) => Some(value),
            Ok(Some(value)) => {
                self.error(field, format!("must be one of {expected}, got {value:?}"));
                None
            }
            Ok(None) => {
                self.error(field, format!("is required: one of {expected}"));
                None
            }
            Err(()) => None,
        }
    }

    /// A positive 32-bit integer.
    fn positive_integer(&mut self, field: &str, value: &Value) -> Option<u32> {
        match value.as_i64() {
            Some(number) if (1..=MAX_INTEGER).contains(&number) => u32::try_from(number).ok(),
            _ => {
                self.error(
                    field,
                    format!("must be a positive integer, got {}", describe(value)),
                );
                None
            }
        }
    }

    /// Reads the rule; the parts that could be read are returned even when others
    /// could not, so cross-rule checks still see them.
    fn read(&mut self) -> PartialRule {
        let errors_before = self.errors.len();
        let Value::Object(rule) = self.rule else {
            self.errors.push(document_error(
                &format!("rules[{}]", self.position),
                format!("must be an object, got {}", describe(self.rule)),
            ));
            return PartialRule::default();
        };
        self.unknown_fields(rule, "", RULE_FIELDS);
        let priority = match rule.get("rulePriority") {
            Some(value) => self.positive_integer("rulePriority", value),
            None => {
                self.error("rulePriority", "is required");
                None
            }
        };
        let description = self
            .string(rule, "description", "description")
            .ok()
            .flatten();
        let (tags, storage_class, count_kind, count) = match self.object(rule, "selection") {
            Some(selection) => self.read_selection(selection),
            None => (None, None, None, None),
        };
        let action = self
            .object(rule, "action")
            .and_then(|action| self.read_action(action));
        self.check_pairings(count_kind, storage_class, action);
        let rule = match (priority, &tags, storage_class, count, action) {
            (Some(priority), Some(tags), Some(storage_class), Some(count), Some(action))
                if self.errors.len() == errors_before =>
            {
                Some(Rule {
                    priority,
                    description: description.map(str::to_owned),
                    selection: Selection {
                        tags: tags.clone(),
                        storage_class,
                        count,
                    },
                    action,
                })
            }
            _ => None,
        };
        PartialRule {
            priority,
            tags,
            storage_class,
            rule,
        }
    }

    /// Tag selection, storage class, count type and count criterion, each when readable.
    fn read_selection(
        &mut self,
        selection: &'r Map<String, Value>,
    ) -> (
        Option<TagSelection>,
        Option<StorageClass>,
        Option<CountKind>,
        Option<CountCriterion>,
    ) {
        self.unknown_fields(selection, "selection.", SELECTION_FIELDS);
        let tags = self.read_tag_selection(selection);
        let storage_class = match self.string(selection, "selection.storageClass", "storageClass") {
            Ok(None) => Some(StorageClass::Standard),
            Ok(Some("standard")) => Some(StorageClass::Standard),
            Ok(Some("archive")) => Some(StorageClass::Archive),
            Ok(Some(other)) => {
                self.error(
                    "selection.storageClass",
                    format!("must be \"standard\" or \"archive\", got {other:?}"),
                );
                None
            }
            Err(()) => None,
        };
        let (count_kind, count) = self.read_count(selection);
        (tags, storage_class, count_kind, count)
    }

    fn read_tag_selection(&mut self, selection: &'r Map<String, Value>) -> Option<TagSelection> {
        let status = self.choice(
            selection,
            "selection.tagStatus",
            "tagStatus",
            &["tagged", "untagged", "any"],
        );
        let prefixes = self.tag_list(selection, "tagPrefixList");
        let patterns = self.tag_list(selection, "tagPatternList");
        let patterns = patterns.map(|list| {
            list.map(|entries| {
                entries
                    .iter()
                    .map(|entry| WildcardPattern::new(entry))
                    .collect::<Vec<_>>()
            })
        });
        if let Ok(Some(patterns)) = &patterns {
            for pattern in patterns {
                if pattern.wildcard_count() > MAX_WILDCARDS {
                    self.error(
                        "selection.tagPatternList",
                        format!(
                            "pattern {:?} has {} wildcards; at most {MAX_WILDCARDS} are allowed",
                            pattern.as_str(),
                            pattern.wildcard_count()
                        ),
                    );
                }
            }
        }
        let (prefixes, patterns) = (prefixes.ok()?, patterns.ok()?);
        match (status?, prefixes, patterns) {
            ("tagged", Some(prefixes), None) => Some(TagSelection::Tagged(TagFilter::Prefixes(
                prefixes.iter().map(|prefix| (*prefix).to_owned()).collect(),
            ))),
            ("tagged", None, Some(patterns)) => {
                Some(TagSelection::Tagged(TagFilter::Patterns(patterns)))
            }
            ("tagged", Some(_), Some(_)) => {
                self.error(
                    "selection.tagPatternList",
                    "a rule takes either tagPrefixList or tagPatternList, not both",
                );
                None
            }
            ("tagged", None, None) => {
                self.error(
                    "selection.tagPrefixList",
                    "a rule with tagStatus \"tagged\" needs tagPrefixList or tagPatternList",
                );
                None
            }
            (status, prefixes, patterns) => {
                for (present, name) in [
                    (prefixes.is_some(), "tagPrefixList"),
                    (patterns.is_some(), "tagPatternList"),
                ] {
                    if present {
                        self.error(
                            &format!("selection.{name}"),
                            format!("is only allowed with tagStatus \"tagged\", not {status:?}"),
                        );
                    }
                }
                if prefixes.is_some() || patterns.is_some() {
                    None
                } else if status == "untagged" {
                    Some(TagSelection::Untagged)
                } else {
                    Some(TagSelection::Any)
                }
            }
        }
    }

    /// An optional non-empty list of non-empty strings; `Err(())` when malformed.
    fn tag_list(
        &mut self,
        selection: &'r Map<String, Value>,
        key: &str,
    ) -> Result<Option<Vec<&'r str>>, ()> {
        let field = format!("selection.{key}");
        let Some(value) = selection.get(key) else {
            return Ok(None);
        };
        let Value::Array(entries) = value else {
            self.error(
                &field,
                format!("must be a list of strings, got {}", describe(value)),
            );
            return Err(());
        };
        if entries.is_empty() {
            self.error(&field, "must hold at least one entry");
            return Err(());
        }
        let mut list = Vec::with_capacity(entries.len());
        let mut valid = true;
        for (position, entry) in entries.iter().enumerate() {
            match entry {
                Value::String(text) if !text.is_empty() => list.push(text.as_str()),
                other => {
                    self.error(
                        &format!("{field}[{position}]"),
                        format!("must be a non-empty string, got {}", describe(other)),
                    );
                    valid = false;
                }
            }
        }
        if valid {
            Ok(Some(list))
        } else {
            Err(())
        }
    }

    fn read_count(
        &mut self,
        selection: &'r Map<String, Value>,
    ) -> (Option<CountKind>, Option<CountCriterion>) {
        let kind = self
            .choice(
                selection,
                "selection.countType",
                "countType",
                &[
                    "imageCountMoreThan",
                    "sinceImagePushed",
                    "sinceImagePulled",
                    "sinceImageTransitioned",
                ],
            )
            .map(|name| match name {
                "imageCountMoreThan" => CountKind::ImageCountMoreThan,
                "sinceImagePushed" => CountKind::SinceImagePushed,
                "sinceImagePulled" => CountKind::SinceImagePulled,
                _ => CountKind::SinceImageTransitioned,
            });
        let unit = self.string(selection, "selection.countUnit", "countUnit");
        let number = match selection.get("countNumber") {
            Some(value) => self.positive_integer("selection.countNumber", value),
            None => {
                self.error("selection.countNumber", "is required");
                None
            }
        };
        let unit_ok = match (kind, unit) {
            (_, Err(())) => false,
            (Some(CountKind::ImageCountMoreThan), Ok(Some(_))) => {
                self.error(
                    "selection.countUnit",
                    "is not allowed with countType \"imageCountMoreThan\" (it counts images, not days)",
                );
                false
            }
            (Some(CountKind::ImageCountMoreThan), Ok(None)) | (None, _) => true,
            (Some(_), Ok(Some("days"))) => true,
            (Some(_), Ok(Some(other))) => {
                self.error(
                    "selection.countUnit",
                    format!("must be \"days\", got {other:?}"),
                );
                false
            }
            (Some(kind), Ok(None)) => {
                self.error(
                    "selection.countUnit",
                    format!(
                        "is required with countType \"{}\": use \"days\"",
                        kind.name()
                    ),
                );
                false
            }
        };
        let count = match (kind, number, unit_ok) {
            (Some(kind), Some(number), true) => Some(match kind {
                CountKind::ImageCountMoreThan => CountCriterion::ImageCountMoreThan(number),
                CountKind::SinceImagePushed => CountCriterion::SinceImagePushed { days: number },
                CountKind::SinceImagePulled => CountCriterion::SinceImagePulled { days: number },
                CountKind::SinceImageTransitioned => {
                    CountCriterion::SinceImageTransitioned { days: number }
                }
            }),
            _ => None,
        };
        (kind, count)
    }

    fn read_action(&mut self, action: &'r Map<String, Value>) -> Option<Action> {
        self.unknown_fields(action, "action.", ACTION_FIELDS);
        let kind = self.choice(action, "action.type", "type", &["expire", "transition"]);
        let target = self.string(action, "action.targetStorageClass", "targetStorageClass");
        match (kind?, target.unwrap_or(Some("archive"))) {
            ("expire", None) => Some(Action::Expire),
            // After an error the action type is still returned so that the pairing
            // checks can run; the rule itself is rejected.
            ("expire", Some(_)) => {
                self.error(
                    "action.targetStorageClass",
                    "is only allowed with action type \"transition\"",
                );
                Some(Action::Expire)
            }
            (_, Some("archive")) => Some(Action::Transition),
            (_, Some(other)) => {
                self.error(
                    "action.targetStorageClass",
                    format!("must be \"archive\", got {other:?}"),
                );
                Some(Action::Transition)
            }
            (_, None) => {
                self.error(
                    "action.targetStorageClass",
                    "is required with action type \"transition\": use \"archive\"",
                );
                Some(Action::Transition)
            }
        }
    }

    /// The pairings of count type, storage class and action ECR accepts, checked on
    /// whichever of them could be read.
    fn check_pairings(
        &mut self,
        kind: Option<CountKind>,
        storage_class: Option<StorageClass>,
        action: Option<Action>,
    ) {
        if kind == Some(CountKind::SinceImagePulled) && action == Some(Action::Expire) {
            self.error(
                "selection.countType",
                "\"sinceImagePulled\" is only allowed with action type \"transition\"",
            );
        }
        let transitioned = kind.map(|kind| kind == CountKind::SinceImageTransitioned);
        if transitioned == Some(true) && action == Some(Action::Transition) {
            self.error(
                "action.type",
                "countType \"sinceImageTransitioned\" is only allowed with action type \"expire\"",
            );
        }
        match (storage_class, transitioned) {
            (Some(StorageClass::Standard), Some(true)) => self.error(
                "selection.storageClass",
                "must be \"archive\" with countType \"sinceImageTransitioned\"",
            ),
            (Some(StorageClass::Archive), Some(false)) => self.error(
                "selection.storageClass",
                "\"archive\" is only allowed with countType \"sinceImageTransitioned\"",
            ),
            _ => {}
        }
    }
}

/// `countType` before its number is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CountKind {
    ImageCountMoreThan,
    SinceImagePushed,
    SinceImagePulled,
    SinceImageTransitioned,
}

impl CountKind {
    fn name(self) -> &'static str {
        match self {
            CountKind::ImageCountMoreThan => "imageCountMoreThan",
            CountKind::SinceImagePushed => "sinceImagePushed",
            CountKind::SinceImagePulled => "sinceImagePulled",
            CountKind::SinceImageTransitioned => "sinceImageTransitioned",
        }
    }
}

/// What could be read of one rule: the whole rule when it is valid on its own, and
/// the parts the cross-rule checks need otherwise.
#[derive(Debug, Default)]
struct PartialRule {
    priority: Option<u32>,
    tags: Option<TagSelection>,
    storage_class: Option<StorageClass>,
    rule: Option<Rule>,
}

fn rule_error(priority: u32, field: &str, message: String) -> PolicyError {
    PolicyError {
        rule_priority: Some(i64::from(priority)),
        field: field.to_owned(),
        message,
    }
}

fn check_unique_priorities(priorities: &[i64], errors: &mut Vec<PolicyError>) {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for &priority in priorities {
        *counts.entry(priority).or_default() += 1;
    }
    let duplicates: BTreeSet<i64> = counts
        .into_iter()
        .filter(|&(_, count)| count > 1)
        .map(|(priority, _)| priority)
        .collect();
    for priority in duplicates {
        errors.push(PolicyError {
            rule_priority: Some(priority),
            field: "rulePriority".to_owned(),
            message: "is used by more than one rule; priorities must be unique".to_owned(),
        });
    }
}

/// Cross-rule constraints, within each storage class: the `any` rule comes last, one
/// rule at most selects untagged images, and no two rules share a prefix set. Checked
/// on every rule whose priority, storage class and tag selection could be read.
fn check_storage_class_groups(rules: &[PartialRule], errors: &mut Vec<PolicyError>) {
    for class in [StorageClass::Standard, StorageClass::Archive] {
        let mut group: Vec<(u32, &TagSelection)> = rules
            .iter()
            .filter(|rule| rule.storage_class == Some(class))
            .filter_map(|rule| Some((rule.priority?, rule.tags.as_ref()?)))
            .collect();
        group.sort_by_key(|(priority, _)| *priority);
        let Some(last) = group.last().map(|(priority, _)| *priority) else {
            continue;
        };
        let class_name = match class {
            StorageClass::Standard => "standard",
            StorageClass::Archive => "archive",
        };
        let mut untagged_rule: Option<u32> = None;
        let mut prefix_sets: HashMap<BTreeSet<&str>, u32> = HashMap::new();
        for (priority, tags) in group {
            match tags {
                TagSelection::Any if priority != last => errors.push(rule_error(
                    priority,
                    "selection.tagStatus",
                    format!(
                        "a rule with tagStatus \"any\" must have the highest rulePriority among the {class_name} rules, but the rule with rulePriority {last} comes after it"
                    ),
                )),
                TagSelection::Untagged => match untagged_rule {
                    Some(first) => errors.push(rule_error(
                        priority,
                        "selection.tagStatus",
                        format!(
                            "only one {class_name} rule may select untagged images, and the rule with rulePriority {first} already does"
                        ),
                    )),
                    None => untagged_rule = Some(priority),
                },
                TagSelection::Tagged(TagFilter::Prefixes(prefixes)) => {
                    let set: BTreeSet<&str> = prefixes.iter().map(String::as_str).collect();
                    match prefix_sets.get(&set) {
                        Some(first) => errors.push(rule_error(
                            priority,
                            "selection.tagPrefixList",
                            format!("the rule with rulePriority {first} already uses the same prefixes; prefix sets must be unique"),
                        )),
                        None => {
                            prefix_sets.insert(set, priority);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

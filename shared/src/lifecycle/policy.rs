//! The validated lifecycle policy model and its validation errors.

use std::fmt;

use crate::pattern::WildcardPattern;

use super::plan::Action;

/// A validated ECR lifecycle policy: its rules in priority order (lowest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecyclePolicy {
    pub(super) rules: Vec<Rule>,
}

impl LifecyclePolicy {
    /// The rules, lowest `rulePriority` first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub priority: u32,
    pub description: Option<String>,
    pub selection: Selection,
    pub action: Action,
}

/// Which images a rule selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub tags: TagSelection,
    pub storage_class: StorageClass,
    pub count: CountCriterion,
}

/// `tagStatus` with its tag lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagSelection {
    Tagged(TagFilter),
    Untagged,
    Any,
}

/// The list of a `tagged` rule; the image must match every entry, each with one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    /// `tagPrefixList`: a tag starts with the entry.
    Prefixes(Vec<String>),
    /// `tagPatternList`: a tag matches the whole wildcard pattern.
    Patterns(Vec<WildcardPattern>),
}

/// `selection.storageClass`: which images a rule sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageClass {
    /// Active images.
    Standard,
    /// Archived images.
    Archive,
}

/// `countType` with its `countNumber` (days for the `since*` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountCriterion {
    ImageCountMoreThan(u32),
    SinceImagePushed { days: u32 },
    SinceImagePulled { days: u32 },
    SinceImageTransitioned { days: u32 },
}

impl TagSelection {
    /// Whether an image with these tags matches the tag selection.
    pub fn matches(&self, tags: &[String]) -> bool {
        match self {
            TagSelection::Any => true,
            TagSelection::Untagged => tags.is_empty(),
            TagSelection::Tagged(filter) => filter.matches(tags),
        }
    }
}

impl TagFilter {
    /// Every entry is matched by at least one tag.
    pub fn matches(&self, tags: &[String]) -> bool {
        match self {
            TagFilter::Prefixes(prefixes) => prefixes
                .iter()
                .all(|prefix| tags.iter().any(|tag| tag.starts_with(prefix.as_str()))),
            TagFilter::Patterns(patterns) => patterns
                .iter()
                .all(|pattern| tags.iter().any(|tag| pattern.matches(tag))),
        }
    }
}

/// One problem with a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The `rulePriority` of the rule at fault, when the rule has a readable one.
    pub rule_priority: Option<i64>,
    /// The field at fault, relative to the rule (`selection.countNumber`), or with the
    /// rule's position when it has no readable priority (`rules[2].selection`).
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule_priority {
            Some(priority) => write!(
                f,
                "rule with rulePriority {priority}: {}: {}",
                self.field, self.message
            ),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Every problem found in a policy document, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl PolicyErrors {
    pub fn errors(&self) -> &[PolicyError] {
        &self.0
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, error) in self.0.iter().enumerate() {
            if position > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

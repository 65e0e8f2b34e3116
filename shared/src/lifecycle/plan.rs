//! The result of evaluating a policy: one decision per image.

use serde::Serialize;

/// What to do with each image, sorted by digest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub decisions: Vec<ImageDecision>,
}

/// The decision for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDecision {
    pub digest: String,
    pub outcome: Outcome,
}

/// Act on the image or keep it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    #[serde(rename_all = "camelCase")]
    Act { action: Action, rule_priority: u32 },
    #[serde(rename_all = "camelCase")]
    Keep { reason: KeepReason },
}

/// A lifecycle action (`action.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Delete the image.
    Expire,
    /// Move the image to the archive storage class.
    Transition,
}

/// Why an image is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum KeepReason {
    /// No rule's tag selection matched the image.
    NotSelected,
    /// The rule whose tag selection claimed the image did not select it for action
    /// (within the count, young enough, or not long enough in archive).
    #[serde(rename_all = "camelCase")]
    KeptByRule { rule_priority: u32 },
    /// The caller protected the image (in use, protected tag, minimum age).
    #[serde(rename_all = "camelCase")]
    Protected { reason: String },
    /// An image index that stays references the image.
    #[serde(rename_all = "camelCase")]
    ReferencedByIndex { index_digest: String },
    /// The image is a referrer and its subject stays.
    #[serde(rename_all = "camelCase")]
    SubjectKept { subject_digest: String },
}

impl Outcome {
    /// The action taken, if any.
    pub fn action(&self) -> Option<Action> {
        match self {
            Outcome::Act { action, .. } => Some(*action),
            Outcome::Keep { .. } => None,
        }
    }
}

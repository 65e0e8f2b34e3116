//! The result of evaluating a policy: one decision per image.
//!
//! The engine's plan borrows its digests and reasons from its input (`Cow::Borrowed`):
//! a plan of a million images then costs no allocation per image. A caller that must
//! outlive the input keeps [`Plan::into_owned`].

use std::borrow::Cow;

use serde::Serialize;

/// What to do with each image, sorted by digest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan<'a> {
    pub decisions: Vec<ImageDecision<'a>>,
}

/// The decision for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDecision<'a> {
    pub digest: Cow<'a, str>,
    pub outcome: Outcome<'a>,
}

/// Act on the image or keep it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome<'a> {
    #[serde(rename_all = "camelCase")]
    Act { action: Action, rule_priority: u32 },
    #[serde(rename_all = "camelCase")]
    Keep { reason: KeepReason<'a> },
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
pub enum KeepReason<'a> {
    /// No rule's tag selection matched the image.
    NotSelected,
    /// The rule whose tag selection claimed the image did not select it for action
    /// (within the count, young enough, or not long enough in archive).
    #[serde(rename_all = "camelCase")]
    KeptByRule { rule_priority: u32 },
    /// The caller protected the image (in use, protected tag, minimum age).
    #[serde(rename_all = "camelCase")]
    Protected { reason: Cow<'a, str> },
    /// An image index that stays references the image.
    #[serde(rename_all = "camelCase")]
    ReferencedByIndex { index_digest: Cow<'a, str> },
    /// The image is a referrer and its subject stays.
    #[serde(rename_all = "camelCase")]
    SubjectKept { subject_digest: Cow<'a, str> },
}

impl Plan<'_> {
    /// The same plan with its own copies of the digests and reasons.
    pub fn into_owned(self) -> Plan<'static> {
        Plan {
            decisions: self
                .decisions
                .into_iter()
                .map(|decision| ImageDecision {
                    digest: Cow::Owned(decision.digest.into_owned()),
                    outcome: decision.outcome.into_owned(),
                })
                .collect(),
        }
    }
}

impl Outcome<'_> {
    /// The action taken, if any.
    pub fn action(&self) -> Option<Action> {
        match self {
            Outcome::Act { action, .. } => Some(*action),
            Outcome::Keep { .. } => None,
        }
    }

    fn into_owned(self) -> Outcome<'static> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        match self {
            Outcome::Act {
                action,
                rule_priority,
            } => Outcome::Act {
                action,
                rule_priority,
            },
            Outcome::Keep { reason } => Outcome::Keep {
                reason: match reason {
                    KeepReason::NotSelected => KeepReason::NotSelected,
                    KeepReason::KeptByRule { rule_priority } => {
                        KeepReason::KeptByRule { rule_priority }
                    }
                    KeepReason::Protected { reason } => KeepReason::Protected {
                        reason: owned(reason),
                    },
                    KeepReason::ReferencedByIndex { index_digest } => {
                        KeepReason::ReferencedByIndex {
                            index_digest: owned(index_digest),
                        }
                    }
                    KeepReason::SubjectKept { subject_digest } => KeepReason::SubjectKept {
                        subject_digest: owned(subject_digest),
                    },
                },
            },
        }
    }
}

//! Tag rules: every pushed tag is judged against the `tagRules` section of
//! the configuration, and violations are reported, untagged or deleted safely.
//!
//! The pipeline is pure up to the last step: [`event::classify`] reads the
//! EventBridge event, [`TagRulesConfig::verdict`] judges the tag, [`plan::plan_step`]
//! picks the safe step from the image's current tags, and [`enforcer::TagEnforcer`]
//! executes it against ECR and publishes the `Tag Rule Violation` event.

pub mod config;
pub mod decision;
pub mod enforcer;
pub mod event;
pub mod plan;
pub mod verdict;

pub use config::{TagRule, TagRulesConfig, ViolationAction};
pub use decision::{ActionTaken, Decision, ViolationRecord, TAG_RULE_VIOLATION};
pub use enforcer::{EnforcerError, TagEnforcer};
pub use verdict::{AllowedBy, Verdict, Violation, ViolationKind};

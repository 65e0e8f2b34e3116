//! The record of a sweep: one JSON log line per action, a `Sweep Completed` summary
//! per repository (on the janitor bus and in the handler's result), and EMF metrics.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::config::SweepMode;
use super::executor::{ActionFailure, ActionSkipped};
use super::protection::ProtectionKind;
use super::recheck::SeenImage;
use crate::aws::bus::BusEvent;
use crate::lifecycle::{Action, ImageRecord, Outcome, Plan};
use crate::metrics::{self, EmfRecord};
use crate::targets::Target;

/// `detail-type` of the per-repository summary event.
pub const SWEEP_COMPLETED: &str = "Sweep Completed";
/// Failures and skipped actions listed in a summary; the rest are counted (keeps
/// events under 256 KB).
pub const LISTED: usize = 50;

/// One image the plan acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAction {
    pub digest: String,
    pub tags: Vec<String>,
    pub rule_priority: u32,
    pub action: Action,
    pub size_bytes: Option<i64>,
    pub is_index: bool,
    /// What the plan saw of the image: acted on only while a fresh read still shows it.
    #[serde(skip)]
    pub seen: SeenImage,
    /// Planned expirations this one depends on: the expiring image indexes that list
    /// it and the expiring subject it refers to. It goes only once they are gone.
    #[serde(skip)]
    pub follows: Vec<String>,
}

/// The plan's actions, in plan (digest) order. `index_children` maps each image index
/// to the children it lists (as the engine took it).
pub fn planned_actions(
    plan: &Plan,
    images: &[ImageRecord],
    index_children: &HashMap<String, Vec<String>>,
) -> Vec<PlannedAction> {
    let by_digest: HashMap<&str, &ImageRecord> = images
        .iter()
        .map(|image| (image.digest.as_str(), image))
        .collect();
    let expiring: HashSet<&str> = plan
        .decisions
        .iter()
        .filter(|decision| {
            matches!(
                decision.outcome,
                Outcome::Act {
                    action: Action::Expire,
                    ..
                }
            )
        })
        .map(|decision| decision.digest.as_ref())
        .collect();
    let mut expiring_parents: HashMap<&str, Vec<&str>> = HashMap::new();
    for (index, children) in index_children {
        if expiring.contains(index.as_str()) {
            for child in children {
                expiring_parents
                    .entry(child.as_str())
                    .or_default()
                    .push(index.as_str());
            }
        }
    }
    let follows = |digest: &str, image: Option<&&ImageRecord>| -> Vec<String> {
        let subject = image
            .and_then(|image| image.subject_digest.as_deref())
            .filter(|subject| expiring.contains(subject));
        let mut follows: Vec<String> = expiring_parents
            .get(digest)
            .into_iter()
            .flatten()
            .copied()
            .chain(subject)
            .map(str::to_owned)
            .collect();
        follows.sort_unstable();
        follows.dedup();
        follows
    };
    plan.decisions
        .iter()
        .filter_map(|decision| match decision.outcome {
            Outcome::Act {
                action,
                rule_priority,
            } => {
                let image = by_digest.get(decision.digest.as_ref());
                Some(PlannedAction {
                    digest: decision.digest.to_string(),
                    tags: image.map(|image| image.tags.clone()).unwrap_or_default(),
                    rule_priority,
                    action,
                    size_bytes: image.and_then(|image| image.size_bytes),
                    is_index: image.is_some_and(|image| image.is_index()),
                    seen: image.map(|image| SeenImage::of(image)).unwrap_or_default(),
                    follows: match action {
                        Action::Expire => follows(&decision.digest, image),
                        Action::Transition => Vec::new(),
                    },
                })
            }
            Outcome::Keep { .. } => None,
        })
        .collect()
}

/// An image a sweep never acts on, and why (e.g. `in use by ECS service prod/web
/// (task definition web:7)`, `protected tag prod-1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedImage {
    pub digest: String,
    pub tags: Vec<String>,
    pub reason: String,
}

/// The protected images of a repository, in digest order, each logged once.
pub fn protected_images(
    repository: &str,
    images: &[ImageRecord],
    reasons: &HashMap<String, String>,
) -> Vec<ProtectedImage> {
    let mut protected: Vec<ProtectedImage> = images
        .iter()
        .filter_map(|image| {
            Some(ProtectedImage {
                digest: image.digest.clone(),
                tags: image.tags.clone(),
                reason: reasons.get(&image.digest)?.clone(),
            })
        })
        .collect();
    protected.sort_by(|a, b| a.digest.cmp(&b.digest));
    for image in &protected {
        tracing::info!(repository, digest = %image.digest, tags = ?image.tags, reason = %image.reason, "image protected");
    }
    protected
}

/// Images and bytes one rule acts on with one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCount {
    pub rule_priority: u32,
    pub action: Action,
    pub images: usize,
    pub bytes: i64,
}

/// Which policy a repository was swept with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyKind {
    Configured,
    Native,
}

/// The outcome of sweeping one repository: the `Sweep Completed` event's detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySummary {
    pub repository_name: String,
    /// The account and Region whose registry holds the repository, in an
    /// organization-wide installation.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub target: Option<Target>,
    /// The in-use snapshot the repository was swept against (organization-wide):
    /// `run RUN, version VERSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use_snapshot: Option<String>,
    /// Whether everything the plan called for was done (or, in dry-run, planned): false
    /// when an action failed, the safety cap tripped, what is in use is unknown, a
    /// call stopped the sweep, or time ran out (see `continued`).
    pub complete: bool,
    /// The invocation ran out of time: a `Sweep Repository` continuation carries on.
    pub continued: bool,
    pub policy: PolicyKind,
    pub dry_run: bool,
    /// Images the repository held when it was read.
    pub images: usize,
    /// Planned actions by rule and action.
    pub by_rule: Vec<RuleCount>,
    pub planned_expire: usize,
    pub planned_transition: usize,
    /// Bytes the planned expirations would free.
    pub planned_bytes: i64,
    /// Done in this run (always 0 in dry-run or when the cap tripped).
    pub expired: usize,
    pub transitioned: usize,
    pub bytes_freed: i64,
    /// Protected images by kind (they take part in the policy but are never acted on).
    pub protected: BTreeMap<ProtectionKind, usize>,
    /// The first protected images (all of them up to 50), each with who holds it.
    pub protected_images: Vec<ProtectedImage>,
    /// Why the safety cap stopped every action, when it did.
    pub cap_tripped: Option<String>,
    /// Which sources of "in use" could not be read, when one could not: nothing was
    /// acted on.
    pub in_use_unknown: Option<String>,
    /// Sources of "in use" the configuration switched off.
    pub in_use_sources_off: Vec<String>,
    /// Why the repository was not swept at all (no native policy, not found, ...).
    pub skipped: Option<String>,
    pub failure_count: usize,
    /// The first failures (all of them up to 50).
    pub failures: Vec<ActionFailure>,
    /// Planned actions not taken because the image changed between plan and action
    /// (or an image it depends on stayed).
    pub changed_since_planned_count: usize,
    /// The first of them (all of them up to 50).
    pub changed_since_planned: Vec<ActionSkipped>,
    /// A call that failed after retries and stopped this repository's sweep.
    pub error: Option<String>,
}

impl RepositorySummary {
    /// An empty summary, before the repository is read.
    pub fn new(repository_name: &str, policy: PolicyKind, mode: SweepMode) -> Self {
        RepositorySummary {
            repository_name: repository_name.to_owned(),
            target: None,
            in_use_snapshot: None,
            complete: false,
            continued: false,
            policy,
            dry_run: mode == SweepMode::DryRun,
            images: 0,
            by_rule: Vec::new(),
            planned_expire: 0,
            planned_transition: 0,
            planned_bytes: 0,
            expired: 0,
            transitioned: 0,
            bytes_freed: 0,
            protected: BTreeMap::new(),
            protected_images: Vec::new(),
            cap_tripped: None,
            in_use_unknown: None,
            in_use_sources_off: Vec::new(),
            skipped: None,
            failure_count: 0,
            failures: Vec::new(),
            changed_since_planned_count: 0,
            changed_since_planned: Vec::new(),
            error: None,
        }
    }

    /// See [`RepositorySummary::complete`]; a repository skipped for having nothing to
    /// sweep (no native policy) is complete.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
            && self.in_use_unknown.is_none()
            && self.cap_tripped.is_none()
            && self.failure_count == 0
            && !self.continued
    }

    /// Fills the plan's counts.
    pub fn count_plan(&mut self, actions: &[PlannedAction]) {
        let mut by_rule: BTreeMap<(u32, bool), RuleCount> = BTreeMap::new();
        for action in actions {
            let bytes = action.size_bytes.unwrap_or(0);
            let count = by_rule
                .entry((action.rule_priority, action.action == Action::Transition))
                .or_insert(RuleCount {
                    rule_priority: action.rule_priority,
                    action: action.action,
                    images: 0,
                    bytes: 0,
                });
            count.images += 1;
            count.bytes += bytes;
            match action.action {
                Action::Expire => {
                    self.planned_expire += 1;
                    self.planned_bytes += bytes;
                }
                Action::Transition => self.planned_transition += 1,
            }
        }
        self.by_rule = by_rule.into_values().collect();
    }

    pub fn record_failures(&mut self, mut failures: Vec<ActionFailure>) {
        self.failure_count = failures.len();
        failures.truncate(LISTED);
        self.failures = failures;
    }

    pub fn record_changed_since_planned(&mut self, mut skipped: Vec<ActionSkipped>) {
        self.changed_since_planned_count = skipped.len();
        skipped.truncate(LISTED);
        self.changed_since_planned = skipped;
    }

    /// The `Sweep Completed` event for the janitor bus.
    pub fn event(&self, repository_arn: Option<&str>) -> BusEvent {
        BusEvent {
            detail_type: SWEEP_COMPLETED.to_owned(),
            detail: serde_json::to_value(self).unwrap_or_default(),
            resources: repository_arn.map(str::to_owned).into_iter().collect(),
        }
    }

    /// The same counts as CloudWatch metrics. Repository names are not a dimension:
    /// with thousands of repositories that would be thousands of billed metrics.
    pub fn metrics(&self) -> EmfRecord {
        let flag = |set: bool| f64::from(u8::from(set));
        let mut record = EmfRecord::new()
            .dimension("Function", "lifecycle-sweeper")
            .dimension("DryRun", if self.dry_run { "true" } else { "false" })
            .value(metrics::IMAGES_SWEPT, self.images as f64)
            .value(metrics::IMAGES_PLANNED_EXPIRE, self.planned_expire as f64)
            .value(
                metrics::IMAGES_PLANNED_TRANSITION,
                self.planned_transition as f64,
            )
            .value(metrics::IMAGES_EXPIRED, self.expired as f64)
            .value(metrics::IMAGES_TRANSITIONED, self.transitioned as f64)
            .value(metrics::BYTES_FREED, self.bytes_freed as f64)
            .value(metrics::ACTION_FAILURES, self.failure_count as f64)
            .value(
                metrics::ACTIONS_CHANGED_SINCE_PLANNED,
                self.changed_since_planned_count as f64,
            )
            .value(
                metrics::SAFETY_CAP_TRIPPED,
                flag(self.cap_tripped.is_some()),
            )
            .value(metrics::SWEEP_ERRORS, flag(self.error.is_some()))
            .value(metrics::IN_USE_UNKNOWN, flag(self.in_use_unknown.is_some()));
        for (kind, metric) in [
            (ProtectionKind::InUse, metrics::PROTECTED_IN_USE),
            (ProtectionKind::ProtectedTag, metrics::PROTECTED_BY_TAG),
            (ProtectionKind::MinimumAge, metrics::PROTECTED_BY_AGE),
            (
                ProtectionKind::IndexUnreadable,
                metrics::PROTECTED_INDEX_UNREADABLE,
            ),
        ] {
            let count = self.protected.get(&kind).copied().unwrap_or(0);
            record = record.value(metric, count as f64);
        }
        record
    }
}

/// Logs one structured line per action (planned in dry-run, applied in enforce), with
/// why it was not taken when the registry changed since planned.
pub fn log_action(
    repository: &str,
    action: &PlannedAction,
    dry_run: bool,
    outcome: &str,
    reason: Option<&str>,
) {
    tracing::info!(
        repository,
        digest = %action.digest,
        tags = ?action.tags,
        rule = action.rule_priority,
        action = ?action.action,
        bytes = action.size_bytes.unwrap_or(0),
        dry_run,
        outcome,
        reason,
        "lifecycle action"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{ImageDecision, ImageStatus, KeepReason};

    fn image(digest: &str, size: i64, index: bool) -> ImageRecord {
        ImageRecord {
            digest: digest.into(),
            tags: vec![format!("t-{digest}")],
            pushed_at: chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
            last_pulled_at: None,
            status: ImageStatus::Active,
            archived_at: None,
            activated_at: None,
            manifest_media_type: index
                .then(|| "application/vnd.oci.image.index.v1+json".to_owned()),
            artifact_media_type: None,
            subject_digest: None,
            size_bytes: Some(size),
        }
    }

    fn act(digest: &str, action: Action, rule_priority: u32) -> ImageDecision<'_> {
        ImageDecision {
            digest: digest.into(),
            outcome: Outcome::Act {
                action,
                rule_priority,
            },
        }
    }

    #[test]
    fn plan_counts_by_rule_and_action() {
        let images = [
            image("a", 10, true),
            image("b", 20, false),
            image("c", 30, false),
            image("d", 5, false),
        ];
        let plan = Plan {
            decisions: vec![
                act("a", Action::Expire, 20),
                act("b", Action::Expire, 10),
                act("c", Action::Transition, 10),
                ImageDecision {
                    digest: "d".into(),
                    outcome: Outcome::Keep {
                        reason: KeepReason::NotSelected,
                    },
                },
            ],
        };
        let actions = planned_actions(&plan, &images, &HashMap::new());
        assert_eq!(
            actions
                .iter()
                .map(|a| (a.digest.as_str(), a.is_index))
                .collect::<Vec<_>>(),
            vec![("a", true), ("b", false), ("c", false)]
        );
        assert_eq!(actions[0].tags, vec!["t-a"]);
        let mut summary = RepositorySummary::new("repo", PolicyKind::Configured, SweepMode::DryRun);
        summary.count_plan(&actions);
        assert_eq!(
            summary.by_rule,
            vec![
                RuleCount {
                    rule_priority: 10,
                    action: Action::Expire,
                    images: 1,
                    bytes: 20
                },
                RuleCount {
                    rule_priority: 10,
                    action: Action::Transition,
                    images: 1,
                    bytes: 30
                },
                RuleCount {
                    rule_priority: 20,
                    action: Action::Expire,
                    images: 1,
                    bytes: 10
                },
            ]
        );
        assert_eq!(
            (
                summary.planned_expire,
                summary.planned_transition,
                summary.planned_bytes
            ),
            (2, 1, 30)
        );
    }

    #[test]
    fn an_expiration_follows_the_expiring_indexes_and_subject_it_depends_on() {
        let mut signature = image("s", 1, false);
        signature.subject_digest = Some("b".into());
        let images = [
            image("i", 1, true),
            image("k", 1, true),
            image("b", 1, false),
            signature,
        ];
        let plan = Plan {
            decisions: vec![
                act("b", Action::Expire, 10),
                act("i", Action::Expire, 10),
                ImageDecision {
                    digest: "k".into(),
                    outcome: Outcome::Keep {
                        reason: KeepReason::NotSelected,
                    },
                },
                act("s", Action::Expire, 10),
            ],
        };
        // `b` is listed by the expiring index `i` and by `k`, which stays (in a real
        // plan the engine would keep `b`; only expiring parents are followed).
        let children = HashMap::from([
            ("i".to_owned(), vec!["b".to_owned()]),
            ("k".to_owned(), vec!["b".to_owned()]),
        ]);
        let actions = planned_actions(&plan, &images, &children);
        let follows: Vec<(&str, Vec<String>)> = actions
            .iter()
            .map(|action| (action.digest.as_str(), action.follows.clone()))
            .collect();
        assert_eq!(
            follows,
            vec![
                ("b", vec!["i".to_owned()]),
                ("i", vec![]),
                ("s", vec!["b".to_owned()]),
            ]
        );
    }

    #[test]
    fn failures_are_counted_and_the_list_is_bounded() {
        let mut summary = RepositorySummary::new("repo", PolicyKind::Native, SweepMode::DryRun);
        let failures = (0..60)
            .map(|n| ActionFailure {
                digest: format!("sha256:{n}"),
                action: Action::Expire,
                code: "ImageReferencedByManifestList".into(),
                message: String::new(),
            })
            .collect();
        summary.record_failures(failures);
        assert_eq!(summary.failure_count, 60);
        assert_eq!(summary.failures.len(), 50);
    }

    #[test]
    fn event_and_metrics_carry_the_counts() {
        let mut summary =
            RepositorySummary::new("repo", PolicyKind::Configured, SweepMode::Enforce);
        summary.expired = 3;
        summary.protected.insert(ProtectionKind::InUse, 2);
        let event = summary.event(Some("arn:aws:ecr:us-east-1:123456789012:repository/repo"));
        assert_eq!(event.detail_type, "Sweep Completed");
        assert_eq!(event.detail["repositoryName"], "repo");
        assert_eq!(event.detail["dryRun"], false);
        assert_eq!(event.detail["protected"]["inUse"], 2);
        let line: serde_json::Value =
            serde_json::from_str(&summary.metrics().to_line(0)).expect("emf json");
        assert_eq!(line["ImagesExpired"], 3.0);
        assert_eq!(line["ProtectedInUse"], 2.0);
        assert_eq!(line["DryRun"], "false");
    }
}

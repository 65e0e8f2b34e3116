//! `ecr-janitor report`: what the janitor would do to a registry, before it does it.
//!
//! The report is data first: every selected repository is planned by the sweep's own
//! code in dry run ([`crate::sweep::plan_repository`]), then counted ([`inventory`])
//! and priced ([`prices`]). [`Report`] is the JSON document (its shape is documented
//! in docs/lifecycle-sweeper.md and fixed by tests); the terminal table and the HTML
//! page ([`html`]) are views of it.

pub mod charts;
pub mod gather;
pub mod html;
pub mod inventory;
pub mod prices;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::sweep::in_use::InUse;
use crate::sweep::protection::ProtectionKind;
use crate::sweep::report::{PolicyKind, RuleCount};
use crate::sweep::{RepositoryPlan, SweepMode};
use crate::targets::Target;
use inventory::{ByClass, Inventory};
use prices::AppliedPrices;

/// Version of the JSON shape; raised only when a field changes meaning or goes.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    /// The instant the plans are made as of.
    pub as_of: DateTime<Utc>,
    pub prices: AppliedPrices,
    /// Which sources of "in use" could not be read: an enforced sweep would then act on
    /// nothing (the plans are still shown).
    pub in_use_unknown: Option<String>,
    /// Sources of "in use" the configuration switched off.
    pub in_use_sources_off: Vec<String>,
    pub totals: Totals,
    /// In name order (by account and Region first, when the report covers targets).
    pub repositories: Vec<RepositoryReport>,
}

/// Every repository together.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub repositories: usize,
    /// Repositories that were not planned (skipped or failed; see their entries).
    pub repositories_not_planned: usize,
    #[serde(flatten)]
    pub inventory: Inventory,
    pub cost_per_month: Cost,
}

/// One repository.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryReport {
    pub repository_name: String,
    /// The account and Region of the repository's registry, when the configuration
    /// names targets (see docs/organization.md).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    pub policy: PolicyKind,
    /// What a scheduled sweep does with the plan: only `enforce` acts.
    pub mode: SweepMode,
    /// Why the repository was not planned, when it was not (e.g. no native policy).
    pub skipped: Option<String>,
    /// The call or policy error that stopped its planning.
    pub error: Option<String>,
    /// Why an enforced sweep would act on nothing: the safety cap.
    pub cap_tripped: Option<String>,
    #[serde(flatten)]
    pub inventory: Inventory,
    pub cost_per_month: Cost,
    /// Planned actions by rule and action.
    pub by_rule: Vec<RuleCount>,
    /// Every protected image, in digest order.
    pub protected_images: Vec<ProtectedEntry>,
}

impl RepositoryReport {
    /// How views name the repository: its name, after its account and Region when the
    /// report covers several registries.
    pub fn label(&self) -> String {
        match &self.target {
            Some(target) => format!("{target} {}", self.repository_name),
            None => self.repository_name.clone(),
        }
    }
}

/// A protected image, why (who holds it) and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectedEntry {
    pub digest: String,
    pub tags: Vec<String>,
    pub kind: ProtectionKind,
    pub reason: String,
    pub size_bytes: i64,
}

/// Storage cost per month, in the prices' currency, to a millionth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub now: f64,
    pub after: f64,
    pub savings: f64,
}

/// A repository as planned, or why it was not.
#[derive(Debug, Clone)]
pub struct Planned {
    pub repository_name: String,
    pub target: Option<Target>,
    pub policy: PolicyKind,
    pub mode: SweepMode,
    pub outcome: Result<Box<RepositoryPlan>, NotPlanned>,
}

/// Why a repository has no plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotPlanned {
    pub skipped: Option<String>,
    pub error: Option<String>,
}

impl Report {
    /// Counts and prices the plans (in any order) as of `as_of`.
    pub fn assemble(
        as_of: DateTime<Utc>,
        prices: AppliedPrices,
        in_use: &InUse,
        planned: Vec<Planned>,
    ) -> Report {
        let mut repositories: Vec<RepositoryReport> =
            planned.into_iter().map(repository_report).collect();
        repositories
            .sort_by(|a, b| (&a.target, &a.repository_name).cmp(&(&b.target, &b.repository_name)));
        let mut inventory = Inventory::default();
        for repository in &repositories {
            inventory.merge(&repository.inventory);
        }
        // Tiers apply to each storage class's total; each repository pays the average
        // rate of the total it is part of, so that the repositories add up to it.
        let cost = |bytes: ByClass| prices.table.monthly_cost(bytes.standard, bytes.archive);
        let rates = |bytes: ByClass| {
            let rate = |class_bytes: i64, tiers| {
                if class_bytes > 0 {
                    prices::tiered_cost(class_bytes, tiers) / class_bytes as f64
                } else {
                    0.0
                }
            };
            (
                rate(bytes.standard, &prices.table.standard),
                rate(bytes.archive, &prices.table.archive),
            )
        };
        let (now_rates, after_rates) = (rates(inventory.bytes_now), rates(inventory.bytes_after));
        let priced = |bytes: ByClass, (standard, archive): (f64, f64)| {
            bytes.standard as f64 * standard + bytes.archive as f64 * archive
        };
        for repository in &mut repositories {
            repository.cost_per_month = Cost::of(
                priced(repository.inventory.bytes_now, now_rates),
                priced(repository.inventory.bytes_after, after_rates),
            );
        }
        let totals = Totals {
            repositories: repositories.len(),
            repositories_not_planned: repositories
                .iter()
                .filter(|repository| repository.skipped.is_some() || repository.error.is_some())
                .count(),
            inventory,
            cost_per_month: Cost::of(cost(inventory.bytes_now), cost(inventory.bytes_after)),
        };
        Report {
            schema_version: SCHEMA_VERSION,
            as_of,
            prices,
            in_use_unknown: in_use.unknown(),
            in_use_sources_off: in_use.off.clone(),
            totals,
            repositories,
        }
    }
}

impl Cost {
    fn of(now: f64, after: f64) -> Cost {
        Cost {
            now: to_millionths(now),
            after: to_millionths(after),
            savings: to_millionths(now - after),
        }
    }
}

/// Rounds to a millionth: enough for any storage bill, and free of binary noise
/// (`0.30000000000000004`) in the JSON.
fn to_millionths(amount: f64) -> f64 {
    (amount * 1e6).round() / 1e6
}

fn repository_report(planned: Planned) -> RepositoryReport {
    let mut report = RepositoryReport {
        repository_name: planned.repository_name,
        target: planned.target,
        policy: planned.policy,
        mode: planned.mode,
        skipped: None,
        error: None,
        cap_tripped: None,
        inventory: Inventory::default(),
        cost_per_month: Cost::default(),
        by_rule: Vec::new(),
        protected_images: Vec::new(),
    };
    match planned.outcome {
        Err(not_planned) => {
            report.skipped = not_planned.skipped;
            report.error = not_planned.error;
        }
        Ok(plan) => {
            report.inventory = Inventory::of(&plan);
            let sizes: std::collections::HashMap<&str, i64> = plan
                .images
                .iter()
                .map(|image| (image.digest.as_str(), image.size_bytes.unwrap_or(0)))
                .collect();
            report.protected_images = plan
                .protected
                .iter()
                .filter_map(|image| {
                    Some(ProtectedEntry {
                        digest: image.digest.clone(),
                        tags: image.tags.clone(),
                        kind: *plan.protections.kinds.get(&image.digest)?,
                        reason: image.reason.clone(),
                        size_bytes: sizes.get(image.digest.as_str()).copied().unwrap_or(0),
                    })
                })
                .collect();
            report.cap_tripped = plan.summary.cap_tripped.clone();
            report.by_rule = plan.summary.by_rule.clone();
        }
    }
    report
}

//! Lifecycle sweeps: scheduled, safe, index-aware sweeps of real registries.
//!
//! A run reads each selected repository (`DescribeImages`, every storage class), learns
//! which children every image index references (`BatchGetImage`, indexes only),
//! protects images that are in use (running ECS tasks, Lambda functions), carry a
//! protected tag, are too young or may be listed by an unreadable index, plans with the
//! lifecycle engine, checks the safety cap and, in enforce mode, applies the plan batch
//! by batch, re-reading each batch right before acting on it. Large registries fan
//! out: one `Sweep Repository` event per repository, each handled by its own
//! invocation.

pub mod budget;
pub mod config;
pub mod error;
pub mod executor;
pub mod handler;
pub mod in_use;
pub mod manifests;
pub mod organization;
pub mod pacing;
pub mod protection;
pub mod pull_times;
pub mod recheck;
pub mod reference;
pub mod registry;
pub mod report;
pub mod repository;
pub mod run_cost;
pub mod trigger;

pub use budget::Budget;
pub use config::{PolicySource, RepositoryEntry, SafetyCap, SweepMode, SweeperConfig};
pub use handler::{SweepError, SweepRun, Sweeper};
pub use repository::{
    plan_repository, sweep_repository, Planning, RepositoryPlan, RepositorySweep, SweepRules,
    SweepTiming,
};
pub use trigger::SweepTrigger;

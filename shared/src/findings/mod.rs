//! Scan findings: enhanced (Inspector) and basic (ECR) scan results,
//! normalised, filtered by severity and suppressions, imported into Security Hub and
//! published on the janitor bus.
//!
//! Pure modules parse, normalise, filter and map; `security_hub` and `handler` are the
//! thin layer that calls AWS.

pub mod asff;
pub mod basic;
pub mod bus_event;
pub mod config;
pub mod event;
pub mod filter;
pub mod handler;
pub mod inspector;
pub mod metrics;
pub mod model;
mod object_only;
pub mod security_hub;
pub mod timestamp;

pub use asff::Caller;
pub use config::{ScanConfig, Suppression};
pub use handler::{ForwardError, ForwardReport, ScanForwarder};
pub use model::{Finding, FindingSource, FindingStatus, FixAvailable, Package, Severity};

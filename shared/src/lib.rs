//! ecr-janitor's library: the pure domain (lifecycle engine, tag rules, findings,
//! event types) and the thin AWS adapters the functions execute plans with.

pub mod aws;
pub mod config;
pub mod findings;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod pattern;
pub mod protected_tags;
pub mod report;
pub mod sweep;
pub mod tags;
pub mod targets;
pub mod untrusted;

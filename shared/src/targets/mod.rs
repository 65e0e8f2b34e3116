//! The accounts and Regions one installation serves, and how to reach each of them.
//!
//! A janitor installed in one account and Region (the hub) serves itself and, when the
//! configuration has a `targets` section, member accounts and Regions too: listed by
//! hand or discovered through AWS Organizations ([`discovery`]). It reaches a member
//! through the role the member created for it ([`clients`]: STS `AssumeRole`, the
//! credentials cached and refreshed before they expire); [`TargetDirectory`] is the one
//! place that knows which targets exist and builds their clients, so that the sweeper,
//! the tag-enforcer and the scan-forwarder never build clients themselves.

pub mod clients;
pub mod config;
pub mod directory;
pub mod discovery;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use clients::ClientFactory;
pub use config::TargetsConfig;
pub use directory::{TargetDirectory, TargetError};

/// One account in one Region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub account: String,
    pub region: String,
}

impl Target {
    pub fn new(account: &str, region: &str) -> Self {
        Target {
            account: account.to_owned(),
            region: region.to_owned(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// A target and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetAccess {
    pub target: Target,
    /// The role assumed in the target's account; `None` in the hub's own account,
    /// which is reached with the hub's own credentials.
    pub role_name: Option<String>,
}

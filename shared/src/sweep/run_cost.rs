//! What one organization-wide run costs, as a formula: invocations, and the API calls
//! of its stages (see [`super::organization`]). The sweep of each repository costs what
//! a single-account sweep of it costs on top (listing, manifests, deletions), which
//! grows with its images, not with the organization.
//!
//! The formula is checked against a run on moto (tests/tests/organization.rs counts
//! every call) and applied at 1,000 accounts × 4 Regions by
//! `examples/organization_scale.rs`.

use crate::aws::bus::MAX_ENTRIES_PER_CALL;

/// `ListAccounts` returns at most this many accounts per page.
pub const ACCOUNTS_PER_PAGE: usize = 20;
/// `ListObjectsV2` and `DescribeRepositories` return at most this many per page.
pub const KEYS_PER_PAGE: usize = 1000;

/// The shape of an organization: what the costs depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunShape {
    /// Accounts `ListAccounts` lists (`None` without Organizations discovery).
    pub organization_accounts: Option<usize>,
    /// Targets reached through a role (every target outside the hub's account).
    pub member_targets: usize,
    /// Per target: repositories listed, and of them selected by the configuration.
    pub repositories: Vec<(usize, usize)>,
    /// Registries of targets that some workload names: the snapshot's shards.
    pub shards: usize,
}

/// Invocations and calls of one run (each repository's own sweep aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunCost {
    pub invocations: usize,
    pub put_events: usize,
    pub list_accounts: usize,
    /// Once per member target per warm function instance: this is the count when one
    /// instance handles the whole run; each further cold instance that reaches a
    /// target assumes its role once more.
    pub assume_role: usize,
    /// The reachability check of each member target, when gathering and fanning out.
    pub get_caller_identity: usize,
    pub s3_put_object: usize,
    /// At most: a gatherer lists the parts written so far.
    pub s3_list_objects: usize,
    pub s3_get_object: usize,
    pub describe_repositories: usize,
}

fn pages(items: usize, per_page: usize) -> usize {
    items.div_ceil(per_page).max(1)
}

fn batches(events: usize) -> usize {
    events.div_ceil(MAX_ENTRIES_PER_CALL)
}

impl RunShape {
    pub fn targets(&self) -> usize {
        self.repositories.len()
    }

    /// Repositories swept in the run.
    pub fn sweeps(&self) -> usize {
        self.repositories.iter().map(|(_, selected)| selected).sum()
    }

    pub fn cost(&self) -> RunCost {
        let targets = self.targets();
        let sweeps = self.sweeps();
        RunCost {
            // start + one gather and one fan-out per target + one sweep per repository
            invocations: 1 + 2 * targets + sweeps,
            // Gather In Use (start) + Sweep Target (assembler) + Sweep Repository
            // (each fan-out) + one summary per repository sweep
            put_events: 2 * batches(targets)
                + self
                    .repositories
                    .iter()
                    .map(|(_, selected)| batches(*selected))
                    .sum::<usize>()
                + sweeps,
            list_accounts: self
                .organization_accounts
                .map_or(0, |accounts| pages(accounts, ACCOUNTS_PER_PAGE)),
            assume_role: self.member_targets,
            get_caller_identity: 2 * self.member_targets,
            // manifest + one part per target + the assembly claim + the shards + the
            // snapshot's header
            s3_put_object: targets + 3 + self.shards,
            s3_list_objects: targets * pages(targets, KEYS_PER_PAGE),
            // the manifest and every part (assembler) + the header and its registry's
            // shard (each sweep; a shard no use names is not there: a 404)
            s3_get_object: 1 + targets + 2 * sweeps,
            // each fan-out lists its target's repositories; each sweep finds its own
            describe_repositories: self
                .repositories
                .iter()
                .map(|(listed, _)| pages(*listed, KEYS_PER_PAGE))
                .sum::<usize>()
                + sweeps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_accounts_in_four_regions() {
        let shape = RunShape {
            organization_accounts: Some(1000),
            member_targets: 3996,
            repositories: vec![(50, 50); 4000],
            shards: 4000,
        };
        let cost = shape.cost();
        assert_eq!(cost.invocations, 1 + 8000 + 200_000);
        assert_eq!(cost.put_events, 400 + 400 + 4000 * 5 + 200_000);
        assert_eq!(cost.list_accounts, 50);
        assert_eq!(cost.s3_put_object, 8003);
        assert_eq!(cost.s3_list_objects, 16_000);
        assert_eq!(cost.s3_get_object, 1 + 4000 + 400_000);
        assert_eq!(cost.describe_repositories, 4000 + 200_000);
    }
}

//! Which targets the configuration names: the hub, the accounts listed by hand, and the
//! ACTIVE accounts of the AWS Organization, each in its Regions.

use super::config::TargetsConfig;
use super::{Target, TargetAccess};

/// `Account.State` (or the older `Status`) of an account that can be reached.
const ACTIVE: &str = "ACTIVE";

/// One account as `organizations:ListAccounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationAccount {
    pub id: String,
    /// `State` (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`,
    /// `PENDING_ACTIVATION`), or the deprecated `Status` where `State` is absent.
    pub state: String,
}

/// Every target, in order: the hub (unless excluded), the listed accounts, then the
/// organization's ACTIVE accounts that are not excluded. A target named twice is kept
/// where it first appears. The hub's own account is reached with the hub's credentials
/// in every Region; other accounts through their role.
pub fn resolve(
    config: &TargetsConfig,
    hub: &Target,
    organization: &[OrganizationAccount],
) -> Vec<TargetAccess> {
    let access = |account: &str, region: &str, role_name: Option<&String>| TargetAccess {
        target: Target::new(account, region),
        role_name: (account != hub.account).then(|| role_name.unwrap_or(&config.role_name).clone()),
    };
    let mut targets: Vec<TargetAccess> = Vec::new();
    if !config.exclude_hub {
        targets.push(access(&hub.account, &hub.region, None));
    }
    for listed in &config.accounts {
        for region in &listed.regions {
            targets.push(access(&listed.account, region, listed.role_name.as_ref()));
        }
    }
    if let Some(discovered) = &config.organization {
        for account in organization.iter().filter(|account| {
            account.state == ACTIVE && !discovered.exclude_accounts.contains(&account.id)
        }) {
            for region in &discovered.regions {
                targets.push(access(&account.id, region, discovered.role_name.as_ref()));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    targets.retain(|access| seen.insert(access.target.clone()));
    targets
}

/// Every account of the organization, all pages (`ListAccounts`, 20 per page).
pub async fn organization_accounts(
    organizations: &aws_sdk_organizations::Client,
) -> Result<Vec<OrganizationAccount>, String> {
    let mut pages = organizations.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| crate::aws::error_text(&err))?;
        for account in page.accounts() {
            #[allow(deprecated)]
            let state = account
                .state()
                .map(|state| state.as_str().to_owned())
                .or_else(|| account.status().map(|status| status.as_str().to_owned()))
                .unwrap_or_default();
            accounts.push(OrganizationAccount {
                id: account.id().unwrap_or_default().to_owned(),
                state,
            });
        }
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> TargetsConfig {
        serde_json::from_value(json).expect("readable")
    }

    fn listed(targets: &[TargetAccess]) -> Vec<String> {
        targets
            .iter()
            .map(|access| match &access.role_name {
                Some(role) => format!("{} as {role}", access.target),
                None => format!("{} as hub", access.target),
            })
            .collect()
    }

    fn member(id: &str, state: &str) -> OrganizationAccount {
        OrganizationAccount {
            id: id.to_owned(),
            state: state.to_owned(),
        }
    }

    const HUB: &str = "999999999999";

    #[test]
    fn the_hub_listed_accounts_then_active_organization_accounts() {
        let config = config(serde_json::json!({
            "accounts": [
                {"account": "111111111111", "regions": ["us-east-1", "eu-west-1"]},
                {"account": HUB, "regions": ["eu-west-1"]},
            ],
            "organization": {"regions": ["us-east-1"], "roleName": "OrgJanitor",
                             "excludeAccounts": ["333333333333"]},
        }));
        let organization = [
            member(HUB, "ACTIVE"),
            member("111111111111", "ACTIVE"),
            member("222222222222", "ACTIVE"),
            member("333333333333", "ACTIVE"),
            member("444444444444", "SUSPENDED"),
            member("555555555555", "PENDING_CLOSURE"),
        ];
        let targets = resolve(&config, &Target::new(HUB, "us-east-1"), &organization);
        assert_eq!(
            listed(&targets),
            [
                "999999999999/us-east-1 as hub",
                "111111111111/us-east-1 as ecr-janitor-member",
                "111111111111/eu-west-1 as ecr-janitor-member",
                "999999999999/eu-west-1 as hub",
                "222222222222/us-east-1 as OrgJanitor",
            ]
        );
    }

    #[test]
    fn the_hub_can_be_left_out() {
        let config = config(serde_json::json!({
            "excludeHub": true,
            "accounts": [{"account": "111111111111", "regions": ["us-east-1"], "roleName": "R"}],
        }));
        let targets = resolve(&config, &Target::new(HUB, "us-east-1"), &[]);
        assert_eq!(listed(&targets), ["111111111111/us-east-1 as R"]);
    }
}

//! The `targets` section: which accounts and Regions one installation serves.

use serde::Deserialize;

use crate::config::FieldError;

/// The member role the hub assumes when a target names none.
pub const DEFAULT_ROLE_NAME: &str = "ecr-janitor-member";
/// How old an in-use snapshot may be when a repository is swept against it.
pub const DEFAULT_SNAPSHOT_MAX_AGE_MINUTES: u32 = 60;

fn default_role_name() -> String {
    DEFAULT_ROLE_NAME.to_owned()
}

fn default_snapshot_max_age_minutes() -> u32 {
    DEFAULT_SNAPSHOT_MAX_AGE_MINUTES
}

/// The accounts and Regions the janitor serves besides its own (the hub's account and
/// Region is a target unless `excludeHub`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetsConfig {
    /// Accounts listed by hand, each in its Regions.
    #[serde(default)]
    pub accounts: Vec<AccountTargets>,
    /// Every ACTIVE account of the AWS Organization, in these Regions.
    #[serde(default)]
    pub organization: Option<OrganizationTargets>,
    /// The role the hub assumes in a member, unless the member names another.
    #[serde(default = "default_role_name")]
    pub role_name: String,
    /// The external id the members' roles require, if any.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Leave the hub's own account and Region out.
    #[serde(default)]
    pub exclude_hub: bool,
    /// A repository is not swept against an in-use snapshot older than this.
    #[serde(default = "default_snapshot_max_age_minutes")]
    pub snapshot_max_age_minutes: u32,
}

/// One account listed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountTargets {
    pub account: String,
    pub regions: Vec<String>,
    #[serde(default)]
    pub role_name: Option<String>,
}

/// The accounts AWS Organizations lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationTargets {
    pub regions: Vec<String>,
    #[serde(default)]
    pub role_name: Option<String>,
    #[serde(default)]
    pub exclude_accounts: Vec<String>,
}

/// A 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// A Region name such as `us-east-1`, `eu-central-2` or `us-gov-west-1`.
pub fn is_region_name(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.bytes().all(|byte| byte.is_ascii_digit()))
}

/// An IAM role name: 1–64 of `[A-Za-z0-9+=,.@_-]`.
fn is_role_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"+=,.@_-".contains(&byte))
}

/// An STS external id: 2–1224 of `[\w+=,.@:/-]`.
fn is_external_id(text: &str) -> bool {
    (2..=1224).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&byte))
}

fn check_regions(regions: &[String], field: &str, errors: &mut Vec<FieldError>) {
    if regions.is_empty() {
        errors.push(FieldError::new(field, "must name at least one Region"));
    }
    for (index, region) in regions.iter().enumerate() {
        if !is_region_name(region) {
            errors.push(FieldError::new(
                format!("{field}[{index}]"),
                format!("must be a Region name such as us-east-1, got {region:?}"),
            ));
        }
    }
}

fn check_role_name(role_name: &str, field: &str, errors: &mut Vec<FieldError>) {
    if !is_role_name(role_name) {
        errors.push(FieldError::new(
            field,
            format!("must be an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-), got {role_name:?}"),
        ));
    }
}

impl TargetsConfig {
    pub fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        check_role_name(&self.role_name, &format!("{field}.roleName"), errors);
        if let Some(external_id) = &self.external_id {
            if !is_external_id(external_id) {
                errors.push(FieldError::new(
                    format!("{field}.externalId"),
                    "must be 2-1224 of A-Z a-z 0-9 _+=,.@:/-",
                ));
            }
        }
        if self.snapshot_max_age_minutes == 0 {
            errors.push(FieldError::new(
                format!("{field}.snapshotMaxAgeMinutes"),
                "must be at least 1, got 0",
            ));
        }
        for (index, account) in self.accounts.iter().enumerate() {
            let field = format!("{field}.accounts[{index}]");
            if !is_account_id(&account.account) {
                errors.push(FieldError::new(
                    format!("{field}.account"),
                    format!("must be a 12-digit account id, got {:?}", account.account),
                ));
            }
            check_regions(&account.regions, &format!("{field}.regions"), errors);
            if let Some(role_name) = &account.role_name {
                check_role_name(role_name, &format!("{field}.roleName"), errors);
            }
        }
        if let Some(organization) = &self.organization {
            let field = format!("{field}.organization");
            check_regions(&organization.regions, &format!("{field}.regions"), errors);
            if let Some(role_name) = &organization.role_name {
                check_role_name(role_name, &format!("{field}.roleName"), errors);
            }
            for (index, account) in organization.exclude_accounts.iter().enumerate() {
                if !is_account_id(account) {
                    errors.push(FieldError::new(
                        format!("{field}.excludeAccounts[{index}]"),
                        format!("must be a 12-digit account id, got {account:?}"),
                    ));
                }
            }
        }
        if self.accounts.is_empty() && self.organization.is_none() && self.exclude_hub {
            errors.push(FieldError::new(
                field,
                "names no target: list accounts, set organization, or keep the hub (excludeHub false)",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(json: serde_json::Value) -> Vec<String> {
        let config: TargetsConfig = serde_json::from_value(json).expect("readable");
        let mut errors = Vec::new();
        config.validate("targets", &mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_name_the_member_role_and_an_hour() {
        let config: TargetsConfig = serde_json::from_str("{}").expect("readable");
        assert_eq!(config.role_name, "ecr-janitor-member");
        assert_eq!(config.snapshot_max_age_minutes, 60);
        assert!(!config.exclude_hub);
        assert!(errors_of(serde_json::json!({})).is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = errors_of(serde_json::json!({
            "accounts": [
                {"account": "12345", "regions": ["us-east-1", "Moon"]},
                {"account": "111111111111", "regions": [], "roleName": "no spaces"}
            ],
            "organization": {"regions": ["eu-west-1"], "excludeAccounts": ["abc"]},
            "externalId": "x",
            "snapshotMaxAgeMinutes": 0
        }));
        assert_eq!(
            errors,
            [
                "targets.externalId: must be 2-1224 of A-Z a-z 0-9 _+=,.@:/-",
                "targets.snapshotMaxAgeMinutes: must be at least 1, got 0",
                "targets.accounts[0].account: must be a 12-digit account id, got \"12345\"",
                "targets.accounts[0].regions[1]: must be a Region name such as us-east-1, got \"Moon\"",
                "targets.accounts[1].regions: must name at least one Region",
                "targets.accounts[1].roleName: must be an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-), got \"no spaces\"",
                "targets.organization.excludeAccounts[0]: must be a 12-digit account id, got \"abc\"",
            ]
        );
    }

    #[test]
    fn excluding_the_hub_alone_leaves_nothing() {
        assert_eq!(
            errors_of(serde_json::json!({"excludeHub": true})),
            ["targets: names no target: list accounts, set organization, or keep the hub (excludeHub false)"]
        );
    }

    #[test]
    fn region_names() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "US-east-1",
            "us--1",
            "us-east-x",
            "us_east_1",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }
}

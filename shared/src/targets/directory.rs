//! Which targets exist now, and the clients to reach them.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::clients::ClientFactory;
use super::config::TargetsConfig;
use super::discovery::{self, OrganizationAccount};
use super::{Target, TargetAccess};

/// How long a listing of the organization's accounts is reused by a warm function: an
/// account joining the organization is served within this time.
pub const ORGANIZATION_LISTING_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("cannot tell the hub's account: {0}")]
    Hub(String),
    #[error("cannot list the organization's accounts: ListAccounts: {0}")]
    Organization(String),
}

/// The hub, the configured targets, and the factory of their clients.
#[derive(Debug)]
pub struct TargetDirectory {
    hub: Target,
    config: Option<TargetsConfig>,
    factory: ClientFactory,
    organization: Mutex<Option<(Instant, Vec<OrganizationAccount>)>>,
}

impl TargetDirectory {
    /// The directory of `factory`'s hub (its account asked of STS) and `config`'s
    /// targets; without a `targets` section the hub is the only target.
    pub async fn load(
        factory: ClientFactory,
        config: Option<TargetsConfig>,
    ) -> Result<Self, TargetError> {
        let hub = factory.hub_target().await.map_err(TargetError::Hub)?;
        Ok(Self::new(hub, factory, config))
    }

    /// The directory of an organization-wide installation: `None` when `config` (the
    /// `targets` section) is absent. Member roles are assumed from `hub` (the hub's
    /// SDK configuration) in sessions named after `function_name`.
    pub async fn for_installation(
        hub: &aws_config::SdkConfig,
        config: Option<&TargetsConfig>,
        function_name: &str,
    ) -> Result<Option<Self>, TargetError> {
        let Some(config) = config else {
            return Ok(None);
        };
        let factory = ClientFactory::new(
            hub.clone(),
            super::clients::session_name(function_name),
            config.external_id.clone(),
        );
        Self::load(factory, Some(config.clone())).await.map(Some)
    }

    /// The directory of a hub already known.
    pub fn new(hub: Target, factory: ClientFactory, config: Option<TargetsConfig>) -> Self {
        TargetDirectory {
            hub,
            config,
            factory,
            organization: Mutex::new(None),
        }
    }

    pub fn hub(&self) -> &Target {
        &self.hub
    }

    /// The hub's own access.
    pub fn hub_access(&self) -> TargetAccess {
        TargetAccess {
            target: self.hub.clone(),
            role_name: None,
        }
    }

    /// The `targets` section, when the installation serves more than itself.
    pub fn config(&self) -> Option<&TargetsConfig> {
        self.config.as_ref()
    }

    pub fn factory(&self) -> &ClientFactory {
        &self.factory
    }

    /// Every target now (see [`discovery::resolve`]).
    pub async fn all(&self) -> Result<Vec<TargetAccess>, TargetError> {
        let Some(config) = &self.config else {
            return Ok(vec![self.hub_access()]);
        };
        let organization = match config.organization {
            Some(_) => self.organization_accounts().await?,
            None => Vec::new(),
        };
        Ok(discovery::resolve(config, &self.hub, &organization))
    }

    /// How to reach `account` in `region`, when it is a target; `None` when it is not.
    pub async fn access(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Option<TargetAccess>, TargetError> {
        let wanted = Target::new(account, region);
        Ok(self
            .all()
            .await?
            .into_iter()
            .find(|access| access.target == wanted))
    }

    /// How to reach a target the janitor itself named (its run's stage events, sent
    /// only by the hub): from the configuration alone, without listing the
    /// organization again in every invocation of the run. An account of
    /// `organization` is taken as ACTIVE, as it was when the run listed it. `None`
    /// when the configuration does not name it (any more).
    pub fn reach(&self, target: &Target) -> Option<TargetAccess> {
        let access = |role_name: Option<&String>| {
            let role_name = (target.account != self.hub.account).then(|| {
                role_name
                    .or(self.config.as_ref().map(|config| &config.role_name))
                    .cloned()
                    .unwrap_or_else(|| super::config::DEFAULT_ROLE_NAME.to_owned())
            });
            Some(TargetAccess {
                target: target.clone(),
                role_name,
            })
        };
        let Some(config) = &self.config else {
            return (*target == self.hub).then(|| self.hub_access());
        };
        if *target == self.hub && !config.exclude_hub {
            return access(None);
        }
        if let Some(listed) = config.accounts.iter().find(|listed| {
            listed.account == target.account && listed.regions.contains(&target.region)
        }) {
            return access(listed.role_name.as_ref());
        }
        let organization = config.organization.as_ref()?;
        (organization.regions.contains(&target.region)
            && !organization.exclude_accounts.contains(&target.account))
        .then_some(())?;
        access(organization.role_name.as_ref())
    }

    async fn organization_accounts(&self) -> Result<Vec<OrganizationAccount>, TargetError> {
        let mut cached = self.organization.lock().await;
        if let Some((listed_at, accounts)) = cached.as_ref() {
            if listed_at.elapsed() < ORGANIZATION_LISTING_TTL {
                return Ok(accounts.clone());
            }
        }
        let client = aws_sdk_organizations::Client::new(self.factory.hub());
        let accounts = discovery::organization_accounts(&client)
            .await
            .map_err(TargetError::Organization)?;
        *cached = Some((Instant::now(), accounts.clone()));
        Ok(accounts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(config: serde_json::Value) -> TargetDirectory {
        let factory =
            ClientFactory::new(aws_config::SdkConfig::builder().build(), "s".into(), None);
        let config = serde_json::from_value(config).expect("readable");
        TargetDirectory::new(
            Target::new("999999999999", "us-east-1"),
            factory,
            Some(config),
        )
    }

    fn reached(directory: &TargetDirectory, account: &str, region: &str) -> Option<String> {
        directory
            .reach(&Target::new(account, region))
            .map(|access| access.role_name.unwrap_or_else(|| "(hub)".to_owned()))
    }

    #[test]
    fn the_janitor_s_own_targets_are_reached_from_the_configuration_alone() {
        let directory = directory(serde_json::json!({
            "accounts": [{"account": "111111111111", "regions": ["eu-west-1"], "roleName": "Listed"},
                         {"account": "999999999999", "regions": ["eu-west-1"]}],
            "organization": {"regions": ["us-east-1"], "excludeAccounts": ["333333333333"]},
        }));
        let cases = [
            ("999999999999", "us-east-1", Some("(hub)")),
            ("999999999999", "eu-west-1", Some("(hub)")),
            ("111111111111", "eu-west-1", Some("Listed")),
            ("111111111111", "us-east-1", Some("ecr-janitor-member")),
            ("222222222222", "us-east-1", Some("ecr-janitor-member")),
            ("222222222222", "eu-west-1", None),
            ("333333333333", "us-east-1", None),
        ];
        for (account, region, role) in cases {
            assert_eq!(
                reached(&directory, account, region).as_deref(),
                role,
                "{account}/{region}"
            );
        }
        let without_hub = self::directory(serde_json::json!({
            "excludeHub": true,
            "accounts": [{"account": "111111111111", "regions": ["eu-west-1"]}],
        }));
        assert_eq!(reached(&without_hub, "999999999999", "us-east-1"), None);
    }
}

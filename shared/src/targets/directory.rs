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

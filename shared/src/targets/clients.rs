//! Clients for a target: the hub's own credentials in its own account, the member's
//! role everywhere else (STS `AssumeRole`, cached, refreshed before expiry).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_sts::config::SharedCredentialsProvider;

use super::{Target, TargetAccess};
use crate::sweep::in_use::InUseClients;

/// Assumed-role credentials are renewed this long before they expire, so that no call
/// (nor its retries) starts with credentials about to lapse.
pub const CREDENTIALS_REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);
/// The longest STS role session name.
const MAX_SESSION_NAME: usize = 64;

/// Builds and caches one SDK configuration per target; every client of a target comes
/// from it, so they share its credentials cache.
#[derive(Debug, Clone)]
pub struct ClientFactory {
    hub: SdkConfig,
    session_name: String,
    external_id: Option<String>,
    configs: Arc<Mutex<HashMap<TargetAccess, SdkConfig>>>,
}

/// `ecr-janitor-<function>`, cut to what STS accepts (`[\w+=,.@-]`, 2–64 characters).
pub fn session_name(function_name: &str) -> String {
    let name: String = format!("ecr-janitor-{function_name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(MAX_SESSION_NAME)
        .collect();
    name
}

/// The partition of a Region's ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl ClientFactory {
    /// `hub` is the hub's own configuration (credentials, endpoint, retry policy); every
    /// target's configuration is derived from it.
    pub fn new(hub: SdkConfig, session_name: String, external_id: Option<String>) -> Self {
        ClientFactory {
            hub,
            session_name,
            external_id,
            configs: Arc::default(),
        }
    }

    /// The hub's own configuration.
    pub fn hub(&self) -> &SdkConfig {
        &self.hub
    }

    /// The ARN of the role `access` assumes, if any.
    pub fn role_arn(&self, access: &TargetAccess) -> Option<String> {
        let role = access.role_name.as_ref()?;
        let region = &access.target.region;
        Some(format!(
            "arn:{}:iam::{}:role/{role}",
            partition(region),
            access.target.account
        ))
    }

    /// The SDK configuration of a target: built once, then shared.
    pub async fn sdk_config(&self, access: &TargetAccess) -> SdkConfig {
        if let Some(config) = self.cached(access) {
            return config;
        }
        let region = Region::new(access.target.region.clone());
        let mut builder = self.hub.to_builder();
        builder.set_region(Some(region.clone()));
        if let Some(role_arn) = self.role_arn(access) {
            let mut provider = AssumeRoleProvider::builder(role_arn)
                .session_name(&self.session_name)
                .region(region)
                .configure(&self.hub);
            if let Some(external_id) = &self.external_id {
                provider = provider.external_id(external_id);
            }
            builder.set_credentials_provider(Some(SharedCredentialsProvider::new(
                provider.build().await,
            )));
            builder.set_identity_cache(Some(
                IdentityCache::lazy()
                    .buffer_time(CREDENTIALS_REFRESH_BEFORE_EXPIRY)
                    .build(),
            ));
        }
        let config = builder.build();
        self.configs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(access.clone())
            .or_insert(config)
            .clone()
    }

    fn cached(&self, access: &TargetAccess) -> Option<SdkConfig> {
        self.configs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(access)
            .cloned()
    }

    /// Whether the target can be reached at all: `GetCallerIdentity` as the target's
    /// role (the role is assumed then, once, and its credentials cached for the
    /// target's other clients). `Err` says why not, in one line.
    pub async fn check(&self, access: &TargetAccess) -> Result<(), String> {
        let Some(role_arn) = self.role_arn(access) else {
            return Ok(());
        };
        aws_sdk_sts::Client::new(&self.sdk_config(access).await)
            .get_caller_identity()
            .send()
            .await
            .map(|_| ())
            .map_err(|err| format!("cannot assume {role_arn}: {}", crate::aws::error_text(&err)))
    }

    pub async fn ecr(&self, access: &TargetAccess) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&self.sdk_config(access).await)
    }

    pub async fn security_hub(&self, access: &TargetAccess) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.sdk_config(access).await)
    }

    pub async fn in_use_clients(&self, access: &TargetAccess) -> InUseClients {
        InUseClients::new(&self.sdk_config(access).await)
    }

    /// The hub's own account and Region, as STS sees its credentials.
    pub async fn hub_target(&self) -> Result<Target, String> {
        let region = self
            .hub
            .region()
            .map(ToString::to_string)
            .ok_or_else(|| "no Region configured (AWS_REGION)".to_owned())?;
        let identity = aws_sdk_sts::Client::new(&self.hub)
            .get_caller_identity()
            .send()
            .await
            .map_err(|err| format!("GetCallerIdentity: {}", crate::aws::error_text(&err)))?;
        let account = identity
            .account()
            .filter(|account| super::config::is_account_id(account))
            .ok_or_else(|| "GetCallerIdentity returned no account".to_owned())?;
        Ok(Target::new(account, &region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_what_sts_accepts() {
        assert_eq!(
            session_name("ecr-janitor-lifecycle-sweeper"),
            "ecr-janitor-ecr-janitor-lifecycle-sweeper"
        );
        assert_eq!(session_name("a b/c"), "ecr-janitor-a-b-c");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn role_arns_follow_the_partition_of_the_region() {
        let factory = ClientFactory::new(SdkConfig::builder().build(), "s".into(), None);
        let access = |account: &str, region: &str, role: Option<&str>| TargetAccess {
            target: Target::new(account, region),
            role_name: role.map(str::to_owned),
        };
        assert_eq!(
            factory.role_arn(&access("111111111111", "eu-west-1", Some("Janitor"))),
            Some("arn:aws:iam::111111111111:role/Janitor".to_owned())
        );
        assert_eq!(
            factory.role_arn(&access("111111111111", "cn-north-1", Some("J"))),
            Some("arn:aws-cn:iam::111111111111:role/J".to_owned())
        );
        assert_eq!(
            factory.role_arn(&access("111111111111", "us-gov-west-1", Some("J"))),
            Some("arn:aws-us-gov:iam::111111111111:role/J".to_owned())
        );
        assert_eq!(
            factory.role_arn(&access("111111111111", "us-east-1", None)),
            None
        );
    }
}

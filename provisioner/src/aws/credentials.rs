//! The caller's credentials, loaded once for the whole command: the first call's own load (see
//! `Target::discover`), every SDK client and serve's signing of the handlers' calls share one
//! resolution, so a `credential_process` (aws-vault, granted: perhaps an MFA prompt) or an SSO
//! refresh runs once, not once per consumer; loaded again only when they expire within five
//! minutes.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

/// `inner`'s credentials, kept until they near their expiry.
#[derive(Debug)]
struct LoadedOnce {
    inner: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl ProvideCredentials for LoadedOnce {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let mut cached = self.cached.lock().await;
            if let Some(credentials) = cached.as_ref()
                && credentials
                    .expiry()
                    .is_none_or(|at| at > SystemTime::now() + Duration::from_secs(300))
            {
                return Ok(credentials.clone());
            }
            let fresh = self.inner.provide_credentials().await?;
            *cached = Some(fresh.clone());
            Ok(fresh)
        })
    }
}

/// `config` with its credentials provider loading once for every consumer.
pub fn loaded_once(config: SdkConfig) -> SdkConfig {
    match config.credentials_provider() {
        Some(inner) => config
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(LoadedOnce {
                inner,
                cached: tokio::sync::Mutex::new(None),
            }))
            .build(),
        None => config,
    }
}

//! The AWS SDK configuration every command shares: the standard chain (environment, profiles, SSO,
//! instance roles), `AWS_ENDPOINT_URL`, and the global `--region`, `--profile` and `--endpoint-url`
//! flags on top.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// What the global flags say about reaching AWS. `None` leaves the standard chain to decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Loads the SDK configuration. Throttling is retried with backoff and jitter, longer than the
/// SDK's default three attempts: API Gateway's control plane allows only a few calls per second.
pub async fn sdk_config(options: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(8));
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn flags_override_the_chain() {
        let config = sdk_config(&AwsOptions {
            region: Some("eu-west-3".to_owned()),
            profile: None,
            endpoint_url: Some("http://127.0.0.1:1".to_owned()),
        })
        .await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
    }
}

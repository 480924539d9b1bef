//! The AWS SDK configuration every command shares: the standard chain (environment, profiles, SSO,
//! instance roles), `AWS_ENDPOINT_URL`, and the global `--region`, `--profile` and `--endpoint-url`
//! flags on top.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::calls::CallCounter;

/// What the global flags say about reaching AWS. `None` leaves the standard chain to decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Loads the SDK configuration. Throttling and 5xx answers are retried with exponential backoff
/// and jitter, longer than the SDK's default three attempts: API Gateway's control plane allows
/// only a few calls per second. A connection that cannot be made, or an attempt that hangs, fails
/// (and is retried) instead of waiting forever; two minutes leave room for a 50 MB code upload.
pub async fn sdk_config(options: &AwsOptions) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(120))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(8))
        .timeout_config(timeouts);
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

/// One client per service, all sharing one configuration and one call counter.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub apigateway: aws_sdk_apigateway::Client,
    pub sts: aws_sdk_sts::Client,
    pub calls: CallCounter,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        let calls = CallCounter::default();
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config)
                        .interceptor(calls.clone())
                        .build(),
                )
            };
        }
        Clients {
            cognito: client!(aws_sdk_cognitoidentityprovider),
            iam: client!(aws_sdk_iam),
            lambda: client!(aws_sdk_lambda),
            logs: client!(aws_sdk_cloudwatchlogs),
            apigateway: client!(aws_sdk_apigateway),
            sts: client!(aws_sdk_sts),
            calls,
        }
    }
}

/// Where the stack lives: region, account and partition, as AWS names them in ARNs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub region: String,
    pub account: String,
    pub partition: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(
        "no AWS region is configured\n\nhint: pass `--region`, set `AWS_REGION`, or set a region in the profile"
    )]
    NoRegion,
    #[error(
        "failed to learn the AWS account (sts:GetCallerIdentity); are credentials configured?\n\nhint: set `AWS_PROFILE` or `--profile`, or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`"
    )]
    Identity(#[source] Box<aws_sdk_sts::Error>),
    #[error("sts:GetCallerIdentity answered without {0}")]
    Incomplete(&'static str),
}

impl Target {
    /// Asks STS who we are: the account id and, from the caller's ARN, the partition.
    pub async fn discover(config: &SdkConfig, clients: &Clients) -> Result<Target, TargetError> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(TargetError::NoRegion)?;
        let identity = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|err| TargetError::Identity(Box::new(err.into())))?;
        let account = identity
            .account()
            .ok_or(TargetError::Incomplete("an account"))?
            .to_owned();
        let partition = identity
            .arn()
            .and_then(|arn| arn.split(':').nth(1))
            .filter(|p| !p.is_empty())
            .ok_or(TargetError::Incomplete("an ARN"))?
            .to_owned();
        Ok(Target {
            region,
            account,
            partition,
        })
    }

    pub fn lambda_arn(&self, function: &str) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{function}",
            self.partition, self.region, self.account
        )
    }

    pub fn role_arn(&self, role: &str) -> String {
        format!("arn:{}:iam::{}:role/{role}", self.partition, self.account)
    }

    /// The URL of a REST API stage.
    pub fn api_url(&self, api_id: &str, stage: &str) -> String {
        let suffix = if self.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!(
            "https://{api_id}.execute-api.{}.{suffix}/{stage}/",
            self.region
        )
    }
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
        let timeouts = config.timeout_config().expect("timeouts are set");
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(10)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(8));
    }
}

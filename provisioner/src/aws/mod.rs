//! The AWS SDK configuration every command shares: the standard chain (environment, profiles, SSO,
//! instance roles), `AWS_ENDPOINT_URL`, and the global `--region`, `--profile` and `--endpoint-url`
//! flags on top, resolved as the AWS CLI resolves them: an explicit `--profile` wins over
//! credentials in the environment.
//!
//! Everything that can be checked without a call is checked before the first one: the profile
//! exists, the endpoint is a URL, the region is one AWS has (all usage errors). The first call
//! ([`Target::discover`]) fails within seconds when the endpoint cannot be reached, naming it.

use std::time::Duration;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

mod credentials;
mod error;
pub mod lambda_quotas;

use crate::calls::CallCounter;
use crate::usage::UsageError;
pub use error::{Answer, AwsError, ServiceError, absent_as_none};

/// Every AWS operation the session calls, with what IAM must allow (`operations`): who is calling
/// (no permission is needed for it; declared so the list is whole).
pub const OPERATIONS: &[crate::operations::Operation] = {
    use crate::op;
    &[op!(
        Sts,
        "GetCallerIdentity",
        // IAM authorizes no one for it: it answers whoever signs the call, so no policy grants it.
        []
    )]
};

/// What the global flags say about reaching AWS. `None` leaves the standard chain to decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The environment variables that name an endpoint: the SDK's global one and the per-service ones
/// of the services `provisioner` calls.
const ENDPOINT_VARIABLES: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    "AWS_ENDPOINT_URL_API_GATEWAY",
];

/// Loads the SDK configuration. Throttling and 5xx answers are retried with exponential backoff
/// and jitter, longer than the SDK's default three attempts: API Gateway's control plane allows
/// only a few calls per second. A connection that cannot be made, or an attempt that hangs, fails
/// (and is retried) instead of waiting forever; two minutes leave room for a 50 MB code upload.
///
/// Fails with a [`UsageError`] for an endpoint that is not an http(s) URL, a region AWS does not
/// have, or a `--profile` that is in no profile file; no call is made before these checks.
pub async fn sdk_config(options: &AwsOptions) -> anyhow::Result<SdkConfig> {
    if let Some(endpoint) = &options.endpoint_url {
        check_endpoint(endpoint, "`--endpoint-url`")?;
    }
    for variable in ENDPOINT_VARIABLES {
        if let Ok(endpoint) = std::env::var(variable)
            && !endpoint.is_empty()
        {
            check_endpoint(&endpoint, &format!("`{variable}`"))?;
        }
    }
    if let Some(region) = &options.region {
        check_region(region, "`--region`")?;
    }
    if options.profile.is_none()
        && let Ok(profile) = std::env::var("AWS_PROFILE")
        && !profile.is_empty()
    {
        check_profile(&profile, true).await?;
    }
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
        check_profile(profile, false).await?;
        // As the AWS CLI: a profile named on the command line is used for credentials even when
        // the environment has keys (the SDK's default chain reads the environment first).
        let region = match &options.region {
            Some(region) => Some(Region::new(region.clone())),
            None => {
                aws_config::default_provider::region::Builder::default()
                    .profile_name(profile)
                    .build()
                    .region()
                    .await
            }
        };
        let credentials = ProfileFileCredentialsProvider::builder()
            .configure(&ProviderConfig::default().with_region(region))
            .profile_name(profile)
            .build();
        loader = loader
            .profile_name(profile)
            .credentials_provider(credentials);
    }
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    if options.region.is_none()
        && let Some(region) = config.region()
    {
        let source = match &options.profile {
            Some(profile) => format!("the region of profile `{profile}` (or `AWS_REGION`)"),
            None => "the configured region (`AWS_REGION`, `AWS_DEFAULT_REGION` or the profile)"
                .to_owned(),
        };
        check_region(region.as_ref(), &source)?;
    }
    Ok(credentials::loaded_once(config))
}

/// An endpoint must be an absolute http(s) URL: `127.0.0.1:5000` would otherwise be taken as a
/// path and fail deep inside the SDK.
fn check_endpoint(endpoint: &str, source: &str) -> Result<(), UsageError> {
    let parsed: Option<http::Uri> = endpoint.parse().ok();
    let scheme_ok = parsed
        .as_ref()
        .and_then(|uri| uri.scheme_str())
        .is_some_and(|scheme| scheme == "http" || scheme == "https");
    let host_ok = parsed
        .as_ref()
        .and_then(|uri| uri.host())
        .is_some_and(|host| !host.is_empty());
    if scheme_ok && host_ok {
        return Ok(());
    }
    let hint = if !endpoint.contains("://") {
        format!("did you mean `http://{endpoint}`? an endpoint needs its scheme")
    } else {
        "write an absolute URL such as `http://127.0.0.1:5000` or `https://example.com`".to_owned()
    };
    Err(UsageError(format!(
        "{source} is `{endpoint}`, which is not an http(s) URL\n\nhint: {hint}"
    )))
}

/// A region must be one AWS has (see [`crate::regions`]): a typo otherwise costs half a minute
/// of DNS retries and ends in an error about something else.
pub fn check_region(region: &str, source: &str) -> Result<(), UsageError> {
    if crate::regions::is_known(region)
        || std::env::var_os(crate::regions::ALLOW_UNKNOWN_REGION).is_some()
    {
        return Ok(());
    }
    let hint = match crate::regions::closest(region) {
        Some(known) => format!("did you mean `{known}`?"),
        None => format!(
            "if AWS opened this region after this version of provisioner, set `{}=1`",
            crate::regions::ALLOW_UNKNOWN_REGION
        ),
    };
    Err(UsageError(format!(
        "{source} is `{region}`, which is not an AWS region\n\nhint: {hint}"
    )))
}

/// A named profile must exist in the profile files (`AWS_CONFIG_FILE`, default `~/.aws/config`,
/// and `AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`).
async fn check_profile(profile: &str, from_env: bool) -> anyhow::Result<()> {
    use aws_types::os_shim_internal::{Env, Fs};
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None)
        .await
        .map_err(|err| anyhow::anyhow!("failed to read the AWS profile files: {err}"))?;
    if set.get_profile(profile).is_some() {
        return Ok(());
    }
    let config = std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| "~/.aws/config".to_owned());
    let credentials = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
        .unwrap_or_else(|_| "~/.aws/credentials".to_owned());
    let known: Vec<&str> = set.profiles().collect();
    let hint = match crate::spec::did_you_mean(profile, known.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if known.is_empty() => {
            "no profile is defined: `aws configure --profile NAME` makes one".to_owned()
        }
        None => {
            let mut known: Vec<String> = known.iter().map(|p| format!("`{p}`")).collect();
            known.sort();
            format!("profiles defined: {}", known.join(", "))
        }
    };
    Err(UsageError(format!(
        "{} is not in `{config}` or `{credentials}`\n\nhint: {hint}",
        if from_env {
            format!("`AWS_PROFILE` is `{profile}`, a profile that")
        } else {
            format!("profile `{profile}`")
        }
    ))
    .into())
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
        use crate::retry;
        let calls = CallCounter::default();
        // Every client counts its calls; those that meet "still settling" conflicts retry them
        // (see `retry`).
        macro_rules! client {
            ($sdk:ident $(, $classifier:expr)* $(; $http:expr)?) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config)
                        .interceptor(calls.clone())
                        .interceptor(crate::calls::CallLog)
                        $(.retry_classifier($classifier))*
                        $(.http_client($http))?
                        .build(),
                )
            };
        }
        // Lambda's quotas are kept in its HTTP layer, so that every call counts.
        let http = config.http_client().unwrap_or_else(|| {
            use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build_https()
        });
        let lambda_http = lambda_quotas::paced(http, Default::default());
        Clients {
            cognito: client!(aws_sdk_cognitoidentityprovider),
            iam: client!(aws_sdk_iam, retry::iam()),
            lambda: client!(aws_sdk_lambda, retry::lambda(); lambda_http),
            logs: client!(aws_sdk_cloudwatchlogs, retry::logs()),
            apigateway: client!(aws_sdk_apigateway, retry::api_gateway(), retry::RetryAfter),
            sts: client!(aws_sdk_sts),
            calls,
        }
    }
}

/// Where the stack lives: region, account and partition, as AWS names them in ARNs, and who is
/// calling.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub region: String,
    pub account: String,
    pub partition: String,
    /// The caller's ARN, as `sts:GetCallerIdentity` answers it.
    pub caller: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(
        "no AWS region is configured\n\nhint: pass `--region`, set `AWS_REGION`, or set a region in the profile"
    )]
    NoRegion,
    /// The endpoint could not be reached (refused, no DNS name, TLS, timeout): not a credentials
    /// problem, so the message says nothing about credentials.
    #[error("cannot reach AWS at {endpoint}: {cause}\n\nhint: {hint}")]
    Unreachable {
        endpoint: String,
        cause: String,
        hint: String,
    },
    #[error(
        "AWS refused the credentials ({code}: {message}){request_id}\n\nhint: check `AWS_PROFILE` / `--profile`, or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; `aws sts get-caller-identity` shows who they are"
    )]
    Credentials {
        code: String,
        message: String,
        request_id: String,
    },
    #[error(
        "could not load AWS credentials: {0}\n\nhint: pass `--profile`, set `AWS_PROFILE`, or set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; for SSO profiles, `aws sso login` first"
    )]
    NoCredentials(String),
    #[error(
        "loading AWS credentials from {from} took over {seconds} s\n\nhint: a `credential_process` (aws-vault, granted) may be waiting for input, an SSO session may need `aws sso login`, or instance metadata may not be reachable from here"
    )]
    CredentialsTimeout { from: String, seconds: u64 },
    #[error("sts:GetCallerIdentity failed at {endpoint}")]
    Identity {
        endpoint: String,
        #[source]
        source: Box<aws_sdk_sts::Error>,
    },
    #[error("sts:GetCallerIdentity answered without {0}")]
    Incomplete(&'static str),
}

/// How long loading the credentials may take: a `credential_process` may ask for an MFA code, an
/// SSO profile may refresh its token. Outside the first call's short bound, which is for the
/// network.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(120);

/// Loads the caller's credentials, bounded on their own, naming where they come from when they
/// cannot be had.
async fn load_credentials(
    config: &SdkConfig,
) -> Result<aws_credential_types::Credentials, TargetError> {
    use aws_credential_types::provider::ProvideCredentials as _;
    let Some(provider) = config.credentials_provider() else {
        return Err(TargetError::NoCredentials(
            "no credentials provider is configured".to_owned(),
        ));
    };
    let source = match std::env::var("AWS_PROFILE") {
        Ok(profile) if !profile.is_empty() => format!("profile `{profile}`"),
        _ => "the default credential chain".to_owned(),
    };
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
        Ok(Ok(credentials)) => Ok(credentials),
        Ok(Err(err)) => Err(TargetError::NoCredentials(root_cause(&err))),
        Err(_) => Err(TargetError::CredentialsTimeout {
            from: source,
            seconds: CREDENTIALS_TIMEOUT.as_secs(),
        }),
    }
}

/// How long the first call may take in all, retries included. STS answers in milliseconds.
const FIRST_CONTACT_TIMEOUT: Duration = Duration::from_secs(8);

/// The first call of a run is tried quickly: a few attempts, short timeouts. An endpoint that is
/// not there fails the command in seconds; once this call has answered, the later calls get the
/// patient retries of [`sdk_config`].
fn first_contact_config() -> aws_sdk_sts::config::Builder {
    aws_sdk_sts::config::Builder::default()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(FIRST_CONTACT_TIMEOUT)
                .build(),
        )
}

/// The innermost cause of an error: what actually went wrong (`Connection refused (os error 111)`).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl Target {
    /// Asks STS who we are: the account id, the caller, and from the caller's ARN the partition.
    pub async fn discover(config: &SdkConfig, clients: &Clients) -> Result<Target, TargetError> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(TargetError::NoRegion)?;
        let endpoint = match config.endpoint_url() {
            Some(url) => format!("`{url}`"),
            None => format!("the STS endpoint of {region}"),
        };
        // The credentials first, bounded on their own; the first call then signs with them, so
        // that its short bound is the network's alone.
        let credentials = load_credentials(config).await?;
        let identity = clients
            .sts
            .get_caller_identity()
            .customize()
            .config_override(first_contact_config().credentials_provider(credentials))
            .send()
            .await
            .map_err(|err| classify_identity_error(err, &endpoint))?;
        let account = identity
            .account()
            .ok_or(TargetError::Incomplete("an account"))?
            .to_owned();
        let caller = identity
            .arn()
            .filter(|arn| !arn.is_empty())
            .ok_or(TargetError::Incomplete("an ARN"))?
            .to_owned();
        let partition = caller
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .ok_or(TargetError::Incomplete("an ARN"))?
            .to_owned();
        Ok(Target {
            region,
            account,
            partition,
            caller,
        })
    }

    pub fn lambda_arn(&self, function: &str) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{function}",
            self.partition, self.region, self.account
        )
    }

    /// A log group's ARN, as ListTagsForResource takes it (no `:*`).
    pub fn log_group_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:logs:{}:{}:log-group:{name}",
            self.partition, self.region, self.account
        )
    }

    /// A REST API's ARN, as API Gateway's TagResource takes it (no account: API Gateway's own
    /// resources have none in their ARN).
    pub fn rest_api_arn(&self, id: &str) -> String {
        format!(
            "arn:{}:apigateway:{}::/restapis/{id}",
            self.partition, self.region
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

/// The request id of the first AWS error in `err`'s chain: what AWS support asks for.
pub fn request_id(err: &anyhow::Error) -> Option<String> {
    use aws_types::request_id::RequestId;
    err.chain().find_map(|cause| {
        if let Some(answer) = cause.downcast_ref::<error::Answer>() {
            return answer.request_id().map(str::to_owned);
        }
        macro_rules! try_service {
            ($($sdk:ident),+) => {
                None$(.or_else(|| {
                    cause
                        .downcast_ref::<$sdk::Error>()
                        .and_then(|e| e.request_id())
                        .map(str::to_owned)
                }))+
            };
        }
        try_service!(
            aws_sdk_lambda,
            aws_sdk_iam,
            aws_sdk_apigateway,
            aws_sdk_cognitoidentityprovider,
            aws_sdk_cloudwatchlogs,
            aws_sdk_sts
        )
    })
}

/// Why the first call failed, in terms a user can act on.
fn classify_identity_error<R: std::fmt::Debug + Send + Sync + 'static>(
    err: SdkError<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError, R>,
    endpoint: &str,
) -> TargetError {
    let unreachable = |cause: String| {
        let hint = if cause.contains("dns error") || cause.contains("failed to lookup") {
            "the host name does not resolve: check the region and the endpoint URL"
        } else if cause.contains("Connection refused") {
            "nothing listens there: check the endpoint URL, or start the emulator"
        } else if cause.to_ascii_lowercase().contains("tls")
            || cause.contains("InvalidContentType")
            || cause.contains("corrupt message")
        {
            "the TLS handshake failed: is this an `http://` endpoint given as `https://`?"
        } else {
            "check the network, the endpoint URL and any proxy (`HTTPS_PROXY`)"
        };
        TargetError::Unreachable {
            endpoint: endpoint.to_owned(),
            cause,
            hint: hint.to_owned(),
        }
    };
    // Credentials are resolved before the request is sent: a provider that fails (a profile's
    // `credential_process`, SSO, no credentials at all) surfaces as a dispatch failure too.
    let chain: String =
        std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .map(|e| e.to_string().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(": ");
    let about_credentials = chain.contains("credential");
    match &err {
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) if about_credentials => {
            return TargetError::NoCredentials(root_cause(&err));
        }
        SdkError::TimeoutError(_) => {
            return unreachable(format!(
                "no answer within {} s",
                FIRST_CONTACT_TIMEOUT.as_secs()
            ));
        }
        SdkError::DispatchFailure(failure) if !failure.is_user() => {
            let cause = failure
                .as_connector_error()
                .map(|connector| root_cause(connector))
                .unwrap_or_else(|| root_cause(&err));
            return unreachable(cause);
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            if matches!(
                code,
                "InvalidClientTokenId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "ExpiredTokenException"
                    | "UnrecognizedClientException"
                    | "AccessDenied"
                    | "IncompleteSignature"
            ) {
                let request_id = aws_sdk_sts::operation::RequestId::request_id(service.err())
                    .map(|id| format!(" (request id {id})"))
                    .unwrap_or_default();
                return TargetError::Credentials {
                    code: code.to_owned(),
                    message: service.err().message().unwrap_or_default().to_owned(),
                    request_id,
                };
            }
        }
        _ => {}
    }
    TargetError::Identity {
        endpoint: endpoint.to_owned(),
        source: Box::new(err.into()),
    }
}

/// Whether a call failed because the endpoint does not implement the operation: an answer of 404,
/// 500 or 501 without an AWS error code (an emulator's HTML page). AWS always names its errors,
/// so on AWS this is never true.
pub fn not_implemented_here<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let (code, status) = match err {
        SdkError::ServiceError(service) => (service.err().code(), service.raw().status().as_u16()),
        SdkError::ResponseError(response) => (None, response.raw().status().as_u16()),
        _ => return false,
    };
    code.is_none() && matches!(status, 404 | 500 | 501)
}

#[cfg(test)]
mod tests;

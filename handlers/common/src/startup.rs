//! Start-up: configuration from the environment, clients built once per process, and the Lambda
//! runtime loop. A configuration error is reported to the Runtime API as an init error (so Lambda
//! and `provisioner serve` show it as such) instead of failing every request.

use std::future::Future;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_runtime::{LambdaEvent, service_fn};

/// What a Cognito-calling handler needs, built once in `main`.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    /// The app client the handlers act through (`USER_POOL_CLIENT_ID`).
    pub client_id: String,
}

impl Ctx {
    /// From the Lambda environment: credentials, region and endpoint by the standard AWS chain.
    pub async fn from_env() -> Result<Ctx, InitError> {
        let client_id = client_id_from_env()?;
        Ok(Ctx {
            cognito: cognito_client().await,
            client_id,
        })
    }
}

/// A process that cannot serve any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError(pub String);

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InitError {}

pub const CLIENT_ID_VAR: &str = "USER_POOL_CLIENT_ID";

/// The app client id from `USER_POOL_CLIENT_ID`.
pub fn client_id_from_env() -> Result<String, InitError> {
    match std::env::var(CLIENT_ID_VAR) {
        Ok(id) if !id.trim().is_empty() => Ok(id),
        Ok(_) => Err(InitError(format!(
            "environment variable `{CLIENT_ID_VAR}` is empty: set it to the user pool app client id"
        ))),
        Err(_) => Err(InitError(format!(
            "environment variable `{CLIENT_ID_VAR}` is not set: set it to the user pool app client id"
        ))),
    }
}

/// A Cognito client configured as Lambda configures a function: credentials from
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, the region from
/// `AWS_REGION`, and `AWS_ENDPOINT_URL` when set (an emulator; serve passes it on). HTTPS through
/// rustls with ring.
///
/// Not `aws_config::load_defaults`: its chain (profiles, SSO, web identity through STS, IMDS,
/// containers) is code Lambda never runs, and it was a third of every handler's zip.
pub async fn cognito_client() -> aws_sdk_cognitoidentityprovider::Client {
    use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Region};
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client)
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .region(
            std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .ok()
                .map(Region::new),
        );
    if let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        config = config.endpoint_url(endpoint);
    }
    aws_sdk_cognitoidentityprovider::Client::from_conf(config.build())
}

/// Runs the Lambda loop: `init` once, then `handler` for every event. `handler` turns every failure
/// into a response itself, so the runtime only ever sees errors for events that are not API Gateway
/// proxy events at all.
pub async fn run<C, I, IFut, H, HFut>(init: I, handler: H) -> Result<(), lambda_runtime::Error>
where
    C: Send + Sync + 'static,
    I: FnOnce() -> IFut,
    IFut: Future<Output = Result<C, InitError>>,
    H: Fn(&'static C, ApiGatewayProxyRequest) -> HFut + Clone + Send + 'static,
    HFut: Future<Output = ApiGatewayProxyResponse> + Send,
{
    let ctx = start(init).await?;
    // `api.cors`: every answer carries the headers for the request's origin.
    let cors: Option<&'static crate::Cors> =
        crate::Cors::from_env().map(|c| &*Box::leak(Box::new(c)));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| {
            let handler = handler.clone();
            let origin = crate::cors::origin_of(&event.payload.headers);
            async move {
                let mut response = handler(ctx, event.payload).await;
                if let Some(cors) = cors {
                    cors.apply(origin.as_ref(), &mut response);
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        },
    ))
    .await
}

/// Runs a Cognito trigger's Lambda loop: `init` once, then `handler` for every event, whose
/// answer is the event with its `response` filled in. A [`Refusal`] is reported to Lambda as the
/// invocation's error, and Cognito refuses the user's request with its message
/// (`UserLambdaValidationException`: "PreSignUp failed with error <message>.").
pub async fn run_trigger<C, I, IFut, E, H, HFut>(
    init: I,
    handler: H,
) -> Result<(), lambda_runtime::Error>
where
    C: Send + Sync + 'static,
    I: FnOnce() -> IFut,
    IFut: Future<Output = Result<C, InitError>>,
    E: serde::de::DeserializeOwned + serde::Serialize + Send + 'static,
    H: Fn(&'static C, E) -> HFut + Clone + Send + 'static,
    HFut: Future<Output = Result<E, Refusal>> + Send,
{
    let ctx = start(init).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let handler = handler.clone();
        async move {
            handler(ctx, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}

/// Logging, then `init` once: its context, living as long as the process (as Lambda's execution
/// environment does), or its error reported to the Runtime API.
async fn start<C, I, IFut>(init: I) -> Result<&'static C, lambda_runtime::Error>
where
    C: 'static,
    I: FnOnce() -> IFut,
    IFut: Future<Output = Result<C, InitError>>,
{
    init_logging();
    match init().await {
        Ok(ctx) => Ok(Box::leak(Box::new(ctx))),
        Err(err) => {
            tracing::error!(error = %err, "init failed");
            report_init_error(&err).await;
            Err(err.into())
        }
    }
}

/// A trigger's refusal: its message is what Cognito tells the caller, so it names the rule and
/// never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Logging as Lambda's runtime sets it up (`AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, default INFO;
/// `AWS_LAMBDA_LOG_FORMAT=JSON`), with one difference: the runtime's TRACE line that prints every
/// raw event is always off, because these events carry passwords and codes.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let spec = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let filter = log_filter(&spec);
    // No colour codes: CloudWatch Logs (and serve's log) show them as raw escapes.
    let format = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .without_time();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init`: a second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        registry.with(format.json()).try_init()
    } else {
        registry.with(format).try_init()
    };
}

/// The log filter for `spec`: `AWS_LAMBDA_LOG_LEVEL`'s level (`INFO`, `DEBUG`, ...) or `RUST_LOG`'s
/// `level,target=level` directives; INFO when it is empty or not understood (span and field
/// filters are not). The runtime's raw-event line (TRACE) stays off whatever is asked.
fn log_filter(spec: &str) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let mut filter = match spec.trim() {
        "" => Targets::new(),
        spec => spec.parse::<Targets>().unwrap_or_default(),
    };
    if filter.default_level().is_none() {
        filter = filter.with_default(LevelFilter::INFO);
    }
    filter.with_target("lambda_runtime::layers::api_response", LevelFilter::DEBUG)
}

/// Tells the Runtime API that init failed (`POST /runtime/init/error`), best effort: the process
/// exits non-zero afterwards either way, which Lambda also reports.
async fn report_init_error(err: &InitError) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let Ok(endpoint) = format!("http://{api}").parse::<http::Uri>() else {
        return;
    };
    let Ok(client) = lambda_runtime_api_client::Client::builder()
        .with_endpoint(endpoint)
        .build()
    else {
        return;
    };
    let body = serde_json::json!({ "errorType": "Runtime.InitError", "errorMessage": err.0 });
    let request = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .header("content-type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(
            body.to_string(),
        ));
    if let Ok(request) = request
        && let Err(err) = client.call(request).await
    {
        tracing::error!(error = %err, "could not report the init error to the Runtime API");
    }
}

#[cfg(test)]
mod tests {
    use super::log_filter;
    use tracing::Level;

    #[test]
    fn the_log_filter_reads_lambdas_level_or_rust_log_and_keeps_raw_events_out() {
        let enabled =
            |spec: &str, target: &str, level: Level| log_filter(spec).would_enable(target, &level);
        // Unset or unreadable: INFO.
        for spec in ["", "  ", "[span{field=1}]=trace"] {
            assert!(enabled(spec, "sign_up", Level::INFO), "{spec:?}");
            assert!(!enabled(spec, "sign_up", Level::DEBUG), "{spec:?}");
        }
        // AWS_LAMBDA_LOG_LEVEL's values, in capitals.
        assert!(enabled("DEBUG", "sign_up", Level::DEBUG));
        assert!(!enabled("WARN", "sign_up", Level::INFO));
        // RUST_LOG's directives; a target without a default leaves the rest at INFO.
        assert!(enabled(
            "warn,handler_common=debug",
            "handler_common",
            Level::DEBUG
        ));
        assert!(!enabled(
            "warn,handler_common=debug",
            "sign_up",
            Level::INFO
        ));
        assert!(enabled("handler_common=debug", "sign_up", Level::INFO));
        // The runtime's line with the raw event (passwords, codes) is TRACE: never on.
        assert!(!enabled(
            "trace",
            "lambda_runtime::layers::api_response",
            Level::TRACE
        ));
        assert!(enabled("trace", "sign_up", Level::TRACE));
    }
}

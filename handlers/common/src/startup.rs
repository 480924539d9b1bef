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

/// A Cognito client from the standard AWS configuration chain (honours `AWS_ENDPOINT_URL`).
pub async fn cognito_client() -> aws_sdk_cognitoidentityprovider::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_cognitoidentityprovider::Client::new(&config)
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
    init_logging();
    let ctx = match init().await {
        Ok(ctx) => ctx,
        Err(err) => {
            tracing::error!(error = %err, "init failed");
            report_init_error(&err).await;
            return Err(err.into());
        }
    };
    // The context lives as long as the process, as Lambda's execution environment does.
    let ctx: &'static C = Box::leak(Box::new(ctx));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| {
            let handler = handler.clone();
            async move { Ok::<_, std::convert::Infallible>(handler(ctx, event.payload).await) }
        },
    ))
    .await
}

/// Logging as Lambda's runtime sets it up (`AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, default INFO;
/// `AWS_LAMBDA_LOG_FORMAT=JSON`), with one difference: the runtime's TRACE line that prints every
/// raw event is always off, because these events carry passwords and codes.
fn init_logging() {
    use tracing_subscriber::filter::{EnvFilter, LevelFilter};
    let spec = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let mut filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(spec);
    if let Ok(quiet) = "lambda_runtime::layers::api_response=debug".parse() {
        filter = filter.add_directive(quiet);
    }
    // No colour codes: CloudWatch Logs (and serve's log) show them as raw escapes.
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // `try_init`: a second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        subscriber.json().try_init()
    } else {
        subscriber.try_init()
    };
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

//! `provisioner serve`: the stack's API on this machine.
//! - [`gateway`]: the HTTP front, as API Gateway's REST API with Lambda proxy integrations.
//! - [`authorizer`]: the Cognito user-pool authorizer, with the pool's keys ([`fetch_jwks`]).
//! - [`event`]: REST (v1) proxy events and responses (pure).
//! - [`runtime`]: the functions' `bootstrap` processes and the Lambda Runtime API they talk to.

pub mod authorizer;
pub mod aws_check;
pub mod cognito_event;
pub mod cors;
pub mod event;
pub mod gateway;
pub mod runtime;
mod runtime_api;
pub mod triggers;

/// Answers the HTTP/1.1 requests of one accepted connection with `answer`, in a task of its own
/// (serve's front and each function's Runtime API).
fn spawn_http1<F, Fut>(stream: tokio::net::TcpStream, answer: F)
where
    F: Fn(http::Request<hyper::body::Incoming>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = http::Response<http_body_util::Full<bytes::Bytes>>>
        + Send
        + 'static,
{
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |request| {
            let response = answer(request);
            async move { Ok::<_, std::convert::Infallible>(response.await) }
        });
        // A connection that breaks off ends here; the next one is served as usual.
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .await;
    });
}

/// GETs a pool's JWKS document (http for an emulator, https on AWS), with a bounded wait.
pub fn fetch_jwks(url: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut response = agent
        .get(url)
        .call()
        .with_context(|| format!("failed to fetch the pool's signing keys from `{url}`"))?;
    response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("failed to read the pool's signing keys from `{url}`"))
}

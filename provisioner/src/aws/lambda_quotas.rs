//! Lambda's control-plane quotas, kept in the HTTP layer of the Lambda client: every call and
//! every retry of it waits its turn, wherever in the tool it is made (AWS docs, "Lambda quotas":
//! 15 requests per second for all control-plane calls of the account together, except GetFunction,
//! 100 per second, and GetPolicy, 15 per second, each a quota of its own; invocations are not
//! counted). Fixed quotas: they cannot be raised. A cold `up` of 50 functions makes some 300 such
//! calls (creates, settle waits, permissions, reads), and every function's wait polls at once.

use std::num::NonZeroU32;
use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The quota a Lambda call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaQuota {
    /// The 15 per second every other control-plane call shares.
    ControlPlane,
    GetFunction,
    GetPolicy,
    /// An invocation: counted by concurrency, not here.
    Invocation,
}

/// Which quota a request to Lambda's REST API counts against, from its method and path
/// (`GET /2015-03-31/functions/NAME` is GetFunction, `GET .../functions/NAME/policy` GetPolicy).
pub fn quota_of(method: &str, uri: &str) -> LambdaQuota {
    let path = uri.split("://").nth(1).map_or(uri, |rest| {
        rest.find('/').map_or("/", |start| &rest[start..])
    });
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (_, [.., last]) if last.ends_with("invocations") => LambdaQuota::Invocation,
        ("GET", [_, "functions", _]) => LambdaQuota::GetFunction,
        ("GET", [_, "functions", _, "policy"]) => LambdaQuota::GetPolicy,
        _ => LambdaQuota::ControlPlane,
    }
}

/// The account's Lambda quotas, shared by every Lambda client of one command.
#[derive(Debug)]
pub struct LambdaQuotas {
    control_plane: DefaultDirectRateLimiter,
    get_function: DefaultDirectRateLimiter,
    get_policy: DefaultDirectRateLimiter,
}

impl Default for LambdaQuotas {
    fn default() -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        // AWS's rates; bursts below a second's worth (see the module `pace`: a call can reach AWS later than it left).
        LambdaQuotas {
            control_plane: RateLimiter::direct(Quota::per_second(n(15)).allow_burst(n(5))),
            get_function: RateLimiter::direct(Quota::per_second(n(100)).allow_burst(n(20))),
            get_policy: RateLimiter::direct(Quota::per_second(n(15)).allow_burst(n(5))),
        }
    }
}

impl LambdaQuotas {
    /// Waits until `quota` allows one more call.
    pub async fn wait(&self, quota: LambdaQuota) {
        let limiter = match quota {
            LambdaQuota::ControlPlane => &self.control_plane,
            LambdaQuota::GetFunction => &self.get_function,
            LambdaQuota::GetPolicy => &self.get_policy,
            LambdaQuota::Invocation => return,
        };
        limiter.until_ready().await;
    }
}

/// `inner`, each of whose requests first waits for its quota in `quotas`.
pub fn paced(inner: SharedHttpClient, quotas: Arc<LambdaQuotas>) -> SharedHttpClient {
    SharedHttpClient::new(PacedClient { inner, quotas })
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    quotas: Arc<LambdaQuotas>,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            quotas: self.quotas.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    quotas: Arc<LambdaQuotas>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let quota = quota_of(request.method(), request.uri());
        let (inner, quotas) = (self.inner.clone(), self.quotas.clone());
        HttpConnectorFuture::new(async move {
            quotas.wait(quota).await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{LambdaQuota, quota_of};

    #[test]
    fn each_call_counts_against_the_quota_lambda_charges_it_to() {
        let base = "https://lambda.us-east-1.amazonaws.com";
        let cases = [
            (
                "GET",
                "/2015-03-31/functions/auth-demo-secret",
                LambdaQuota::GetFunction,
            ),
            (
                "GET",
                "/2015-03-31/functions/auth-demo-secret?Qualifier=1",
                LambdaQuota::GetFunction,
            ),
            (
                "GET",
                "/2015-03-31/functions/auth-demo-secret/policy",
                LambdaQuota::GetPolicy,
            ),
            (
                "GET",
                "/2015-03-31/functions/auth-demo-secret/configuration",
                LambdaQuota::ControlPlane,
            ),
            ("POST", "/2015-03-31/functions", LambdaQuota::ControlPlane),
            ("GET", "/2015-03-31/functions/", LambdaQuota::ControlPlane),
            (
                "DELETE",
                "/2015-03-31/functions/auth-demo-secret",
                LambdaQuota::ControlPlane,
            ),
            (
                "POST",
                "/2015-03-31/functions/auth-demo-secret/policy",
                LambdaQuota::ControlPlane,
            ),
            (
                "GET",
                "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af",
                LambdaQuota::ControlPlane,
            ),
            (
                "POST",
                "/2015-03-31/functions/f/invocations",
                LambdaQuota::Invocation,
            ),
            (
                "POST",
                "/2021-11-15/functions/f/response-streaming-invocations",
                LambdaQuota::Invocation,
            ),
        ];
        for (method, path, quota) in cases {
            assert_eq!(
                quota_of(method, &format!("{base}{path}")),
                quota,
                "{method} {path}"
            );
        }
        assert_eq!(
            quota_of("GET", "/2015-03-31/functions/f"),
            LambdaQuota::GetFunction
        );
    }
}

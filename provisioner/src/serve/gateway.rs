//! The API Gateway side of `serve`: an HTTP server whose routes are the stack's, under the stage
//! path, answering as a REST API's Lambda proxy integration does: 403 `Missing Authentication
//! Token` for what has no route, 401 `Unauthorized` from the Cognito authorizer, the function's
//! proxy response, 502 `Internal server error` when the function fails, 504 when the integration
//! times out.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;

use super::authorizer::CachedAuthorizer;
use super::event::{self, Stage};
use super::runtime::{Function, Outcome, error_message};
use crate::output;

/// API Gateway's default (and, for most accounts, maximum) integration timeout.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// API Gateway's payload quota for REST APIs.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// The stack's API as serve runs it: the account and timeout fixed, the routes and functions a
/// [`Table`] that `serve --watch` replaces when stack.yaml changes.
pub struct Gateway {
    pub account: String,
    pub integration_timeout: Duration,
    table: std::sync::RwLock<Arc<Table>>,
}

/// What stack.yaml says the API is: its stage, routes and functions.
pub struct Table {
    pub stage: String,
    pub api_id: String,
    pub routes: Vec<GatewayRoute>,
    /// By logical name.
    pub functions: BTreeMap<String, Arc<Function>>,
    /// `api.cors`: the preflights, and the headers of the gateway's own answers.
    pub cors: Option<crate::spec::Cors>,
}

#[derive(Clone)]
pub struct GatewayRoute {
    /// `GET`, `POST`, ..., or `ANY`.
    pub method: String,
    /// The resource path template (`/users/{id}`).
    pub path: String,
    pub function: String,
    pub authorizer: Option<RouteAuthorizer>,
    /// The method's authorization scopes (none: the authorizer takes id tokens).
    pub scopes: Vec<String>,
}

#[derive(Clone)]
pub struct RouteAuthorizer {
    pub name: String,
    /// The identity source header (`Authorization`).
    pub header: String,
    pub verifier: Arc<CachedAuthorizer>,
}

/// What serve answered, and what its log says about it.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    note: String,
    /// Made by the gateway itself (not the function's answer): it gets `api.cors`'s headers.
    own: bool,
}

impl Reply {
    /// An answer of API Gateway itself (not of the function).
    fn gateway(status: u16, message: &str, error_type: Option<&str>, note: String) -> Reply {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Some(error_type) = error_type {
            headers.push(("x-amzn-ErrorType".to_owned(), error_type.to_owned()));
        }
        Reply {
            status,
            headers,
            body: Bytes::from(serde_json::json!({ "message": message }).to_string()),
            note,
            own: true,
        }
    }

    fn missing_token(note: String) -> Reply {
        Reply::gateway(
            403,
            "Missing Authentication Token",
            Some("MissingAuthenticationTokenException"),
            note,
        )
    }

    fn internal_error(note: String) -> Reply {
        Reply::gateway(502, "Internal server error", None, note)
    }
}

/// The request as received, before routing.
struct Received {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Bytes,
    peer: SocketAddr,
    local: SocketAddr,
}

impl Gateway {
    pub fn new(account: String, integration_timeout: Duration, table: Table) -> Gateway {
        Gateway {
            account,
            integration_timeout,
            table: std::sync::RwLock::new(Arc::new(table)),
        }
    }

    /// The table requests are answered from now; a request keeps the one it started with.
    pub fn table(&self) -> Arc<Table> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Answers the next requests from `table`; returns the previous one.
    pub fn replace(&self, table: Table) -> Arc<Table> {
        let mut current = self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *current, Arc::new(table))
    }
}

impl Table {
    /// The route for `path` (stage removed) and `method`: the most specific resource first
    /// (literal segments before `{var}` before `{proxy+}`), then its method or `ANY`.
    fn route(&self, method: &str, path: &str) -> Option<(&GatewayRoute, BTreeMap<String, String>)> {
        event::choose_route(&self.routes, |r| (&r.method, &r.path), method, path)
    }
}

impl Table {
    /// The resource `path` falls on: the most specific with routes.
    fn resource(&self, path: &str) -> Option<&str> {
        event::resource_of(self.routes.iter().map(|r| r.path.as_str()), path)
    }

    /// The preflight of the resource `path` falls on, if it has routes: 204 with the CORS headers,
    /// before any authorizer (as the deployed MOCK method, which has none).
    fn preflight(
        &self,
        cors: &crate::spec::Cors,
        path: &str,
        headers: &[(String, String)],
    ) -> Option<Reply> {
        let resource = self.resource(path)?;
        let methods = self
            .routes
            .iter()
            .filter(|r| r.path == resource)
            .map(|r| r.method.clone())
            .collect();
        let origin = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("origin"))
            .map(|(_, value)| value.as_str());
        Some(Reply {
            status: 204,
            headers: super::cors::preflight_headers(cors, &methods, origin),
            body: Bytes::new(),
            note: format!("CORS preflight of {resource}"),
            own: false,
        })
    }
}

impl Gateway {
    async fn answer(&self, request: Received, request_id: &str) -> Reply {
        let table = self.table();
        let stage_prefix = format!("/{}", table.stage);
        let path = match request.path.strip_prefix(&stage_prefix) {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => return Reply::missing_token(format!("not under the stage path `{stage_prefix}`")),
        };
        if request.method == "OPTIONS"
            && let Some(cors) = &table.cors
            && let Some(reply) = table.preflight(cors, path, &request.headers)
        {
            return reply;
        }
        let Some((route, parameters)) = table.route(&request.method, path) else {
            return Reply::missing_token("no such route".to_owned());
        };
        let claims = match &route.authorizer {
            None => None,
            Some(authorizer) => {
                match authorize(authorizer, &route.scopes, &request.headers).await {
                    Ok(claims) => Some(claims),
                    Err(reason) => {
                        return Reply::gateway(
                            401,
                            "Unauthorized",
                            Some("UnauthorizedException"),
                            format!("authorizer `{}`: {reason}", authorizer.name),
                        );
                    }
                }
            }
        };
        let Some(function) = table.functions.get(&route.function).cloned() else {
            return Reply::internal_error(format!("no function `{}`", route.function));
        };
        let request_id = request_id.to_owned();
        let mut headers = request.headers.clone();
        headers.push(("X-Forwarded-For".to_owned(), request.peer.ip().to_string()));
        headers.push((
            "X-Forwarded-Port".to_owned(),
            request.local.port().to_string(),
        ));
        headers.push(("X-Forwarded-Proto".to_owned(), "http".to_owned()));
        let source_ip = request.peer.ip().to_string();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let event = event::proxy_event(
            &route.path,
            &parameters,
            &event::Request {
                method: &request.method,
                path,
                query: request.query.as_deref(),
                headers: &headers,
                body: &request.body,
                source_ip: &source_ip,
            },
            &Stage {
                stage: &table.stage,
                api_id: &table.api_id,
                account_id: &self.account,
                request_id: &request_id,
                now_ms,
            },
            claims.as_ref(),
        );
        let payload = Bytes::from(event.to_string());
        // A task of its own: when the integration times out the function runs on to its own
        // timeout, as on AWS.
        let invocation = tokio::spawn(async move { function.invoke(&request_id, payload).await });
        let invoked = match tokio::time::timeout(self.integration_timeout, invocation).await {
            Err(_) => {
                return Reply::gateway(
                    504,
                    "Endpoint request timed out",
                    None,
                    format!(
                        "`{}` did not answer within the integration timeout ({} s)",
                        route.function,
                        self.integration_timeout.as_secs()
                    ),
                );
            }
            Ok(Err(err)) => return Reply::internal_error(format!("invocation failed: {err}")),
            Ok(Ok(invoked)) => invoked,
        };
        let timeout = table
            .functions
            .get(&route.function)
            .map_or(0.0, |f| f.spec().timeout.as_secs_f64());
        reply(&route.function, timeout, invoked)
    }

    async fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let query = request.uri().query().map(str::to_owned);
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let reply = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
            .collect()
            .await
        {
            Err(_) => Reply::gateway(
                413,
                "Request Too Long",
                None,
                "the body is larger than 10 MB".to_owned(),
            ),
            Ok(body) => {
                self.answer(
                    Received {
                        method: method.clone(),
                        path: path.clone(),
                        query,
                        headers,
                        body: body.to_bytes(),
                        peer,
                        local,
                    },
                    &request_id,
                )
                .await
            }
        };
        output::served(&method, &path, reply.status, started.elapsed(), &reply.note);
        let mut reply = reply;
        if reply.own
            && let Some(cors) = &self.table().cors
        {
            reply
                .headers
                .extend(super::cors::gateway_headers(cors, reply.status));
        }
        let mut response = Response::new(Full::new(reply.body));
        *response.status_mut() =
            StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let has_content_type = reply
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        let response_headers = response.headers_mut();
        if !has_content_type {
            // API Gateway's default for a proxy response without one.
            response_headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
        if let Ok(id) = http::HeaderValue::from_str(&request_id) {
            response_headers.insert("x-amzn-requestid", id);
        }
        for (name, value) in reply.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(&value),
            ) {
                response_headers.append(name, value);
            }
        }
        response
    }

    /// Serves until `shutdown` completes, then stops every function process.
    pub async fn run(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        output::status(&format!("serve: could not accept a connection: {err}"));
                        // Out of file descriptors, say: wait instead of spinning.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let gateway = self.clone();
            super::spawn_http1(stream, move |request| {
                gateway.clone().handle(request, peer, local)
            });
        }
        let table = self.table();
        futures_util::future::join_all(table.functions.values().map(|f| f.shutdown())).await;
    }
}

/// Checks the route's token, off the async threads (fetching the pool's keys blocks).
async fn authorize(
    authorizer: &RouteAuthorizer,
    scopes: &[String],
    headers: &[(String, String)],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let scopes = scopes.to_vec();
    let value = headers
        .iter()
        .rev()
        .find(|(name, _)| name.eq_ignore_ascii_case(&authorizer.header))
        .map(|(_, value)| value.clone());
    let verifier = authorizer.verifier.clone();
    tokio::task::spawn_blocking(move || verifier.verify(value.as_deref(), &scopes))
        .await
        .map_err(|err| format!("the check failed: {err}"))?
        .map_err(|rejected| rejected.to_string())
}

/// What the gateway answers for `function`'s invocation (`timeout`: its timeout, in seconds).
fn reply(function: &str, timeout: f64, invoked: super::runtime::Invoked) -> Reply {
    let mut note = format!("{function} #{}", invoked.instance);
    if let Some(init) = invoked.init {
        note.push_str(&format!(", cold start: init {} ms", init.as_millis()));
    }
    match invoked.outcome {
        Outcome::Response(output) => match event::proxy_response(&output) {
            Some(response) => Reply {
                status: response.status,
                headers: response.headers,
                body: Bytes::from(response.body),
                note,
                own: false,
            },
            None => Reply::internal_error(format!(
                "{note}: Malformed Lambda proxy response (it needs `statusCode`, string `headers` and a string `body`)"
            )),
        },
        Outcome::FunctionError { error_type, body } => {
            Reply::internal_error(format!("{note}: {}", error_message(&error_type, &body)))
        }
        Outcome::Timeout => Reply::internal_error(format!(
            "{note}: Task timed out after {timeout:.2} seconds (the process was stopped)"
        )),
        Outcome::Crashed(status) => Reply::internal_error(format!(
            "{note}: Runtime.ExitError: the process exited during the invocation ({status})"
        )),
        Outcome::InitFailed(reason) => Reply::internal_error(format!("{note}: {reason}")),
        Outcome::Stopped => Reply::internal_error(format!("{note}: serve is stopping")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, &str)]) -> Table {
        Table {
            stage: "prod".to_owned(),
            api_id: "abc".to_owned(),
            routes: routes
                .iter()
                .map(|(method, path)| GatewayRoute {
                    method: (*method).to_owned(),
                    path: (*path).to_owned(),
                    function: format!("{method} {path}"),
                    authorizer: None,
                    scopes: Vec::new(),
                })
                .collect(),
            functions: BTreeMap::new(),
            cors: None,
        }
    }

    fn routed(table: &Table, method: &str, path: &str) -> Option<String> {
        table
            .route(method, path)
            .map(|(route, _)| route.function.clone())
    }

    #[test]
    fn the_most_specific_resource_wins_then_its_method_or_any() {
        let table = table(&[
            ("GET", "/users/me"),
            ("GET", "/users/{id}"),
            ("ANY", "/users/{id}"),
            ("POST", "/users/{id}"),
            ("GET", "/{proxy+}"),
            ("POST", "/sign-up"),
        ]);
        let to = |m, p| routed(&table, m, p);
        assert_eq!(to("GET", "/users/me").as_deref(), Some("GET /users/me"));
        assert_eq!(to("GET", "/users/42").as_deref(), Some("GET /users/{id}"));
        assert_eq!(to("POST", "/users/42").as_deref(), Some("POST /users/{id}"));
        assert_eq!(
            to("DELETE", "/users/42").as_deref(),
            Some("ANY /users/{id}")
        );
        assert_eq!(to("GET", "/a/b/c").as_deref(), Some("GET /{proxy+}"));
        assert_eq!(to("POST", "/sign-up").as_deref(), Some("POST /sign-up"));
        // The resource exists, the method does not: API Gateway answers 403 as for no route.
        assert_eq!(to("GET", "/sign-up"), None);
        assert_eq!(to("POST", "/users/me"), None);
    }

    #[test]
    fn no_route_and_wrong_stage_are_missing_authentication_token() {
        let gateway = Gateway::new(
            "123456789012".to_owned(),
            INTEGRATION_TIMEOUT,
            table(&[("POST", "/sign-up")]),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ask = |path: &str, method: &str| {
            runtime.block_on(gateway.answer(
                Received {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    query: None,
                    headers: Vec::new(),
                    body: Bytes::new(),
                    peer: SocketAddr::from(([127, 0, 0, 1], 50_000)),
                    local: SocketAddr::from(([127, 0, 0, 1], 3000)),
                },
                "id",
            ))
        };
        for (method, path) in [
            ("POST", "/sign-up"),
            ("POST", "/dev/sign-up"),
            ("POST", "/prod/nope"),
            ("GET", "/prod/sign-up"),
            ("POST", "/prodsign-up"),
        ] {
            let reply = ask(path, method);
            assert_eq!(reply.status, 403, "{method} {path}");
            assert_eq!(
                reply.body,
                Bytes::from_static(br#"{"message":"Missing Authentication Token"}"#)
            );
        }
    }
}

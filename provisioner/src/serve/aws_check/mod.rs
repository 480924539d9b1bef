//! The AWS endpoint the functions of `serve` and `invoke` call: one listener on 127.0.0.1 per
//! function (its `AWS_ENDPOINT_URL`), kept for the whole session so that a reload keeps the
//! function's environment. Each request is read for the IAM action and resource it needs
//! (`access::needed`) and decided against that function's role (`access::RolePolicy`): a
//! refused call is answered as AWS answers it (the protocol's AccessDenied) and logged with the
//! statement to add; any other is forwarded, re-signed with the caller's credentials, to the
//! emulator the stack lives in or to the service's regional endpoint on AWS. What each function
//! used is kept for the summary when the session ends.
//!
//! The handlers never hold the caller's credentials: they get a key pair made for the session, and
//! only requests signed with it and addressed to the endpoint itself (not a name a web page could
//! point at 127.0.0.1) are signed again with the caller's. Unsigned calls (Cognito's public
//! operations) go on unsigned.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod forward;

use forward::{Session, forward};

use crate::access::{
    self, Decision, Incoming, Needed, Protocol, RolePolicy, Scope, Summary, Usage,
};
use crate::output;

/// The largest request a handler may send through (Lambda's own payload is 6 MB; S3 puts may be
/// larger, and are refused here rather than buffered without bound).
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Headers the SDK signed for its own endpoint, or that the forwarding sets itself.
const NOT_FORWARDED: &[&str] = &[
    "authorization",
    "host",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "content-length",
    "connection",
    "transfer-encoding",
    "expect",
];

/// The local AWS endpoints of a session; their listeners stop when it is dropped.
pub struct AwsCheck {
    inner: Arc<Inner>,
}

struct Inner {
    /// The key pair the handlers sign with (made for this session; worth nothing at AWS).
    handler_key: (String, String),
    /// Where the calls go, and as whom: set with the roles.
    session: RwLock<Option<Session>>,
    policies: RwLock<BTreeMap<String, RolePolicy>>,
    references: RwLock<BTreeMap<String, String>>,
    usage: Mutex<BTreeMap<String, Usage>>,
    listeners: Mutex<BTreeMap<String, (String, JoinHandle<()>)>>,
    agent: ureq::Agent,
    /// The pools' triggers serve runs around Cognito calls to an emulator.
    triggers: RwLock<Option<super::triggers::TriggerConfig>>,
    lookup: RwLock<Option<super::triggers::Lookup>>,
}

impl Default for AwsCheck {
    fn default() -> AwsCheck {
        AwsCheck::new()
    }
}

impl AwsCheck {
    pub fn new() -> AwsCheck {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect would be sent on without a signature: the handler's SDK follows it.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(900)))
            .build()
            .new_agent();
        let random = || uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let handler_key = (
            format!("PRVLOCAL{}", &random()[..12]),
            format!("{}{}", random(), random()),
        );
        AwsCheck {
            inner: Arc::new(Inner {
                handler_key,
                session: RwLock::new(None),
                policies: RwLock::new(BTreeMap::new()),
                references: RwLock::new(BTreeMap::new()),
                usage: Mutex::new(BTreeMap::new()),
                listeners: Mutex::new(BTreeMap::new()),
                agent,
                triggers: RwLock::new(None),
                lookup: RwLock::new(None),
            }),
        }
    }

    /// Where the calls go (the emulator of `config`, or AWS) as the caller of `config`, and the
    /// roles they are decided against (again after serve reloads stack.yaml).
    pub fn set_policies(
        &self,
        config: &aws_config::SdkConfig,
        target: &crate::aws::Target,
        policies: BTreeMap<String, RolePolicy>,
        references: BTreeMap<String, String>,
    ) {
        *self
            .inner
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(Session {
            scope: Scope {
                partition: target.partition.clone(),
                region: target.region.clone(),
                account: target.account.clone(),
            },
            emulator: config.endpoint_url().map(str::to_owned),
            credentials: config.credentials_provider(),
        });
        *self
            .inner
            .policies
            .write()
            .unwrap_or_else(|e| e.into_inner()) = policies;
        *self
            .inner
            .references
            .write()
            .unwrap_or_else(|e| e.into_inner()) = references;
    }

    /// The pools' triggers to run around the handlers' Cognito calls (an emulator runs none).
    pub fn set_triggers(&self, triggers: Option<super::triggers::TriggerConfig>) {
        *self
            .inner
            .triggers
            .write()
            .unwrap_or_else(|e| e.into_inner()) = triggers;
    }

    /// How to find the function that runs a trigger now.
    pub fn set_lookup(&self, lookup: super::triggers::Lookup) {
        *self.inner.lookup.write().unwrap_or_else(|e| e.into_inner()) = Some(lookup);
    }

    /// The key pair the handlers sign with: (access key id, secret access key).
    pub fn handler_credentials(&self) -> (String, String) {
        self.inner.handler_key.clone()
    }

    /// `function`'s endpoint URL, listening from the first time it is asked for.
    pub async fn endpoint(&self, function: &str) -> anyhow::Result<String> {
        if let Some((url, _)) = self.listeners().get(function) {
            return Ok(url.clone());
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("failed to listen on 127.0.0.1 for the functions' AWS calls")?;
        let host = listener.local_addr()?.to_string();
        let url = format!("http://{host}");
        let inner = self.inner.clone();
        let name = function.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (inner, name, host) = (inner.clone(), name.clone(), host.clone());
                super::spawn_http1(stream, move |request| {
                    answer(inner.clone(), name.clone(), host.clone(), request)
                });
            }
        });
        let mut listeners = self.listeners();
        let (url, _) = listeners.entry(function.to_owned()).or_insert((url, task));
        Ok(url.clone())
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (String, JoinHandle<()>)>> {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// What each function called, and what its role grants that no call used.
    pub fn summary(&self) -> Vec<Summary> {
        let usage = self.inner.usage.lock().unwrap_or_else(|e| e.into_inner());
        let policies = self
            .inner
            .policies
            .read()
            .unwrap_or_else(|e| e.into_inner());
        policies
            .iter()
            .map(|(name, policy)| {
                let usage = usage.get(name).cloned().unwrap_or_default();
                Summary {
                    function: name.clone(),
                    granted_never_used: usage.never_used(policy),
                    granted_without_need: usage.granted_without_need(policy),
                    usage,
                }
            })
            .collect()
    }
}

impl Drop for AwsCheck {
    fn drop(&mut self) {
        for (_, (_, task)) in self.listeners().iter() {
            task.abort();
        }
    }
}

/// Why a request is not one of the handler's: addressed elsewhere (a web page's name for
/// 127.0.0.1), signed with another key, or presigned (a URL cannot be signed again).
fn stranger(inner: &Inner, host: &str, parts: &http::request::Parts) -> Option<&'static str> {
    let header = |name: http::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    if header(http::header::HOST) != host {
        return Some("it is addressed to another host");
    }
    if parts
        .uri
        .query()
        .is_some_and(|q| q.contains("X-Amz-Credential="))
    {
        return Some("a presigned request cannot be signed again");
    }
    let authorization = header(http::header::AUTHORIZATION);
    let key = authorization
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))
        .and_then(|credential| credential.split('/').next());
    match key {
        None if authorization.is_empty() => None,
        Some(key) if key == inner.handler_key.0 => None,
        _ => Some("it is not signed with the session's key"),
    }
}

/// Decides one call of `function`, then refuses it or forwards it.
async fn answer(
    inner: Arc<Inner>,
    function: String,
    host: String,
    request: http::Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    if let Some(why) = stranger(&inner, &host, &parts) {
        output::status(&format!(
            "{function}: a request to its AWS endpoint was refused: {why}"
        ));
        return plain(StatusCode::FORBIDDEN, why);
    }
    let Ok(body) = Limited::new(body, MAX_REQUEST_BYTES).collect().await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large");
    };
    let body = body.to_bytes();
    let incoming = Incoming {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    let Some(session) = inner
        .session
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "not ready");
    };
    let needed = match access::needed(&incoming, &session.scope) {
        Ok(needed) => needed,
        Err(what) => {
            output::status(&format!(
                "{function}: AWS call not checked: {what} (the tool cannot tell which IAM action it needs)"
            ));
            inner.record(&function, None);
            return forward(&inner, &session, &parts, body, None).await;
        }
    };
    let policy = inner
        .policies
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&function)
        .cloned();
    let decision = policy
        .as_ref()
        .map_or(Decision::Unchecked, |p| p.decide(&needed));
    inner.record(&function, Some((&needed, &decision)));
    match (&decision, &policy) {
        (Decision::Denied { resource }, Some(policy)) => {
            let references = inner
                .references
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            output::status(&refusal_log(policy, &needed, resource, &references));
            refusal(&needed, &policy.refusal(&needed.action, resource, None))
        }
        (Decision::Bounded { resource, by }, Some(policy)) => {
            output::status(&boundary_log(policy, &needed, resource, *by));
            refusal(
                &needed,
                &policy.refusal(&needed.action, resource, Some(*by)),
            )
        }
        _ => {
            if let Some(triggers) = inner.local_triggers(&session, &needed, &body) {
                return triggers
                    .around(&needed.operation, body, |body| {
                        forward(&inner, &session, &parts, body, Some(&needed))
                    })
                    .await;
            }
            forward(&inner, &session, &parts, body, Some(&needed)).await
        }
    }
}

impl Inner {
    /// The triggers to run around this call: a Cognito call to an emulator that runs one.
    fn local_triggers(
        &self,
        session: &Session,
        needed: &Needed,
        body: &[u8],
    ) -> Option<super::triggers::LocalTriggers> {
        if session.emulator.is_none() || needed.service != "cognito-idp" {
            return None;
        }
        let config = self
            .triggers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let lookup = self
            .lookup
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let triggers = super::triggers::LocalTriggers { config, lookup };
        triggers
            .applies(&needed.operation, body)
            .then_some(triggers)
    }

    fn record(&self, function: &str, call: Option<(&Needed, &Decision)>) {
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let usage = usage.entry(function.to_owned()).or_default();
        match call {
            Some((needed, decision)) => usage.record(needed, decision),
            None => usage.unchecked += 1,
        }
    }

    /// The caller's credentials (the session's provider keeps them until they near expiry:
    /// `aws::credentials`).
    async fn credentials(&self, session: &Session) -> anyhow::Result<Credentials> {
        session
            .credentials
            .as_ref()
            .context("no AWS credentials are configured")?
            .provide_credentials()
            .await
            .context("failed to load AWS credentials")
    }
}

/// The log lines of a refused call: what, for whom, and the statement to add.
fn refusal_log(
    policy: &RolePolicy,
    needed: &Needed,
    resource: &str,
    references: &BTreeMap<String, String>,
) -> String {
    let function = &policy.function;
    if resource == "*" && crate::spec::RESOURCELESS_ACTIONS.contains(&needed.action.as_str()) {
        return format!(
            "{function}: refused here as AWS would: {} (no statement of function `{function}`'s role grants it; IAM authorizes it on no resource)\n  {}",
            needed.action,
            access::statement_to_add(function, &needed.action, "*", references)
        );
    }
    if resource == "*" {
        return format!(
            "{function}: refused here as AWS would: {} (no statement of function `{function}`'s role grants it)\n  {}\n      (name the resource: the tool could not tell it from the call)",
            needed.action,
            access::statement_to_add(function, &needed.action, "<its ARN>", references)
        );
    }
    format!(
        "{function}: refused here as AWS would: {} on {resource} (no statement of function `{function}`'s role allows it)\n  {}",
        needed.action,
        access::statement_to_add(function, &needed.action, resource, references)
    )
}

/// The log lines of a call the role allows but the stack's permissions boundary does not: a
/// statement in stack.yaml cannot help, the boundary's owner can.
fn boundary_log(
    policy: &RolePolicy,
    needed: &Needed,
    resource: &str,
    by: access::BoundaryRefusal,
) -> String {
    let function = &policy.function;
    let arn = policy.boundary.as_ref().map_or("", |b| b.arn.as_str());
    let why = match by {
        access::BoundaryRefusal::NoAllow => "no statement of it allows",
        access::BoundaryRefusal::ExplicitDeny => "a statement of it denies",
    };
    let on = if resource == "*" {
        String::new()
    } else {
        format!(" on {resource}")
    };
    format!(
        "{function}: refused here as AWS would: {}{on} (function `{function}`'s role allows it, but the stack's permissions boundary `{arn}` does not: {why} it)
  a statement in stack.yaml cannot widen a boundary: ask the boundary's owner to allow it, or change `permissionsBoundary:`",
        needed.action
    )
}

/// AWS's AccessDenied in the call's protocol.
fn refusal(needed: &Needed, message: &str) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (status, content_type, body) = match needed.protocol {
        Protocol::Json => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.1",
            serde_json::json!({ "__type": "AccessDeniedException", "message": message })
                .to_string(),
        ),
        Protocol::RestJson => (
            StatusCode::FORBIDDEN,
            "application/json",
            serde_json::json!({ "Message": message }).to_string(),
        ),
        Protocol::Query => (
            StatusCode::FORBIDDEN,
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                // SNS names it its own way.
                if needed.service == "sns" {
                    "AuthorizationError"
                } else {
                    "AccessDenied"
                },
                xml_escape(message)
            ),
        ),
        Protocol::Cbor => {
            let body = cbor_error("AccessDeniedException", message);
            return Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .header("content-type", "application/cbor")
                .header("smithy-protocol", "rpc-v2-cbor")
                .header("x-amzn-requestid", request_id)
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
        }
        Protocol::RestXml => (
            StatusCode::FORBIDDEN,
            "application/xml",
            format!(
                "<Error><Code>AccessDenied</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
                xml_escape(message)
            ),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-errortype", "AccessDeniedException")
        .header("x-amzn-requestid", request_id)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// A CBOR map `{"__type": code, "message": message}`: the error body of Smithy's RPC v2 CBOR.
fn cbor_error(code: &str, message: &str) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        let len = s.len();
        match u32::try_from(len) {
            Ok(n) if n < 24 => out.push(0x60 | n as u8),
            Ok(n) if n < 256 => out.extend([0x78, n as u8]),
            Ok(n) if n < 65536 => {
                out.push(0x79);
                out.extend((n as u16).to_be_bytes());
            }
            Ok(n) => {
                out.push(0x7a);
                out.extend(n.to_be_bytes());
            }
            Err(_) => out.push(0x60),
        }
        out.extend(s.as_bytes());
    }
    let mut out = vec![0xa2];
    text(&mut out, "__type");
    text(&mut out, code);
    text(&mut out, "message");
    text(&mut out, message);
    out
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests;

//! The Lambda Runtime API one `bootstrap` process talks to (`runtime.rs` starts the processes):
//! `/invocation/next` hands out the event, `/response` and `/error` take the answer, `/init/error`
//! a failed start, as Lambda's own endpoint does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::runtime::{MAX_RESPONSE_BYTES, PREFIX};

pub(super) struct Invocation {
    pub(super) request_id: String,
    pub(super) payload: Bytes,
    pub(super) deadline_ms: u128,
    pub(super) reply: oneshot::Sender<Posted>,
}

pub(super) enum Posted {
    Response(Bytes),
    Error { error_type: String, body: Bytes },
}

/// One process's Runtime API: its next event, the invocation it is working on, and whether it
/// has become ready.
pub(super) struct RuntimeApi {
    pub(super) arn: String,
    pub(super) next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pub(super) pending: Mutex<Option<(String, oneshot::Sender<Posted>)>>,
    pub(super) ready: Mutex<Option<oneshot::Sender<()>>>,
    pub(super) init_error: Mutex<Option<String>>,
}

impl RuntimeApi {
    pub(super) fn take_init_error(&self) -> Option<String> {
        self.init_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    pub(super) async fn handle(&self, request: http::Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_owned();
        let Some(route) = path.strip_prefix(PREFIX) else {
            return status_json(StatusCode::NOT_FOUND, "UnknownPath", &path);
        };
        let method = request.method().clone();
        let error_type = request
            .headers()
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("Unhandled")
            .to_owned();
        match (method, route.split('/').collect::<Vec<_>>().as_slice()) {
            (Method::GET, ["", "invocation", "next"]) => self.next().await,
            (Method::POST, ["", "invocation", id, "response"]) => match read_body(request).await {
                Some(body) => self.post(id, Posted::Response(body)),
                None => {
                    let body = serde_json::json!({
                        "errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
                    });
                    let posted = Posted::Error {
                        error_type: "Function.ResponseSizeTooLarge".to_owned(),
                        body: Bytes::from(body.to_string()),
                    };
                    let _ = self.post(id, posted);
                    status_json(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLarge",
                        "the response is larger than 6 MB",
                    )
                }
            },
            (Method::POST, ["", "invocation", id, "error"]) => {
                let body = read_body(request).await.unwrap_or_default();
                self.post(id, Posted::Error { error_type, body })
            }
            (Method::POST, ["", "init", "error"]) => {
                let body = read_body(request).await.unwrap_or_default();
                let message = error_message(&error_type, &body);
                *self.init_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
                accepted()
            }
            _ => status_json(StatusCode::NOT_FOUND, "UnknownPath", &path),
        }
    }

    pub(super) async fn next(&self) -> Response<Full<Bytes>> {
        if let Some(ready) = self.ready.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = ready.send(());
        }
        let invocation = self.next.lock().await.recv().await;
        let Some(invocation) = invocation else {
            return status_json(StatusCode::GONE, "ServiceStopping", "serve is stopping");
        };
        let Invocation {
            request_id,
            payload,
            deadline_ms,
            reply,
        } = invocation;
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some((request_id.clone(), reply));
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", &request_id)
            .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
            .header("lambda-runtime-invoked-function-arn", &self.arn)
            .header("lambda-runtime-trace-id", trace_id(&request_id))
            .body(Full::new(payload))
            .unwrap_or_else(|_| status_json(StatusCode::INTERNAL_SERVER_ERROR, "", ""))
    }

    /// Delivers what the process posted for invocation `id`.
    pub(super) fn post(&self, id: &str, posted: Posted) -> Response<Full<Bytes>> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.take() {
            Some((current, reply)) if current == id => {
                let _ = reply.send(posted);
                accepted()
            }
            other => {
                *pending = other;
                status_json(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    &format!("invocation `{id}` is not in progress"),
                )
            }
        }
    }
}

pub(super) async fn serve_runtime_api(listener: TcpListener, api: Arc<RuntimeApi>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let api = api.clone();
        super::spawn_http1(stream, move |request| {
            let api = api.clone();
            async move { api.handle(request).await }
        });
    }
}

/// The body, or None when it is larger than a response may be.
async fn read_body(request: http::Request<Incoming>) -> Option<Bytes> {
    Limited::new(request.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .ok()
        .map(|body| body.to_bytes())
}

fn accepted() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(br#"{"status":"OK"}"#)));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

fn status_json(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
}

/// `errorType: errorMessage` from an error a runtime posted (or its raw body).
pub fn error_message(error_type: &str, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let kind = field("errorType").unwrap_or_else(|| error_type.to_owned());
    let message = field("errorMessage")
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect());
    format!("{kind}: {message}")
}

/// An X-Ray trace header in the form Lambda passes (`Root=1-<epoch hex>-<24 hex>`), derived from
/// the request id; nothing is sampled.
pub(super) fn trace_id(request_id: &str) -> String {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let hex: String = request_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(24)
        .collect();
    format!("Root=1-{epoch:08x}-{hex:0<24};Sampled=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_the_runtime_error_document() {
        let body =
            br#"{"errorType":"Runtime.InitError","errorMessage":"USER_POOL_CLIENT_ID is not set"}"#;
        assert_eq!(
            error_message("Unhandled", body),
            "Runtime.InitError: USER_POOL_CLIENT_ID is not set"
        );
        assert_eq!(error_message("Unhandled", b"boom"), "Unhandled: boom");
    }

    #[test]
    fn trace_ids_have_lambdas_shape() {
        let id = trace_id("c6af9ac6-7b61-11e6-9a41-93e812345678");
        let root = id.strip_prefix("Root=1-").unwrap();
        let (epoch, rest) = root.split_once('-').unwrap();
        assert_eq!(epoch.len(), 8);
        assert_eq!(rest, "c6af9ac67b6111e69a4193e8;Sampled=0");
    }
}

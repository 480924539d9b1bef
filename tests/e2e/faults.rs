//! A fault-injection proxy in front of the emulator: every request is forwarded unless the
//! proxy's policy answers it with a fault instead (an AWS error as the service would send it, or
//! a connection closed without an answer). The real binary is pointed at the proxy with
//! `AWS_ENDPOINT_URL`, so its real SDK clients, retries and error handling meet the faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::support::{self, on_emulator};

/// One request, as far as a policy needs to tell what it is.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The query string, without `?` (empty when there is none).
    pub query: String,
    /// `X-Amz-Target` (JSON protocols: Cognito, CloudWatch Logs).
    pub target: Option<String>,
    /// The service the request is signed for (its SigV4 credential scope: `iam`, `lambda`).
    pub service: Option<String>,
    pub body: String,
}

impl Call {
    /// The service's operation, best effort: `Logs_20140328.CreateLogGroup` -> `CreateLogGroup`,
    /// `Action=CreateRole` (IAM, STS), else the method and path (REST: Lambda, API Gateway).
    pub fn operation(&self) -> String {
        if let Some(target) = &self.target {
            return target.rsplit('.').next().unwrap_or(target).to_owned();
        }
        if let Some(action) = self
            .body
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
        {
            return action.to_owned();
        }
        format!("{} {}", self.method, self.path)
    }

    /// Whether this call changes nothing (Get, List, Describe; a REST GET).
    pub fn reads(&self) -> bool {
        let operation = self.operation();
        ["Get", "List", "Describe"]
            .iter()
            .any(|prefix| operation.starts_with(prefix))
            || operation.starts_with("GET ")
    }
}

/// What the proxy answers instead of forwarding.
#[derive(Debug, Clone)]
pub enum Fault {
    /// An AWS error with this status and code, in the protocol the call used.
    Error { status: u16, code: &'static str },
    /// The connection closed without an answer (a reset, as a client sees it).
    Reset,
    /// Forwarded after this long (a slow call).
    Delay(std::time::Duration),
    /// Held this long, then closed without an answer: never forwarded (a call in flight when
    /// its client is killed).
    Hold(std::time::Duration),
    /// Forwarded, then the answer lost: the call took effect but the client saw a reset.
    LoseAnswer,
    /// Forwarded, and `Tags` taken out of the JSON answer with a `TagsError` in its place (as
    /// Lambda's GetFunction answers a caller who may not list the function's tags).
    WithoutTags,
    /// An AWS error with this status, code and message, in the protocol the call used.
    Refused {
        status: u16,
        code: &'static str,
        message: String,
    },
}

impl Fault {
    pub fn throttled() -> Fault {
        Fault::Error {
            status: 400,
            code: "ThrottlingException",
        }
    }

    pub fn unavailable() -> Fault {
        Fault::Error {
            status: 503,
            code: "ServiceUnavailable",
        }
    }
}

type Policy = dyn Fn(&Call) -> Option<Fault> + Send + Sync;

/// The running proxy; stopped when dropped.
pub struct FaultProxy {
    pub url: String,
    /// How many calls got a fault.
    pub injected: Arc<AtomicUsize>,
    /// How many calls were forwarded.
    pub forwarded: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to the emulator on 127.0.0.1 that answers with `policy`'s fault, if any.
    pub fn start(policy: impl Fn(&Call) -> Option<Fault> + Send + Sync + 'static) -> FaultProxy {
        let policy: Arc<Policy> = Arc::new(policy);
        let upstream = support::emulator().to_owned();
        let injected = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (counted_injected, counted_forwarded) = (injected.clone(), forwarded.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .build()
                    .into();
                tokio::pin!(stopped);
                loop {
                    let stream = tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => stream,
                            Err(_) => continue,
                        },
                    };
                    let (policy, upstream, agent) =
                        (policy.clone(), upstream.clone(), agent.clone());
                    let (injected, forwarded) =
                        (counted_injected.clone(), counted_forwarded.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let (policy, upstream, agent) =
                                (policy.clone(), upstream.clone(), agent.clone());
                            let (injected, forwarded) = (injected.clone(), forwarded.clone());
                            async move {
                                answer(request, &*policy, &upstream, agent, &injected, &forwarded)
                                    .await
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        FaultProxy {
            url,
            injected,
            forwarded,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A reset: hyper closes the connection without an answer when the service fails.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for Reset {}

async fn answer(
    request: http::Request<hyper::body::Incoming>,
    policy: &Policy,
    upstream: &str,
    agent: ureq::Agent,
    injected: &AtomicUsize,
    forwarded: &AtomicUsize,
) -> Result<http::Response<Full<Bytes>>, Reset> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let call = Call {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        target: parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        service: parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(signed_for),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let decided = policy(&call);
    let lose_answer = matches!(decided, Some(Fault::LoseAnswer));
    let without_tags = matches!(decided, Some(Fault::WithoutTags));
    match decided {
        Some(Fault::Reset) => {
            injected.fetch_add(1, Ordering::Relaxed);
            return Err(Reset);
        }
        Some(Fault::Hold(how_long)) => {
            injected.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(how_long).await;
            return Err(Reset);
        }
        Some(Fault::Delay(how_long)) => tokio::time::sleep(how_long).await,
        Some(Fault::LoseAnswer | Fault::WithoutTags) => {
            injected.fetch_add(1, Ordering::Relaxed);
        }
        Some(Fault::Error { status, code }) => {
            injected.fetch_add(1, Ordering::Relaxed);
            let message = format!("injected by the fault proxy ({})", call.operation());
            return Ok(error_response(&call, status, code, &message));
        }
        Some(Fault::Refused {
            status,
            code,
            message,
        }) => {
            injected.fetch_add(1, Ordering::Relaxed);
            return Ok(error_response(&call, status, code, &message));
        }
        None => {}
    }
    forwarded.fetch_add(1, Ordering::Relaxed);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let mut upstream_request = http::Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{path_and_query}"));
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            upstream_request = upstream_request.header(name, value);
        }
    }
    let upstream_request = upstream_request.body(body.to_vec()).unwrap();
    let response = tokio::task::spawn_blocking(move || {
        let mut response = agent.run(upstream_request).map_err(|_| Reset)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|_| Reset)?;
        Ok::<_, Reset>((status, headers, body))
    })
    .await
    .map_err(|_| Reset)??;
    if lose_answer {
        return Err(Reset);
    }
    let (status, headers, mut body) = response;
    if without_tags && let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(&body) {
        if let Some(answer) = answer.as_object_mut() {
            answer.remove("Tags");
            answer.insert(
                "TagsError".to_owned(),
                serde_json::json!({"ErrorCode": "AccessDeniedException", "Message": "not authorized to perform: lambda:ListTags"}),
            );
        }
        body = answer.to_string().into_bytes();
    }
    let mut answer = http::Response::builder().status(status);
    for (name, value) in &headers {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            answer = answer.header(name, value);
        }
    }
    Ok(answer.body(Full::new(Bytes::from(body))).unwrap())
}

/// An AWS error in the protocol `call` used: XML for the query protocols (IAM, STS), JSON with
/// `x-amzn-ErrorType` for the others.
fn error_response(
    call: &Call,
    status: u16,
    code: &str,
    message: &str,
) -> http::Response<Full<Bytes>> {
    let query = call.target.is_none() && call.body.contains("Action=");
    let (content_type, body) = if query {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
            ),
        )
    } else {
        (
            "application/json",
            serde_json::json!({ "__type": code, "message": message }).to_string(),
        )
    };
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-ErrorType", code)
        .header("x-amzn-RequestId", "injected")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// The service a SigV4 `Authorization` header signs for:
/// `AWS4-HMAC-SHA256 Credential=KEY/20261205/us-east-1/iam/aws4_request, ...` -> `iam`.
fn signed_for(authorization: &str) -> Option<String> {
    let scope = authorization
        .split("Credential=")
        .nth(1)?
        .split(',')
        .next()?;
    scope.split('/').nth(3).map(str::to_owned)
}

/// `provisioner <args>` for `stack`, with every AWS call through `proxy`.
pub fn through(
    proxy: &FaultProxy,
    file: &std::path::Path,
    stack: &str,
    args: &[&str],
) -> support::Ran {
    support::run(
        support::provisioner()
            .args(args)
            .arg("--file")
            .arg(file)
            .args(["--stack", stack])
            .env("AWS_ENDPOINT_URL", &proxy.url),
    )
}

/// One call in five fails transiently (throttling, a 503, a connection reset, in turn): `up` and
/// then `down --delete-data` converge all the same; the retries are bounded and `--json` counts
/// them; nothing is left.
#[test]
fn with_a_fifth_of_calls_failing_transiently_up_and_down_converge() {
    let stack = support::unique("faults");
    let file = support::write_stack(&[]);
    let seen = AtomicUsize::new(0);
    let proxy = FaultProxy::start(move |_call| {
        let n = seen.fetch_add(1, Ordering::Relaxed);
        (n % 5 == 4).then(|| match (n / 5) % 3 {
            0 => Fault::throttled(),
            1 => Fault::unavailable(),
            _ => Fault::Reset,
        })
    });

    let up = through(&proxy, &file, &stack, &["up", "--yes", "--json"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let report: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    let injected_by_up = proxy.injected.load(Ordering::Relaxed);
    let retries = report["calls"]["retries"].as_u64().unwrap();
    assert!(injected_by_up >= 10, "{injected_by_up} faults");
    // Every fault is retried: by the SDK (`calls.retries`), or, for the creates made at most once
    // (their SDK retries are off), by sending them again after looking; the first contact (STS)
    // has its own quick attempts outside the counted clients.
    let operations = &report["calls"]["operations"];
    let sent_again: u64 = [
        "CognitoIdentityProvider.CreateUserPool",
        "CognitoIdentityProvider.CreateUserPoolClient",
        "APIGateway.CreateRestApi",
    ]
    .iter()
    .map(|op| operations[op].as_u64().unwrap_or(1).saturating_sub(1))
    .sum();
    assert!(
        retries + sent_again + 3 >= injected_by_up as u64 && retries > 0,
        "{retries} retries and {sent_again} creates sent again for {injected_by_up} faults: {:#}",
        report["calls"]
    );
    let diff = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(
        diff.code,
        Some(0),
        "the stack is as stack.yaml says: {}",
        diff.stdout
    );

    let down = through(
        &proxy,
        &file,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
    );
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    assert!(proxy.injected.load(Ordering::Relaxed) > injected_by_up);
    assert!(proxy.forwarded.load(Ordering::Relaxed) > 100);
    let after = on_emulator(&file, &stack, &["diff", "--json"]);
    assert_eq!(after.code, Some(2), "{}", after.stderr);
    let plan: serde_json::Value = serde_json::from_str(&after.stdout).unwrap();
    assert!(
        plan["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "create"),
        "nothing is left: {plan:#}"
    );
}

/// A create whose answer is lost (it took effect; the client saw a reset) is not made twice: the
/// REST API, the user pool and the app client each exist once, and the next run plans nothing.
/// The first CreateLogGroup is the stack's lock: the SDK's retry finds it made, and its token says
/// it is this run's (the run goes on, and gives it back).
#[test]
fn a_create_whose_answer_is_lost_is_not_made_twice() {
    let stack = support::unique("lost");
    let file = support::write_stack(&[]);
    let lost = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let proxy = FaultProxy::start(move |call| {
        let operation = call.operation();
        let create = [
            "CreateUserPool",
            "CreateUserPoolClient",
            "POST /restapis",
            "CreateLogGroup",
        ]
        .iter()
        .any(|o| operation == *o);
        // The first answer of each create is lost.
        (create && lost.lock().unwrap().insert(operation)).then_some(Fault::LoseAnswer)
    });
    let up = through(&proxy, &file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    assert_eq!(
        proxy.injected.load(Ordering::Relaxed),
        4,
        "four answers lost"
    );
    drop(proxy);
    let diff = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(
        diff.code,
        Some(0),
        "one of each, nothing to do: {}{}",
        diff.stdout,
        diff.stderr
    );
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    // The lock was recognised as this run's and given back: nothing to take over.
    assert!(!down.stderr.contains("taking over"), "{}", down.stderr);
    assert!(!up.stderr.contains("warning"), "{}", up.stderr);
}

/// The API is not held back by the functions: with every CreateFunction answered only after
/// `SLOW`, the API's resources and methods are put while the functions are being made, and each
/// route's integration only once its own function's CreateFunction has answered.
#[test]
fn the_api_is_built_while_its_functions_are_made_and_each_integration_waits_for_its_own() {
    const SLOW: std::time::Duration = std::time::Duration::from_secs(3);
    let stack = support::unique("overlap");
    let file = support::write_stack(&[]);
    type Seen = Vec<(std::time::Instant, String, String)>;
    let seen: Arc<std::sync::Mutex<Seen>> = Arc::default();
    let log = seen.clone();
    let proxy = FaultProxy::start(move |call| {
        let operation = call.operation();
        let slow = operation == "POST /2015-03-31/functions";
        log.lock()
            .unwrap()
            .push((std::time::Instant::now(), operation, call.body.clone()));
        slow.then_some(Fault::Delay(SLOW))
    });
    // Slots enough for every function's slow create beside the API's calls: what is measured is
    // what the API waits for, not the run's concurrency.
    let up = through(
        &proxy,
        &file,
        &stack,
        &["up", "--yes", "--concurrency", "32"],
    );
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    drop(proxy);
    let calls = seen.lock().unwrap().clone();
    let json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap();

    // Each function's CreateFunction answered SLOW after it arrived, at the earliest.
    let answered: std::collections::BTreeMap<String, std::time::Instant> = calls
        .iter()
        .filter(|(_, operation, _)| operation == "POST /2015-03-31/functions")
        .map(|(at, _, body)| {
            let name = json(body)["FunctionName"].as_str().unwrap().to_owned();
            (name, *at + SLOW)
        })
        .collect();
    // One route per function in the repository's stack.
    let functions = support::repo_stack(&stack).functions.len();
    assert_eq!(answered.len(), functions, "{answered:?}");
    let first_answer = *answered.values().min().unwrap();

    let methods: Vec<&std::time::Instant> = calls
        .iter()
        .filter(|(_, operation, _)| {
            // The routes' methods (not the CORS preflights', which wait for no function).
            operation.starts_with("PUT /restapis/")
                && operation.contains("/methods/")
                && !operation.contains("/methods/OPTIONS")
                && !operation.ends_with("/integration")
        })
        .map(|(at, _, _)| at)
        .collect();
    assert_eq!(methods.len(), functions);
    assert!(
        methods.iter().all(|at| **at < first_answer),
        "every method was put while the functions were being made"
    );

    let integrations: Vec<(std::time::Instant, String)> = calls
        .iter()
        .filter(|(_, operation, _)| {
            operation.starts_with("PUT /restapis/")
                && operation.ends_with("/integration")
                && !operation.contains("/methods/OPTIONS")
        })
        .map(|(at, _, body)| {
            let uri = json(body)["uri"].as_str().unwrap().to_owned();
            let function = uri
                .split(":function:")
                .nth(1)
                .and_then(|rest| rest.strip_suffix("/invocations"))
                .unwrap()
                .to_owned();
            (*at, function)
        })
        .collect();
    assert_eq!(integrations.len(), functions);
    for (at, function) in &integrations {
        assert!(
            *at >= answered[function],
            "the integration of {function} waited for its function"
        );
    }

    let diff = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}{}", diff.stdout, diff.stderr);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// One function cannot be created: `up` fails naming it; the API, which was put meanwhile and
/// waited for that function before its route's integration, is reported stopped part-way (not
/// failed, and never deployed half-made); the next `up` finishes it and converges.
#[test]
fn a_function_that_fails_stops_the_api_part_way_and_the_next_up_finishes_it() {
    let stack = support::unique("fnfails");
    let file = support::write_stack(&[]);
    let broken = format!("\"FunctionName\":\"{stack}-sign-up\"");
    let proxy = FaultProxy::start(move |call| {
        (call.operation() == "POST /2015-03-31/functions" && call.body.contains(&broken)).then_some(
            Fault::Error {
                status: 400,
                code: "InvalidParameterValueException",
            },
        )
    });
    let up = through(&proxy, &file, &stack, &["up", "--yes", "--json"]);
    assert_eq!(up.code, Some(1), "{}", up.stderr);
    let document: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    // Part of the plan applied: `incomplete`, with the call AWS refused.
    assert_eq!(document["error"]["code"], "incomplete", "{document:#}");
    assert_eq!(
        document["error"]["aws"]["code"], "InvalidParameterValueException",
        "{document:#}"
    );
    let incomplete = &document["error"]["incomplete"];
    assert_eq!(
        incomplete["failed"],
        serde_json::json!(["functions.sign-up"]),
        "{document:#}"
    );
    assert_eq!(
        incomplete["stopped"],
        serde_json::json!(["api"]),
        "{document:#}"
    );
    assert!(up.stderr.contains("stopped part-way: api"), "{}", up.stderr);
    // As it happens: the function failed, the API's entries stopped (not failed).
    assert!(
        up.stderr.contains("! functions.sign-up failed"),
        "{}",
        up.stderr
    );
    assert!(
        up.stderr.contains("! api stopped part-way"),
        "{}",
        up.stderr
    );
    assert!(!up.stderr.contains("! api failed"), "{}", up.stderr);
    drop(proxy);

    // No deployment was made of the half-made API: its stage does not exist yet.
    let diff = on_emulator(&file, &stack, &["diff", "--json"]);
    assert_eq!(diff.code, Some(2), "{}", diff.stderr);
    let plan: serde_json::Value = serde_json::from_str(&diff.stdout).unwrap();
    let action = |address: &str| {
        plan["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["address"] == address)
            .map(|e| e["action"].clone())
    };
    assert_eq!(
        action("api.stages.prod"),
        Some(serde_json::json!("create")),
        "{plan:#}"
    );
    assert_eq!(
        action("functions.sign-up"),
        Some(serde_json::json!("create")),
        "{plan:#}"
    );

    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let diff = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}{}", diff.stdout, diff.stderr);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// `--concurrency 1` changes one thing at a time, the API's parts included (the API holds no slot
/// of its own while it waits for the functions): with every write answered only after `SLOW`,
/// no write arrives before the one before it was answered.
#[test]
fn concurrency_one_makes_one_change_at_a_time() {
    const SLOW: std::time::Duration = std::time::Duration::from_millis(100);
    let stack = support::unique("serial");
    let file = support::write_stack(&[]);
    let writes: Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>> = Arc::default();
    let log = writes.clone();
    let proxy = FaultProxy::start(move |call| {
        if call.reads() {
            return None;
        }
        log.lock()
            .unwrap()
            .push((std::time::Instant::now(), call.operation()));
        Some(Fault::Delay(SLOW))
    });
    let up = through(
        &proxy,
        &file,
        &stack,
        &["up", "--yes", "--concurrency", "1"],
    );
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    drop(proxy);
    let writes = writes.lock().unwrap().clone();
    assert!(writes.len() > 40, "{writes:?}");
    for pair in writes.windows(2) {
        let ((before, first), (after, second)) = (&pair[0], &pair[1]);
        assert!(
            after.duration_since(*before) >= SLOW,
            "{second} began while {first} was in flight"
        );
    }
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// Around a redeploy, recorded in the order the calls are sent: a route moved to another function
/// gets that function's invoke permission before the new deployment and the stage's move, and the
/// old function's permission goes only after the stage moved (API Gateway answers 500 "Invalid
/// permissions on Lambda function" in between otherwise).
#[test]
fn a_moved_route_is_granted_before_the_stage_moves_and_revoked_after() {
    let stack = support::unique("order");
    let file = support::write_stack(&[]);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let moved = support::write_stack(&[(
        "    GET /secret: { function: secret, authorizer: cognito }\n",
        "    GET /secret: { function: confirm, authorizer: cognito }\n",
    )]);
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let proxy = FaultProxy::start(move |call| {
        record
            .lock()
            .unwrap()
            .push(format!("{} {}", call.method, call.path));
        None
    });
    let ran = through(&proxy, &moved, &stack, &["up", "--yes"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let calls = seen.lock().unwrap().clone();
    let at = |what: &str, found: &dyn Fn(&String) -> bool| {
        calls
            .iter()
            .position(found)
            .unwrap_or_else(|| panic!("no {what} among {calls:#?}"))
    };
    let granted = at("AddPermission on confirm", &|c| {
        c.starts_with("POST ") && c.contains(&format!("/functions/{stack}-confirm/policy"))
    });
    let deployed = at("CreateDeployment", &|c| {
        c.starts_with("POST ") && c.ends_with("/deployments")
    });
    let moved_stage = at("UpdateStage", &|c| {
        c.starts_with("PATCH ") && c.contains("/stages/prod")
    });
    let revoked = at("RemovePermission on secret", &|c| {
        c.starts_with("DELETE ") && c.contains(&format!("/functions/{stack}-secret/policy/"))
    });
    assert!(
        granted < deployed && deployed < moved_stage && moved_stage < revoked,
        "granted {granted}, deployed {deployed}, stage {moved_stage}, revoked {revoked}: {calls:#?}"
    );
    let down = on_emulator(&moved, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

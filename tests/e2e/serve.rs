//! `provisioner serve` through the real binary: the stack is `up` on the emulator, serve runs the
//! real handler binaries, and every request goes over HTTP to it.
//! - The tutorial's flow (sign-up, confirm, sign-in, GET /secret with and without the id token),
//!   bad requests (4xx, never 5xx), and the authorizer's 401 table.
//! - A test-only handler (`tests/fixtures/echo`): the event API Gateway would send, and a handler
//!   that panics, exits, fails, answers garbage, fails init or runs too long; serve keeps serving.
//! - Ctrl-C (and even SIGKILL) leaves no handler process behind.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::Client;
use serde_json::{Value, json};

use crate::support;

/// A running `provisioner serve`, stopped (SIGKILL) when dropped if the test did not stop it.
pub(crate) struct Served {
    child: Option<Child>,
    pub base: String,
    log: Arc<Mutex<String>>,
    /// What serve printed on stdout after its banner's first line.
    out: Arc<Mutex<String>>,
}

impl Served {
    fn start(file: &Path, stack: &str) -> Served {
        Served::start_with(file, stack, &[], &[])
    }

    /// `serve` with more arguments and environment variables (which may point it elsewhere than
    /// the emulator: `AWS_ENDPOINT_URL`).
    pub(crate) fn start_with(
        file: &Path,
        stack: &str,
        args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Served {
        let mut child = support::provisioner()
            .args(["serve", "--port", "0", "--file"])
            .arg(file)
            .args(["--stack", stack])
            .args(args)
            .env("AWS_ENDPOINT_URL", support::emulator())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start provisioner serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (sender, banner) = mpsc::channel();
        let out = Arc::new(Mutex::new(String::new()));
        let rest = out.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = sender.send(line);
            }
            for line in lines.map_while(Result::ok) {
                let mut rest = rest.lock().unwrap();
                rest.push_str(&line);
                rest.push('\n');
            }
        });
        let mut served = Served {
            child: Some(child),
            base: String::new(),
            log,
            out,
        };
        let line = banner
            .recv_timeout(Duration::from_secs(600))
            .unwrap_or_else(|_| panic!("serve printed no banner; its log:\n{}", served.log()));
        let prefix = format!("Serving {stack} at ");
        served.base = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .to_owned();
        served
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Its stdout after the banner's first line (complete once it has stopped).
    pub(crate) fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// The log from byte `from` on, once it contains `needle` (serve writes its log lines as
    /// things happen, so a line can land a moment after the answer that caused it). Gives up,
    /// returning what is there, after 10 s.
    pub(crate) fn log_since_once(&self, from: usize, needle: &str) -> String {
        self.log_since_within(from, needle, Duration::from_secs(10))
    }

    /// As [`Served::log_since_once`], giving up after `patience`.
    pub(crate) fn log_since_within(&self, from: usize, needle: &str, patience: Duration) -> String {
        let deadline = Instant::now() + patience;
        loop {
            let log = self.log();
            let since = log.get(from..).unwrap_or_default().to_owned();
            if since.contains(needle) || Instant::now() > deadline {
                return since;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.pid()).unwrap();
        // SAFETY: kill(2) on a process this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Sends `signal` and waits for serve to exit.
    pub(crate) fn stop(&mut self, signal: i32) -> ExitStatus {
        self.signal(signal);
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Processes whose parent is `pid`, with their state letter (`/proc/<pid>/stat`).
fn children_of(pid: u32) -> Vec<(u32, char)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces, so split after its `)`.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            let state = fields[0].chars().next().unwrap_or('?');
            children.push((child, state));
        }
    }
    children
}

/// Whether process `pid` is gone (or a zombie nobody has reaped yet: it runs no more).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

fn wait_until_ended(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids.iter().all(|pid| ended(*pid)) {
        assert!(
            Instant::now() < deadline,
            "handler processes {pids:?} outlived serve"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTP answer.
pub(crate) struct Answer {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "the body is not JSON ({err}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub(crate) fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = match body {
        Some(body) => agent.run(request.body(body.to_vec()).unwrap()),
        None => agent.run(request.body(()).unwrap()),
    };
    let mut response = response.unwrap_or_else(|err| panic!("{method} {url} got no answer: {err}"));
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut body)
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

fn post_json(url: &str, body: &Value) -> Answer {
    http(
        "POST",
        url,
        &[("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

fn up(file: &Path, stack: &str) -> Value {
    support::json_from(file, stack, &["up", "--yes", "--json"], 0)
}

fn down(file: &Path, stack: &str, extra: &[&str]) {
    let mut args = vec!["down", "--yes"];
    args.extend_from_slice(extra);
    let ran = support::on_emulator(file, stack, &args);
    assert_eq!(ran.code, Some(0), "down failed:\n{}", ran.stderr);
}

/// A JWT with these parts (header and claims JSON, signature bytes), base64url-encoded.
fn jwt(header: &Value, claims: &Value, signature: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string()),
        b64.encode(signature)
    )
}

/// The claims of a JWT (not verified).
fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tutorial_flow_works_through_serve_and_bad_requests_get_4xx() {
    let stack = support::unique("serve");
    let file = support::write_stack(&[]);
    up(&file, &stack);
    let serve = tokio::task::spawn_blocking({
        let (file, stack) = (file.clone(), stack.clone());
        move || Served::start_with(&file, &stack, &["--json"], &[])
    })
    .await
    .unwrap();
    let base = serve.base.clone();
    assert!(base.ends_with("/prod"), "the stage path: {base}");
    let username = support::unique("ada");
    let password = "Passw0rd!x";

    let other_pool_token = {
        let cognito = Client::new(&support::sdk_config().await);
        crate::authorizer::pool_with_a_signed_in_user(&cognito)
            .await
            .2
    };

    let log = tokio::task::spawn_blocking(move || {
        // The tutorial: sign up, confirm, sign in, read the secret.
        let sign_up = json!({ "username": username, "password": password, "email": "ada@example.com" });
        let answer = post_json(&format!("{base}/sign-up"), &sign_up);
        assert_eq!(answer.status, 200, "sign-up: {}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.json()["userConfirmed"], false);
        assert!(answer.json()["userSub"].is_string());
        assert_eq!(answer.header("x-amzn-requestid").len(), 1);
        // The emulator accepts any code (AWS emails one).
        let answer = post_json(
            &format!("{base}/confirm"),
            &json!({ "username": username, "code": "123456" }),
        );
        assert_eq!(answer.status, 200, "confirm: {}", String::from_utf8_lossy(&answer.body));
        let answer = post_json(
            &format!("{base}/sign-in"),
            &json!({ "username": username, "password": password }),
        );
        assert_eq!(answer.status, 200, "sign-in: {}", String::from_utf8_lossy(&answer.body));
        let tokens = answer.json();
        let id_token = tokens["idToken"].as_str().unwrap().to_owned();
        let access_token = tokens["accessToken"].as_str().unwrap().to_owned();
        let bearer = format!("Bearer {id_token}");
        let answer = http("GET", &format!("{base}/secret"), &[("authorization", &bearer)], None);
        assert_eq!(answer.status, 200, "secret: {}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.json()["username"], username.as_str());
        // The client's readAttributes put the email in the id token.
        assert_eq!(answer.json()["email"], "ada@example.com");
        assert_eq!(answer.json()["message"], "CAUTION !!! THIS IS VERY SECRET");
        // The raw token works too, as with API Gateway.
        let answer = http("GET", &format!("{base}/secret"), &[("authorization", &id_token)], None);
        assert_eq!(answer.status, 200);

        // The same flow again: the username is taken.
        let answer = post_json(&format!("{base}/sign-up"), &sign_up);
        assert_eq!(answer.status, 409, "{}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.json()["field"], "username");

        // The authorizer: every bad token is a 401 with API Gateway's body.
        let claims = claims_of(&id_token);
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(
            &std::fs::read(support::repo_root().join("tests/fixtures/jwt/test-key.pem")).unwrap(),
        )
        .unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some("dummy".to_owned()); // the emulator's key id, our own key
        let forged = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        let unsigned = jwt(&json!({ "alg": "none", "typ": "JWT" }), &claims, b"");
        let mut tampered = claims.clone();
        tampered["cognito:username"] = json!("mallory");
        let (head, _) = id_token.split_once('.').unwrap();
        let signature = id_token.rsplit('.').next().unwrap();
        let tampered = format!(
            "{head}.{}.{signature}",
            jwt(&json!({}), &tampered, b"").split('.').nth(1).unwrap()
        );
        let cases: Vec<(&str, Option<String>)> = vec![
            ("no header", None),
            ("empty", Some(String::new())),
            ("Bearer alone", Some("Bearer ".to_owned())),
            ("not a JWT", Some("Bearer not-a-jwt".to_owned())),
            ("signed by another key", Some(format!("Bearer {forged}"))),
            ("claims changed after signing", Some(format!("Bearer {tampered}"))),
            ("alg none", Some(format!("Bearer {unsigned}"))),
            ("another pool's id token", Some(format!("Bearer {other_pool_token}"))),
            ("an access token", Some(format!("Bearer {access_token}"))),
        ];
        for (case, value) in &cases {
            let headers: Vec<(&str, &str)> = value
                .as_deref()
                .map(|v| vec![("authorization", v)])
                .unwrap_or_default();
            let answer = http("GET", &format!("{base}/secret"), &headers, None);
            assert_eq!(answer.status, 401, "{case}");
            assert_eq!(answer.json(), json!({ "message": "Unauthorized" }), "{case}");
        }

        // Bad requests reach the handler and come back 4xx; what has no route is API Gateway's 403.
        let url = format!("{base}/sign-up");
        let bad: Vec<(&str, Answer)> = vec![
            ("no body", http("POST", &url, &[], None)),
            ("invalid JSON", http("POST", &url, &[], Some(b"{not json"))),
            ("not an object", post_json(&url, &json!(["ada"]))),
            ("missing fields", post_json(&url, &json!({ "username": "ada" }))),
            ("wrong type", post_json(&url, &json!({ "username": 7, "password": password, "email": "a@b.c" }))),
            ("weak password", post_json(&url, &json!({ "username": support::unique("bob"), "password": "x", "email": "a@b.c" }))),
            ("confirm without a user", post_json(&format!("{base}/confirm"), &json!({ "username": support::unique("nobody"), "code": "1" }))),
            ("wrong password", post_json(&format!("{base}/sign-in"), &json!({ "username": username, "password": "Wr0ng!pass" }))),
        ];
        for (case, answer) in &bad {
            assert!(
                (400..500).contains(&answer.status),
                "{case}: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
            assert!(answer.json()["message"].is_string(), "{case}");
        }
        for (method, path) in [
            ("GET", "/sign-up"),
            ("DELETE", "/secret"),
            ("POST", "/nope"),
            ("GET", ""),
        ] {
            let answer = http(method, &format!("{base}{path}"), &[], None);
            assert_eq!(answer.status, 403, "{method} {path}");
            assert_eq!(answer.json(), json!({ "message": "Missing Authentication Token" }));
        }
        let other_stage = base.replace("/prod", "/dev");
        assert_eq!(http("POST", &format!("{other_stage}/sign-up"), &[], None).status, 403);
        let mut serve = serve;
        assert!(serve.stop(libc::SIGINT).success());
        // `--json`: the summary is stdout's last line.
        std::thread::sleep(Duration::from_millis(100));
        let last = serve.stdout().lines().last().unwrap_or_default().to_owned();
        let summary: Value = serde_json::from_str(&last)
            .unwrap_or_else(|_| panic!("not JSON: {last:?}\n{}", serve.stdout()));
        let sign_up = summary["awsCalls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == "sign-up")
            .cloned()
            .unwrap();
        assert_eq!(sign_up["used"]["cognito-idp:SignUp"]["notByIam"], true, "{summary:#}");
        assert_eq!(sign_up["used"]["cognito-idp:SignUp"]["refused"], 0, "{summary:#}");
        serve.log()
    })
    .await
    .unwrap();

    // Every AWS call the handlers made went through the check of their roles: the tutorial's
    // are all Cognito's public operations, so nothing is missing and nothing was refused.
    assert!(
        log.contains("AWS calls, checked against each function's role:")
            && log.contains("  sign-up: cognito-idp:SignUp x")
            && log.contains("  confirm: cognito-idp:ConfirmSignUp x")
            && log.contains("  sign-in: cognito-idp:InitiateAuth x")
            && !log.contains("refused here")
            && !log.contains("never used"),
        "{log}"
    );

    // The log names each request, and never a password or a token.
    assert!(log.contains("POST /prod/sign-up -> 200"), "{log}");
    assert!(log.contains("GET /prod/secret -> 401"), "{log}");
    assert!(log.contains("cold start"), "{log}");
    assert!(
        !log.contains("Passw0rd"),
        "a password reached the log:\n{log}"
    );
    assert!(!log.contains("eyJ"), "a token reached the log:\n{log}");
    down(&file, &stack, &["--delete-data"]);
}

const ECHO_STACK: &str = r#"
stack: echo
functions:
  echo:
    crate: ../../../tests/fixtures/echo
    timeout: 2
  slow:
    crate: ../../../tests/fixtures/echo
    timeout: 40
  broken:
    crate: ../../../tests/fixtures/echo
    environment:
      ECHO_INIT_FAIL: "yes"
api:
  stage: test
  routes:
    GET /echo/{proxy+}: { function: echo }
    POST /items/{id}: { function: echo }
    ANY /any: { function: echo }
    GET /slow: { function: slow }
    GET /broken: { function: broken }
"#;

fn write_echo_stack() -> std::path::PathBuf {
    let dir = support::repo_root()
        .join("target/e2e-stacks")
        .join(support::unique("echo"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stack.yaml");
    std::fs::write(&file, ECHO_STACK).unwrap();
    file
}

#[test]
fn serve_builds_events_as_api_gateway_and_survives_handlers_that_fail() {
    let stack = support::unique("echo");
    let file = write_echo_stack();
    let report = up(&file, &stack);
    let api_id = report["outputs"]["apiId"].as_str().unwrap().to_owned();
    let mut serve = Served::start(&file, &stack);
    let base = serve.base.clone();

    // Past the integration timeout (29 s) API Gateway answers 504 while the function runs on.
    let slow = std::thread::spawn({
        let url = format!("{base}/slow?fault=sleep&ms=31000");
        move || {
            let started = Instant::now();
            (http("GET", &url, &[], None), started.elapsed())
        }
    });

    // The event, as API Gateway builds it.
    let answer = http(
        "GET",
        &format!("{base}/echo/a/b%20c?x=1&x=2&y=z"),
        &[("x-custom", "one"), ("user-agent", "e2e")],
        None,
    );
    assert_eq!(answer.status, 200);
    let event = answer.json();
    assert_eq!(event["resource"], "/echo/{proxy+}");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"], json!({ "proxy": "a/b c" }));
    assert_eq!(event["queryStringParameters"]["x"], "2");
    assert_eq!(
        event["multiValueQueryStringParameters"]["x"],
        json!(["1", "2"])
    );
    assert_eq!(event["headers"]["x-custom"], "one");
    assert_eq!(event["multiValueHeaders"]["x-custom"], json!(["one"]));
    assert_eq!(event["body"], Value::Null);
    assert_eq!(event["isBase64Encoded"], false);
    let context = &event["requestContext"];
    assert_eq!(context["stage"], "test");
    assert_eq!(context["apiId"], api_id.as_str());
    assert_eq!(context["accountId"], "123456789012");
    assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["identity"]["userAgent"], "e2e");
    assert_eq!(
        context["requestId"].as_str(),
        answer.header("x-amzn-requestid").first().copied()
    );
    assert!(context.get("authorizer").is_none_or(Value::is_null));

    // A body that is not UTF-8 arrives base64-encoded.
    let answer = http(
        "POST",
        &format!("{base}/items/42"),
        &[],
        Some(&[0xff, 0xfe, 0x00]),
    );
    let event = answer.json();
    assert_eq!(event["pathParameters"], json!({ "id": "42" }));
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "//4A");
    // ANY takes every method.
    assert_eq!(
        http("DELETE", &format!("{base}/any"), &[], None).json()["httpMethod"],
        "DELETE"
    );

    // What the function answers is mapped back: binary bodies, multi-value headers.
    let answer = http("GET", &format!("{base}/echo/x?fault=binary"), &[], None);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, (0..=255).collect::<Vec<u8>>());
    assert_eq!(answer.header("content-type"), ["application/octet-stream"]);
    let answer = http("GET", &format!("{base}/echo/x?fault=cookies"), &[], None);
    assert_eq!(answer.status, 201);
    assert_eq!(answer.header("set-cookie"), ["a=1", "b=2"]);

    // Failures are API Gateway's 502, and serve goes on serving.
    let internal = json!({ "message": "Internal server error" });
    for fault in ["panic", "exit", "error", "not-proxy", "sleep&ms=5000"] {
        let started = Instant::now();
        let answer = http("GET", &format!("{base}/echo/x?fault={fault}"), &[], None);
        assert_eq!(answer.status, 502, "fault={fault}");
        assert_eq!(answer.json(), internal, "fault={fault}");
        if fault.starts_with("sleep") {
            // The function's timeout (2 s) stops it well before the integration timeout.
            assert!(started.elapsed() < Duration::from_secs(20));
        }
        let answer = http("GET", &format!("{base}/echo/after?y=1"), &[], None);
        assert_eq!(answer.status, 200, "after fault={fault}");
    }
    // A function whose init fails answers 502 every time.
    for _ in 0..2 {
        let answer = http("GET", &format!("{base}/broken"), &[], None);
        assert_eq!(answer.status, 502);
        assert_eq!(answer.json(), internal);
    }

    // Concurrent requests get processes of their own, up to the bound.
    let concurrent: Vec<_> = (0..3)
        .map(|_| {
            let url = format!("{base}/echo/c?fault=sleep&ms=700");
            std::thread::spawn(move || http("GET", &url, &[], None).status)
        })
        .collect();
    for request in concurrent {
        assert_eq!(request.join().unwrap(), 200);
    }

    // A rebuilt binary retires the warm processes: the next request runs the new one. (The
    // concurrent requests' log lines can land a moment after their answers: wait for them.)
    let before = serve.log_since_once(0, "(echo #5");
    std::fs::File::open(support::repo_root().join("target/lambda-local/echo-fixture/bootstrap"))
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    assert_eq!(
        http("GET", &format!("{base}/echo/new"), &[], None).status,
        200
    );
    let after = serve.log_since_once(before.len(), "(echo #6, cold start");
    assert_eq!(
        after.matches("retired: the binary changed").count(),
        3,
        "{after}"
    );
    assert!(after.contains("(echo #6, cold start"), "{after}");

    // A warm process that dies while idle is not handed a request: a new one takes it.
    let echo: Vec<u32> = children_of(serve.pid())
        .into_iter()
        .map(|(pid, _)| pid)
        .filter(|pid| {
            // Functions echo and slow run one binary: tell them apart by Lambda's variable.
            let wanted = format!("AWS_LAMBDA_FUNCTION_NAME={stack}-echo");
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == wanted.as_bytes()))
        })
        .collect();
    assert_eq!(echo.len(), 1, "the one warm echo process: {echo:?}");
    // SAFETY: kill(2) on a process of serve's that this test found by its parent and function.
    assert_eq!(
        unsafe { libc::kill(i32::try_from(echo[0]).unwrap(), libc::SIGKILL) },
        0
    );
    wait_until_ended(&echo);
    let before_death = serve.log().len();
    assert_eq!(
        http("GET", &format!("{base}/echo/again"), &[], None).status,
        200
    );
    let after = serve.log_since_once(before_death, "(echo #7, cold start");
    assert!(after.contains("retired: it exited while idle"), "{after}");
    assert!(after.contains("(echo #7, cold start"), "{after}");

    let (answer, took) = slow.join().unwrap();
    assert_eq!(answer.status, 504);
    assert_eq!(
        answer.json(),
        json!({ "message": "Endpoint request timed out" })
    );
    assert!(took >= Duration::from_secs(29), "504 after {took:?}");

    let log = serve.log();
    for expected in [
        "Runtime.ExitError",
        "fault switch: panic",
        "fault switch: error",
        "Task timed out after 2.00 seconds",
        "Malformed Lambda proxy response",
        "the process exited during init",
        "echo | echo: \"GET\"",
        "broken | echo: ECHO_INIT_FAIL is set",
    ] {
        assert!(log.contains(expected), "the log lacks {expected:?}:\n{log}");
    }
    // Processes that died or timed out were replaced (exit, timeout: #2, #3); the one that
    // panicked (the profiles unwind: one failed invocation, as on Lambda), answered an unhandled
    // error or garbage was reused; three at once took two more.
    assert!(before.contains("(echo #5"), "{before}");
    assert!(!before.contains("(echo #6"), "{before}");

    // Ctrl-C ends serve and every handler process it started.
    let children: Vec<u32> = children_of(serve.pid())
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    assert!(children.len() >= 2, "handler processes: {children:?}");
    let status = serve.stop(libc::SIGINT);
    assert!(
        status.success(),
        "serve exited {status:?}:\n{}",
        serve.log()
    );
    wait_until_ended(&children);
    assert!(serve.log().contains("every handler process has ended"));

    // Even killed outright, serve takes its handler processes with it.
    let mut serve = Served::start(&file, &stack);
    assert_eq!(
        http("GET", &format!("{}/echo/x", serve.base), &[], None).status,
        200
    );
    let children: Vec<u32> = children_of(serve.pid())
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(children.len(), 1, "one warm process: {children:?}");
    serve.stop(libc::SIGKILL);
    wait_until_ended(&children);

    down(&file, &stack, &[]);
}

#[test]
fn serve_refuses_a_stack_that_is_not_up() {
    let stack = support::unique("serve-not-up");
    let file = support::write_stack(&[]);
    let ran = support::on_emulator(&file, &stack, &["serve", "--port", "0"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!("stack `{stack}` is not up")),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("run `provisioner up` first"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("does not exist"), "{}", ran.stderr);
}

/// The release build (what `up` deploys, `serve --release`) unwinds on a panic: the invocation
/// fails (502) and the process answers the next request, as Lambda keeps the execution
/// environment after a handler panic.
#[test]
fn serve_release_a_handler_panic_fails_one_invocation_and_the_process_lives_on() {
    let stack = support::unique("echo");
    let file = write_echo_stack();
    up(&file, &stack);
    let serve = Served::start_with(&file, &stack, &["--release"], &[]);
    let base = serve.base.clone();
    let answer = http("GET", &format!("{base}/echo/x?fault=panic"), &[], None);
    assert_eq!(answer.status, 502);
    assert_eq!(answer.json(), json!({ "message": "Internal server error" }));
    let answer = http("GET", &format!("{base}/echo/after"), &[], None);
    assert_eq!(answer.status, 200);
    let log = serve.log_since_once(0, "GET /test/echo/after");
    assert!(log.contains("fault switch: panic"), "{log}");
    assert!(log.contains("GET /test/echo/after -> 200"), "{log}");
    assert!(
        !log.contains("echo #2"),
        "the panicking process was kept:\n{log}"
    );
    assert!(!log.contains("Runtime.ExitError"), "{log}");
    drop(serve);
    down(&file, &stack, &["--delete-data"]);
}

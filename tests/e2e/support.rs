#![allow(dead_code)] // each test module uses a part of the harness
//! The harness every end-to-end test shares: one local AWS emulator per test run, unique names per
//! test, SDK clients pointed at the emulator, and the real `provisioner` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The repository root (the cargo workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("provisioner/ has a parent")
        .to_path_buf()
}

/// The emulator's URL. Uses `PROVISIONER_TEST_ENDPOINT` when set (an emulator someone else runs);
/// otherwise starts one with `scripts/emulator start --watch-pid <this process>`, which stops it
/// when this test process exits, whether the tests passed, failed or were killed.
pub fn emulator() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("PROVISIONER_TEST_ENDPOINT")
            && !url.is_empty()
        {
            return url;
        }
        let script = repo_root().join("scripts/emulator");
        let output = Command::new(&script)
            .args(["start", "--watch-pid", &std::process::id().to_string()])
            .output()
            .unwrap_or_else(|err| panic!("failed to run {}: {err}", script.display()));
        assert!(
            output.status.success(),
            "scripts/emulator start failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    })
}

pub const REGION: &str = "us-east-1";

/// The functions of the repository's stack.yaml, sorted; each has one route, `/<name>`.
pub const FUNCTIONS: [&str; 9] = [
    "confirm",
    "forgot-password",
    "refresh",
    "resend-code",
    "reset-password",
    "secret",
    "sign-in",
    "sign-out",
    "sign-up",
];

/// SDK configuration for the emulator, with test credentials.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(emulator())
        .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// The id of the user pool named `name`, if there is one (every page listed: the suite's stacks
/// share the emulator, and pools `down` keeps stay).
pub async fn pool_id(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    name: &str,
) -> Option<String> {
    let mut pages = cognito
        .list_user_pools()
        .max_results(60)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("ListUserPools");
        if let Some(pool) = page.user_pools().iter().find(|p| p.name() == Some(name)) {
            return pool.id().map(str::to_owned);
        }
    }
    None
}

/// The ids of stack `stack`'s user pool (`<stack>-users`) and of its first app client.
pub async fn stack_pool_and_client(
    cognito: &aws_sdk_cognitoidentityprovider::Client,
    stack: &str,
) -> (String, String) {
    let pool = pool_id(cognito, &format!("{stack}-users"))
        .await
        .expect("the stack's pool");
    let clients = cognito
        .list_user_pool_clients()
        .user_pool_id(&pool)
        .send()
        .await
        .expect("ListUserPoolClients");
    let client = clients.user_pool_clients()[0]
        .client_id()
        .expect("a client id")
        .to_owned();
    (pool, client)
}

/// A name no other test of this run (or of a run sharing the emulator) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The `provisioner` binary, run from the repository root with the emulator's environment.
pub fn provisioner() -> Command {
    provisioner_command(env!("CARGO_BIN_EXE_provisioner"))
}

/// `program` with the environment [`provisioner`] gets (for wrappers such as `script`).
pub fn provisioner_command(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(repo_root())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env_remove("PROVISIONER_FILE")
        .env_remove("PROVISIONER_ENV")
        .env_remove("PROVISIONER_STACK");
    command
}

/// What a finished command said.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` and what it said. Every AWS operation it makes (the tool records them, see
/// `calls::RECORD_CALLS`) must be one the tool declares (`operations`): a call a part makes
/// without declaring it fails the test, so the deploy policy derived from the declarations
/// never lacks it.
pub fn run(command: &mut Command) -> Ran {
    let record = std::env::temp_dir().join(unique("calls"));
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .env(provisioner::calls::RECORD_CALLS, &record)
        .output()
        .unwrap_or_else(|err| panic!("failed to run {command:?}: {err}"));
    let made = std::fs::read_to_string(&record).unwrap_or_default();
    let _ = std::fs::remove_file(&record);
    let undeclared: std::collections::BTreeSet<&str> = made
        .lines()
        .filter(|key| !provisioner::registry::is_declared(key))
        .collect();
    assert!(
        undeclared.is_empty(),
        "{command:?} made AWS calls no part of the tool declares (add them to its OPERATIONS): {undeclared:?}"
    );
    Ran {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A fresh directory under cargo's per-test temporary area (inside the workspace, so stack files
/// written there belong to it).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique(name));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// A JSON fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = repo_root().join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("failed to read {}: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()))
}

/// An edit for [`write_stack`] and [`repo_stack_with`]: sign-up's role gets a statement IAM does
/// evaluate, on the pool (the repository's stack grants none: the tutorial's grant nothing), so
/// tests of inline policies have one to check.
pub const SIGN_UP_GRANT: (&str, &str) = (
    "      USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}\n  confirm:\n",
    "      USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}\n    allow:\n      - actions: [cognito-idp:AdminGetUser]\n        resources: ${userPools.users.arn}\n  confirm:\n",
);

/// The repository's stack.yaml, loaded as the CLI loads it, under a stack name of the test's own.
pub fn repo_stack(stack_name: &str) -> provisioner::spec::Stack {
    repo_stack_with(stack_name, &[])
}

/// As [`repo_stack`], with each `(from, to)` replaced once (each must be there).
pub fn repo_stack_with(stack_name: &str, edits: &[(&str, &str)]) -> provisioner::spec::Stack {
    let root = repo_root();
    let mut text = std::fs::read_to_string(root.join("stack.yaml")).expect("read stack.yaml");
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "stack.yaml no longer contains {from:?}: update this test"
        );
        text = text.replacen(from, to, 1);
    }
    let workspace = provisioner::cargo::discover(&root).expect("read the cargo workspace");
    provisioner::spec::load(
        text.as_bytes(),
        "stack.yaml",
        &root,
        &workspace,
        Some(stack_name),
    )
    .expect("the repository's stack.yaml is valid")
    .stack
}

/// The repository's stack.yaml with each `(from, to)` replaced once (each must be there), written
/// under `target/e2e-stacks/<unique>/` with crate paths (`crate: handlers/...`, edits included)
/// rewritten to work from there. Returns its path.
pub fn write_stack(edits: &[(&str, &str)]) -> PathBuf {
    write_stack_from("stack.yaml", edits)
}

/// As [`write_stack`], from another stack file at the repository's root (`triggers.yaml`).
pub fn write_stack_from(base: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(repo_root().join(base)).expect("read the stack file");
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "{base} no longer contains {from:?}: update this test"
        );
        text = text.replacen(from, to, 1);
    }
    let text = text.replace("crate: handlers/", "crate: ../../../handlers/");
    let dir = repo_root().join("target/e2e-stacks").join(unique("stack"));
    std::fs::create_dir_all(&dir).expect("create the stack directory");
    let file = dir.join("stack.yaml");
    std::fs::write(&file, text).expect("write the stack file");
    file
}

/// Runs `provisioner <args> --file <file> --stack <stack>` against the emulator.
pub fn on_emulator(file: &Path, stack: &str, args: &[&str]) -> Ran {
    run(provisioner()
        .args(args)
        .arg("--file")
        .arg(file)
        .args(["--stack", stack])
        .env("AWS_ENDPOINT_URL", emulator()))
}

/// Like [`on_emulator`], and the command must exit with `code`; its stdout as JSON.
pub fn json_from(file: &Path, stack: &str, args: &[&str], code: i32) -> serde_json::Value {
    let ran = on_emulator(file, stack, args);
    assert_eq!(
        ran.code,
        Some(code),
        "provisioner {args:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        ran.code,
        ran.stdout,
        ran.stderr
    );
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|err| panic!("stdout of {args:?} is not JSON ({err}):\n{}", ran.stdout))
}

/// A stand-in for AWS on 127.0.0.1 that records each request's head and answers every one with
/// STS's `InvalidClientTokenId` (403), so the CLI stops after its first call. Stops when dropped.
pub struct Recorder {
    pub url: String,
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    pub fn start() -> Recorder {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a recorder");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen, stopped) = (heads.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .unwrap();
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request).into_owned();
                seen.lock().unwrap().push(head);
                let body = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>recorder-1</RequestId></ErrorResponse>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nx-amzn-RequestId: recorder-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Recorder { url, heads, stop }
    }

    /// The heads of the requests received so far.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    /// The access key ids requests were signed with (`Credential=<key>/...` of SigV4).
    pub fn access_keys(&self) -> Vec<String> {
        self.heads()
            .iter()
            .filter_map(|head| {
                let at = head.find("Credential=")? + "Credential=".len();
                let key = head[at..].split('/').next()?;
                Some(key.to_owned())
            })
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The name of `function`'s IAM role in the emulator's region ([`REGION`]): `use1-<stack>-<function>`.
pub fn role_name(stack: &str, function: &str) -> String {
    format!("use1-{stack}-{function}")
}

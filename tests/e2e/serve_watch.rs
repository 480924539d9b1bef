//! `provisioner serve --watch` through the real binary, on a cargo workspace of its own (copied
//! into `target/e2e-watch/`, so editing its handlers disturbs no other test): two handler crates,
//! `hello` and `other`, deployed with `up`, then served while the test edits them.
//! - An edit to `hello` is answered by the new code, and only `hello` is rebuilt.
//! - A build error keeps the previous binary answering and shows the compiler's error.
//! - A route added to stack.yaml is served; a handler edited while stack.yaml is reloaded is
//!   rebuilt after it; an invalid stack.yaml keeps the previous one.
//!
//! The workspace defines no `local` profile: serve's defaults for it are used.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::faults::{Fault, FaultProxy};
use crate::serve::{Served, http};
use crate::support;

const WORKSPACE: &str = r#"[workspace]
resolver = "3"
members = ["hello", "other"]

[workspace.dependencies]
lambda_runtime = { version = "1.5.0", default-features = false, features = ["tracing"] }
serde_json = "1.0.154"
tokio = { version = "1.54.1", features = ["macros", "rt"] }

# `up` deploys the release build: kept quick to compile for the test.
[profile.release]
strip = true
"#;

fn manifest(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
lambda_runtime.workspace = true
serde_json.workspace = true
tokio.workspace = true
"#
    )
}

/// A handler that answers `<name> <version>` as text.
fn handler(name: &str, version: &str) -> String {
    format!(
        r#"use lambda_runtime::{{Error, LambdaEvent, service_fn}};
use serde_json::{{Value, json}};

const ANSWER: &str = "{name} {version}";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {{
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async {{
        Ok::<Value, Error>(json!({{
            "statusCode": 200,
            "headers": {{ "content-type": "text/plain" }},
            "body": ANSWER
        }}))
    }}))
    .await
}}
"#
    )
}

const STACK: &str = r#"
stack: watched
functions:
  hello:
    crate: hello
  other:
    crate: other
api:
  stage: dev
  routes:
    GET /hello: { function: hello }
    GET /other: { function: other }
"#;

/// The workspace, its Cargo.lock (the repository's, pruned to what it uses, so the same
/// versions build) and its stack.yaml.
fn write_workspace() -> PathBuf {
    let dir = support::repo_root()
        .join("target/e2e-watch")
        .join(support::unique("ws"));
    for name in ["hello", "other"] {
        std::fs::create_dir_all(dir.join(name).join("src")).unwrap();
        std::fs::write(dir.join(name).join("Cargo.toml"), manifest(name)).unwrap();
        std::fs::write(dir.join(name).join("src/main.rs"), handler(name, "v1")).unwrap();
    }
    std::fs::write(dir.join("Cargo.toml"), WORKSPACE).unwrap();
    std::fs::copy(
        support::repo_root().join("Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    std::fs::write(dir.join("stack.yaml"), STACK).unwrap();
    // Offline: the repository's build has every entry it needs; online if it does not.
    let update = |offline: bool| {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command
            .args(["update", "--workspace", "--quiet"])
            .current_dir(&dir);
        if offline {
            command.arg("--offline");
        }
        command.status().unwrap().success()
    };
    assert!(
        update(true) || update(false),
        "cargo update in {}",
        dir.display()
    );
    dir
}

/// Shared by every run, so the dependencies are compiled once.
fn target_dir() -> PathBuf {
    support::repo_root().join("target/e2e-watch-target")
}

fn provisioner(dir: &Path, args: &[&str]) {
    let output = support::provisioner()
        .args(args)
        .arg("--file")
        .arg(dir.join("stack.yaml"))
        .env("AWS_ENDPOINT_URL", support::emulator())
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "provisioner {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// GETs `url` until it answers `status` with `body`, for at most `patience`.
fn wait_for(url: &str, status: u16, body: &str, patience: Duration, served: &Served) {
    let deadline = Instant::now() + patience;
    loop {
        let answer = http("GET", url, &[], None);
        if answer.status == status && answer.body == body.as_bytes() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} still answers {} {:?}, not {status} {body:?}; serve's log:\n{}",
            answer.status,
            String::from_utf8_lossy(&answer.body),
            served.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(url: &str) -> (u16, String) {
    let answer = http("GET", url, &[], None);
    (
        answer.status,
        String::from_utf8_lossy(&answer.body).into_owned(),
    )
}

#[test]
fn serve_watch_rebuilds_an_edited_handler_keeps_it_on_a_build_error_and_follows_stack_yaml() {
    let dir = write_workspace();
    let stack = support::unique("watched");
    provisioner(&dir, &["up", "--yes", "--stack", &stack]);
    let file = dir.join("stack.yaml");
    let target = target_dir();
    // Serve's AWS calls go through a proxy that can hold the reload's read of the API back.
    let slow_reload = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slow = slow_reload.clone();
    let proxy = FaultProxy::start(move |call| {
        (slow.load(std::sync::atomic::Ordering::SeqCst) && call.operation() == "GET /restapis")
            .then_some(Fault::Delay(Duration::from_secs(4)))
    });
    let mut served = Served::start_with(
        &file,
        &stack,
        &["--watch"],
        &[
            ("CARGO_TARGET_DIR", target.as_os_str()),
            ("AWS_ENDPOINT_URL", std::ffi::OsStr::new(&proxy.url)),
        ],
    );
    let base = served.base.clone();
    assert_eq!(text(&format!("{base}/hello")), (200, "hello v1".to_owned()));
    assert_eq!(text(&format!("{base}/other")), (200, "other v1".to_owned()));
    // Local builds never touch what `up` uploads.
    assert!(target.join("lambda-local/hello/bootstrap").is_file());
    let zip = target.join("lambda/hello/bootstrap.zip");
    let uploaded = std::fs::read(&zip).unwrap();

    // An edit is answered by the new code; only the crate's function is rebuilt.
    let from = served.log().len();
    std::fs::write(dir.join("hello/src/main.rs"), handler("hello", "v2")).unwrap();
    wait_for(
        &format!("{base}/hello"),
        200,
        "hello v2",
        Duration::from_secs(120),
        &served,
    );
    let log = served.log_since_once(from, "hello rebuilt in");
    assert!(log.contains("hello rebuilt in"), "{log}");
    // The old process is retired: at once if it was idle, else when it is next handed a request.
    assert!(
        log.contains("1 warm process retired") || log.contains("retired: the binary changed"),
        "{log}"
    );
    assert!(!log.contains("other rebuilt"), "{log}");
    assert!(!log.contains("hello, other"), "{log}");
    assert_eq!(text(&format!("{base}/other")), (200, "other v1".to_owned()));
    assert_eq!(std::fs::read(&zip).unwrap(), uploaded);

    // A build error: the compiler's error is shown and the previous binary goes on answering.
    let from = served.log().len();
    let broken = handler("hello", "v3").replace("\"hello v3\";", "\"hello v3\"");
    std::fs::write(dir.join("hello/src/main.rs"), broken).unwrap();
    // A build on a busy machine: give it time.
    let log = served.log_since_within(
        from,
        "still serving the previous build",
        Duration::from_secs(120),
    );
    assert!(log.contains("still serving the previous build"), "{log}");
    assert!(log.contains("error"), "{log}");
    assert!(log.contains("expected `;`"), "the compiler's error: {log}");
    assert_eq!(text(&format!("{base}/hello")), (200, "hello v2".to_owned()));

    // Mended: the new code answers again.
    std::fs::write(dir.join("hello/src/main.rs"), handler("hello", "v4")).unwrap();
    wait_for(
        &format!("{base}/hello"),
        200,
        "hello v4",
        Duration::from_secs(120),
        &served,
    );

    // A route added to stack.yaml is served. The reload reads live AWS slowly (4 s); a handler
    // saved meanwhile, once the reload's build is done, is rebuilt after it.
    let missing = r#"{"message":"Missing Authentication Token"}"#;
    assert_eq!(text(&format!("{base}/bye")), (403, missing.to_owned()));
    let with_bye = STACK.replace(
        "    GET /other: { function: other }\n",
        "    GET /other: { function: other }\n    GET /bye: { function: other }\n",
    );
    let from = served.log().len();
    slow_reload.store(true, std::sync::atomic::Ordering::SeqCst);
    std::fs::write(&file, &with_bye).unwrap();
    let log = served.log_since_once(from, "stack.yaml changed: loading it again");
    assert!(log.contains("loading it again"), "{log}");
    std::thread::sleep(Duration::from_secs(2));
    std::fs::write(dir.join("hello/src/main.rs"), handler("hello", "v5")).unwrap();
    wait_for(
        &format!("{base}/bye"),
        200,
        "other v1",
        Duration::from_secs(120),
        &served,
    );
    slow_reload.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(served.log().contains("stack.yaml reloaded"));
    wait_for(
        &format!("{base}/hello"),
        200,
        "hello v5",
        Duration::from_secs(120),
        &served,
    );

    // An invalid stack.yaml is reported and the previous one goes on serving.
    let from = served.log().len();
    let invalid = with_bye.replace(
        "GET /bye: { function: other }",
        "GET /bye: { function: nobody }",
    );
    std::fs::write(&file, invalid).unwrap();
    let log = served.log_since_within(
        from,
        "still serving the previous stack.yaml",
        Duration::from_secs(120),
    );
    assert!(
        log.contains("still serving the previous stack.yaml"),
        "{log}"
    );
    assert!(log.contains("nobody"), "the problem is named: {log}");
    assert_eq!(text(&format!("{base}/bye")), (200, "other v1".to_owned()));
    assert_eq!(text(&format!("{base}/hello")), (200, "hello v5".to_owned()));

    let status = served.stop(libc::SIGINT);
    assert!(status.success(), "serve exits 0 on Ctrl-C: {status}");
    drop(served);
    std::fs::write(&file, STACK).unwrap();
    provisioner(&dir, &["down", "--yes", "--delete-data", "--stack", &stack]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--watch` rebuilds with the local profile: it cannot serve the release build or artifacts
/// built elsewhere. Both are usage errors (64), before anything is read or built.
#[test]
fn serve_watch_refuses_release_and_artifacts() {
    for extra in [
        &["--release"][..],
        &["--artifacts", "target/no-such-artifacts"][..],
    ] {
        let ran = support::run(
            support::provisioner()
                .args(["serve", "--watch", "--port", "0"])
                .args(extra),
        );
        assert_eq!(ran.code, Some(64), "{extra:?}: {}", ran.stderr);
        assert!(ran.stderr.contains("--watch"), "{extra:?}: {}", ran.stderr);
    }
}

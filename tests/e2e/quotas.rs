//! AWS's account-wide quotas and IAM's propagation, enforced by `scripts/aws-proxy` in front of the
//! emulator (which enforces neither): the real binary, pointed at the proxy, must stay within the
//! quotas on its own (no throttled answer at all) and wait out a role's propagation.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support;

/// `scripts/aws-proxy` with `args`, in front of the test run's emulator; stopped when dropped.
struct AwsProxy {
    child: Child,
    url: String,
}

impl AwsProxy {
    fn start(args: &[&str]) -> AwsProxy {
        let mut child = Command::new("python3")
            .arg(support::repo_root().join("scripts/aws-proxy"))
            .arg(support::emulator())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scripts/aws-proxy");
        let mut url = String::new();
        let read = child
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut url));
        let proxy = AwsProxy {
            child,
            url: url.trim().to_owned(),
        };
        assert!(
            matches!(read, Some(Ok(n)) if n > 0) && proxy.url.starts_with("http://127.0.0.1:"),
            "scripts/aws-proxy printed no URL"
        );
        proxy
    }

    /// What the proxy did so far: `forwarded`, `throttled` by operation, `roleRefused`.
    fn stats(&self) -> serde_json::Value {
        let mut answer = ureq::get(format!("{}/__aws-proxy/stats", self.url))
            .call()
            .expect("the proxy's stats");
        serde_json::from_reader(answer.body_mut().as_reader()).expect("stats are JSON")
    }

    fn run(&self, file: &std::path::Path, stack: &str, args: &[&str]) -> support::Ran {
        support::run(
            support::provisioner()
                .args(args)
                .arg("--file")
                .arg(file)
                .args(["--stack", stack])
                .env("AWS_ENDPOINT_URL", &self.url),
        )
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stack of `n` functions, each with a role and a route (`scripts/gen-stack`).
fn generated_stack(n: usize) -> std::path::PathBuf {
    let dir = support::repo_root()
        .join("target/e2e-stacks")
        .join(support::unique("quotas"));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(support::repo_root().join("scripts/gen-stack"))
        .args([&n.to_string(), "../../../handlers/"])
        .output()
        .expect("run scripts/gen-stack");
    assert!(output.status.success(), "scripts/gen-stack failed");
    let file = dir.join("stack.yaml");
    std::fs::write(&file, output.stdout).unwrap();
    file
}

/// Lambda allows 15 control-plane calls a second for the whole account, API Gateway 10 (burst
/// 40) besides its per-operation quotas: a cold `up` of 24 functions and routes makes several
/// hundred such calls, at once where it can. Through a proxy that throttles as AWS does, neither
/// `up` nor `down` earns a single 429: the tool spaces its calls itself.
#[test]
fn a_cold_up_and_down_of_many_functions_stay_within_aws_quotas() {
    let proxy = AwsProxy::start(&["--quotas"]);
    let stack = support::unique("quotas");
    let file = generated_stack(24);

    let up = proxy.run(&file, &stack, &["up", "--yes", "--json"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let stats = proxy.stats();
    assert_eq!(stats["throttled"], serde_json::json!({}), "up: {stats}");
    // The proxy saw the run (and so would have throttled it): well over a second's quota of each.
    assert!(stats["forwarded"].as_u64().unwrap() > 300, "{stats}");
    let report: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    assert_eq!(report["calls"]["retries"], 0, "{}", report["calls"]);

    let down = proxy.run(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    let stats = proxy.stats();
    assert_eq!(stats["throttled"], serde_json::json!({}), "down: {stats}");
}

/// IAM takes seconds to let Lambda assume a new role: through a proxy that refuses CreateFunction
/// for 4 s after its role's CreateRole (with Lambda's error for it), a cold `up` of the tutorial
/// waits it out and deploys every function.
#[test]
fn a_cold_up_waits_out_the_propagation_of_its_new_roles() {
    let proxy = AwsProxy::start(&["--role-propagation", "4"]);
    let stack = support::unique("propagation");
    let file = support::write_stack(&[]);

    let up = proxy.run(&file, &stack, &["up", "--yes", "--json"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let stats = proxy.stats();
    assert!(stats["roleRefused"].as_u64().unwrap() >= 4, "{stats}");
    let diff = proxy.run(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "nothing left to do: {}", diff.stdout);

    let down = proxy.run(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

//! The deploy identity's policy, proven on the emulator: the whole lifecycle runs as an identity
//! that holds exactly `provisioner policy`'s documents, every call authorized by action, resource
//! and condition as AWS authorizes it (`iam.rs`, in a proxy in front of the emulator, which itself
//! checks nothing by resource) and refused in the shape AWS refuses it. Every statement is needed
//! by some call of the lifecycle, and a run missing one fails naming the action and resource.

use std::sync::{Arc, Mutex};

use crate::faults::FaultProxy;
use crate::iam::{self, Env, Policy, Request};
use crate::support::{self, Ran};

/// The proxy, the policy it holds the calls to, and what it saw.
pub struct Harness {
    pub proxy: FaultProxy,
    policy: Arc<Mutex<Policy>>,
    /// Every IAM request of every call, allowed or not.
    seen: Arc<Mutex<Vec<Request>>>,
    /// The requests refused.
    refused: Arc<Mutex<Vec<Request>>>,
    /// Calls this harness cannot map to IAM requests (forwarded, and a failure of the test).
    unknown: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    pub fn start(policy: Policy) -> Harness {
        let env = Env::emulator();
        let policy = Arc::new(Mutex::new(policy));
        let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
        let refused: Arc<Mutex<Vec<Request>>> = Arc::default();
        let unknown: Arc<Mutex<Vec<String>>> = Arc::default();
        let (held, saw, denied, strange) = (
            policy.clone(),
            seen.clone(),
            refused.clone(),
            unknown.clone(),
        );
        let proxy = FaultProxy::start(move |call| {
            let requests = match iam::requests(call, &env) {
                Ok(requests) => requests,
                Err(what) => {
                    strange.lock().unwrap().push(what);
                    return None;
                }
            };
            let policy = held.lock().unwrap().clone();
            saw.lock().unwrap().extend(requests.iter().cloned());
            let first_refused = requests.into_iter().find(|r| !policy.allows(r))?;
            denied.lock().unwrap().push(first_refused.clone());
            Some(iam::denial(call, &first_refused, &env))
        });
        Harness {
            proxy,
            policy,
            seen,
            refused,
            unknown,
        }
    }

    fn hold(&self, policy: Policy) {
        *self.policy.lock().unwrap() = policy;
    }

    /// Nothing was refused, and every call was one this harness knows.
    pub fn assert_clean(&self) {
        assert_eq!(*self.unknown.lock().unwrap(), Vec::<String>::new());
        assert_eq!(*self.refused.lock().unwrap(), Vec::<Request>::new());
    }

    /// `provisioner <args> --file <file> --stack <stack>` with every call through the proxy.
    fn run(&self, file: &std::path::Path, stack: &str, args: &[&str]) -> Ran {
        support::run(
            support::provisioner()
                .args(args)
                .arg("--file")
                .arg(file)
                .args(["--stack", stack])
                .env("AWS_ENDPOINT_URL", &self.proxy.url),
        )
    }

    fn ok(&self, file: &std::path::Path, stack: &str, args: &[&str], code: i32) -> Ran {
        let ran = self.run(file, stack, args);
        assert_eq!(
            ran.code,
            Some(code),
            "{args:?}\nrefused: {:#?}\nstderr: {}",
            self.refused.lock().unwrap(),
            ran.stderr
        );
        ran
    }
}

/// The documents `provisioner policy` prints for `stack` (with `env` set), for the emulator's
/// account and region.
pub fn documents(file: &std::path::Path, stack: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let mut command = support::provisioner();
    command
        .args([
            "policy",
            "--account",
            "123456789012",
            "--region",
            support::REGION,
        ])
        .arg("--file")
        .arg(file)
        .args(["--stack", stack]);
    for (key, value) in env {
        command.env(key, value);
    }
    let ran = support::run(&mut command);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    serde_json::from_str(&ran.stdout).unwrap()
}

/// A change of every kind of the repository's stack: the pool, its client, a role's policy, a
/// log group's retention, a function's settings, a route of the API and its permission.
const CHANGE_EVERYTHING: &[(&str, &str)] = &[
    ("    selfSignUp: true\n", "    selfSignUp: false\n"),
    (
        "        readAttributes: [email, email_verified]\n",
        "        readAttributes: [email]\n",
    ),
    (
        "    crate: handlers/secret\n",
        "    crate: handlers/secret\n    memory: 256\n    logRetentionDays: 30\n    allow:\n      - { actions: [cognito-idp:AdminGetUser], resources: \"${userPools.users.arn}\" }\n",
    ),
    (
        "    GET /secret: { function: secret, authorizer: cognito }\n",
        "    GET /secret: { function: secret, authorizer: cognito }\n    GET /me/secret: { function: secret, authorizer: cognito }\n",
    ),
];

/// Cold `up`, a no-op, a change of every kind and back, drift repaired, `diff` as the read-only
/// identity, a lock held elsewhere refused and `unlock`ed, a dead holder's lock taken over,
/// `down` and `down --delete-data`: all as the generated policies allow, and nothing more.
#[test]
fn the_lifecycle_runs_under_exactly_the_generated_policy_and_needs_every_statement() {
    let stack = support::unique("leastpriv");
    let file = support::write_stack(&[]);
    let changed = support::write_stack(CHANGE_EVERYTHING);
    let documents = documents(&file, &stack, &[]);
    let (plan, apply) = (
        Policy::from_document(&documents["plan"]),
        Policy::from_document(&documents["apply"]),
    );
    let harness = Harness::start(apply.clone());
    // A role of the stack from before roles were per region: read, reported and kept.
    let legacy = format!("{stack}-secret-role");
    legacy_role(&legacy, &stack, true);

    harness.ok(&file, &stack, &["up", "--yes"], 0);
    harness.ok(&file, &stack, &["up", "--yes"], 0);
    harness.ok(&changed, &stack, &["up", "--yes"], 0);
    harness.ok(&changed, &stack, &["diff"], 0);
    harness.ok(&file, &stack, &["up", "--yes"], 0);

    // Drift, made behind the tool's back, seen by the read-only identity and repaired.
    drift_a_function(&stack);
    harness.hold(plan.clone());
    harness.ok(&file, &stack, &["diff"], 2);
    // The read-only identity cannot apply: refused at the first write, the lock.
    let refused = harness.ok(&file, &stack, &["up", "--yes"], 1);
    assert!(
        refused.stderr.contains(&format!(
            "not authorized to perform: logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:123456789012:log-group:/provisioner/locks/{stack}:*"
        )) && refused.stderr.contains("provisioner policy")
            && !refused.stderr.contains("unhandled error")
            && !refused.stderr.contains("Error {"),
        "{}",
        refused.stderr
    );
    harness.refused.lock().unwrap().clear();
    harness.hold(apply.clone());
    harness.ok(&file, &stack, &["up", "--yes"], 0);

    // A lock held elsewhere: refused, then removed by `unlock`.
    crate::lock::hold_lock(&stack, "build-agent-7", 4242);
    harness.ok(&changed, &stack, &["up", "--yes"], 1);
    harness.ok(&changed, &stack, &["unlock"], 0);
    // A dead holder's lock on this host: taken over.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    crate::lock::hold_lock(&stack, &provisioner::lock::hostname(), pid);
    harness.ok(&changed, &stack, &["up", "--yes"], 0);

    harness.ok(&changed, &stack, &["down", "--yes"], 0);
    harness.ok(&changed, &stack, &["down", "--yes", "--delete-data"], 0);

    harness.assert_clean();
    legacy_role(&legacy, &stack, false);

    // Every statement is needed: without it, some request of the lifecycle is refused.
    let seen = harness.seen.lock().unwrap().clone();
    for (document, policy) in [("apply", &apply), ("plan", &plan)] {
        for (index, statement) in policy.statements.iter().enumerate() {
            let without = policy.without(index);
            let needs = seen.iter().find(|r| policy.allows(r) && !without.allows(r));
            assert!(
                needs.is_some(),
                "{document} statement {index} allows nothing the lifecycle asks for: {statement:#}"
            );
        }
    }
}

/// A statement missing from the deploy identity's policy (the functions'): the run fails at the
/// first call that needs it, naming the action and the resource, with the way to the whole policy.
#[test]
fn a_missing_statement_fails_the_run_naming_the_action_and_resource() {
    let stack = support::unique("leastmiss");
    let file = support::write_stack(&[]);
    let documents = documents(&file, &stack, &[]);
    let apply = Policy::from_document(&documents["apply"]);
    let lambda = apply
        .statements
        .iter()
        .position(|s| s["Action"].to_string().contains("lambda:CreateFunction"))
        .expect("a statement grants lambda:CreateFunction");
    let harness = Harness::start(apply.without(lambda));
    let failed = harness.ok(&file, &stack, &["up", "--yes"], 1);
    assert!(
        failed.stderr.contains(&format!(
            "not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:{stack}-"
        )) && failed.stderr.contains("hint: AWS refused the identity running provisioner")
            && !failed.stderr.contains("unhandled error")
            && !failed.stderr.contains("Error {"),
        "{}",
        failed.stderr
    );
    // With the whole policy, the next run finishes the job, and `down` cleans up.
    harness.hold(apply);
    harness.ok(&file, &stack, &["up", "--yes"], 0);
    harness.ok(&file, &stack, &["down", "--yes", "--delete-data"], 0);
}

/// Makes (or deletes) a role named as roles were before they were per region, with `stack`'s tag,
/// straight on the emulator.
fn legacy_role(name: &str, stack: &str, make: bool) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let iam = aws_sdk_iam::Client::new(&support::sdk_config().await);
        if !make {
            iam.delete_role().role_name(name).send().await.unwrap();
            return;
        }
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let tag = aws_sdk_iam::types::Tag::builder()
            .key("provisioner:stack")
            .value(stack)
            .build()
            .unwrap();
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .tags(tag)
            .send()
            .await
            .unwrap();
    });
}

/// Sets a function's memory behind the tool's back (straight to the emulator).
fn drift_a_function(stack: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&support::sdk_config().await);
        lambda
            .update_function_configuration()
            .function_name(format!("{stack}-sign-up"))
            .memory_size(512)
            .send()
            .await
            .unwrap();
    });
}

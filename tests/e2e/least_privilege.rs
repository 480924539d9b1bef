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
    /// The policy held, and the name of its document (`apply`, `plan`).
    policy: Arc<Mutex<(Policy, String)>>,
    /// Every IAM request of every call, allowed or not, with the document held then.
    seen: Arc<Mutex<Vec<(String, Request)>>>,
    /// The requests refused.
    refused: Arc<Mutex<Vec<Request>>>,
    /// Calls this harness cannot map to IAM requests (forwarded, and a failure of the test).
    unknown: Arc<Mutex<Vec<String>>>,
}

impl Harness {
    pub fn start(policy: Policy, document: &str) -> Harness {
        let env = Env::emulator();
        let policy = Arc::new(Mutex::new((policy, document.to_owned())));
        let seen: Arc<Mutex<Vec<(String, Request)>>> = Arc::default();
        let boundaries: Arc<Mutex<iam::Boundaries>> = Arc::default();
        let refused: Arc<Mutex<Vec<Request>>> = Arc::default();
        let unknown: Arc<Mutex<Vec<String>>> = Arc::default();
        let (held, saw, denied, strange) = (
            policy.clone(),
            seen.clone(),
            refused.clone(),
            unknown.clone(),
        );
        let proxy = FaultProxy::start(move |call| {
            let mut roles = boundaries.lock().unwrap();
            let requests = match iam::requests(call, &env, &roles) {
                Ok(requests) => requests,
                Err(what) => {
                    strange.lock().unwrap().push(what);
                    return None;
                }
            };
            let (policy, document) = held.lock().unwrap().clone();
            saw.lock()
                .unwrap()
                .extend(requests.iter().map(|r| (document.clone(), r.clone())));
            if let Some(refused) = requests.iter().find(|r| !r.soft && !policy.allows(r)) {
                denied.lock().unwrap().push(refused.clone());
                return Some(iam::denial(call, refused, &env));
            }
            iam::note_allowed(call, &env, &mut roles);
            // Allowed, with less in its answer (GetFunction without the tags).
            requests
                .iter()
                .any(|r| r.soft && !policy.allows(r))
                .then_some(crate::faults::Fault::WithoutTags)
        });
        Harness {
            proxy,
            policy,
            seen,
            refused,
            unknown,
        }
    }

    pub fn hold(&self, policy: Policy, document: &str) {
        *self.policy.lock().unwrap() = (policy, document.to_owned());
    }

    /// Nothing was refused, every call was one this harness knows, and some were made.
    pub fn assert_clean(&self) {
        assert_eq!(*self.unknown.lock().unwrap(), Vec::<String>::new());
        assert_eq!(*self.refused.lock().unwrap(), Vec::<Request>::new());
        assert!(
            !self.seen.lock().unwrap().is_empty(),
            "no call reached the harness"
        );
    }

    /// Whether some call held to `document` asked for `action`.
    pub fn saw(&self, document: &str, action: &str) -> bool {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .any(|(held, r)| held == document && r.action == action)
    }

    /// Each action `policy` (held as `document`) grants that no request of the calls held to it
    /// used, with its statement's index: what the policy grants beyond what was asked.
    fn unused(&self, policy: &Policy, document: &str) -> Vec<(usize, String)> {
        let seen = self.seen.lock().unwrap();
        iam::grants(policy)
            .into_iter()
            .filter(|(_, _, grant)| {
                !seen
                    .iter()
                    .any(|(held, r)| held == document && iam::statement_allows(grant, r))
            })
            .map(|(index, action, _)| (index, action))
            .collect()
    }

    /// The statements of `policy` (held as `document`) without which no request of the calls
    /// held to it would have been refused: those another statement makes redundant.
    fn redundant(&self, policy: &Policy, document: &str) -> Vec<usize> {
        let seen = self.seen.lock().unwrap();
        (0..policy.statements.len())
            .filter(|index| {
                let without = policy.without(*index);
                !seen
                    .iter()
                    .any(|(held, r)| held == document && policy.allows(r) && !without.allows(r))
            })
            .collect()
    }

    /// `provisioner <args> --file <file> --stack <stack>` with every call through the proxy.
    fn run(&self, file: &std::path::Path, stack: &str, args: &[&str]) -> Ran {
        crate::faults::through(&self.proxy, file, stack, args)
    }

    pub fn ok(&self, file: &std::path::Path, stack: &str, args: &[&str], code: i32) -> Ran {
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
/// log group's retention, a function's settings and code (another crate), a route of the API and
/// its permission.
const CHANGE_EVERYTHING: &[(&str, &str)] = &[
    ("    selfSignUp: true\n", "    selfSignUp: false\n"),
    // A group and a trigger (its permission for Cognito), made and, going back, cleared.
    (
        "    removal: retain\n",
        "    removal: retain\n    groups: [members]\n    triggers: { preSignUp: sign-up }\n",
    ),
    (
        "        readAttributes: [email, email_verified]\n",
        "        readAttributes: [email]\n",
    ),
    (
        "    crate: handlers/secret\n",
        "    crate: handlers/confirm\n    memory: 256\n    logRetentionDays: 30\n    allow:\n      - { actions: [cognito-idp:AdminGetUser], resources: \"${userPools.users.arn}\" }\n",
    ),
    (
        "    GET /secret: { function: secret, authorizer: cognito }\n",
        "    GET /secret: { function: secret, authorizer: cognito }\n    GET /me/secret: { function: secret, authorizer: cognito }\n",
    ),
];

/// What the lifecycle does not ask for, with why: these grants may go unused. (Document, action,
/// the end of the statement's resource, why.)
const NOT_EXERCISED: &[(&str, &str, &str, &str)] = &[
    (
        "apply",
        "cognito-idp:TagResource",
        "userpool/*",
        "`adopt` of a user pool tags it; moto has no Cognito TagResource (its adopt goes through UpdateUserPool)",
    ),
    (
        "apply",
        "logs:TagResource",
        ":*",
        "granted on both forms of the lock's groups: which one CloudWatch Logs evaluates for a create with tags is undocumented (this harness asks for the group's ARN)",
    ),
    (
        "apply",
        "iam:UntagRole",
        "*",
        "a tag removed from `tags:`: the lifecycle's stack has an API, which the emulator cannot tag, so it changes no tags; `tags::tags_change_in_place_under_the_generated_policy` removes one",
    ),
    ("apply", "lambda:UntagResource", "*", "as iam:UntagRole"),
    ("apply", "logs:UntagResource", "*", "as iam:UntagRole"),
    (
        "apply",
        "cognito-idp:UntagResource",
        "*",
        "a tag UpdateUserPool kept although it was not sent (the emulator's UpdateUserPool sets the tags it is sent); replayed in the pool's unit tests",
    ),
    (
        "apply",
        "apigateway:DELETE",
        "%2Frestapis%2F*",
        "the emulator cannot tag a REST API (TagResource and UntagResource answer 404); replayed in the API's unit tests",
    ),
    (
        "apply",
        "apigateway:PUT",
        "%2Frestapis%2F*",
        "the statement for `tags:` changes (no ownership key): as apigateway:DELETE; the creates' statement (the ownership tag in the request) is exercised",
    ),
    (
        "apply",
        "logs:ListTagsForResource",
        ".takeover",
        "a takeover marker is read only when two runs take over one stale lock at once, or a marker was left behind",
    ),
];

/// Cold `up`, a no-op, a change of every kind and back, drift repaired (a function's settings,
/// a role's trust), `diff` as the read-only identity, a lock held elsewhere refused and
/// `unlock`ed, a dead holder's lock taken over, `down` and `down --delete-data`: all as the
/// generated policies allow; and every action each document grants was asked for by a call
/// made under it (but those in [`NOT_EXERCISED`]).
#[test]
fn the_lifecycle_runs_under_exactly_the_generated_policy_and_needs_every_action() {
    let stack = support::unique("leastpriv");
    let file = support::write_stack(&[]);
    let changed = support::write_stack(CHANGE_EVERYTHING);
    let documents = documents(&file, &stack, &[]);
    let (plan, apply) = (
        Policy::from_document(&documents["plan"]),
        Policy::from_document(&documents["apply"]),
    );
    let harness = Harness::start(apply.clone(), "apply");
    // A role of the stack from before roles were per region: read, reported and kept.
    let legacy = format!("{stack}-secret-role");
    legacy_role(&legacy, &stack, true);

    harness.ok(&file, &stack, &["up", "--yes"], 0);
    harness.ok(&file, &stack, &["up", "--yes"], 0);
    harness.ok(&changed, &stack, &["up", "--yes"], 0);
    // The read-only identity reads it all (a role's policy of its own included): no changes.
    harness.hold(plan.clone(), "plan");
    harness.ok(&changed, &stack, &["diff"], 0);
    harness.ok(&changed, &stack, &["logs", "secret"], 0);
    harness.hold(apply.clone(), "apply");
    harness.ok(&changed, &stack, &["logs", "secret"], 0);
    harness.ok(&file, &stack, &["up", "--yes"], 0);

    // Drift, made behind the tool's back, seen by the read-only identity and repaired.
    drift(&stack);
    harness.hold(plan.clone(), "plan");
    harness.ok(&file, &stack, &["diff"], 2);
    // The read-only identity cannot apply: refused at the first write, the lock.
    let refused = harness.ok(&file, &stack, &["up", "--yes"], 1);
    assert!(
        refused.stderr.contains(&format!(
            "not authorized to perform: logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:123456789012:log-group:/provisioner/locks/{stack}:log-stream:"
        )) && refused.stderr.contains("provisioner policy")
            && !refused.stderr.contains("unhandled error")
            && !refused.stderr.contains("Error {"),
        "{}",
        refused.stderr
    );
    harness.refused.lock().unwrap().clear();
    harness.hold(apply.clone(), "apply");
    harness.ok(&file, &stack, &["up", "--yes"], 0);

    // A lock held elsewhere: refused, then removed by `unlock`.
    crate::lock::hold_lock(&stack, "build-agent-7", 4242);
    harness.ok(&changed, &stack, &["up", "--yes"], 1);
    harness.ok(
        &changed,
        &stack,
        &["unlock", &crate::lock::lock_id("build-agent-7", 4242)],
        0,
    );
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
    for (document, policy) in [("apply", &apply), ("plan", &plan)] {
        let unused: Vec<(usize, String)> = harness
            .unused(policy, document)
            .into_iter()
            .filter(|(index, action)| {
                let resource = policy.statements[*index]["Resource"]
                    .as_str()
                    .unwrap_or_default();
                !NOT_EXERCISED
                    .iter()
                    .any(|(d, a, end, _)| *d == document && a == action && resource.ends_with(end))
            })
            .collect();
        assert_eq!(
            unused,
            Vec::<(usize, String)>::new(),
            "{document}: granted, never asked for (statement index, action)"
        );
        // Each statement is needed on its own: without it, some call of the lifecycle would
        // have been refused (but those whose every action is not exercised).
        let redundant: Vec<&serde_json::Value> = harness
            .redundant(policy, document)
            .into_iter()
            .map(|index| &policy.statements[index])
            .filter(|statement| {
                let resource = statement["Resource"].as_str().unwrap_or_default();
                !statement["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|action| {
                        NOT_EXERCISED.iter().any(|(d, a, end, _)| {
                            *d == document && action == a && resource.ends_with(end)
                        })
                    })
            })
            .collect();
        assert!(
            redundant.is_empty(),
            "{document}: statements no call needed on their own: {redundant:#?}"
        );
    }
}

/// With `permissionsBoundary:`, the documents allow making or changing a role only with that
/// boundary on it: a cold `up`, a change of the roles' policies together with a new boundary,
/// and `down` run under them, IAM's `iam:PermissionsBoundary` evaluated against the boundary
/// each role has.
#[test]
fn a_bounded_stack_runs_under_its_bounded_policy() {
    let stack = support::unique("leastbound");
    let bounded = |policy: &str, edits: &[(&str, &str)]| {
        let line =
            format!("stack: auth-demo\npermissionsBoundary: arn:aws:iam::aws:policy/{policy}\n");
        let mut edits = edits.to_vec();
        edits.push(("stack: auth-demo\n", line.as_str()));
        support::write_stack(&edits)
    };
    let power = bounded("PowerUserAccess", &[]);
    let read_only = bounded("ReadOnlyAccess", CHANGE_EVERYTHING);
    let policy_of =
        |file: &std::path::Path| Policy::from_document(&documents(file, &stack, &[])["apply"]);
    // An identity that may not read the boundary (its policy made before the tool read it) still
    // plans, and each role says the boundary was not checked.
    let unread = {
        let policy = policy_of(&power);
        let reads = policy
            .statements
            .iter()
            .position(|s| s["Action"].to_string().contains("iam:GetPolicyVersion"))
            .expect("a statement grants reading the boundary");
        policy.without(reads)
    };
    let harness = Harness::start(unread, "apply");
    let planned = harness.ok(&power, &stack, &["diff"], 2);
    assert!(
        planned.stdout.contains(
            "permissionsBoundary `arn:aws:iam::aws:policy/PowerUserAccess` not checked: this identity may not read it"
        ),
        "{}\n{}",
        planned.stdout,
        planned.stderr
    );
    harness.refused.lock().unwrap().clear();
    harness.hold(policy_of(&power), "apply");
    harness.ok(&power, &stack, &["up", "--yes"], 0);
    // The new boundary's policy: the boundary is put before the roles' policies change.
    harness.hold(policy_of(&read_only), "apply");
    harness.ok(&read_only, &stack, &["up", "--yes"], 0);
    harness.ok(&read_only, &stack, &["diff"], 0);
    harness.ok(&read_only, &stack, &["down", "--yes", "--delete-data"], 0);
    harness.assert_clean();
    assert!(harness.saw("apply", "iam:PutRolePermissionsBoundary"));
    // The boundary is read (that it exists, what it allows) before any role is planned.
    assert!(harness.saw("apply", "iam:GetPolicyVersion"));
    assert!(harness.saw("apply", "iam:PutRolePolicy"));
}

/// `tags:` added, changed and removed in place on every taggable resource under the generated
/// policy (a stack without an API: the emulator cannot tag one after it is made): the tagging
/// and untagging actions the documents grant are the ones the calls need.
#[test]
fn tags_change_in_place_under_the_generated_policy() {
    let stack = support::unique("leasttags");
    let first = crate::reconcile::tags::tagged_stack("  team: identity\n  cost-center: \"42\"\n");
    let second = crate::reconcile::tags::tagged_stack("  team: platform\n");
    let policy_of =
        |file: &std::path::Path| Policy::from_document(&documents(file, &stack, &[])["apply"]);
    let harness = Harness::start(policy_of(&first), "apply");
    harness.ok(&first, &stack, &["up", "--yes"], 0);
    harness.hold(policy_of(&second), "apply");
    harness.ok(&second, &stack, &["up", "--yes"], 0);
    harness.ok(&second, &stack, &["down", "--yes", "--delete-data"], 0);
    harness.assert_clean();
    for action in [
        "iam:TagRole",
        "iam:UntagRole",
        "lambda:TagResource",
        "lambda:UntagResource",
        "logs:TagResource",
        "logs:UntagResource",
        "cognito-idp:UpdateUserPool",
    ] {
        assert!(harness.saw("apply", action), "{action} was not asked for");
    }
}

/// With `tags:`, the stack's resources are made only with every one of them in the request (and
/// the ownership tag): a create without a tag, or with another value, is refused, so the deploy
/// identity cannot make what an organization's tag rules would refuse.
#[test]
fn a_tagged_stacks_creates_need_its_tags() {
    let stack = support::unique("leastcreate");
    let file = crate::reconcile::tags::tagged_stack("  team: identity\n  cost-center: \"42\"\n");
    let apply = Policy::from_document(&documents(&file, &stack, &[])["apply"]);
    let creates = [
        (
            "iam:CreateRole",
            format!("arn:aws:iam::123456789012:role/use1-{stack}-x"),
        ),
        (
            "lambda:CreateFunction",
            format!("arn:aws:lambda:us-east-1:123456789012:function:{stack}-x"),
        ),
        (
            "logs:CreateLogGroup",
            format!(
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{stack}-x:log-stream:"
            ),
        ),
        ("cognito-idp:CreateUserPool", "*".to_owned()),
        (
            "apigateway:POST",
            "arn:aws:apigateway:us-east-1::/restapis".to_owned(),
        ),
    ];
    let owner = ("aws:RequestTag/provisioner:stack", stack.as_str());
    let team = ("aws:RequestTag/team", "identity");
    let cost = ("aws:RequestTag/cost-center", "42");
    for (action, resource) in &creates {
        let request = |tags: &[(&str, &str)]| Request::asking(action, resource, tags);
        assert!(
            apply.allows(&request(&[owner, team, cost])),
            "{action} with every tag"
        );
        assert!(
            !apply.allows(&request(&[owner, team])),
            "{action} without cost-center"
        );
        assert!(
            !apply.allows(&request(&[owner, ("aws:RequestTag/team", "other"), cost])),
            "{action} with another team"
        );
        assert!(
            !apply.allows(&request(&[team, cost])),
            "{action} without the ownership tag"
        );
    }
}

/// The documents reach only the stack's own user pools: another pool's app clients (their
/// secrets) cannot be read by the plan identity, nor that pool changed or deleted by the apply
/// identity; a pool is made, and taken over, only with the stack's tag in the request.
#[test]
fn other_pools_and_apis_are_out_of_reach() {
    let stack = support::unique("leastpools");
    let file = support::write_stack(&[]);
    let documents = documents(&file, &stack, &[]);
    let (plan, apply) = (
        Policy::from_document(&documents["plan"]),
        Policy::from_document(&documents["apply"]),
    );
    let pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_other";
    let request = |action: &str, tags: &[(&str, &str)]| Request::asking(action, pool, tags);
    let ours = [("aws:ResourceTag/provisioner:stack", stack.as_str())];
    let theirs = [("aws:ResourceTag/provisioner:stack", "someone-else")];
    assert!(plan.allows(&request("cognito-idp:DescribeUserPoolClient", &ours)));
    for (policy, action) in [
        (&plan, "cognito-idp:DescribeUserPoolClient"),
        (&plan, "cognito-idp:ListUserPoolClients"),
        (&apply, "cognito-idp:DescribeUserPoolClient"),
        (&apply, "cognito-idp:UpdateUserPool"),
        (&apply, "cognito-idp:DeleteUserPool"),
        (&apply, "cognito-idp:DeleteUserPoolClient"),
    ] {
        assert!(
            !policy.allows(&request(action, &theirs)),
            "{action} on another stack's pool"
        );
        assert!(
            !policy.allows(&request(action, &[])),
            "{action} on an untagged pool"
        );
    }
    // A same-named pool is read to tell whose it is; only an untagged pool is tagged, and only
    // as the stack's (`adopt`): another stack's pool cannot be claimed.
    assert!(plan.allows(&request("cognito-idp:DescribeUserPool", &[])));
    let claim = ("aws:RequestTag/provisioner:stack", stack.as_str());
    assert!(!apply.allows(&request("cognito-idp:TagResource", &[])));
    assert!(apply.allows(&request("cognito-idp:TagResource", &[claim])));
    assert!(!apply.allows(&request("cognito-idp:TagResource", &[claim, theirs[0]])));

    // Another REST API of the account, or any part of it, is out of reach (API Gateway checks the
    // API's tags on its parts); a `tags:` change can neither give it the stack's ownership nor
    // take another stack's away. But the ownership tag a create sends is allowed on any API's
    // `/tags/...` (that resource carries no tags, and a create's is not told apart from `adopt`'s):
    // this identity can claim another API (README says so).
    let api = |path: &str, method: &str, tags: &[(&str, &str)]| {
        Request::asking(
            &format!("apigateway:{method}"),
            &format!("arn:aws:apigateway:us-east-1::{path}"),
            tags,
        )
    };
    let part = "/restapis/a1b2c3/resources/r1/methods/GET";
    assert!(plan.allows(&api(part, "GET", &ours)));
    assert!(apply.allows(&api(part, "PUT", &ours)));
    for method in ["GET", "PUT", "PATCH", "POST", "DELETE"] {
        for policy in [&plan, &apply] {
            assert!(
                !policy.allows(&api(part, method, &theirs)),
                "{method} {part}"
            );
            assert!(
                !policy.allows(&api("/restapis/a1b2c3", method, &[])),
                "{method}"
            );
        }
    }
    let tags = "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Fa1b2c3";
    fn keys(keys: &str) -> (&'static str, &str) {
        ("aws:TagKeys", keys)
    }
    assert!(apply.allows(&api(tags, "PUT", &[keys("team\ncost-center")])));
    assert!(!apply.allows(&api(tags, "PUT", &[keys("team\nprovisioner:stack")])));
    assert!(!apply.allows(&api(tags, "DELETE", &[keys("provisioner:stack")])));
    assert!(!apply.allows(&api(tags, "DELETE", &[])), "keys unknown");
    assert!(
        apply.allows(&api(tags, "PUT", &[claim, keys("provisioner:stack")])),
        "the claim the README owns up to"
    );
    let domain = "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fdomainnames%2Fapi.example.com";
    assert!(
        !apply.allows(&api(domain, "PUT", &[keys("team")])),
        "another kind's tags"
    );
    assert!(
        !apply.allows(&api("/restapis", "POST", &[])),
        "an API made without the stack's tag"
    );
    assert!(apply.allows(&api("/restapis", "POST", &[claim])));

    // A pool of the stack's name without its tag: the plan identity reads enough to say so (its
    // app clients' listing, refused, is not needed), and refuses as the tool does.
    let cognito = tokio::runtime::Runtime::new().unwrap().block_on(async {
        aws_sdk_cognitoidentityprovider::Client::new(&support::sdk_config().await)
    });
    let id = tokio::runtime::Runtime::new().unwrap().block_on(async {
        cognito
            .create_user_pool()
            .pool_name(format!("{stack}-users"))
            .send()
            .await
            .unwrap()
            .user_pool
            .unwrap()
            .id
            .unwrap()
    });
    let harness = Harness::start(plan.clone(), "plan");
    let diffed = harness.ok(&file, &stack, &["diff"], 1);
    assert!(
        diffed.stderr.contains("provisioner adopt") && !diffed.stderr.contains("AccessDenied"),
        "{}",
        diffed.stderr
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        cognito
            .delete_user_pool()
            .user_pool_id(id)
            .send()
            .await
            .unwrap();
    });
}

/// A statement missing from the deploy identity's policy (the functions'): the run fails at the
/// first call that needs it, naming the action and the resource, with the way to the whole policy.
#[test]
fn a_missing_statement_fails_the_run_naming_the_action_and_resource() {
    // One statement of each service (each protocol's AccessDenied), and both of CloudWatch Logs'
    // creates (a function's group, the lock's): the action whose refusal stops the run, the
    // statement's resource, and the resource AWS names in its refusal.
    type Resources = fn(&str) -> (String, String);
    let cases: &[(&str, Resources)] = &[
        ("lambda:CreateFunction", |stack| {
            let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{stack}-");
            (format!("{arn}*"), arn)
        }),
        ("iam:CreateRole", |stack| {
            let arn = format!("arn:aws:iam::123456789012:role/use1-{stack}-");
            (format!("{arn}*"), arn)
        }),
        ("cognito-idp:CreateUserPool", |_| {
            ("*".to_owned(), "*".to_owned())
        }),
        ("apigateway:POST", |_| {
            let arn = "arn:aws:apigateway:us-east-1::/restapis".to_owned();
            (arn.clone(), arn)
        }),
        ("logs:CreateLogGroup", |stack| {
            let groups =
                format!("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{stack}-");
            (format!("{groups}*"), groups)
        }),
        ("logs:CreateLogGroup", |stack| {
            let group =
                format!("arn:aws:logs:us-east-1:123456789012:log-group:/provisioner/locks/{stack}");
            (format!("{group}:*"), format!("{group}:log-stream:"))
        }),
    ];
    let file = support::write_stack(&[]);
    for (action, resources) in cases {
        let stack = support::unique("leastmiss");
        let (granted_on, refused_on) = resources(&stack);
        let apply = Policy::from_document(&documents(&file, &stack, &[])["apply"]);
        let index = apply
            .statements
            .iter()
            .position(|s| {
                s["Action"].to_string().contains(&format!("\"{action}\""))
                    && s["Resource"] == granted_on.as_str()
            })
            .unwrap_or_else(|| panic!("a statement grants {action} on {granted_on}"));
        let harness = Harness::start(apply.without(index), "apply");
        let failed = harness.ok(&file, &stack, &["up", "--yes"], 1);
        assert!(
            failed.stderr.contains(&format!(
                "not authorized to perform: {action} on resource: {refused_on}"
            )) && failed
                .stderr
                .contains("hint: AWS refused the identity running provisioner")
                && !failed.stderr.contains("unhandled error")
                && !failed.stderr.contains("Error {"),
            "{action}: {}",
            failed.stderr
        );
        // With the whole policy, the next run finishes the job, and `down` cleans up.
        harness.hold(apply, "apply");
        harness.ok(&file, &stack, &["up", "--yes"], 0);
        harness.ok(&file, &stack, &["down", "--yes", "--delete-data"], 0);
    }
}

/// Makes (or deletes) a role named as roles were before they were per region, with `stack`'s tag,
/// straight on the emulator.
fn legacy_role(name: &str, stack: &str, make: bool) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let iam = aws_sdk_iam::Client::new(&support::sdk_config().await);
        if !make {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name("old")
                .send()
                .await
                .unwrap();
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
        // With a policy of its own, which each run reads (and reports).
        let logs = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "logs:PutLogEvents", "Resource": "*"}]});
        iam.put_role_policy()
            .role_name(name)
            .policy_name("old")
            .policy_document(logs.to_string())
            .send()
            .await
            .unwrap();
    });
}

/// Sets a function's memory and a role's trust behind the tool's back (straight to the
/// emulator).
fn drift(stack: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let config = support::sdk_config().await;
        aws_sdk_lambda::Client::new(&config)
            .update_function_configuration()
            .function_name(format!("{stack}-sign-up"))
            .memory_size(512)
            .send()
            .await
            .unwrap();
        let anyone = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        aws_sdk_iam::Client::new(&config)
            .update_assume_role_policy()
            .role_name(support::role_name(stack, "sign-up"))
            .policy_document(anyone.to_string())
            .send()
            .await
            .unwrap();
    });
}

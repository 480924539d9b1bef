//! `provisioner validate`: one case per rule, each a small edit of the repository's stack.yaml,
//! with the exact message expected. None of them may reach AWS.

use std::io::ErrorKind;
use std::net::TcpListener;

use crate::support;

/// Writes `text` as a stack file inside the workspace and runs `validate` on it with AWS pointed at
/// a listener that must never be called.
fn validate(text: &str, aws: &TcpListener) -> support::Ran {
    validate_bytes(text.as_bytes(), aws)
}

fn validate_with(text: &str, aws: &TcpListener, args: &[&str]) -> support::Ran {
    validate_bytes_with(text.as_bytes(), aws, args)
}

/// The repository's stack.yaml, with crate paths that work from `target/e2e-stacks/<case>/`.
fn base() -> String {
    std::fs::read_to_string(support::repo_root().join("stack.yaml"))
        .unwrap()
        .replace("crate: handlers/", "crate: ../../../handlers/")
}

/// `base()` with each `(from, to)` replaced once (and each must be there to replace).
fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = base();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "stack.yaml no longer contains {from:?}: update this test"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

/// `base()` with an `allow` statement for sign-up (at lines 32-34): `actions: [action]`,
/// `resources: resource`.
fn with_allow(action: &str, resource: &str) -> String {
    let env = "      USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}\n";
    edited(&[(
        env,
        &format!("{env}    allow:\n      - actions: [{action}]\n        resources: {resource}\n"),
    )])
}

fn no_aws_calls(aws: &TcpListener) {
    aws.set_nonblocking(true).unwrap();
    match aws.accept() {
        Err(err) if err.kind() == ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("validate connected to AWS (from {peer})"),
        Err(err) => panic!("listener failed: {err}"),
    }
}

#[test]
fn the_repository_stack_is_valid_and_validate_says_so() {
    let aws = TcpListener::bind("127.0.0.1:0").unwrap();
    let ran = validate(&base(), &aws);
    assert_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (
            Some(0),
            "`{file}` is valid: stack `auth-demo` (1 user pool, 9 functions, 9 routes)\n",
            ""
        ),
        "{}",
        ran.stdout
    );
    no_aws_calls(&aws);
}

/// `validate --json` on a broken file: every diagnostic with its position, severity and code, and
/// the warnings beside the errors' file.
#[test]
fn validate_json_gives_each_diagnostic_with_its_position_and_code() {
    let aws = TcpListener::bind("127.0.0.1:0").unwrap();
    let broken = edited(&[
        ("    selfSignUp: true\n", "    selfSignup: true\n"),
        (
            "    crate: ../../../handlers/secret\n",
            "    crate: ../../../handlers/secret\n    memroy: 64\n",
        ),
    ]);
    let ran = validate_with(&broken, &aws, &["--json"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2, "{report:#}");
    assert_eq!(
        (
            &diagnostics[0]["code"],
            &diagnostics[0]["severity"],
            &diagnostics[0]["field"],
            &diagnostics[0]["hint"]
        ),
        (
            &serde_json::json!("unknownField"),
            &serde_json::json!("error"),
            &serde_json::json!("userPools.users"),
            &serde_json::json!("did you mean `selfSignUp`?")
        )
    );
    assert!(diagnostics[0]["line"].as_u64().unwrap() < diagnostics[1]["line"].as_u64().unwrap());
    assert!(
        diagnostics[1]["message"]
            .as_str()
            .unwrap()
            .contains("memroy")
    );

    let warned = validate_with(
        &with_allow("cognito-idp:SignUp", "${userPools.users.arn}"),
        &aws,
        &["--json"],
    );
    assert_eq!(warned.code, Some(0), "{}", warned.stderr);
    let report: serde_json::Value = serde_json::from_str(&warned.stdout).unwrap();
    assert_eq!(
        (
            &report["valid"],
            &report["diagnostics"][0]["severity"],
            &report["diagnostics"][0]["code"]
        ),
        (
            &serde_json::json!(true),
            &serde_json::json!("warning"),
            &serde_json::json!("warning")
        )
    );
    no_aws_calls(&aws);
}

/// The tutorial's statements for sign-up: Cognito does not evaluate IAM for SignUp, so the
/// statement grants nothing (a warning, not an error: it is harmless, only misleading).
#[test]
fn a_statement_iam_never_evaluates_is_a_warning() {
    let aws = TcpListener::bind("127.0.0.1:0").unwrap();
    let ran = validate(
        &with_allow(
            "cognito-idp:SignUp, cognito-idp:InitiateAuth",
            "${userPools.users.arn}",
        ),
        &aws,
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(
        ran.stderr,
        "{file}:33:18: warning: `functions.sign-up.allow.0.actions`: grants nothing: Cognito does not evaluate IAM policies for `cognito-idp:SignUp`, `cognito-idp:InitiateAuth`\n  hint: remove the statement; the app client's `authFlows` (and, for token-authorized calls, the user's access token) is what allows these calls\n"
    );
    // One action IAM does evaluate makes the statement real.
    let ran = validate(
        &with_allow(
            "cognito-idp:SignUp, cognito-idp:AdminGetUser",
            "${userPools.users.arn}",
        ),
        &aws,
    );
    assert_eq!((ran.code, ran.stderr.as_str()), (Some(0), ""));
    no_aws_calls(&aws);
}

#[test]
fn a_slow_function_behind_the_api_is_a_warning_not_an_error() {
    let aws = TcpListener::bind("127.0.0.1:0").unwrap();
    let text = edited(&[(
        "    crate: ../../../handlers/secret\n",
        "    crate: ../../../handlers/secret\n    timeout: 60\n",
    )]);
    let ran = validate(&text, &aws);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(
        ran.stderr,
        "{file}:42:14: warning: `functions.secret.timeout`: is 60 s, but API Gateway answers 504 after 29 s\n  hint: a function behind the API gets no more than 29 s per request\n"
    );
    no_aws_calls(&aws);
}

/// A few broken variants through the binary: exit 1, nothing on stdout, exactly this on stderr,
/// no AWS call.
#[test]
fn a_broken_stack_exits_1_with_the_messages_and_calls_nothing() {
    let aws = TcpListener::bind("127.0.0.1:0").unwrap();
    // Every rule has a unit test (`spec::validate::tests`); these few go through the binary.
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "YAML syntax",
            edited(&[("  sign-in:\n", "  sign-in\n")]),
            "error: `{file}` is not a valid stack: 1 error\n{file}:37:10: could not find expected ':', while scanning a simple key\n  hint: check the indentation and the `key: value` syntax here\n",
        ),
        (
            "crate not in workspace",
            edited(&[(
                "crate: ../../../handlers/confirm",
                "crate: ../../../handlers/confrim",
            )]),
            "error: `{file}` is not a valid stack: 1 error\n{file}:33:12: `functions.confirm.crate`: `../../../handlers/confrim` is not a crate of the cargo workspace at `{root}`\n  hint: did you mean `../../../handlers/confirm`?\n",
        ),
        (
            "several errors at once",
            edited(&[(
                "    crate: ../../../handlers/secret\n",
                "    crate: ../../../handlers/secret\n    memory: 0\n    timeout: 0\n",
            )]),
            "error: `{file}` is not a valid stack: 2 errors\n{file}:42:13: `functions.secret.memory`: must be between 128 and 10240 (MB), got 0\n  hint: Lambda gives a function 128 MB to 10240 MB\n{file}:43:14: `functions.secret.timeout`: must be between 1 and 900 (seconds), got 0\n  hint: Lambda runs a function for at most 15 minutes\n",
        ),
    ];
    let mut failures = Vec::new();
    for (rule, text, expected) in &cases {
        let ran = validate(text, &aws);
        if (ran.code, ran.stdout.as_str(), ran.stderr.as_str()) != (Some(1), "", *expected) {
            failures.push(format!(
                "rule `{rule}`: exit {:?}\n--- stdout\n{}--- stderr\n{}--- expected\n{expected}",
                ran.code, ran.stdout, ran.stderr
            ));
        }
    }
    no_aws_calls(&aws);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_missing_stack_file_says_which_and_how_to_point_at_one() {
    let ran =
        support::run(support::provisioner().args(["validate", "--file", "no/such/stack.yaml"]));
    assert_eq!(ran.code, Some(1));
    assert_eq!(
        ran.stderr,
        "error: failed to read `no/such/stack.yaml`: No such file or directory (os error 2)\n\nhint: check the path given to `--file`: `no/such/stack.yaml`\n"
    );
}

/// Runs `validate` on `bytes` (written as is, inside the workspace) with AWS pointed at `aws`, and a
/// deadline: a file that makes the loader hang fails the test instead of hanging the suite.
/// Messages name the file as given and the workspace by its absolute path; stderr has them as
/// `{file}` and `{root}`.
fn validate_bytes(bytes: &[u8], aws: &TcpListener) -> support::Ran {
    validate_bytes_with(bytes, aws, &[])
}

fn validate_bytes_with(bytes: &[u8], aws: &TcpListener, args: &[&str]) -> support::Ran {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let dir = support::repo_root()
        .join("target/e2e-stacks")
        .join(support::unique("validate"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stack.yaml"), bytes).unwrap();
    let file = dir
        .strip_prefix(support::repo_root())
        .unwrap()
        .join("stack.yaml");
    let mut child = support::provisioner()
        .args(["validate", "--file"])
        .arg(&file)
        .args(args)
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://{}", aws.local_addr().unwrap()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Not a speed check (scripts/bench-validate prints the times): a guard against the
    // minutes-long parses hostile files used to cause.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("validate hung on {}", file.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let root = support::repo_root().display().to_string();
    support::Ran {
        code: status.code(),
        stdout: stdout.replace(&file.display().to_string(), "{file}"),
        stderr: stderr
            .replace(&file.display().to_string(), "{file}")
            .replace(&root, "{root}"),
    }
}

/// Hostile or mistaken files: each refused with exit 1, the exact message, no AWS call, and
/// without hanging (each of these used to run for minutes or print megabytes).
#[test]
fn hostile_files_are_refused_naming_the_limit() {
    let aws = TcpListener::bind("127.0.0.1:0").unwrap();
    let hint_dup = "  hint: YAML would silently keep only the second: remove or rename one\n";
    let one = "error: `{file}` is not a valid stack: 1 error\n";
    let chain: String = (0..600)
        .map(|i| {
            format!(
                "  f{i}: {{ crate: x, environment: {{ AB: \"${{functions.f{}.arn}}\" }} }}\n",
                i + 1
            )
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "a second GET /secret without the authorizer",
            edited(&[(
                "    GET /secret: { function: secret, authorizer: cognito }\n",
                "    GET /secret: { function: secret, authorizer: cognito }\n    GET /secret: { function: secret }\n",
            )])
            .into_bytes(),
            format!(
                "{one}{{file}}:78:5: `api.routes.GET /secret`: `GET /secret` is written twice in `api.routes`: at 77:5 and at 78:5\n{hint_dup}"
            ),
        ),
        (
            "two functions with one name",
            edited(&[(
                "  secret:\n",
                "  sign-up:\n    crate: ../../../handlers/secret\n  secret:\n",
            )])
            .into_bytes(),
            format!(
                "{one}{{file}}:40:3: `functions.sign-up`: `sign-up` is written twice in `functions`: at 28:3 and at 40:3\n{hint_dup}"
            ),
        ),
        (
            "two pools with one name",
            edited(&[(
                "functions:\n",
                "  users:\n    selfSignUp: false\nfunctions:\n",
            )])
            .into_bytes(),
            format!(
                "{one}{{file}}:27:3: `userPools.users`: `users` is written twice in `userPools`: at 7:3 and at 27:3\n{hint_dup}"
            ),
        ),
        (
            "a key twice inside one route",
            edited(&[(
                "{ function: sign-up }",
                "{ function: sign-up, function: secret }",
            )])
            .into_bytes(),
            format!(
                "{one}{{file}}:74:41: `api.routes.POST /sign-up.function`: `function` is written twice in `api.routes.POST /sign-up`: at 74:22 and at 74:41\n{hint_dup}"
            ),
        ),
        (
            "200,000 levels of flow nesting",
            format!(
                "stack: x\nfunctions: {}{}\n",
                "[".repeat(200_000),
                "]".repeat(200_000)
            )
            .into_bytes(),
            format!(
                "{one}{{file}}:2:76: the file nests deeper than 64 levels\n  hint: a stack.yaml nests at most 7 levels: check the brackets and the indentation here\n"
            ),
        ),
        (
            "200,000 levels of block nesting",
            format!("stack: x\nfunctions:\n{}\n", "- ".repeat(200_000)).into_bytes(),
            format!(
                "{one}{{file}}:3:127: the file nests deeper than 64 levels\n  hint: a stack.yaml nests at most 7 levels: check the brackets and the indentation here\n"
            ),
        ),
        (
            "600 chained functions",
            format!("stack: x\nfunctions:\n{chain}").into_bytes(),
            format!(
                "{one}{{file}}: the stack declares 600 resources (0 user pools, 0 app clients, 600 functions, 0 authorizers, 0 routes); at most 500 are allowed\n  hint: split it into several stacks (`--stack` names each)\n"
            ),
        ),
        (
            "over 1 MiB",
            format!("stack: x\n# {}\n", "x".repeat(1024 * 1024)).into_bytes(),
            format!(
                "{one}{{file}}: the file is larger than 1048576 bytes (1 MiB), the most a stack file may be\n  hint: a stack.yaml is a few kilobytes: check the path given to `--file`\n"
            ),
        ),
        (
            "not UTF-8",
            b"stack: x\nfunctions:\n  f: { crate: \"x\xff\" }\n".to_vec(),
            format!(
                "{one}{{file}}:3:17: the file is not UTF-8 text (byte 0xff)\n  hint: save stack.yaml as UTF-8\n"
            ),
        ),
        (
            "a description AWS would refuse",
            edited(&[(
                "  secret:\n",
                &format!("  secret:\n    description: {}\n", "d".repeat(300)),
            )])
            .into_bytes(),
            format!(
                "{one}{{file}}:41:18: `functions.secret.description`: is 300 characters; Lambda allows at most 256\n  hint: shorten the description\n"
            ),
        ),
        (
            "a custom attribute the pool does not define",
            edited(&[(
                "readAttributes: [email, email_verified]",
                "readAttributes: [email, custom:x]",
            )])
            .into_bytes(),
            format!(
                "{one}{{file}}:16:33: `userPools.users.clients.web.readAttributes.1`: `custom:x` is not an attribute of user pool `users`\n  hint: stack.yaml declares no custom attributes, so the pool has none; list standard attributes only\n"
            ),
        ),
        (
            "a one-letter environment variable",
            edited(&[(
                "USER_POOL_CLIENT_ID: ${userPools.users.clients.web.id}",
                "X: ${userPools.users.clients.web.id}",
            )])
            .into_bytes(),
            format!(
                "{one}{{file}}:31:7: `functions.sign-up.environment.X`: `X` is not a valid environment variable name\n  hint: use at least two letters, digits and `_`, starting with a letter (Lambda's rule)\n"
            ),
        ),
        (
            "an incomplete ARN",
            with_allow("cognito-idp:AdminGetUser", "arn:aws:cognito-idp").into_bytes(),
            format!(
                "{one}{{file}}:34:20: `functions.sign-up.allow.0.resources`: `arn:aws:cognito-idp` is not a complete ARN\n  hint: ARNs have six parts: `arn:<partition>:<service>:<region>:<account>:<resource>`\n"
            ),
        ),
        (
            "account ids that are not",
            format!("accounts: [12345, \"1234567890123\"]\n{}", base()).into_bytes(),
                "error: `{file}` is not a valid stack: 2 errors\n{file}:1:12: `accounts.0`: `12345` is not an AWS account id\n  hint: an account id is 12 digits; write it in quotes (`\"012345678901\"`): unquoted, YAML reads it as a number and drops a leading zero\n{file}:1:19: `accounts.1`: `1234567890123` is not an AWS account id\n  hint: an account id is 12 digits, as `aws sts get-caller-identity` prints it\n"
                .to_owned(),
        ),
        (
            "an empty account list",
            format!("accounts: []\n{}", base()).into_bytes(),
            format!(
                "{one}{{file}}:1:11: `accounts`: an empty list would allow no account at all\n  hint: list the accounts this stack may be deployed to, or leave `accounts` out to allow any\n"
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (rule, bytes, expected) in &cases {
        let ran = validate_bytes(bytes, &aws);
        if (ran.code, ran.stdout.as_str(), ran.stderr.as_str()) != (Some(1), "", expected.as_str())
        {
            failures.push(format!(
                "rule `{rule}`: exit {:?}\n--- stdout\n{}--- stderr\n{}--- expected\n{expected}",
                ran.code, ran.stdout, ran.stderr
            ));
        }
    }
    no_aws_calls(&aws);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A file with thousands of errors prints the first 50 and a count of the rest.
#[test]
fn at_most_fifty_errors_are_printed() {
    let aws = TcpListener::bind("127.0.0.1:0").unwrap();
    let functions: String = (0..400)
        .map(|i| format!("  f{i}: {{ crate: x, memory: 1, timeout: 0 }}\n"))
        .collect();
    let ran = validate_bytes(
        format!("stack: x\nfunctions:\n{functions}").as_bytes(),
        &aws,
    );
    assert_eq!(ran.code, Some(1));
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines[0], "error: `{file}` is not a valid stack: 800 errors");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("{file}:")).count(),
        50
    );
    assert_eq!(lines.last(), Some(&"and 750 more"));
    no_aws_calls(&aws);
}

/// Syntax and schema errors show outside a cargo workspace and without cargo on the PATH.
#[test]
fn a_broken_file_is_reported_before_the_workspace_is_read() {
    let dir = std::env::temp_dir().join(support::unique("outside"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stack.yaml");
    let cases = [
        (
            "stack: \"x\nfunctions: {}\n",
            "hint: check the indentation and the `key: value` syntax here",
        ),
        ("stack: x\nfunctionz: {}\n", "unknown field `functionz`"),
    ];
    for (text, expected) in cases {
        std::fs::write(&file, text).unwrap();
        let ran = support::run(
            support::provisioner()
                .args(["validate", "--file"])
                .arg(&file)
                .env("PATH", "/nonexistent")
                .env("CARGO", "/nonexistent/cargo"),
        );
        assert_eq!(ran.code, Some(1), "{}", ran.stderr);
        assert!(ran.stderr.contains(expected), "{}", ran.stderr);
        assert!(!ran.stderr.contains("cargo"), "{}", ran.stderr);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The human plan, as people read it, pinned by snapshots (`tests/e2e/snapshots/`): a cold stack,
//! the progress of its `up`, a no-op, drift made behind the tool's back, a change to stack.yaml, a
//! refused replacement and `down`. Ids, names and times the
//! emulator makes up are filtered, so a snapshot changes only when what people see changes.
//! After an intended change: `INSTA_UPDATE=always cargo test -p provisioner --test e2e plan_text`,
//! then review the diff of the `.snap` files.

use crate::support::{self, on_emulator};

/// The emulator's and this run's made-up values, replaced by placeholders.
fn filters(stack: &str) -> Vec<(String, &'static str)> {
    vec![
        (regex_escape(stack), "[stack]"),
        (r"us-east-1_[0-9a-f]{32}".to_owned(), "[pool-id]"),
        (r"-web \([0-9a-z]{26}\)".to_owned(), "-web ([client-id])"),
        (
            r"USER_POOL_CLIENT_ID: [0-9a-z]{26}".to_owned(),
            "USER_POOL_CLIENT_ID: [client-id]",
        ),
        (r"-api \([0-9a-z]{10}\)".to_owned(), "-api ([api-id])"),
        (
            r":123456789012:[0-9a-z]{10}/".to_owned(),
            ":123456789012:[api-id]/",
        ),
        (
            r"deployment: [0-9a-z]{10} ->".to_owned(),
            "deployment: [deployment-id] ->",
        ),
        (r"\(\d+\.\ds\)".to_owned(), "([seconds])"),
        (r"http://127\.0\.0\.1:\d+`".to_owned(), "[emulator]`"),
    ]
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// Asserts `text` against the snapshot `name`, with this run's values filtered.
fn snapshot(name: &str, stack: &str, text: &str) {
    let filters = filters(stack);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    for (pattern, replacement) in &filters {
        settings.add_filter(pattern, *replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// The plan part of `up`/`down`'s stderr: from the `Stack` header to the summary line.
fn plan_of(stderr: &str) -> String {
    let start = stderr.find("Stack `").unwrap_or(0);
    let end = stderr[start..]
        .find("\nPlan: ")
        .and_then(|at| {
            stderr[start + at + 1..]
                .find('\n')
                .map(|nl| start + at + 1 + nl + 1)
        })
        .unwrap_or(stderr.len());
    stderr[start..end].to_owned()
}

/// The progress lines of `up` (one per change applied, in order with `--concurrency 1`); waits,
/// which depend on the machine's load, are left out.
fn progress_of(stderr: &str) -> String {
    let start = stderr.find("\nPlan: ").map_or(0, |at| at + 1);
    stderr[start..]
        .lines()
        .skip(1)
        .filter(|line| !line.trim_start().starts_with("..."))
        .take_while(|line| !line.starts_with("Outputs:"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Drift of every sort behind the tool's back: a function's timeout, a method deleted, a
/// statement added to a role's policy, the logging policy detached, an invoke permission
/// removed, a log group's retention.
async fn drift(stack: &str) {
    let config = support::sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let apigateway = aws_sdk_apigateway::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    lambda
        .update_function_configuration()
        .function_name(format!("{stack}-sign-in"))
        .timeout(3)
        .send()
        .await
        .unwrap();
    let apis = apigateway.get_rest_apis().send().await.unwrap();
    let api_id = apis
        .items()
        .iter()
        .find(|api| api.name() == Some(format!("{stack}-api").as_str()))
        .and_then(|api| api.id())
        .unwrap()
        .to_owned();
    let resources = apigateway
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let secret = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/secret"))
        .and_then(|r| r.id())
        .unwrap();
    apigateway
        .delete_method()
        .rest_api_id(&api_id)
        .resource_id(secret)
        .http_method("GET")
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(support::role_name(stack, "sign-up"))
        .policy_name("provisioner-allow")
        .policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.detach_role_policy()
        .role_name(support::role_name(stack, "confirm"))
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        .send()
        .await
        .unwrap();
    let confirm = format!("{stack}-confirm");
    let policy = lambda
        .get_policy()
        .function_name(&confirm)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    lambda
        .remove_permission()
        .function_name(&confirm)
        .statement_id(policy["Statement"][0]["Sid"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    logs.put_retention_policy()
        .log_group_name(format!("/aws/lambda/{stack}-secret"))
        .retention_in_days(30)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_plan_reads_as_people_review_it() {
    let stack = support::unique("plantext");
    let file = support::write_stack(&[support::SIGN_UP_GRANT]);

    let cold = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(cold.code, Some(2), "{}", cold.stderr);
    snapshot("cold_stack", &stack, &cold.stdout);

    let up = on_emulator(&file, &stack, &["up", "--yes", "--concurrency", "1"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    snapshot("cold_up_progress", &stack, &progress_of(&up.stderr));
    let noop = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(noop.code, Some(0), "{}", noop.stderr);
    snapshot("no_op", &stack, &noop.stdout);

    drift(&stack).await;
    let drifted = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(drifted.code, Some(2), "{}", drifted.stderr);
    snapshot("drift", &stack, &drifted.stdout);
    let repaired = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(repaired.code, Some(0), "{}", repaired.stderr);

    // A timeout, an environment variable and a new route.
    let changed = support::write_stack(&[
        support::SIGN_UP_GRANT,
        (
            "  secret:\n    crate: handlers/secret\n",
            "  secret:\n    crate: handlers/secret\n    timeout: 20\n    environment: { MODE: strict }\n",
        ),
        (
            "    GET /secret:",
            "    GET /whoami: { function: secret, authorizer: cognito }\n    GET /secret:",
        ),
    ]);
    let change = on_emulator(&changed, &stack, &["diff"]);
    assert_eq!(change.code, Some(2), "{}", change.stderr);
    snapshot("timeout_environment_and_route", &stack, &change.stdout);

    // A change Cognito cannot make in place is refused, and says how to accept it.
    let immutable = support::write_stack(&[
        support::SIGN_UP_GRANT,
        (
            "    selfSignUp: true\n",
            "    selfSignUp: true\n    usernameAttributes: [email]\n",
        ),
    ]);
    let refused = on_emulator(&immutable, &stack, &["up", "--yes"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    let refusal = refused
        .stderr
        .find("error: refusing")
        .map(|at| refused.stderr[at..].to_owned())
        .unwrap_or_default();
    snapshot(
        "refused_replacement",
        &stack,
        &format!("{}\n{refusal}", plan_of(&refused.stderr)),
    );

    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    snapshot("down", &stack, &plan_of(&down.stderr));
}

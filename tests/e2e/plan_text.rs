//! The human plan, as people read it, pinned by snapshots (`tests/e2e/snapshots/`): a cold stack,
//! a no-op, a change to stack.yaml, a refused replacement and `down`. Ids, names and times the
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

#[test]
fn the_plan_reads_as_people_review_it() {
    let stack = support::unique("plantext");
    let file = support::write_stack(&[support::SIGN_UP_GRANT]);

    let cold = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(cold.code, Some(2), "{}", cold.stderr);
    snapshot("cold_stack", &stack, &cold.stdout);

    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let noop = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(noop.code, Some(0), "{}", noop.stderr);
    snapshot("no_op", &stack, &noop.stdout);

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

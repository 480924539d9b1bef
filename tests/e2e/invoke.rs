//! `provisioner invoke`: one function's real handler run once on this machine, its environment
//! resolved against the deployed stack: the tutorial's sign-up answers 200 (the user exists in the
//! pool afterwards), a bad request 400 from the handler, an event the runtime cannot take a
//! function error (exit 1).

use crate::support::{self, on_emulator};

#[test]
fn invoke_runs_one_handler_with_an_event_and_exits_1_on_a_function_error() {
    let stack = support::unique("invoke");
    let file = support::write_stack(&[]);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);

    // The tutorial's sign-up, as an API Gateway proxy event on the function's route.
    let username = support::unique("ada");
    let body = serde_json::json!({
        "username": username, "password": "Passw0rd!x", "email": "ada@example.com"
    })
    .to_string();
    let signed_up = on_emulator(&file, &stack, &["invoke", "sign-up", "--body", &body]);
    assert_eq!(signed_up.code, Some(0), "{}", signed_up.stderr);
    let response: serde_json::Value = serde_json::from_str(&signed_up.stdout).unwrap();
    assert_eq!(response["statusCode"], 200, "{response:#}");
    let answer: serde_json::Value =
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["userConfirmed"], false);
    assert!(
        !signed_up.stderr.contains("Passw0rd"),
        "no password in the log"
    );
    // The same user again: the pool said so, through the real handler.
    let again = on_emulator(&file, &stack, &["invoke", "sign-up", "--body", &body]);
    let response: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(response["statusCode"], 409, "{response:#}");

    // A bad request is the handler's 400, not a failure of the function.
    let bad = on_emulator(&file, &stack, &["invoke", "sign-up", "--body", "not json"]);
    assert_eq!(bad.code, Some(0), "{}", bad.stderr);
    let response: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(response["statusCode"], 400, "{response:#}");

    // An event the function cannot take: a function error, exit 1, named.
    let dir = support::temp_dir("events");
    let event = dir.join("empty.json");
    std::fs::write(&event, "{}").unwrap();
    let failed = on_emulator(
        &file,
        &stack,
        &["invoke", "sign-up", "--event", event.to_str().unwrap()],
    );
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("error: function `sign-up` failed")
            && failed.stdout.contains("errorType"),
        "{}{}",
        failed.stdout,
        failed.stderr
    );

    // Not JSON, or no such function: refused before anything is built.
    std::fs::write(&event, "{ nope").unwrap();
    let refused = on_emulator(
        &file,
        &stack,
        &["invoke", "sign-up", "--event", event.to_str().unwrap()],
    );
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("is not JSON") && !refused.stderr.contains("Building"),
        "{}",
        refused.stderr
    );
    let unknown = on_emulator(&file, &stack, &["invoke", "sign-out"]);
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("no function `sign-out`")
            && unknown.stderr.contains("confirm, secret, sign-in, sign-up"),
        "{}",
        unknown.stderr
    );

    // stack.yaml grew a pool and a function that are not deployed yet: invoking a deployed
    // function needs only its own environment's references.
    let grown = support::write_stack(&[
        (
            "functions:\n",
            "functions:\n  audit:\n    crate: handlers/secret\n    environment:\n      POOL_ID: ${userPools.staff.id}\n",
        ),
        (
            "userPools:\n",
            "userPools:\n  staff:\n    selfSignUp: false\n",
        ),
    ]);
    let signed_up = on_emulator(&grown, &stack, &["invoke", "sign-up", "--body", "not json"]);
    assert_eq!(signed_up.code, Some(0), "{}", signed_up.stderr);
    assert!(signed_up.stdout.contains("400"), "{}", signed_up.stdout);
    // The new function's own reference is still named when it is the one invoked.
    let audit = on_emulator(&grown, &stack, &["invoke", "audit"]);
    assert_eq!(audit.code, Some(1), "{}", audit.stderr);
    assert!(
        audit.stderr.contains("userPools.staff.id"),
        "{}",
        audit.stderr
    );

    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

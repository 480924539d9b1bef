//! Saved plans: `diff --out` then `up --plan` applies exactly the plan saved, and refuses with
//! nothing written once stack.yaml, the code or live AWS changed since (as `terraform apply
//! PLANFILE`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::faults::FaultProxy;
use crate::support::{self, on_emulator};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_saved_plan_applies_exactly_and_is_refused_once_anything_changed() {
    let stack = support::unique("planfile");
    let file = support::write_stack(&[]);
    let dir = support::temp_dir("plans");
    let cold = dir.join("cold.json");

    // Saved, then applied without a terminal and without --yes: the saved plan was the review.
    let diff = on_emulator(&file, &stack, &["diff", "--out", cold.to_str().unwrap()]);
    assert_eq!(diff.code, Some(2), "{}", diff.stderr);
    let saved = read_json(&cold);
    assert_eq!(saved["format"], "provisioner-plan/1");
    assert_eq!(saved["stack"], stack.as_str());
    assert_eq!(
        saved["code"].as_object().unwrap().len(),
        support::repo_stack(&stack).functions.len()
    );
    let up = on_emulator(
        &file,
        &stack,
        &["up", "--plan", cold.to_str().unwrap(), "--json"],
    );
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let report: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    assert_eq!(
        report["changes"].as_array().unwrap().len() as u64,
        saved["plan"]["summary"]["create"].as_u64().unwrap(),
        "exactly the saved plan"
    );
    assert_eq!(on_emulator(&file, &stack, &["diff"]).code, Some(0));

    // A plan applied once is stale: live AWS now differs from what it was computed from.
    let again = on_emulator(&file, &stack, &["up", "--plan", cold.to_str().unwrap()]);
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("live AWS changed since the plan was saved"),
        "{}",
        again.stderr
    );

    // A change saved; then someone changes another function by hand: refused, nothing written.
    let longer = support::write_stack(&[(
        "  secret:\n    crate: handlers/secret\n",
        "  secret:\n    crate: handlers/secret\n    timeout: 20\n",
    )]);
    let change = dir.join("change.json");
    let diff = on_emulator(
        &longer,
        &stack,
        &["diff", "--out", change.to_str().unwrap()],
    );
    assert_eq!(diff.code, Some(2), "{}", diff.stderr);
    let config = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(support::sdk_config());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        aws_sdk_lambda::Client::new(&config)
            .update_function_configuration()
            .function_name(format!("{stack}-sign-in"))
            .timeout(3)
            .send()
            .await
            .unwrap();
    });
    let writes = Arc::new(AtomicUsize::new(0));
    let counted = writes.clone();
    let proxy = FaultProxy::start(move |call| {
        if !call.reads() {
            counted.fetch_add(1, Ordering::Relaxed);
        }
        None
    });
    let refused = support::run(
        support::provisioner()
            .args(["up", "--plan", change.to_str().unwrap(), "--file"])
            .arg(&longer)
            .args(["--stack", &stack])
            .env("AWS_ENDPOINT_URL", &proxy.url),
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("live AWS changed since the plan was saved: functions.sign-in")
            && refused.stderr.contains("nothing was changed")
            && refused.stderr.contains("diff --out"),
        "{}",
        refused.stderr
    );
    assert_eq!(writes.load(Ordering::Relaxed), 0, "refused with no write");
    drop(proxy);

    // stack.yaml edited after the plan was saved.
    let edited = support::write_stack(&[(
        "  secret:\n    crate: handlers/secret\n",
        "  secret:\n    crate: handlers/secret\n    timeout: 25\n",
    )]);
    let fresh = dir.join("fresh.json");
    assert_eq!(
        on_emulator(&longer, &stack, &["diff", "--out", fresh.to_str().unwrap()]).code,
        Some(2)
    );
    let refused = on_emulator(&edited, &stack, &["up", "--plan", fresh.to_str().unwrap()]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("stack.yaml changed since the plan was saved"),
        "{}",
        refused.stderr
    );

    // Code built differently from the saved plan's (here: the saved hash altered).
    let mut tampered = read_json(&fresh);
    tampered["code"]["secret"] = serde_json::json!("0".repeat(44));
    std::fs::write(&fresh, tampered.to_string()).unwrap();
    let refused = on_emulator(&longer, &stack, &["up", "--plan", fresh.to_str().unwrap()]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the code of secret changed"),
        "{}",
        refused.stderr
    );

    // Not a plan file at all: refused before anything is built or called.
    std::fs::write(&fresh, "{}").unwrap();
    let refused = on_emulator(&longer, &stack, &["up", "--plan", fresh.to_str().unwrap()]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("format `(none)`") && !refused.stderr.contains("Building"),
        "{}",
        refused.stderr
    );

    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

//! On a terminal `up` asks first; a change behind its back while it asked is refused; a call that
//! fails mid-run ends with a summary; a re-run finishes.

use super::*;

/// `provisioner up` on a terminal (a pseudo-terminal from util-linux `script`): waits for the
/// question, calls `before_answer`, answers, and returns the exit code and everything printed.
fn up_on_a_terminal(
    file: &Path,
    stack: &str,
    endpoint: &str,
    answer: &str,
    before_answer: impl FnOnce(),
) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    let command = format!(
        "{} up --file {} --stack {}",
        env!("CARGO_BIN_EXE_provisioner"),
        file.display(),
        stack
    );
    let mut child = support::provisioner_command("script")
        .args(["-qec", &command, "/dev/null"])
        .env("AWS_ENDPOINT_URL", endpoint)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    let mut stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !String::from_utf8_lossy(&seen).contains("Only `yes` is accepted") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match receiver.recv_timeout(left) {
            Ok(bytes) => seen.extend(bytes),
            Err(_) => {
                let _ = child.kill();
                panic!("no question was asked:\n{}", String::from_utf8_lossy(&seen));
            }
        }
    }
    before_answer();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    while let Ok(bytes) = receiver.try_recv() {
        seen.extend(bytes);
    }
    (status.code(), String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test]
async fn on_a_terminal_up_asks_first_refuses_a_changed_plan_and_a_failed_call_ends_with_a_summary()
{
    let aws = aws().await;
    let stack = support::unique("tty");
    let file = support::write_stack(&[]);
    up(&file, &stack, &[]);

    // A new function and a removed route: a plan that deletes something, so `up` asks.
    let changed_file = support::write_stack(&[
        (
            "  secret:\n    crate: handlers/secret\n",
            "  secret:\n    crate: handlers/secret\n  extra:\n    crate: handlers/secret\n",
        ),
        ("    POST /confirm: { function: confirm }\n", ""),
    ]);
    let (code, said) = up_on_a_terminal(&changed_file, &stack, support::emulator(), "no", || {});
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("nothing was changed: the answer was not `yes`"),
        "{said}"
    );
    diff(&changed_file, &stack, 2);

    // Someone creates the function between the plan and the answer: under the lock the run reads
    // live AWS again, and what it would apply is no longer the plan shown: refused, nothing done.
    let extra = format!("{stack}-extra");
    let (code, said) = up_on_a_terminal(&changed_file, &stack, support::emulator(), "yes", || {
        let zip =
            std::fs::read(support::repo_root().join("target/lambda/secret/bootstrap.zip")).unwrap();
        let role = format!(
            "arn:aws:iam::123456789012:role/{}",
            role_name(&stack, "secret")
        );
        let (lambda, extra) = (aws.lambda.clone(), extra.clone());
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                lambda
                    .create_function()
                    .function_name(extra)
                    .role(role)
                    .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
                    .handler("bootstrap")
                    .code(
                        aws_sdk_lambda::types::FunctionCode::builder()
                            .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap()
            })
        })
        .join()
        .unwrap();
    });
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("live AWS changed between the plan and the lock")
            && said.contains(&format!(
                "Lambda function `{extra}` exists but is not this stack's"
            ))
            && said.contains("nothing was changed"),
        "{said}"
    );

    // The next run sees the function is not this stack's and refuses to touch it.
    let blocked = on_emulator(&changed_file, &stack, &["up", "--yes", "--json"]);
    assert_eq!(blocked.code, Some(1));
    let refusal =
        format!("functions.extra: Lambda function `{extra}` exists but is not this stack's");
    assert!(blocked.stderr.contains(&refusal), "{}", blocked.stderr);
    // With --json, stdout holds the error as a document too.
    let document: Value = serde_json::from_str(&blocked.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", blocked.stdout));
    assert!(
        document["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&refusal),
        "{document}"
    );
    aws.lambda
        .delete_function()
        .function_name(&extra)
        .send()
        .await
        .unwrap();
    // A call that fails mid-run (the fault proxy refuses CreateFunction of the new function):
    // the run stops with what was done, what failed and what never started.
    let proxy = crate::faults::FaultProxy::start(|call| {
        (call.method == "POST"
            && call.path.ends_with("/functions")
            && call.body.contains("-extra\""))
        .then_some(crate::faults::Fault::Error {
            status: 400,
            code: "InvalidParameterValueException",
        })
    });
    let (code, said) = up_on_a_terminal(&changed_file, &stack, &proxy.url, "yes", || {});
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("failed: functions.extra")
            && said.contains("functions.extra: creating")
            && said.contains("injected by the fault proxy")
            && said.contains("hint: fix the cause and run again: every step is safe to repeat"),
        "{said}"
    );
    assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::Relaxed), 1);
    drop(proxy);

    // The next run finishes the job.
    up(&changed_file, &stack, &[]);
    diff(&changed_file, &stack, 0);

    json_from(
        &changed_file,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}

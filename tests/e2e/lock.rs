//! The stack's lock (a CloudWatch Logs group, `/provisioner/locks/<stack>`): two runs of one
//! stack exclude each other, a held lock is refused naming its holder, a dead holder's lock is
//! taken over, `unlock` removes one, and no run leaves one behind.

use std::path::Path;
use std::process::Stdio;

use crate::support::{self, on_emulator};

fn logs() -> aws_sdk_cloudwatchlogs::Client {
    let config = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(support::sdk_config());
    aws_sdk_cloudwatchlogs::Client::new(&config)
}

/// Whether `stack`'s lock exists, and its tags if so.
pub(crate) fn lock_of(stack: &str) -> Option<std::collections::HashMap<String, String>> {
    let logs = logs();
    let name = format!("/provisioner/locks/{stack}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let page = logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await
            .unwrap();
        let group = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name.as_str()))?
            .clone();
        let arn = group.log_group_arn().unwrap_or_default().to_owned();
        let tags = logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        Some(tags.tags().cloned().unwrap_or_default())
    })
}

/// The id of the lock [`hold_lock`] takes for `host` and `pid`.
pub(crate) fn lock_id(host: &str, pid: u32) -> String {
    format!("test-{host}-{pid}")
}

/// Takes `stack`'s lock as another run would (CreateLogGroup with its holder in the tags).
pub(crate) fn hold_lock(stack: &str, host: &str, pid: u32) {
    hold_lock_renewed(stack, host, pid, None);
}

/// As [`hold_lock`], with the holder's last heartbeat `heartbeat_ms` (ms since the epoch).
pub(crate) fn hold_lock_renewed(stack: &str, host: &str, pid: u32, heartbeat_ms: Option<i64>) {
    let logs = logs();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        logs.create_log_group()
            .set_tags(heartbeat_ms.map(|ms| {
                std::collections::HashMap::from([(
                    "provisioner:lock-heartbeat".to_owned(),
                    ms.to_string(),
                )])
            }))
            .log_group_name(format!("/provisioner/locks/{stack}"))
            .tags("provisioner:stack", stack)
            .tags(
                "provisioner:lock-caller",
                "arn:aws:iam::123456789012:user/alice",
            )
            .tags("provisioner:lock-host", host)
            .tags("provisioner:lock-pid", pid.to_string())
            .tags("provisioner:lock-command", "up")
            .tags("provisioner:lock-token", lock_id(host, pid))
            .send()
            .await
            .unwrap();
    });
}

/// A lock whose holder stopped renewing it (a CI job killed on another host) is stale within a
/// couple of minutes wherever it was taken: the next run takes it over, saying so; one renewed
/// a moment ago is held.
#[test]
fn a_lock_whose_holder_stopped_renewing_it_is_taken_over_from_another_host() {
    let stack = support::unique("lockbeat");
    let file = support::write_stack(&[]);
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    hold_lock_renewed(&stack, "runner-17", 4242, Some(now_ms - 5_000));
    let held = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(held.code, Some(1), "{}", held.stderr);
    assert!(held.stderr.contains("is locked"), "{}", held.stderr);
    logs_delete_lock(&stack);
    hold_lock_renewed(&stack, "runner-17", 4242, Some(now_ms - 200_000));
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    assert!(
        up.stderr.contains("taking over the lock") && up.stderr.contains("stopped renewing it"),
        "{}",
        up.stderr
    );
    assert_eq!(lock_of(&stack), None);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

fn logs_delete_lock(stack: &str) {
    let logs = logs();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        logs.delete_log_group()
            .log_group_name(format!("/provisioner/locks/{stack}"))
            .send()
            .await
            .unwrap();
    });
}

/// Two `up`s of one stack started together: one applies, the other waits for the lock, then
/// finds nothing left to change; the stack is as stack.yaml says, and no lock is left.
#[test]
fn two_ups_at_once_one_applies_and_the_other_waits_then_finds_nothing_to_do() {
    let stack = support::unique("lockpair");
    let file = support::write_stack(&[]);
    let spawn = || {
        support::provisioner()
            .args(["up", "--yes", "--json", "--lock-timeout", "300", "--file"])
            .arg(&file)
            .args(["--stack", &stack])
            .env("AWS_ENDPOINT_URL", support::emulator())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [first, second].map(|child| child.wait_with_output().unwrap());
    let mut applied = Vec::new();
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        applied.push(report["changes"].as_array().map_or(0, Vec::len));
    }
    applied.sort_unstable();
    assert_eq!(applied[0], 0, "one run found nothing left to change");
    assert!(applied[1] > 20, "the other applied the stack: {applied:?}");
    let waited = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .find(|stderr| stderr.contains("nothing left to change"))
        .expect("the second run says why it did nothing");
    assert!(!waited.contains("created"), "{waited}");
    let diff = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}", diff.stderr);
    assert_eq!(lock_of(&stack), None, "no lock is left behind");

    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    assert_eq!(lock_of(&stack), None, "down leaves no lock");
}

/// A lock held by a run elsewhere: refused at once naming the holder, or after
/// `--lock-timeout`; nothing is written. `unlock` removes it, and the next `up` goes through.
#[test]
fn a_held_lock_is_refused_naming_its_holder_and_unlock_removes_it() {
    let stack = support::unique("lockheld");
    let file = support::write_stack(&[]);
    hold_lock(&stack, "build-agent-7", 4242);

    let refused = on_emulator(&file, &stack, &["up", "--yes", "-v"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("stack `{stack}` is locked"))
            && refused
                .stderr
                .contains("`up` by arn:aws:iam::123456789012:user/alice")
            && refused
                .stderr
                .contains("on host `build-agent-7` (pid 4242)")
            && refused.stderr.contains("provisioner unlock"),
        "{}",
        refused.stderr
    );
    // Only the lock was tried (`-v` logs every call): nothing of the stack was written.
    let calls: Vec<&str> = refused
        .stderr
        .lines()
        .filter(|l| l.contains("provisioner::aws:"))
        .collect();
    let writes: Vec<&&str> = calls
        .iter()
        .filter(|l| {
            [".Create", ".Put", ".Update", ".Delete", ".Attach", ".Tag"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect();
    assert!(calls.len() > 10, "the calls are logged: {calls:?}");
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        writes[0].contains("CreateLogGroup logGroupName=/provisioner/locks/"),
        "{writes:?}"
    );

    let started = std::time::Instant::now();
    let waited = on_emulator(&file, &stack, &["up", "--yes", "--lock-timeout", "3"]);
    assert_eq!(waited.code, Some(1), "{}", waited.stderr);
    assert!(started.elapsed() >= std::time::Duration::from_secs(3));
    assert!(waited.stderr.contains("waited 3 s"), "{}", waited.stderr);

    // `diff` never takes the lock.
    let diff = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(2), "{}", diff.stderr);

    // Without the id (no terminal to ask on), or with a wrong one: refused, the lock kept.
    let id = lock_id("build-agent-7", 4242);
    assert!(
        waited
            .stderr
            .contains(&format!("`provisioner unlock {id}`")),
        "{}",
        waited.stderr
    );
    let unnamed = on_emulator(&file, &stack, &["unlock"]);
    assert_eq!(unnamed.code, Some(1), "{}", unnamed.stderr);
    assert!(
        unnamed.stderr.contains("build-agent-7")
            && unnamed
                .stderr
                .contains(&format!("`provisioner unlock {id}`")),
        "{}",
        unnamed.stderr
    );
    let wrong = on_emulator(&file, &stack, &["unlock", "test-elsewhere-1"]);
    assert_eq!(wrong.code, Some(1), "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains(&format!("has id `{id}`, not `test-elsewhere-1`")),
        "{}",
        wrong.stderr
    );
    assert!(lock_of(&stack).is_some(), "a wrong id removes nothing");

    let unlocked = on_emulator(&file, &stack, &["unlock", &id]);
    assert_eq!(unlocked.code, Some(0), "{}", unlocked.stderr);
    assert!(
        unlocked
            .stderr
            .contains(&format!("removed the lock of stack `{stack}`"))
            && unlocked.stderr.contains("build-agent-7"),
        "{}",
        unlocked.stderr
    );
    assert_eq!(lock_of(&stack), None);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// A lock whose holder ran on this host and is gone (killed) is stale at once: the next run says
/// so and takes it over.
#[test]
fn a_dead_holders_lock_on_this_host_is_taken_over() {
    let stack = support::unique("lockstale");
    let file = support::write_stack(&[]);
    let host = provisioner::lock::hostname();
    // A process that has exited: its pid runs nothing now.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    hold_lock(&stack, &host, pid);
    assert!(lock_of(&stack).is_some());

    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    assert!(
        up.stderr.contains(&format!(
            "taking over the lock of stack `{stack}`, held by `up` by arn:aws:iam::123456789012:user/alice on host `{host}` (pid {pid})"
        )) && up.stderr.contains("is no longer running"),
        "{}",
        up.stderr
    );
    assert_eq!(lock_of(&stack), None);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    assert_eq!(lock_of(&stack), None);
}

/// Starts `up <args> --lock-timeout 120` while the lock is held elsewhere and, once it waits for
/// the lock, changes the sign-in function's timeout by hand (to `timeout` s) and lets go. Its exit
/// code and stderr.
fn up_while_live_changes(
    file: &Path,
    stack: &str,
    args: &[&str],
    timeout: i32,
) -> (Option<i32>, String) {
    hold_lock(stack, "build-agent-7", 4242);
    let mut waiting = support::provisioner()
        .arg("up")
        .args(args)
        .args(["--lock-timeout", "120", "--file"])
        .arg(file)
        .args(["--stack", stack])
        .env("AWS_ENDPOINT_URL", support::emulator())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its stderr, line by line, as it comes.
    let (lines, said) = std::sync::mpsc::channel::<String>();
    let stderr = waiting.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !seen.contains("waiting for its lock") {
        match said.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(line) => seen.push_str(&format!("{line}\n")),
            Err(_) => {
                let _ = waiting.kill();
                panic!("the run never waited for the lock:\n{seen}");
            }
        }
    }
    // It waits, its plan shown: someone changes another function by hand and lets go.
    let config = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(support::sdk_config());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        aws_sdk_lambda::Client::new(&config)
            .update_function_configuration()
            .function_name(format!("{stack}-sign-in"))
            .timeout(timeout)
            .send()
            .await
            .unwrap();
        aws_sdk_cloudwatchlogs::Client::new(&config)
            .delete_log_group()
            .log_group_name(format!("/provisioner/locks/{stack}"))
            .send()
            .await
            .unwrap();
    });
    let status = waiting.wait().unwrap();
    reader.join().unwrap();
    seen.extend(said.try_iter().map(|line| format!("{line}\n")));
    (status.code(), seen)
}

/// A run that waited for the lock while live AWS changed: a plan someone reviewed (a saved one)
/// is applied only as it was shown, so it is refused with nothing written; with `--yes` and no
/// saved plan no one reviewed it, so the plan made under the lock is shown and applied.
#[test]
fn a_plan_that_changed_while_waiting_for_the_lock_is_refused_if_reviewed_else_planned_again() {
    let stack = support::unique("lockdrift");
    let file = support::write_stack(&[]);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let longer = support::write_stack(&[(
        "  secret:\n    crate: handlers/secret\n",
        "  secret:\n    crate: handlers/secret\n    timeout: 20\n",
    )]);
    let saved = support::temp_dir("plans").join("longer.plan");
    let diffed = on_emulator(&longer, &stack, &["diff", "--out", saved.to_str().unwrap()]);
    assert_eq!(diffed.code, Some(2), "{}", diffed.stderr);

    let (code, stderr) =
        up_while_live_changes(&longer, &stack, &["--plan", saved.to_str().unwrap()], 3);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("live AWS changed between the plan and the lock")
            && stderr.contains("functions.sign-in")
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(!stderr.contains("updated"), "{stderr}");
    assert_eq!(lock_of(&stack), None, "the refusing run gave the lock back");

    let (code, stderr) = up_while_live_changes(&longer, &stack, &["--yes"], 5);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("the plan made under the lock is applied")
            && stderr.contains("functions.sign-in")
            && stderr.contains("functions.secret"),
        "{stderr}"
    );
    let diffed = on_emulator(&longer, &stack, &["diff"]);
    assert_eq!(diffed.code, Some(0), "both applied: {}", diffed.stdout);
    assert_eq!(lock_of(&stack), None);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// A lock a killed run left (its holder on this host is gone) is removed by the next run even
/// when that run has nothing to change and takes no lock: it never blocks the run after.
#[test]
fn a_run_with_nothing_to_change_removes_a_stale_lock() {
    let stack = support::unique("lockleft");
    let file = support::write_stack(&[]);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    hold_lock(&stack, &provisioner::lock::hostname(), pid);

    let noop = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(noop.code, Some(0), "{}", noop.stderr);
    assert!(
        noop.stderr
            .contains(&format!("note: removed the stale lock of stack `{stack}`"))
            && noop.stderr.contains("is no longer running"),
        "{}",
        noop.stderr
    );
    assert_eq!(lock_of(&stack), None);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

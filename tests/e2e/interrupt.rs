//! Interrupts and kills in the middle of `up` and `down`, through the real binary: SIGINT stops
//! cleanly (exit 130, the lock given back, what was done and what was not said), a second signal
//! gives the lock back and exits at once, and a `down` killed (SIGKILL) after any of its writes is finished by the next.

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::faults::{Fault, FaultProxy};
use crate::support::{self, on_emulator};

/// `provisioner <args>` for `stack` through `proxy`, with its stderr sent line by line.
fn spawn_through(
    proxy: &FaultProxy,
    file: &std::path::Path,
    stack: &str,
    args: &[&str],
) -> (Child, Receiver<String>) {
    let mut child = support::provisioner()
        .args(args)
        .arg("--file")
        .arg(file)
        .args(["--stack", stack])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, said) = channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, said)
}

/// Reads `said` until a line contains `wanted` (bounded); returns everything read.
fn until(said: &Receiver<String>, wanted: &str, seen: &mut String) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !seen.contains(wanted) {
        match said.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(_) => panic!("never said `{wanted}`:\n{seen}"),
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

fn lock_exists(stack: &str) -> bool {
    let config = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(support::sdk_config());
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let name = format!("/provisioner/locks/{stack}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        logs.describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await
            .unwrap()
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(name.as_str()))
    })
}

/// The next `up` finishes what an interrupted run left (`diff` then finds nothing to do); then the
/// stack is taken down.
fn the_next_up_converges(file: &std::path::Path, stack: &str) {
    let up = on_emulator(file, stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let diff = on_emulator(file, stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}", diff.stdout);
    let down = on_emulator(file, stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// A Lambda CreateFunction call (REST: POST .../functions).
fn creates_function(call: &crate::faults::Call) -> bool {
    call.method == "POST" && call.path.ends_with("/functions")
}

/// Ctrl-C while functions are being created: nothing new starts (the API, waiting for them, stops
/// part-way), the functions in flight finish, the lock is given back, exit 130 with what was and
/// was not done; the next `up` converges.
#[test]
fn sigint_mid_up_stops_cleanly_and_the_next_up_converges() {
    let stack = support::unique("sigint");
    let file = support::write_stack(&[]);
    let plan = support::json_from(&file, &stack, &["diff", "--json"], 2);
    let planned = plan["summary"]["create"].as_u64().unwrap();
    let proxy = FaultProxy::start(|call| {
        creates_function(call).then_some(Fault::Delay(Duration::from_secs(3)))
    });
    let (mut child, said) = spawn_through(&proxy, &file, &stack, &["up", "--yes", "--json"]);
    let mut seen = String::new();
    until(&said, " created  (", &mut seen);
    signal(&child, libc::SIGINT);
    let status = child.wait().unwrap();
    seen.extend(said.try_iter().map(|line| format!("{line}\n")));
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(
        seen.contains("SIGINT: stopping") && seen.contains("error: interrupted: "),
        "{seen}"
    );
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let interrupted = &document["error"]["interrupted"];
    assert!(interrupted["done"].as_u64().unwrap() > 0, "{document:#}");
    assert_eq!(document["error"]["code"], "interrupted");
    // Counted as the plan counts: its changes, not the engine's nodes.
    assert_eq!(interrupted["total"].as_u64(), Some(planned), "{document:#}");
    // The API starts once the pool exists and waits for each function before its route's
    // integration: the interrupt stops it while it waits, or before it started.
    let listed = |key: &str| {
        interrupted[key]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id == "api")
    };
    assert!(
        listed("stopped") || listed("notStarted"),
        "the API waits on the functions and was not finished: {document:#}"
    );
    assert!(!lock_exists(&stack), "the lock was given back");

    the_next_up_converges(&file, &stack);
}

/// Ctrl-C while the API's new routes are being put (each CreateResource slow; their functions
/// exist, so the API waits for nothing): it makes no call after the signal but those in flight,
/// and is reported stopped part-way; the next `up` finishes the routes.
#[test]
fn sigint_stops_the_api_between_its_calls() {
    let stack = support::unique("sigapi");
    let file = support::write_stack(&[]);
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let secret = "    GET /secret: { function: secret, authorizer: cognito }\n";
    let routes: String = (1..=3)
        .map(|n| format!("    GET /extra{n}: {{ function: secret }}\n"))
        .collect();
    let file = support::write_stack(&[(secret, &format!("{secret}{routes}"))]);
    let (arrived, first) = channel::<()>();
    let arrived = Mutex::new(arrived);
    let calls: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let log = calls.clone();
    let proxy = FaultProxy::start(move |call| {
        let operation = call.operation();
        let creates_resource = call.method == "POST" && call.path.contains("/resources/");
        log.lock().unwrap().push((Instant::now(), operation));
        if creates_resource {
            let _ = arrived.lock().unwrap().send(());
            return Some(Fault::Delay(Duration::from_millis(1500)));
        }
        None
    });
    let (mut child, said) = spawn_through(&proxy, &file, &stack, &["up", "--yes", "--json"]);
    first
        .recv_timeout(Duration::from_secs(180))
        .expect("a CreateResource call");
    // The three are in flight together; the functions (unchanged) are done.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    signal(&child, libc::SIGINT);
    let status = child.wait().unwrap();
    let seen: String = said.try_iter().map(|line| format!("{line}\n")).collect();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        document["error"]["interrupted"]["stopped"],
        serde_json::json!(["api"]),
        "{document:#}"
    );
    let after: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, operation)| *at > signalled && operation.contains("/restapis"))
        .map(|(_, operation)| operation.clone())
        .collect();
    assert!(
        after.is_empty(),
        "API calls after the signal: {after:?}\n{seen}"
    );
    assert!(!lock_exists(&stack), "the lock was given back");
    drop(proxy);

    the_next_up_converges(&file, &stack);
}

/// GitHub Actions' cancel: SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that. The second
/// signal does not wait for the calls in flight: it gives the lock back and exits (130) before the
/// SIGKILL, so the next run, wherever it runs, finds no lock and converges.
#[test]
fn a_ci_cancel_gives_the_lock_back_before_the_kill_and_the_next_up_converges() {
    let stack = support::unique("sigtwice");
    let file = support::write_stack(&[]);
    let proxy = FaultProxy::start(|call| {
        creates_function(call).then_some(Fault::Hold(Duration::from_secs(60)))
    });
    let (mut child, said) = spawn_through(&proxy, &file, &stack, &["up", "--yes"]);
    let mut seen = String::new();
    until(&said, " created  (", &mut seen);
    signal(&child, libc::SIGINT);
    until(&said, "SIGINT: stopping", &mut seen);
    std::thread::sleep(Duration::from_millis(7500));
    let second = Instant::now();
    signal(&child, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(2500));
    // SIGKILL, as the runner sends it (the run should be gone by then).
    let still_running = child.try_wait().unwrap().is_none();
    if still_running {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    assert!(!still_running, "still running 2.5 s after SIGTERM: {seen}");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(second.elapsed() < Duration::from_secs(10));
    assert!(
        !lock_exists(&stack),
        "the second signal gave the lock back: {seen}"
    );
    drop(proxy);

    // The next run takes the lock at once (`--lock-timeout 0` refuses a held one).
    let up = on_emulator(&file, &stack, &["up", "--yes", "--lock-timeout", "0"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    assert!(!up.stderr.contains("taking over the lock"), "{}", up.stderr);
    let diff = on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}", diff.stdout);
    let down = on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    assert!(!lock_exists(&stack));
}

/// `down` killed with SIGKILL right after its k-th write, for every k of the run: the next
/// `down` finishes, and only the retained pool (with its client) is left; no lock either.
#[test]
fn a_down_killed_after_any_write_is_finished_by_the_next() {
    let file = support::write_stack(&[]);
    // How many writes a whole `down` makes, counted through a proxy that faults nothing.
    let stack = support::unique("killref");
    let up = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let writes = Arc::new(Mutex::new(0_usize));
    let counted = writes.clone();
    let proxy = FaultProxy::start(move |call| {
        if !call.reads() {
            *counted.lock().unwrap() += 1;
        }
        None
    });
    let (mut child, _said) = spawn_through(&proxy, &file, &stack, &["down", "--yes"]);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let total = *writes.lock().unwrap();
    assert!(total > 10, "{total} writes");
    drop(proxy);

    // Three at a time: each k is a stack of its own.
    let ks: Vec<usize> = (1..=total).collect();
    for batch in ks.chunks(3) {
        let handles: Vec<_> = batch
            .iter()
            .map(|&k| {
                let file = file.clone();
                std::thread::spawn(move || kill_down_after(&file, k))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    }
}

/// Up, then `down` killed after its `k`-th write (held at the next one), then `down` again.
fn kill_down_after(file: &std::path::Path, k: usize) {
    let stack = support::unique(&format!("kill{k}"));
    let up = on_emulator(file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let writes = Mutex::new(0_usize);
    let (reached, at_k) = channel::<()>();
    let reached = Mutex::new(reached);
    let proxy = FaultProxy::start(move |call| {
        if call.reads() {
            return None;
        }
        let mut count = writes.lock().unwrap();
        *count += 1;
        if *count == k + 1 {
            let _ = reached.lock().unwrap().send(());
        }
        (*count > k).then_some(Fault::Hold(Duration::from_secs(120)))
    });
    let (mut child, _said) = spawn_through(&proxy, file, &stack, &["down", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if at_k.recv_timeout(Duration::from_millis(50)).is_ok() {
            signal(&child, libc::SIGKILL);
            let _ = child.wait();
            break;
        }
        // The run made k writes or fewer and finished on its own.
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "k = {k}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "k = {k}: down neither wrote nor ended"
        );
    }
    drop(proxy);

    let down = on_emulator(file, &stack, &["down", "--yes"]);
    assert_eq!(down.code, Some(0), "k = {k}: {}", down.stderr);
    let plan = on_emulator(file, &stack, &["diff", "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let left: Vec<&str> = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "create")
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        ["userPools.users", "userPools.users.clients.web"],
        "k = {k}: only the retained pool and its client are left"
    );
    assert!(!lock_exists(&stack), "k = {k}: no lock is left");
    let gone = on_emulator(file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(gone.code, Some(0), "k = {k}: {}", gone.stderr);
}

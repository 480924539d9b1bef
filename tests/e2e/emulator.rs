//! `scripts/emulator run` starts an emulator for a command and stops it afterwards, whether the
//! command succeeds or fails.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;

fn run_and_report_url(command: &str) -> (Option<i32>, String) {
    let output = Command::new(support::repo_root().join("scripts/emulator"))
        .args(["run", "--", "sh", "-c", command])
        .output()
        .expect("run scripts/emulator");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    )
}

fn assert_stopped(url: &str) {
    let address = url.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the emulator at {url} is still running"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn run_stops_the_emulator_after_the_command_succeeds_or_fails() {
    let (code, url) = run_and_report_url("echo $AWS_ENDPOINT_URL");
    assert_eq!(code, Some(0));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_stopped(&url);

    let (code, url) = run_and_report_url("echo $AWS_ENDPOINT_URL; exit 3");
    assert_eq!(code, Some(3), "run exits with the command's code");
    assert_stopped(&url);
}

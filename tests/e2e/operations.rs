//! The calls the tool makes are recorded (`PROVISIONER_RECORD_CALLS`) and each is one a part of
//! the tool declares with its IAM actions (`operations`). `support::run` checks every run of the
//! suite this way; this test shows the record is real, so that check cannot pass by reading nothing.

use crate::support;

#[test]
fn every_call_of_a_run_is_recorded_and_declared() {
    let stack = support::unique("operations");
    let file = support::write_stack(&[]);
    let record = std::env::temp_dir().join(support::unique("record"));
    let output = support::provisioner()
        .args(["up", "--yes", "--json", "--stack", &stack, "--file"])
        .arg(&file)
        .env("AWS_ENDPOINT_URL", support::emulator())
        .env(provisioner::calls::RECORD_CALLS, &record)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let made = std::fs::read_to_string(&record).unwrap();
    std::fs::remove_file(&record).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // One line per operation the run counted (every service, the lock's calls included).
    let counted: u64 = report["calls"]["operations"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(made.lines().count() as u64, counted, "{made}");
    for key in [
        "STS.GetCallerIdentity",
        "CognitoIdentityProvider.CreateUserPool",
        "IAM.CreateRole",
        "Lambda.CreateFunction",
        "CloudWatchLogs.CreateLogGroup",
        "APIGateway.CreateRestApi",
    ] {
        assert!(made.lines().any(|l| l == key), "{key} in {made}");
    }
    let undeclared: Vec<&str> = made
        .lines()
        .filter(|key| !provisioner::engine::units::is_declared(key))
        .collect();
    assert_eq!(undeclared, Vec::<&str>::new());
    assert!(!provisioner::engine::units::is_declared(
        "Lambda.InvokeFunction"
    ));
}

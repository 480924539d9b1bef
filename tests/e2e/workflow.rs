//! The GitHub Actions example (`examples/github-actions.yml`) runs: every `run:` step of its jobs,
//! in order, against the emulator. What GitHub provides is stood in for: the `uses:` steps
//! (checkout, toolchain, artifact transfer, OIDC credentials) by one shared directory and the
//! emulator's credentials, the release build of provisioner by the binary under test. The plan
//! and apply jobs run without cargo on PATH, from a checkout that holds only stack.yaml, each as
//! an identity holding exactly its role's document (`provisioner policy --for plan` and
//! `--for apply`), every call authorized as AWS would (`least_privilege::Harness`).

use std::path::Path;

use crate::support;

fn run_step(script: &str, dir: &Path, env: &[(&str, String)], path: &str) -> support::Ran {
    let mut command = support::provisioner_command("bash");
    command
        .args(["-e", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("AWS_ENDPOINT_URL", support::emulator());
    for (key, value) in env {
        command.env(key, value);
    }
    support::run(&mut command)
}

#[test]
fn the_github_actions_example_builds_plans_and_applies_the_reviewed_plan() {
    let workflow: serde_yaml::Value = serde_yaml::from_slice(
        &std::fs::read(support::repo_root().join("examples/github-actions.yml")).unwrap(),
    )
    .unwrap();
    let stack = support::unique("workflow");
    let deploy = support::temp_dir("deploy");
    let summary = deploy.join("summary.md");
    let outputs = deploy.join("outputs");
    // A runner's fresh checkout: stack.yaml only, with the environments the example deploys
    // (staging from main; prod, pinned to another account, from a tag).
    let checkout = std::env::temp_dir().join(support::unique("checkout"));
    std::fs::create_dir_all(&checkout).unwrap();
    let text = std::fs::read_to_string(support::repo_root().join("stack.yaml")).unwrap();
    let environments =
        "\nenvironments:\n  staging: {}\n  prod:\n    accounts: [\"999999999999\"]\n";
    std::fs::write(checkout.join("stack.yaml"), format!("{text}{environments}")).unwrap();
    let env = [
        ("DEPLOY_DIR", deploy.display().to_string()),
        ("PROVISIONER_STACK", stack.clone()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ("GITHUB_OUTPUT", outputs.display().to_string()),
    ];
    let with_cargo = std::env::var("PATH").unwrap();
    // Each job's role: the plan job's reads only, the apply job's writes.
    let documents = crate::least_privilege::documents(
        &checkout.join("stack.yaml"),
        &stack,
        &[("PROVISIONER_ENV", "staging")],
    );
    let roles = [
        ("plan", "PLAN_ROLE_ARN", &documents["plan"]),
        ("apply", "APPLY_ROLE_ARN", &documents["apply"]),
    ];
    let mut harnesses = Vec::new();
    let mut ran = Vec::new();
    for job in ["build", "plan", "apply"] {
        // The job's `env:` (PROVISIONER_ENV: main deploys staging).
        let mut env = env.to_vec();
        if let Some((_, variable, document)) = roles.iter().find(|(j, _, _)| *j == job) {
            let assumed = workflow["jobs"][job]["steps"]
                .as_sequence()
                .unwrap()
                .iter()
                .find_map(|step| step["with"]["role-to-assume"].as_str())
                .unwrap();
            assert_eq!(assumed, format!("${{{{ env.{variable} }}}}"), "{job}");
            let harness = crate::least_privilege::Harness::start(
                crate::iam::Policy::from_document(document),
                job,
            );
            env.push(("AWS_ENDPOINT_URL", harness.proxy.url.clone()));
            harnesses.push(harness);
        }
        if let Some(job_env) = workflow["jobs"][job]["env"].as_mapping() {
            // A job's `env:` may not read the `env` context (GitHub refuses the workflow).
            for value in job_env.values() {
                let value = value.as_str().unwrap_or_default();
                assert!(!value.contains("env."), "{job}: `{value}`");
            }
            let chosen = job_env["PROVISIONER_ENV"].as_str().unwrap();
            assert!(
                chosen.contains("'staging'") && chosen.contains("refs/tags/v"),
                "{chosen}"
            );
            env.push(("PROVISIONER_ENV", "staging".to_owned()));
        }
        let steps = workflow["jobs"][job]["steps"].as_sequence().unwrap();
        for step in steps {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            if step["id"].as_str() == Some("provisioner-binary") {
                // The binary under test stands in for the release build.
                // A hard link, not a copy: the debug binary is hundreds of megabytes.
                std::fs::create_dir_all(deploy.join("bin")).unwrap();
                let binary = deploy.join("bin/provisioner");
                if std::fs::hard_link(env!("CARGO_BIN_EXE_provisioner"), &binary).is_err() {
                    std::fs::copy(env!("CARGO_BIN_EXE_provisioner"), &binary).unwrap();
                }
                continue;
            }
            let (dir, path) = if job == "build" {
                (support::repo_root(), with_cargo.as_str())
            } else {
                (checkout.clone(), "/usr/bin:/bin")
            };
            let done = run_step(script, &dir, &env, path);
            assert_eq!(
                done.code,
                Some(0),
                "{job}: {}\nstdout: {}\nstderr: {}",
                step["name"].as_str().unwrap_or(""),
                done.stdout,
                done.stderr
            );
            ran.push(format!("{job}: {}", step["name"].as_str().unwrap_or("")));
        }
    }
    assert_eq!(
        ran,
        [
            "build: Build the handlers once",
            "plan: Plan",
            "apply: Apply the reviewed plan"
        ]
    );
    for harness in &harnesses {
        harness.assert_clean();
    }
    // Each job's calls went through its own role's harness.
    assert!(harnesses[0].saw("plan", "lambda:GetFunction"));
    assert!(harnesses[1].saw("apply", "logs:CreateLogGroup"));
    assert!(harnesses[1].saw("apply", "lambda:CreateFunction"));
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains(&format!("### Plan for stack `{stack}`"))
            && summary.contains("**Plan: 71 to create")
            && summary.contains("```diff\n+   userPools.users"),
        "{summary}"
    );
    assert!(
        std::fs::read_to_string(&outputs)
            .unwrap()
            .contains("changes=true")
    );
    // The reviewed plan was applied: the stack is as stack.yaml says.
    let file = checkout.join("stack.yaml");
    let artifacts = deploy.join("artifacts");
    let diff = support::on_emulator(
        &file,
        &stack,
        &[
            "diff",
            "--env",
            "staging",
            "--artifacts",
            artifacts.to_str().unwrap(),
        ],
    );
    assert_eq!(diff.code, Some(0), "{}{}", diff.stdout, diff.stderr);
    // prod, from a tag, is pinned to another account: refused here.
    let prod = support::on_emulator(
        &file,
        &stack,
        &[
            "diff",
            "--env",
            "prod",
            "--artifacts",
            artifacts.to_str().unwrap(),
        ],
    );
    assert_eq!(prod.code, Some(1), "{}", prod.stderr);
    assert!(
        prod.stderr
            .contains("may be deployed only to account 999999999999"),
        "{}",
        prod.stderr
    );
    let down = support::on_emulator(
        &file,
        &stack,
        &["down", "--env", "staging", "--yes", "--delete-data"],
    );
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    std::fs::remove_dir_all(&checkout).unwrap();
    std::fs::remove_dir_all(&deploy).unwrap();
}

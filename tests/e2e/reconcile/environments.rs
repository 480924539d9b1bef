//! One stack.yaml, several environments: `--env` picks one, its stack is `<stack>-<env>`, its
//! settings and pins are merged over the file's, and `${env.name}` names it.

use super::*;

fn run_env(file: &std::path::Path, args: &[&str]) -> support::Ran {
    support::run(
        support::provisioner()
            .args(args)
            .arg("--file")
            .arg(file)
            .env("AWS_ENDPOINT_URL", support::emulator()),
    )
}

#[tokio::test]
async fn each_environment_of_one_file_is_its_own_stack_with_its_settings_and_pins() {
    let aws = aws().await;
    let base = support::unique("envs");
    let stack_line = format!("stack: {base}\n");
    let file = support::write_stack(&[
        ("stack: auth-demo\n", &stack_line),
        (
            "    crate: handlers/secret\n",
            "    crate: handlers/secret\n    environment:\n      STAGE: ${env.name}\n",
        ),
        (
            "\napi:\n",
            "\nenvironments:\n  dev: {}\n  prod:\n    accounts: [\"123456789012\"]\n    regions: [eu-west-1]\n    functions: { secret: { memory: 256 } }\n  staging:\n    accounts: [\"999999999999\"]\n\napi:\n",
        ),
    ]);

    // Without `--env`, a file with environments is refused; `validate` checks each.
    let unchosen = run_env(&file, &["diff"]);
    assert_eq!(unchosen.code, Some(1), "{}", unchosen.stderr);
    assert!(
        unchosen
            .stderr
            .contains("the file declares environments (dev, prod, staging): choose one"),
        "{}",
        unchosen.stderr
    );
    let validated = run_env(&file, &["validate"]);
    assert_eq!(validated.code, Some(0), "{}", validated.stderr);
    let unknown = run_env(&file, &["diff", "--env", "prd"]);
    assert_eq!(unknown.code, Some(1), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("did you mean `prod`?"),
        "{}",
        unknown.stderr
    );

    // Pins are the environment's: prod only in eu-west-1, staging only in another account.
    let pinned = run_env(&file, &["diff", "--env", "prod"]);
    assert_eq!(pinned.code, Some(1), "{}", pinned.stderr);
    assert!(
        pinned.stderr.contains(&format!(
            "stack `{base}-prod` may be deployed only to eu-west-1"
        )),
        "{}",
        pinned.stderr
    );
    let other_account = run_env(&file, &["diff", "--env", "staging"]);
    assert_eq!(other_account.code, Some(1), "{}", other_account.stderr);
    assert!(
        other_account
            .stderr
            .contains("may be deployed only to account 999999999999"),
        "{}",
        other_account.stderr
    );

    let dev = run_env(&file, &["up", "--env", "dev", "--yes", "--json"]);
    assert_eq!(dev.code, Some(0), "{}", dev.stderr);
    let prod = run_env(&file, &["up", "--yes", "--json", "--region", "eu-west-1"]);
    assert_eq!(prod.code, Some(1), "no environment chosen: {}", prod.stderr);
    let prod = support::run(
        support::provisioner()
            .args(["up", "--yes", "--json", "--region", "eu-west-1", "--file"])
            .arg(&file)
            .env("PROVISIONER_ENV", "prod")
            .env("AWS_ENDPOINT_URL", support::emulator()),
    );
    assert_eq!(prod.code, Some(0), "{}", prod.stderr);

    let config = |region: &'static str| async move {
        aws_sdk_lambda::Client::new(
            &support::sdk_config()
                .await
                .into_builder()
                .region(aws_config::Region::new(region))
                .build(),
        )
    };
    for (env, region, memory) in [("dev", "us-east-1", 128), ("prod", "eu-west-1", 256)] {
        let found = config(region)
            .await
            .get_function_configuration()
            .function_name(format!("{base}-{env}-secret"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{env}'s secret in {region}: {err:?}"));
        assert_eq!(found.memory_size(), Some(memory), "{env}");
        let variables = found
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            variables.get("STAGE").map(String::as_str),
            Some(env),
            "{env}"
        );
    }
    assert!(
        rest_api_id(&aws, &format!("{base}-dev-api"))
            .await
            .is_some(),
        "dev's API is in us-east-1"
    );
    assert_eq!(run_env(&file, &["diff", "--env", "dev"]).code, Some(0));
    assert_eq!(
        run_env(&file, &["diff", "--env", "prod", "--region", "eu-west-1"]).code,
        Some(0)
    );
}

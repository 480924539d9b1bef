//! Changes to stack.yaml show in `diff`, and `up` applies exactly them.

use super::*;

#[tokio::test]
async fn changes_in_stack_yaml_show_in_diff_and_up_applies_only_them() {
    let aws = aws().await;
    let stack = support::unique("change");
    let file = support::write_stack(&[]);
    up(&file, &stack, &[]);

    let changed_file = support::write_stack(&[
        (
            "    crate: handlers/sign-in\n",
            "    crate: handlers/sign-in\n    timeout: 20\n",
        ),
        (
            "    crate: handlers/secret\n",
            "    crate: handlers/secret\n    environment:\n      GREETING: hello\n",
        ),
        (
            "    GET /secret: { function: secret, authorizer: cognito }\n",
            "    GET /secret: { function: secret, authorizer: cognito }\n    GET /health: { function: secret }\n",
        ),
    ]);
    let plan = diff(&changed_file, &stack, 2);
    assert_eq!(
        changed(&plan),
        BTreeMap::from(
            [
                ("functions.sign-in", "update"),
                ("functions.secret", "update"),
                ("api.resources./health", "create"),
                ("api.routes.GET /health", "create"),
                // `api.cors`: the new resource's preflight.
                ("api.routes.OPTIONS /health", "create"),
                ("functions.secret.permissions", "update"),
                ("api.deployment", "create"),
                ("api.stages.prod", "update"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        ),
        "{plan:#}"
    );
    let timeout = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "functions.sign-in")
        .unwrap();
    assert_eq!(
        timeout["changes"],
        json!([{"field": "timeout", "live": "10", "desired": "20", "forcesReplacement": false}])
    );
    let human = on_emulator(&changed_file, &stack, &["diff"]);
    assert_eq!(human.code, Some(2));
    assert!(
        human.stdout.contains("  ~ functions.sign-in")
            && human.stdout.contains("        timeout: 10 -> 20\n")
            && human.stdout.contains("  + api.routes.GET /health")
            && human
                .stdout
                .ends_with("Plan: 4 to create, 4 to update, 0 to replace, 0 to delete.\n"),
        "{}",
        human.stdout
    );

    let report = up(&changed_file, &stack, &[]);
    assert_eq!(
        writes(&report),
        BTreeMap::from(
            [
                ("Lambda.UpdateFunctionConfiguration", 2),
                ("APIGateway.CreateResource", 1),
                // The route, and its resource's preflight (`api.cors`) with its answer.
                ("APIGateway.PutMethod", 2),
                ("APIGateway.PutIntegration", 2),
                ("APIGateway.PutMethodResponse", 1),
                ("APIGateway.PutIntegrationResponse", 1),
                ("Lambda.AddPermission", 1),
                ("APIGateway.CreateDeployment", 1),
                ("APIGateway.UpdateStage", 1),
                // The stack's lock, taken and given back.
                ("CloudWatchLogs.CreateLogGroup", 1),
                ("CloudWatchLogs.DeleteLogGroup", 1),
            ]
            .map(|(a, b)| (a.to_owned(), b))
        ),
        "only what changed is written, under the lock"
    );
    let config = aws
        .lambda
        .get_function_configuration()
        .function_name(format!("{stack}-sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(config.timeout(), Some(20));
    diff(&changed_file, &stack, 0);

    // New code for a function (here: another crate's binary) is exactly one UpdateFunctionCode.
    let new_code = support::write_stack(&[
        (
            "    crate: handlers/sign-in\n",
            "    crate: handlers/sign-in\n    timeout: 20\n",
        ),
        (
            "    crate: handlers/secret\n",
            "    crate: handlers/confirm\n    environment:\n      GREETING: hello\n",
        ),
        (
            "    GET /secret: { function: secret, authorizer: cognito }\n",
            "    GET /secret: { function: secret, authorizer: cognito }\n    GET /health: { function: secret }\n",
        ),
    ]);
    let plan = diff(&new_code, &stack, 2);
    assert_eq!(
        changed(&plan),
        BTreeMap::from([("functions.secret".to_owned(), "update".to_owned())])
    );
    let report = up(&new_code, &stack, &[]);
    assert_eq!(
        writes(&report),
        BTreeMap::from(
            [
                ("Lambda.UpdateFunctionCode", 1),
                ("CloudWatchLogs.CreateLogGroup", 1),
                ("CloudWatchLogs.DeleteLogGroup", 1),
            ]
            .map(|(a, b)| (a.to_owned(), b))
        )
    );

    json_from(
        &file,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}

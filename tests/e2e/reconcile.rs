//! `provisioner diff`, `up` and `down` through the real binary against the emulator: a cold `up`
//! read back with the SDK, no-op runs that write nothing, changes in stack.yaml, drift behind the
//! tool's back, the replacement guard, and `down` with the retained pool and its adoption.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{self, json_from, on_emulator};

struct Aws {
    cognito: aws_sdk_cognitoidentityprovider::Client,
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    apigateway: aws_sdk_apigateway::Client,
}

async fn aws() -> Aws {
    let config = support::sdk_config().await;
    Aws {
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
        iam: aws_sdk_iam::Client::new(&config),
        lambda: aws_sdk_lambda::Client::new(&config),
        logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        apigateway: aws_sdk_apigateway::Client::new(&config),
    }
}

const FUNCTIONS: [&str; 4] = ["confirm", "secret", "sign-in", "sign-up"];

/// `up --json`, which must succeed.
fn up(file: &Path, stack: &str, extra: &[&str]) -> Value {
    let mut args = vec!["up", "--yes", "--json"];
    args.extend_from_slice(extra);
    json_from(file, stack, &args, 0)
}

/// `diff --json` and its exit code (0 no changes, 2 changes).
fn diff(file: &Path, stack: &str, code: i32) -> Value {
    json_from(file, stack, &["diff", "--json"], code)
}

/// The addresses a plan changes, with their action.
fn changed(plan: &Value) -> BTreeMap<String, String> {
    plan["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] != "noOp")
        .map(|e| {
            (
                e["address"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// How many times a run called `operation` (`Lambda.UpdateFunctionCode`).
fn calls(report: &Value, operation: &str) -> u64 {
    report["calls"]["operations"][operation]
        .as_u64()
        .unwrap_or(0)
}

/// The write operations a run made, by name.
fn writes(report: &Value) -> BTreeMap<String, u64> {
    report["calls"]["operations"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| !provisioner::calls::is_read(op.rsplit('.').next().unwrap()))
        .map(|(op, n)| (op.clone(), n.as_u64().unwrap()))
        .collect()
}

async fn rest_api_id(aws: &Aws, name: &str) -> Option<String> {
    let apis = aws
        .apigateway
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .unwrap();
    apis.items()
        .iter()
        .find(|api| api.name() == Some(name))
        .and_then(|api| api.id().map(str::to_owned))
}

#[tokio::test]
async fn cold_up_creates_the_tutorial_stack_and_then_nothing_changes() {
    let aws = aws().await;
    let stack = support::unique("cold");
    let file = support::write_stack(&[support::SIGN_UP_GRANT]);
    let report = up(&file, &stack, &[]);

    // Outputs.
    let outputs = &report["outputs"];
    let pool_id = outputs["userPoolId"]
        .as_str()
        .expect("userPoolId")
        .to_owned();
    let pool_arn = outputs["userPoolArn"].as_str().unwrap().to_owned();
    let client_id = outputs["userPoolClientId"].as_str().unwrap().to_owned();
    let api_id = rest_api_id(&aws, &format!("{stack}-api"))
        .await
        .expect("the API");
    assert_eq!(
        outputs["apiUrl"],
        format!("https://{api_id}.execute-api.us-east-1.amazonaws.com/prod/")
    );
    assert_eq!(report["summary"]["delete"], 0);
    assert_eq!(report["summary"]["replace"], 0);

    // The pool and its client.
    let pool = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .unwrap();
    let pool = pool.user_pool().unwrap();
    assert_eq!(pool.name(), Some(format!("{stack}-users").as_str()));
    assert_eq!(pool.arn(), Some(pool_arn.as_str()));
    assert_eq!(
        pool.user_pool_tags().unwrap()["provisioner:stack"],
        stack,
        "tagged in the create call"
    );
    assert_eq!(
        pool.auto_verified_attributes()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["email"]
    );
    assert_eq!(
        pool.admin_create_user_config()
            .map(|c| c.allow_admin_create_user_only()),
        Some(false),
        "self sign-up"
    );
    assert_eq!(
        pool.deletion_protection().map(|d| d.as_str()),
        Some("ACTIVE")
    );
    let client = aws
        .cognito
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .unwrap();
    let client = client.user_pool_client().unwrap();
    let mut flows: Vec<&str> = client
        .explicit_auth_flows()
        .iter()
        .map(|f| f.as_str())
        .collect();
    flows.sort();
    assert_eq!(
        flows,
        ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
    );
    assert_eq!(client.client_secret(), None);
    let mut read: Vec<&str> = client
        .read_attributes()
        .iter()
        .map(String::as_str)
        .collect();
    read.sort_unstable();
    assert_eq!(read, ["email", "email_verified"]);

    // Roles: trust, managed and inline policies (exact actions on the pool's ARN; only sign-up
    // has a statement).
    let actions = BTreeMap::from([
        ("confirm", None),
        ("secret", None),
        ("sign-in", None),
        ("sign-up", Some("cognito-idp:AdminGetUser")),
    ]);
    for (function, action) in &actions {
        let role_name = format!("{stack}-{function}-role");
        let role = aws
            .iam
            .get_role()
            .role_name(&role_name)
            .send()
            .await
            .unwrap();
        let role = role.role().unwrap();
        let trust: Value = serde_json::from_str(
            &percent_encoding::percent_decode_str(role.assume_role_policy_document().unwrap())
                .decode_utf8_lossy(),
        )
        .unwrap();
        assert_eq!(
            trust["Statement"][0]["Principal"]["Service"],
            json!(["lambda.amazonaws.com"]),
            "{role_name}"
        );
        let attached = aws
            .iam
            .list_attached_role_policies()
            .role_name(&role_name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            attached
                .attached_policies()
                .iter()
                .map(|p| p.policy_arn().unwrap())
                .collect::<Vec<_>>(),
            ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
        );
        let inline = aws
            .iam
            .list_role_policies()
            .role_name(&role_name)
            .send()
            .await
            .unwrap();
        match action {
            None => assert!(inline.policy_names().is_empty(), "{role_name}"),
            Some(action) => {
                assert_eq!(inline.policy_names(), ["provisioner-allow"]);
                let doc = aws
                    .iam
                    .get_role_policy()
                    .role_name(&role_name)
                    .policy_name("provisioner-allow")
                    .send()
                    .await
                    .unwrap();
                let doc: Value = serde_json::from_str(
                    &percent_encoding::percent_decode_str(doc.policy_document())
                        .decode_utf8_lossy(),
                )
                .unwrap();
                assert_eq!(
                    doc["Statement"],
                    json!([{ "Effect": "Allow", "Action": [action], "Resource": [pool_arn] }]),
                    "{role_name}"
                );
            }
        }
    }

    // Functions: settings, environment, tag, log group, permissions.
    for function in FUNCTIONS {
        let name = format!("{stack}-{function}");
        let found = aws
            .lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        let config = found.configuration().unwrap();
        assert_eq!(
            config.runtime().map(|r| r.as_str()),
            Some("provided.al2023")
        );
        assert_eq!(config.handler(), Some("bootstrap"));
        assert_eq!(config.memory_size(), Some(128));
        assert_eq!(config.timeout(), Some(10));
        assert_eq!(
            config.role(),
            Some(format!("arn:aws:iam::123456789012:role/{name}-role").as_str())
        );
        let environment = config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        if function == "secret" {
            assert!(environment.is_empty(), "{environment:?}");
        } else {
            assert_eq!(
                environment,
                std::collections::HashMap::from([(
                    "USER_POOL_CLIENT_ID".to_owned(),
                    client_id.clone()
                )])
            );
        }
        assert_eq!(found.tags().unwrap()["provisioner:stack"], stack);
        let groups = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(format!("/aws/lambda/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(groups.log_groups()[0].retention_in_days(), Some(14));

        let policy = aws
            .lambda
            .get_policy()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "one statement per route: {policy}");
        let (method, path) = match function {
            "secret" => ("GET", "secret"),
            other => ("POST", other),
        };
        assert_eq!(
            statements[0]["Condition"]["ArnLike"]["AWS:SourceArn"],
            format!("arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/{method}/{path}")
        );
        assert_eq!(
            statements[0]["Principal"]["Service"],
            "apigateway.amazonaws.com"
        );
    }

    // The API: resource tree, methods, authorizer, integrations, stage on the latest deployment.
    let resources = aws
        .apigateway
        .get_resources()
        .rest_api_id(&api_id)
        .embed("methods")
        .send()
        .await
        .unwrap();
    let paths: BTreeSet<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    assert_eq!(
        paths,
        BTreeSet::from(["/", "/confirm", "/secret", "/sign-in", "/sign-up"])
    );
    let authorizers = aws
        .apigateway
        .get_authorizers()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let [authorizer] = authorizers.items() else {
        panic!("one authorizer: {authorizers:?}");
    };
    assert_eq!(authorizer.name(), Some("cognito"));
    assert_eq!(
        authorizer.r#type().map(|t| t.as_str()),
        Some("COGNITO_USER_POOLS")
    );
    assert_eq!(authorizer.provider_arns(), std::slice::from_ref(&pool_arn));
    assert_eq!(
        authorizer.identity_source(),
        Some("method.request.header.Authorization")
    );
    for resource in resources.items() {
        let path = resource.path().unwrap();
        let methods = resource.resource_methods().cloned().unwrap_or_default();
        if path == "/" {
            assert!(methods.is_empty());
            continue;
        }
        let function = &path[1..];
        let (method_name, authorization) = if function == "secret" {
            ("GET", "COGNITO_USER_POOLS")
        } else {
            ("POST", "NONE")
        };
        assert_eq!(methods.len(), 1, "{path}: {methods:?}");
        let method = &methods[method_name];
        assert_eq!(method.authorization_type(), Some(authorization), "{path}");
        if function == "secret" {
            assert_eq!(method.authorizer_id(), authorizer.id());
        }
        let integration = method.method_integration().unwrap();
        assert_eq!(integration.r#type().map(|t| t.as_str()), Some("AWS_PROXY"));
        assert_eq!(integration.http_method(), Some("POST"));
        assert_eq!(
            integration.uri(),
            Some(format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{stack}-{function}/invocations").as_str())
        );
    }
    let deployments = aws
        .apigateway
        .get_deployments()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    assert_eq!(deployments.items().len(), 1, "one deployment");
    let stage = aws
        .apigateway
        .get_stage()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(stage.deployment_id(), deployments.items()[0].id());

    // Right after: nothing to change, and a second `up` writes nothing.
    let plan = diff(&file, &stack, 0);
    assert!(changed(&plan).is_empty(), "{plan:#}");
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0})
    );
    let again = up(&file, &stack, &[]);
    assert_eq!(again["calls"]["writes"], 0, "{:#}", again["calls"]);
    assert!(again["calls"]["reads"].as_u64().unwrap() > 0);
    assert_eq!(again["outputs"], report["outputs"]);

    let down = json_from(
        &file,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
    assert!(down["retained"].as_array().unwrap().is_empty());
}

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
                .ends_with("Plan: 3 to create, 4 to update, 0 to replace, 0 to delete.\n"),
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
                ("APIGateway.PutMethod", 1),
                ("APIGateway.PutIntegration", 1),
                ("Lambda.AddPermission", 1),
                ("APIGateway.CreateDeployment", 1),
                ("APIGateway.UpdateStage", 1),
            ]
            .map(|(a, b)| (a.to_owned(), b))
        ),
        "only what changed is written"
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
        BTreeMap::from([("Lambda.UpdateFunctionCode".to_owned(), 1)])
    );

    json_from(
        &file,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}

#[tokio::test]
async fn drift_behind_the_tools_back_shows_in_diff_and_up_repairs_it() {
    let aws = aws().await;
    let stack = support::unique("drift");
    let file = support::write_stack(&[support::SIGN_UP_GRANT]);
    up(&file, &stack, &[]);
    let api_id = rest_api_id(&aws, &format!("{stack}-api")).await.unwrap();

    // A timeout changed in the console.
    aws.lambda
        .update_function_configuration()
        .function_name(format!("{stack}-sign-in"))
        .timeout(3)
        .send()
        .await
        .unwrap();
    // A method deleted.
    let resources = aws
        .apigateway
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let secret = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/secret"))
        .unwrap();
    aws.apigateway
        .delete_method()
        .rest_api_id(&api_id)
        .resource_id(secret.id().unwrap())
        .http_method("GET")
        .send()
        .await
        .unwrap();
    // A statement added to a role's policy.
    let role_name = format!("{stack}-sign-up-role");
    aws.iam
        .put_role_policy()
        .role_name(&role_name)
        .policy_name("provisioner-allow")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "cognito-idp:SignUp", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    // A permission removed.
    let confirm = format!("{stack}-confirm");
    let policy = aws
        .lambda
        .get_policy()
        .function_name(&confirm)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    aws.lambda
        .remove_permission()
        .function_name(&confirm)
        .statement_id(policy["Statement"][0]["Sid"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    // Code replaced.
    aws.lambda
        .update_function_code()
        .function_name(format!("{stack}-secret"))
        .zip_file(aws_sdk_lambda::primitives::Blob::new(
            std::fs::read(support::repo_root().join("target/lambda/confirm/bootstrap.zip"))
                .unwrap(),
        ))
        .send()
        .await
        .unwrap();

    // The log group recreated untagged, as Lambda does on a first invocation when it is missing.
    let group = format!("/aws/lambda/{stack}-secret");
    aws.logs
        .delete_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    aws.logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();

    let plan = diff(&file, &stack, 2);
    let drift = changed(&plan);
    for (address, action) in [
        ("functions.secret.logGroup", "update"),
        ("functions.sign-in", "update"),
        ("api.routes.GET /secret", "create"),
        ("functions.sign-up.role", "update"),
        ("functions.confirm.permissions", "update"),
        ("functions.secret", "update"),
        ("api.deployment", "create"),
    ] {
        assert_eq!(
            drift.get(address).map(String::as_str),
            Some(action),
            "{address} in {plan:#}"
        );
    }
    let report = up(&file, &stack, &[]);
    assert_eq!(calls(&report, "Lambda.UpdateFunctionCode"), 1);
    assert_eq!(calls(&report, "Lambda.UpdateFunctionConfiguration"), 1);
    assert_eq!(calls(&report, "IAM.PutRolePolicy"), 1);
    assert_eq!(calls(&report, "Lambda.AddPermission"), 1);
    let groups = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    let adopted = &groups.log_groups()[0];
    assert_eq!(adopted.retention_in_days(), Some(14));
    let tags = aws
        .logs
        .list_tags_for_resource()
        .resource_arn(adopted.log_group_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().unwrap()["provisioner:stack"], stack, "adopted");
    let plan = diff(&file, &stack, 0);
    assert!(changed(&plan).is_empty(), "{plan:#}");

    json_from(
        &file,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}

async fn sign_up_user(aws: &Aws, client_id: &str, username: &str) {
    aws.cognito
        .sign_up()
        .client_id(client_id)
        .username(username)
        .password("Passw0rd!x")
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value(format!("{username}@example.com"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn user_exists(aws: &Aws, pool_id: &str, username: &str) -> bool {
    aws.cognito
        .admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn an_immutable_pool_change_is_refused_unless_named_and_then_everything_follows_the_new_pool()
{
    let aws = aws().await;
    let stack = support::unique("guard");
    let file = support::write_stack(&[]);
    let report = up(&file, &stack, &[]);
    let pool_id = report["outputs"]["userPoolId"].as_str().unwrap().to_owned();
    let client_id = report["outputs"]["userPoolClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_up_user(&aws, &client_id, "ada").await;

    let immutable = support::write_stack(&[(
        "    selfSignUp: true\n",
        "    selfSignUp: true\n    usernameAttributes: [email]\n",
    )]);
    let plan = diff(&immutable, &stack, 2);
    let pool = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "userPools.users")
        .unwrap();
    assert_eq!(pool["action"], "replace");
    assert_eq!(pool["changes"][0]["field"], "usernameAttributes");
    assert_eq!(pool["changes"][0]["forcesReplacement"], true);

    let refused = on_emulator(&immutable, &stack, &["up", "--yes"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("error: refusing to replace:\nuserPools.users must be replaced (`usernameAttributes` cannot change in place)")
            && refused.stderr.contains("--allow-replace users")
            && refused.stderr.contains("nothing was changed"),
        "{}",
        refused.stderr
    );
    assert!(
        user_exists(&aws, &pool_id, "ada").await,
        "the users are still there"
    );
    diff(&file, &stack, 0);

    // Named, the replacement goes through, and everything that refers to the pool follows it.
    let replaced = up(&immutable, &stack, &["--allow-replace", "users"]);
    let new_pool = replaced["outputs"]["userPoolId"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_arn = replaced["outputs"]["userPoolArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_client = replaced["outputs"]["userPoolClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_pool, pool_id);
    assert_ne!(new_client, client_id);
    assert_eq!(
        calls(&replaced, "CognitoIdentityProvider.DeleteUserPool"),
        1
    );
    let described = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(&new_pool)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.user_pool().unwrap().username_attributes()[0].as_str(),
        "email"
    );
    let config = aws
        .lambda
        .get_function_configuration()
        .function_name(format!("{stack}-sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        config.environment().unwrap().variables().unwrap()["USER_POOL_CLIENT_ID"],
        new_client
    );
    let api_id = rest_api_id(&aws, &format!("{stack}-api")).await.unwrap();
    let authorizers = aws
        .apigateway
        .get_authorizers()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        authorizers.items()[0].provider_arns(),
        std::slice::from_ref(&new_arn)
    );
    diff(&immutable, &stack, 0);

    json_from(
        &immutable,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}

#[tokio::test]
async fn down_keeps_the_pool_and_foreign_things_and_up_adopts_the_pool() {
    let aws = aws().await;
    let stack = support::unique("down");
    let other = support::unique("other");
    let file = support::write_stack(&[]);

    // A role with this stack's name but not its tag is in the way: `up` refuses, changing nothing.
    let foreign_role = format!("{stack}-secret-role");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    aws.iam
        .create_role()
        .role_name(&foreign_role)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let blocked = on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(blocked.code, Some(1), "{}", blocked.stderr);
    assert!(
        blocked.stderr.contains(&format!(
            "functions.secret.role: IAM role `{foreign_role}` exists but is not this stack's"
        )),
        "{}",
        blocked.stderr
    );
    let pools = aws
        .cognito
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    assert!(
        !pools
            .user_pools()
            .iter()
            .any(|p| p.name() == Some(format!("{stack}-users").as_str())),
        "nothing was created"
    );
    aws.iam
        .delete_role()
        .role_name(&foreign_role)
        .send()
        .await
        .unwrap();

    // Two stacks up; a user in the first.
    let report = up(&file, &stack, &[]);
    up(&file, &other, &[]);
    let pool_id = report["outputs"]["userPoolId"].as_str().unwrap().to_owned();
    let client_id = report["outputs"]["userPoolClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_up_user(&aws, &client_id, "grace").await;

    let down = json_from(&file, &stack, &["down", "--yes", "--json"], 0);
    let retained: Vec<&str> = down["retained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(retained, ["userPools.users.clients.web", "userPools.users"]);
    assert_eq!(down["deleted"].as_array().unwrap().len(), 13, "{down:#}");
    assert!(user_exists(&aws, &pool_id, "grace").await);
    for function in FUNCTIONS {
        let name = format!("{stack}-{function}");
        assert!(
            aws.lambda
                .get_function()
                .function_name(&name)
                .send()
                .await
                .is_err()
        );
        assert!(
            aws.iam
                .get_role()
                .role_name(format!("{name}-role"))
                .send()
                .await
                .is_err()
        );
        let groups = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(format!("/aws/lambda/{name}"))
            .send()
            .await
            .unwrap();
        assert!(groups.log_groups().is_empty(), "{name}");
    }
    assert_eq!(rest_api_id(&aws, &format!("{stack}-api")).await, None);
    // The other stack is untouched.
    for function in FUNCTIONS {
        aws.lambda
            .get_function()
            .function_name(format!("{other}-{function}"))
            .send()
            .await
            .expect("the other stack's function");
    }
    assert!(rest_api_id(&aws, &format!("{other}-api")).await.is_some());

    // A same-named untagged role appears; a second `down` deletes nothing and leaves it.
    aws.iam
        .create_role()
        .role_name(&foreign_role)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let again = json_from(&file, &stack, &["down", "--yes", "--json"], 0);
    assert!(again["deleted"].as_array().unwrap().is_empty(), "{again:#}");
    assert_eq!(again["calls"]["writes"], 0);
    aws.iam
        .get_role()
        .role_name(&foreign_role)
        .send()
        .await
        .expect("left alone");
    aws.iam
        .delete_role()
        .role_name(&foreign_role)
        .send()
        .await
        .unwrap();

    // `up` adopts the retained pool: same id, users intact, no new pool.
    let adopted = up(&file, &stack, &[]);
    assert_eq!(adopted["outputs"]["userPoolId"], pool_id.as_str());
    assert_eq!(adopted["outputs"]["userPoolClientId"], client_id.as_str());
    assert_eq!(calls(&adopted, "CognitoIdentityProvider.CreateUserPool"), 0);
    assert!(user_exists(&aws, &pool_id, "grace").await);

    for name in [&stack, &other] {
        json_from(
            &file,
            name,
            &["down", "--yes", "--json", "--delete-data"],
            0,
        );
    }
    assert!(!user_exists(&aws, &pool_id, "grace").await);
}

#[tokio::test]
async fn what_stack_yaml_no_longer_declares_is_deleted_and_a_prefixed_stack_is_not() {
    let aws = aws().await;
    let stack = support::unique("gone");
    // Its functions are named `<stack>-x-...`: they share this stack's name prefix, not its tag.
    let neighbour = format!("{stack}-x");
    let file = support::write_stack(&[]);
    up(&file, &stack, &[]);
    up(&file, &neighbour, &[]);

    let without_secret = support::write_stack(&[
        ("  secret:\n    crate: handlers/secret\n", ""),
        (
            "    GET /secret: { function: secret, authorizer: cognito }\n",
            "",
        ),
    ]);
    let plan = diff(&without_secret, &stack, 2);
    assert_eq!(
        changed(&plan),
        BTreeMap::from(
            [
                ("functions.secret", "delete"),
                ("functions.secret.logGroup", "delete"),
                ("functions.secret.role", "delete"),
                ("api.resources./secret", "delete"),
                ("api.routes.GET /secret", "delete"),
                ("api.deployment", "create"),
                ("api.stages.prod", "update"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        ),
        "{plan:#}"
    );
    let report = up(&without_secret, &stack, &[]);
    assert_eq!(calls(&report, "Lambda.DeleteFunction"), 1);
    assert!(
        aws.lambda
            .get_function()
            .function_name(format!("{stack}-secret"))
            .send()
            .await
            .is_err()
    );
    assert!(
        aws.iam
            .get_role()
            .role_name(format!("{stack}-secret-role"))
            .send()
            .await
            .is_err()
    );
    diff(&without_secret, &stack, 0);
    // The neighbour is whole.
    diff(&file, &neighbour, 0);

    json_from(
        &without_secret,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
    json_from(
        &file,
        &neighbour,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}

/// `provisioner up` on a terminal (a pseudo-terminal from util-linux `script`): waits for the
/// question, calls `before_answer`, answers, and returns the exit code and everything printed.
fn up_on_a_terminal(
    file: &Path,
    stack: &str,
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
        .env("AWS_ENDPOINT_URL", support::emulator())
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
async fn on_a_terminal_up_asks_first_and_a_failed_call_ends_with_a_summary_a_rerun_finishes() {
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
    let (code, said) = up_on_a_terminal(&changed_file, &stack, "no", || {});
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("nothing was changed: the answer was not `yes`"),
        "{said}"
    );
    diff(&changed_file, &stack, 2);

    // Someone creates the function between the plan and the answer: CreateFunction fails, the run
    // stops with what was done and what was not.
    let extra = format!("{stack}-extra");
    let (code, said) = up_on_a_terminal(&changed_file, &stack, "yes", || {
        let zip =
            std::fs::read(support::repo_root().join("target/lambda/secret/bootstrap.zip")).unwrap();
        let role = format!("arn:aws:iam::123456789012:role/{stack}-secret-role");
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
        said.contains("failed: functions.extra")
            && said.contains("functions.extra: creating")
            && said.contains("hint: fix the cause and run again: every step is safe to repeat"),
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
    up(&changed_file, &stack, &[]);
    diff(&changed_file, &stack, 0);

    json_from(
        &changed_file,
        &stack,
        &["down", "--yes", "--json", "--delete-data"],
        0,
    );
}

/// In `aws-cn` every ARN the stack writes carries the partition: a hard-coded `arn:aws:` in the
/// permission's SourceArn never matches there, and every route would answer 500.
#[tokio::test]
async fn a_stack_in_cn_north_1_writes_every_arn_in_the_aws_cn_partition() {
    // The emulator has no Cognito in China regions: a function behind an open route.
    let dir = support::repo_root()
        .join("target/e2e-stacks")
        .join(support::unique("cn"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stack.yaml");
    std::fs::write(
        &file,
        "stack: cn\nregions: [cn-north-1]\nfunctions:\n  secret:\n    crate: ../../../handlers/secret\napi:\n  routes:\n    GET /secret: { function: secret }\n",
    )
    .unwrap();
    let stack = support::unique("cn");
    fn in_china<'a>(args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["--region", "cn-north-1"]);
        all
    }
    let up = json_from(&file, &stack, &in_china(&["up", "--yes", "--json"]), 0);
    let api_id = up["outputs"]["apiId"].as_str().expect("apiId").to_owned();
    assert_eq!(
        up["outputs"]["apiUrl"],
        format!("https://{api_id}.execute-api.cn-north-1.amazonaws.com.cn/prod/")
    );

    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("cn-north-1"))
        .endpoint_url(support::emulator())
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = format!("{stack}-secret");
    let policy = lambda
        .get_policy()
        .function_name(&function)
        .send()
        .await
        .expect("the function's policy");
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let source_arn = &policy["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"];
    assert_eq!(
        source_arn,
        &format!("arn:aws-cn:execute-api:cn-north-1:123456789012:{api_id}/*/GET/secret")
    );

    let apigateway = aws_sdk_apigateway::Client::new(&config);
    let resources = apigateway
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let secret = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/secret"))
        .expect("/secret");
    let integration = apigateway
        .get_integration()
        .rest_api_id(&api_id)
        .resource_id(secret.id().unwrap())
        .http_method("GET")
        .send()
        .await
        .unwrap();
    assert_eq!(
        integration.uri(),
        Some(format!("arn:aws-cn:apigateway:cn-north-1:lambda:path/2015-03-31/functions/arn:aws-cn:lambda:cn-north-1:123456789012:function:{function}/invocations").as_str())
    );

    let iam = aws_sdk_iam::Client::new(&config);
    let attached = iam
        .list_attached_role_policies()
        .role_name(format!("{stack}-secret-role"))
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(
        arns,
        ["arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    );

    // The plan reads back equal, and the stack comes down.
    json_from(&file, &stack, &in_china(&["diff", "--json"]), 0);
    json_from(&file, &stack, &in_china(&["down", "--yes", "--json"]), 0);
}

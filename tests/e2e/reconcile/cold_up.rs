//! A cold `up` of the tutorial stack, read back with the SDK; then nothing changes.

use super::*;

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
        let role_name = role_name(&stack, function);
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
            Some(format!("arn:aws:iam::123456789012:role/use1-{name}").as_str())
        );
        let environment = config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        // Every function behind the API is told the origins `api.cors` allows.
        let mut expected = std::collections::HashMap::from([(
            "CORS_ALLOW_ORIGINS".to_owned(),
            "http://localhost:8000".to_owned(),
        )]);
        if function != "secret" {
            expected.insert("USER_POOL_CLIENT_ID".to_owned(), client_id.clone());
        }
        if function == "refresh" {
            // The client's `rotateRefreshTokens`, as stack.yaml says it.
            expected.insert("REFRESH_TOKEN_ROTATION".to_owned(), "false".to_owned());
        }
        assert_eq!(environment, expected);
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
    let paths: BTreeSet<String> = resources
        .items()
        .iter()
        .filter_map(|r| r.path().map(str::to_owned))
        .collect();
    let routed = FUNCTIONS.iter().map(|f| format!("/{f}"));
    assert_eq!(
        paths,
        std::iter::once("/".to_owned()).chain(routed).collect()
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
        // The route's method, and the preflight `api.cors` adds (tested in `cors`).
        assert_eq!(methods.len(), 2, "{path}: {methods:?}");
        assert!(methods.contains_key("OPTIONS"), "{path}");
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
    // Its reads: GetCallerIdentity, then three rounds (ListUserPools; the pool and its clients'
    // list; the client), and that is the whole run.
    assert_eq!(plan["readDepth"], 4, "{plan:#}");
    assert_eq!(plan["runCriticalPath"], 4, "{plan:#}");
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

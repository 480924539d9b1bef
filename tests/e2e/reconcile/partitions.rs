//! Every ARN in the detected partition (a stack in cn-north-1).

use super::*;

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
        .role_name(format!("cnn1-{stack}-secret"))
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

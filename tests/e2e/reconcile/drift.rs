//! Drift made behind the tool's back shows in `diff`, and `up` repairs it.

use super::*;

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
    let role_name = role_name(&stack, "sign-up");
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

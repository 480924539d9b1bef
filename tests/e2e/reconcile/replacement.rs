//! An immutable pool change is refused unless named; then everything follows the new pool.

use super::*;

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
        refused.stderr.contains("error: refusing to replace or delete:\nuserPools.users must be replaced (`usernameAttributes` cannot change in place)")
            && refused.stderr.contains("--allow-replace userPools.users`")
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

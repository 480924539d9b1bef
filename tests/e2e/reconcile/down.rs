//! `down` keeps the pool and what is not ours; the next `up` adopts the pool.

use super::*;

#[tokio::test]
async fn down_keeps_the_pool_and_foreign_things_and_up_adopts_the_pool() {
    let aws = aws().await;
    let stack = support::unique("down");
    let other = support::unique("other");
    let file = support::write_stack(&[]);

    // A role with this stack's name but not its tag is in the way: `up` refuses, changing nothing.
    let foreign_role = role_name(&stack, "secret");
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
    assert!(
        !pool_named(&aws, &format!("{stack}-users")).await,
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
    // The API, and each function with its role and log group.
    assert_eq!(
        down["deleted"].as_array().unwrap().len(),
        1 + 3 * FUNCTIONS.len(),
        "{down:#}"
    );
    // `up --json`'s shape: the changes, their summary, the calls.
    assert_eq!(down["changes"], down["deleted"]);
    assert_eq!(
        down["summary"],
        serde_json::json!({ "create": 0, "update": 0, "replace": 0, "delete": 1 + 3 * FUNCTIONS.len() })
    );
    assert!(down["calls"]["writes"].as_u64().unwrap() > 0, "{down:#}");
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
                .role_name(format!("use1-{name}"))
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

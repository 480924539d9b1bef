//! A pool of the stack's exact name that lost its ownership tag is never forked: `up` refuses with
//! nothing written and names `provisioner adopt`, which takes it over (users and all).

use super::*;

#[tokio::test]
async fn an_untagged_pool_is_refused_then_adopted_with_its_users() {
    let aws = aws().await;
    let stack = support::unique("adopt");
    let file = support::write_stack(&[]);
    let report = up(&file, &stack, &[]);
    let pool_id = report["outputs"]["userPoolId"].as_str().unwrap().to_owned();
    let client_id = report["outputs"]["userPoolClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_up_user(&aws, &client_id, "ada").await;

    // Its tag goes behind the tool's back, nothing else (on AWS, a tag removed by hand; the
    // emulator has no UntagResource, and its UpdateUserPool without tags drops them).
    use aws_sdk_cognitoidentityprovider::types::{
        AccountRecoverySettingType, DeletionProtectionType, RecoveryOptionNameType,
        RecoveryOptionType, VerifiedAttributeType,
    };
    aws.cognito
        .update_user_pool()
        .user_pool_id(&pool_id)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .deletion_protection(DeletionProtectionType::Active)
        .account_recovery_setting(
            AccountRecoverySettingType::builder()
                .recovery_mechanisms(
                    RecoveryOptionType::builder()
                        .name(RecoveryOptionNameType::VerifiedEmail)
                        .priority(1)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let described = aws
        .cognito
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .unwrap();
    let tags = described.user_pool().unwrap().user_pool_tags();
    assert!(
        tags.is_none_or(|tags| !tags.contains_key("provisioner:stack")),
        "the tag is gone: {tags:?}"
    );

    // `up` refuses: nothing written, the way out named.
    let refused = on_emulator(&file, &stack, &["up", "--yes", "-v"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "userPools.users: a user pool of this stack's name exists without any ownership tag (`provisioner:stack={stack}`): `{stack}-users` ({pool_id})"
        )) && refused
            .stderr
            .contains("`provisioner adopt userPools.users`"),
        "{}",
        refused.stderr
    );
    assert_eq!(logged_writes(&refused.stderr), Vec::<String>::new());
    let plan = diff(&file, &stack, 1);
    assert!(plan["blockers"].as_array().unwrap().len() == 1, "{plan:#}");

    // Without a terminal, `adopt` needs `--yes`; an address that is not a pool is a usage error.
    let unconfirmed = on_emulator(&file, &stack, &["adopt", "userPools.users"]);
    assert_eq!(unconfirmed.code, Some(1), "{}", unconfirmed.stderr);
    assert!(
        unconfirmed.stderr.contains("`--yes` was not given"),
        "{}",
        unconfirmed.stderr
    );
    let wrong = on_emulator(&file, &stack, &["adopt", "userPools.user", "--yes"]);
    assert_eq!(wrong.code, Some(64), "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("did you mean `userPools.users`?"),
        "{}",
        wrong.stderr
    );

    let adopted = on_emulator(&file, &stack, &["adopt", "userPools.users", "--yes"]);
    assert_eq!(adopted.code, Some(0), "{}", adopted.stderr);
    assert!(
        adopted
            .stderr
            .contains(&format!("user pool `{stack}-users` ({pool_id})"))
            && adopted.stderr.contains("userPools.users: adopted"),
        "{}",
        adopted.stderr
    );
    diff(&file, &stack, 0);
    assert!(
        user_exists(&aws, &pool_id, "ada").await,
        "the users are there"
    );
    let again = on_emulator(&file, &stack, &["adopt", "userPools.users", "--yes"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(
        again.stderr.contains("nothing to adopt"),
        "{}",
        again.stderr
    );
}

//! The user pool kind against the emulator: create (tagged in the same call), find by name and
//! tag, diff live against desired, and repair drift with a full-configuration update.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AdminCreateUserConfigType, DeletionProtectionType};
use provisioner::kinds::user_pool::{self, PoolSettings, UserPoolError};
use provisioner::plan::Action;
use provisioner::spec::{OWNERSHIP_TAG, UserPool, VerifiedAttribute};

use crate::support;

/// The repository's `users` pool, renamed for a stack of this test's own.
fn desired(stack: &str) -> UserPool {
    support::repo_stack(stack).user_pools["users"].clone()
}

/// What the plan wants of `live` for `pool` (which does not write `caseSensitiveUsernames`, so
/// the pool keeps what it has). The emulator's UpdateUserPool drops the pool's username
/// configuration (AWS keeps it: it cannot change), so after an update the emulator reports the
/// pool case sensitive.
fn as_planned(pool: &UserPool, live: &user_pool::LivePool) -> PoolSettings {
    PoolSettings {
        case_sensitive_usernames: live.settings.case_sensitive_usernames,
        ..PoolSettings::desired(pool, &Default::default())
    }
}

async fn client() -> Client {
    Client::new(&support::sdk_config().await)
}

#[tokio::test]
async fn a_created_pool_is_found_by_name_and_tag_and_is_in_sync() {
    let (client, stack) = (client().await, support::unique("pool-create"));
    let pool = desired(&stack);
    assert_eq!(pool.physical_name, format!("{stack}-users"));
    assert_eq!(
        user_pool::find_owned(&client, &pool.physical_name, &stack)
            .await
            .unwrap(),
        None
    );

    let created = user_pool::create(&client, (&stack, &Default::default()), &pool)
        .await
        .unwrap();
    assert_eq!(created.tags.get(OWNERSHIP_TAG), Some(&stack));
    assert!(
        created.arn.ends_with(&format!(":userpool/{}", created.id)),
        "{}",
        created.arn
    );

    let found = user_pool::find_owned(&client, &pool.physical_name, &stack)
        .await
        .unwrap()
        .expect("the created pool");
    assert_eq!(found.id, created.id);
    assert_eq!(
        found.settings,
        PoolSettings::desired(&pool, &Default::default())
    );
    assert_eq!(
        user_pool::diff(
            &found.settings,
            &PoolSettings::desired(&pool, &Default::default())
        ),
        Action::NoOp
    );
    // What the tutorial asks for, read back from AWS.
    assert!(found.settings.self_sign_up && found.settings.deletion_protection);
    assert_eq!(found.settings.auto_verify, vec![VerifiedAttribute::Email]);
}

#[tokio::test]
async fn drift_made_behind_our_back_shows_as_an_update_and_update_repairs_it() {
    let (client, stack) = (client().await, support::unique("pool-drift"));
    let pool = desired(&stack);
    let created = user_pool::create(&client, (&stack, &Default::default()), &pool)
        .await
        .unwrap();

    // Someone turns off deletion protection and self sign-up in the console.
    client
        .update_user_pool()
        .user_pool_id(&created.id)
        .deletion_protection(DeletionProtectionType::Inactive)
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(true)
                .build(),
        )
        .set_user_pool_tags(Some(created.tags.clone()))
        .send()
        .await
        .unwrap();
    let drifted = user_pool::find_owned(&client, &pool.physical_name, &stack)
        .await
        .unwrap()
        .unwrap();
    let fields: Vec<&str> = match user_pool::diff(&drifted.settings, &as_planned(&pool, &drifted)) {
        Action::Update { changes } => changes.iter().map(|c| c.field).collect(),
        other => panic!("expected an update, got {other:?}"),
    };
    // The console's partial UpdateUserPool also reset what it did not send (auto-verification,
    // account recovery), as AWS documents: the diff shows every one of them.
    assert_eq!(
        fields,
        [
            "selfSignUp",
            "autoVerify",
            "accountRecovery",
            "deletionProtection"
        ]
    );

    user_pool::update(&client, (&stack, &Default::default()), &drifted, &pool)
        .await
        .unwrap();
    let repaired = user_pool::find_owned(&client, &pool.physical_name, &stack)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        repaired.id, created.id,
        "an update keeps the pool (and its users)"
    );
    assert_eq!(
        user_pool::diff(&repaired.settings, &as_planned(&pool, &repaired)),
        Action::NoOp
    );
    assert_eq!(
        repaired.tags.get(OWNERSHIP_TAG),
        Some(&stack),
        "the update keeps the ownership tag"
    );
}

#[tokio::test]
async fn a_same_named_pool_without_our_tag_is_foreign() {
    let (client, stack) = (client().await, support::unique("pool-foreign"));
    let pool = desired(&stack);
    client
        .create_user_pool()
        .pool_name(&pool.physical_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        user_pool::find_owned(&client, &pool.physical_name, &stack)
            .await
            .unwrap(),
        None
    );
    let by_name = user_pool::find_by_name(&client, &pool.physical_name)
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert!(!by_name[0].owned_by(&stack));
}

#[tokio::test]
async fn two_tagged_pools_of_one_name_are_an_error_not_a_guess() {
    let (client, stack) = (client().await, support::unique("pool-twice"));
    let pool = desired(&stack);
    let first = user_pool::create(&client, (&stack, &Default::default()), &pool)
        .await
        .unwrap();
    let second = user_pool::create(&client, (&stack, &Default::default()), &pool)
        .await
        .unwrap();
    match user_pool::find_owned(&client, &pool.physical_name, &stack).await {
        Err(UserPoolError::Ambiguous {
            count: 2, mut ids, ..
        }) => {
            ids.sort();
            let mut want = vec![first.id, second.id];
            want.sort();
            assert_eq!(ids, want);
        }
        other => panic!("expected an ambiguity error, got {other:?}"),
    }
}

#[tokio::test]
async fn changing_how_users_sign_in_is_a_replacement() {
    let (client, stack) = (client().await, support::unique("pool-replace"));
    let mut pool = desired(&stack);
    let created = user_pool::create(&client, (&stack, &Default::default()), &pool)
        .await
        .unwrap();
    pool.username_attributes = vec![VerifiedAttribute::Email];
    match user_pool::diff(
        &created.settings,
        &PoolSettings::desired(&pool, &Default::default()),
    ) {
        Action::Replace { changes } => {
            assert_eq!(changes.len(), 1);
            assert_eq!(
                (changes[0].field, changes[0].forces_replacement),
                ("usernameAttributes", true)
            );
        }
        other => panic!("expected a replacement, got {other:?}"),
    }
}

/// The app client of the repository's pool: created, found, in sync; drift in its auth flows
/// repaired in place.
#[tokio::test]
async fn the_app_client_is_created_found_and_repaired() {
    use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
    use provisioner::kinds::user_pool_client::{self, ClientSettings};

    let (client, stack) = (client().await, support::unique("client"));
    let pool = desired(&stack);
    let app = &pool.clients["web"];
    assert_eq!(app.physical_name, format!("{stack}-web"));
    let live_pool = user_pool::create(&client, (&stack, &Default::default()), &pool)
        .await
        .unwrap();
    assert_eq!(
        user_pool_client::find(&client, &live_pool.id, &app.physical_name)
            .await
            .unwrap(),
        None
    );

    let created = user_pool_client::create(&client, &live_pool.id, app)
        .await
        .unwrap();
    let found = user_pool_client::find(&client, &live_pool.id, &app.physical_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, created);
    assert_eq!(
        found.settings.auth_flows,
        ["REFRESH_TOKEN_AUTH", "USER_PASSWORD_AUTH"]
    );
    assert!(!found.settings.generate_secret);
    assert_eq!(
        user_pool_client::diff(&found.settings, &ClientSettings::desired(app)),
        Action::NoOp
    );

    client
        .update_user_pool_client()
        .user_pool_id(&live_pool.id)
        .client_id(&found.id)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .send()
        .await
        .unwrap();
    let drifted = user_pool_client::find(&client, &live_pool.id, &app.physical_name)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        user_pool_client::diff(&drifted.settings, &ClientSettings::desired(app)),
        Action::Update { changes } if changes.len() == 1 && changes[0].field == "authFlows"
    ));
    user_pool_client::update(&client, &live_pool.id, &drifted, app)
        .await
        .unwrap();
    let repaired = user_pool_client::find(&client, &live_pool.id, &app.physical_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(repaired.id, created.id);
    assert_eq!(
        user_pool_client::diff(&repaired.settings, &ClientSettings::desired(app)),
        Action::NoOp
    );
}

/// UpdateUserPool resets every setting it is not sent. Settings stack.yaml does not manage, set
/// by someone else (a trigger, device tracking, attribute-update rules, the invitation and
/// verification messages, temporary password validity), survive an update of one it manages.
#[tokio::test]
async fn an_update_keeps_the_settings_stack_yaml_does_not_manage() {
    use aws_sdk_cognitoidentityprovider::types::{
        DeviceConfigurationType, LambdaConfigType, MessageTemplateType, PasswordPolicyType,
        UserAttributeUpdateSettingsType, UserPoolPolicyType, VerificationMessageTemplateType,
        VerifiedAttributeType,
    };
    let (client, stack) = (client().await, support::unique("pool-kept"));
    let pool = desired(&stack);
    let created = user_pool::create(&client, (&stack, &Default::default()), &pool)
        .await
        .unwrap();
    let trigger = "arn:aws:lambda:us-east-1:123456789012:function:someone-elses-pre-sign-up";
    // Someone sets what stack.yaml does not manage (with everything the tool manages as it is).
    client
        .update_user_pool()
        .user_pool_id(&created.id)
        .lambda_config(LambdaConfigType::builder().pre_sign_up(trigger).build())
        .device_configuration(
            DeviceConfigurationType::builder()
                .challenge_required_on_new_device(true)
                .build(),
        )
        .user_attribute_update_settings(
            UserAttributeUpdateSettingsType::builder()
                .attributes_require_verification_before_update(VerifiedAttributeType::Email)
                .build(),
        )
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(false)
                .invite_message_template(
                    MessageTemplateType::builder()
                        .email_subject("Welcome")
                        .email_message("Your name is {username}, code {####}")
                        .build(),
                )
                .build(),
        )
        .verification_message_template(
            VerificationMessageTemplateType::builder()
                .email_subject("Your code")
                .email_message("The code is {####}")
                .build(),
        )
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(8)
                        .require_lowercase(true)
                        .require_uppercase(true)
                        .require_numbers(true)
                        .require_symbols(true)
                        .temporary_password_validity_days(3)
                        .build(),
                )
                .build(),
        )
        .deletion_protection(DeletionProtectionType::Active)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .account_recovery_setting(
            aws_sdk_cognitoidentityprovider::types::AccountRecoverySettingType::builder()
                .recovery_mechanisms(
                    aws_sdk_cognitoidentityprovider::types::RecoveryOptionType::builder()
                        .name(aws_sdk_cognitoidentityprovider::types::RecoveryOptionNameType::VerifiedEmail)
                        .priority(1)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .set_user_pool_tags(Some(created.tags.clone()))
        .send()
        .await
        .unwrap();
    let live = user_pool::find_owned(&client, &pool.physical_name, &stack)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user_pool::diff(&live.settings, &as_planned(&pool, &live)),
        Action::NoOp,
        "what stack.yaml manages was sent as it is"
    );

    // A managed setting changes: the password policy's minimum length.
    let mut longer = pool.clone();
    longer.password_policy.min_length = 12;
    user_pool::update(&client, (&stack, &Default::default()), &live, &longer)
        .await
        .unwrap();
    let after = client
        .describe_user_pool()
        .user_pool_id(&created.id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let policy = after.policies().and_then(|p| p.password_policy()).unwrap();
    assert_eq!(policy.minimum_length(), Some(12), "the change was applied");
    assert_eq!(policy.temporary_password_validity_days(), 3);
    assert_eq!(
        after.lambda_config().and_then(|c| c.pre_sign_up()),
        Some(trigger),
        "the trigger survives: {after:#?}"
    );
    assert!(
        after
            .device_configuration()
            .is_some_and(|d| d.challenge_required_on_new_device())
    );
    assert_eq!(
        after
            .user_attribute_update_settings()
            .map(|s| s.attributes_require_verification_before_update().to_vec()),
        Some(vec![VerifiedAttributeType::Email])
    );
    let invite = after
        .admin_create_user_config()
        .and_then(|c| c.invite_message_template());
    assert_eq!(invite.and_then(|t| t.email_subject()), Some("Welcome"));
    let template = after.verification_message_template().unwrap();
    assert_eq!(template.email_subject(), Some("Your code"));
    assert_eq!(
        template.default_email_option(),
        Some(&aws_sdk_cognitoidentityprovider::types::DefaultEmailOptionType::ConfirmWithCode)
    );
    user_pool::delete(&client, &stack, &live, &pool)
        .await
        .unwrap();
}

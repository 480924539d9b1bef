//! An app client's settings people change, on the emulator: token validities and
//! `preventUserExistenceErrors` made with a new client, changed in place (the client's id kept),
//! and nothing to do after.

use crate::support;

const CLIENT: &str = "        readAttributes: [email, email_verified]\n";

async fn client(stack: &str) -> aws_sdk_cognitoidentityprovider::types::UserPoolClientType {
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&support::sdk_config().await);
    let (pool, id) = support::stack_pool_and_client(&cognito, stack).await;
    cognito
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(id)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
}

/// Minutes of a validity as Cognito reports it.
fn minutes(
    value: Option<i32>,
    unit: Option<&aws_sdk_cognitoidentityprovider::types::TimeUnitsType>,
) -> i32 {
    use aws_sdk_cognitoidentityprovider::types::TimeUnitsType;
    let value = value.unwrap_or_default();
    match unit {
        Some(TimeUnitsType::Minutes) => value,
        Some(TimeUnitsType::Hours) => value * 60,
        Some(TimeUnitsType::Days) => value * 24 * 60,
        other => panic!("unit {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_validities_and_user_existence_errors_are_set_and_changed_in_place() {
    let stack = support::unique("client");
    let file = support::write_stack(&[]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let made = client(&stack).await;
    assert_eq!(
        made.prevent_user_existence_errors().map(|p| p.as_str()),
        Some("ENABLED"),
        "a new client does not say whether a user exists"
    );
    let units = made.token_validity_units();
    assert_eq!(
        minutes(
            made.access_token_validity(),
            units.and_then(|u| u.access_token())
        ),
        60
    );
    assert_eq!(
        minutes(
            Some(made.refresh_token_validity()),
            units.and_then(|u| u.refresh_token())
        ),
        30 * 24 * 60
    );

    let changed = support::write_stack(&[(
        CLIENT,
        &format!("{CLIENT}        accessTokenValidity: 15m\n        refreshTokenValidity: 7d\n"),
    )]);
    let diff = support::on_emulator(&changed, &stack, &["diff"]);
    assert_eq!(diff.code, Some(2));
    assert!(
        diff.stdout.contains("accessTokenValidity: 1h -> 15m")
            && diff.stdout.contains("refreshTokenValidity: 30d -> 7d"),
        "{}",
        diff.stdout
    );
    let up = support::on_emulator(&changed, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let updated = client(&stack).await;
    assert_eq!(updated.client_id(), made.client_id(), "changed in place");
    let units = updated.token_validity_units();
    assert_eq!(
        minutes(
            updated.access_token_validity(),
            units.and_then(|u| u.access_token())
        ),
        15
    );
    assert_eq!(
        minutes(
            Some(updated.refresh_token_validity()),
            units.and_then(|u| u.refresh_token())
        ),
        7 * 24 * 60
    );
    let diff = support::on_emulator(&changed, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}", diff.stdout);

    let down = support::on_emulator(&changed, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// Rotation turned on in place: the client loses REFRESH_TOKEN_AUTH and gains Cognito's
/// `RefreshTokenRotation` with its grace, the refresh function is told (`REFRESH_TOKEN_ROTATION`
/// from the client's setting), and nothing is left to do after; turned off again, back as before.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_rotation_is_turned_on_in_place_and_the_refresh_function_told() {
    use aws_sdk_cognitoidentityprovider::types::FeatureType;
    const FLOWS: &str = "        authFlows: [USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH]\n";
    let stack = support::unique("rotate");
    let file = support::write_stack(&[]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let made = client(&stack).await;
    let rotation_told = || async {
        let lambda = aws_sdk_lambda::Client::new(&support::sdk_config().await);
        let config = lambda
            .get_function_configuration()
            .function_name(format!("{stack}-refresh"))
            .send()
            .await
            .unwrap();
        config
            .environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("REFRESH_TOKEN_ROTATION").cloned())
    };
    assert_eq!(rotation_told().await.as_deref(), Some("false"));

    let rotating = support::write_stack(&[
        (FLOWS, "        authFlows: [USER_PASSWORD_AUTH]\n"),
        (
            CLIENT,
            &format!(
                "{CLIENT}        rotateRefreshTokens: true\n        refreshTokenGracePeriod: 10s\n"
            ),
        ),
    ]);
    let diff = support::on_emulator(&rotating, &stack, &["diff"]);
    assert_eq!(diff.code, Some(2));
    assert!(
        diff.stdout
            .contains("refreshTokenRotation: off -> on (10s grace)"),
        "{}",
        diff.stdout
    );
    let up = support::on_emulator(&rotating, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let updated = client(&stack).await;
    assert_eq!(updated.client_id(), made.client_id(), "changed in place");
    let rotation = updated.refresh_token_rotation().expect("rotation sent");
    assert_eq!(
        (rotation.feature(), rotation.retry_grace_period_seconds()),
        (&FeatureType::Enabled, Some(10))
    );
    assert!(
        !updated
            .explicit_auth_flows()
            .iter()
            .any(|f| f.as_str() == "ALLOW_REFRESH_TOKEN_AUTH"),
        "{:?}",
        updated.explicit_auth_flows()
    );
    assert_eq!(rotation_told().await.as_deref(), Some("true"));
    let diff = support::on_emulator(&rotating, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}", diff.stdout);

    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let back = client(&stack).await;
    assert_eq!(
        back.refresh_token_rotation().map(|r| r.feature()),
        Some(&FeatureType::Disabled)
    );
    assert_eq!(rotation_told().await.as_deref(), Some("false"));

    let down = support::on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

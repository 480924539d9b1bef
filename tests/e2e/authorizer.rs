//! The Cognito authorizer of `serve` against tokens the emulator's Cognito really issues, verified
//! with the keys it publishes: an id token passes with its claims; an access token, or an id token of
//! another pool, does not.

use std::collections::BTreeSet;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, ExplicitAuthFlowsType};
use provisioner::serve::authorizer::{self, Authorizer, CachedAuthorizer, Rejected};
use provisioner::serve::fetch_jwks;

use crate::support;

/// A pool with one client and one confirmed user; returns (pool id, client id, id token, access token).
pub async fn pool_with_a_signed_in_user(cognito: &Client) -> (String, String, String, String) {
    let pool = cognito
        .create_user_pool()
        .pool_name(support::unique("authorizer"))
        .send()
        .await
        .unwrap();
    let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .read_attributes("email")
        .send()
        .await
        .unwrap();
    let client_id = client
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    cognito
        .sign_up()
        .client_id(&client_id)
        .username("ada")
        .password("Passw0rd!x")
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value("ada@example.com")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    cognito
        .admin_confirm_sign_up()
        .user_pool_id(&pool_id)
        .username("ada")
        .send()
        .await
        .unwrap();
    let auth = cognito
        .initiate_auth()
        .client_id(&client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ada")
        .auth_parameters("PASSWORD", "Passw0rd!x")
        .send()
        .await
        .unwrap();
    let tokens = auth.authentication_result().unwrap();
    (
        pool_id,
        client_id,
        tokens.id_token().unwrap().to_owned(),
        tokens.access_token().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn tokens_the_emulator_issues_are_checked_like_api_gateway_does() {
    let cognito = Client::new(&support::sdk_config().await);
    let (pool_id, client_id, id_token, access_token) = pool_with_a_signed_in_user(&cognito).await;
    let (_, _, other_pool_token, _) = pool_with_a_signed_in_user(&cognito).await;

    let url = authorizer::jwks_url(Some(support::emulator()), support::REGION, &pool_id);
    let jwks = tokio::task::spawn_blocking(move || fetch_jwks(&url))
        .await
        .unwrap()
        .expect("the emulator publishes the pool's keys");
    let authorizer = Authorizer::new(
        authorizer::issuer(support::REGION, &pool_id),
        BTreeSet::from([client_id]),
        &jwks,
    )
    .unwrap();

    let claims = authorizer
        .verify(Some(&format!("Bearer {id_token}")), &[])
        .expect("the id token is valid");
    assert_eq!(claims["cognito:username"], "ada");
    assert_eq!(claims["token_use"], "id");
    assert!(matches!(
        authorizer.verify(Some(&access_token), &[]),
        Err(Rejected::NotAnIdToken(used)) if used == "access"
    ));
    assert!(matches!(
        authorizer.verify(Some(&other_pool_token), &[]),
        Err(Rejected::Issuer(_))
    ));
    assert_eq!(authorizer.verify(None, &[]), Err(Rejected::NoToken));
    // A route with scopes: the access token Cognito issued at sign-in holds the sign-in scope and
    // is taken; the id token is not.
    let scopes = ["aws.cognito.signin.user.admin".to_owned()];
    let claims = authorizer
        .verify(Some(&format!("Bearer {access_token}")), &scopes)
        .expect("the access token holds the scope");
    assert_eq!(claims["username"], "ada");
    assert!(matches!(
        authorizer.verify(Some(&id_token), &scopes),
        Err(Rejected::NotAnAccessToken(used)) if used == "id"
    ));
}

#[tokio::test]
async fn keys_are_fetched_when_needed_and_again_for_a_key_they_lack() {
    let cognito = Client::new(&support::sdk_config().await);
    let (pool_id, client_id, id_token, _) = pool_with_a_signed_in_user(&cognito).await;
    let url = authorizer::jwks_url(Some(support::emulator()), support::REGION, &pool_id);
    let stale =
        std::fs::read_to_string(support::repo_root().join("tests/fixtures/jwt/jwks.json")).unwrap();
    let issuer = authorizer::issuer(support::REGION, &pool_id);
    tokio::task::spawn_blocking(move || {
        // Fetched on first use.
        let fresh = CachedAuthorizer::new(
            url.clone(),
            issuer.clone(),
            BTreeSet::from([client_id.clone()]),
            fetch_jwks,
        );
        let claims = fresh
            .verify(Some(&id_token), &[])
            .expect("verified with fetched keys");
        assert_eq!(claims["cognito:username"], "ada");

        // Known keys that lack the token's key: fetched again, then verified.
        let rotated = CachedAuthorizer::new(url, issuer, BTreeSet::from([client_id]), fetch_jwks)
            .with_keys(&stale)
            .unwrap();
        assert!(rotated.verify(Some(&id_token), &[]).is_ok());

        // Keys that cannot be fetched: refused, with the reason for the log.
        let unreachable = CachedAuthorizer::new(
            "http://127.0.0.1:9/none/.well-known/jwks.json".to_owned(),
            "x".to_owned(),
            BTreeSet::new(),
            fetch_jwks,
        );
        assert!(matches!(
            unreachable.verify(Some(&id_token), &[]),
            Err(Rejected::KeysUnavailable(_))
        ));
    })
    .await
    .unwrap();
}

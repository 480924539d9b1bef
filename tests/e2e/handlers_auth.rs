//! The handlers of complete auth (refresh, forgot and reset a password, the code again, sign
//! out), called as Lambda calls them, against Cognito on the emulator where it has the operation,
//! and against Cognito's replayed answers where it has not (`ResendConfirmationCode`,
//! `RevokeToken`) or where an answer it never gives must be shown.

use aws_smithy_mocks::{RuleMode, mock, mock_client};
use handler_common::Ctx;
use serde_json::{Value, json};

use crate::handlers::{
    PASSWORD, new_pool, post_json, provisioner_replay_json_error, reply, sign_in, sign_up,
};

async fn confirmed_user(ctx: &Ctx) -> String {
    let username = crate::support::unique("ada");
    assert_eq!(sign_up(ctx, &username).await.0, 200);
    let body = json!({ "username": username, "code": "123456" });
    assert_eq!(
        reply(confirm::handle(ctx, post_json("/confirm", body)).await).0,
        200
    );
    username
}

fn with_bearer(
    mut event: aws_lambda_events::apigw::ApiGatewayProxyRequest,
    token: &str,
) -> aws_lambda_events::apigw::ApiGatewayProxyRequest {
    event.headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    event
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_emailed_code_and_the_new_one_signs_in() {
    let ctx = new_pool().await;
    let username = confirmed_user(&ctx).await;
    let (status, body) = reply(
        forgot_password::handle(
            &ctx,
            post_json("/forgot-password", json!({ "username": username })),
        )
        .await,
    );
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some(forgot_password::SENT))
    );
    let new_password = "N3w!Passw0rd-x";
    let reset = json!({ "username": username, "code": "123456", "password": new_password });
    let (status, body) =
        reply(reset_password::handle(&ctx, post_json("/reset-password", reset)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(sign_in(&ctx, &username, new_password).await.0, 200);
    assert_eq!(sign_in(&ctx, &username, PASSWORD).await.0, 401);
}

#[tokio::test]
async fn refresh_gives_working_tokens_until_the_user_signs_out() {
    let ctx = new_pool().await;
    let username = confirmed_user(&ctx).await;
    let (_, tokens) = sign_in(&ctx, &username, PASSWORD).await;
    let refresh_token = tokens["refreshToken"].as_str().unwrap().to_owned();
    let refresh = || post_json("/refresh", json!({ "refreshToken": refresh_token }));
    let refresher = refresh::Refresh {
        ctx: ctx.clone(),
        rotation: false,
    };
    let (status, fresh) = reply(refresh::handle(&refresher, refresh()).await);
    assert_eq!(status, 200, "{fresh}");
    assert!(
        fresh["idToken"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert_eq!(fresh["tokenType"], "Bearer");
    assert!(
        fresh.get("refreshToken").is_none(),
        "a refresh answers no refresh token"
    );
    // The new access token is one Cognito takes.
    let access = fresh["accessToken"].as_str().unwrap();
    ctx.cognito
        .get_user()
        .access_token(access)
        .send()
        .await
        .expect("a working access token");

    // Sign-out needs the access token in `Authorization`.
    let body = json!({ "refreshToken": refresh_token });
    let (status, said) = reply(sign_out::handle(&ctx, post_json("/sign-out", body.clone())).await);
    assert_eq!(
        (
            status,
            said["message"]
                .as_str()
                .is_some_and(|m| m.contains("Bearer"))
        ),
        (401, true)
    );
    let (status, said) = reply(
        sign_out::handle(
            &ctx,
            with_bearer(post_json("/sign-out", body.clone()), access),
        )
        .await,
    );
    assert_eq!(status, 200, "{said}");
    // Signed out everywhere: the refresh token, and the access token, no longer work.
    let (status, refused) = reply(refresh::handle(&refresher, refresh()).await);
    assert_eq!(
        (status, refused["field"].as_str()),
        (401, Some("refreshToken")),
        "{refused}"
    );
    let (status, _) =
        reply(sign_out::handle(&ctx, with_bearer(post_json("/sign-out", body), access)).await);
    assert_eq!(status, 401, "a signed-out access token");
}

#[tokio::test]
async fn forgot_password_answers_a_username_that_does_not_exist_as_one_that_does() {
    let ctx = new_pool().await;
    let username = confirmed_user(&ctx).await;
    let ask = |username: &str| post_json("/forgot-password", json!({ "username": username }));
    let known = reply(forgot_password::handle(&ctx, ask(&username)).await);
    let unknown = reply(forgot_password::handle(&ctx, ask("nobody-at-all")).await);
    assert_eq!(known, unknown);
    assert_eq!(known.0, 200);
}

/// The emulator has no ResendConfirmationCode: Cognito's answers replayed. A user that does not
/// exist, is confirmed already, or met a per-user limit (only a real user can) gets the answer a
/// user waiting for a code gets; the account's request rate is a 429.
#[tokio::test]
async fn resend_code_answers_every_user_alike_replayed() {
    use aws_sdk_cognitoidentityprovider::operation::resend_confirmation_code::ResendConfirmationCodeOutput;
    /// Cognito's error answer: status, code, message.
    type Refusal = (u16, &'static str, &'static str);
    let answers: [(&str, Option<Refusal>); 4] = [
        ("sent", None),
        (
            "no such user",
            Some((
                400,
                "UserNotFoundException",
                "Username/client id combination not found.",
            )),
        ),
        (
            "confirmed already",
            Some((
                400,
                "InvalidParameterException",
                "User is already confirmed.",
            )),
        ),
        (
            "a real user's limit met",
            Some((
                400,
                "LimitExceededException",
                "Attempt limit exceeded, please try after some time.",
            )),
        ),
    ];
    let mut said = Vec::new();
    for (case, error) in answers {
        let rule = match error {
            None => mock!(aws_sdk_cognitoidentityprovider::Client::resend_confirmation_code)
                .then_output(|| ResendConfirmationCodeOutput::builder().build()),
            Some((status, code, message)) => {
                mock!(aws_sdk_cognitoidentityprovider::Client::resend_confirmation_code)
                    .then_http_response(move || {
                        provisioner_replay_json_error(status, code, message)
                    })
            }
        };
        let ctx = Ctx {
            cognito: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::Sequential,
                [&rule]
            ),
            client_id: "client".to_owned(),
        };
        let body = json!({ "username": "ada" });
        said.push((
            case,
            reply(resend_code::handle(&ctx, post_json("/resend-code", body)).await),
        ));
    }
    for (case, answer) in &said {
        assert_eq!(
            answer,
            &(200, json!({ "message": resend_code::SENT })),
            "{case}"
        );
    }
    let throttled = mock!(aws_sdk_cognitoidentityprovider::Client::resend_confirmation_code)
        .then_http_response(|| {
            provisioner_replay_json_error(400, "TooManyRequestsException", "Too many requests")
        });
    let ctx = Ctx {
        cognito: mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&throttled],
            |c| c.retry_config(
                aws_sdk_cognitoidentityprovider::config::retry::RetryConfig::disabled()
            )
        ),
        client_id: "client".to_owned(),
    };
    let body = json!({ "username": "ada" });
    assert_eq!(
        reply(resend_code::handle(&ctx, post_json("/resend-code", body)).await).0,
        429
    );
}

/// Replayed: a wrong code and a username that does not exist get one answer on reset-password.
#[tokio::test]
async fn reset_password_answers_a_wrong_code_and_an_unknown_user_alike_replayed() {
    let mut said: Vec<(i64, Value)> = Vec::new();
    for (code, message) in [
        (
            "CodeMismatchException",
            "Invalid verification code provided, please try again.",
        ),
        (
            "UserNotFoundException",
            "Username/client id combination not found.",
        ),
        (
            "ExpiredCodeException",
            "Invalid code provided, please request a code again.",
        ),
    ] {
        let rule = mock!(aws_sdk_cognitoidentityprovider::Client::confirm_forgot_password)
            .then_http_response(move || provisioner_replay_json_error(400, code, message));
        let ctx = Ctx {
            cognito: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::Sequential,
                [&rule]
            ),
            client_id: "client".to_owned(),
        };
        let body = json!({ "username": "ada", "code": "111111", "password": "N3w!Passw0rd-x" });
        said.push(reply(
            reset_password::handle(&ctx, post_json("/reset-password", body)).await,
        ));
    }
    assert!(said.windows(2).all(|w| w[0] == w[1]), "{said:?}");
    assert_eq!(
        (said[0].0, said[0].1["field"].as_str()),
        (400, Some("code"))
    );
}

/// Replayed (the emulator has no RevokeToken): after GlobalSignOut, the RevokeToken of the
/// refresh token is sent; its refusal changes nothing for the caller (signed out everywhere
/// already).
#[tokio::test]
async fn sign_out_signs_out_everywhere_then_revokes_the_refresh_token_replayed() {
    use aws_sdk_cognitoidentityprovider::operation::{
        global_sign_out::GlobalSignOutOutput, revoke_token::RevokeTokenOutput,
    };
    for revoked in [true, false] {
        // (GlobalSignOut takes the access token; see below for one it refuses.)
        let sign_out = mock!(aws_sdk_cognitoidentityprovider::Client::global_sign_out)
            .match_requests(|r| r.access_token() == Some("access"))
            .then_output(|| GlobalSignOutOutput::builder().build());
        let revoke = if revoked {
            mock!(aws_sdk_cognitoidentityprovider::Client::revoke_token)
                .match_requests(|r| r.token() == Some("refresh") && r.client_id() == Some("client"))
                .then_output(|| RevokeTokenOutput::builder().build())
        } else {
            mock!(aws_sdk_cognitoidentityprovider::Client::revoke_token).then_http_response(|| {
                provisioner_replay_json_error(
                    400,
                    "UnsupportedTokenTypeException",
                    "Unsupported token type",
                )
            })
        };
        let ctx = Ctx {
            cognito: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::Sequential,
                [&sign_out, &revoke]
            ),
            client_id: "client".to_owned(),
        };
        let event = with_bearer(
            post_json("/sign-out", json!({ "refreshToken": "refresh" })),
            "access",
        );
        assert_eq!(reply(sign_out::handle(&ctx, event).await).0, 200);
        assert_eq!((sign_out.num_calls(), revoke.num_calls()), (1, 1));
    }
}

/// Replayed: an access token Cognito no longer takes (expired) still lets the caller end the
/// session: the refresh token is revoked, and the answer says the other sessions were not signed
/// out. Both refused: 401.
#[tokio::test]
async fn sign_out_with_an_expired_access_token_still_revokes_the_refresh_token_replayed() {
    use aws_sdk_cognitoidentityprovider::operation::revoke_token::RevokeTokenOutput;
    let expired = || {
        mock!(aws_sdk_cognitoidentityprovider::Client::global_sign_out).then_http_response(|| {
            provisioner_replay_json_error(400, "NotAuthorizedException", "Access Token has expired")
        })
    };
    for (revokes, status) in [(true, 200), (false, 401)] {
        let sign_out = expired();
        let revoke = if revokes {
            mock!(aws_sdk_cognitoidentityprovider::Client::revoke_token)
                .then_output(|| RevokeTokenOutput::builder().build())
        } else {
            mock!(aws_sdk_cognitoidentityprovider::Client::revoke_token).then_http_response(|| {
                provisioner_replay_json_error(
                    400,
                    "UnauthorizedException",
                    "Token revocation is not enabled",
                )
            })
        };
        let ctx = Ctx {
            cognito: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::Sequential,
                [&sign_out, &revoke]
            ),
            client_id: "client".to_owned(),
        };
        let event = with_bearer(
            post_json("/sign-out", json!({ "refreshToken": "refresh" })),
            "expired",
        );
        let (said, body) = reply(sign_out::handle(&ctx, event).await);
        assert_eq!(said, status, "{body}");
        assert_eq!(
            revoke.num_calls(),
            1,
            "RevokeToken is tried whatever GlobalSignOut said"
        );
    }
}

/// Replayed (the emulator has no GetTokensFromRefreshToken): a client that rotates refresh tokens
/// renews through GetTokensFromRefreshToken, never REFRESH_TOKEN_AUTH (Cognito refuses it for such
/// a client), and the answer carries the new refresh token; a rotated-out one reused after the
/// grace period is a 401 naming the field; an answer without a successor (a client that does not
/// rotate yet) gives the tokens it has.
#[tokio::test]
async fn a_rotating_client_renews_the_refresh_token_replayed() {
    use aws_sdk_cognitoidentityprovider::operation::get_tokens_from_refresh_token::GetTokensFromRefreshTokenOutput;
    use aws_sdk_cognitoidentityprovider::types::AuthenticationResultType;
    let tokens = |refresh: Option<&str>| {
        AuthenticationResultType::builder()
            .id_token("id.token.x")
            .access_token("access.token.x")
            .expires_in(3600)
            .token_type("Bearer")
            .set_refresh_token(refresh.map(str::to_owned))
            .build()
    };
    let rotated = mock!(aws_sdk_cognitoidentityprovider::Client::get_tokens_from_refresh_token)
        .match_requests(|r| r.refresh_token() == Some("old") && r.client_id() == Some("client"))
        .then_output(move || {
            GetTokensFromRefreshTokenOutput::builder()
                .authentication_result(tokens(Some("new")))
                .build()
        });
    let reused = mock!(aws_sdk_cognitoidentityprovider::Client::get_tokens_from_refresh_token)
        .then_http_response(|| {
            provisioner_replay_json_error(
                400,
                "RefreshTokenReuseException",
                "Refresh token has been revoked",
            )
        });
    let without = mock!(aws_sdk_cognitoidentityprovider::Client::get_tokens_from_refresh_token)
        .then_output(move || {
            GetTokensFromRefreshTokenOutput::builder()
                .authentication_result(tokens(None))
                .build()
        });
    let refresher = refresh::Refresh {
        ctx: Ctx {
            cognito: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::Sequential,
                [&rotated, &reused, &without]
            ),
            client_id: "client".to_owned(),
        },
        rotation: true,
    };
    let refresh = || post_json("/refresh", json!({ "refreshToken": "old" }));
    let (status, fresh) = reply(refresh::handle(&refresher, refresh()).await);
    assert_eq!(
        (
            status,
            fresh["refreshToken"].as_str(),
            fresh["idToken"].as_str()
        ),
        (200, Some("new"), Some("id.token.x"))
    );
    let (status, refused) = reply(refresh::handle(&refresher, refresh()).await);
    assert_eq!(
        (status, refused["field"].as_str()),
        (401, Some("refreshToken")),
        "{refused}"
    );
    // No successor (the client does not rotate, yet or any more): the tokens, and the caller
    // keeps its refresh token.
    let (status, fresh) = reply(refresh::handle(&refresher, refresh()).await);
    assert_eq!(
        (status, fresh.get("refreshToken"), fresh["idToken"].as_str()),
        (200, None, Some("id.token.x"))
    );
    assert_eq!(
        (rotated.num_calls(), reused.num_calls(), without.num_calls()),
        (1, 1, 1)
    );
}

#[test]
fn the_rotation_variable_is_true_or_false() {
    assert_eq!(refresh::rotation_from(None), Ok(false));
    assert_eq!(refresh::rotation_from(Some("false")), Ok(false));
    assert_eq!(refresh::rotation_from(Some("true")), Ok(true));
    let err = refresh::rotation_from(Some("yes")).unwrap_err();
    assert!(
        err.0.contains("REFRESH_TOKEN_ROTATION") && err.0.contains("`yes`"),
        "{err}"
    );
}

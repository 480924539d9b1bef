//! The tutorial's four handlers, called as Lambda calls them (a real API Gateway REST proxy event in, a proxy
//! response out), against Cognito on the local emulator.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType, VerifiedAttributeType,
};
use base64::Engine;
use handler_common::Ctx;
use serde_json::{Value, json};

use crate::support;

/// A fresh user pool and app client on the emulator, as stack.yaml describes them.
pub(crate) async fn new_pool() -> Ctx {
    let config = support::sdk_config().await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let pool = cognito
        .create_user_pool()
        .pool_name(support::unique("handlers"))
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .schema(
            SchemaAttributeType::builder()
                .name("email")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .expect("create a user pool on the emulator");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .read_attributes("email")
        .send()
        .await
        .expect("create an app client on the emulator");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_owned();
    Ctx { cognito, client_id }
}

/// The POST fixture for `path` with `body` (None: no body at all).
fn post(path: &str, body: Option<&str>) -> ApiGatewayProxyRequest {
    let mut event = support::fixture("apigw-rest-post-sign-up.json");
    event["resource"] = json!(path);
    event["path"] = json!(path);
    event["requestContext"]["resourcePath"] = json!(path);
    event["body"] = body.map_or(Value::Null, |b| json!(b));
    serde_json::from_value(event).expect("the fixture is an API Gateway proxy event")
}

pub(crate) fn post_json(path: &str, body: Value) -> ApiGatewayProxyRequest {
    post(path, Some(&body.to_string()))
}

/// Status and JSON body of a response; every response must be JSON.
pub(crate) fn reply(response: ApiGatewayProxyResponse) -> (i64, Value) {
    assert_eq!(
        response
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let text = match response.body {
        Some(Body::Text(text)) => text,
        other => panic!("expected a text body, got {other:?}"),
    };
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("body is not JSON ({err}): {text}"));
    (response.status_code, json)
}

pub(crate) const PASSWORD: &str = "Str0ng!Passw0rd";

pub(crate) async fn sign_up(ctx: &Ctx, username: &str) -> (i64, Value) {
    let body = json!({ "username": username, "password": PASSWORD, "email": format!("{username}@example.com") });
    reply(sign_up::handle(ctx, post_json("/sign-up", body)).await)
}

pub(crate) async fn sign_in(ctx: &Ctx, username: &str, password: &str) -> (i64, Value) {
    let body = json!({ "username": username, "password": password });
    reply(sign_in::handle(ctx, post_json("/sign-in", body)).await)
}

/// The claims API Gateway's Cognito authorizer would put in the event for this id token.
fn claims_of(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("JWT payload is base64url");
    let claims: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes).expect("JWT payload is JSON");
    // The authorizer passes every claim as a string.
    claims
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                Value::String(v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_tutorial_flow_sign_up_confirm_sign_in_and_read_the_secret() {
    let ctx = new_pool().await;
    let user = support::unique("alice");

    let (status, body) = sign_up(&ctx, &user).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userConfirmed"], json!(false));

    // Not confirmed yet: sign-in is refused with 403, not 401.
    let (status, body) = sign_in(&ctx, &user, PASSWORD).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            403,
            Some("user is not confirmed: confirm the sign-up with the emailed code first")
        )
    );

    // The emulator accepts any code (real Cognito checks the emailed one).
    let confirm = post_json("/confirm", json!({ "username": user, "code": "123456" }));
    let (status, body) = reply(confirm::handle(&ctx, confirm).await);
    assert_eq!(
        (status, body),
        (200, json!({ "message": "user confirmed" }))
    );

    let (status, tokens) = sign_in(&ctx, &user, PASSWORD).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["idToken"]
        .as_str()
        .expect("idToken in the sign-in answer");
    assert!(tokens["accessToken"].is_string() && tokens["refreshToken"].is_string());
    assert_eq!(tokens["tokenType"], json!("Bearer"));
    assert!(tokens["expiresIn"].as_i64().is_some_and(|s| s > 0));

    let claims = claims_of(id_token);
    assert_eq!(claims["cognito:username"], json!(user));
    let mut event = support::fixture("apigw-rest-get-secret.json");
    event["requestContext"]["authorizer"]["claims"] = claims;
    let event: ApiGatewayProxyRequest = serde_json::from_value(event).unwrap();
    let (status, body) = reply(secret::handle(&(), event).await);
    assert_eq!(status, 200);
    assert_eq!(body["message"], json!(secret::SECRET));
    assert_eq!(body["username"], json!(user));
    assert_eq!(body["email"], json!(format!("{user}@example.com")));

    // The same username again: 409, naming the field.
    let (status, body) = sign_up(&ctx, &user).await;
    assert_eq!(
        (status, &body["field"]),
        (409, &json!("username")),
        "{body}"
    );
}

#[tokio::test]
async fn sign_in_does_not_reveal_whether_a_user_exists() {
    let ctx = new_pool().await;
    let user = support::unique("bob");
    assert_eq!(sign_up(&ctx, &user).await.0, 200);
    let confirm = post_json("/confirm", json!({ "username": user, "code": "000000" }));
    assert_eq!(reply(confirm::handle(&ctx, confirm).await).0, 200);

    let wrong_password = sign_in(&ctx, &user, "Wr0ng!Password").await;
    let no_such_user = sign_in(&ctx, &support::unique("nobody"), PASSWORD).await;
    assert_eq!(
        wrong_password,
        (401, json!({ "message": "incorrect username or password" }))
    );
    assert_eq!(no_such_user, wrong_password);
}

#[tokio::test]
async fn a_weak_password_is_a_400_with_cognitos_reason() {
    let ctx = new_pool().await;
    let body = json!({ "username": support::unique("carol"), "password": "short", "email": "carol@example.com" });
    let (status, body) = reply(sign_up::handle(&ctx, post_json("/sign-up", body)).await);
    assert_eq!(
        (status, &body["field"]),
        (400, &json!("password")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.to_lowercase().contains("password policy")),
        "{body}"
    );
}

#[tokio::test]
async fn a_cognito_failure_is_a_502_without_internals() {
    let mut ctx = new_pool().await;
    ctx.client_id = "no-such-client".to_owned();
    for (status, body) in [
        sign_up(&ctx, "dave").await,
        sign_in(&ctx, "dave", PASSWORD).await,
        reply(
            confirm::handle(
                &ctx,
                post_json("/confirm", json!({"username": "dave", "code": "1"})),
            )
            .await,
        ),
    ] {
        assert_eq!(status, 502, "{body}");
        assert_eq!(
            body,
            json!({ "message": "the authentication service failed; retry later" })
        );
    }
}

/// (handler, body, base64?, status, message, field)
type BadRequest<'a> = (
    &'a str,
    Option<&'a str>,
    bool,
    i64,
    &'a str,
    Option<&'a str>,
);

/// Every malformed request, to every handler that reads a body: 4xx naming the problem, never 5xx,
/// and Cognito is never called (the app client here does not exist, which would answer 502).
#[tokio::test]
async fn bad_requests_are_4xx_naming_the_field() {
    let mut ctx = new_pool().await;
    ctx.client_id = "never-called".to_owned();
    let big = format!(r#"{{"username":"{}"}}"#, "x".repeat(20_000));
    let cases: &[BadRequest] = &[
        (
            "sign-up",
            None,
            false,
            400,
            "request body is missing: send a JSON object with `username`, `password` and `email`",
            None,
        ),
        (
            "sign-up",
            Some(""),
            false,
            400,
            "request body is missing: send a JSON object with `username`, `password` and `email`",
            None,
        ),
        (
            "sign-up",
            Some("username=alice"),
            false,
            400,
            "request body is not valid JSON (line 1, column 1): send a JSON object with `username`, `password` and `email`",
            None,
        ),
        (
            "sign-up",
            Some("\"alice\""),
            false,
            400,
            "request body must be a JSON object with `username`, `password` and `email`, not a string",
            None,
        ),
        (
            "sign-up",
            Some(r#"{"password":"Str0ng!Passw0rd","email":"a@example.com"}"#),
            false,
            400,
            "`username` is missing",
            Some("username"),
        ),
        (
            "sign-up",
            Some(r#"{"username":"a","password":"Str0ng!Passw0rd"}"#),
            false,
            400,
            "`email` is missing",
            Some("email"),
        ),
        (
            "sign-up",
            Some(r#"{"username":"a","password":12345678,"email":"a@example.com"}"#),
            false,
            400,
            "`password` must be a string, not a number",
            Some("password"),
        ),
        (
            "sign-up",
            Some(r#"{"username":"","password":"x","email":"a@example.com"}"#),
            false,
            400,
            "`username` must not be empty",
            Some("username"),
        ),
        (
            "sign-up",
            Some(&big),
            false,
            413,
            "request body is larger than 16384 bytes",
            None,
        ),
        (
            "sign-up",
            Some("%%%not-base64%%%"),
            true,
            400,
            "request body is marked `isBase64Encoded` but is not valid base64",
            None,
        ),
        // {"username":"a"} in base64: decoded, then checked like any body.
        (
            "sign-up",
            Some("eyJ1c2VybmFtZSI6ImEifQ=="),
            true,
            400,
            "`password` is missing",
            Some("password"),
        ),
        (
            "confirm",
            None,
            false,
            400,
            "request body is missing: send a JSON object with `username` and `code`",
            None,
        ),
        (
            "confirm",
            Some(r#"{"username":"a"}"#),
            false,
            400,
            "`code` is missing",
            Some("code"),
        ),
        (
            "confirm",
            Some(r#"{"username":"a","code":123456}"#),
            false,
            400,
            "`code` must be a string, not a number",
            Some("code"),
        ),
        (
            "confirm",
            Some("[]"),
            false,
            400,
            "request body must be a JSON object with `username` and `code`, not an array",
            None,
        ),
        (
            "sign-in",
            Some("{"),
            false,
            400,
            "request body is not valid JSON (line 1, column 1): send a JSON object with `username` and `password`",
            None,
        ),
        (
            "sign-in",
            Some(r#"{"username":"a","password":null}"#),
            false,
            400,
            "`password` is missing",
            Some("password"),
        ),
        (
            "sign-in",
            Some(r#"{"username":["a"],"password":"p"}"#),
            false,
            400,
            "`username` must be a string, not an array",
            Some("username"),
        ),
        (
            "sign-in",
            Some(r#"{"username":"a","password":"   "}"#),
            false,
            400,
            "`password` must not be empty",
            Some("password"),
        ),
    ];
    for &(handler, body, base64, status, message, field) in cases {
        let mut event = post(&format!("/{handler}"), body);
        event.is_base64_encoded = base64;
        let response = match handler {
            "sign-up" => sign_up::handle(&ctx, event).await,
            "confirm" => confirm::handle(&ctx, event).await,
            "sign-in" => sign_in::handle(&ctx, event).await,
            other => unreachable!("{other}"),
        };
        let (got_status, got) = reply(response);
        let mut want = json!({ "message": message });
        if let Some(field) = field {
            want["field"] = json!(field);
        }
        assert_eq!(
            (got_status, &got),
            (status, &want),
            "{handler} with body {body:?} (base64: {base64})"
        );
    }
}

#[tokio::test]
async fn secret_names_the_caller_from_the_authorizer_claims() {
    let event: ApiGatewayProxyRequest =
        serde_json::from_value(support::fixture("apigw-rest-get-secret.json")).unwrap();
    let (status, body) = reply(secret::handle(&(), event).await);
    assert_eq!(
        (status, body),
        (
            200,
            json!({ "message": secret::SECRET, "username": "alice", "email": "alice@example.com" })
        )
    );
}

#[tokio::test]
async fn secret_without_authorizer_claims_is_401() {
    let mut event = support::fixture("apigw-rest-get-secret.json");
    event["requestContext"]
        .as_object_mut()
        .expect("requestContext is an object")
        .remove("authorizer");
    let event: ApiGatewayProxyRequest = serde_json::from_value(event).unwrap();
    let (status, body) = reply(secret::handle(&(), event).await);
    assert_eq!((status, body), (401, json!({ "message": "Unauthorized" })));
}

/// SignUp is sent once: never retried (a retry of a call whose answer was lost meets the user it
/// made), not even after Cognito's LimitExceededException (its mailer's daily quota), which the
/// SDK takes for throttling: the caller gets 429 at once. Replayed in Cognito's wire format.
#[tokio::test]
async fn sign_up_is_never_retried() {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let limited = mock!(aws_sdk_cognitoidentityprovider::Client::sign_up)
        .sequence()
        .http_response(|| {
            provisioner_replay_json_error(
                400,
                "LimitExceededException",
                "Exceeded daily email limit for the operation or the account.",
            )
        })
        .output(|| {
            aws_sdk_cognitoidentityprovider::operation::sign_up::SignUpOutput::builder()
                .user_confirmed(false)
                .user_sub("sub")
                .build()
                .unwrap()
        })
        .build();
    let cognito = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&limited],
        |c| c.retry_config(
            aws_sdk_cognitoidentityprovider::config::retry::RetryConfig::standard()
                .with_initial_backoff(std::time::Duration::from_millis(1))
        )
    );
    let ctx = Ctx {
        cognito,
        client_id: "client".to_owned(),
    };
    let body = r#"{"username":"ada","password":"Passw0rd!","email":"ada@example.com"}"#;
    let response = sign_up::handle(&ctx, post("/sign-up", Some(body))).await;
    assert_eq!(response.status_code, 429);
    assert_eq!(limited.num_calls(), 1);
}

/// A JSON error answer as Cognito sends it.
pub(crate) fn provisioner_replay_json_error(
    status: u16,
    code: &str,
    message: &str,
) -> aws_smithy_runtime_api::http::Response {
    let body = json!({ "__type": code, "message": message }).to_string();
    let mut response = aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
        aws_smithy_types::body::SdkBody::from(body),
    );
    response
        .headers_mut()
        .insert("Content-Type", "application/x-amz-json-1.1");
    response
}

//! `POST /sign-up` `{username, password, email}`: registers a user in the pool through the app client
//! (Cognito emails a confirmation code).

use aws_sdk_cognitoidentityprovider::types::AttributeType;
use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, cognito_rejection,
    json_response, required_string_fields,
};
use serde_json::json;

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [username, password, email] =
        match required_string_fields(&event, ["username", "password", "email"]) {
            Ok(fields) => fields,
            Err(rejection) => return rejection.into_response(),
        };
    let email = match AttributeType::builder().name("email").value(email).build() {
        Ok(attribute) => attribute,
        Err(_) => {
            return handler_common::Rejection::field(400, "email", "`email` is not valid")
                .into_response();
        }
    };
    // Never retried: SignUp is not idempotent (a retry of a call whose answer was lost meets the
    // user it made, UsernameExistsException), and Cognito's LimitExceededException (its
    // mailer's daily quota), which the SDK takes for throttling, does not pass in seconds.
    let once = aws_sdk_cognitoidentityprovider::config::Builder::default()
        .retry_config(aws_sdk_cognitoidentityprovider::config::retry::RetryConfig::disabled());
    let result = ctx
        .cognito
        .sign_up()
        .client_id(&ctx.client_id)
        .username(username)
        .password(password)
        .user_attributes(email)
        .customize()
        .config_override(once)
        .send()
        .await;
    match result {
        Ok(output) => json_response(
            200,
            &json!({
                "message": "user created: confirm with the code sent by email",
                "userConfirmed": output.user_confirmed(),
                "userSub": output.user_sub(),
            }),
        ),
        Err(err) => cognito_rejection(Operation::SignUp, &err).into_response(),
    }
}

//! `POST /forgot-password` `{username}`: Cognito emails the user a code to reset the password with
//! (`POST /reset-password`). The answer is the same whether the user exists, has a verified email
//! or not: it must not tell an attacker which usernames exist.

use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, json_response,
    required_string_fields,
};
use serde_json::json;

/// The one answer, for a user that exists and one that does not.
pub const SENT: &str =
    "if the account exists and has a verified email, a code to reset its password is on its way";

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [username] = match required_string_fields(&event, ["username"]) {
        Ok(fields) => fields,
        Err(rejection) => return rejection.into_response(),
    };
    let result = ctx
        .cognito
        .forgot_password()
        .client_id(&ctx.client_id)
        .username(username)
        .send()
        .await;
    match result {
        Ok(_) => json_response(200, &json!({ "message": SENT })),
        Err(err) => handler_common::neutral_or_rejection(Operation::SendCode, &err, SENT),
    }
}

//! `POST /resend-code` `{username}`: Cognito emails the sign-up's confirmation code again. The
//! answer is the same whether the user exists, is confirmed already or not.

use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, json_response,
    required_string_fields,
};
use serde_json::json;

/// The one answer, for a user that exists and one that does not.
pub const SENT: &str =
    "if the account exists and is not confirmed yet, a new confirmation code is on its way";

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [username] = match required_string_fields(&event, ["username"]) {
        Ok(fields) => fields,
        Err(rejection) => return rejection.into_response(),
    };
    let result = ctx
        .cognito
        .resend_confirmation_code()
        .client_id(&ctx.client_id)
        .username(username)
        .send()
        .await;
    match result {
        Ok(_) => json_response(200, &json!({ "message": SENT })),
        Err(err) => handler_common::neutral_or_rejection(Operation::SendCode, &err, SENT),
    }
}

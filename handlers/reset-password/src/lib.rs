//! `POST /reset-password` `{username, code, password}`: sets a new password with the code
//! `POST /forgot-password` had emailed. A wrong or expired code, and a user that does not exist,
//! get one answer (400 naming `code`).

use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, cognito_rejection,
    json_response, required_string_fields,
};
use serde_json::json;

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [username, code, password] =
        match required_string_fields(&event, ["username", "code", "password"]) {
            Ok(fields) => fields,
            Err(rejection) => return rejection.into_response(),
        };
    let result = ctx
        .cognito
        .confirm_forgot_password()
        .client_id(&ctx.client_id)
        .username(username)
        .confirmation_code(code)
        .password(password)
        .send()
        .await;
    match result {
        Ok(_) => json_response(
            200,
            &json!({ "message": "password changed: sign in with the new one" }),
        ),
        Err(err) => cognito_rejection(Operation::ConfirmForgotPassword, &err).into_response(),
    }
}

//! `POST /confirm` `{username, code}`: confirms a sign-up with the code Cognito emailed.

use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, cognito_rejection,
    json_response, required_string_fields,
};
use serde_json::json;

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [username, code] = match required_string_fields(&event, ["username", "code"]) {
        Ok(fields) => fields,
        Err(rejection) => return rejection.into_response(),
    };
    let result = ctx
        .cognito
        .confirm_sign_up()
        .client_id(&ctx.client_id)
        .username(username)
        .confirmation_code(code)
        .send()
        .await;
    match result {
        Ok(_) => json_response(200, &json!({ "message": "user confirmed" })),
        Err(err) => cognito_rejection(Operation::ConfirmSignUp, &err).into_response(),
    }
}

//! `POST /refresh` `{refreshToken}`: new id and access tokens from a refresh token (the app
//! client's REFRESH_TOKEN_AUTH flow). A refresh token that is expired, revoked or signed out is a
//! 401 naming the field.

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, Rejection, cognito_rejection,
    required_string_fields, tokens_response,
};

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [refresh_token] = match required_string_fields(&event, ["refreshToken"]) {
        Ok(fields) => fields,
        Err(rejection) => return rejection.into_response(),
    };
    let result = ctx
        .cognito
        .initiate_auth()
        .client_id(&ctx.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", refresh_token)
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(err) => return cognito_rejection(Operation::Refresh, &err).into_response(),
    };
    match tokens_response(output.authentication_result(), false) {
        Some(answer) => answer,
        None => {
            tracing::error!("InitiateAuth(REFRESH_TOKEN_AUTH) answered without tokens");
            Rejection::new(502, "the authentication service failed; retry later").into_response()
        }
    }
}

//! `POST /sign-out` with `Authorization: Bearer <accessToken>` and `{refreshToken}`: signs the
//! user out everywhere (GlobalSignOut: every refresh token of the user stops working, and the access
//! tokens with them), then revokes the refresh token given (RevokeToken). The access token is what
//! Cognito checks, so the route needs no authorizer.

use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, bearer_token,
    cognito_rejection, json_response, required_string_fields,
};
use serde_json::json;

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let access_token = match bearer_token(&event, "accessToken") {
        Ok(token) => token,
        Err(rejection) => return rejection.into_response(),
    };
    let [refresh_token] = match required_string_fields(&event, ["refreshToken"]) {
        Ok(fields) => fields,
        Err(rejection) => return rejection.into_response(),
    };
    let signed_out = ctx
        .cognito
        .global_sign_out()
        .access_token(access_token)
        .send()
        .await;
    if let Err(err) = signed_out {
        return cognito_rejection(Operation::GlobalSignOut, &err).into_response();
    }
    // Signed out everywhere already: GlobalSignOut invalidated every refresh token of the user. A
    // refusal here (token revocation off for the client, the token already invalid) changes
    // nothing for the caller; it is logged by its code.
    let revoked = ctx
        .cognito
        .revoke_token()
        .client_id(&ctx.client_id)
        .token(refresh_token)
        .send()
        .await;
    if let Err(err) = revoked {
        use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata as _;
        tracing::info!(
            code = err.code().unwrap_or("Unknown"),
            "RevokeToken refused after GlobalSignOut (the user is signed out)"
        );
    }
    json_response(200, &json!({ "message": "signed out everywhere" }))
}

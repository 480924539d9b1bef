//! `POST /sign-out` with `Authorization: Bearer <accessToken>` and `{refreshToken}`: signs the
//! user out everywhere (GlobalSignOut: every refresh token of the user stops working, and Cognito
//! refuses the access tokens), then revokes the refresh token given (RevokeToken, which needs only
//! it: an expired access token still lets the caller end this session). The access token is what
//! Cognito checks, so the route needs no authorizer. Tokens already issued still pass API Gateway's
//! authorizer until they expire (it checks them offline): sign-out ends sessions, not tokens.

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
    use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata as _;
    let signed_out = ctx
        .cognito
        .global_sign_out()
        .access_token(access_token)
        .send()
        .await;
    let revoked = ctx
        .cognito
        .revoke_token()
        .client_id(&ctx.client_id)
        .token(refresh_token)
        .send()
        .await;
    match (signed_out, revoked) {
        // Signed out everywhere: GlobalSignOut invalidated every refresh token of the user, so a
        // refusal of RevokeToken (revocation off for the client, the token invalid already)
        // changes nothing for the caller; it is logged by its code.
        (Ok(_), revoked) => {
            if let Err(err) = revoked {
                tracing::info!(
                    code = err.code().unwrap_or("Unknown"),
                    "RevokeToken refused after GlobalSignOut (the user is signed out)"
                );
            }
            json_response(200, &json!({ "message": "signed out everywhere" }))
        }
        // The access token no longer works (expired, most often), but the refresh token is
        // revoked: this session has ended, the others may not have.
        (Err(err), Ok(_)) => {
            tracing::info!(
                code = err.code().unwrap_or("Unknown"),
                "GlobalSignOut refused; the refresh token was revoked"
            );
            json_response(
                200,
                &json!({ "message": "the refresh token is revoked; the access token was no longer valid, so other sessions were not signed out" }),
            )
        }
        (Err(err), Err(_)) => cognito_rejection(Operation::GlobalSignOut, &err).into_response(),
    }
}

//! `POST /sign-in` `{username, password}`: USER_PASSWORD_AUTH through the app client; answers the
//! tokens (`idToken` is what the API's Cognito authorizer takes).

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, Rejection, cognito_rejection,
    json_response, required_string_fields,
};
use serde_json::json;

pub async fn handle(ctx: &Ctx, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [username, password] = match required_string_fields(&event, ["username", "password"]) {
        Ok(fields) => fields,
        Err(rejection) => return rejection.into_response(),
    };
    let result = ctx
        .cognito
        .initiate_auth()
        .client_id(&ctx.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(err) => return cognito_rejection(Operation::InitiateAuth, &err).into_response(),
    };
    match output.authentication_result() {
        Some(tokens) if tokens.id_token().is_some() => json_response(
            200,
            &json!({
                "idToken": tokens.id_token(),
                "accessToken": tokens.access_token(),
                "refreshToken": tokens.refresh_token(),
                "expiresIn": tokens.expires_in(),
                "tokenType": tokens.token_type(),
            }),
        ),
        // MFA, NEW_PASSWORD_REQUIRED and the like: this API does not run challenges.
        _ => {
            let challenge = output
                .challenge_name()
                .map_or("an unknown", |challenge| challenge.as_str());
            tracing::info!(
                challenge,
                "sign-in needs a challenge this API does not handle"
            );
            Rejection::new(
                403,
                format!(
                    "sign-in needs the `{challenge}` challenge, which this API does not handle"
                ),
            )
            .into_response()
        }
    }
}

//! `POST /sign-in` `{username, password}`: USER_PASSWORD_AUTH through the app client; answers the
//! tokens (`idToken` is what the API's Cognito authorizer takes).

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, Operation, Rejection, cognito_rejection,
    required_string_fields, tokens_response,
};

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
    match tokens_response(output.authentication_result(), true) {
        Some(answer) => answer,
        // MFA, NEW_PASSWORD_REQUIRED and the like: this API does not run challenges.
        None => {
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

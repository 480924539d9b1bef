//! `POST /refresh` `{refreshToken}`: new id and access tokens from a refresh token. A refresh
//! token that is expired, revoked or signed out is a 401 naming the field.
//!
//! An app client that rotates refresh tokens (stack.yaml's `rotateRefreshTokens`, passed as
//! `REFRESH_TOKEN_ROTATION=true`) renews through GetTokensFromRefreshToken, and the answer carries
//! the new refresh token, which replaces the one sent (that one stops working after the client's
//! grace period). Otherwise the REFRESH_TOKEN_AUTH flow of InitiateAuth, and no refresh token.

use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, AuthenticationResultType};
use handler_common::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, Ctx, InitError, Operation, Rejection,
    cognito_rejection, required_string_fields, tokens_response,
};

/// The variable that says whether the app client rotates refresh tokens.
pub const ROTATION_VAR: &str = "REFRESH_TOKEN_ROTATION";

/// What the refresh handler needs: the common context, and whether refresh tokens rotate.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub ctx: Ctx,
    pub rotation: bool,
}

impl Refresh {
    pub async fn from_env() -> Result<Refresh, InitError> {
        let rotation = rotation_from(std::env::var(ROTATION_VAR).ok().as_deref())?;
        Ok(Refresh {
            ctx: Ctx::from_env().await?,
            rotation,
        })
    }
}

/// `true` or `false`; unset is `false`.
pub fn rotation_from(value: Option<&str>) -> Result<bool, InitError> {
    match value.map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(InitError(format!(
            "environment variable `{ROTATION_VAR}` is `{other}`: set it to `true` or `false` \
             (`${{userPools.<pool>.clients.<client>.rotateRefreshTokens}}` in stack.yaml)"
        ))),
    }
}

pub async fn handle(refresh: &Refresh, event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let [refresh_token] = match required_string_fields(&event, ["refreshToken"]) {
        Ok(fields) => fields,
        Err(rejection) => return rejection.into_response(),
    };
    let ctx = &refresh.ctx;
    let (operation, result) = if refresh.rotation {
        let result = ctx
            .cognito
            .get_tokens_from_refresh_token()
            .client_id(&ctx.client_id)
            .refresh_token(refresh_token)
            .send()
            .await
            .map(|output| output.authentication_result)
            .map_err(|err| cognito_rejection(Operation::Refresh, &err));
        ("GetTokensFromRefreshToken", result)
    } else {
        let result = ctx
            .cognito
            .initiate_auth()
            .client_id(&ctx.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map(|output| output.authentication_result)
            .map_err(|err| cognito_rejection(Operation::Refresh, &err));
        ("InitiateAuth(REFRESH_TOKEN_AUTH)", result)
    };
    let tokens: Option<AuthenticationResultType> = match result {
        Ok(tokens) => tokens,
        Err(rejection) => return rejection.into_response(),
    };
    // A rotated token's successor reaches the caller. None comes back from a client that does not
    // rotate (yet: stack.yaml turned rotation off, and this function is updated after the client):
    // the id and access tokens are answered, and the caller keeps the refresh token it sent.
    let rotated = tokens
        .as_ref()
        .is_some_and(|t| refresh.rotation && t.refresh_token().is_some());
    match tokens_response(tokens.as_ref(), rotated) {
        Some(answer) => answer,
        None => {
            tracing::error!("{operation} answered without tokens");
            Rejection::new(502, "the authentication service failed; retry later").into_response()
        }
    }
}

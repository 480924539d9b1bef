//! `GET /secret`: the secret message and who is asking. Behind the API's Cognito authorizer, which
//! puts the token's claims in `requestContext.authorizer.claims`: an id token's (`cognito:username`,
//! `email`), or, on a route with authorization scopes, an access token's (`username`, `scope`; no
//! email, so `email` is then null).

use handler_common::{ApiGatewayProxyRequest, ApiGatewayProxyResponse, Rejection, json_response};
use serde_json::{Value, json};

pub const SECRET: &str = "CAUTION !!! THIS IS VERY SECRET";

pub async fn handle(_ctx: &(), event: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let claims = event.request_context.authorizer.fields.get("claims");
    let claim = |name: &str| claims.and_then(|c| c.get(name)).and_then(Value::as_str);
    match claim("cognito:username").or_else(|| claim("username")) {
        Some(username) => json_response(
            200,
            &json!({ "message": SECRET, "username": username, "email": claim("email") }),
        ),
        // Only reachable when the route is deployed without the authorizer: refuse, do not guess.
        None => {
            tracing::warn!(
                "no authorizer claims in the event: is the route missing its authorizer?"
            );
            Rejection::new(401, "Unauthorized").into_response()
        }
    }
}

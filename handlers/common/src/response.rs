//! Proxy responses: always JSON, always with a content type.

use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use aws_lambda_events::encodings::Body;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use serde::Serialize;

/// A JSON response with the given status.
pub fn json_response(status: u16, value: &impl Serialize) -> ApiGatewayProxyResponse {
    // Serializing our own response types cannot fail (string keys, no non-finite floats);
    // fall back to a fixed body rather than panic if that ever changes.
    let body = serde_json::to_string(value).unwrap_or_else(|_| {
        r#"{"message":"internal error while encoding the response"}"#.to_owned()
    });
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(Body::Text(body));
    response
}

/// The tokens of a sign-in (`with_refresh`) or a refresh, as the handlers answer them; None when
/// Cognito answered without an id token (a challenge).
pub fn tokens_response(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
    with_refresh: bool,
) -> Option<ApiGatewayProxyResponse> {
    let tokens = result.filter(|t| t.id_token().is_some())?;
    let mut body = serde_json::json!({
        "idToken": tokens.id_token(),
        "accessToken": tokens.access_token(),
        "expiresIn": tokens.expires_in(),
        "tokenType": tokens.token_type(),
    });
    if with_refresh {
        body["refreshToken"] = serde_json::json!(tokens.refresh_token());
    }
    Some(json_response(200, &body))
}

/// A request the handler will not serve, and why: becomes `{"message": ..., "field": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub message: String,
    /// The request field at fault, when there is one.
    pub field: Option<&'static str>,
}

#[derive(Serialize)]
struct RejectionBody<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl Rejection {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            field: None,
        }
    }

    pub fn field(status: u16, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            field: Some(field),
        }
    }

    pub fn into_response(self) -> ApiGatewayProxyResponse {
        json_response(
            self.status,
            &RejectionBody {
                message: &self.message,
                field: self.field,
            },
        )
    }
}

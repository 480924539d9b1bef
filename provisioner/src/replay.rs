//! Test helpers: AWS's answers as they come over the wire (status, error-type header, body), for
//! replay tests of SDK clients with aws-smithy-mocks. The SDK parses them as it parses AWS's, so a
//! test sees exactly the error codes and messages real AWS gives.

use std::time::Duration;

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;

/// The standard retry mode with millisecond backoff, so tests do not sleep for seconds.
pub fn quick() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// A JSON error answer (API Gateway, Lambda, CloudWatch Logs).
pub fn json_error(status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(status_code(status), SdkBody::from(body));
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", code.to_owned());
    response
        .headers_mut()
        .insert("Content-Type", "application/json");
    response
}

/// An AWS Query (XML) error answer (IAM).
pub fn xml_error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    );
    let mut response = Response::new(status_code(status), SdkBody::from(body));
    response.headers_mut().insert("Content-Type", "text/xml");
    response
}

/// A 200 JSON answer.
pub fn json_ok(body: serde_json::Value) -> Response {
    let mut response = Response::new(status_code(200), SdkBody::from(body.to_string()));
    response
        .headers_mut()
        .insert("Content-Type", "application/json");
    response
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::try_from(status).unwrap_or_else(|_| panic!("{status} is not an HTTP status"))
}

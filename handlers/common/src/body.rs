//! Reading the request body: present, small, decodable, a JSON object, with the named fields as
//! non-empty strings. Every failure is a 4xx naming what is wrong; nothing here logs values.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use base64::Engine;
use serde_json::Value;

use crate::response::Rejection;

/// Bodies larger than this are refused with 413 before parsing. The handlers take three short
/// strings; Cognito caps usernames at 128 and passwords at 256 characters.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The values of `names`, in order, from the event's JSON body.
///
/// Unknown fields are ignored (as the tutorial's handlers do); a field that is missing, not a
/// string, or empty after trimming is a 400 naming it.
pub fn required_string_fields<const N: usize>(
    event: &ApiGatewayProxyRequest,
    names: [&'static str; N],
) -> Result<[String; N], Rejection> {
    let expected = expected_fields(&names);
    let raw = event
        .body
        .as_deref()
        .filter(|body| !body.trim().is_empty())
        .ok_or_else(|| {
            Rejection::new(
                400,
                format!("request body is missing: send a JSON object with {expected}"),
            )
        })?;
    if raw.len() > MAX_BODY_BYTES.div_ceil(3) * 4 + 4 {
        return Err(too_large());
    }
    let bytes = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| {
                Rejection::new(
                    400,
                    "request body is marked `isBase64Encoded` but is not valid base64",
                )
            })?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|err| {
        Rejection::new(
            400,
            format!(
                "request body is not valid JSON (line {}, column {}): send a JSON object with {expected}",
                err.line(),
                err.column()
            ),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(Rejection::new(
            400,
            format!(
                "request body must be a JSON object with {expected}, not {}",
                json_kind(&value)
            ),
        ));
    };
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, name) in out.iter_mut().zip(names) {
        match object.get(name) {
            None | Some(Value::Null) => {
                return Err(Rejection::field(400, name, format!("`{name}` is missing")));
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(Rejection::field(
                    400,
                    name,
                    format!("`{name}` must not be empty"),
                ));
            }
            Some(Value::String(s)) => *slot = s.clone(),
            Some(other) => {
                return Err(Rejection::field(
                    400,
                    name,
                    format!("`{name}` must be a string, not {}", json_kind(other)),
                ));
            }
        }
    }
    Ok(out)
}

fn too_large() -> Rejection {
    Rejection::new(
        413,
        format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

fn expected_fields(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => "no fields".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case), or a 401
/// naming what is missing.
pub fn bearer_token(event: &ApiGatewayProxyRequest, what: &str) -> Result<String, Rejection> {
    let missing = || {
        Rejection::new(
            401,
            format!("{what} is needed in the `Authorization` header: `Bearer <{what}>`"),
        )
    };
    let header = event
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: Option<&str>, base64: bool) -> ApiGatewayProxyRequest {
        let mut event = ApiGatewayProxyRequest::default();
        event.body = body.map(str::to_owned);
        event.is_base64_encoded = base64;
        event
    }

    fn check(body: Option<&str>, base64: bool, expect: Result<[&str; 2], (u16, &str)>) {
        let got = required_string_fields(&event(body, base64), ["username", "code"]);
        match (got, expect) {
            (Ok(values), Ok(want)) => assert_eq!(values, want.map(str::to_owned)),
            (Err(rejection), Err((status, message))) => {
                assert_eq!(
                    (rejection.status, rejection.message.as_str()),
                    (status, message)
                )
            }
            (got, want) => panic!("body {body:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn reads_fields_and_rejects_each_kind_of_bad_body() {
        let missing = "request body is missing: send a JSON object with `username` and `code`";
        check(
            Some(r#"{"username":"ann","code":"1"}"#),
            false,
            Ok(["ann", "1"]),
        );
        check(
            Some(r#"{"username":"ann","code":"1","extra":true}"#),
            false,
            Ok(["ann", "1"]),
        );
        check(None, false, Err((400, missing)));
        check(Some("  "), false, Err((400, missing)));
        check(
            Some("{"),
            false,
            Err((
                400,
                "request body is not valid JSON (line 1, column 1): send a JSON object with `username` and `code`",
            )),
        );
        check(
            Some("[1]"),
            false,
            Err((
                400,
                "request body must be a JSON object with `username` and `code`, not an array",
            )),
        );
        check(
            Some(r#"{"code":"1"}"#),
            false,
            Err((400, "`username` is missing")),
        );
        check(
            Some(r#"{"username":null,"code":"1"}"#),
            false,
            Err((400, "`username` is missing")),
        );
        check(
            Some(r#"{"username":"ann","code":123}"#),
            false,
            Err((400, "`code` must be a string, not a number")),
        );
        check(
            Some(r#"{"username":" ","code":"1"}"#),
            false,
            Err((400, "`username` must not be empty")),
        );
        // {"username":"ann","code":"1"} in base64, as API Gateway sends binary media types.
        check(
            Some("eyJ1c2VybmFtZSI6ImFubiIsImNvZGUiOiIxIn0="),
            true,
            Ok(["ann", "1"]),
        );
        check(
            Some("not base64!"),
            true,
            Err((
                400,
                "request body is marked `isBase64Encoded` but is not valid base64",
            )),
        );
        let big = format!(
            r#"{{"username":"{}","code":"1"}}"#,
            "a".repeat(MAX_BODY_BYTES)
        );
        check(
            Some(&big),
            false,
            Err((413, "request body is larger than 16384 bytes")),
        );
    }
}

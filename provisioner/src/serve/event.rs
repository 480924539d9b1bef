//! API Gateway REST (v1) proxy events, built the way API Gateway builds them, and proxy responses
//! mapped back to HTTP, for `provisioner serve`. Pure: no I/O.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};

/// An HTTP request as serve received it (path without the stage prefix).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// `/users/42`, without `/<stage>`.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub source_ip: &'a str,
}

/// Where the request arrived: the stage and the API it stands in for.
#[derive(Debug, Clone)]
pub struct Stage<'a> {
    pub stage: &'a str,
    pub api_id: &'a str,
    pub account_id: &'a str,
    pub request_id: &'a str,
    /// Milliseconds since the epoch.
    pub now_ms: u64,
}

/// The route API Gateway picks for `method` and `path` among `routes` (`parts` gives a route's
/// method and path template): on the most specific resource `path` falls on (literal segments
/// before `{var}` before `{proxy+}`), its method, else its `ANY`; with the path's parameters.
pub fn choose_route<'a, R>(
    routes: &'a [R],
    parts: impl Fn(&'a R) -> (&'a str, &'a str),
    method: &str,
    path: &str,
) -> Option<(&'a R, BTreeMap<String, String>)> {
    let resource = resource_of(routes.iter().map(|r| parts(r).1), path)?;
    let on_resource = || routes.iter().filter(|r| parts(r).1 == resource);
    let route = on_resource()
        .find(|r| parts(r).0 == method)
        .or_else(|| on_resource().find(|r| parts(r).0 == "ANY"))?;
    let parameters = match_route(parts(route).1, path)?;
    Some((route, parameters))
}

/// The resource `path` falls on among the route templates `templates`: the most specific.
pub fn resource_of<'a>(
    templates: impl IntoIterator<Item = &'a str>,
    path: &str,
) -> Option<&'a str> {
    let mut best: Option<(Vec<u8>, &str)> = None;
    for template in templates {
        if match_route(template, path).is_some() {
            let rank = specificity(template);
            if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                best = Some((rank, template));
            }
        }
    }
    best.map(|(_, resource)| resource)
}

/// How specific a template is, segment by segment (lower first): literal, `{var}`, `{proxy+}`.
fn specificity(template: &str) -> Vec<u8> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|segment| {
            if segment.ends_with("+}") {
                2
            } else if segment.starts_with('{') {
                1
            } else {
                0
            }
        })
        .collect()
}

/// The path parameters of `path` under the route template `template` (`/users/{id}`,
/// `/files/{proxy+}`), or None when the path does not match it.
pub fn match_route(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut parameters = BTreeMap::new();
    let mut wanted = template.split('/').filter(|s| !s.is_empty()).peekable();
    let mut given = path.split('/').filter(|s| !s.is_empty());
    while let Some(segment) = wanted.next() {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            let rest: Vec<&str> = given.by_ref().collect();
            if rest.is_empty() || wanted.peek().is_some() {
                return None;
            }
            parameters.insert(name.to_owned(), decode(&rest.join("/")));
            return Some(parameters);
        }
        let part = given.next()?;
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                parameters.insert(name.to_owned(), decode(part));
            }
            None if segment == part => {}
            None => return None,
        }
    }
    given.next().is_none().then_some(parameters)
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// One value per name (the last, as API Gateway keeps) and every value per name.
fn single_and_multi(pairs: &[(String, String)]) -> (Value, Value) {
    if pairs.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in pairs {
        single.insert(name.clone(), Value::String(value.clone()));
        match multi.get_mut(name) {
            Some(Value::Array(values)) => values.push(Value::String(value.clone())),
            _ => {
                multi.insert(name.clone(), json!([value]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// `Wed Nov 25 10:12:48 UTC 2026`: how API Gateway writes `exp` and `iat` in claims.
fn claim_date(epoch: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch.div_euclid(86_400);
    let seconds = epoch.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {year}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Token claims as API Gateway passes them to the function: every value a string, `exp` and
/// `iat` as dates.
pub fn event_claims(claims: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (name, value) in claims {
        let text = match (name.as_str(), value) {
            ("exp" | "iat", Value::Number(n)) => {
                n.as_i64().map(claim_date).unwrap_or_else(|| n.to_string())
            }
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        };
        out.insert(name.clone(), Value::String(text));
    }
    Value::Object(out)
}

/// The proxy event for `request` on the route `method template`, with the authorizer's claims on
/// an authorized route.
pub fn proxy_event(
    template: &str,
    parameters: &BTreeMap<String, String>,
    request: &Request<'_>,
    stage: &Stage<'_>,
    claims: Option<&Map<String, Value>>,
) -> Value {
    let (headers, multi_headers) = single_and_multi(request.headers);
    let (query, multi_query) = single_and_multi(&query_pairs(request.query));
    let (body, is_base64) = match std::str::from_utf8(request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(request.body)),
            true,
        ),
    };
    let header = |name: &str| {
        request
            .headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| Value::String(v.clone()))
            .unwrap_or(Value::Null)
    };
    let mut context = json!({
        "resourcePath": template,
        "httpMethod": request.method,
        "path": format!("/{}{}", stage.stage, request.path),
        "accountId": stage.account_id,
        "protocol": "HTTP/1.1",
        "stage": stage.stage,
        "requestTimeEpoch": stage.now_ms,
        "requestId": stage.request_id,
        "apiId": stage.api_id,
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": header("user-agent"),
        },
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({ "claims": event_claims(claims) });
    }
    json!({
        "resource": template,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": if parameters.is_empty() { Value::Null } else { json!(parameters) },
        "stageVariables": Value::Null,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// An HTTP response from a function's proxy response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Maps what the function returned; None when it is not a proxy response (API Gateway answers
/// 502 then).
pub fn proxy_response(output: &[u8]) -> Option<Response> {
    let value: Value = serde_json::from_slice(output).ok()?;
    let object = value.as_object()?;
    let status = match object.get("statusCode") {
        Some(Value::Number(n)) => u16::try_from(n.as_u64()?).ok()?,
        None => 200,
        _ => return None,
    };
    let mut headers = Vec::new();
    if let Some(Value::Object(map)) = object.get("headers") {
        for (name, value) in map {
            headers.push((name.clone(), value.as_str()?.to_owned()));
        }
    }
    if let Some(Value::Object(map)) = object.get("multiValueHeaders") {
        for (name, values) in map {
            for value in values.as_array()? {
                let value = value.as_str()?.to_owned();
                if !headers.contains(&(name.clone(), value.clone())) {
                    headers.push((name.clone(), value));
                }
            }
        }
    }
    let body = match object.get("body") {
        Some(Value::String(text)) if object.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        None | Some(Value::Null) => Vec::new(),
        _ => return None,
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_literals_variables_and_greedy_proxies() {
        assert_eq!(match_route("/secret", "/secret"), Some(BTreeMap::new()));
        assert_eq!(match_route("/secret", "/secrets"), None);
        assert_eq!(match_route("/secret", "/secret/x"), None);
        assert_eq!(
            match_route("/users/{id}", "/users/a%20b"),
            Some(BTreeMap::from([("id".to_owned(), "a b".to_owned())]))
        );
        assert_eq!(match_route("/users/{id}", "/users"), None);
        assert_eq!(
            match_route("/files/{proxy+}", "/files/a/b.txt"),
            Some(BTreeMap::from([("proxy".to_owned(), "a/b.txt".to_owned())]))
        );
        assert_eq!(match_route("/files/{proxy+}", "/files"), None);
        assert_eq!(match_route("/", "/"), Some(BTreeMap::new()));
    }

    #[test]
    fn events_carry_what_api_gateway_puts_in_them() {
        let headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Tag".to_owned(), "a".to_owned()),
            ("X-Tag".to_owned(), "b".to_owned()),
            ("User-Agent".to_owned(), "curl/8".to_owned()),
        ];
        let request = Request {
            method: "GET",
            path: "/users/42",
            query: Some("q=a%20b&q=c&flag"),
            headers: &headers,
            body: b"",
            source_ip: "127.0.0.1",
        };
        let stage = Stage {
            stage: "prod",
            api_id: "local",
            account_id: "123456789012",
            request_id: "r-1",
            now_ms: 1_795_598_068_123,
        };
        let claims = serde_json::from_value(json!({
            "cognito:username": "ada", "exp": 1_795_597_968_i64, "email_verified": true
        }))
        .unwrap();
        let parameters = match_route("/users/{id}", "/users/42").unwrap();
        let event = proxy_event("/users/{id}", &parameters, &request, &stage, Some(&claims));
        assert_eq!(event["resource"], "/users/{id}");
        assert_eq!(event["path"], "/users/42");
        assert_eq!(event["pathParameters"], json!({"id": "42"}));
        assert_eq!(event["headers"]["X-Tag"], "b");
        assert_eq!(event["multiValueHeaders"]["X-Tag"], json!(["a", "b"]));
        assert_eq!(
            event["queryStringParameters"],
            json!({"q": "c", "flag": ""})
        );
        assert_eq!(
            event["multiValueQueryStringParameters"]["q"],
            json!(["a b", "c"])
        );
        assert_eq!(event["body"], Value::Null);
        assert_eq!(event["isBase64Encoded"], false);
        let context = &event["requestContext"];
        assert_eq!(context["path"], "/prod/users/42");
        assert_eq!(context["stage"], "prod");
        assert_eq!(context["requestId"], "r-1");
        assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(context["identity"]["userAgent"], "curl/8");
        assert_eq!(
            context["authorizer"]["claims"],
            json!({
                "cognito:username": "ada",
                "exp": "Wed Nov 25 09:12:48 UTC 2026",
                "email_verified": "true"
            })
        );

        // The handlers read these events: the repository's fixture has the same shape.
        let fixture: Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../tests/fixtures/apigw-rest-get-secret.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let keys = |v: &Value| {
            let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(&event), keys(&fixture));
    }

    #[test]
    fn binary_bodies_travel_as_base64_and_responses_map_back() {
        let request = Request {
            method: "POST",
            path: "/up",
            query: None,
            headers: &[],
            body: &[0xff, 0x00],
            source_ip: "127.0.0.1",
        };
        let stage = Stage {
            stage: "prod",
            api_id: "local",
            account_id: "1",
            request_id: "r",
            now_ms: 0,
        };
        let event = proxy_event("/up", &BTreeMap::new(), &request, &stage, None);
        assert_eq!(event["body"], "/wA=");
        assert_eq!(event["isBase64Encoded"], true);
        assert!(event["requestContext"].get("authorizer").is_none());

        let response = proxy_response(
            br#"{"statusCode":201,"headers":{"a":"1"},"multiValueHeaders":{"b":["2","3"]},"body":"aGk=","isBase64Encoded":true}"#,
        )
        .unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.body, b"hi");
        assert_eq!(
            response.headers,
            [("a", "1"), ("b", "2"), ("b", "3")].map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(proxy_response(b"not json"), None);
        assert_eq!(proxy_response(br#"{"statusCode":"200"}"#), None);
    }
}

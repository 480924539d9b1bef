//! `api.cors` in `serve`, answered as the deployed API answers (the same settings make both, see
//! `kinds::rest_api::cors`): the preflight `OPTIONS` of a resource with routes, before any
//! authorizer; the headers of API Gateway's own 4XX and 5XX (`DEFAULT_4XX`, `DEFAULT_5XX`). The
//! functions' answers carry theirs from the functions themselves (`handlers/common`), as on AWS.

use std::collections::BTreeSet;

use crate::kinds::rest_api::cors::{gateway_responses, preflight};
use crate::spec::Cors;

/// `'value'` (API Gateway's static value) -> `value`.
fn unquoted(value: &str) -> String {
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(value)
        .to_owned()
}

/// The preflight's headers for a resource whose routes answer `methods`, asked from `origin`:
/// the static headers, and the origin named instead of the first when it is listed (the deployed
/// template's override).
pub fn preflight_headers(
    cors: &Cors,
    methods: &BTreeSet<String>,
    origin: Option<&str>,
) -> Vec<(String, String)> {
    let Some(preflight) = preflight(cors, methods).preflight else {
        return Vec::new();
    };
    let listed = origin.filter(|o| cors.allow_origins.iter().any(|l| l == o));
    preflight
        .headers
        .iter()
        .map(|(name, value)| {
            let value = match listed {
                Some(origin)
                    if preflight.template.is_some() && name == "Access-Control-Allow-Origin" =>
                {
                    origin.to_owned()
                }
                _ => unquoted(value),
            };
            (name.clone(), value)
        })
        .collect()
}

/// The headers of an answer API Gateway makes itself with `status`.
pub fn gateway_headers(cors: &Cors, status: u16) -> Vec<(String, String)> {
    let kind = if status >= 500 {
        "DEFAULT_5XX"
    } else {
        "DEFAULT_4XX"
    };
    gateway_responses(cors)
        .remove(kind)
        .unwrap_or_default()
        .iter()
        .map(|(key, value)| {
            let name = key.strip_prefix("gatewayresponse.header.").unwrap_or(key);
            (name.to_owned(), unquoted(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors {
            allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            allow_headers: vec!["Content-Type".to_owned(), "Authorization".to_owned()],
            allow_credentials: false,
            max_age: None,
        }
    }

    fn origin_of(headers: &[(String, String)]) -> Option<&str> {
        headers
            .iter()
            .find(|(n, _)| n == "Access-Control-Allow-Origin")
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_preflight_names_the_listed_origin_asking_and_never_an_unlisted_one() {
        let two = cors(&["https://a.example", "https://b.example"]);
        let methods = BTreeSet::from(["GET".to_owned()]);
        let asked = |origin| preflight_headers(&two, &methods, origin);
        assert_eq!(
            origin_of(&asked(Some("https://b.example"))),
            Some("https://b.example")
        );
        assert_eq!(
            origin_of(&asked(Some("https://evil.example"))),
            Some("https://a.example")
        );
        assert_eq!(origin_of(&asked(None)), Some("https://a.example"));
        let headers = asked(Some("https://a.example"));
        assert!(headers.contains(&(
            "Access-Control-Allow-Methods".to_owned(),
            "GET,OPTIONS".to_owned()
        )));
        assert!(headers.contains(&("Vary".to_owned(), "Origin".to_owned())));
    }

    #[test]
    fn api_gateways_own_answers_name_the_first_origin() {
        let headers = gateway_headers(&cors(&["https://a.example", "https://b.example"]), 401);
        assert_eq!(origin_of(&headers), Some("https://a.example"));
        assert_eq!(origin_of(&gateway_headers(&cors(&["*"]), 504)), Some("*"));
    }
}

//! CORS on a function's own answers: `provisioner` tells every function behind an API with
//! `api.cors` which origins may read its answers (`CORS_ALLOW_ORIGINS`, comma-separated) and
//! whether with credentials (`CORS_ALLOW_CREDENTIALS=true`). An answer names the request's origin
//! only when it is listed (or `*` when that is the list), and always says it depends on the
//! origin (`Vary: Origin`), so a cache never serves one origin's answer to another.

use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use http::HeaderValue;
use http::header::{ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN, VARY};

/// The variables `provisioner` sets.
pub const ORIGINS_VARIABLE: &str = "CORS_ALLOW_ORIGINS";
pub const CREDENTIALS_VARIABLE: &str = "CORS_ALLOW_CREDENTIALS";

/// Which origins may read the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
    credentials: bool,
}

impl Cors {
    /// From the environment; None when the API has no CORS (the variable is absent or empty).
    pub fn from_env() -> Option<Cors> {
        let origins = std::env::var(ORIGINS_VARIABLE).ok()?;
        let credentials = std::env::var(CREDENTIALS_VARIABLE).is_ok_and(|v| v == "true");
        Cors::new(&origins, credentials)
    }

    /// From a comma-separated list of origins.
    pub fn new(origins: &str, credentials: bool) -> Option<Cors> {
        let origins: Vec<String> = origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        (!origins.is_empty()).then_some(Cors {
            origins,
            credentials,
        })
    }

    /// Adds the CORS headers for a request whose `Origin` header was `origin` to `response`.
    pub fn apply(&self, origin: Option<&HeaderValue>, response: &mut ApiGatewayProxyResponse) {
        let headers = &mut response.headers;
        if self.origins.iter().any(|o| o == "*") {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            return;
        }
        // One `Vary` header (API Gateway's proxy response keeps one value per name): `Origin`
        // added to what the handler said, if anything.
        let vary = match headers.get(VARY).and_then(|v| v.to_str().ok()) {
            Some(said)
                if said
                    .split(',')
                    .any(|v| v.trim().eq_ignore_ascii_case("origin")) =>
            {
                said.to_owned()
            }
            Some(said) if !said.trim().is_empty() => format!("{said}, Origin"),
            _ => "Origin".to_owned(),
        };
        if let Ok(vary) = HeaderValue::from_str(&vary) {
            headers.insert(VARY, vary);
        }
        let Some(origin) =
            origin.filter(|o| self.origins.iter().any(|listed| *o == listed.as_str()))
        else {
            return;
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if self.credentials {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// The request's `Origin` header, kept before the handler takes the request.
pub fn origin_of(headers: &http::HeaderMap) -> Option<HeaderValue> {
    headers.get(ORIGIN).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(cors: &Cors, origin: Option<&str>) -> http::HeaderMap {
        let mut response = ApiGatewayProxyResponse::default();
        let origin = origin.map(|o| HeaderValue::from_str(o).unwrap());
        cors.apply(origin.as_ref(), &mut response);
        response.headers
    }

    #[test]
    fn a_listed_origin_is_named_and_an_unlisted_one_never() {
        let cors = Cors::new("https://a.example, https://b.example", true).unwrap();
        let a = answered(&cors, Some("https://b.example"));
        assert_eq!(a[ACCESS_CONTROL_ALLOW_ORIGIN], "https://b.example");
        assert_eq!(a[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(a[VARY], "Origin");
        for unlisted in [
            Some("https://evil.example"),
            Some("https://a.example.evil"),
            None,
        ] {
            let other = answered(&cors, unlisted);
            assert!(
                other.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
                "{unlisted:?}"
            );
            assert!(other.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
            assert_eq!(other[VARY], "Origin");
        }
        // A handler's own `Vary` keeps its value, with `Origin` added once.
        let mut response = ApiGatewayProxyResponse::default();
        response
            .headers
            .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        cors.apply(None, &mut response);
        cors.apply(None, &mut response);
        assert_eq!(response.headers[VARY], "Accept-Encoding, Origin");
        let any = Cors::new("*", false).unwrap();
        assert_eq!(
            answered(&any, Some("https://x.example"))[ACCESS_CONTROL_ALLOW_ORIGIN],
            "*"
        );
        assert_eq!(Cors::new(" , ", false), None);
    }
}

//! `api.cors`: the origins a browser may call the API from, with the rules browsers apply (an
//! origin is a scheme, a host and a port, written as the browser sends it; `*` is no origin a
//! browser accepts together with credentials).

use std::collections::BTreeMap;

use super::{Checker, Function, Part, RawCors, Template, path};
use crate::spec::Cors;

/// The environment variables that tell a function behind the API which origins may read its
/// answers (comma-separated) and whether with credentials (`true`; absent otherwise):
/// `handlers/common` reads them, and so can a user's own handler.
pub const ORIGINS_VARIABLE: &str = "CORS_ALLOW_ORIGINS";
pub const CREDENTIALS_VARIABLE: &str = "CORS_ALLOW_CREDENTIALS";

/// What `allowHeaders` is when stack.yaml does not say: what the stack's handlers read.
pub const DEFAULT_ALLOW_HEADERS: &[&str] = &["Content-Type", "Authorization"];

/// Firefox keeps a preflight's answer at most a day (Chromium two hours).
const MAX_AGE_LIMIT: i64 = 86_400;

fn at(field: &[&str]) -> Vec<String> {
    let mut p = path(&["api", "cors"]);
    p.extend(path(field));
    p
}

pub(super) fn cors(c: &mut Checker, raw: &RawCors) -> Cors {
    let credentials = raw.allow_credentials.unwrap_or(false);
    if raw.allow_origins.is_empty() {
        c.error_hint(
            &at(&["allowOrigins"]),
            "`allowOrigins` is empty: no browser could call the API",
            "list the origins of the pages that call it, such as `https://app.example.com`, or remove `cors`",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, origin) in raw.allow_origins.iter().enumerate() {
        let here = at(&["allowOrigins", &i.to_string()]);
        if !seen.insert(origin) {
            c.error(&here, format!("origin `{origin}` is listed twice"));
        } else if origin == "*" {
            if credentials {
                c.error_hint(
                    &here,
                    "`*` with `allowCredentials: true`: browsers refuse a credentialed answer to any origin",
                    "list the origins themselves, or leave out `allowCredentials`",
                );
            } else if raw.allow_origins.len() > 1 {
                c.error_hint(
                    &here,
                    "`*` already allows every origin",
                    "write `allowOrigins: [\"*\"]` alone, or list origins without `*`",
                );
            }
        } else if let Err(problem) = check_origin(origin) {
            c.error_hint(
                &here,
                format!("`{origin}` is not an origin: {problem}"),
                "write it as a browser sends it: `https://app.example.com` or `http://localhost:5173` (a scheme, a host in lower case, a port if not the scheme's; no path, no trailing `/`)",
            );
        }
    }
    if raw.allow_origins.len() > 1 && !raw.allow_origins.iter().any(|o| o == "*") {
        c.warning(
            &at(&["allowOrigins"]),
            format!(
                "API Gateway's own answers (the authorizer's 401, 403, 429, its 5XX) can name one origin only: they name `{}`, and pages on the other origins see them as network errors",
                raw.allow_origins[0]
            ),
            "list first the origin whose pages must tell \"sign in again\" from \"the network is down\"; the functions' answers and preflights name every listed origin",
        );
    }
    let allow_headers: Vec<String> = match &raw.allow_headers {
        Some(headers) => headers.clone(),
        None => DEFAULT_ALLOW_HEADERS
            .iter()
            .map(|h| (*h).to_owned())
            .collect(),
    };
    if allow_headers.is_empty() {
        c.error_hint(
            &at(&["allowHeaders"]),
            "`allowHeaders` is empty: a page could send no `Content-Type` with a JSON body",
            "leave it out for `[Content-Type, Authorization]`, or list the headers pages send",
        );
    }
    for (i, header) in allow_headers.iter().enumerate() {
        let here = at(&["allowHeaders", &i.to_string()]);
        if header == "*" && credentials {
            c.error_hint(
                &here,
                "`*` with `allowCredentials: true` is the header named `*`, not every header",
                "list the headers pages send",
            );
        } else if header.is_empty()
            || (header != "*"
                && !header
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "!#$%&*+-.^_`|~".contains(ch)))
        {
            c.error_hint(
                &here,
                format!("`{header}` is not a header name"),
                "write a header's name, such as `Content-Type` or `X-Request-Id`",
            );
        }
    }
    let max_age = match raw.max_age {
        None => None,
        Some(seconds) if (0..=MAX_AGE_LIMIT).contains(&seconds) => u32::try_from(seconds).ok(),
        Some(seconds) => {
            c.error_hint(
                &at(&["maxAge"]),
                format!("`maxAge` is {seconds} seconds; browsers take 0 to {MAX_AGE_LIMIT}"),
                "Chromium keeps a preflight at most 7200 s and Firefox 86400 s; 600 is common",
            );
            None
        }
    };
    Cors {
        allow_origins: raw.allow_origins.clone(),
        allow_headers,
        allow_credentials: credentials,
        max_age,
    }
}

/// Tells each function a route calls (`routed`) the allowlist, in its environment; a variable of
/// the same name written in stack.yaml is an error.
pub(super) fn tell_functions(
    c: &mut Checker,
    cors: &Cors,
    functions: &mut BTreeMap<String, Function>,
    routed: &std::collections::BTreeSet<String>,
) {
    let text = |value: String| Template {
        parts: vec![Part::Text(value)],
    };
    for name in routed {
        let Some(function) = functions.get_mut(name) else {
            continue;
        };
        for variable in [ORIGINS_VARIABLE, CREDENTIALS_VARIABLE] {
            if function.environment.contains_key(variable) {
                c.key_error(
                    &path(&["functions", name, "environment", variable]),
                    format!(
                        "`{variable}` is set from `api.cors` for every function behind the API"
                    ),
                    Some(
                        "remove it here; `api.cors` says which origins may read the answers"
                            .to_owned(),
                    ),
                );
            }
        }
        function.environment.insert(
            ORIGINS_VARIABLE.to_owned(),
            text(cors.allow_origins.join(",")),
        );
        if cors.allow_credentials {
            function
                .environment
                .insert(CREDENTIALS_VARIABLE.to_owned(), text("true".to_owned()));
        }
    }
}

/// `scheme://host[:port]`, as a browser's `Origin` header has it.
fn check_origin(origin: &str) -> Result<(), String> {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err("it has no scheme".to_owned());
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("`{scheme}` is not http or https"));
    }
    if rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err("it has a path (an origin ends after the host and port)".to_owned());
    }
    // An IPv6 host is bracketed (`[::1]:8443`): its port follows the `]`.
    let (host, port) = match rest.find(']') {
        Some(end) if rest.starts_with('[') => {
            let (host, after) = rest.split_at(end + 1);
            if !after.is_empty() && !after.starts_with(':') {
                return Err("something follows its host".to_owned());
            }
            (host, after.strip_prefix(':'))
        }
        _ => match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        },
    };
    if host.is_empty() {
        return Err("it has no host".to_owned());
    }
    if host != host.to_ascii_lowercase() {
        return Err("browsers send the host in lower case".to_owned());
    }
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let allowed = |ch: char| {
        ch.is_ascii_alphanumeric() || ch == '-' || ch == '.' || (bracketed && "[]:".contains(ch))
    };
    if !host.chars().all(allowed) {
        return Err("its host has characters a host name cannot".to_owned());
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("`{port}` is not a port")),
            Ok(443) if scheme == "https" => {
                return Err("browsers leave out the scheme's own port (443)".to_owned());
            }
            Ok(80) if scheme == "http" => {
                return Err("browsers leave out the scheme's own port (80)".to_owned());
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_origin;

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        for good in [
            "https://app.example.com",
            "http://localhost:5173",
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for (bad, problem) in [
            ("app.example.com", "no scheme"),
            ("https://app.example.com/", "path"),
            ("https://app.example.com/app", "path"),
            ("ftp://example.com", "not http or https"),
            ("https://App.Example.com", "lower case"),
            ("https://example.com:443", "443"),
            ("http://example.com:80", "(80)"),
            ("http://example.com:99999", "not a port"),
            ("https://", "no host"),
            ("http://[::1]junk", "follows its host"),
            ("http://a[b]", "cannot"),
        ] {
            let err = check_origin(bad).unwrap_err();
            assert!(err.contains(problem), "{bad}: {err}");
        }
    }
}

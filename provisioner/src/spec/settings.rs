//! Settings of the stack's model that are values of their own: `api.cors`, and token validities
//! as stack.yaml writes them.

use serde::Serialize;

/// `api.cors`, named as API Gateway's own CORS settings are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    /// Exact origins (`https://app.example.com`), or `*` alone (without credentials).
    pub allow_origins: Vec<String>,
    /// The request headers a page may send (`Content-Type` and `Authorization` by default).
    pub allow_headers: Vec<String>,
    pub allow_credentials: bool,
    /// How long a browser may keep a preflight's answer, in seconds (None: the browser's default).
    pub max_age: Option<u32>,
}

impl Cors {
    /// The `Access-Control-Allow-Origin` for a request from `origin` (None: not allowed, and the
    /// answer names no origin).
    pub fn allowed_origin(&self, origin: Option<&str>) -> Option<String> {
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some("*".to_owned());
        }
        let origin = origin?;
        self.allow_origins
            .iter()
            .any(|o| o == origin)
            .then(|| origin.to_owned())
    }
}

/// Minutes as stack.yaml writes them: `30d`, `1h`, `90m`.
pub fn show_minutes(minutes: i32) -> String {
    if minutes != 0 && minutes % (24 * 60) == 0 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes != 0 && minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

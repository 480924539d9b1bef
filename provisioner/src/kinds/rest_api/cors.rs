//! `api.cors` on API Gateway: a preflight `OPTIONS` on each resource with routes (no authorizer,
//! a MOCK integration that answers 204 with the CORS headers), and the CORS headers on the answers
//! API Gateway makes itself (its gateway responses `DEFAULT_4XX` and `DEFAULT_5XX`: the
//! authorizer's 401, "Missing Authentication Token", throttling, timeouts), so that a page can
//! read their status. The functions' own answers carry the headers from `handlers/common`.
//!
//! One origin, or `*`, is a static header. With several, the preflight's integration response names
//! the request's origin when it is listed (a template that overrides the header; API Gateway runs
//! it for MOCK integrations) and the first listed one otherwise, so an unlisted origin is never
//! named. A gateway response runs no template: it names the first listed origin (`validate` says
//! so).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::types::GatewayResponseType;
use serde::Serialize;

use super::{ApiError, MethodSettings, aws_error, ignore_not_found};
use crate::pace::{Pacer, Quotas};
use crate::spec::Cors;

/// The status a preflight answers.
pub const PREFLIGHT_STATUS: &str = "204";
/// The gateway responses that carry the CORS headers: every 4XX and 5XX API Gateway answers
/// itself, unless a more specific type is customized.
pub const GATEWAY_RESPONSES: &[&str] = &["DEFAULT_4XX", "DEFAULT_5XX"];
/// What the preflight's MOCK integration is sent (the status it answers with).
const MOCK_REQUEST: &str = r#"{"statusCode": 204}"#;
/// Every method an `ANY` route answers.
const ANY_METHODS: &str = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT";

/// A preflight's answer as API Gateway keeps it: its integration response's headers (static
/// values, quoted as API Gateway writes them: `'https://app.example.com'`), the headers its
/// method response declares, and its template (None: one origin or `*`, no template).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preflight {
    pub headers: BTreeMap<String, String>,
    pub declared: BTreeSet<String>,
    pub template: Option<String>,
}

impl crate::plan::Render for Preflight {
    /// `204 Access-Control-Allow-Origin: 'https://a.example' (or the listed origin asking), ...`
    fn render(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let echoed = self.template.is_some() && name == "Access-Control-Allow-Origin";
                let note = if echoed {
                    " (or the listed origin asking)"
                } else {
                    ""
                };
                format!("{name}: {value}{note}")
            })
            .collect();
        format!("{PREFLIGHT_STATUS} {}", headers.join(", "))
    }
}

/// `value` as a static value in API Gateway's mappings.
fn quoted(value: &str) -> String {
    format!("'{value}'")
}

/// The origin a static header names: `*`, or the first listed.
fn static_origin(cors: &Cors) -> &str {
    if cors.allow_origins.iter().any(|o| o == "*") {
        "*"
    } else {
        cors.allow_origins.first().map_or("", String::as_str)
    }
}

/// The headers every CORS answer of API Gateway's carries: the origin, `Vary: Origin` when the
/// answer depends on it, and credentials when allowed.
fn common_headers(cors: &Cors) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    let origin = static_origin(cors);
    headers.insert("Access-Control-Allow-Origin".to_owned(), quoted(origin));
    if origin != "*" {
        headers.insert("Vary".to_owned(), quoted("Origin"));
    }
    if cors.allow_credentials {
        headers.insert(
            "Access-Control-Allow-Credentials".to_owned(),
            quoted("true"),
        );
    }
    headers
}

/// The preflight `OPTIONS` of a resource whose routes answer `methods`.
pub fn preflight(cors: &Cors, methods: &BTreeSet<String>) -> MethodSettings {
    let allow_methods = if methods.contains("ANY") {
        ANY_METHODS.to_owned()
    } else {
        let mut all: BTreeSet<&str> = methods.iter().map(String::as_str).collect();
        all.insert("OPTIONS");
        all.into_iter().collect::<Vec<_>>().join(",")
    };
    let mut headers = common_headers(cors);
    headers.insert(
        "Access-Control-Allow-Methods".to_owned(),
        quoted(&allow_methods),
    );
    headers.insert(
        "Access-Control-Allow-Headers".to_owned(),
        quoted(&cors.allow_headers.join(",")),
    );
    if let Some(seconds) = cors.max_age {
        headers.insert(
            "Access-Control-Max-Age".to_owned(),
            quoted(&seconds.to_string()),
        );
    }
    let several = cors.allow_origins.len() > 1 && static_origin(cors) != "*";
    MethodSettings {
        authorization: "NONE".to_owned(),
        authorizer: None,
        authorization_scopes: Vec::new(),
        integration: Some(super::IntegrationSettings {
            kind: "MOCK".to_owned(),
            http_method: String::new(),
            uri: String::new(),
        }),
        preflight: Some(Preflight {
            declared: headers.keys().cloned().collect(),
            headers,
            template: several.then(|| origin_template(&cors.allow_origins)),
        }),
    }
}

/// The integration response's template that names the request's origin when it is listed: it
/// overrides the static header (API Gateway's `$context.responseOverride`), and only then.
fn origin_template(origins: &[String]) -> String {
    let listed: Vec<String> = origins
        .iter()
        .map(|origin| format!("$origin == \"{origin}\""))
        .collect();
    format!(
        "#set($origin = $input.params().header.get(\"Origin\"))\n\
         #if(\"$!origin\" == \"\")#set($origin = $input.params().header.get(\"origin\"))#end\n\
         #if({})\n\
         #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n\
         #end\n",
        listed.join(" || ")
    )
}

/// The gateway responses' headers, by type (as API Gateway keys them:
/// `gatewayresponse.header.<name>`).
pub fn gateway_responses(cors: &Cors) -> BTreeMap<String, BTreeMap<String, String>> {
    let parameters: BTreeMap<String, String> = common_headers(cors)
        .into_iter()
        .map(|(name, value)| (format!("gatewayresponse.header.{name}"), value))
        .collect();
    GATEWAY_RESPONSES
        .iter()
        .map(|kind| ((*kind).to_owned(), parameters.clone()))
        .collect()
}

/// The customized gateway responses of the types this tool manages, with their headers (a type
/// API Gateway answers by default is absent).
pub(super) async fn read_gateway_responses(
    client: &Client,
    pacer: &Pacer,
    name: &str,
    id: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ApiError> {
    let listed = super::read::every_page(pacer, Quotas::General, |position| async move {
        let page = client
            .get_gateway_responses()
            .rest_api_id(id)
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(aws_error("read the gateway responses of", name))?;
        Ok((page.items.unwrap_or_default(), page.position))
    })
    .await?;
    Ok(listed
        .iter()
        .filter(|response| !response.default_response())
        .filter_map(|response| {
            let kind = response.response_type()?.as_str();
            GATEWAY_RESPONSES.contains(&kind).then(|| {
                let parameters = response
                    .response_parameters()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                (kind.to_owned(), parameters)
            })
        })
        .collect())
}

/// Puts gateway response `kind` with `parameters`, or (None) deletes its customization.
pub(super) async fn put_gateway_response(
    client: &Client,
    api_id: &str,
    name: &str,
    kind: &str,
    parameters: Option<&BTreeMap<String, String>>,
) -> Result<(), ApiError> {
    let response_type = GatewayResponseType::from(kind);
    match parameters {
        Some(parameters) => {
            client
                .put_gateway_response()
                .rest_api_id(api_id)
                .response_type(response_type)
                .set_response_parameters(Some(parameters.clone().into_iter().collect()))
                .send()
                .await
                .map_err(aws_error(format!("put gateway response {kind} in"), name))?;
        }
        None => {
            if let Err(err) = client
                .delete_gateway_response()
                .rest_api_id(api_id)
                .response_type(response_type)
                .send()
                .await
            {
                ignore_not_found(err, format!("delete gateway response {kind} of"), name)?;
            }
        }
    }
    Ok(())
}

/// After PutMethod of a preflight: its method response, which declares the headers.
pub(super) async fn put_method_response(
    client: &Client,
    api_id: &str,
    resource_id: &str,
    name: &str,
    path: &str,
    preflight: &Preflight,
) -> Result<(), ApiError> {
    let declared = preflight
        .declared
        .iter()
        .map(|header| (format!("method.response.header.{header}"), false))
        .collect();
    client
        .put_method_response()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method("OPTIONS")
        .status_code(PREFLIGHT_STATUS)
        .set_response_parameters(Some(declared))
        .send()
        .await
        .map_err(aws_error(
            format!("put the preflight's answer of {path} in"),
            name,
        ))?;
    Ok(())
}

/// The MOCK integration's request templates: what it is sent decides the status it answers.
pub(super) fn mock_request_templates() -> std::collections::HashMap<String, String> {
    [("application/json".to_owned(), MOCK_REQUEST.to_owned())].into()
}

/// After PutIntegration of a preflight: its integration response, which gives the headers.
pub(super) async fn put_integration_response(
    client: &Client,
    api_id: &str,
    resource_id: &str,
    name: &str,
    path: &str,
    preflight: &Preflight,
) -> Result<(), ApiError> {
    let headers = preflight
        .headers
        .iter()
        .map(|(header, value)| (format!("method.response.header.{header}"), value.clone()))
        .collect();
    let templates = preflight
        .template
        .as_ref()
        .map(|t| [("application/json".to_owned(), t.clone())].into());
    client
        .put_integration_response()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method("OPTIONS")
        .status_code(PREFLIGHT_STATUS)
        .set_response_parameters(Some(headers))
        .set_response_templates(templates)
        .send()
        .await
        .map_err(aws_error(
            format!("put the preflight's headers of {path} in"),
            name,
        ))?;
    Ok(())
}

/// A live preflight, from a method's integration response and method response.
pub(super) fn live_preflight(method: &aws_sdk_apigateway::types::Method) -> Option<Preflight> {
    let integration = method.method_integration()?;
    if integration.r#type().map(|t| t.as_str()) != Some("MOCK") {
        return None;
    }
    let response = integration.integration_responses()?.get(PREFLIGHT_STATUS);
    let strip = |key: &str| {
        key.strip_prefix("method.response.header.")
            .map(str::to_owned)
    };
    let headers = response
        .and_then(|r| r.response_parameters())
        .map(|p| {
            p.iter()
                .filter_map(|(k, v)| Some((strip(k)?, v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let template = response
        .and_then(|r| r.response_templates())
        .and_then(|t| t.get("application/json"))
        .filter(|t| !t.is_empty())
        .cloned();
    let declared = method
        .method_responses()
        .and_then(|responses| responses.get(PREFLIGHT_STATUS))
        .and_then(|r| r.response_parameters())
        .map(|p| p.keys().filter_map(|k| strip(k)).collect())
        .unwrap_or_default();
    Some(Preflight {
        headers,
        declared,
        template,
    })
}

/// Each gateway response's action: put where wanted and missing or different, deleted where no
/// longer wanted.
pub(super) fn diff_gateway_responses(
    live: &super::LiveApi,
    desired: &super::DesiredApi,
) -> BTreeMap<String, crate::plan::Action> {
    let kinds: BTreeSet<&String> = live
        .gateway_responses
        .keys()
        .chain(desired.gateway_responses.keys())
        .collect();
    kinds
        .into_iter()
        .map(|kind| {
            let action = match (
                live.gateway_responses.get(kind),
                desired.gateway_responses.get(kind),
            ) {
                (None, Some(_)) => crate::plan::Action::Create,
                (Some(_), None) => crate::plan::Action::Delete,
                (Some(l), Some(d)) => {
                    let mut differ = crate::plan::Differ::default();
                    differ.field("responseParameters", l, d);
                    differ.action()
                }
                (None, None) => crate::plan::Action::NoOp,
            };
            (kind.clone(), action)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> Cors {
        Cors {
            allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            allow_headers: vec!["Content-Type".to_owned(), "Authorization".to_owned()],
            allow_credentials: credentials,
            max_age: Some(600),
        }
    }

    #[test]
    fn one_origin_is_a_static_header_and_several_a_template_that_names_only_listed_ones() {
        let methods = BTreeSet::from(["POST".to_owned()]);
        let one = preflight(&cors(&["https://a.example"], true), &methods);
        let one = one.preflight.unwrap();
        assert_eq!(one.template, None);
        assert_eq!(
            one.headers,
            BTreeMap::from([
                (
                    "Access-Control-Allow-Credentials".to_owned(),
                    "'true'".to_owned()
                ),
                (
                    "Access-Control-Allow-Headers".to_owned(),
                    "'Content-Type,Authorization'".to_owned()
                ),
                (
                    "Access-Control-Allow-Methods".to_owned(),
                    "'OPTIONS,POST'".to_owned()
                ),
                (
                    "Access-Control-Allow-Origin".to_owned(),
                    "'https://a.example'".to_owned()
                ),
                ("Access-Control-Max-Age".to_owned(), "'600'".to_owned()),
                ("Vary".to_owned(), "'Origin'".to_owned()),
            ])
        );
        assert_eq!(one.declared, one.headers.keys().cloned().collect());

        let several = preflight(
            &cors(&["https://a.example", "https://b.example"], false),
            &methods,
        );
        let template = several.preflight.unwrap().template.unwrap();
        assert!(
            template.contains(
                r#"#if($origin == "https://a.example" || $origin == "https://b.example")"#
            )
        );
        assert!(template.contains(
            "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)"
        ));

        let any = preflight(&cors(&["*"], false), &BTreeSet::from(["ANY".to_owned()]));
        let any = any.preflight.unwrap();
        assert_eq!(any.headers["Access-Control-Allow-Origin"], "'*'");
        assert_eq!(
            any.headers["Access-Control-Allow-Methods"],
            format!("'{ANY_METHODS}'")
        );
        assert!(!any.headers.contains_key("Vary") && any.template.is_none());
    }

    #[test]
    fn gateway_responses_name_the_first_origin_on_every_4xx_and_5xx() {
        let responses =
            gateway_responses(&cors(&["https://a.example", "https://b.example"], false));
        assert_eq!(
            responses.keys().collect::<Vec<_>>(),
            ["DEFAULT_4XX", "DEFAULT_5XX"]
        );
        assert_eq!(
            responses["DEFAULT_4XX"],
            BTreeMap::from([
                (
                    "gatewayresponse.header.Access-Control-Allow-Origin".to_owned(),
                    "'https://a.example'".to_owned()
                ),
                (
                    "gatewayresponse.header.Vary".to_owned(),
                    "'Origin'".to_owned()
                ),
            ])
        );
    }
}

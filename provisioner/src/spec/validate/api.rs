//! `api`: stage, authorizers and routes, with API Gateway's rules for paths.

use std::collections::{BTreeMap, BTreeSet};

use super::references::KnownNames;
use super::*;

/// The `api` section: its name, stage, authorizers and routes within API Gateway's rules.
pub(super) fn api(c: &mut Checker, stack: &str, raw: &RawApi, known: &KnownNames) -> Api {
    let name = raw.name.clone().unwrap_or_else(|| "api".to_owned());
    if raw.name.is_some() {
        check_logical_name(c, &api_path(&["name"]), "API");
    }
    let stage = stage(c, raw);
    let authorizers = authorizers(c, raw, known);
    let (mut routes, used_authorizers) = routes(c, raw, known);
    check_path_variables(c, &routes, &api_path(&["routes"]));
    check_resource_count(c, &routes);
    check_resource_policy_sizes(c, stack, &routes);
    for name in raw.authorizers.keys() {
        if !used_authorizers.contains(name) {
            c.warning(
                &api_path(&["authorizers", name]),
                format!("authorizer `{name}` is not used by any route"),
                "add `authorizer: <name>` to a route, or remove it",
            );
        }
    }
    routes.sort();
    let cors = raw.cors.as_ref().map(|raw| super::cors::cors(c, raw));
    if cors.is_some() {
        for route in routes.iter().filter(|route| route.method == "OPTIONS") {
            c.key_error(
                &api_path(&["routes", &route.key()]),
                format!("`{}` is the preflight `api.cors` answers", route.key()),
                Some(
                    "remove the route (the preflight needs no function), or remove `cors`"
                        .to_owned(),
                ),
            );
        }
    }
    Api {
        physical_name: format!("{stack}-{name}"),
        stage,
        authorizers,
        routes,
        cors,
    }
}

/// The path of `field` in `api`.
fn api_path(field: &[&str]) -> Path_ {
    let mut p = path(&["api"]);
    p.extend(path(field));
    p
}

/// `stage`: 1 to 128 letters, digits, `-` and `_` (`prod` by default).
fn stage(c: &mut Checker, raw: &RawApi) -> String {
    let stage = raw.stage.clone().unwrap_or_else(|| "prod".to_owned());
    if stage.is_empty()
        || stage.len() > 128
        || !stage
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        c.error_hint(
            &api_path(&["stage"]),
            format!("`{stage}` is not a valid stage name"),
            "use 1 to 128 letters, digits, `-` and `_`",
        );
    }
    stage
}

/// `authorizers`: each on a defined user pool and a header, and no more than API Gateway allows.
fn authorizers(c: &mut Checker, raw: &RawApi, known: &KnownNames) -> BTreeMap<String, Authorizer> {
    let mut authorizers = BTreeMap::new();
    for (name, authorizer) in &raw.authorizers {
        let authorizer_at = api_path(&["authorizers", name]);
        check_logical_name(c, &authorizer_at, "authorizer");
        if !known.pools.contains(&authorizer.user_pool) {
            let mut pool_at = authorizer_at.clone();
            pool_at.push("userPool".to_owned());
            c.error_hint(
                &pool_at,
                format!(
                    "user pool `{}` is not defined in `userPools`",
                    authorizer.user_pool
                ),
                hint_for(
                    &authorizer.user_pool,
                    &known.pool_names(),
                    "defined user pools",
                ),
            );
        }
        let identity_source = identity_source(c, &authorizer_at, authorizer);
        authorizers.insert(
            name.clone(),
            Authorizer {
                user_pool: authorizer.user_pool.clone(),
                identity_source,
            },
        );
    }
    if raw.authorizers.len() > MAX_AUTHORIZERS {
        c.error_hint(
            &api_path(&["authorizers"]),
            format!(
                "{} authorizers; API Gateway allows {MAX_AUTHORIZERS} per API",
                raw.authorizers.len()
            ),
            "routes can share an authorizer",
        );
    }
    authorizers
}

/// An authorizer's `identitySource`: a request header (`Authorization` by default).
fn identity_source(
    c: &mut Checker,
    authorizer_at: &[String],
    authorizer: &RawAuthorizer,
) -> String {
    let identity_source = authorizer
        .identity_source
        .clone()
        .unwrap_or_else(|| "method.request.header.Authorization".to_owned());
    let header = identity_source
        .strip_prefix("method.request.header.")
        .unwrap_or_default();
    let token = !header.is_empty()
        && header
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(ch));
    if !token {
        let mut source_at = authorizer_at.to_vec();
        source_at.push("identitySource".to_owned());
        c.error_hint(
            &source_at,
            format!("`{identity_source}` is not a header identity source"),
            "a Cognito authorizer reads a header: `method.request.header.Authorization`",
        );
    }
    identity_source
}

/// `routes`: at least one, each a valid key said once, to a defined function and authorizer;
/// with the names of the authorizers they use.
fn routes(c: &mut Checker, raw: &RawApi, known: &KnownNames) -> (Vec<Route>, BTreeSet<String>) {
    if raw.routes.is_empty() {
        c.error_hint(
            &api_path(&["routes"]),
            "an API needs at least one route",
            "add `routes: { GET /hello: { function: hello } }`",
        );
    }
    let mut routes: Vec<Route> = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut used_authorizers = BTreeSet::new();
    for (key, route) in &raw.routes {
        let route_at = api_path(&["routes", key]);
        let Some((method, route_path)) = parse_route_key(c, &route_at, key) else {
            continue;
        };
        if let Some(first) = seen.insert((method.clone(), route_path.clone()), key.clone()) {
            c.key_error(
                &route_at,
                format!("route `{key}` repeats `{first}`"),
                Some("keep one of them".to_owned()),
            );
        }
        check_route_targets(c, &route_at, route, raw, known);
        if let Some(authorizer) = &route.authorizer {
            used_authorizers.insert(authorizer.clone());
        }
        let scopes = scopes(c, &route_at, route);
        routes.push(Route {
            path: route_path,
            method,
            function: route.function.clone(),
            authorizer: route.authorizer.clone(),
            scopes,
        });
    }
    (routes, used_authorizers)
}

/// The scope access tokens from the app client's own sign-in carry (`USER_PASSWORD_AUTH`,
/// `REFRESH_TOKEN_AUTH`): any other comes from OAuth flows or a trigger that adds it.
const SIGN_IN_SCOPE: &str = "aws.cognito.signin.user.admin";

/// A route's `scopes`: with an authorizer, not empty, each a scope's name once.
fn scopes(c: &mut Checker, route_at: &[String], route: &RawRoute) -> Vec<String> {
    let Some(scopes) = &route.scopes else {
        return Vec::new();
    };
    let mut at = route_at.to_vec();
    at.push("scopes".to_owned());
    if route.authorizer.is_none() {
        c.error_hint(
            &at,
            "`scopes` without an `authorizer`: nothing would check them",
            "add `authorizer: <name>` to the route, or remove `scopes`",
        );
    } else if scopes.is_empty() {
        c.error_hint(
            &at,
            "`scopes` is empty",
            format!("list at least one (`[{SIGN_IN_SCOPE}]`), or leave `scopes` out for id tokens"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, scope) in scopes.iter().enumerate() {
        let mut scope_at = at.clone();
        scope_at.push(i.to_string());
        if scope.is_empty()
            || scope
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control())
        {
            c.error(&scope_at, format!("`{scope}` is not a scope's name"));
        } else if !seen.insert(scope) {
            c.error(&scope_at, format!("`{scope}` is listed twice"));
        }
    }
    if !scopes.is_empty() && !scopes.iter().any(|s| s == SIGN_IN_SCOPE) {
        c.warning(
            &at,
            format!(
                "access tokens from the app client's sign-in carry only `{SIGN_IN_SCOPE}`: the others come from OAuth flows or a pre token generation trigger, which this stack does not set up, so the route would refuse the tokens `POST /sign-in` gives"
            ),
            format!("add `{SIGN_IN_SCOPE}` to accept them"),
        );
    }
    scopes.clone()
}

/// A route's `function` is defined in `functions`, and its `authorizer` in `api.authorizers`.
fn check_route_targets(
    c: &mut Checker,
    route_at: &[String],
    route: &RawRoute,
    raw: &RawApi,
    known: &KnownNames,
) {
    if !known.functions.contains(&route.function) {
        let mut function_at = route_at.to_vec();
        function_at.push("function".to_owned());
        c.error_hint(
            &function_at,
            format!(
                "function `{}` is not defined in `functions`",
                route.function
            ),
            hint_for(
                &route.function,
                &known.function_names(),
                "defined functions",
            ),
        );
    }
    if let Some(authorizer) = &route.authorizer
        && !raw.authorizers.contains_key(authorizer)
    {
        let names: Vec<&str> = raw.authorizers.keys().map(String::as_str).collect();
        let mut authorizer_at = route_at.to_vec();
        authorizer_at.push("authorizer".to_owned());
        c.error_hint(
            &authorizer_at,
            format!("authorizer `{authorizer}` is not defined in `api.authorizers`"),
            hint_for(authorizer, &names, "defined authorizers"),
        );
    }
}

/// The routes' resources (paths and their parents) are no more than API Gateway allows.
fn check_resource_count(c: &mut Checker, routes: &[Route]) {
    let resources: BTreeSet<&str> = routes
        .iter()
        .flat_map(|route| {
            route
                .path
                .match_indices('/')
                .map(|(i, _)| &route.path[..i])
                .chain(std::iter::once(route.path.as_str()))
        })
        .filter(|prefix| !prefix.is_empty() && *prefix != "/")
        .collect();
    if resources.len() > MAX_API_RESOURCES {
        c.error_hint(
            &api_path(&["routes"]),
            format!(
                "the routes make {} API resources (paths and their parents); API Gateway allows {MAX_API_RESOURCES} per API",
                resources.len()
            ),
            "API Gateway can raise this quota on request; or split the API",
        );
    }
}

/// Lambda's limit on one function's resource policy, where each route's invoke permission is a
/// statement: 20 KB.
const MAX_RESOURCE_POLICY_BYTES: usize = 20 * 1024;

/// Each function's invoke permissions fit in its resource policy, counted as Lambda stores them
/// with the longest partition, region, account and API id they may get: past the limit,
/// `AddPermission` fails part-way through `up` (`PolicyLengthExceededException`).
fn check_resource_policy_sizes(c: &mut Checker, stack: &str, routes: &[Route]) {
    let mut by_function: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for route in routes {
        let function = format!("{stack}-{}", route.function);
        let (partition, region, account, api) =
            ("aws-us-gov", "ap-southeast-5", "123456789012", "abcdefghij");
        let statement = serde_json::json!({
            "Sid": route.statement_id(),
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": format!("arn:{partition}:lambda:{region}:{account}:function:{function}"),
            "Condition": {"ArnLike": {"AWS:SourceArn": format!(
                "arn:{partition}:execute-api:{region}:{account}:{api}{}",
                route.execute_api_path()
            )}},
        });
        let entry = by_function.entry(route.function.as_str()).or_default();
        entry.0 += 1;
        // The statement and the comma after it.
        entry.1 += statement.to_string().len() + 1;
    }
    // `{"Version":"2012-10-17","Id":"default","Statement":[...]}`.
    let document = r#"{"Version":"2012-10-17","Id":"default","Statement":[]}"#.len();
    for (function, (count, bytes)) in by_function {
        let size = document + bytes;
        if size > MAX_RESOURCE_POLICY_BYTES {
            c.error_hint(
                &api_path(&["routes"]),
                format!(
                    "{count} routes call function `{function}`: their invoke permissions make a resource policy of up to {size} bytes, and Lambda allows {MAX_RESOURCE_POLICY_BYTES} per function"
                ),
                "route fewer paths to one function (split them among several), or shorten the paths",
            );
        }
    }
}

/// `POST /sign-up` -> (`POST`, `/sign-up`).
fn parse_route_key(c: &mut Checker, at: &[String], key: &str) -> Option<(String, String)> {
    let mut words = key.split_whitespace();
    let (Some(method), Some(route_path), None) = (words.next(), words.next(), words.next()) else {
        c.key_error(
            at,
            format!("`{key}` is not a route"),
            Some("write `METHOD /path`, for example `POST /sign-up`".to_owned()),
        );
        return None;
    };
    let upper = method.to_ascii_uppercase();
    if !HTTP_METHODS.contains(&upper.as_str()) {
        c.key_error(
            at,
            format!("`{method}` is not an HTTP method API Gateway routes"),
            Some(hint_for(&upper, HTTP_METHODS, "expected one of")),
        );
        return None;
    }
    if let Err(problem) = check_path(route_path) {
        c.key_error(
            at,
            format!("`{route_path}` is not a valid API path: {problem}"),
            Some("paths look like `/users/{id}`: segments of letters, digits, `-`, `.`, `_`, `~`, or one `{variable}`".to_owned()),
        );
        return None;
    }
    Some((upper, route_path.to_owned()))
}

fn check_path(route_path: &str) -> Result<(), String> {
    let Some(rest) = route_path.strip_prefix('/') else {
        return Err("it must start with `/`".to_owned());
    };
    if rest.is_empty() {
        return Ok(());
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let mut variables = BTreeSet::new();
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            return Err("it has an empty segment (`//` or a trailing `/`)".to_owned());
        }
        if let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            if greedy && i + 1 != segments.len() {
                return Err(format!(
                    "the greedy variable `{segment}` must be the last segment"
                ));
            }
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                return Err(format!("`{segment}` is not a valid path variable"));
            }
            if !variables.insert(name) {
                return Err(format!("the variable `{name}` appears twice"));
            }
        } else if !segment
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-._~".contains(ch))
        {
            return Err(format!(
                "the segment `{segment}` has characters API Gateway does not accept"
            ));
        }
    }
    Ok(())
}

/// API Gateway refuses two sibling resources that are both variables (`/users/{id}` and `/users/{name}`).
fn check_path_variables(c: &mut Checker, routes: &[Route], at: &[String]) {
    let mut variable_at: BTreeMap<String, (String, String)> = BTreeMap::new();
    for route in routes {
        let mut parent = String::new();
        for segment in route.path.split('/').filter(|s| !s.is_empty()) {
            if segment.starts_with('{') {
                match variable_at.get(&parent) {
                    Some((other, other_key)) if other != segment => {
                        let mut route_at = at.to_vec();
                        route_at.push(route.key());
                        c.key_error(
                            &route_at,
                            format!("`{segment}` and `{other}` (in `{other_key}`) are sibling path variables under `{}`", if parent.is_empty() { "/" } else { &parent }),
                            Some("API Gateway allows one variable per level: use the same name in both routes".to_owned()),
                        );
                    }
                    Some(_) => {}
                    None => {
                        variable_at.insert(parent.clone(), (segment.to_owned(), route.key()));
                    }
                }
            }
            parent.push('/');
            parent.push_str(segment);
        }
    }
}

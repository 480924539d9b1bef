//! Raw stack.yaml -> the model: defaults, names, limits AWS would enforce later, references and
//! the dependency order. Pure: the workspace's members are handed in, not read here.
//!
//! This module holds the checker, the stack-wide rules and the dependency order; one submodule
//! per section of the file: [`pool`] (`userPools`), [`function`] (`functions`), [`api`] (`api`),
//! and [`references`] (`${...}` templates and the names they may use).

mod api;
pub mod cors;
mod function;
mod moved;
mod pool;
mod references;
mod tags;
mod triggers;

pub(super) use function::resolve_crates;
#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod cors_tests;
#[cfg(test)]
mod tests;

use references::KnownNames;

use std::collections::{BTreeMap, BTreeSet};

use super::error::{Diagnostic, MAX_DIAGNOSTICS, Severity};
use super::model::*;
use super::positions::Positions;
use super::raw::*;
use super::workspace::Workspace;

/// API Gateway's integration timeout: a function slower than this answers 504 through the API.
const API_GATEWAY_TIMEOUT_S: u32 = 29;
/// CloudWatch Logs accepts only these retention periods.
const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Environment variables Lambda sets itself and refuses in a function's configuration.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// API Gateway's quotas per REST API (Service Quotas: "Authorizers per API", "Resources per API").
const MAX_AUTHORIZERS: usize = 10;
const MAX_API_RESOURCES: usize = 300;

const HTTP_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];
const AUTH_FLOWS: &[&str] = &[
    "USER_PASSWORD_AUTH",
    "REFRESH_TOKEN_AUTH",
    "USER_SRP_AUTH",
    "CUSTOM_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
];
const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "picture",
    "preferred_username",
    "profile",
    "zoneinfo",
    "website",
];

/// Collects findings with their positions.
pub(super) struct Checker<'a> {
    positions: &'a Positions,
    /// The first [`MAX_DIAGNOSTICS`] errors and warnings each, in the order found.
    pub(super) diagnostics: Vec<Diagnostic>,
    /// Errors and warnings found beyond those kept.
    pub(super) more_errors: usize,
    pub(super) more_warnings: usize,
}

type Path_ = Vec<String>;

fn path(parts: &[&str]) -> Path_ {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

impl<'a> Checker<'a> {
    pub(super) fn new(positions: &'a Positions) -> Self {
        Checker {
            positions,
            diagnostics: Vec::new(),
            more_errors: 0,
            more_warnings: 0,
        }
    }

    fn push(
        &mut self,
        severity: Severity,
        at: &[String],
        key: bool,
        message: String,
        hint: Option<String>,
    ) {
        let kept = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count();
        if kept >= MAX_DIAGNOSTICS {
            match severity {
                Severity::Error => self.more_errors += 1,
                Severity::Warning => self.more_warnings += 1,
            }
            return;
        }
        let pos = if at.first().is_some_and(|first| first.starts_with("--")) {
            None // a command-line flag, not a place in the file
        } else if key {
            self.positions.key(at)
        } else {
            self.positions.value(at)
        };
        let code = match (severity, key) {
            (Severity::Warning, _) => "warning",
            (Severity::Error, true) => "invalidName",
            (Severity::Error, false) => "invalidValue",
        };
        self.diagnostics.push(Diagnostic {
            code,
            severity,
            field: at.join("."),
            pos,
            message,
            hint,
        });
    }

    /// An error about the value at `at`.
    fn error(&mut self, at: &[String], message: impl Into<String>) {
        self.push(Severity::Error, at, false, message.into(), None);
    }

    fn error_hint(&mut self, at: &[String], message: impl Into<String>, hint: impl Into<String>) {
        self.push(
            Severity::Error,
            at,
            false,
            message.into(),
            Some(hint.into()),
        );
    }

    /// An error about a map key itself (a name), pointing at the key.
    fn key_error(&mut self, at: &[String], message: impl Into<String>, hint: Option<String>) {
        self.push(Severity::Error, at, true, message.into(), hint);
    }

    fn warning(&mut self, at: &[String], message: impl Into<String>, hint: impl Into<String>) {
        self.push(
            Severity::Warning,
            at,
            false,
            message.into(),
            Some(hint.into()),
        );
    }

    /// Names the kind of the problem just reported (when more telling than `invalidValue`).
    fn coded(&mut self, code: &'static str) {
        if let Some(last) = self.diagnostics.last_mut() {
            last.code = code;
        }
    }

    fn has_errors(&self) -> bool {
        self.more_errors > 0
            || self
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error)
    }
}

/// The closest candidate to `given`, if one is close enough to be a likely typo.
pub fn did_you_mean<'c>(
    given: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(given, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

fn hint_for(given: &str, candidates: &[&str], what: &str) -> String {
    match did_you_mean(given, candidates.iter().copied()) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => format!("{what}: {}", quote_list(candidates)),
    }
}

fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|item| format!("`{}`", item.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Logical names (map keys) become parts of physical names and of `${...}` references.
fn check_logical_name(c: &mut Checker, at: &[String], kind: &str) {
    let name = at.last().map(String::as_str).unwrap_or_default();
    let valid = name
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !valid {
        c.key_error(
            at,
            format!("`{name}` is not a valid {kind} name"),
            Some("use letters, digits, `-` and `_`, starting with a letter or digit".to_owned()),
        );
    }
}

/// Everything but the `crate:` paths (see [`resolve_crates`]); None when something is wrong.
pub(super) fn validate(
    raw: &RawStack,
    c: &mut Checker,
    name_from_flag: bool,
    env: Option<&str>,
) -> Option<Stack> {
    let stack_name = raw.stack.as_str();
    check_stack_name(c, stack_name, name_from_flag);

    let mut user_pools: BTreeMap<String, UserPool> = raw
        .user_pools
        .iter()
        .map(|(name, pool)| (name.clone(), pool::user_pool(c, stack_name, name, pool)))
        .collect();

    let known = KnownNames::new(&raw.user_pools, &raw.functions, env);
    let mut functions: BTreeMap<String, Function> = raw
        .functions
        .iter()
        .map(|(name, function)| {
            let routed = raw
                .api
                .as_ref()
                .is_some_and(|api| api.routes.values().any(|route| &route.function == name));
            (
                name.clone(),
                function::function(c, stack_name, name, function, &known, routed),
            )
        })
        .collect();

    let api = raw
        .api
        .as_ref()
        .map(|api| api::api(c, stack_name, api, &known));
    if let Some(api) = &api
        && let Some(cors) = &api.cors
    {
        let routed = api.routes.iter().map(|r| r.function.clone()).collect();
        cors::tell_functions(c, cors, &mut functions, &routed);
    }
    triggers::triggers(c, &raw.user_pools, &mut user_pools, &functions);

    if c.has_errors() {
        return None;
    }
    let accounts = accounts(c, raw.accounts.as_deref());
    let regions = regions(c, raw.regions.as_deref());
    let permissions_boundary = permissions_boundary(c, raw.permissions_boundary.as_deref());
    let tags = raw.tags.as_ref().map(|raw| tags::tags(c, raw));
    let mut stack = Stack {
        name: stack_name.to_owned(),
        environment: env.map(str::to_owned),
        permissions_boundary,
        tags,
        accounts,
        regions,
        user_pools,
        functions,
        api,
        moved: Vec::new(),
        order: Vec::new(),
    };
    stack.moved = moved::moved(c, &raw.moved, &stack);
    if c.has_errors() {
        return None;
    }
    stack.order = dependency_order(c, &stack)?;
    Some(stack)
}

/// `permissionsBoundary:`: a managed policy's ARN (`arn:<partition>:iam::<account or aws>:policy/...`).
fn permissions_boundary(c: &mut Checker, raw: Option<&str>) -> Option<String> {
    let arn = raw?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if !partition.is_empty()
            && (*account == "aws" || (account.len() == 12 && account.chars().all(|d| d.is_ascii_digit())))
            && resource.starts_with("policy/")
            && resource.len() > "policy/".len());
    if !valid {
        c.error_hint(
            &path(&["permissionsBoundary"]),
            format!("`{arn}` is not the ARN of an IAM managed policy"),
            "write `arn:aws:iam::<account>:policy/<name>` (the policy your organization requires on every role)",
        );
        return None;
    }
    Some(arn.to_owned())
}

/// `accounts:`: 12-digit ids, each once.
fn accounts(c: &mut Checker, raw: Option<&[AccountId]>) -> Vec<String> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for (i, account) in raw.iter().enumerate() {
        let at = path(&["accounts", &i.to_string()]);
        let text = match account {
            AccountId::Text(text) => text.clone(),
            AccountId::Number(number) => number.to_string(),
        };
        let twelve_digits = text.len() == 12 && text.chars().all(|ch| ch.is_ascii_digit());
        if !twelve_digits {
            let hint = match account {
                AccountId::Number(_) => {
                    "an account id is 12 digits; write it in quotes (`\"012345678901\"`): unquoted, YAML reads it as a number and drops a leading zero"
                }
                AccountId::Text(_) => {
                    "an account id is 12 digits, as `aws sts get-caller-identity` prints it"
                }
            };
            c.error_hint(&at, format!("`{text}` is not an AWS account id"), hint);
        } else if out.contains(&text) {
            c.error(&at, format!("`{text}` is listed twice"));
        } else {
            out.push(text);
        }
    }
    if raw.is_empty() {
        c.error_hint(
            &path(&["accounts"]),
            "an empty list would allow no account at all",
            "list the accounts this stack may be deployed to, or leave `accounts` out to allow any",
        );
    }
    out
}

/// `regions:`: each once. A region this version does not know is only a warning: a pin can only
/// refuse, so a typo here stops every deploy rather than allowing a wrong one.
fn regions(c: &mut Checker, raw: Option<&[String]>) -> Vec<String> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for (i, region) in raw.iter().enumerate() {
        let at = path(&["regions", &i.to_string()]);
        if out.contains(region) {
            c.error(&at, format!("`{region}` is listed twice"));
            continue;
        }
        if !crate::regions::is_known(region) {
            let hint = match crate::regions::closest(region) {
                Some(known) => format!("did you mean `{known}`?"),
                None => "deploys anywhere else are refused; check the name".to_owned(),
            };
            c.warning(
                &at,
                format!("`{region}` is not an AWS region this version of provisioner knows"),
                hint,
            );
        }
        out.push(region.clone());
    }
    if raw.is_empty() {
        c.error_hint(
            &path(&["regions"]),
            "an empty list would allow no region at all",
            "list the regions this stack may be deployed to, or leave `regions` out to allow any",
        );
    }
    out
}

fn check_stack_name(c: &mut Checker, name: &str, from_flag: bool) {
    // A name given with `--stack` has no place in the file: report it without a position.
    let at = if from_flag {
        path(&["--stack"])
    } else {
        path(&["stack"])
    };
    if let Some((message, hint)) = stack_name_problem(name) {
        c.error_hint(&at, message, hint);
    }
}

/// What is wrong with a stack name, and the fix; None when it is valid.
pub fn stack_name_problem(name: &str) -> Option<(String, &'static str)> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !valid {
        return Some((
            format!("`{name}` is not a valid stack name"),
            "use letters, digits and `-`, starting with a letter: it prefixes every resource's name",
        ));
    }
    (name.len() > 32).then(|| {
        (
            format!(
                "stack name is {} characters; at most 32 are allowed",
                name.len()
            ),
            "it prefixes function and role names, which AWS limits to 64 characters",
        )
    })
}

/// Checks a physical name AWS will see.
fn check_physical_name(c: &mut Checker, at: &[String], what: &str, name: &str, max: usize) {
    if name.len() > max {
        c.key_error(
            at,
            format!(
                "the {what} name `{name}` is {} characters; AWS allows at most {max}",
                name.len()
            ),
            Some("shorten the stack name or this key".to_owned()),
        );
    }
}

/// Every resource after what it depends on; a cycle is an error naming it.
fn dependency_order(c: &mut Checker, stack: &Stack) -> Option<Vec<ResourceId>> {
    let needs = stack.needs();

    // Kahn's algorithm in waves: every resource whose needs are met, smallest first, then the
    // resources that wave unblocked. Linear in resources and edges, and the order is stable.
    let mut waiting: BTreeMap<&ResourceId, usize> = BTreeMap::new();
    let mut needed_by: BTreeMap<&ResourceId, Vec<&ResourceId>> = BTreeMap::new();
    for (id, deps) in &needs {
        let known: Vec<&ResourceId> = deps.iter().filter(|d| needs.contains_key(*d)).collect();
        waiting.insert(id, known.len());
        for dep in known {
            needed_by.entry(dep).or_default().push(id);
        }
    }
    let mut order = Vec::with_capacity(needs.len());
    let mut wave: Vec<&ResourceId> = waiting
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(id, _)| *id)
        .collect();
    while !wave.is_empty() {
        let mut next = Vec::new();
        for id in wave {
            order.push(id.clone());
            for dependent in needed_by.get(id).into_iter().flatten() {
                if let Some(count) = waiting.get_mut(*dependent) {
                    *count -= 1;
                    if *count == 0 {
                        next.push(*dependent);
                    }
                }
            }
        }
        next.sort();
        wave = next;
    }
    let remaining: BTreeMap<ResourceId, BTreeSet<ResourceId>> = needs
        .iter()
        .filter(|(id, _)| waiting.get(id).is_some_and(|count| *count > 0))
        .map(|(id, deps)| (id.clone(), deps.clone()))
        .collect();
    if remaining.is_empty() {
        return Some(order);
    }
    let cycle = find_cycle(&remaining);
    let described: Vec<String> = cycle.iter().map(ToString::to_string).collect();
    let first = cycle.first().cloned().unwrap_or(ResourceId::Api);
    let at = match &first {
        ResourceId::Function { function }
        | ResourceId::Role { function }
        | ResourceId::LogGroup { function } => path(&["functions", function, "environment"]),
        ResourceId::UserPool { pool } | ResourceId::UserPoolClient { pool, .. } => {
            path(&["userPools", pool])
        }
        ResourceId::Triggers { pool } => path(&["userPools", pool, "triggers"]),
        ResourceId::Api => path(&["api"]),
    };
    c.error_hint(
        &at,
        format!("references form a cycle: {}", described.join(" -> ")),
        "a resource cannot need, directly or through others, a value of its own",
    );
    c.coded("referenceCycle");
    None
}

/// A cycle among `remaining` (each of which waits on another of them): follow the first
/// unfinished dependency until a resource repeats.
fn find_cycle(remaining: &BTreeMap<ResourceId, BTreeSet<ResourceId>>) -> Vec<ResourceId> {
    let Some(mut at) = remaining.keys().next().cloned() else {
        return Vec::new();
    };
    let mut walked: Vec<ResourceId> = Vec::new();
    while !walked.contains(&at) {
        walked.push(at.clone());
        match remaining
            .get(&at)
            .and_then(|deps| deps.iter().find(|dep| remaining.contains_key(*dep)))
        {
            Some(next) => at = next.clone(),
            None => return walked,
        }
    }
    let start = walked.iter().position(|id| *id == at).unwrap_or(0);
    let mut cycle = walked[start..].to_vec();
    cycle.push(at);
    cycle
}

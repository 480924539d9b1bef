//! Raw stack.yaml -> the model: defaults, names, limits AWS would enforce later, references and
//! the dependency order. Pure: the workspace's members are handed in, not read here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

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
        self.diagnostics.push(Diagnostic {
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

pub(super) fn validate(
    raw: &RawStack,
    c: &mut Checker,
    workspace: Option<&Workspace>,
    stack_dir: &Path,
    name_from_flag: bool,
) -> Option<Stack> {
    let stack_name = raw.stack.as_str();
    check_stack_name(c, stack_name, name_from_flag);

    let user_pools: BTreeMap<String, UserPool> = raw
        .user_pools
        .iter()
        .map(|(name, pool)| (name.clone(), user_pool(c, stack_name, name, pool)))
        .collect();

    let known = KnownNames::new(&raw.user_pools, &raw.functions);
    let functions: BTreeMap<String, Function> = raw
        .functions
        .iter()
        .filter_map(|(name, function)| {
            let routed = raw
                .api
                .as_ref()
                .is_some_and(|api| api.routes.values().any(|route| &route.function == name));
            self::function(
                c, stack_name, name, function, &known, workspace, stack_dir, routed,
            )
            .map(|f| (name.clone(), f))
        })
        .collect();

    let api = raw
        .api
        .as_ref()
        .map(|api| self::api(c, stack_name, api, &known));

    if c.has_errors() {
        return None;
    }
    let accounts = accounts(c, raw.accounts.as_deref());
    let regions = regions(c, raw.regions.as_deref());
    let mut stack = Stack {
        name: stack_name.to_owned(),
        accounts,
        regions,
        user_pools,
        functions,
        api,
        order: Vec::new(),
    };
    stack.order = dependency_order(c, &stack)?;
    Some(stack)
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
    let valid = name
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !valid {
        c.error_hint(
            &at,
            format!("`{name}` is not a valid stack name"),
            "use letters, digits and `-`, starting with a letter: it prefixes every resource's name",
        );
    } else if name.len() > 32 {
        c.error_hint(
            &at,
            format!(
                "stack name is {} characters; at most 32 are allowed",
                name.len()
            ),
            "it prefixes function and role names, which AWS limits to 64 characters",
        );
    }
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

fn user_pool(c: &mut Checker, stack: &str, name: &str, raw: &RawUserPool) -> UserPool {
    let at = |field: &[&str]| {
        let mut p = path(&["userPools", name]);
        p.extend(path(field));
        p
    };
    check_logical_name(c, &at(&[]), "user pool");
    let physical_name = format!("{stack}-{name}");
    check_physical_name(c, &at(&[]), "user pool", &physical_name, 128);

    let mut verified =
        |field: &str, values: &Option<Vec<String>>, default: &[VerifiedAttribute]| {
            let Some(values) = values else {
                return default.to_vec();
            };
            let mut out = Vec::new();
            for (i, value) in values.iter().enumerate() {
                let attribute = match value.as_str() {
                    "email" => Some(VerifiedAttribute::Email),
                    "phone_number" => Some(VerifiedAttribute::PhoneNumber),
                    _ => None,
                };
                match attribute {
                    Some(attribute) if out.contains(&attribute) => c.error(
                        &at(&[field, &i.to_string()]),
                        format!("`{value}` is listed twice"),
                    ),
                    Some(attribute) => out.push(attribute),
                    None => c.error_hint(
                        &at(&[field, &i.to_string()]),
                        format!("`{value}` is not an attribute Cognito can verify"),
                        hint_for(value, &["email", "phone_number"], "expected one of"),
                    ),
                }
            }
            out
        };
    let auto_verify = verified("autoVerify", &raw.auto_verify, &[VerifiedAttribute::Email]);
    let username_attributes = verified("usernameAttributes", &raw.username_attributes, &[]);
    let account_recovery = verified(
        "accountRecovery",
        &raw.account_recovery,
        &[VerifiedAttribute::Email],
    );

    let required_attributes = raw.required_attributes.clone().unwrap_or_default();
    for (i, attribute) in required_attributes.iter().enumerate() {
        if required_attributes[..i].contains(attribute) {
            c.error(
                &at(&["requiredAttributes", &i.to_string()]),
                format!("`{attribute}` is listed twice"),
            );
        } else if !STANDARD_ATTRIBUTES.contains(&attribute.as_str()) {
            c.error_hint(
                &at(&["requiredAttributes", &i.to_string()]),
                format!("`{attribute}` is not a standard Cognito attribute"),
                hint_for(attribute, STANDARD_ATTRIBUTES, "expected one of"),
            );
        }
    }

    let mut password_policy = PasswordPolicy::default();
    if let Some(policy) = &raw.password_policy {
        if let Some(min) = policy.min_length {
            match u8::try_from(min) {
                Ok(min) if (6..=99).contains(&min) => password_policy.min_length = min,
                _ => c.error(
                    &at(&["passwordPolicy", "minLength"]),
                    format!("must be between 6 and 99, got {min}"),
                ),
            }
        }
        let flags = [
            (
                policy.require_lowercase,
                &mut password_policy.require_lowercase,
            ),
            (
                policy.require_uppercase,
                &mut password_policy.require_uppercase,
            ),
            (policy.require_numbers, &mut password_policy.require_numbers),
            (policy.require_symbols, &mut password_policy.require_symbols),
        ];
        for (given, slot) in flags {
            if let Some(given) = given {
                *slot = given;
            }
        }
    }

    let removal = match raw.removal.as_deref() {
        None | Some("retain") => Removal::Retain,
        Some("delete") => Removal::Delete,
        Some(other) => {
            c.error_hint(
                &at(&["removal"]),
                format!("`{other}` is not a removal policy"),
                hint_for(other, &["retain", "delete"], "expected one of"),
            );
            Removal::Retain
        }
    };

    let clients = raw
        .clients
        .iter()
        .map(|(client, raw_client)| {
            let client_at = at(&["clients", client]);
            check_logical_name(c, &client_at, "app client");
            let physical_name = format!("{stack}-{client}");
            check_physical_name(c, &client_at, "app client", &physical_name, 128);
            let auth_flows = raw_client.auth_flows.clone().unwrap_or_else(|| {
                vec![
                    "USER_PASSWORD_AUTH".to_owned(),
                    "REFRESH_TOKEN_AUTH".to_owned(),
                ]
            });
            let mut seen = BTreeSet::new();
            for (i, flow) in auth_flows.iter().enumerate() {
                let flow_at = at(&["clients", client, "authFlows", &i.to_string()]);
                let bare = flow.strip_prefix("ALLOW_").unwrap_or(flow);
                if !AUTH_FLOWS.contains(&bare) {
                    c.error_hint(
                        &flow_at,
                        format!("`{flow}` is not a Cognito auth flow"),
                        hint_for(bare, AUTH_FLOWS, "expected one of"),
                    );
                } else if !seen.insert(bare) {
                    c.error(&flow_at, format!("`{bare}` is listed twice"));
                }
            }
            let auth_flows = auth_flows
                .iter()
                .map(|flow| flow.strip_prefix("ALLOW_").unwrap_or(flow).to_owned())
                .collect();
            let read_attributes = raw_client.read_attributes.clone().unwrap_or_default();
            if raw_client.read_attributes.as_ref().is_some_and(Vec::is_empty) {
                c.error_hint(
                    &at(&["clients", client, "readAttributes"]),
                    "an empty list would let the client read nothing".to_owned(),
                    "list the attributes, or leave `readAttributes` out for every readable attribute"
                        .to_owned(),
                );
            }
            let mut seen = BTreeSet::new();
            for (i, attribute) in read_attributes.iter().enumerate() {
                let attribute_at = at(&["clients", client, "readAttributes", &i.to_string()]);
                if attribute.starts_with("custom:") {
                    // A client may read only attributes its pool has, and stack.yaml declares no
                    // custom attributes: Cognito would refuse the client.
                    c.error_hint(
                        &attribute_at,
                        format!("`{attribute}` is not an attribute of user pool `{name}`"),
                        "stack.yaml declares no custom attributes, so the pool has none; list standard attributes only",
                    );
                } else if !STANDARD_READ_ATTRIBUTES.contains(&attribute.as_str()) {
                    c.error_hint(
                        &attribute_at,
                        format!("`{attribute}` is not a Cognito user attribute"),
                        hint_for(attribute, STANDARD_READ_ATTRIBUTES, "expected one of"),
                    );
                } else if !seen.insert(attribute.as_str()) {
                    c.error(&attribute_at, format!("`{attribute}` is listed twice"));
                }
            }
            (
                client.clone(),
                AppClient {
                    physical_name,
                    auth_flows,
                    generate_secret: raw_client.generate_secret.unwrap_or(false),
                    read_attributes,
                },
            )
        })
        .collect();

    UserPool {
        physical_name,
        self_sign_up: raw.self_sign_up.unwrap_or(true),
        auto_verify,
        username_attributes,
        required_attributes,
        password_policy,
        account_recovery,
        deletion_protection: raw.deletion_protection.unwrap_or(true),
        removal,
        clients,
    }
}

/// The names references and routes may use, and every reference string that would be valid.
struct KnownNames {
    pools: Vec<String>,
    functions: Vec<String>,
    references: BTreeMap<String, Reference>,
}

impl KnownNames {
    fn new(
        pools: &BTreeMap<String, RawUserPool>,
        functions: &BTreeMap<String, RawFunction>,
    ) -> Self {
        let mut references = BTreeMap::new();
        references.insert("stack.name".to_owned(), Reference::StackName);
        references.insert("aws.region".to_owned(), Reference::Region);
        references.insert("aws.accountId".to_owned(), Reference::AccountId);
        for (pool, raw) in pools {
            let p = pool.clone();
            references.insert(
                format!("userPools.{pool}.id"),
                Reference::UserPoolId { pool: p.clone() },
            );
            references.insert(
                format!("userPools.{pool}.arn"),
                Reference::UserPoolArn { pool: p.clone() },
            );
            for client in raw.clients.keys() {
                references.insert(
                    format!("userPools.{pool}.clients.{client}.id"),
                    Reference::UserPoolClientId {
                        pool: p.clone(),
                        client: client.clone(),
                    },
                );
            }
        }
        for function in functions.keys() {
            let f = function.clone();
            references.insert(
                format!("functions.{function}.arn"),
                Reference::FunctionArn {
                    function: f.clone(),
                },
            );
            references.insert(
                format!("functions.{function}.name"),
                Reference::FunctionName { function: f },
            );
        }
        KnownNames {
            pools: pools.keys().cloned().collect(),
            functions: functions.keys().cloned().collect(),
            references,
        }
    }

    fn pool_names(&self) -> Vec<&str> {
        self.pools.iter().map(String::as_str).collect()
    }

    fn function_names(&self) -> Vec<&str> {
        self.functions.iter().map(String::as_str).collect()
    }
}

/// Parses `text ${ref} text`; `$${` writes a literal `${`.
fn template(c: &mut Checker, at: &[String], text: &str, known: &KnownNames) -> Template {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        literal.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(escaped) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = escaped;
        } else if let Some(inner) = after.strip_prefix("${") {
            let Some(end) = inner.find('}') else {
                c.error_hint(
                    at,
                    format!("`{text}` has a `${{` without its closing `}}`"),
                    "write `$${` for a literal `${`",
                );
                break;
            };
            let name = inner[..end].trim();
            match known.references.get(name) {
                Some(reference) => {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Ref(reference.clone()));
                }
                None => {
                    let hint = match did_you_mean(name, known.references.keys().map(String::as_str)) {
                        Some(candidate) => format!("did you mean `${{{candidate}}}`?"),
                        None => "references look like `${userPools.<pool>.arn}`, `${userPools.<pool>.clients.<client>.id}`, `${functions.<function>.arn}`".to_owned(),
                    };
                    c.error_hint(
                        at,
                        format!("`${{{name}}}` does not name anything in this stack"),
                        hint,
                    );
                }
            }
            rest = &inner[end + 1..];
        } else {
            literal.push('$');
            rest = &after[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Template { parts }
}

#[allow(clippy::too_many_arguments)]
fn function(
    c: &mut Checker,
    stack: &str,
    name: &str,
    raw: &RawFunction,
    known: &KnownNames,
    workspace: Option<&Workspace>,
    stack_dir: &Path,
    routed: bool,
) -> Option<Function> {
    let at = |field: &[&str]| {
        let mut p = path(&["functions", name]);
        p.extend(path(field));
        p
    };
    check_logical_name(c, &at(&[]), "function");
    let physical_name = format!("{stack}-{name}");
    check_physical_name(c, &at(&[]), "Lambda function", &physical_name, 64);
    let role_name = format!("{stack}-{name}-role");
    check_physical_name(c, &at(&[]), "IAM role", &role_name, 64);

    let memory_mb = match raw.memory {
        None => 128,
        Some(mb) if (128..=10240).contains(&mb) => mb as u32,
        Some(mb) => {
            c.error_hint(
                &at(&["memory"]),
                format!("must be between 128 and 10240 (MB), got {mb}"),
                "Lambda gives a function 128 MB to 10240 MB",
            );
            128
        }
    };
    let timeout_s = match raw.timeout {
        None => 10,
        Some(s) if (1..=900).contains(&s) => s as u32,
        Some(s) => {
            c.error_hint(
                &at(&["timeout"]),
                format!("must be between 1 and 900 (seconds), got {s}"),
                "Lambda runs a function for at most 15 minutes",
            );
            10
        }
    };
    if routed && timeout_s > API_GATEWAY_TIMEOUT_S {
        c.warning(
            &at(&["timeout"]),
            format!(
                "is {timeout_s} s, but API Gateway answers 504 after {API_GATEWAY_TIMEOUT_S} s"
            ),
            format!(
                "a function behind the API gets no more than {API_GATEWAY_TIMEOUT_S} s per request"
            ),
        );
    }
    let architecture = match raw.architecture.as_deref() {
        None | Some("x86_64") => Architecture::X86_64,
        Some("arm64") => Architecture::Arm64,
        Some(other) => {
            // Other names for the same two architectures.
            let hint = match other.to_ascii_lowercase().as_str() {
                "amd64" | "x86-64" | "x64" | "x86" => "did you mean `x86_64`?".to_owned(),
                "aarch64" | "arm" | "arm64v8" => "did you mean `arm64`?".to_owned(),
                _ => hint_for(other, &["x86_64", "arm64"], "expected one of"),
            };
            c.error_hint(
                &at(&["architecture"]),
                format!("`{other}` is not a Lambda architecture"),
                hint,
            );
            Architecture::X86_64
        }
    };
    let log_retention_days = match raw.log_retention_days {
        None => 14,
        Some(days) if LOG_RETENTION_DAYS.contains(&(days as u32)) && days > 0 => days as u32,
        Some(days) => {
            let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
            c.error_hint(
                &at(&["logRetentionDays"]),
                format!("CloudWatch Logs does not keep logs for {days} days"),
                format!("expected one of {}", allowed.join(", ")),
            );
            14
        }
    };

    let mut environment = BTreeMap::new();
    let mut env_size = 0;
    for (key, value) in &raw.environment {
        let key_at = at(&["environment", key]);
        // Lambda's pattern: `[a-zA-Z]([a-zA-Z0-9_])+`, so at least two characters.
        let valid = key.len() >= 2
            && key
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphabetic())
            && key
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if !valid {
            c.key_error(
                &key_at,
                format!("`{key}` is not a valid environment variable name"),
                Some(
                    "use at least two letters, digits and `_`, starting with a letter (Lambda's rule)"
                        .to_owned(),
                ),
            );
        } else if RESERVED_ENV.contains(&key.as_str()) {
            c.key_error(
                &key_at,
                format!("`{key}` is set by Lambda itself and cannot be configured"),
                Some("choose another name".to_owned()),
            );
        }
        let value = template(c, &key_at, value, known);
        env_size += key.len() + longest_rendering(&value, stack);
        environment.insert(key.clone(), value);
    }
    if env_size > 4096 {
        c.error_hint(
            &at(&["environment"]),
            format!(
                "environment is up to {env_size} bytes once references are filled in; Lambda allows 4 KB in all"
            ),
            "keep large configuration elsewhere (SSM Parameter Store, a file in the package)",
        );
    }

    let allow: Vec<Statement> = raw
        .allow
        .iter()
        .enumerate()
        .map(|(i, statement)| {
            let index = i.to_string();
            let actions = statement.actions.items();
            check_statement_grants_something(c, &at(&["allow", &index, "actions"]), &actions);
            for (j, action) in actions.iter().enumerate() {
                let mut action_at = at(&["allow", &index, "actions"]);
                action_at.extend(statement.actions.item_segment(j));
                check_action(c, &action_at, action);
            }
            let resources = statement
                .resources
                .items()
                .iter()
                .enumerate()
                .map(|(j, resource)| {
                    let mut resource_at = at(&["allow", &index, "resources"]);
                    resource_at.extend(statement.resources.item_segment(j));
                    check_resource(c, &resource_at, resource, known)
                })
                .collect();
            Statement {
                actions: actions.into_iter().map(str::to_owned).collect(),
                resources,
            }
        })
        .collect();

    // Without the workspace (`spec::check`), everything but the crate is checked.
    let policy_size = inline_policy_size(&allow, stack);
    if policy_size > INLINE_POLICY_MAX_CHARS {
        c.error_hint(
            &at(&["allow"]),
            format!(
                "the role's policy is up to {policy_size} characters once references are filled in; IAM allows {INLINE_POLICY_MAX_CHARS}"
            ),
            "merge statements that share resources, or split the function",
        );
    }
    if let Some(description) = &raw.description
        && description.chars().count() > 256
    {
        c.error_hint(
            &at(&["description"]),
            format!(
                "is {} characters; Lambda allows at most 256",
                description.chars().count()
            ),
            "shorten the description",
        );
    }

    let (package, binary) = match workspace {
        Some(workspace) => crate_target(c, &at(&["crate"]), &raw.crate_path, workspace, stack_dir)?,
        None => (String::new(), String::new()),
    };
    Some(Function {
        physical_name,
        role_name,
        package,
        binary,
        crate_path: raw.crate_path.clone(),
        description: raw
            .description
            .clone()
            .unwrap_or_else(|| format!("{name} ({stack}, managed by provisioner)")),
        memory_mb,
        timeout_s,
        architecture,
        log_retention_days,
        environment,
        allow,
    })
}

/// IAM's limit on a role's inline policies, in characters without whitespace.
const INLINE_POLICY_MAX_CHARS: usize = 10_240;

/// The longest value a reference can take on AWS (ids and ARNs in the longest partition and
/// region names), so that size limits are checked before the values exist.
fn longest_value(reference: &Reference, stack: &str) -> usize {
    // `arn:aws-us-gov:<service>:ap-southeast-4:123456789012:`
    const ARN_PREFIX: usize = "arn:aws-us-gov::ap-southeast-4:123456789012:".len();
    const REGION: usize = "ap-southeast-4".len();
    const POOL_ID: usize = REGION + 1 + 9;
    match reference {
        Reference::UserPoolId { .. } => POOL_ID,
        Reference::UserPoolArn { .. } => {
            ARN_PREFIX + "cognito-idp".len() + "userpool/".len() + POOL_ID
        }
        // Cognito app client ids are 26 characters.
        Reference::UserPoolClientId { .. } => 26,
        Reference::FunctionArn { function } => {
            ARN_PREFIX + "lambda".len() + "function:".len() + stack.len() + 1 + function.len()
        }
        Reference::FunctionName { function } => stack.len() + 1 + function.len(),
        Reference::StackName => stack.len(),
        Reference::Region => REGION,
        Reference::AccountId => 12,
    }
}

/// The length of `template` with every reference at its longest.
fn longest_rendering(template: &Template, stack: &str) -> usize {
    template
        .parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.len(),
            Part::Ref(reference) => longest_value(reference, stack),
        })
        .sum()
}

/// The size IAM counts for the role's inline policy (JSON without whitespace), references at
/// their longest.
fn inline_policy_size(allow: &[Statement], stack: &str) -> usize {
    let statements: Vec<serde_json::Value> = allow
        .iter()
        .map(|statement| {
            let resources: Vec<String> = statement
                .resources
                .iter()
                .map(|template| "x".repeat(longest_rendering(template, stack)))
                .collect();
            serde_json::json!({"Effect": "Allow", "Action": statement.actions, "Resource": resources})
        })
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
        .to_string()
        .len()
}

/// Cognito user-pool operations that IAM does not authorize: Cognito evaluates no IAM policy for
/// them (each API reference says so; see "Authorization for Amazon Cognito user pools API
/// operations" in the Cognito developer guide). The public ones are gated by the app client's
/// auth flows, the token-authorized ones by the user's access token. Granting them grants nothing.
const NOT_IAM_AUTHORIZED: &[&str] = &[
    // Public (unauthenticated) operations.
    "cognito-idp:SignUp",
    "cognito-idp:ConfirmSignUp",
    "cognito-idp:InitiateAuth",
    "cognito-idp:RespondToAuthChallenge",
    "cognito-idp:ForgotPassword",
    "cognito-idp:ConfirmForgotPassword",
    "cognito-idp:ResendConfirmationCode",
    // Token-authorized operations (the user's access token).
    "cognito-idp:GetUser",
    "cognito-idp:ChangePassword",
    "cognito-idp:GlobalSignOut",
    "cognito-idp:UpdateUserAttributes",
    "cognito-idp:DeleteUser",
    "cognito-idp:DeleteUserAttributes",
    "cognito-idp:VerifyUserAttribute",
    "cognito-idp:GetUserAttributeVerificationCode",
    "cognito-idp:SetUserMFAPreference",
    "cognito-idp:SetUserSettings",
    "cognito-idp:AssociateSoftwareToken",
    "cognito-idp:VerifySoftwareToken",
    "cognito-idp:ConfirmDevice",
    "cognito-idp:ForgetDevice",
    "cognito-idp:GetDevice",
    "cognito-idp:ListDevices",
    "cognito-idp:UpdateDeviceStatus",
    "cognito-idp:RevokeToken",
];

/// A statement whose every action IAM never evaluates grants nothing: worth a warning, since it
/// looks like least privilege and protects nothing.
fn check_statement_grants_something(c: &mut Checker, at: &[String], actions: &[&str]) {
    if actions.is_empty() || !actions.iter().all(|a| NOT_IAM_AUTHORIZED.contains(a)) {
        return;
    }
    c.warning(
        at,
        format!(
            "grants nothing: Cognito does not evaluate IAM policies for {}",
            quote_list(actions)
        ),
        "remove the statement; the app client's `authFlows` (and, for token-authorized calls, the user's access token) is what allows these calls",
    );
}

/// `service:Action`, exactly: no wildcards, since a role gets only what its function calls.
fn check_action(c: &mut Checker, at: &[String], action: &str) {
    let Some((service, name)) = action.split_once(':') else {
        c.error_hint(
            at,
            format!("`{action}` is not an IAM action"),
            "write `service:Action`, for example `cognito-idp:SignUp`",
        );
        return;
    };
    if action.contains('*') {
        c.error_hint(
            at,
            format!("`{action}` is a wildcard; roles here get exact actions only"),
            "list each action the function calls",
        );
    } else if service.is_empty()
        || !service
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        || name.is_empty()
        || !name.chars().all(|ch| ch.is_ascii_alphanumeric())
    {
        c.error_hint(
            at,
            format!("`{action}` is not an IAM action"),
            "write `service:Action`, for example `cognito-idp:SignUp`",
        );
    }
}

fn check_resource(c: &mut Checker, at: &[String], resource: &str, known: &KnownNames) -> Template {
    let parsed = template(c, at, resource, known);
    let has_ref = parsed.references().next().is_some();
    if resource.trim() == "*" {
        c.error_hint(
            at,
            "`*` grants the action on every resource; roles here get exact resources only",
            "name the resource, for example `${userPools.users.arn}`",
        );
    } else if !has_ref && !resource.contains("${") && !resource.starts_with("arn:") {
        c.error_hint(
            at,
            format!("`{resource}` is neither an ARN nor a reference"),
            "write a reference such as `${userPools.users.arn}`, or a full `arn:...`",
        );
    } else if !has_ref && resource.starts_with("arn:") && resource.splitn(6, ':').count() < 6 {
        c.error_hint(
            at,
            format!("`{resource}` is not a complete ARN"),
            "ARNs have six parts: `arn:<partition>:<service>:<region>:<account>:<resource>`",
        );
    }
    parsed
}

/// The workspace package (and its binary) whose directory is `crate_path`, relative to stack.yaml.
fn crate_target(
    c: &mut Checker,
    at: &[String],
    crate_path: &str,
    workspace: &Workspace,
    stack_dir: &Path,
) -> Option<(String, String)> {
    let wanted = normalize(&stack_dir.join(crate_path));
    let Some(member) = workspace.members.iter().find(|member| member.dir == wanted) else {
        let relative: Vec<String> = workspace
            .members
            .iter()
            .filter(|member| !member.binaries.is_empty())
            .map(|member| relative_to(&member.dir, stack_dir))
            .collect();
        let hint = match did_you_mean(crate_path, relative.iter().map(String::as_str)) {
            Some(candidate) => format!("did you mean `{candidate}`?"),
            None if relative.is_empty() => format!(
                "add the crate to `[workspace] members` in `{}`",
                workspace.root.join("Cargo.toml").display()
            ),
            None => format!(
                "workspace crates with a binary: {}; or add the crate to `[workspace] members`",
                quote_list(&relative)
            ),
        };
        c.error_hint(
            at,
            format!(
                "`{crate_path}` is not a crate of the cargo workspace at `{}`",
                workspace.root.display()
            ),
            hint,
        );
        return None;
    };
    let binary = match member.binaries.as_slice() {
        [] => {
            c.error_hint(
                at,
                format!(
                    "crate `{}` has no binary target to run on Lambda",
                    member.package
                ),
                "add `src/main.rs` that calls the Lambda runtime",
            );
            return None;
        }
        [only] => only.clone(),
        several => match several.iter().find(|bin| **bin == member.package) {
            Some(bin) => bin.clone(),
            None => {
                c.error_hint(
                    at,
                    format!(
                        "crate `{}` has several binaries ({}) and none is named after the crate",
                        member.package,
                        quote_list(several)
                    ),
                    "keep one binary per handler crate",
                );
                return None;
            }
        },
    };
    Some((member.package.clone(), binary))
}

/// `a/./b/../c` -> `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` written relative to the directory `base` (both absolute), with `..` where needed.
fn relative_to(path: &Path, base: &Path) -> String {
    let (path, base) = (normalize(path), normalize(base));
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for component in &path[common..] {
        out.push(component);
    }
    out.display().to_string()
}

fn api(c: &mut Checker, stack: &str, raw: &RawApi, known: &KnownNames) -> Api {
    let at = |field: &[&str]| {
        let mut p = path(&["api"]);
        p.extend(path(field));
        p
    };
    let name = raw.name.clone().unwrap_or_else(|| "api".to_owned());
    if raw.name.is_some() {
        check_logical_name(c, &at(&["name"]), "API");
    }
    let stage = raw.stage.clone().unwrap_or_else(|| "prod".to_owned());
    if stage.is_empty()
        || stage.len() > 128
        || !stage
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        c.error_hint(
            &at(&["stage"]),
            format!("`{stage}` is not a valid stage name"),
            "use 1 to 128 letters, digits, `-` and `_`",
        );
    }

    let mut authorizers = BTreeMap::new();
    for (name, authorizer) in &raw.authorizers {
        let authorizer_at = at(&["authorizers", name]);
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
            let mut source_at = authorizer_at.clone();
            source_at.push("identitySource".to_owned());
            c.error_hint(
                &source_at,
                format!("`{identity_source}` is not a header identity source"),
                "a Cognito authorizer reads a header: `method.request.header.Authorization`",
            );
        }
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
            &at(&["authorizers"]),
            format!(
                "{} authorizers; API Gateway allows {MAX_AUTHORIZERS} per API",
                raw.authorizers.len()
            ),
            "routes can share an authorizer",
        );
    }
    if raw.routes.is_empty() {
        c.error_hint(
            &at(&["routes"]),
            "an API needs at least one route",
            "add `routes: { GET /hello: { function: hello } }`",
        );
    }
    let mut routes: Vec<Route> = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut used_authorizers = BTreeSet::new();
    for (key, route) in &raw.routes {
        let route_at = at(&["routes", key]);
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
        if !known.functions.contains(&route.function) {
            let mut function_at = route_at.clone();
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
        if let Some(authorizer) = &route.authorizer {
            used_authorizers.insert(authorizer.clone());
            if !raw.authorizers.contains_key(authorizer) {
                let names: Vec<&str> = raw.authorizers.keys().map(String::as_str).collect();
                let mut authorizer_at = route_at.clone();
                authorizer_at.push("authorizer".to_owned());
                c.error_hint(
                    &authorizer_at,
                    format!("authorizer `{authorizer}` is not defined in `api.authorizers`"),
                    hint_for(authorizer, &names, "defined authorizers"),
                );
            }
        }
        routes.push(Route {
            path: route_path,
            method,
            function: route.function.clone(),
            authorizer: route.authorizer.clone(),
        });
    }
    check_path_variables(c, &routes, &at(&["routes"]));
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
            &at(&["routes"]),
            format!(
                "the routes make {} API resources (paths and their parents); API Gateway allows {MAX_API_RESOURCES} per API",
                resources.len()
            ),
            "API Gateway can raise this quota on request; or split the API",
        );
    }
    for name in raw.authorizers.keys() {
        if !used_authorizers.contains(name) {
            c.warning(
                &at(&["authorizers", name]),
                format!("authorizer `{name}` is not used by any route"),
                "add `authorizer: <name>` to a route, or remove it",
            );
        }
    }
    routes.sort();
    Api {
        physical_name: format!("{stack}-{name}"),
        stage,
        authorizers,
        routes,
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
        ResourceId::Function { function } | ResourceId::Role { function } => {
            path(&["functions", function, "environment"])
        }
        _ => Vec::new(),
    };
    c.error_hint(
        &at,
        format!("references form a cycle: {}", described.join(" -> ")),
        "a resource cannot need, directly or through others, a value of its own",
    );
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

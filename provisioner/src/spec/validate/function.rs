//! `functions`: settings, environment, the role's statements and their limits, and the crate.

mod settings;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::references::{KnownNames, template};
use super::*;
use settings::{
    architecture, check_description, check_role_name, log_retention_days, memory, timeout,
};

/// Function `name`: its names, settings and their limits, environment and role statements.
pub(super) fn function(
    c: &mut Checker,
    stack: &str,
    name: &str,
    raw: &RawFunction,
    known: &KnownNames,
    routed: bool,
) -> Function {
    let at = |field: &[&str]| function_path(name, field);
    check_logical_name(c, &at(&[]), "function");
    let physical_name = format!("{stack}-{name}");
    check_physical_name(c, &at(&[]), "Lambda function", &physical_name, 64);
    check_role_name(c, name, &physical_name);
    let memory_mb = memory(c, name, raw);
    let timeout_s = timeout(c, name, raw, routed);
    let architecture = architecture(c, name, raw);
    let log_retention_days = log_retention_days(c, name, raw);
    let environment = environment(c, stack, name, raw, known);
    let allow = allow(c, stack, name, raw, known);
    check_description(c, name, raw);

    Function {
        physical_name,
        // Resolved from `crate_path` once the workspace is known (`resolve_crates`).
        package: String::new(),
        binary: String::new(),
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
    }
}

/// The path of `field` in function `name`.
fn function_path(name: &str, field: &[&str]) -> Path_ {
    let mut p = path(&["functions", name]);
    p.extend(path(field));
    p
}

/// `environment`: valid names Lambda does not reserve, templates, and 4 KB in all.
fn environment(
    c: &mut Checker,
    stack: &str,
    name: &str,
    raw: &RawFunction,
    known: &KnownNames,
) -> BTreeMap<String, Template> {
    let mut environment = BTreeMap::new();
    let mut env_size = 0;
    for (key, value) in &raw.environment {
        let key_at = function_path(name, &["environment", key]);
        check_env_key(c, &key_at, key);
        let value = template(c, &key_at, value, known);
        env_size += key.len() + longest_rendering(&value, stack);
        environment.insert(key.clone(), value);
    }
    if env_size > 4096 {
        c.error_hint(
            &function_path(name, &["environment"]),
            format!(
                "environment is up to {env_size} bytes once references are filled in; Lambda allows 4 KB in all"
            ),
            "keep large configuration elsewhere (SSM Parameter Store, a file in the package)",
        );
    }
    environment
}

/// An environment variable's name: Lambda's pattern, and not one Lambda sets itself.
fn check_env_key(c: &mut Checker, key_at: &[String], key: &str) {
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
            key_at,
            format!("`{key}` is not a valid environment variable name"),
            Some(
                "use at least two letters, digits and `_`, starting with a letter (Lambda's rule)"
                    .to_owned(),
            ),
        );
    } else if RESERVED_ENV.contains(&key) {
        c.key_error(
            key_at,
            format!("`{key}` is set by Lambda itself and cannot be configured"),
            Some("choose another name".to_owned()),
        );
    }
}

/// `allow`: each statement's actions and resources, and the role's policy within IAM's size.
fn allow(
    c: &mut Checker,
    stack: &str,
    name: &str,
    raw: &RawFunction,
    known: &KnownNames,
) -> Vec<Statement> {
    let allow: Vec<Statement> = raw
        .allow
        .iter()
        .enumerate()
        .map(|(i, statement)| allow_statement(c, name, i, statement, known))
        .collect();
    let policy_size = inline_policy_size(&allow, stack);
    if policy_size > INLINE_POLICY_MAX_CHARS {
        c.error_hint(
            &function_path(name, &["allow"]),
            format!(
                "the role's policy is up to {policy_size} characters once references are filled in; IAM allows {INLINE_POLICY_MAX_CHARS}"
            ),
            "merge statements that share resources, or split the function",
        );
    }
    allow
}

/// Statement `i` of `allow`: exact actions that grant something, and exact resources.
fn allow_statement(
    c: &mut Checker,
    name: &str,
    i: usize,
    statement: &RawStatement,
    known: &KnownNames,
) -> Statement {
    let index = i.to_string();
    let actions = statement.actions.items();
    let actions_at = function_path(name, &["allow", &index, "actions"]);
    check_statement_grants_something(c, &actions_at, &actions);
    for (j, action) in actions.iter().enumerate() {
        let mut action_at = actions_at.clone();
        action_at.extend(statement.actions.item_segment(j));
        check_action(c, &action_at, action);
    }
    let resources = statement
        .resources
        .items()
        .iter()
        .enumerate()
        .map(|(j, resource)| {
            let mut resource_at = function_path(name, &["allow", &index, "resources"]);
            resource_at.extend(statement.resources.item_segment(j));
            check_resource(c, &resource_at, resource, &actions, known)
        })
        .collect();
    Statement {
        actions: actions.into_iter().map(str::to_owned).collect(),
        resources,
    }
}

/// position of each path that names none.
pub fn resolve_crates(stack: &mut Stack, c: &mut Checker, workspace: &Workspace, stack_dir: &Path) {
    for (name, function) in &mut stack.functions {
        let at = path(&["functions", name, "crate"]);
        if let Some((package, binary)) =
            crate_target(c, &at, &function.crate_path, workspace, stack_dir)
        {
            function.package = package;
            function.binary = binary;
        }
    }
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
        // The environment's name ends the stack's (`<stack>-<env>`).
        Reference::EnvName => stack.len(),
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
    "cognito-idp:GetTokensFromRefreshToken",
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

fn check_resource(
    c: &mut Checker,
    at: &[String],
    resource: &str,
    actions: &[&str],
    known: &KnownNames,
) -> Template {
    let parsed = template(c, at, resource, known);
    let has_ref = parsed.references().next().is_some();
    let scoped: Vec<&str> = actions
        .iter()
        .copied()
        .filter(|a| !crate::spec::RESOURCELESS_ACTIONS.contains(a))
        .collect();
    if resource.trim() == "*" && !scoped.is_empty() {
        let hint = if scoped.len() < actions.len() {
            "give the actions IAM authorizes on no resource a statement of their own with `*`, and name the resource for the others, for example `${userPools.users.arn}`"
        } else {
            "name the resource, for example `${userPools.users.arn}`"
        };
        c.error_hint(
            at,
            format!(
                "`*` grants {} on every resource; roles here get exact resources only (`*` is accepted for actions IAM authorizes on no resource, such as `xray:PutTraceSegments` and `cloudwatch:PutMetricData`)",
                quote_list(&scoped)
            ),
            hint,
        );
    } else if resource.trim() == "*" {
        // Every action is one IAM authorizes on no resource: `*` is the only way to grant it.
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

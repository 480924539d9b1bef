//! The validated stack: every name checked, every default applied, every reference resolved to a
//! resource that exists. Plan and apply work from this and never see raw YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::Trigger;

/// Tag put on every taggable resource this stack creates: `provisioner:stack=<stack name>`.
pub const OWNERSHIP_TAG: &str = "provisioner:stack";

/// Tag put on what lives in a global service but belongs to one region's deployment of the stack
/// (a function's IAM role): `provisioner:region=<region>`. Such a resource is this stack's only
/// if both tags match: a stack deployed in two regions never touches the other's.
pub const REGION_TAG: &str = "provisioner:region";

/// Cognito's standard user attributes an app client can read (custom ones are `custom:<name>`).
/// A client that reads all of them (and the pool has no custom attribute) reads Cognito's default
/// set, which DescribeUserPoolClient reports as no list at all.
pub const STANDARD_READ_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stack {
    pub name: String,
    /// The environment chosen with `--env` (merged over the file), if the file declares any.
    pub environment: Option<String>,
    /// The accounts `diff`, `up`, `down` and `serve` may act in; empty: any.
    pub accounts: Vec<String>,
    /// The regions they may act in; empty: any.
    pub regions: Vec<String>,
    /// `permissionsBoundary:`: the managed policy every role of the stack is bounded by.
    pub permissions_boundary: Option<String>,
    /// `tags:`: on every taggable resource of the stack (pools, roles, log groups, functions, the
    /// REST API and its stage), beside the ownership tags. None (not written): the resources'
    /// tags are not managed, as a role's boundary is not without `permissionsBoundary:`.
    pub tags: Option<BTreeMap<String, String>>,
    pub user_pools: BTreeMap<String, UserPool>,
    pub functions: BTreeMap<String, Function>,
    pub api: Option<Api>,
    /// Renames (`moved:`): the live resource of `from`'s name is now `to`'s.
    pub moved: Vec<Moved>,
    /// Every resource, each after everything it depends on.
    pub order: Vec<ResourceId>,
}

/// A `moved:` entry: what stack.yaml called `from` it now calls `to`. Only user pools and app
/// clients move (what holds users or is known to apps by its id); `to` is declared, `from` is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub from: ResourceId,
    pub to: ResourceId,
}

impl Stack {
    /// The logical name the live resource of `to` may still have (its `moved:` entry's `from`).
    pub fn moved_to(&self, to: &ResourceId) -> Option<&ResourceId> {
        self.moved.iter().find(|m| m.to == *to).map(|m| &m.from)
    }

    /// For every resource, the resources it needs to exist first (the edges of `order`).
    pub fn needs(&self) -> BTreeMap<ResourceId, BTreeSet<ResourceId>> {
        let mut needs: BTreeMap<ResourceId, BTreeSet<ResourceId>> = BTreeMap::new();
        for (pool_name, pool) in &self.user_pools {
            let pool_id = ResourceId::UserPool {
                pool: pool_name.clone(),
            };
            needs.entry(pool_id.clone()).or_default();
            for client in pool.clients.keys() {
                needs
                    .entry(ResourceId::UserPoolClient {
                        pool: pool_name.clone(),
                        client: client.clone(),
                    })
                    .or_default()
                    .insert(pool_id.clone());
            }
        }
        for (name, function) in &self.functions {
            let role = ResourceId::Role {
                function: name.clone(),
            };
            let role_needs: BTreeSet<ResourceId> = function
                .allow
                .iter()
                .flat_map(|statement| statement.resources.iter())
                .flat_map(Template::references)
                .filter_map(Reference::resource)
                .collect();
            needs.entry(role.clone()).or_default().extend(role_needs);
            let mut function_needs: BTreeSet<ResourceId> = function
                .environment
                .values()
                .flat_map(Template::references)
                .filter_map(Reference::resource)
                .collect();
            let log_group = ResourceId::LogGroup {
                function: name.clone(),
            };
            needs.entry(log_group.clone()).or_default();
            function_needs.insert(role);
            function_needs.insert(log_group);
            needs
                .entry(ResourceId::Function {
                    function: name.clone(),
                })
                .or_default()
                .extend(function_needs);
        }
        needs.extend(super::trigger::needs(&self.user_pools));
        if let Some(api) = &self.api {
            let mut api_needs: BTreeSet<ResourceId> = api
                .routes
                .iter()
                .map(|route| ResourceId::Function {
                    function: route.function.clone(),
                })
                .collect();
            api_needs.extend(
                api.authorizers
                    .values()
                    .map(|authorizer| ResourceId::UserPool {
                        pool: authorizer.user_pool.clone(),
                    }),
            );
            needs.insert(ResourceId::Api, api_needs);
        }
        needs
    }
}

/// One resource of the stack, by kind and logical name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ResourceId {
    UserPool {
        pool: String,
    },
    UserPoolClient {
        pool: String,
        client: String,
    },
    Role {
        function: String,
    },
    /// A function's log group, `/aws/lambda/<function>`: before the function, so that Lambda
    /// never creates it first (untagged, kept forever).
    LogGroup {
        function: String,
    },
    Function {
        function: String,
    },
    /// A pool's Lambda triggers (and the invoke permission Cognito needs on each function) and
    /// its groups: after the pool and the functions, so a function may refer to its pool.
    Triggers {
        pool: String,
    },
    Api,
}

impl ResourceId {
    /// The address of a user pool or app client as stack.yaml and the plan spell it
    /// (`userPools.users`, `userPools.users.clients.web`), parsed; None for anything else.
    pub fn parse_moveable(address: &str) -> Option<ResourceId> {
        let parts: Vec<&str> = address.split('.').collect();
        match parts.as_slice() {
            ["userPools", pool] if !pool.is_empty() => Some(ResourceId::UserPool {
                pool: (*pool).to_owned(),
            }),
            ["userPools", pool, "clients", client] if !pool.is_empty() && !client.is_empty() => {
                Some(ResourceId::UserPoolClient {
                    pool: (*pool).to_owned(),
                    client: (*client).to_owned(),
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceId::UserPool { pool } => write!(f, "userPools.{pool}"),
            ResourceId::UserPoolClient { pool, client } => {
                write!(f, "userPools.{pool}.clients.{client}")
            }
            // As the plan spells them: one address per resource everywhere.
            ResourceId::Role { function } => write!(f, "functions.{function}.role"),
            ResourceId::LogGroup { function } => write!(f, "functions.{function}.logGroup"),
            ResourceId::Function { function } => write!(f, "functions.{function}"),
            ResourceId::Triggers { pool } => write!(f, "userPools.{pool}.triggers"),
            ResourceId::Api => f.write_str("api"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPool {
    /// `<stack>-<logical name>`.
    pub physical_name: String,
    pub self_sign_up: bool,
    pub auto_verify: Vec<VerifiedAttribute>,
    /// Cognito `UsernameAttributes`: sign in with these instead of a username. Immutable on AWS.
    pub username_attributes: Vec<VerifiedAttribute>,
    /// Standard attributes every user must have. Immutable on AWS.
    pub required_attributes: Vec<String>,
    pub password_policy: PasswordPolicy,
    /// Recovery channels, in priority order.
    pub account_recovery: Vec<VerifiedAttribute>,
    pub deletion_protection: bool,
    /// `caseSensitiveUsernames`: whether `Ada` and `ada` are two users. Immutable on AWS. None
    /// (not written): false for a new pool, and an existing pool keeps what it has.
    pub case_sensitive_usernames: Option<bool>,
    pub removal: Removal,
    pub clients: BTreeMap<String, AppClient>,
    /// `triggers:`: each Lambda trigger Cognito runs, by the stack's function (logical name) it
    /// invokes. None (not written): the stack's own functions are no trigger of the pool, and
    /// triggers others set are kept.
    pub triggers: Option<BTreeMap<Trigger, String>>,
    /// `groups:`: made when missing; one no longer declared is kept (it holds memberships).
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedAttribute {
    Email,
    PhoneNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordPolicy {
    pub min_length: u8,
    pub require_lowercase: bool,
    pub require_uppercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
}

impl Default for PasswordPolicy {
    /// Cognito's (and CDK's) defaults.
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            require_lowercase: true,
            require_uppercase: true,
            require_numbers: true,
            require_symbols: true,
        }
    }
}

/// What `down` does with a resource that holds users' data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Removal {
    /// Keep it (with deletion protection) and report it; a later `up` adopts it.
    Retain,
    /// Delete it, and every user in it.
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppClient {
    pub physical_name: String,
    /// Without the `ALLOW_` prefix, as written (`USER_PASSWORD_AUTH`).
    pub auth_flows: Vec<String>,
    /// Immutable on AWS: changing it replaces the client (and its id).
    pub generate_secret: bool,
    /// The user attributes the client may read, which are also the ones its id tokens carry. Empty:
    /// Cognito's default (every readable attribute).
    pub read_attributes: Vec<String>,
    /// Cognito answers as if a user that does not exist did (`ENABLED`), or says so (`LEGACY`).
    pub prevent_user_existence_errors: bool,
    /// How long its tokens are valid, in minutes.
    pub access_token_minutes: i32,
    pub id_token_minutes: i32,
    pub refresh_token_minutes: i32,
    /// A refresh renews the refresh token too (GetTokensFromRefreshToken only; REFRESH_TOKEN_AUTH
    /// is refused), the one renewed still taken for `Some(seconds)` (0 to 60). `None`: no rotation.
    pub refresh_token_rotation: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    /// `<stack>-<logical name>`.
    pub physical_name: String,
    /// The cargo package that builds it, and its binary target.
    pub package: String,
    pub binary: String,
    /// The crate's directory, as written in stack.yaml.
    pub crate_path: String,
    pub description: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub architecture: Architecture,
    pub log_retention_days: u32,
    pub environment: BTreeMap<String, Template>,
    pub allow: Vec<Statement>,
}

impl Function {
    /// Its IAM role's name in `region`: `<region's short code>-<stack>-<logical name>`
    /// (`use1-auth-demo-sign-up`). IAM is global: one role per region, so that a stack deployed
    /// in two regions never shares (or deletes) the other's roles. The code comes first so that
    /// an older provisioner, which lists a stack's roles by the `<stack>-` prefix and knows no
    /// region tag, never sees (and never deletes) these.
    pub fn role_name(&self, region: &str) -> String {
        format!(
            "{}-{}",
            crate::regions::short_code(region),
            self.physical_name
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// The name Lambda uses (`Architectures`).
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The Rust target that builds for it.
    pub fn rust_target(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-unknown-linux-gnu",
            Architecture::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }
}

/// One least-privilege IAM statement: exact actions on exact resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<Template>,
}

/// A string with `${...}` references, resolved when the referenced resources exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Part {
    Text(String),
    Ref(Reference),
}

/// What a `${...}` can name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "ref", rename_all = "camelCase")]
pub enum Reference {
    UserPoolId {
        pool: String,
    },
    UserPoolArn {
        pool: String,
    },
    UserPoolClientId {
        pool: String,
        client: String,
    },
    FunctionArn {
        function: String,
    },
    FunctionName {
        function: String,
    },
    StackName,
    /// `${env.name}`: the environment chosen with `--env`.
    EnvName,
    Region,
    AccountId,
}

impl Reference {
    /// The resource this reference needs to exist first, if any.
    pub fn resource(&self) -> Option<ResourceId> {
        match self {
            Reference::UserPoolId { pool } | Reference::UserPoolArn { pool } => {
                Some(ResourceId::UserPool { pool: pool.clone() })
            }
            Reference::UserPoolClientId { pool, client } => Some(ResourceId::UserPoolClient {
                pool: pool.clone(),
                client: client.clone(),
            }),
            Reference::FunctionArn { function } | Reference::FunctionName { function } => {
                Some(ResourceId::Function {
                    function: function.clone(),
                })
            }
            Reference::StackName
            | Reference::EnvName
            | Reference::Region
            | Reference::AccountId => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::UserPoolId { pool } => write!(f, "userPools.{pool}.id"),
            Reference::UserPoolArn { pool } => write!(f, "userPools.{pool}.arn"),
            Reference::UserPoolClientId { pool, client } => {
                write!(f, "userPools.{pool}.clients.{client}.id")
            }
            Reference::FunctionArn { function } => write!(f, "functions.{function}.arn"),
            Reference::FunctionName { function } => write!(f, "functions.{function}.name"),
            Reference::StackName => f.write_str("stack.name"),
            Reference::EnvName => f.write_str("env.name"),
            Reference::Region => f.write_str("aws.region"),
            Reference::AccountId => f.write_str("aws.accountId"),
        }
    }
}

impl Template {
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.parts.iter().filter_map(|part| match part {
            Part::Ref(reference) => Some(reference),
            Part::Text(_) => None,
        })
    }

    /// The string with every reference replaced by `resolve`'s answer (None stops with that reference).
    pub fn render(
        &self,
        mut resolve: impl FnMut(&Reference) -> Option<String>,
    ) -> Result<String, &Reference> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Ref(reference) => out.push_str(&resolve(reference).ok_or(reference)?),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    /// As written, `${...}` and all.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                // Only `${` needs escaping: a lone `$` reads back as itself.
                Part::Text(text) => f.write_str(&text.replace("${", "$${"))?,
                Part::Ref(reference) => write!(f, "${{{reference}}}")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    /// `<stack>-<name>` (name defaults to `api`).
    pub physical_name: String,
    pub stage: String,
    pub authorizers: BTreeMap<String, Authorizer>,
    /// Sorted by path, then method.
    pub routes: Vec<Route>,
    /// Browsers on these origins may call the API (None: no CORS at all).
    pub cors: Option<super::Cors>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    pub user_pool: String,
    pub identity_source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub path: String,
    pub method: String,
    pub function: String,
    pub authorizer: Option<String>,
    /// The method's authorization scopes: with them the authorizer takes access tokens that hold
    /// one of them (not id tokens).
    pub scopes: Vec<String>,
}

impl Route {
    /// `POST /sign-up`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The id of the route's statement in its function's resource policy: readable, and unique
    /// by a hash of the route (`apigw-POST-sign-up-1a2b3c4d`).
    pub fn statement_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let readable: String = format!("{}{}", self.method, self.path)
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
            .collect();
        let digest = Sha256::digest(self.key().as_bytes());
        let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let mut readable = readable.trim_matches('-').to_owned();
        readable.truncate(80);
        format!("apigw-{readable}-{hash}")
    }

    /// What follows the API's id in the ARN that invokes the route from any stage:
    /// `/*/GET/users/*` (`ANY` is `*`; path variables match any segment).
    pub fn execute_api_path(&self) -> String {
        let method = if self.method == "ANY" {
            "*"
        } else {
            self.method.as_str()
        };
        let path: Vec<&str> = self
            .path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| {
                if segment.starts_with('{') {
                    "*"
                } else {
                    segment
                }
            })
            .collect();
        format!("/*/{method}/{}", path.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_display_as_written() {
        let template = Template {
            parts: vec![
                Part::Text("cost $5, literal ${x} and ".to_owned()),
                Part::Ref(Reference::UserPoolArn {
                    pool: "users".to_owned(),
                }),
            ],
        };
        assert_eq!(
            template.to_string(),
            "cost $5, literal $${x} and ${userPools.users.arn}"
        );
    }
}

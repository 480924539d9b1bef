//! A function's IAM role: trust for lambda.amazonaws.com, AWSLambdaBasicExecutionRole attached,
//! and one inline least-privilege policy built from the function's `allow` list. Policies are
//! compared as documents (GetRole answers them percent-encoded, and AWS may reorder keys or turn a
//! one-element list into a string), never as text.

use std::collections::BTreeSet;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use serde_json::{Value, json};

use crate::aws::{AwsError, absent_as_none};
use crate::plan::Action;
use crate::spec::{OWNERSHIP_TAG, REGION_TAG, Reference, Statement};

/// The managed policy every function role gets: writing its logs (in partition `aws`; see
/// [`basic_execution_policy`]).
pub const BASIC_EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// AWSLambdaBasicExecutionRole's ARN in `partition` (`aws`, `aws-cn`, `aws-us-gov`).
pub fn basic_execution_policy(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
}
/// The name of the one inline policy this tool manages on a role.
pub const INLINE_POLICY_NAME: &str = "provisioner-allow";

/// The settings of a role that stack.yaml controls, with policy documents normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSettings {
    pub trust_policy: Value,
    pub managed_policies: BTreeSet<String>,
    /// Every inline policy by name (ours is `INLINE_POLICY_NAME`; any other is drift to remove).
    pub inline_policies: std::collections::BTreeMap<String, Value>,
    /// The managed policy that bounds what the role may ever do (`permissionsBoundary:`).
    pub permissions_boundary: Option<String>,
    /// The stack's `tags:` (the ownership and region tags aside).
    pub tags: crate::kinds::tags::Tags,
}

/// The trust policy that lets Lambda assume the role.
pub fn lambda_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// A reference in an `allow` resource that has no value yet (its resource does not exist).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`${{{0}}}` has no value yet: the resource it names does not exist")]
pub struct Unresolved(pub Reference);

/// The inline policy document for `allow`, with references resolved by `resolve`; None when
/// the function calls no AWS API.
pub fn inline_policy(
    allow: &[Statement],
    mut resolve: impl FnMut(&Reference) -> Option<String>,
) -> Result<Option<Value>, Unresolved> {
    if allow.is_empty() {
        return Ok(None);
    }
    let mut statements = Vec::with_capacity(allow.len());
    for statement in allow {
        let mut resources = Vec::with_capacity(statement.resources.len());
        for resource in &statement.resources {
            resources.push(
                resource
                    .render(&mut resolve)
                    .map_err(|reference| Unresolved(reference.clone()))?,
            );
        }
        statements.push(json!({
            "Effect": "Allow",
            "Action": statement.actions,
            "Resource": resources,
        }));
    }
    Ok(Some(
        json!({ "Version": "2012-10-17", "Statement": statements }),
    ))
}

impl RoleSettings {
    /// What a new role is created with, for the plan: its managed policies and each statement of
    /// its inline policy, one per line.
    pub fn attributes(&self) -> Vec<crate::plan::Attribute> {
        use crate::plan::{Shown, attribute};
        let mut attributes = vec![attribute("managedPolicies", &self.managed_policies)];
        if let Some(boundary) = &self.permissions_boundary {
            attributes.push(attribute("permissionsBoundary", &Shown(boundary.clone())));
        }
        if !self.tags.is_empty() {
            attributes.push(attribute("tags", &self.tags));
        }
        for doc in self.inline_policies.values() {
            let statements = doc["Statement"].as_array().cloned().unwrap_or_default();
            for statement in statements {
                let list = |v: &Value| match v {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().unwrap_or_default().to_owned())
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.as_str().unwrap_or_default().to_owned(),
                };
                attributes.push(attribute(
                    "allow",
                    &Shown(format!(
                        "{} on {}",
                        list(&statement["Action"]),
                        list(&statement["Resource"])
                    )),
                ));
            }
        }
        attributes
    }

    /// With the stack's `tags:`.
    pub fn tagged(mut self, tags: &crate::kinds::tags::Tags) -> RoleSettings {
        self.tags = tags.clone();
        self
    }

    /// With `boundary` as its permissions boundary.
    pub fn bounded_by(mut self, boundary: Option<String>) -> RoleSettings {
        self.permissions_boundary = boundary;
        self
    }

    pub fn desired(inline: Option<Value>, partition: &str) -> RoleSettings {
        RoleSettings {
            permissions_boundary: None,
            tags: Default::default(),
            trust_policy: normalize_policy(&lambda_trust_policy()),
            managed_policies: BTreeSet::from([basic_execution_policy(partition)]),
            inline_policies: inline
                .map(|doc| (INLINE_POLICY_NAME.to_owned(), normalize_policy(&doc)))
                .into_iter()
                .collect(),
        }
    }
}

/// A policy document in a canonical form: every object's keys in order, every `Statement`,
/// `Action`, `NotAction`, `Resource`, `NotResource` and principal list a sorted list, and the
/// statements sorted, so that documents IAM considers equal compare (and print) equal, whatever
/// order their keys were written in (a console edit may reorder them).
pub fn normalize_policy(doc: &Value) -> Value {
    let mut doc = keys_in_order(doc);
    if let Some(object) = doc.as_object_mut() {
        let statements = match object.remove("Statement") {
            Some(Value::Array(list)) => list,
            Some(one) => vec![one],
            None => Vec::new(),
        };
        let mut statements: Vec<Value> = statements
            .iter()
            .map(|statement| keys_in_order(&normalize_statement(statement)))
            .collect();
        statements.sort_by_key(Value::to_string);
        object.insert("Statement".to_owned(), Value::Array(statements));
    }
    doc
}

fn normalize_statement(statement: &Value) -> Value {
    let mut statement = statement.clone();
    if let Some(object) = statement.as_object_mut() {
        for key in ["Action", "NotAction", "Resource", "NotResource"] {
            if let Some(value) = object.remove(key) {
                object.insert(key.to_owned(), sorted_list(value));
            }
        }
        if let Some(Value::Object(principal)) = object.get_mut("Principal") {
            for value in principal.values_mut() {
                *value = sorted_list(value.take());
            }
        }
    }
    statement
}

/// `value` with every object's keys in sorted order (serde_json keeps them as written).
fn keys_in_order(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|key| (key.clone(), keys_in_order(&object[key])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(keys_in_order).collect()),
        other => other.clone(),
    }
}

fn sorted_list(value: Value) -> Value {
    let mut items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    items.sort_by_key(Value::to_string);
    items.dedup();
    Value::Array(items)
}

/// One call that applies part of a role's update. Their order is the order they are made in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleChange {
    /// UpdateAssumeRolePolicy.
    TrustPolicy,
    /// PutRolePermissionsBoundary of the desired boundary (planned only when stack.yaml gives one).
    Boundary,
    /// AttachRolePolicy of this managed policy ARN.
    Attach(String),
    /// DetachRolePolicy of this managed policy ARN (stack.yaml does not give it).
    Detach(String),
    /// PutRolePolicy of this inline policy, as desired.
    PutInline(String),
    /// DeleteRolePolicy of this inline policy (stack.yaml does not give it).
    DeleteInline(String),
    /// TagRole and UntagRole: the stack's `tags:`.
    Tags(crate::kinds::tags::TagChange),
}

/// The typed changes of an update (empty when nothing changes).
pub type RoleChanges = BTreeSet<RoleChange>;

/// What it takes to make `live` match `desired`. Pure. Everything on a role changes in place: the
/// action shows it to people (a policy change one statement per line); the typed changes are
/// the calls that apply it.
pub fn diff(live: &RoleSettings, desired: &RoleSettings) -> (Action, RoleChanges) {
    let mut changes = RoleChanges::new();
    if live.trust_policy != desired.trust_policy {
        changes.insert(RoleChange::TrustPolicy);
    }
    // Without `permissionsBoundary:` a role's boundary is not managed: one an administrator or
    // an organization's automation set stays (removing a security control is never implicit).
    if desired.permissions_boundary.is_some()
        && live.permissions_boundary != desired.permissions_boundary
    {
        changes.insert(RoleChange::Boundary);
    }
    changes.extend(
        desired
            .managed_policies
            .difference(&live.managed_policies)
            .map(|arn| RoleChange::Attach(arn.clone())),
    );
    changes.extend(
        live.managed_policies
            .difference(&desired.managed_policies)
            .map(|arn| RoleChange::Detach(arn.clone())),
    );
    for (name, doc) in &desired.inline_policies {
        if live.inline_policies.get(name) != Some(doc) {
            changes.insert(RoleChange::PutInline(name.clone()));
        }
    }
    for name in live.inline_policies.keys() {
        if !desired.inline_policies.contains_key(name) {
            changes.insert(RoleChange::DeleteInline(name.clone()));
        }
    }
    let tags = crate::kinds::tags::TagChange::between(&live.tags, &desired.tags);
    if !tags.is_empty() {
        changes.insert(RoleChange::Tags(tags));
    }
    (show::shown(live, desired), changes)
}

/// A role found live under the stack's physical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRole {
    pub name: String,
    pub arn: String,
    /// The value of its ownership tag, if it has one.
    pub owner: Option<String>,
    /// The value of its region tag: the region of the stack's deployment it serves (None: made
    /// before roles were per region, or not by provisioner).
    pub region: Option<String>,
    pub settings: RoleSettings,
}

impl LiveRole {
    /// Whether it is the role of `stack`'s deployment in `region`: both tags match. A role of
    /// the same stack in another region is someone else's here.
    pub fn owned_by(&self, stack: &str, region: &str) -> bool {
        self.owner.as_deref() == Some(stack) && self.region.as_deref() == Some(region)
    }

    /// Whose it is, for a refusal: `stack `x``, `stack `x` in eu-west-1`, or None (untagged).
    pub fn owner_description(&self) -> Option<String> {
        let owner = self.owner.as_deref()?;
        Some(match &self.region {
            Some(region) => format!("{owner}` in `{region}"),
            None => format!("{owner}` (in every region: made before roles were per region"),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("could not build a request for IAM role `{name}`: {detail}")]
    Request { name: String, detail: String },
    #[error(
        "IAM answered a policy document of `{name}` (a role or a policy) that is not JSON: {detail}"
    )]
    BadDocument { name: String, detail: String },
}

impl RoleError {
    /// The role (or what the call named on it) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RoleError::Aws(err) if err.is_not_found())
    }
}

/// What an IAM call's error on role `name` becomes (`?` makes it a [`RoleError`]).
fn aws_error<E: Into<aws_sdk_iam::Error>>(
    action: &'static str,
    name: &str,
) -> impl FnOnce(E) -> AwsError {
    AwsError::of::<aws_sdk_iam::Error, E>(action, format!("IAM role `{name}`"))
}

/// IAM answers documents percent-encoded.
fn decode_document(name: &str, text: &str) -> Result<Value, RoleError> {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str(&decoded).map_err(|err| RoleError::BadDocument {
        name: name.to_owned(),
        detail: err.to_string(),
    })
}

/// The role named `name`, if it exists (whoever owns it: check `owned_by` before touching it).
/// The role, its managed policies and its inline policies are read at once: one round trip
/// (two with inline policies), not three in a row.
pub async fn find(client: &Client, name: &str) -> Result<Option<LiveRole>, RoleError> {
    let (role, managed_policies, inline_policies) = tokio::join!(
        get_role(client, name),
        managed_policies(client, name),
        inline_policies(client, name)
    );
    // Absent: the listings failed for the same reason, or raced a deletion; either way, absent.
    let Some(role) = role? else {
        return Ok(None);
    };
    let (Some(managed_policies), Some(inline_policies)) = (managed_policies?, inline_policies?)
    else {
        return Ok(None);
    };
    let tag = |key: &str| {
        role.tags()
            .iter()
            .find(|tag| tag.key() == key)
            .map(|tag| tag.value().to_owned())
    };
    let (owner, region) = (tag(OWNERSHIP_TAG), tag(REGION_TAG));
    let trust_policy = match role.assume_role_policy_document() {
        Some(text) => normalize_policy(&decode_document(name, text)?),
        None => Value::Null,
    };
    Ok(Some(LiveRole {
        name: role.role_name().to_owned(),
        arn: role.arn().to_owned(),
        owner,
        region,
        settings: RoleSettings {
            trust_policy,
            managed_policies,
            inline_policies,
            permissions_boundary: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(str::to_owned),
            tags: crate::kinds::tags::managed(role.tags().iter().map(|t| (&t.key, &t.value))),
        },
    }))
}

/// `None` when there is no such role (NoSuchEntity is absence, not an error).
fn absent_if_no_such_entity<T, F: Into<aws_sdk_iam::Error>>(
    result: Result<T, F>,
    action: &'static str,
    name: &str,
) -> Result<Option<T>, RoleError> {
    Ok(absent_as_none(result.map_err(aws_error(action, name)))?)
}

async fn get_role(
    client: &Client,
    name: &str,
) -> Result<Option<aws_sdk_iam::types::Role>, RoleError> {
    let output = client.get_role().role_name(name).send().await;
    Ok(absent_if_no_such_entity(output, "read", name)?.and_then(|o| o.role))
}

async fn managed_policies(
    client: &Client,
    name: &str,
) -> Result<Option<BTreeSet<String>>, RoleError> {
    let mut managed = BTreeSet::new();
    let mut pages = client
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let Some(page) = absent_if_no_such_entity(page, "list the managed policies of", name)?
        else {
            return Ok(None);
        };
        managed.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
    }
    Ok(Some(managed))
}

/// The inline policies by name, each read as soon as it is listed.
async fn inline_policies(
    client: &Client,
    name: &str,
) -> Result<Option<std::collections::BTreeMap<String, Value>>, RoleError> {
    let mut names = Vec::new();
    let mut pages = client
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let Some(page) = absent_if_no_such_entity(page, "list the inline policies of", name)?
        else {
            return Ok(None);
        };
        names.extend(page.policy_names().iter().cloned());
    }
    let documents =
        futures_util::future::try_join_all(names.into_iter().map(|policy| async move {
            let output = client
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await;
            let Some(output) = absent_if_no_such_entity(output, "read an inline policy of", name)?
            else {
                return Ok(None);
            };
            let document = normalize_policy(&decode_document(name, output.policy_document())?);
            Ok::<_, RoleError>(Some((policy, document)))
        }))
        .await?;
    // A policy deleted between the listing and its reading is not there.
    Ok(Some(documents.into_iter().flatten().collect()))
}

/// Names of every role whose name starts with `prefix` (every page listed).
pub async fn names_with_prefix(client: &Client, prefix: &str) -> Result<Vec<String>, RoleError> {
    let mut pages = client.list_roles().into_paginator().send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error("list roles named", &format!("{prefix}*")))?;
        names.extend(
            page.roles()
                .iter()
                .map(|role| role.role_name())
                .filter(|name| name.starts_with(prefix))
                .map(str::to_owned),
        );
    }
    Ok(names)
}

pub mod boundary;
mod write;
pub use write::{create, delete, update};

mod show;
#[cfg(test)]
mod tests;
pub mod unit;

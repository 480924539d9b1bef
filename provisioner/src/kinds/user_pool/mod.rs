//! The Cognito user pool: its comparable settings (desired, from stack.yaml; live, from
//! DescribeUserPool), the pure diff between them, and the AWS driver: find by name and ownership
//! tag, create (tag in the create call itself), update (always the full configuration, because
//! UpdateUserPool resets every omitted setting to its default).

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AdminCreateUserConfigType, AttributeDataType,
    DeletionProtectionType, LambdaConfigType, PasswordPolicyType, RecoveryOptionNameType,
    RecoveryOptionType, SchemaAttributeType, UserPoolPolicyType, UserPoolType,
    UsernameAttributeType, UsernameConfigurationType, VerifiedAttributeType,
};

use crate::aws::AwsError;
use crate::plan::{Action, Differ};
use crate::spec::{OWNERSHIP_TAG, PasswordPolicy, UserPool, VerifiedAttribute};

/// The settings of a pool that stack.yaml controls, in a form both sides compare equal on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    pub self_sign_up: bool,
    /// Sorted.
    pub auto_verify: Vec<VerifiedAttribute>,
    /// Sorted. Immutable on AWS.
    pub username_attributes: Vec<VerifiedAttribute>,
    /// Sorted standard attribute names. Immutable on AWS.
    pub required_attributes: Vec<String>,
    pub password_policy: PasswordPolicy,
    /// In priority order.
    pub account_recovery: Vec<VerifiedAttribute>,
    pub deletion_protection: bool,
    /// Whether usernames are case sensitive (`UsernameConfiguration`). Immutable on AWS.
    pub case_sensitive_usernames: bool,
    /// The stack's `tags:` (the ownership tag aside).
    pub tags: crate::kinds::tags::Tags,
}

impl PoolSettings {
    /// What a new pool is created with, for the plan.
    pub fn attributes(&self) -> Vec<crate::plan::Attribute> {
        use crate::plan::attribute;
        vec![
            attribute("selfSignUp", &self.self_sign_up),
            attribute("autoVerify", &self.auto_verify),
            attribute("usernameAttributes", &self.username_attributes),
            attribute("requiredAttributes", &self.required_attributes),
            attribute("passwordPolicy", &self.password_policy),
            attribute("accountRecovery", &self.account_recovery),
            attribute("deletionProtection", &self.deletion_protection),
            attribute("caseSensitiveUsernames", &self.case_sensitive_usernames),
        ]
        .into_iter()
        .chain((!self.tags.is_empty()).then(|| attribute("tags", &self.tags)))
        .collect()
    }

    pub fn desired(pool: &UserPool, tags: &crate::kinds::tags::Tags) -> PoolSettings {
        let sorted = |mut v: Vec<VerifiedAttribute>| {
            v.sort();
            v.dedup();
            v
        };
        let mut required_attributes = pool.required_attributes.clone();
        required_attributes.sort();
        required_attributes.dedup();
        PoolSettings {
            self_sign_up: pool.self_sign_up,
            auto_verify: sorted(pool.auto_verify.clone()),
            username_attributes: sorted(pool.username_attributes.clone()),
            required_attributes,
            password_policy: pool.password_policy.clone(),
            account_recovery: pool.account_recovery.clone(),
            deletion_protection: pool.deletion_protection,
            case_sensitive_usernames: pool.case_sensitive_usernames.unwrap_or(false),
            tags: tags.clone(),
        }
    }

    /// From DescribeUserPool. Settings AWS leaves out read as AWS's defaults.
    pub fn live(pool: &UserPoolType) -> PoolSettings {
        // Both lists hold `email` / `phone_number`; compare them sorted.
        let verified = |names: Vec<&str>| {
            let mut out: Vec<VerifiedAttribute> = names
                .into_iter()
                .filter_map(|name| match name {
                    "email" => Some(VerifiedAttribute::Email),
                    "phone_number" => Some(VerifiedAttribute::PhoneNumber),
                    _ => None,
                })
                .collect();
            out.sort();
            out
        };
        let auto_verify = verified(
            pool.auto_verified_attributes()
                .iter()
                .map(|a| a.as_str())
                .collect(),
        );
        let username_attributes = verified(
            pool.username_attributes()
                .iter()
                .map(|a| a.as_str())
                .collect(),
        );
        // `sub` is required in every pool; stack.yaml lists only the attributes it adds.
        let mut required_attributes: Vec<String> = pool
            .schema_attributes()
            .iter()
            .filter(|attribute| {
                attribute.required() == Some(true) && attribute.name() != Some("sub")
            })
            .filter_map(|attribute| attribute.name().map(str::to_owned))
            .collect();
        required_attributes.sort();
        let policy = pool
            .policies()
            .and_then(UserPoolPolicyType::password_policy);
        let password_policy = match policy {
            Some(policy) => PasswordPolicy {
                min_length: policy
                    .minimum_length()
                    .and_then(|n| u8::try_from(n).ok())
                    .unwrap_or(8),
                require_lowercase: policy.require_lowercase(),
                require_uppercase: policy.require_uppercase(),
                require_numbers: policy.require_numbers(),
                require_symbols: policy.require_symbols(),
            },
            None => PasswordPolicy::default(),
        };
        let mut recovery: Vec<&RecoveryOptionType> = pool
            .account_recovery_setting()
            .map(|setting| setting.recovery_mechanisms().iter().collect())
            .unwrap_or_default();
        recovery.sort_by_key(|option| option.priority());
        let account_recovery = recovery
            .into_iter()
            .filter_map(|option| match option.name() {
                RecoveryOptionNameType::VerifiedEmail => Some(VerifiedAttribute::Email),
                RecoveryOptionNameType::VerifiedPhoneNumber => Some(VerifiedAttribute::PhoneNumber),
                _ => None,
            })
            .collect();
        PoolSettings {
            self_sign_up: !pool
                .admin_create_user_config()
                .is_some_and(AdminCreateUserConfigType::allow_admin_create_user_only),
            auto_verify,
            username_attributes,
            required_attributes,
            password_policy,
            account_recovery,
            deletion_protection: pool.deletion_protection()
                == Some(&DeletionProtectionType::Active),
            // A pool made without a username configuration is case sensitive (AWS's default).
            case_sensitive_usernames: pool
                .username_configuration()
                .is_none_or(|c| c.case_sensitive()),
            tags: crate::kinds::tags::managed(pool.user_pool_tags().into_iter().flatten()),
        }
    }
}

/// What it takes to make `live` match `desired`. Pure.
pub fn diff(live: &PoolSettings, desired: &PoolSettings) -> Action {
    diff_typed(live, desired).0
}

/// [`diff`], with the typed change apply acts on (from the same fields).
pub fn diff_typed(live: &PoolSettings, desired: &PoolSettings) -> (Action, crate::plan::Whole) {
    let mut d = Differ::default();
    d.immutable(
        "usernameAttributes",
        &live.username_attributes,
        &desired.username_attributes,
    );
    d.immutable(
        "requiredAttributes",
        &live.required_attributes,
        &desired.required_attributes,
    );
    d.immutable(
        "caseSensitiveUsernames",
        &live.case_sensitive_usernames,
        &desired.case_sensitive_usernames,
    );
    d.field("selfSignUp", &live.self_sign_up, &desired.self_sign_up);
    d.field("autoVerify", &live.auto_verify, &desired.auto_verify);
    d.field(
        "passwordPolicy",
        &live.password_policy,
        &desired.password_policy,
    );
    d.field(
        "accountRecovery",
        &live.account_recovery,
        &desired.account_recovery,
    );
    d.field(
        "deletionProtection",
        &live.deletion_protection,
        &desired.deletion_protection,
    );
    d.field("tags", &live.tags, &desired.tags);
    d.action_and_whole()
}

/// A pool found live under the stack's physical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePool {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub tags: HashMap<String, String>,
    /// Cognito's estimate of its users (shown before `adopt` takes it over).
    pub estimated_users: i32,
    pub settings: PoolSettings,
    /// The pool as DescribeUserPool answered (None: not read): what an update keeps.
    pub described: Option<kept::Described>,
}

impl LivePool {
    /// Does this pool carry `stack`'s ownership tag?
    pub fn owned_by(&self, stack: &str) -> bool {
        self.tags
            .get(OWNERSHIP_TAG)
            .is_some_and(|owner| owner == stack)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserPoolError {
    #[error("{count} user pools named `{name}` carry the tag `{OWNERSHIP_TAG}={stack}`; cannot tell which is this stack's\n\nhint: delete or untag the extra ones (ids: {})", ids.join(", "))]
    Ambiguous {
        name: String,
        stack: String,
        count: usize,
        ids: Vec<String>,
    },
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("AWS answered {action} for user pool `{name}` without {missing}")]
    Incomplete {
        action: &'static str,
        name: String,
        missing: &'static str,
    },
}

/// What a Cognito call's error on pool `name` becomes (`?` makes it a [`UserPoolError`]).
fn aws_error<E: Into<aws_sdk_cognitoidentityprovider::Error>>(
    action: &'static str,
    name: &str,
) -> impl FnOnce(E) -> AwsError {
    AwsError::of::<aws_sdk_cognitoidentityprovider::Error, E>(action, format!("user pool `{name}`"))
}

/// Every pool named `name`, described. Pool names are not unique on AWS, so all of them are listed
/// (every page) and the caller decides by tag.
pub async fn find_by_name(client: &Client, name: &str) -> Result<Vec<LivePool>, UserPoolError> {
    find_where(client, name, |pool_name| pool_name == name).await
}

async fn find_where(
    client: &Client,
    name: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<LivePool>, UserPoolError> {
    let listed = list_where(client, name, wanted).await?;
    describe_all(client, &listed).await
}

/// The (id, name) of every pool whose name is `wanted` (every page).
pub async fn list_where(
    client: &Client,
    name: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, UserPoolError> {
    let mut pages = client
        .list_user_pools()
        .max_results(60)
        .into_paginator()
        .send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error("list", name))?;
        ids.extend(
            page.user_pools()
                .iter()
                .filter(|pool| pool.name().is_some_and(&wanted))
                .filter_map(|pool| Some((pool.id()?.to_owned(), pool.name()?.to_owned()))),
        );
    }
    Ok(ids)
}

/// Each listed pool, described, all at once.
pub async fn describe_all(
    client: &Client,
    listed: &[(String, String)],
) -> Result<Vec<LivePool>, UserPoolError> {
    let described = futures_util::future::try_join_all(
        listed
            .iter()
            .map(|(id, pool_name)| describe(client, id, pool_name)),
    )
    .await?;
    // A pool deleted between the listing and its description is not there.
    Ok(described.into_iter().flatten().collect())
}

/// The pool named `name` that carries `stack`'s tag, if any; an error if several do. Pools with
/// the name but not the tag are foreign: callers report them and never touch them.
pub async fn find_owned(
    client: &Client,
    name: &str,
    stack: &str,
) -> Result<Option<LivePool>, UserPoolError> {
    let mut owned: Vec<LivePool> = find_by_name(client, name)
        .await?
        .into_iter()
        .filter(|pool| pool.owned_by(stack))
        .collect();
    match owned.len() {
        0 | 1 => Ok(owned.pop()),
        count => Err(UserPoolError::Ambiguous {
            name: name.to_owned(),
            stack: stack.to_owned(),
            count,
            ids: owned.into_iter().map(|pool| pool.id).collect(),
        }),
    }
}

pub async fn describe(
    client: &Client,
    id: &str,
    name: &str,
) -> Result<Option<LivePool>, UserPoolError> {
    let described = client
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
        .map_err(aws_error("describe", name));
    let Some(output) = crate::aws::absent_as_none(described)? else {
        return Ok(None);
    };
    let pool = output.user_pool().ok_or(UserPoolError::Incomplete {
        action: "DescribeUserPool",
        name: name.to_owned(),
        missing: "the pool",
    })?;
    live_pool(pool, name).map(Some)
}

fn live_pool(pool: &UserPoolType, name: &str) -> Result<LivePool, UserPoolError> {
    let incomplete = |missing| UserPoolError::Incomplete {
        action: "DescribeUserPool",
        name: name.to_owned(),
        missing,
    };
    Ok(LivePool {
        id: pool.id().ok_or_else(|| incomplete("an id"))?.to_owned(),
        arn: pool.arn().ok_or_else(|| incomplete("an ARN"))?.to_owned(),
        name: pool.name().unwrap_or(name).to_owned(),
        tags: pool.user_pool_tags().cloned().unwrap_or_default(),
        estimated_users: pool.estimated_number_of_users(),
        settings: PoolSettings::live(pool),
        described: Some(kept::Described(Box::new(pool.clone()))),
    })
}

pub mod kept;
mod write;
pub use write::{create, delete, set_lambda_config, update, update_to};

#[cfg(test)]
mod tests;
pub mod unit;

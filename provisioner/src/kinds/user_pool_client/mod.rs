//! The Cognito app client: settings, pure diff and driver. App clients cannot be tagged; one is
//! this stack's when it lives in a pool that carries the stack's tag and has the stack's name for it.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, FeatureType, PreventUserExistenceErrorTypes, RefreshTokenRotationType,
    TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};

use crate::aws::AwsError;
use crate::plan::{Action, Differ};
use crate::spec::{AppClient, STANDARD_READ_ATTRIBUTES};

/// Cognito's defaults at CreateUserPoolClient for settings stack.yaml does not expose. They are
/// sent on create and on every update (UpdateUserPoolClient resets what it is not sent: a first
/// update without `EnableTokenRevocation` could turn revocation off) and diffed, so drift made in
/// the console is shown and repaired.
const TOKEN_REVOCATION: bool = true;
/// What a client that reports no `PreventUserExistenceErrors` does (Cognito's API default; a new
/// client of this tool's gets `ENABLED` unless stack.yaml says otherwise).
const PREVENT_USER_EXISTENCE_ERRORS: &str = "LEGACY";
/// Minutes an authentication session (between challenges) lasts.
const AUTH_SESSION_VALIDITY: i32 = 3;

/// The settings of an app client that `provisioner` manages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// `ClientName`: `<stack>-<logical name>`; a `moved:` entry renames it in place.
    pub name: String,
    /// Without the `ALLOW_` prefix, sorted.
    pub auth_flows: Vec<String>,
    /// Immutable on AWS: a client gets a secret at creation or never.
    pub generate_secret: bool,
    /// Sorted; empty: Cognito's default (every readable attribute).
    pub read_attributes: Vec<String>,
    pub token_revocation: bool,
    /// `LEGACY` or `ENABLED`.
    pub prevent_user_existence_errors: String,
    pub auth_session_validity: i32,
    /// How long its tokens are valid.
    pub access_token: Minutes,
    pub id_token: Minutes,
    pub refresh_token: Minutes,
    pub refresh_token_rotation: Rotation,
}

/// Refresh token rotation: off (`None`), or on with the seconds a rotated-out refresh token still
/// works (Cognito's `RetryGracePeriodSeconds`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation(pub Option<i32>);

impl crate::plan::Render for Rotation {
    fn render(&self) -> String {
        match self.0 {
            None => "off".to_owned(),
            Some(grace) => format!("on ({grace}s grace)"),
        }
    }
}

impl Rotation {
    /// Sent on every create and update: Cognito's `Feature`, and the grace when on.
    fn to_aws(self) -> Option<RefreshTokenRotationType> {
        let feature = match self.0 {
            Some(_) => FeatureType::Enabled,
            None => FeatureType::Disabled,
        };
        RefreshTokenRotationType::builder()
            .feature(feature)
            .set_retry_grace_period_seconds(self.0)
            .build()
            .ok()
    }
}

/// A token validity, in minutes; shown as stack.yaml writes it (`1h`, `30d`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minutes(pub i32);

impl crate::plan::Render for Minutes {
    fn render(&self) -> String {
        crate::spec::show_minutes(self.0)
    }
}

/// A validity Cognito reports in `unit` (its default when absent: `default_unit`), in minutes.
fn minutes(
    value: Option<i32>,
    unit: Option<&TimeUnitsType>,
    default_unit: &TimeUnitsType,
    default: i32,
) -> Minutes {
    let Some(value) = value else {
        return Minutes(default);
    };
    let per_minute = match unit.unwrap_or(default_unit) {
        TimeUnitsType::Seconds => return Minutes(value / 60),
        TimeUnitsType::Minutes => 1,
        TimeUnitsType::Hours => 60,
        _ => 24 * 60,
    };
    Minutes(value.saturating_mul(per_minute))
}

impl ClientSettings {
    /// What a new client is created with, for the plan.
    pub fn attributes(&self) -> Vec<crate::plan::Attribute> {
        use crate::plan::{Shown, attribute};
        let read = if self.read_attributes.is_empty() {
            Shown("(every readable attribute)".to_owned())
        } else {
            Shown(crate::plan::Render::render(&self.read_attributes))
        };
        vec![
            attribute("authFlows", &self.auth_flows),
            attribute("generateSecret", &self.generate_secret),
            attribute("readAttributes", &read),
            attribute("tokenRevocation", &self.token_revocation),
        ]
    }

    pub fn desired(client: &AppClient) -> ClientSettings {
        let mut auth_flows = client.auth_flows.clone();
        auth_flows.sort();
        auth_flows.dedup();
        let mut read_attributes = client.read_attributes.clone();
        read_attributes.sort();
        // Every standard attribute is Cognito's default set (our pools have no custom ones), which
        // DescribeUserPoolClient reports as no list: written out, it would differ on every run.
        let mut every: Vec<&str> = STANDARD_READ_ATTRIBUTES.to_vec();
        every.sort();
        if read_attributes == every {
            read_attributes.clear();
        }
        ClientSettings {
            name: client.physical_name.clone(),
            auth_flows,
            generate_secret: client.generate_secret,
            read_attributes,
            token_revocation: TOKEN_REVOCATION,
            prevent_user_existence_errors: if client.prevent_user_existence_errors {
                "ENABLED"
            } else {
                "LEGACY"
            }
            .to_owned(),
            auth_session_validity: AUTH_SESSION_VALIDITY,
            access_token: Minutes(client.access_token_minutes),
            id_token: Minutes(client.id_token_minutes),
            refresh_token: Minutes(client.refresh_token_minutes),
            refresh_token_rotation: Rotation(client.refresh_token_rotation),
        }
    }

    pub fn live(client: &UserPoolClientType) -> ClientSettings {
        let mut auth_flows: Vec<String> = client
            .explicit_auth_flows()
            .iter()
            .map(|flow| {
                let flow = flow.as_str();
                flow.strip_prefix("ALLOW_").unwrap_or(flow).to_owned()
            })
            .collect();
        auth_flows.sort();
        auth_flows.dedup();
        let mut read_attributes = client.read_attributes().to_vec();
        read_attributes.sort();
        ClientSettings {
            name: client.client_name().unwrap_or_default().to_owned(),
            auth_flows,
            generate_secret: client.client_secret().is_some(),
            read_attributes,
            token_revocation: client.enable_token_revocation().unwrap_or(false),
            // Absent means Cognito's default for each.
            prevent_user_existence_errors: client
                .prevent_user_existence_errors()
                .map_or(PREVENT_USER_EXISTENCE_ERRORS, |p| p.as_str())
                .to_owned(),
            auth_session_validity: client
                .auth_session_validity()
                .unwrap_or(AUTH_SESSION_VALIDITY),
            access_token: minutes(
                client.access_token_validity(),
                client.token_validity_units().and_then(|u| u.access_token()),
                &TimeUnitsType::Hours,
                60,
            ),
            id_token: minutes(
                client.id_token_validity(),
                client.token_validity_units().and_then(|u| u.id_token()),
                &TimeUnitsType::Hours,
                60,
            ),
            refresh_token: minutes(
                Some(client.refresh_token_validity()).filter(|v| *v != 0),
                client
                    .token_validity_units()
                    .and_then(|u| u.refresh_token()),
                &TimeUnitsType::Days,
                30 * 24 * 60,
            ),
            refresh_token_rotation: Rotation(
                client
                    .refresh_token_rotation()
                    .filter(|r| *r.feature() == FeatureType::Enabled)
                    .map(|r| r.retry_grace_period_seconds().unwrap_or(0)),
            ),
        }
    }
}

/// What it takes to make `live` match `desired`. Pure.
pub fn diff(live: &ClientSettings, desired: &ClientSettings) -> Action {
    diff_typed(live, desired).0
}

/// [`diff`], with the typed change apply acts on (from the same fields).
pub fn diff_typed(live: &ClientSettings, desired: &ClientSettings) -> (Action, crate::plan::Whole) {
    let mut d = Differ::default();
    d.field("name", &live.name, &desired.name);
    d.immutable(
        "generateSecret",
        &live.generate_secret,
        &desired.generate_secret,
    );
    d.field("authFlows", &live.auth_flows, &desired.auth_flows);
    d.field(
        "readAttributes",
        &live.read_attributes,
        &desired.read_attributes,
    );
    d.field(
        "tokenRevocation",
        &live.token_revocation,
        &desired.token_revocation,
    );
    d.field(
        "preventUserExistenceErrors",
        &live.prevent_user_existence_errors,
        &desired.prevent_user_existence_errors,
    );
    d.field(
        "authSessionValidity",
        &live.auth_session_validity,
        &desired.auth_session_validity,
    );
    d.field(
        "accessTokenValidity",
        &live.access_token,
        &desired.access_token,
    );
    d.field("idTokenValidity", &live.id_token, &desired.id_token);
    d.field(
        "refreshTokenValidity",
        &live.refresh_token,
        &desired.refresh_token,
    );
    d.field(
        "refreshTokenRotation",
        &live.refresh_token_rotation,
        &desired.refresh_token_rotation,
    );
    d.action_and_whole()
}

/// An app client found live in a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveClient {
    pub id: String,
    pub name: String,
    pub settings: ClientSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{count} app clients named `{name}` exist in user pool `{pool_id}`; cannot tell which is this stack's\n\nhint: delete the extra ones (ids: {})", ids.join(", "))]
    Ambiguous {
        name: String,
        pool_id: String,
        count: usize,
        ids: Vec<String>,
    },
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("AWS answered {action} for app client `{name}` without {missing}")]
    Incomplete {
        action: &'static str,
        name: String,
        missing: &'static str,
    },
}

/// What a Cognito call's error on client `name` of pool `pool_id` becomes (`?` makes it a
/// [`ClientError`]).
fn aws_error<E: Into<aws_sdk_cognitoidentityprovider::Error>>(
    action: &'static str,
    name: &str,
    pool_id: &str,
) -> impl FnOnce(E) -> AwsError {
    AwsError::of::<aws_sdk_cognitoidentityprovider::Error, E>(
        action,
        format!("app client `{name}` of user pool `{pool_id}`"),
    )
}

/// The app client named `name` in pool `pool_id` (every page listed), if any; several is an error.
pub async fn find(
    client: &Client,
    pool_id: &str,
    name: &str,
) -> Result<Option<LiveClient>, ClientError> {
    let listed = list(client, pool_id).await?;
    find_listed(client, pool_id, name, &listed).await
}

/// As [`find`], from the pool's clients as [`list`] gave them (one listing for several lookups).
pub async fn find_listed(
    client: &Client,
    pool_id: &str,
    name: &str,
    listed: &[(String, String)],
) -> Result<Option<LiveClient>, ClientError> {
    let ids: Vec<String> = listed
        .iter()
        .filter(|(listed_name, _)| listed_name == name)
        .map(|(_, id)| id.clone())
        .collect();
    match ids.as_slice() {
        [] => Ok(None),
        [id] => {
            let output = client
                .describe_user_pool_client()
                .user_pool_id(pool_id)
                .client_id(id)
                .send()
                .await
                .map_err(aws_error("describe", name, pool_id))?;
            let live = output.user_pool_client().ok_or(ClientError::Incomplete {
                action: "DescribeUserPoolClient",
                name: name.to_owned(),
                missing: "the client",
            })?;
            Ok(Some(live_client(live, name)?))
        }
        _ => Err(ClientError::Ambiguous {
            name: name.to_owned(),
            pool_id: pool_id.to_owned(),
            count: ids.len(),
            ids,
        }),
    }
}

/// Every app client of pool `pool_id` as (name, id), every page listed.
pub async fn list(client: &Client, pool_id: &str) -> Result<Vec<(String, String)>, ClientError> {
    let mut pages = client
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .max_results(60)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error("list", "*", pool_id))?;
        found.extend(
            page.user_pool_clients()
                .iter()
                .filter_map(|c| Some((c.client_name()?.to_owned(), c.client_id()?.to_owned()))),
        );
    }
    Ok(found)
}

fn live_client(client: &UserPoolClientType, name: &str) -> Result<LiveClient, ClientError> {
    Ok(LiveClient {
        id: client
            .client_id()
            .ok_or(ClientError::Incomplete {
                action: "DescribeUserPoolClient",
                name: name.to_owned(),
                missing: "an id",
            })?
            .to_owned(),
        name: client.client_name().unwrap_or(name).to_owned(),
        settings: ClientSettings::live(client),
    })
}

fn explicit_auth_flows(settings: &ClientSettings) -> Vec<ExplicitAuthFlowsType> {
    settings
        .auth_flows
        .iter()
        .map(|flow| ExplicitAuthFlowsType::from(format!("ALLOW_{flow}").as_str()))
        .collect()
}

/// Every validity is sent in minutes.
fn in_minutes() -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Minutes)
        .id_token(TimeUnitsType::Minutes)
        .refresh_token(TimeUnitsType::Minutes)
        .build()
}

/// None (Cognito's default: every readable attribute) when stack.yaml names none.
fn read_attributes(settings: &ClientSettings) -> Option<Vec<String>> {
    (!settings.read_attributes.is_empty()).then(|| settings.read_attributes.clone())
}

pub async fn create(
    client: &Client,
    pool_id: &str,
    app: &AppClient,
) -> Result<LiveClient, ClientError> {
    let settings = ClientSettings::desired(app);
    let name = &app.physical_name;
    // At most once: a retried CreateUserPoolClient whose answer was lost would make a second
    // client of the name.
    let made = crate::once::create_at_most_once(
        || async {
            client
                .create_user_pool_client()
                .user_pool_id(pool_id)
                .client_name(name)
                .generate_secret(settings.generate_secret)
                .set_explicit_auth_flows(Some(explicit_auth_flows(&settings)))
                .set_read_attributes(read_attributes(&settings))
                .enable_token_revocation(settings.token_revocation)
                .prevent_user_existence_errors(PreventUserExistenceErrorTypes::from(
                    settings.prevent_user_existence_errors.as_str(),
                ))
                .auth_session_validity(settings.auth_session_validity)
                .access_token_validity(settings.access_token.0)
                .id_token_validity(settings.id_token.0)
                .refresh_token_validity(settings.refresh_token.0)
                .token_validity_units(in_minutes())
                .set_refresh_token_rotation(settings.refresh_token_rotation.to_aws())
                .customize()
                .config_override(crate::once::sdk_retries_off!(
                    aws_sdk_cognitoidentityprovider
                ))
                .send()
                .await
                .map(|output| Made::New(output.user_pool_client().cloned().map(Box::new)))
        },
        || async { Ok(find(client, pool_id, name).await?.map(Made::Found)) },
    )
    .await;
    let created = match made {
        Ok(Made::Found(found)) => return Ok(found),
        Ok(Made::New(Some(created))) => created,
        Ok(Made::New(None)) => {
            return Err(ClientError::Incomplete {
                action: "CreateUserPoolClient",
                name: name.clone(),
                missing: "the client",
            });
        }
        Err(crate::once::Failed::Create(err)) => {
            return Err(aws_error("create", name, pool_id)(err).into());
        }
        Err(crate::once::Failed::Find(err)) => return Err(err),
    };
    live_client(&created, name)
}

/// What an at-most-once create gave: its answer, or the client found after an answer was lost.
enum Made {
    New(Option<Box<UserPoolClientType>>),
    Found(LiveClient),
}

/// Brings a live client to the desired settings. UpdateUserPoolClient, like UpdateUserPool, resets
/// what it is not given, so every managed setting is sent. `generateSecret` cannot change in place.
pub async fn update(
    client: &Client,
    pool_id: &str,
    live: &LiveClient,
    app: &AppClient,
) -> Result<(), ClientError> {
    let settings = ClientSettings::desired(app);
    client
        .update_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(&live.id)
        .client_name(&app.physical_name)
        .set_explicit_auth_flows(Some(explicit_auth_flows(&settings)))
        .set_read_attributes(read_attributes(&settings))
        .enable_token_revocation(settings.token_revocation)
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::from(
            settings.prevent_user_existence_errors.as_str(),
        ))
        .auth_session_validity(settings.auth_session_validity)
        .access_token_validity(settings.access_token.0)
        .id_token_validity(settings.id_token.0)
        .refresh_token_validity(settings.refresh_token.0)
        .token_validity_units(in_minutes())
        .set_refresh_token_rotation(settings.refresh_token_rotation.to_aws())
        .send()
        .await
        .map_err(aws_error("update", &live.name, pool_id))?;
    Ok(())
}

/// Deletes the app client; one already gone counts as deleted.
pub async fn delete(client: &Client, pool_id: &str, live: &LiveClient) -> Result<(), ClientError> {
    let deleted = client
        .delete_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(&live.id)
        .send()
        .await;
    // Already gone counts as deleted.
    crate::aws::absent_as_none(deleted.map_err(aws_error("delete", &live.name, pool_id)))?;
    Ok(())
}

#[cfg(test)]
mod tests;
pub mod unit;

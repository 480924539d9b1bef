//! A pool's pre sign-up and post-confirmation triggers, run by `serve` around the handlers' calls
//! to an emulator, which runs no trigger. `SignUp` first goes to the pre sign-up function: a
//! refusal is answered as Cognito answers it (`UserLambdaValidationException`, "PreSignUp failed
//! with error ..."), and an `autoConfirmUser` (and `autoVerifyEmail`) is done after the emulator
//! made the user, as Cognito does it. A `ConfirmSignUp` the emulator took then goes to the
//! post-confirmation function. Against AWS nothing runs here: the deployed triggers run there.
//! The trigger functions' own AWS calls are checked against their roles as any handler's.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use super::cognito_event::{self, About};
use super::runtime::{Function, Outcome};
use crate::output;
use crate::spec::Trigger;

/// The current function of a name (serve swaps them when it reloads stack.yaml).
pub type Lookup = Arc<dyn Fn(&str) -> Option<Arc<Function>> + Send + Sync>;

/// The triggers serve runs, by the app client a call names (set when stack.yaml is loaded).
#[derive(Clone)]
pub struct TriggerConfig {
    pub by_client: BTreeMap<String, PoolTriggers>,
    pub region: String,
    /// Cognito on the emulator, as the caller: what the triggers' answers make Cognito do.
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
}

/// [`TriggerConfig`] with the functions that run them now.
#[derive(Clone)]
pub struct LocalTriggers {
    pub config: TriggerConfig,
    pub lookup: Lookup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTriggers {
    pub pool_id: String,
    pub pre_sign_up: Option<String>,
    pub post_confirmation: Option<String>,
}

/// What the operation's JSON body says of the user.
struct Call {
    client_id: String,
    username: String,
    attributes: BTreeMap<String, String>,
    metadata: BTreeMap<String, String>,
}

fn call_of(body: &[u8]) -> Option<Call> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let pairs = |key: &str| -> BTreeMap<String, String> {
        value[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some((
                    a["Name"].as_str()?.to_owned(),
                    a["Value"].as_str()?.to_owned(),
                ))
            })
            .collect()
    };
    let metadata = value["ClientMetadata"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect();
    Some(Call {
        client_id: value["ClientId"].as_str()?.to_owned(),
        username: value["Username"].as_str()?.to_owned(),
        attributes: pairs("UserAttributes"),
        metadata,
    })
}

impl LocalTriggers {
    /// Whether `operation` with `body` runs a trigger here.
    pub fn applies(&self, operation: &str, body: &[u8]) -> bool {
        let Some(call) = call_of(body) else {
            return false;
        };
        let Some(pool) = self.config.by_client.get(&call.client_id) else {
            return false;
        };
        match operation {
            "SignUp" => pool.pre_sign_up.is_some(),
            "ConfirmSignUp" => pool.post_confirmation.is_some(),
            _ => false,
        }
    }

    /// Runs `operation` (`send` forwards it to the emulator) with the pool's triggers around it.
    pub async fn around(
        &self,
        operation: &str,
        body: Bytes,
        send: impl AsyncFnOnce(Bytes) -> Response<Full<Bytes>>,
    ) -> Response<Full<Bytes>> {
        let Some(call) = call_of(&body) else {
            return send(body).await;
        };
        let Some(pool) = self.config.by_client.get(&call.client_id).cloned() else {
            return send(body).await;
        };
        match operation {
            "SignUp" => self.sign_up(&pool, &call, body, send).await,
            "ConfirmSignUp" => self.confirm(&pool, &call, body, send).await,
            _ => send(body).await,
        }
    }

    async fn sign_up(
        &self,
        pool: &PoolTriggers,
        call: &Call,
        body: Bytes,
        send: impl AsyncFnOnce(Bytes) -> Response<Full<Bytes>>,
    ) -> Response<Full<Bytes>> {
        let Some(function) = &pool.pre_sign_up else {
            return send(body).await;
        };
        let answer = match self
            .run(Trigger::PreSignUp, function, pool, call, &call.attributes)
            .await
        {
            Ok(answer) => answer,
            Err(refused) => return refused,
        };
        let auto_confirm = answer["response"]["autoConfirmUser"] == Value::Bool(true);
        let auto_verify = answer["response"]["autoVerifyEmail"] == Value::Bool(true);
        let response = send(body).await;
        if !response.status().is_success() {
            return response;
        }
        // Cognito verifies and confirms as the trigger answered (each on its own), before
        // SignUp answers.
        if auto_verify && call.attributes.contains_key("email") {
            let verified = aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email_verified")
                .value("true")
                .build();
            if let Ok(verified) = verified {
                let _ = self
                    .config
                    .cognito
                    .admin_update_user_attributes()
                    .user_pool_id(&pool.pool_id)
                    .username(&call.username)
                    .user_attributes(verified)
                    .send()
                    .await;
            }
        }
        if !auto_confirm {
            return response;
        }
        let confirmed = self
            .config
            .cognito
            .admin_confirm_sign_up()
            .user_pool_id(&pool.pool_id)
            .username(&call.username)
            .send()
            .await;
        if let Err(err) = confirmed {
            output::status(&format!(
                "{function}: preSignUp answered autoConfirmUser, and the emulator refused AdminConfirmSignUp: {}",
                aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&err)
            ));
            return response;
        }
        output::handler_line(function, "(serve) preSignUp auto-confirmed the user");
        // A confirmed user: post confirmation runs, as after ConfirmSignUp.
        if let Some(refused) = self.post_confirmation(pool, call).await {
            return refused;
        }
        rewrite(response, |body| body["UserConfirmed"] = Value::Bool(true)).await
    }

    async fn confirm(
        &self,
        pool: &PoolTriggers,
        call: &Call,
        body: Bytes,
        send: impl AsyncFnOnce(Bytes) -> Response<Full<Bytes>>,
    ) -> Response<Full<Bytes>> {
        let response = send(body).await;
        if !response.status().is_success() {
            return response;
        }
        match self.post_confirmation(pool, call).await {
            Some(refused) => refused,
            None => response,
        }
    }

    /// Runs the pool's post confirmation function, if it has one, for `call`'s user (its
    /// attributes as the emulator has them now): what Cognito answers if it fails.
    async fn post_confirmation(
        &self,
        pool: &PoolTriggers,
        call: &Call,
    ) -> Option<Response<Full<Bytes>>> {
        let function = pool.post_confirmation.as_ref()?;
        let attributes = match self
            .config
            .cognito
            .admin_get_user()
            .user_pool_id(&pool.pool_id)
            .username(&call.username)
            .send()
            .await
        {
            Ok(user) => user
                .user_attributes()
                .iter()
                .filter_map(|a| Some((a.name().to_owned(), a.value()?.to_owned())))
                .chain([("cognito:user_status".to_owned(), "CONFIRMED".to_owned())])
                .collect(),
            Err(_) => call.attributes.clone(),
        };
        self.run(Trigger::PostConfirmation, function, pool, call, &attributes)
            .await
            .err()
    }

    /// Invokes `function` for `trigger`: its answer (the event with its response), or what
    /// Cognito answers the API call when the function fails.
    async fn run(
        &self,
        trigger: Trigger,
        function: &str,
        pool: &PoolTriggers,
        call: &Call,
        attributes: &BTreeMap<String, String>,
    ) -> Result<Value, Response<Full<Bytes>>> {
        let Some(running) = (self.lookup)(function) else {
            return Err(cognito_error(
                "UnexpectedLambdaException",
                &format!("{trigger} trigger `{function}` is not running here"),
            ));
        };
        let event = cognito_event::event(
            trigger,
            &About {
                region: &self.config.region,
                pool_id: &pool.pool_id,
                client_id: &call.client_id,
                username: &call.username,
                attributes,
                client_metadata: &call.metadata,
            },
        );
        let request_id = uuid::Uuid::new_v4().to_string();
        let invoked = running
            .invoke(&request_id, Bytes::from(event.to_string()))
            .await;
        match invoked.outcome {
            Outcome::Response(body) => serde_json::from_slice(&body).map_err(|_| {
                cognito_error(
                    "InvalidLambdaResponseException",
                    &format!("Unrecognizable lambda output from {trigger} trigger `{function}`"),
                )
            }),
            Outcome::FunctionError { error_type, body } => {
                let message = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
                    .unwrap_or(error_type);
                output::handler_line(function, &format!("(serve) {trigger} refused: {message}"));
                Err(cognito_error(
                    "UserLambdaValidationException",
                    &cognito_event::refusal_message(trigger, &message),
                ))
            }
            Outcome::Timeout | Outcome::Crashed(_) | Outcome::InitFailed(_) | Outcome::Stopped => {
                Err(cognito_error(
                    "UnexpectedLambdaException",
                    &format!("{trigger} invocation failed: the function did not answer"),
                ))
            }
        }
    }
}

/// Cognito's JSON error answer.
fn cognito_error(code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-errortype", code)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// `response` with its JSON body changed by `edit` (a body that is not JSON is kept).
async fn rewrite(
    response: Response<Full<Bytes>>,
    edit: impl FnOnce(&mut Value),
) -> Response<Full<Bytes>> {
    let (mut parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Full::new(bytes));
    };
    edit(&mut value);
    let bytes = Bytes::from(value.to_string());
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Full::new(bytes))
}

/// The triggers of `stack` that serve runs, by client id, and what it cannot reproduce.
pub fn of_stack(
    stack: &crate::spec::Stack,
    values: &crate::engine::Values,
) -> (BTreeMap<String, PoolTriggers>, Vec<String>) {
    let mut by_client = BTreeMap::new();
    let mut not_here = Vec::new();
    for (name, pool) in &stack.user_pools {
        let Some(triggers) = &pool.triggers else {
            continue;
        };
        let Some(known) = values.pools.get(name) else {
            continue;
        };
        let local = PoolTriggers {
            pool_id: known.id.clone(),
            pre_sign_up: triggers.get(&Trigger::PreSignUp).cloned(),
            post_confirmation: triggers.get(&Trigger::PostConfirmation).cloned(),
        };
        for trigger in triggers.keys() {
            if !matches!(trigger, Trigger::PreSignUp | Trigger::PostConfirmation) {
                not_here.push(format!("userPools.{name}.triggers.{trigger}"));
            }
        }
        for client in values.clients.get(name).into_iter().flatten() {
            by_client.insert(client.1.clone(), local.clone());
        }
    }
    (by_client, not_here)
}

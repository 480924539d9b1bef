//! The reconcile engine: load -> observe -> plan (pure) -> apply, with live AWS as the only truth.
//!
//! - [`observe`]: reads every resource the stack declares, concurrently, and sorts what it finds
//!   into this stack's (tagged) and foreign.
//! - [`nodes`]: per resource of `Stack::order`, what it should be (references resolved with the
//!   [`Values`] known so far), the diff against what is live, and the calls that apply it. The
//!   same code plans (`diff`) and applies (`up`), so what is shown is what is done.
//! - [`dag`]: runs nodes concurrently, each after what it needs (`down`: before).
//! - [`run`]: the three commands' flows on top.

pub mod dag;
pub mod nodes;
pub mod observe;
pub mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::aws::{Clients, Target};
use crate::kinds::function::Waits;
use crate::kinds::rest_api::{KNOWN_AFTER_APPLY, Pacer};
use crate::spec::{Reference, Stack, Template};

pub use observe::Live;

/// Everything a run shares: the stack, where it lives, how to reach it, and the built code.
#[derive(Debug)]
pub struct Context {
    pub stack: Stack,
    pub clients: Clients,
    pub target: Target,
    pub pacer: Pacer,
    /// By function (logical name); empty for `down`, which needs no code.
    pub code: BTreeMap<String, Code>,
    pub waits: Waits,
    /// Where the run's events go (`output` renders them; the engine never prints).
    pub progress: std::sync::Arc<dyn crate::progress::Progress>,
}

/// A function's package, as `up` uploads it.
#[derive(Debug, Clone)]
pub struct Code {
    pub sha256: String,
    pub zip: PathBuf,
}

/// Values of references that exist only once their resource does: pool ids and ARNs, client ids,
/// the API id. Seeded from what is live, completed as `up` creates things.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Values {
    pub pools: BTreeMap<String, PoolValues>,
    pub clients: BTreeMap<String, BTreeMap<String, String>>,
    pub api_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolValues {
    pub id: String,
    pub arn: String,
}

/// A reference whose resource does not exist (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`${{{0}}}` has no value: the resource it names does not exist yet")]
pub struct Unresolved(pub Reference);

impl Values {
    pub fn from_live(live: &Live) -> Values {
        let mut values = Values::default();
        for (name, search) in &live.pools {
            if let Some(pool) = &search.owned {
                values.pools.insert(
                    name.clone(),
                    PoolValues {
                        id: pool.id.clone(),
                        arn: pool.arn.clone(),
                    },
                );
            }
        }
        for ((pool, client), found) in &live.clients {
            if let Some(found) = found {
                values
                    .clients
                    .entry(pool.clone())
                    .or_default()
                    .insert(client.clone(), found.id.clone());
            }
        }
        values.api_id = live.api.owned.as_ref().map(|api| api.id.clone());
        values
    }

    /// The value of `reference`, if it has one now.
    pub fn get(&self, stack: &Stack, target: &Target, reference: &Reference) -> Option<String> {
        match reference {
            Reference::UserPoolId { pool } => self.pools.get(pool).map(|p| p.id.clone()),
            Reference::UserPoolArn { pool } => self.pools.get(pool).map(|p| p.arn.clone()),
            Reference::UserPoolClientId { pool, client } => {
                self.clients.get(pool).and_then(|c| c.get(client)).cloned()
            }
            Reference::FunctionArn { function } => stack
                .functions
                .get(function)
                .map(|f| target.lambda_arn(&f.physical_name)),
            Reference::FunctionName { function } => stack
                .functions
                .get(function)
                .map(|f| f.physical_name.clone()),
            Reference::StackName => Some(stack.name.clone()),
            Reference::Region => Some(target.region.clone()),
            Reference::AccountId => Some(target.account.clone()),
        }
    }
}

/// How references without a value are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// For a plan: shown as `(known after apply)`.
    Lenient,
    /// For applying: an error (the dependency order guarantees it does not happen).
    Strict,
}

/// What the planner needs, and nothing that reaches AWS: the stack, where it goes (region,
/// account, partition) and its functions' code hashes. `nodes::plan`, `run::plan_up` and
/// `run::plan_down` are pure functions of a model, what was observed and the values known.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    pub stack: &'a Stack,
    pub target: &'a Target,
    /// By function (logical name); empty for `down`.
    pub code: &'a BTreeMap<String, Code>,
}

impl Context {
    /// The part of the context the planner sees.
    pub fn model(&self) -> Model<'_> {
        Model {
            stack: &self.stack,
            target: &self.target,
            code: &self.code,
        }
    }
}

impl Model<'_> {
    /// The value of `reference` now; in a lenient plan, `(known after apply)` when it has none.
    pub fn value(&self, values: &Values, reference: &Reference, mode: Resolve) -> Option<String> {
        values
            .get(self.stack, self.target, reference)
            .or_else(|| (mode == Resolve::Lenient).then(|| KNOWN_AFTER_APPLY.to_owned()))
    }

    /// `template` with every reference replaced by its value.
    pub fn render(
        &self,
        values: &Values,
        template: &Template,
        mode: Resolve,
    ) -> Result<String, Unresolved> {
        template
            .render(|reference| self.value(values, reference, mode))
            .map_err(|reference| Unresolved(reference.clone()))
    }
}

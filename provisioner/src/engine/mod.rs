//! The reconcile engine: load -> observe -> plan (pure) -> apply, with live AWS as the only truth.
//!
//! Each kind of resource is one unit under `kinds/<kind>/unit.rs`: how it is read, planned,
//! applied, deleted, and what of it is left over; what the units share is in [`crate::base`].
//! [`units`] is the one place that lists the kinds (one line per kind, every match exhaustive):
//! - [`units::observe`]: reads every resource the stack declares, concurrently, sorting what it
//!   finds into this stack's (tagged) and foreign, plus the leftovers stack.yaml no longer declares.
//! - [`units::plan`]: per resource of `Stack::order`, what it should be (references resolved with
//!   the [`Values`] known so far) and the typed change against what is live; pure. `diff` and `up`
//!   share it, so what is shown is what is done; [`units::NodePlan::apply`] makes the calls.
//! - [`crate::dag`]: runs nodes concurrently, each after what it needs (`down`: before).
//! - [`run`]: the three commands' flows on top.

pub mod cost;
#[cfg(test)]
mod down_tests;
pub mod run;
#[cfg(test)]
mod tests;
pub mod units;

pub use crate::base::*;
pub use units::{Live, observe};

impl Values {
    /// The values of what is live now.
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
}

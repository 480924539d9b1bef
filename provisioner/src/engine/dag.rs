//! Runs one task per resource, at most `concurrency` at a time, each once everything it waits for
//! has finished. After a failure nothing new starts; tasks already running finish, so the run
//! ends with an exact account of what was done, what failed and what never started. After an
//! interrupt nothing new starts either, and what is in flight gets [`GRACE`] to finish before it
//! is cut off.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use tokio::task::JoinSet;

use crate::interrupt::{GRACE, Interrupt};
use crate::spec::ResourceId;

/// How a run of tasks ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<ResourceId>,
    pub failed: Vec<(ResourceId, anyhow::Error)>,
    pub not_started: Vec<ResourceId>,
    /// Cut off after an interrupt's grace period.
    pub stopped: Vec<ResourceId>,
    /// The run was interrupted.
    pub interrupted: bool,
}

/// `needs` turned around: for each resource, the resources that need it. Deleting runs in this
/// order (a resource goes once nothing that needs it is left).
pub fn reversed(
    needs: &BTreeMap<ResourceId, BTreeSet<ResourceId>>,
) -> BTreeMap<ResourceId, BTreeSet<ResourceId>> {
    let mut out: BTreeMap<ResourceId, BTreeSet<ResourceId>> = needs
        .keys()
        .map(|id| (id.clone(), BTreeSet::new()))
        .collect();
    for (id, deps) in needs {
        for dep in deps {
            out.entry(dep.clone()).or_default().insert(id.clone());
        }
    }
    out
}

/// Runs `work` for every resource in `order` (every key of `waits_for`), each after all it waits
/// for, `concurrency` at most at a time (at least one), until done, a failure or `interrupt`.
pub async fn run<F, Fut>(
    order: &[ResourceId],
    waits_for: &BTreeMap<ResourceId, BTreeSet<ResourceId>>,
    concurrency: usize,
    interrupt: &Interrupt,
    work: F,
) -> Outcome
where
    F: Fn(ResourceId) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let mut pending: Vec<ResourceId> = order.to_vec();
    let mut finished: BTreeSet<ResourceId> = BTreeSet::new();
    let mut in_flight: BTreeSet<ResourceId> = BTreeSet::new();
    let mut outcome = Outcome::default();
    let mut running: JoinSet<(ResourceId, anyhow::Result<()>)> = JoinSet::new();
    let mut cut_off_at: Option<tokio::time::Instant> = None;
    loop {
        if outcome.failed.is_empty() && !interrupt.is_set() {
            // Start what is ready, in `order`'s order, while there is room.
            let mut index = 0;
            while index < pending.len() && running.len() < concurrency {
                let ready = waits_for.get(&pending[index]).is_none_or(|deps| {
                    deps.iter()
                        .all(|d| finished.contains(d) || !order.contains(d))
                });
                if ready {
                    let id = pending.remove(index);
                    let task = work(id.clone());
                    in_flight.insert(id.clone());
                    running.spawn(async move { (id, task.await) });
                } else {
                    index += 1;
                }
            }
        }
        if interrupt.is_set() && cut_off_at.is_none() {
            cut_off_at = Some(tokio::time::Instant::now() + GRACE);
        }
        let joined = match cut_off_at {
            None => tokio::select! {
                joined = running.join_next() => joined,
                // Stop starting work; what runs gets its grace period.
                () = interrupt.wait() => continue,
            },
            Some(at) => match tokio::time::timeout_at(at, running.join_next()).await {
                Ok(joined) => joined,
                Err(_) => {
                    // The grace period is over: cut off what is still in flight.
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    outcome.stopped = std::mem::take(&mut in_flight).into_iter().collect();
                    break;
                }
            },
        };
        let Some(joined) = joined else {
            break;
        };
        match joined {
            Ok((id, Ok(()))) => {
                in_flight.remove(&id);
                finished.insert(id.clone());
                outcome.done.push(id);
            }
            Ok((id, Err(err))) => {
                in_flight.remove(&id);
                outcome.failed.push((id, err));
            }
            Err(join_error) => {
                // A task panicked or was cancelled: the resource it worked on is unknown here,
                // so stop starting anything new and report it.
                outcome.failed.push((
                    ResourceId::Api,
                    anyhow::anyhow!("a task stopped unexpectedly: {join_error}"),
                ));
            }
        }
    }
    outcome.not_started = pending;
    outcome.interrupted = interrupt.is_set();
    outcome
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    fn f(name: &str) -> ResourceId {
        ResourceId::Function {
            function: name.to_owned(),
        }
    }

    #[tokio::test]
    async fn runs_each_after_what_it_waits_for_and_stops_after_a_failure() {
        // a -> b -> d, a -> c; e independent but failing.
        let needs = BTreeMap::from([
            (f("a"), BTreeSet::new()),
            (f("b"), BTreeSet::from([f("a")])),
            (f("c"), BTreeSet::from([f("a")])),
            (f("d"), BTreeSet::from([f("b")])),
        ]);
        let order = vec![f("a"), f("b"), f("c"), f("d")];
        let log = Arc::new(Mutex::new(Vec::new()));
        let outcome = run(&order, &needs, 8, &Interrupt::default(), |id| {
            let log = log.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                log.lock().unwrap().push(id);
                Ok(())
            }
        })
        .await;
        let log = log.lock().unwrap().clone();
        assert_eq!(log.first(), Some(&f("a")));
        let pos = |id: &ResourceId| log.iter().position(|x| x == id).unwrap();
        assert!(pos(&f("b")) < pos(&f("d")));
        assert_eq!(outcome.done.len(), 4);

        let outcome = run(&order, &needs, 1, &Interrupt::default(), |id| async move {
            if id == f("b") {
                anyhow::bail!("boom")
            }
            Ok(())
        })
        .await;
        assert_eq!(outcome.done, vec![f("a")]);
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.not_started, vec![f("c"), f("d")]);
    }

    /// After an interrupt nothing new starts; what is in flight finishes if it can within the
    /// grace period, and is cut off after it.
    #[tokio::test(start_paused = true)]
    async fn an_interrupt_starts_nothing_new_and_cuts_off_what_outlasts_the_grace() {
        // a and slow run at once; b waits on a.
        let needs = BTreeMap::from([
            (f("a"), BTreeSet::new()),
            (f("slow"), BTreeSet::new()),
            (f("b"), BTreeSet::from([f("a")])),
        ]);
        let order = vec![f("a"), f("slow"), f("b")];
        let interrupt = Interrupt::default();
        let outcome = run(&order, &needs, 8, &interrupt, |id| {
            let interrupt = interrupt.clone();
            async move {
                if id == f("a") {
                    // Interrupted while a is in flight: a still finishes.
                    interrupt.set();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                } else {
                    tokio::time::sleep(GRACE * 3).await;
                }
                Ok(())
            }
        })
        .await;
        assert!(outcome.interrupted);
        assert_eq!(outcome.done, vec![f("a")]);
        assert_eq!(outcome.stopped, vec![f("slow")]);
        assert_eq!(outcome.not_started, vec![f("b")]);
        assert!(outcome.failed.is_empty());
    }

    #[test]
    fn reversed_needs_delete_dependents_first() {
        let needs = BTreeMap::from([
            (f("a"), BTreeSet::new()),
            (f("b"), BTreeSet::from([f("a")])),
        ]);
        let reversed = reversed(&needs);
        assert_eq!(reversed[&f("a")], BTreeSet::from([f("b")]));
        assert!(reversed[&f("b")].is_empty());
    }
}

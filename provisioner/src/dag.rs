//! Runs one task per resource, at most `concurrency` changes at a time, each task once
//! everything it needs before it starts has finished. A coordinator (the API) is a task that
//! changes several resources and waits, part-way, for other tasks through its [`Waits`]: it puts
//! its resources and methods while the functions its routes call are made, and waits for each
//! function only before that route's integration. A coordinator holds no slot itself; each of its
//! changes takes one ([`Waits::slots`]), so `concurrency` bounds every change of the run, and one
//! slot runs one change at a time without a deadlock.
//!
//! After a failure nothing new starts, and a task waiting on another is told it never will be
//! ready ([`Abandoned`]); tasks already running finish, so the run ends with an exact account of
//! what was done, what failed, what stopped part-way and what never started. After an interrupt
//! nothing new starts either, and what is in flight gets [`GRACE`] to finish before it is cut off.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use crate::interrupt::{GRACE, Interrupt};
use crate::spec::ResourceId;

/// How a run of tasks ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<ResourceId>,
    pub failed: Vec<(ResourceId, anyhow::Error)>,
    pub not_started: Vec<ResourceId>,
    /// Stopped part-way: cut off after an interrupt's grace period, or told that what it waited
    /// for will not be ready.
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

/// Why a run stops starting work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopping {
    /// Another resource failed.
    Failed,
    Interrupted,
}

impl std::fmt::Display for Stopping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stopping::Failed => "another resource failed",
            Stopping::Interrupted => "the run was interrupted",
        })
    }
}

/// The run is stopping: what a coordinator waited for will not be ready, or it may not start its
/// next change. It stops part-way (and is reported as stopped, not failed); the next run finishes
/// its work.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped{}: {why}",
    awaited.as_ref().map(|id| format!(" while waiting for {id}")).unwrap_or_default()
)]
pub struct Abandoned {
    /// What it waited for, if it was waiting.
    pub awaited: Option<ResourceId>,
    pub why: Stopping,
}

/// What every task can see of the run.
#[derive(Debug, Default)]
struct Board {
    finished: BTreeSet<ResourceId>,
    stopping: Option<Stopping>,
}

/// A task's view of the run: the run's slots, and waiting, part-way, for another resource.
#[derive(Debug, Clone)]
pub struct Waits {
    scheduled: Arc<BTreeSet<ResourceId>>,
    board: watch::Receiver<Board>,
    slots: Arc<Semaphore>,
}

impl Waits {
    /// The run's slots, `concurrency` of them: a coordinator takes one for each change it makes,
    /// for as long as the change takes (and never while it waits for another task).
    pub fn slots(&self) -> &Semaphore {
        &self.slots
    }

    /// Resolves once `id` has finished (at once for a resource this run does not schedule), or
    /// fails with [`Abandoned`] once the run stops starting work before it did. Only a
    /// coordinator may wait: it holds no slot, so what it waits for can always run.
    pub async fn finished(&self, id: &ResourceId) -> Result<(), Abandoned> {
        if !self.scheduled.contains(id) {
            return Ok(());
        }
        let mut board = self.board.clone();
        let why = match board
            .wait_for(|b| b.finished.contains(id) || b.stopping.is_some())
            .await
        {
            Ok(b) if b.finished.contains(id) => return Ok(()),
            Ok(b) => b.stopping.unwrap_or(Stopping::Failed),
            // The run is over.
            Err(_) => Stopping::Failed,
        };
        Err(Abandoned {
            awaited: Some(id.clone()),
            why,
        })
    }

    /// A slot for a coordinator's next change, held until it is made; refused once the run stops
    /// starting work (checked after the wait for the slot).
    pub async fn slot(&self) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, Abandoned> {
        // Never closed: None cannot happen.
        let slot = self.slots.acquire().await.ok();
        self.go_on()?;
        Ok(slot)
    }

    /// Whether a coordinator may start its next change: not once the run stops starting work
    /// (another task failed, or the run was interrupted).
    pub fn go_on(&self) -> Result<(), Abandoned> {
        match self.board.borrow().stopping {
            Some(why) => Err(Abandoned { awaited: None, why }),
            None => Ok(()),
        }
    }
}

/// Runs `work` for every resource in `order` (every key of `waits_for`), each after all it waits
/// for, with `concurrency` slots (at least one): each task holds one while it runs, but a
/// coordinator's changes take one each instead. Until done, a failure or `interrupt`. Among the
/// resources ready to start, the earlier in `order` starts first.
pub async fn run<F, Fut>(
    order: &[ResourceId],
    waits_for: &BTreeMap<ResourceId, BTreeSet<ResourceId>>,
    coordinators: &BTreeSet<ResourceId>,
    concurrency: usize,
    interrupt: &Interrupt,
    work: F,
) -> Outcome
where
    F: Fn(ResourceId, Waits) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let scheduled: Arc<BTreeSet<ResourceId>> = Arc::new(order.iter().cloned().collect());
    let mut pending: Vec<ResourceId> = order.to_vec();
    let mut finished: BTreeSet<ResourceId> = BTreeSet::new();
    let mut in_flight: BTreeSet<ResourceId> = BTreeSet::new();
    let mut outcome = Outcome::default();
    let mut running: JoinSet<(ResourceId, anyhow::Result<()>)> = JoinSet::new();
    // Which resource each task works on, for a task that panics (its answer never comes).
    let mut task_of: std::collections::HashMap<tokio::task::Id, ResourceId> = Default::default();
    let mut cut_off_at: Option<tokio::time::Instant> = None;
    let (board, board_rx) = watch::channel(Board::default());
    let slots = Arc::new(Semaphore::new(concurrency));
    // A slot taken while waiting for one, for the next task to start.
    let mut spare: Option<OwnedSemaphorePermit> = None;
    // Each running task's slot, given back once its outcome is recorded (so nothing starts
    // between a failure and its record).
    let mut held: BTreeMap<ResourceId, OwnedSemaphorePermit> = BTreeMap::new();
    // A task is ready to start but no slot is free.
    let mut blocked;
    let stop = |why: Stopping| {
        board.send_if_modified(|b| {
            let unset = b.stopping.is_none();
            b.stopping.get_or_insert(why);
            unset
        });
    };
    loop {
        if interrupt.is_set() {
            stop(Stopping::Interrupted);
        }
        if outcome.failed.is_empty() && !interrupt.is_set() {
            // Start what is ready, in `order`'s order, while there are slots.
            blocked = false;
            let mut index = 0;
            while index < pending.len() {
                let ready = waits_for.get(&pending[index]).is_none_or(|deps| {
                    deps.iter()
                        .all(|d| finished.contains(d) || !scheduled.contains(d))
                });
                if !ready {
                    index += 1;
                    continue;
                }
                if !coordinators.contains(&pending[index]) {
                    match spare
                        .take()
                        .map_or_else(|| slots.clone().try_acquire_owned(), Ok)
                    {
                        Ok(slot) => {
                            held.insert(pending[index].clone(), slot);
                        }
                        Err(_) => {
                            // A coordinator further on may still start.
                            blocked = true;
                            index += 1;
                            continue;
                        }
                    }
                }
                let id = pending.remove(index);
                let waits = Waits {
                    scheduled: scheduled.clone(),
                    board: board_rx.clone(),
                    slots: slots.clone(),
                };
                let task = work(id.clone(), waits);
                in_flight.insert(id.clone());
                let spawned = id.clone();
                let handle = running.spawn(async move { (spawned, task.await) });
                task_of.insert(handle.id(), id);
            }
            // Not needed after all (what waited for it failed, say): give it back.
            spare = None;
        } else {
            blocked = false;
        }
        if interrupt.is_set() && cut_off_at.is_none() {
            cut_off_at = Some(tokio::time::Instant::now() + GRACE);
        }
        let joined = match cut_off_at {
            None => tokio::select! {
                joined = running.join_next() => joined,
                // Stop starting work; what runs gets its grace period.
                () = interrupt.wait() => continue,
                // A coordinator's change gave its slot back: start what waited for one.
                Ok(slot) = slots.clone().acquire_owned(), if blocked => {
                    spare = Some(slot);
                    continue;
                }
            },
            Some(at) => match tokio::time::timeout_at(at, running.join_next()).await {
                Ok(joined) => joined,
                Err(_) => {
                    // The grace period is over: cut off what is still in flight.
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    outcome.stopped.extend(std::mem::take(&mut in_flight));
                    break;
                }
            },
        };
        let Some(joined) = joined else {
            break;
        };
        if let Ok((id, _)) = &joined {
            held.remove(id);
        }
        match joined {
            Ok((id, Ok(()))) => {
                in_flight.remove(&id);
                finished.insert(id.clone());
                board.send_modify(|b| {
                    b.finished.insert(id.clone());
                });
                outcome.done.push(id);
            }
            Ok((id, Err(err))) if err.chain().any(|cause| cause.is::<Abandoned>()) => {
                in_flight.remove(&id);
                outcome.stopped.push(id);
            }
            Ok((id, Err(err))) => {
                in_flight.remove(&id);
                outcome.failed.push((id, err));
                stop(Stopping::Failed);
            }
            Err(join_error) => {
                // A task panicked or was cancelled: report it under its own resource (the
                // task's id says which), and stop starting anything new.
                let Some(id) = task_of.remove(&join_error.id()) else {
                    // Every spawned task is in `task_of`; without it there is no resource to name.
                    stop(Stopping::Failed);
                    continue;
                };
                in_flight.remove(&id);
                held.remove(&id);
                let what = if join_error.is_panic() {
                    "panicked"
                } else {
                    "was cancelled"
                };
                outcome
                    .failed
                    .push((id, anyhow::anyhow!("its task {what}: {join_error}")));
                stop(Stopping::Failed);
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
        let none = BTreeSet::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let outcome = run(&order, &needs, &none, 8, &Interrupt::default(), |id, _| {
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

        let outcome = run(
            &order,
            &needs,
            &none,
            1,
            &Interrupt::default(),
            |id, _| async move {
                if id == f("b") {
                    anyhow::bail!("boom")
                }
                Ok(())
            },
        )
        .await;
        assert_eq!(outcome.done, vec![f("a")]);
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.not_started, vec![f("c"), f("d")]);
    }

    /// A task that panics is reported under its own resource, not some other one, and nothing
    /// after it starts.
    #[tokio::test]
    async fn a_panicking_task_is_reported_under_its_resource() {
        let needs = BTreeMap::from([
            (f("a"), BTreeSet::new()),
            (f("b"), BTreeSet::from([f("a")])),
            (f("c"), BTreeSet::from([f("b")])),
        ]);
        let order = vec![f("a"), f("b"), f("c")];
        let none = BTreeSet::new();
        let outcome = run(
            &order,
            &needs,
            &none,
            2,
            &Interrupt::default(),
            |id, _| async move {
                if id == f("b") {
                    panic!("a bug in b's unit");
                }
                Ok(())
            },
        )
        .await;
        assert_eq!(outcome.done, vec![f("a")]);
        let failed: Vec<&ResourceId> = outcome.failed.iter().map(|(id, _)| id).collect();
        assert_eq!(failed, [&f("b")]);
        assert!(
            outcome.failed[0].1.to_string().contains("panicked"),
            "{:#}",
            outcome.failed[0].1
        );
        assert_eq!(outcome.not_started, vec![f("c")]);
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
        let outcome = run(&order, &needs, &BTreeSet::new(), 8, &interrupt, |id, _| {
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

    /// A coordinator holds no slot; its changes take one each: with one slot, the API's changes
    /// and the function's never overlap, and the API's last change comes once the function is
    /// done.
    #[tokio::test]
    async fn a_coordinator_takes_a_slot_per_change_and_none_while_it_waits() {
        let api = ResourceId::Api;
        let needs = BTreeMap::from([(api.clone(), BTreeSet::new()), (f("a"), BTreeSet::new())]);
        let order = vec![api.clone(), f("a")];
        let log = Arc::new(Mutex::new(Vec::new()));
        let changing = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // One change: at most one at a time.
        let change = |log: Arc<Mutex<Vec<String>>>,
                      changing: Arc<std::sync::atomic::AtomicUsize>,
                      what: String| async move {
            let before = changing.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(before, 0, "{what} overlaps another change");
            tokio::time::sleep(Duration::from_millis(10)).await;
            log.lock().unwrap().push(what);
            changing.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        };
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            run(
                &order,
                &needs,
                &BTreeSet::from([api.clone()]),
                1,
                &Interrupt::default(),
                |id, waits| {
                    let (log, changing) = (log.clone(), changing.clone());
                    async move {
                        if id == ResourceId::Api {
                            let slot = waits.slots().acquire().await;
                            change(log.clone(), changing.clone(), "api: first".into()).await;
                            drop(slot);
                            waits.finished(&f("a")).await?;
                            // Waiting for what this run does not schedule returns at once.
                            waits.finished(&f("elsewhere")).await?;
                            let _slot = waits.slots().acquire().await;
                            change(log, changing, "api: last".into()).await;
                        } else {
                            change(log, changing, id.to_string()).await;
                        }
                        Ok(())
                    }
                },
            ),
        )
        .await
        .expect("one slot is enough");
        assert_eq!(
            *log.lock().unwrap(),
            ["functions.a", "api: first", "api: last"]
        );
        assert_eq!(outcome.done, vec![f("a"), api]);
    }

    /// A task waiting for one that fails is told so at once, and is reported stopped part-way,
    /// not failed; what waited for it before starting never starts.
    #[tokio::test]
    async fn a_failure_abandons_the_tasks_waiting_for_it() {
        let api = ResourceId::Api;
        let needs = BTreeMap::from([
            (api.clone(), BTreeSet::new()),
            (f("a"), BTreeSet::new()),
            (f("b"), BTreeSet::from([f("a")])),
        ]);
        let order = vec![api.clone(), f("a"), f("b")];
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            run(
                &order,
                &needs,
                &BTreeSet::from([api.clone()]),
                8,
                &Interrupt::default(),
                |id, waits| async move {
                    match &id {
                        ResourceId::Api => {
                            assert!(waits.go_on().is_ok(), "nothing failed yet");
                            let err = waits.finished(&f("b")).await.unwrap_err();
                            assert_eq!(err.why, Stopping::Failed);
                            assert_eq!(err.awaited, Some(f("b")));
                            // Nor may it start another change.
                            let stop = waits.go_on().unwrap_err();
                            assert_eq!((stop.awaited, stop.why), (None, Stopping::Failed));
                            Err(anyhow::Error::new(err).context("api: applying"))
                        }
                        _ if id == f("a") => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            anyhow::bail!("boom")
                        }
                        _ => Ok(()),
                    }
                },
            ),
        )
        .await
        .expect("the waiting task is released");
        assert_eq!(outcome.failed.len(), 1);
        assert_eq!(outcome.failed[0].0, f("a"));
        assert_eq!(outcome.stopped, vec![api]);
        assert_eq!(outcome.not_started, vec![f("b")]);
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

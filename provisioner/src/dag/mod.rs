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
    let mut run = Run::new(order, waits_for, coordinators, concurrency);
    let mut cut_off_at: Option<tokio::time::Instant> = None;
    loop {
        if interrupt.is_set() {
            run.stop(Stopping::Interrupted);
        }
        // Whether a task is ready to start but no slot is free.
        let blocked = run.outcome.failed.is_empty() && !interrupt.is_set() && run.start(&work);
        if interrupt.is_set() && cut_off_at.is_none() {
            cut_off_at = Some(tokio::time::Instant::now() + GRACE);
        }
        let slots = run.slots.clone();
        let joined = match cut_off_at {
            None => tokio::select! {
                joined = run.running.join_next() => joined,
                // Stop starting work; what runs gets its grace period.
                () = interrupt.wait() => continue,
                // A coordinator's change gave its slot back: start what waited for one.
                Ok(slot) = slots.acquire_owned(), if blocked => {
                    run.spare = Some(slot);
                    continue;
                }
            },
            Some(at) => match tokio::time::timeout_at(at, run.running.join_next()).await {
                Ok(joined) => joined,
                Err(_) => {
                    // The grace period is over: cut off what is still in flight.
                    run.running.abort_all();
                    while run.running.join_next().await.is_some() {}
                    let cut_off = std::mem::take(&mut run.in_flight);
                    run.outcome.stopped.extend(cut_off);
                    break;
                }
            },
        };
        let Some(joined) = joined else {
            break;
        };
        run.record(joined);
    }
    run.outcome.not_started = run.pending;
    run.outcome.interrupted = interrupt.is_set();
    run.outcome
}

/// What a run knows as it goes.
struct Run<'a> {
    waits_for: &'a BTreeMap<ResourceId, BTreeSet<ResourceId>>,
    coordinators: &'a BTreeSet<ResourceId>,
    scheduled: Arc<BTreeSet<ResourceId>>,
    pending: Vec<ResourceId>,
    finished: BTreeSet<ResourceId>,
    in_flight: BTreeSet<ResourceId>,
    outcome: Outcome,
    running: JoinSet<(ResourceId, anyhow::Result<()>)>,
    /// Which resource each task works on, for a task that panics (its answer never comes).
    task_of: std::collections::HashMap<tokio::task::Id, ResourceId>,
    board: watch::Sender<Board>,
    board_rx: watch::Receiver<Board>,
    slots: Arc<Semaphore>,
    /// A slot taken while waiting for one, for the next task to start.
    spare: Option<OwnedSemaphorePermit>,
    /// Each running task's slot, given back once its outcome is recorded (so nothing starts
    /// between a failure and its record).
    held: BTreeMap<ResourceId, OwnedSemaphorePermit>,
}

impl<'a> Run<'a> {
    fn new(
        order: &[ResourceId],
        waits_for: &'a BTreeMap<ResourceId, BTreeSet<ResourceId>>,
        coordinators: &'a BTreeSet<ResourceId>,
        concurrency: usize,
    ) -> Run<'a> {
        let (board, board_rx) = watch::channel(Board::default());
        Run {
            waits_for,
            coordinators,
            scheduled: Arc::new(order.iter().cloned().collect()),
            pending: order.to_vec(),
            finished: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            outcome: Outcome::default(),
            running: JoinSet::new(),
            task_of: Default::default(),
            board,
            board_rx,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            spare: None,
            held: BTreeMap::new(),
        }
    }

    /// Tells every waiting coordinator the run stops starting work (the first reason stays).
    fn stop(&self, why: Stopping) {
        self.board.send_if_modified(|b| {
            let unset = b.stopping.is_none();
            b.stopping.get_or_insert(why);
            unset
        });
    }

    /// Starts what is ready, in `order`'s order, while there are slots; whether a task that is
    /// ready waits for a slot.
    fn start<F, Fut>(&mut self, work: &F) -> bool
    where
        F: Fn(ResourceId, Waits) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let mut blocked = false;
        let mut index = 0;
        while index < self.pending.len() {
            let ready = self.waits_for.get(&self.pending[index]).is_none_or(|deps| {
                deps.iter()
                    .all(|d| self.finished.contains(d) || !self.scheduled.contains(d))
            });
            if !ready {
                index += 1;
                continue;
            }
            if !self.coordinators.contains(&self.pending[index]) {
                let slot = self
                    .spare
                    .take()
                    .map_or_else(|| self.slots.clone().try_acquire_owned(), Ok);
                let Ok(slot) = slot else {
                    // A coordinator further on may still start.
                    blocked = true;
                    index += 1;
                    continue;
                };
                self.held.insert(self.pending[index].clone(), slot);
            }
            let id = self.pending.remove(index);
            let waits = Waits {
                scheduled: self.scheduled.clone(),
                board: self.board_rx.clone(),
                slots: self.slots.clone(),
            };
            let task = work(id.clone(), waits);
            self.in_flight.insert(id.clone());
            let spawned = id.clone();
            let handle = self.running.spawn(async move { (spawned, task.await) });
            self.task_of.insert(handle.id(), id);
        }
        // Not needed after all (what waited for it failed, say): give it back.
        self.spare = None;
        blocked
    }

    /// Records how a task ended.
    fn record(&mut self, joined: Result<(ResourceId, anyhow::Result<()>), tokio::task::JoinError>) {
        if let Ok((id, _)) = &joined {
            self.held.remove(id);
        }
        match joined {
            Ok((id, Ok(()))) => {
                self.in_flight.remove(&id);
                self.finished.insert(id.clone());
                self.board.send_modify(|b| {
                    b.finished.insert(id.clone());
                });
                self.outcome.done.push(id);
            }
            Ok((id, Err(err))) if err.chain().any(|cause| cause.is::<Abandoned>()) => {
                self.in_flight.remove(&id);
                self.outcome.stopped.push(id);
            }
            Ok((id, Err(err))) => {
                self.in_flight.remove(&id);
                self.outcome.failed.push((id, err));
                self.stop(Stopping::Failed);
            }
            Err(join_error) => {
                // A task panicked or was cancelled: report it under its own resource (the
                // task's id says which), and stop starting anything new.
                let Some(id) = self.task_of.remove(&join_error.id()) else {
                    // Every spawned task is in `task_of`; without it there is no resource to name.
                    self.stop(Stopping::Failed);
                    return;
                };
                self.in_flight.remove(&id);
                self.held.remove(&id);
                let what = if join_error.is_panic() {
                    "panicked"
                } else {
                    "was cancelled"
                };
                let err = anyhow::anyhow!("its task {what}: {join_error}");
                self.outcome.failed.push((id, err));
                self.stop(Stopping::Failed);
            }
        }
    }
}

#[cfg(test)]
mod tests;

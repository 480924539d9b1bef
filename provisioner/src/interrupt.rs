//! Ctrl-C (SIGINT) and a CI's cancel (SIGTERM) while `up` or `down` changes AWS. The first
//! signal stops starting work: calls in flight finish (bounded by [`GRACE`]), the lock is given
//! back, and the run says what was done and what was not, exiting [`EXIT_CODE`]. A second signal
//! (a CI's SIGTERM after its SIGINT) gives the lock back first, within [`SECOND_SIGNAL_GRACE`]
//! (GitHub Actions kills 2.5 s after its SIGTERM), then exits. Either way the next run converges
//! (every step is safe to repeat; a lock left by a run killed outright is stale once its
//! heartbeat stops, at once on this host).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// The exit code of an interrupted run (128 + SIGINT, as shells report it).
pub const EXIT_CODE: i32 = 130;
/// How long work already in flight may take to finish once interrupted.
pub const GRACE: Duration = Duration::from_secs(20);

/// How long a second signal waits for the lock to be given back before exiting.
pub const SECOND_SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// What a second signal does before the process exits (give the lock back).
type OnSecond = Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

/// Whether the run was asked to stop; cloning shares it.
#[derive(Clone, Default)]
pub struct Interrupt {
    set: Arc<AtomicBool>,
    notify: Arc<Notify>,
    on_second: Arc<std::sync::Mutex<Option<OnSecond>>>,
}

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

impl Interrupt {
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Asks the run to stop (what a first signal does).
    pub fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Resolves once the run is asked to stop.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }

    /// What a second signal does before the process exits (at most [`SECOND_SIGNAL_GRACE`]):
    /// give back the lock the run holds. Replaces what was set before; `None` clears it.
    pub fn on_second(&self, hook: Option<OnSecond>) {
        *self.on_second.lock().unwrap_or_else(|e| e.into_inner()) = hook;
    }

    /// Listens for SIGINT and SIGTERM from now on: the first sets this and calls `first`; the
    /// second runs what [`Interrupt::on_second`] set, then ends the process with [`EXIT_CODE`].
    pub fn listen(&self, first: impl Fn(&str) + Send + 'static) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                let name = tokio::select! {
                    _ = interrupt.recv() => "SIGINT",
                    _ = terminate.recv() => "SIGTERM",
                };
                seen += 1;
                if seen > 1 {
                    let hook = this
                        .on_second
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take();
                    if let Some(hook) = hook {
                        let _ = tokio::time::timeout(SECOND_SIGNAL_GRACE, hook()).await;
                    }
                    std::process::exit(EXIT_CODE);
                }
                this.set();
                first(name);
            }
        });
    }
}

/// How an interrupted run of `up` or `down` ended.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted: {done} of {total} resources done{}{}; nothing else was changed\n\nhint: run again to finish: every step is safe to repeat",
    if stopped.is_empty() { String::new() } else { format!("; stopped in flight: {}", stopped.join(", ")) },
    if not_started.is_empty() { String::new() } else { format!("; not started: {}", not_started.join(", ")) }
)]
pub struct Interrupted {
    pub done: usize,
    pub total: usize,
    /// Addresses of the resources whose work was cut off after the grace period.
    pub stopped: Vec<String>,
    /// Addresses of the resources never started.
    pub not_started: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_it_is_set_and_later_waiters_return_at_once() {
        let interrupt = Interrupt::default();
        let waiter = tokio::spawn({
            let interrupt = interrupt.clone();
            async move { interrupt.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        interrupt.set();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .unwrap();
        tokio::time::timeout(Duration::from_millis(100), interrupt.wait())
            .await
            .expect("already set");
    }
}

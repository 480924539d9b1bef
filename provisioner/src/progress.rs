//! What a run tells while it works: the engine and the kinds emit events to a [`Progress`] sink
//! they are handed; `output` implements it (the engine never prints). Waits are reported once they
//! pass [`FIRST_REPORT`], then at least every [`REPORT_EVERY`], so a user never watches a silent
//! terminal for minutes (IAM propagation, a function settling, API Gateway's quotas).

use std::time::{Duration, Instant};

use crate::plan::Entry;

/// A wait shorter than this is not worth a line.
pub const FIRST_REPORT: Duration = Duration::from_secs(2);
/// How often a long wait says it is still waiting.
pub const REPORT_EVERY: Duration = Duration::from_secs(5);

/// Where a run's events go. For each resource that changes: `started`, then `applied` or
/// `failed`; `waiting` (and `wait_over`) in between for waits worth knowing about.
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// Work on a resource's change began.
    fn started(&self, entry: &Entry);
    /// A resource's change was applied, in `took`.
    fn applied(&self, entry: &Entry, took: Duration);
    /// A resource's change failed after `took` (the error itself ends the run's report).
    fn failed(&self, entry: &Entry, took: Duration);
    /// A resource's change stopped part-way after `took`: what it waited for will not be ready
    /// (another resource failed, or the run was interrupted). Not a failure of its own.
    fn stopped(&self, entry: &Entry, took: Duration) {
        self.failed(entry, took);
    }
    /// `subject` has waited `waited` so far for `reason`; it gives up after `limit`, if any.
    fn waiting(&self, subject: &str, reason: &str, waited: Duration, limit: Option<Duration>);
    /// A wait that was reported is over (a terminal clears its spinner line).
    fn wait_over(&self, _subject: &str, _waited: Duration) {}
}

/// Reports nothing: for tests and callers that only want the result.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn started(&self, _entry: &Entry) {}
    fn applied(&self, _entry: &Entry, _took: Duration) {}
    fn failed(&self, _entry: &Entry, _took: Duration) {}
    fn waiting(&self, _subject: &str, _reason: &str, _waited: Duration, _limit: Option<Duration>) {}
}

/// One wait of one subject, reporting to `progress` no sooner than [`FIRST_REPORT`] after it
/// began and then every [`REPORT_EVERY`]. Call [`Waiting::tick`] each time round the wait's loop.
#[derive(Debug)]
pub struct Waiting<'a> {
    progress: &'a dyn Progress,
    subject: &'a str,
    limit: Option<Duration>,
    started: Instant,
    reported: Option<Instant>,
}

impl<'a> Waiting<'a> {
    pub fn new(progress: &'a dyn Progress, subject: &'a str, limit: Option<Duration>) -> Self {
        Waiting {
            progress,
            subject,
            limit,
            started: Instant::now(),
            reported: None,
        }
    }

    /// Still waiting, for `reason`: reports it if it is time to.
    pub fn tick(&mut self, reason: &str) {
        let now = Instant::now();
        let due = match self.reported {
            None => now.duration_since(self.started) >= FIRST_REPORT,
            Some(last) => now.duration_since(last) >= REPORT_EVERY,
        };
        if due {
            self.reported = Some(now);
            self.progress.waiting(
                self.subject,
                reason,
                now.duration_since(self.started),
                self.limit,
            );
        }
    }
}

impl Drop for Waiting<'_> {
    /// However the wait ends (done, failed, timed out), a reported wait is declared over.
    fn drop(&mut self) {
        if self.reported.is_some() {
            self.progress
                .wait_over(self.subject, self.started.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl Progress for Recorded {
        fn started(&self, _entry: &Entry) {}
        fn failed(&self, _entry: &Entry, _took: Duration) {}
        fn applied(&self, entry: &Entry, _took: Duration) {
            self.0
                .lock()
                .unwrap()
                .push(format!("applied {}", entry.address));
        }
        fn waiting(
            &self,
            subject: &str,
            reason: &str,
            _waited: Duration,
            _limit: Option<Duration>,
        ) {
            self.0.lock().unwrap().push(format!("{subject}: {reason}"));
        }
    }

    #[test]
    fn a_short_wait_says_nothing_and_a_long_one_speaks_every_few_seconds() {
        let recorded = Recorded::default();
        let mut wait = Waiting::new(&recorded, "functions.secret", None);
        wait.tick("Pending");
        assert!(recorded.0.lock().unwrap().is_empty());
        // As if the wait had begun long ago.
        wait.started -= FIRST_REPORT;
        wait.tick("Pending");
        wait.tick("Pending");
        assert_eq!(*recorded.0.lock().unwrap(), ["functions.secret: Pending"]);
        wait.reported = Some(Instant::now() - REPORT_EVERY);
        wait.tick("updating");
        assert_eq!(recorded.0.lock().unwrap().len(), 2);
    }
}

//! API Gateway's fixed control-plane quotas, kept client-side.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::progress::Progress;

/// Spaces API Gateway calls to its fixed per-account quotas (AWS docs, "Amazon API Gateway
/// quotas"), so a run does not earn 429s to begin with; the SDK's retries (backoff with jitter)
/// absorb what other clients of the account cause.
#[derive(Debug)]
pub struct Pacer {
    /// Told of any wait long enough to notice (DeleteRestApi: one per 30 s).
    progress: std::sync::Arc<dyn Progress>,
    general: DefaultDirectRateLimiter,
    resources: DefaultDirectRateLimiter,
    get_resources: DefaultDirectRateLimiter,
    deployments: DefaultDirectRateLimiter,
    create_api: DefaultDirectRateLimiter,
    delete_api: DefaultDirectRateLimiter,
}

/// Which quota a call counts against.
#[derive(Debug, Clone, Copy)]
pub enum Quotas {
    General,
    Resource,
    GetResources,
    Deployment,
    CreateApi,
    DeleteApi,
}

fn one_per(period: Duration) -> DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::with_period(period).unwrap_or(Quota::per_second(NonZeroU32::MIN)))
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::reporting(std::sync::Arc::new(crate::progress::Silent))
    }
}

impl Pacer {
    /// A pacer that reports its long waits to `progress`.
    pub fn reporting(progress: std::sync::Arc<dyn Progress>) -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Pacer {
            progress,
            general: RateLimiter::direct(Quota::per_second(n(10)).allow_burst(n(40))),
            resources: RateLimiter::direct(Quota::per_second(n(5))),
            get_resources: RateLimiter::direct(
                Quota::with_period(Duration::from_millis(400))
                    .unwrap_or(Quota::per_second(n(2)))
                    .allow_burst(n(5)),
            ),
            deployments: one_per(Duration::from_secs(5)),
            create_api: one_per(Duration::from_secs(3)),
            delete_api: one_per(Duration::from_secs(30)),
        }
    }
}

impl Pacer {
    pub async fn wait(&self, quota: Quotas) {
        let (limiter, what) = match quota {
            Quotas::General => (&self.general, "10 calls per second"),
            Quotas::Resource => (&self.resources, "CreateResource: 5 per second"),
            Quotas::GetResources => (&self.get_resources, "GetResources: 5 per 2 seconds"),
            Quotas::Deployment => (&self.deployments, "CreateDeployment: 1 per 5 seconds"),
            Quotas::CreateApi => (&self.create_api, "CreateRestApi: 1 per 3 seconds"),
            Quotas::DeleteApi => (&self.delete_api, "DeleteRestApi: 1 per 30 seconds"),
        };
        if let Err(not_until) = limiter.check() {
            use governor::clock::{Clock, DefaultClock};
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Said after 2 s and every 5 s after that (a spinner on a terminal), like every wait.
            let mut waiting =
                crate::progress::Waiting::new(self.progress.as_ref(), "API Gateway", Some(wait));
            let reason = format!("its quota ({what})");
            let ready = limiter.until_ready();
            tokio::pin!(ready);
            loop {
                tokio::select! {
                    () = &mut ready => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => waiting.tick(&reason),
                }
            }
        }
    }
}

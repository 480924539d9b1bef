//! AWS's fixed control-plane quotas, kept client-side: API Gateway's here (before a call takes one
//! of the run's slots), Lambda's in the HTTP layer of its client (`aws::lambda_quotas`).
//!
//! Each limiter is a token bucket at AWS's rate with a smaller burst than AWS allows: a call the
//! pacer lets go can reach AWS a little late and so closer to the next one than it left; the
//! tokens the burst leaves over absorb that, and what other clients of the account spend.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::progress::Progress;

/// Spaces API Gateway calls to its fixed per-account quotas (AWS docs, "Amazon API Gateway
/// quotas"), so a run does not earn 429s to begin with; the SDK's retries (backoff with jitter)
/// absorb what other clients of the account cause. Every call counts against the account's 10 per
/// second (burst 40); some count against a quota of their own as well.
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

/// Which quota a call counts against, besides the account's 10 per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quotas {
    /// Only the account's 10 per second.
    General,
    Resource,
    GetResources,
    Deployment,
    CreateApi,
    DeleteApi,
}

/// One call per `period`, and a little more: with no burst to absorb it, a call that reaches AWS
/// later than it left would otherwise bring the next one too close.
fn one_per(period: Duration) -> DefaultDirectRateLimiter {
    let period = period + Duration::from_millis(250);
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
            // AWS: 10 per second, burst 40; 5 per second; 5 per 2 seconds. CreateResource runs at 4
            // a second: with a burst of a second's worth only, its calls reaching AWS bunched up
            // (a busy network or host) would meet the quota otherwise (seen through a proxy).
            general: RateLimiter::direct(Quota::per_second(n(10)).allow_burst(n(30))),
            resources: RateLimiter::direct(Quota::per_second(n(4)).allow_burst(n(2))),
            get_resources: RateLimiter::direct(
                Quota::with_period(Duration::from_millis(400))
                    .unwrap_or(Quota::per_second(n(2)))
                    .allow_burst(n(3)),
            ),
            deployments: one_per(Duration::from_secs(5)),
            create_api: one_per(Duration::from_secs(3)),
            delete_api: one_per(Duration::from_secs(30)),
        }
    }
}

impl Pacer {
    /// Waits until `quota` and then the account's 10 per second allow one more call.
    pub async fn wait(&self, quota: Quotas) {
        if quota != Quotas::General {
            self.wait_for(quota).await;
        }
        self.wait_for(Quotas::General).await;
    }

    async fn wait_for(&self, quota: Quotas) {
        let (limiter, what) = match quota {
            Quotas::General => (&self.general, "10 calls per second"),
            Quotas::Resource => (&self.resources, "CreateResource: 5 per second (4 kept)"),
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

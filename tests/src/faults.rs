//! ECR throttling played in front of moto: the proxy answers a set share of ECR calls
//! with `ThrottlingException`, as ECR does when an account calls faster than its quota,
//! and counts every ECR call it sees (each attempt of the SDK is one call).
//!
//! The throttled calls are spread evenly and deterministically, not drawn at random: of
//! every 100 ECR calls in a row, exactly `percent` are throttled, as steady calling over
//! a token bucket's rate is refused. The longest run of throttled calls is then
//! `ceil(p / (1 - p))` for a share `p` below 1: 1 at 30 %, 2 at 60 %. Other services
//! pass untouched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::proxy::{Forward, ProxyHooks, ProxyRequest, ProxyResponse, Upstream};

/// The `X-Amz-Target` prefix of ECR's operations.
const ECR_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.";

/// [`ProxyHooks`] that throttle a share of ECR calls (see the module). Clones share
/// their counts: keep one to read them while the proxy owns another.
#[derive(Debug, Clone)]
pub struct ThrottlingFaults {
    percent: u64,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    calls: AtomicU64,
    throttled: AtomicU64,
}

impl ThrottlingFaults {
    /// Throttles `percent` of ECR calls (100 and more: every call).
    pub fn percent(percent: u64) -> ThrottlingFaults {
        ThrottlingFaults {
            percent: percent.min(100),
            counts: Arc::default(),
        }
    }

    /// ECR calls received so far, throttled or not.
    pub fn calls(&self) -> u64 {
        self.counts.calls.load(Ordering::SeqCst)
    }

    /// ECR calls answered with `ThrottlingException` so far.
    pub fn throttled(&self) -> u64 {
        self.counts.throttled.load(Ordering::SeqCst)
    }

    /// Whether ECR call number `n` (from 0) is throttled: when it carries the running
    /// count of throttled calls, `floor(calls * percent / 100)`, one step further.
    fn throttles(&self, n: u64) -> bool {
        (n + 1) * self.percent / 100 > n * self.percent / 100
    }
}

impl ProxyHooks for ThrottlingFaults {
    fn request(&self, request: ProxyRequest, _upstream: &Upstream) -> Forward {
        let is_ecr = request
            .header("x-amz-target")
            .is_some_and(|target| target.starts_with(ECR_TARGET));
        if !is_ecr {
            return Forward::Upstream(request);
        }
        let n = self.counts.calls.fetch_add(1, Ordering::SeqCst);
        if !self.throttles(n) {
            return Forward::Upstream(request);
        }
        self.counts.throttled.fetch_add(1, Ordering::SeqCst);
        Forward::Respond(ProxyResponse::json_status(
            400,
            &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest run of throttled calls among the first `count`.
    fn longest_run(faults: &ThrottlingFaults, count: u64) -> u64 {
        let (mut longest, mut run) = (0, 0);
        for n in 0..count {
            run = if faults.throttles(n) { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        longest
    }

    #[test]
    fn exactly_the_share_of_every_hundred_calls_is_throttled_evenly() {
        for (percent, longest) in [(0, 0), (1, 1), (30, 1), (50, 1), (60, 2), (90, 9)] {
            let faults = ThrottlingFaults::percent(percent);
            for hundred in 0..5 {
                let throttled = (hundred * 100..(hundred + 1) * 100)
                    .filter(|n| faults.throttles(*n))
                    .count() as u64;
                assert_eq!(throttled, percent, "{percent}%, calls {hundred}00..");
            }
            assert_eq!(longest_run(&faults, 1000), longest, "{percent}%");
        }
        let every = ThrottlingFaults::percent(250);
        assert!((0..100).all(|n| every.throttles(n)));
    }
}

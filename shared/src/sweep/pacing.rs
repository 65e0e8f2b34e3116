//! Pacing the calls a sweep repeats for every batch: a large sweep calls each ECR API
//! at a bounded rate, leaving the rest of the account's capacity to other clients,
//! instead of running into throttling and waiting out retries.
//!
//! ECR throttles per account and Region, and per API. Every batch of an enforced sweep
//! costs one `DescribeImages` (the re-read) and one `BatchDeleteImage`, or one
//! `UpdateImageStorageClass` per image archived; a 100,000-image repository is a
//! thousand batches. Each of those APIs has its own [`Pacer`] here, a token bucket:
//! calls go at once while the bucket holds tokens, then one per interval.
//!
//! ECR publishes no rate for these three APIs (its quotas page lists push, pull and
//! authentication APIs only), so the rates are the sweeper's own ceiling: ten calls a
//! second per API, several times what one repository's sequential batches reach, so
//! they rarely wait, while the sweeper's share of the account's capacity stays bounded
//! however many repositories one invocation sweeps at once. See
//! `docs/lifecycle-sweeper.md`, "Throttling".
//!
//! The pacers are one per process ([`ECR`]): a Lambda execution environment runs one
//! invocation at a time, so every repository an invocation sweeps shares them, as they
//! share the account's quota.

use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// `DescribeImages` calls per second (the re-read before each batch).
pub const DESCRIBE_IMAGES_PER_SECOND: u32 = 10;
/// `BatchDeleteImage` calls per second (up to 100 images each).
pub const BATCH_DELETE_IMAGE_PER_SECOND: u32 = 10;
/// `UpdateImageStorageClass` calls per second (one image each).
pub const UPDATE_IMAGE_STORAGE_CLASS_PER_SECOND: u32 = 10;

/// A token bucket in its "virtual scheduling" form: each call is given the instant at
/// which the calls before it would all have gone at the sustained rate, less what the
/// burst allows, and waits until then. Calls are served in the order they ask.
#[derive(Debug)]
pub struct Pacer {
    /// Time between two calls at the sustained rate.
    interval: Duration,
    /// How far a burst may run ahead of the sustained schedule: `burst - 1` intervals.
    burst_allowance: Duration,
    /// When the calls reserved so far would all have gone at the sustained rate; `None`
    /// before the first call.
    schedule: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `per_second` calls a second on average, and up to `burst` at once after a pause
    /// (both at least 1).
    pub fn new(per_second: u32, burst: u32) -> Pacer {
        let interval = Duration::from_secs(1) / per_second.max(1);
        Pacer {
            interval,
            burst_allowance: interval * (burst.max(1) - 1),
            schedule: Mutex::new(None),
        }
    }

    /// `per_second` calls a second, with a burst of one second's worth.
    pub fn per_second(per_second: u32) -> Pacer {
        Pacer::new(per_second, per_second)
    }

    /// Waits until the next call may go. The turn is taken when this is first polled:
    /// dropping the future before it completes gives up a turn nobody uses.
    pub async fn ready(&self) {
        let start = self.reserve(Instant::now());
        tokio::time::sleep_until(start).await;
    }

    /// Takes the next turn for a call asking at `now`; returns when it may go.
    fn reserve(&self, now: Instant) -> Instant {
        // Never held across an await: a poisoned lock only means a panic elsewhere
        // between two plain assignments, and the schedule is still valid.
        let mut schedule = self.schedule.lock().unwrap_or_else(PoisonError::into_inner);
        let due = schedule.map_or(now, |due| due.max(now));
        let start = due
            .checked_sub(self.burst_allowance)
            .map_or(now, |start| start.max(now));
        *schedule = Some(due + self.interval);
        start
    }
}

/// One [`Pacer`] per ECR API a sweep calls for every batch.
#[derive(Debug)]
pub struct EcrPacing {
    pub describe_images: Pacer,
    pub batch_delete_image: Pacer,
    pub update_image_storage_class: Pacer,
}

/// The pacing every sweep in this process shares (see the module).
pub static ECR: LazyLock<EcrPacing> = LazyLock::new(|| EcrPacing {
    describe_images: Pacer::per_second(DESCRIBE_IMAGES_PER_SECOND),
    batch_delete_image: Pacer::per_second(BATCH_DELETE_IMAGE_PER_SECOND),
    update_image_storage_class: Pacer::per_second(UPDATE_IMAGE_STORAGE_CLASS_PER_SECOND),
});

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    /// When the calls asking at each of `asks` (from `begin`) may go, from `begin`.
    fn turns(pacer: &Pacer, begin: Instant, asks: &[Duration]) -> Vec<Duration> {
        asks.iter()
            .map(|ask| pacer.reserve(begin + *ask) - begin)
            .collect()
    }

    #[test]
    fn a_burst_goes_at_once_then_one_call_per_interval() {
        let pacer = Pacer::new(10, 3);
        assert_eq!(
            turns(&pacer, Instant::now(), &[ms(0); 6]),
            [0, 0, 0, 100, 200, 300].map(ms)
        );
    }

    #[test]
    fn a_pause_refills_the_bucket_up_to_the_burst_only() {
        let pacer = Pacer::new(10, 3);
        let begin = Instant::now();
        turns(&pacer, begin, &[ms(0); 6]);
        // Ten seconds idle would be a hundred tokens; the bucket holds three.
        assert_eq!(
            turns(&pacer, begin, &[ms(10_000); 5]),
            [10_000, 10_000, 10_000, 10_100, 10_200].map(ms)
        );
    }

    #[test]
    fn a_partial_pause_gives_back_what_it_refilled() {
        let pacer = Pacer::new(10, 3);
        let begin = Instant::now();
        turns(&pacer, begin, &[ms(0); 3]);
        // The bucket is empty; 150 ms later it holds one token and a half.
        assert_eq!(turns(&pacer, begin, &[ms(150); 3]), [150, 200, 300].map(ms));
    }

    #[test]
    fn calls_slower_than_the_rate_never_wait() {
        let pacer = Pacer::new(10, 1);
        let asks = [0, 100, 250, 900].map(ms);
        assert_eq!(turns(&pacer, Instant::now(), &asks), asks);
    }

    #[test]
    fn rates_that_do_not_divide_a_second_keep_their_average() {
        let pacer = Pacer::new(3, 1);
        let went = turns(&pacer, Instant::now(), &[ms(0); 4]);
        assert_eq!(went[1], Duration::from_nanos(333_333_333));
        // Three intervals of a third of a second, each rounded down to the nanosecond.
        assert_eq!(went[3], Duration::from_nanos(999_999_999));
    }

    #[test]
    fn a_zero_rate_or_burst_is_taken_as_one() {
        let pacer = Pacer::new(0, 0);
        assert_eq!(
            turns(&pacer, Instant::now(), &[ms(0); 3]),
            [0, 1000, 2000].map(ms)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_wait_their_turn_in_the_order_they_ask() {
        let pacer = Pacer::per_second(4);
        let begin = Instant::now();
        let went: Vec<Duration> = futures::future::join_all((0..10).map(|_| async {
            pacer.ready().await;
            begin.elapsed()
        }))
        .await;
        assert_eq!(
            went,
            [0, 0, 0, 0, 250, 500, 750, 1000, 1250, 1500].map(ms),
            "four at once, then one every 250 ms"
        );
    }
}

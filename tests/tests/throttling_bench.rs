//! Benchmark: an enforced sweep of a 10,000-image repository, expiring 9,000 images,
//! while ECR throttles 0 %, 30 % and 60 % of calls ([`ThrottlingFaults`] in a loopback
//! proxy in front of moto). The sweeper runs with the production SDK configuration
//! (retry policies, pacing) pointed at the proxy, so the figures are production's
//! behaviour against moto's latency.
//!
//! `#[ignore]`d: `scripts/bench-throttling.sh` runs them, one at a time. Each checks
//! that the sweep was correct before printing its figures: every expired image was
//! sent to moto's `BatchDeleteImage` exactly once, and the registry keeps the rest.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_ecr::config::Credentials;
use chrono::Utc;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::sweep::{Budget, SweepTrigger, Sweeper};
use janitor_e2e::faults::ThrottlingFaults;
use janitor_e2e::proxy::{Forward, LoopbackProxy, ProxyHooks, ProxyRequest, Upstream};
use janitor_e2e::{
    create_event_bus, create_repository, images, push_image, BusCapture, Moto, REGION,
};
use serde_json::json;

const REPOSITORY: &str = "bench";
/// Untagged images pushed.
const IMAGES: u64 = 10_000;
/// Untagged images the policy keeps (the newest).
const KEPT: u64 = 1_000;

/// The throttling, and every digest moto was asked to delete, with how many times.
#[derive(Clone)]
struct Recorded {
    faults: ThrottlingFaults,
    deletions: Arc<Mutex<HashMap<String, u32>>>,
}

impl ProxyHooks for Recorded {
    fn request(&self, request: ProxyRequest, upstream: &Upstream) -> Forward {
        let forward = self.faults.request(request, upstream);
        if let Forward::Upstream(request) = &forward {
            if request.operation() == Some("BatchDeleteImage") {
                let body = request.json();
                let mut deletions = self.deletions.lock().expect("lock");
                for id in body["imageIds"].as_array().into_iter().flatten() {
                    let digest = id["imageDigest"].as_str().unwrap_or("(no digest)");
                    *deletions.entry(digest.to_owned()).or_default() += 1;
                }
            }
        }
        forward
    }
}

/// Expire every untagged image but the newest `KEPT`, in enforce mode.
fn keep_newest_config() -> JanitorConfig {
    JanitorConfig::from_json(
        &json!({"sweeper": {"mode": "enforce", "repositories": [{
            "include": [REPOSITORY],
            "policy": {"rules": [{"rulePriority": 1,
                "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan",
                              "countNumber": KEPT},
                "action": {"type": "expire"}}]}}]}})
        .to_string(),
        ConfigSource::Inline,
    )
    .expect("valid configuration")
}

/// Seeds the repository, sweeps it through a proxy throttling `percent` of ECR calls,
/// checks the sweep, and prints the figures.
async fn sweep_while_throttling(percent: u64) {
    let moto = Moto::start();
    let direct = aws_sdk_ecr::Client::new(&moto.sdk_config().await);
    create_repository(&direct, REPOSITORY).await;
    for n in 0..IMAGES {
        push_image(&direct, REPOSITORY, n, None).await;
    }
    let pushed: BTreeSet<String> = images(&direct, REPOSITORY).await.into_keys().collect();
    assert_eq!(pushed.len() as u64, IMAGES);

    let recorded = Recorded {
        faults: ThrottlingFaults::percent(percent),
        deletions: Arc::default(),
    };
    let proxy = LoopbackProxy::start(moto.port(), recorded.clone());
    let sdk = janitor::aws::sweep_config_loader()
        .endpoint_url(proxy.endpoint())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    let sweeper = Sweeper::from_sdk_config(&sdk, keep_newest_config(), None);

    let started = Instant::now();
    let run = sweeper
        .run(
            SweepTrigger::Repository(REPOSITORY.into()),
            Utc::now(),
            Budget::unlimited(),
        )
        .await
        .unwrap_or_else(|err| panic!("the sweep at {percent}% throttling failed: {err}"));
    let wall = started.elapsed();

    // A correct sweep: the planned 9,000 went, each in exactly one call moto received,
    // and nothing else did.
    let summary = &run.repositories[0];
    assert_eq!(summary.expired as u64, IMAGES - KEPT, "{summary:?}");
    assert_eq!(summary.failure_count, 0, "{summary:?}");
    assert_eq!(summary.changed_since_planned_count, 0, "{summary:?}");
    let left: BTreeSet<String> = images(&direct, REPOSITORY).await.into_keys().collect();
    assert_eq!(left.len() as u64, KEPT);
    let deletions = recorded.deletions.lock().expect("lock").clone();
    let deleted: BTreeSet<String> = deletions.keys().cloned().collect();
    assert_eq!(
        deleted,
        &pushed - &left,
        "deleted exactly what left the registry"
    );
    assert!(
        deletions.values().all(|times| *times == 1),
        "an image was sent to BatchDeleteImage more than once"
    );

    let operations = proxy.operations();
    let count = |operation: &str| operations.iter().filter(|op| *op == operation).count();
    let seconds = wall.as_secs_f64();
    println!(
        "throttling {percent:>2}%: {wall:>6.1} s, {calls} ECR calls ({describe} DescribeImages, \
         {delete} BatchDeleteImage), {throttled} throttled, {expired} deletions, \
         {rate:.0} deletions/s",
        wall = seconds,
        calls = recorded.faults.calls(),
        describe = count("DescribeImages"),
        delete = count("BatchDeleteImage"),
        throttled = recorded.faults.throttled(),
        expired = summary.expired,
        rate = summary.expired as f64 / seconds,
    );
}

/// The same sweep at 30 % throttling, but each invocation may act for only
/// `budget_seconds` (as a Lambda near its deadline): it stops, publishes a
/// continuation, and the next invocation carries on until the sweep is complete.
async fn sweep_across_invocations(budget_seconds: u64) {
    let moto = Moto::start();
    let moto_sdk = moto.sdk_config().await;
    let direct = aws_sdk_ecr::Client::new(&moto_sdk);
    create_repository(&direct, REPOSITORY).await;
    for n in 0..IMAGES {
        push_image(&direct, REPOSITORY, n, None).await;
    }
    let pushed: BTreeSet<String> = images(&direct, REPOSITORY).await.into_keys().collect();
    create_event_bus(&moto_sdk, "janitor").await;
    let bus = BusCapture::detail_type(&moto_sdk, "janitor", "Sweep Repository").await;
    let recorded = Recorded {
        faults: ThrottlingFaults::percent(30),
        deletions: Arc::default(),
    };
    let proxy = LoopbackProxy::start(moto.port(), recorded.clone());
    let sdk = janitor::aws::sweep_config_loader()
        .endpoint_url(proxy.endpoint())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    let sweeper = Sweeper::from_sdk_config(&sdk, keep_newest_config(), Some("janitor".into()));
    let started = Instant::now();
    let mut trigger = SweepTrigger::Repository(REPOSITORY.into());
    let mut invocations = 0;
    loop {
        invocations += 1;
        let budget = Budget::until(
            Instant::now() + std::time::Duration::from_secs(budget_seconds),
            std::time::Duration::ZERO,
        );
        let run = sweeper
            .run(trigger, Utc::now(), budget)
            .await
            .unwrap_or_else(|err| panic!("invocation {invocations} failed: {err}"));
        if run.complete {
            break;
        }
        let continuation = bus.events(1).await;
        assert_eq!(
            continuation.len(),
            1,
            "one continuation per invocation out of time"
        );
        trigger = SweepTrigger::parse(&continuation[0]).expect("the continuation is a trigger");
        assert!(invocations < 100, "the sweep never completes");
    }
    let wall = started.elapsed().as_secs_f64();
    let left: BTreeSet<String> = images(&direct, REPOSITORY).await.into_keys().collect();
    assert_eq!(left.len() as u64, KEPT);
    let deletions = recorded.deletions.lock().expect("lock").clone();
    let deleted: BTreeSet<String> = deletions.keys().cloned().collect();
    assert_eq!(deleted, &pushed - &left);
    assert!(
        deletions.values().all(|times| *times == 1),
        "an image was sent to BatchDeleteImage more than once"
    );
    println!(
        "throttling 30% across invocations of {budget_seconds} s: {invocations} invocations, \
         {wall:.1} s, {throttled} throttled, {expired} deletions, each exactly once",
        throttled = recorded.faults.throttled(),
        expired = deleted.len(),
    );
}

#[tokio::test]
#[ignore = "benchmark: scripts/bench-throttling.sh"]
async fn sweep_10000_images_across_invocations_of_5_seconds() {
    sweep_across_invocations(5).await;
}

#[tokio::test]
#[ignore = "benchmark: scripts/bench-throttling.sh"]
async fn sweep_10000_images_throttling_0_percent() {
    sweep_while_throttling(0).await;
}

#[tokio::test]
#[ignore = "benchmark: scripts/bench-throttling.sh"]
async fn sweep_10000_images_throttling_30_percent() {
    sweep_while_throttling(30).await;
}

#[tokio::test]
#[ignore = "benchmark: scripts/bench-throttling.sh"]
async fn sweep_10000_images_throttling_60_percent() {
    sweep_while_throttling(60).await;
}

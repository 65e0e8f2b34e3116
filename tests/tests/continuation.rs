//! Sweeps that always finish: a sweep that runs out of time stops before its next
//! batch, reports what it did, and publishes a `Sweep Repository` continuation; the
//! continuation plans the first plan's world again (its instant, the images listed by
//! then) and finishes — every deletion done once, and nothing the first plan kept
//! deleted, even after a newer image arrived in between.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use janitor::aws::bus::EventBus;
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::sweep::{Budget, SweepTrigger, Sweeper};
use janitor_e2e::proxy::{on_request, Forward, LoopbackProxy};
use janitor_e2e::{create_repository, images, push_image, BusCapture, Moto};
use serde_json::json;

/// How long the first deletion call is held up: longer than the first run's budget.
const SLOW_DELETE: Duration = Duration::from_secs(8);
/// How long the first enforced run may act: ample for reading the (warmed-up) sources
/// and planning, short of the first deletion call's end.
const FIRST_BUDGET: Duration = Duration::from_secs(4);

#[tokio::test]
async fn a_sweep_out_of_time_continues_and_deletes_each_planned_image_once() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let deleted: Arc<Mutex<Vec<String>>> = Arc::default();
    let slowed = Arc::new(AtomicBool::new(false));
    let (record, slow) = (deleted.clone(), slowed.clone());
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_request(move |request, _| {
            if request.operation() == Some("BatchDeleteImage") {
                let ids = request.json()["imageIds"].clone();
                record.lock().expect("lock").extend(
                    ids.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|id| id["imageDigest"].as_str().map(str::to_owned)),
                );
                if !slow.swap(true, Ordering::SeqCst) {
                    std::thread::sleep(SLOW_DELETE);
                }
            }
            Forward::Upstream(request)
        }),
    );
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    create_repository(&ecr, "bulk").await;
    for n in 0..250 {
        push_image(&ecr, "bulk", n, None).await;
    }
    let bus = BusCapture::start(&sdk, "janitor").await;
    let config = |mode: &str| {
        let document = json!({"sweeper": {"mode": mode, "repositories": [{"include": ["bulk"],
            "policy": {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged",
                "countType": "imageCountMoreThan", "countNumber": 10}, "action": {"type": "expire"}}]}}]}});
        JanitorConfig::from_json(&document.to_string(), ConfigSource::Inline).expect("valid")
    };
    let via_proxy = proxy.sdk_config().await;
    let sweeper = |mode: &str| Sweeper {
        bus: Some(EventBus::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            "janitor",
        )),
        ..Sweeper::from_sdk_config(&via_proxy, config(mode), None)
    };
    let trigger = SweepTrigger::Repository("bulk".into());
    let initial: BTreeSet<String> = images(&ecr, "bulk").await.into_keys().collect();
    // A dry run first: it loads every service moto lazily starts (the sources of "in
    // use"), so that the timed run's reading and planning take a fraction of its budget.
    let dry = sweeper("dry-run")
        .run(trigger.clone(), Utc::now(), Budget::unlimited())
        .await
        .expect("dry run");
    assert_eq!(dry.repositories[0].planned_expire, 240);
    bus.events(1).await;

    // The first run may act for 4 s: its first deletion call alone takes 8 s.
    let first = sweeper("enforce")
        .run(
            trigger.clone(),
            Utc::now(),
            Budget::until(Instant::now() + FIRST_BUDGET, Duration::ZERO),
        )
        .await
        .expect("a run out of time is not an error");
    let summary = &first.repositories[0];
    assert!(!first.complete);
    assert!(summary.continued && !summary.complete);
    assert_eq!((summary.planned_expire, summary.expired), (240, 100));
    let events = bus.events(2).await;
    assert_eq!(events.len(), 2, "Sweep Completed and the continuation");
    let continuation = events
        .iter()
        .find(|event| event["detail-type"] == "Sweep Repository")
        .expect("a continuation event");
    let trigger = SweepTrigger::parse(continuation).expect("the continuation is a trigger");
    assert!(matches!(&trigger, SweepTrigger::Continue(first) if first.repository_name == "bulk"));

    // A newer image arrives before the continuation runs: in a fresh plan it would push
    // the tenth-newest image the first plan kept out of the ten; the continuation keeps it.
    let newer = push_image(&ecr, "bulk", 10_000, None).await;
    let second = sweeper("enforce")
        .run(trigger, Utc::now(), Budget::unlimited())
        .await
        .expect("continuation");
    assert!(second.complete);
    assert_eq!(second.repositories[0].expired, 140);

    let deleted = deleted.lock().expect("lock").clone();
    let once: BTreeSet<String> = deleted.iter().cloned().collect();
    assert_eq!(once.len(), deleted.len(), "an image was deleted twice");
    assert_eq!(deleted.len(), 240);
    assert!(once.is_subset(&initial));
    let mut expected: BTreeSet<String> = initial.difference(&once).cloned().collect();
    assert_eq!(expected.len(), 10);
    expected.insert(newer);
    assert_eq!(
        images(&ecr, "bulk")
            .await
            .into_keys()
            .collect::<BTreeSet<_>>(),
        expected
    );
}

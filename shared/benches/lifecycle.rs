//! Evaluation speed: 1,000,000 synthetic images against a 10-rule policy.
//!
//! Run: `cargo bench -p janitor --bench lifecycle`. The target is under one second
//! on one core. Before timing, the bench prints the memory the input takes and the
//! peak the evaluation adds (Linux: `VmRSS`/`VmHWM` of `/proc/self/status`).

use std::collections::HashMap;
use std::hint::black_box;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use janitor::lifecycle::{evaluate, EvaluationInput, ImageRecord, ImageStatus, LifecyclePolicy};

const IMAGES: usize = 1_000_000;

const POLICY: &str = r#"{"rules": [
  {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["v*.*.*"], "countType": "imageCountMoreThan", "countNumber": 50}, "action": {"type": "expire"}},
  {"rulePriority": 2, "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod-"], "countType": "imageCountMoreThan", "countNumber": 100}, "action": {"type": "expire"}},
  {"rulePriority": 3, "selection": {"tagStatus": "tagged", "tagPrefixList": ["rc-"], "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30}, "action": {"type": "transition", "targetStorageClass": "archive"}},
  {"rulePriority": 4, "selection": {"tagStatus": "tagged", "tagPatternList": ["feature-*-*"], "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}, "action": {"type": "expire"}},
  {"rulePriority": 5, "selection": {"tagStatus": "tagged", "tagPrefixList": ["sha-"], "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 90}, "action": {"type": "transition", "targetStorageClass": "archive"}},
  {"rulePriority": 6, "selection": {"tagStatus": "tagged", "tagPatternList": ["*-snapshot*"], "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7}, "action": {"type": "expire"}},
  {"rulePriority": 7, "selection": {"tagStatus": "tagged", "tagPrefixList": ["nightly", "amd64"], "countType": "imageCountMoreThan", "countNumber": 30}, "action": {"type": "expire"}},
  {"rulePriority": 8, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 3}, "action": {"type": "expire"}},
  {"rulePriority": 9, "selection": {"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 180}, "action": {"type": "expire"}},
  {"rulePriority": 10, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10000}, "action": {"type": "expire"}}
]}"#;

/// splitmix64: a deterministic stream of well-mixed numbers.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn digest(position: usize) -> String {
    let seed = position as u64 * 4;
    format!(
        "sha256:{:016x}{:016x}{:016x}{:016x}",
        mix(seed),
        mix(seed + 1),
        mix(seed + 2),
        mix(seed + 3)
    )
}

fn synthetic_image(position: usize, now: DateTime<Utc>) -> ImageRecord {
    let random = mix(position as u64 ^ 0xA5A5_A5A5);
    let seconds_ago = |salt: u64, max_days: u64| {
        TimeDelta::seconds((mix(random ^ salt) % (max_days * 86_400)) as i64)
    };
    let n = random % 1000;
    let tags = match random % 10 {
        0..=3 => vec![],
        4 => vec![format!("v{}.{}.{}", n % 7, n % 13, n)],
        5 => vec![format!("prod-{n}"), format!("sha-{:08x}", random >> 32)],
        6 => vec![format!("rc-{n}")],
        7 => vec![format!("feature-login-{n}"), format!("build-{n}-snapshot")],
        8 => vec![format!("nightly-{n}"), format!("amd64-{n}")],
        _ => vec![format!("sha-{:08x}", random >> 32)],
    };
    let pushed_at = now - seconds_ago(1, 730);
    let archived = random % 20 == 0;
    ImageRecord {
        digest: digest(position),
        tags,
        pushed_at,
        last_pulled_at: (random % 3 == 0).then(|| now - seconds_ago(2, 60)),
        status: if archived {
            ImageStatus::Archived
        } else {
            ImageStatus::Active
        },
        archived_at: archived.then(|| now - seconds_ago(3, 400)),
        activated_at: None,
        manifest_media_type: Some("application/vnd.oci.image.manifest.v1+json".to_owned()),
        artifact_media_type: None,
        // One image in a hundred is a signature of the image before it.
        subject_digest: (position % 100 == 99).then(|| digest(position - 1)),
        size_bytes: Some(50_000_000),
    }
}

fn lifecycle(c: &mut Criterion) {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .expect("valid instant");
    let policy = LifecyclePolicy::parse(POLICY).expect("valid benchmark policy");
    let images: Vec<ImageRecord> = (0..IMAGES)
        .map(|position| synthetic_image(position, now))
        .collect();
    // 10,000 indexes with two children each, and 1,000 protected images.
    let index_children: HashMap<String, Vec<String>> = (0..10_000)
        .map(|index| {
            let base = index * 97;
            (digest(base), vec![digest(base + 1), digest(base + 2)])
        })
        .collect();
    let protected: HashMap<String, String> = (0..1_000)
        .map(|position| (digest(position * 991), "in use by ECS task".to_owned()))
        .collect();
    let input = EvaluationInput {
        images: &images,
        index_children: &index_children,
        protected: &protected,
        now,
    };
    report_memory(&policy, &input);
    let mut group = c.benchmark_group("lifecycle");
    group.sample_size(10);
    group.bench_function("evaluate 1M images x 10 rules", |b| {
        b.iter(|| evaluate(black_box(&policy), black_box(&input)))
    });
    group.finish();
}

/// Prints the resident memory of the input, and the peak one evaluation adds to it.
fn report_memory(policy: &LifecyclePolicy, input: &EvaluationInput) {
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current resident size,
    // so that building the input does not count as the evaluation's peak.
    let reset = std::fs::write("/proc/self/clear_refs", "5");
    let (Ok(()), Some(input_kb)) = (reset, status_kb("VmRSS")) else {
        println!("memory: /proc/self is not available here");
        return;
    };
    let plan = evaluate(policy, input);
    let peak_kb = status_kb("VmHWM").unwrap_or(0);
    drop(black_box(plan));
    println!(
        "memory: input {} MB resident; one evaluation peaks at {} MB ({} MB more)",
        input_kb / 1024,
        peak_kb / 1024,
        peak_kb.saturating_sub(input_kb) / 1024
    );
}

/// A `kB` field of `/proc/self/status`.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);

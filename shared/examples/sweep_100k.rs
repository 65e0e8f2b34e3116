//! Benchmark of a dry-run sweep of one repository holding ECR's maximum of 100,000
//! images, through the sweep's own code path minus the network: `DescribeImages`-shaped
//! SDK pages of 1000 `ImageDetail`s converted (and de-duplicated) as they arrive,
//! protections, the engine, the planned actions, their counts and the deletion batches.
//!
//! Measure peak memory with:
//! `cargo build --release -p janitor --example sweep_100k && /usr/bin/time -v target/release/examples/sweep_100k`

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_ecr::types::ImageDetail;
use chrono::{TimeDelta, Utc};
use janitor::lifecycle::{evaluate, EvaluationInput, LifecyclePolicy};
use janitor::pattern::WildcardPattern;
use janitor::protected_tags::ProtectedTags;
use janitor::sweep::executor::deletion_batches;
use janitor::sweep::in_use::{protect_in_use, ImageUse};
use janitor::sweep::protection::{protections, ProtectionInput};
use janitor::sweep::registry::{image_records, UniqueImages, PAGE_SIZE};
use janitor::sweep::report::{planned_actions, PolicyKind, RepositorySummary};
use janitor::sweep::SweepMode;

const IMAGES: usize = 100_000;
/// Every 50th image is a two-platform index over the two untagged images before it.
const INDEX_EVERY: usize = 50;
const URI: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench";
const POLICY: &str = r#"{"rules": [
  {"rulePriority": 10, "description": "keep 500 releases",
   "selection": {"tagStatus": "tagged", "tagPatternList": ["release-*"], "countType": "imageCountMoreThan", "countNumber": 500},
   "action": {"type": "expire"}},
  {"rulePriority": 20, "description": "old feature builds",
   "selection": {"tagStatus": "tagged", "tagPrefixList": ["feature"], "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
   "action": {"type": "expire"}},
  {"rulePriority": 30, "description": "untagged after a week",
   "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
   "action": {"type": "expire"}}
]}"#;

fn digest(n: usize) -> String {
    format!("sha256:{n:064x}")
}

/// One `DescribeImages` page, as the SDK hands it over.
fn page(start: usize, now_secs: i64) -> Vec<ImageDetail> {
    (start..(start + PAGE_SIZE as usize).min(IMAGES))
        .map(|n| {
            let pushed = now_secs - (IMAGES - n) as i64 * 60;
            let builder = ImageDetail::builder()
                .registry_id("123456789012")
                .repository_name("bench")
                .image_digest(digest(n))
                .image_size_in_bytes(30_000_000 + n as i64)
                .image_pushed_at(aws_smithy_types::DateTime::from_secs(pushed));
            let builder = match n % INDEX_EVERY {
                0 => builder
                    .image_tags(format!("release-{n}"))
                    .image_tags(format!("sha-{n:x}"))
                    .image_manifest_media_type("application/vnd.oci.image.index.v1+json"),
                1..=10 => builder
                    .image_tags(format!("feature-{n}"))
                    .image_manifest_media_type("application/vnd.oci.image.manifest.v1+json"),
                _ => {
                    builder.image_manifest_media_type("application/vnd.oci.image.manifest.v1+json")
                }
            };
            builder.build()
        })
        .collect()
}

fn main() {
    let started = Instant::now();
    let now = Utc::now();
    let policy = match LifecyclePolicy::parse(POLICY) {
        Ok(policy) => policy,
        Err(errors) => {
            eprintln!("benchmark policy rejected: {errors}");
            std::process::exit(2);
        }
    };
    let mut unique = UniqueImages::default();
    for start in (0..IMAGES).step_by(PAGE_SIZE as usize) {
        if let Err(err) = unique.extend(image_records(page(start, now.timestamp()))) {
            eprintln!("benchmark pages rejected: {err}");
            std::process::exit(2);
        }
    }
    let images = unique.into_vec();
    let read = started.elapsed();
    // Indexes reference the two untagged images pushed just before them.
    let index_children: HashMap<String, Vec<String>> = (INDEX_EVERY..IMAGES)
        .step_by(INDEX_EVERY)
        .map(|n| (digest(n), vec![digest(n - 2), digest(n - 1)]))
        .collect();
    let uses: Vec<ImageUse> = (0..200)
        .map(|task| {
            ImageUse::new(
                &format!("{URI}:release-{}", IMAGES - INDEX_EVERY * (task + 1)),
                None,
                &format!("ECS task {task}"),
            )
        })
        .collect();
    let in_use = protect_in_use(&uses, URI, &images);
    let protected_tags = ProtectedTags::new(&[WildcardPattern::new("release-9999*")]);
    let protections = protections(
        &images,
        &ProtectionInput {
            in_use: &in_use,
            protected_tags: &protected_tags,
            minimum_age_days: 3,
            unreadable_indexes: &Default::default(),
            now: now + TimeDelta::days(1),
        },
    );
    let plan = evaluate(
        &policy,
        &EvaluationInput {
            images: &images,
            index_children: &index_children,
            protected: &protections.reasons,
            now: now + TimeDelta::days(1),
        },
    );
    let actions = planned_actions(&plan, &images, &index_children);
    // As the sweep does: the report keeps its own copy of the plan, the images go.
    let plan = plan.into_owned();
    drop(images);
    let mut summary = RepositorySummary::new("bench", PolicyKind::Configured, SweepMode::DryRun);
    summary.images = plan.decisions.len();
    summary.count_plan(&actions);
    summary.protected = protections.counts();
    let batches = deletion_batches(&actions);
    let elapsed = started.elapsed();
    println!(
        "{} images: {} planned expirations in {} BatchDeleteImage calls, protected {:?}; read+convert {:.0} ms, total {:.0} ms",
        summary.images,
        summary.planned_expire,
        batches.len(),
        summary.protected,
        read.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64() * 1000.0
    );
}

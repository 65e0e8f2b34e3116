//! Simulation, without the network, of one organization-wide run at 1,000 accounts ×
//! 4 Regions × 50 repositories, through the janitor's own code wherever a stage does
//! something other than an AWS call: the targets ([`resolve`] at the start,
//! [`TargetDirectory::reach`] in every later stage), the parts ([`TargetPart::new`]),
//! their assembly ([`assemble`]) into a header and one shard per registry, the bus's
//! batching ([`plan_batches`]), and a repository sweep's read of the header and of its
//! registry's shard ([`SnapshotReader`]) in a child process
//! (`organization_scale read HEADER SHARD URI N`), whose peak memory is the reader's own.
//!
//! Every count printed is [`RunShape::cost`]'s; the simulated `PutEvents` batching must
//! agree with it (else it panics).
//!
//! `cargo run --release -p janitor --example organization_scale`

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chrono::{Duration, Utc};
use janitor::aws::bus::{plan_batches, BusEvent};
use janitor::sweep::in_use::snapshot::{
    assemble, read_header, shard_key, SnapshotReader, TargetPart,
};
use janitor::sweep::in_use::{ImageUse, InUse};
use janitor::sweep::reference::EcrRepository;
use janitor::sweep::report::{PolicyKind, RepositorySummary};
use janitor::sweep::run_cost::{RunCost, RunShape};
use janitor::sweep::trigger::{GATHER_IN_USE, SWEEP_REPOSITORY, SWEEP_TARGET};
use janitor::sweep::SweepMode;
use janitor::targets::clients::{session_name, ClientFactory};
use janitor::targets::config::DEFAULT_SNAPSHOT_MAX_AGE_MINUTES;
use janitor::targets::discovery::{resolve, OrganizationAccount};
use janitor::targets::{Target, TargetDirectory, TargetsConfig};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Accounts `ListAccounts` lists: the last ones SUSPENDED, the one before them
/// excluded by the configuration; the hub is the first, the central registry the
/// second (in the first Region).
const ACCOUNTS: usize = 1_000;
const SUSPENDED: usize = 3;
const EXCLUDED: usize = 1;
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const CENTRAL_ACCOUNT: usize = 1;
const CENTRAL_REGION: &str = REGIONS[0];
/// Repositories of every registry, all selected.
const REPOSITORIES: usize = 50;
/// Workloads of one target: ECS services (the service records its image, each of its
/// 2 tasks the image and its digest), then Lambda functions (`ImageUri` and
/// `ResolvedImageUri`); 30% run an image of the central registry, the rest one of
/// their own registry, each one of 5 tags in use per repository.
const WORKLOADS: usize = 40;
const ECS_SERVICES: usize = 24;
const USES_PER_TARGET: usize = ECS_SERVICES * 3 + (WORKLOADS - ECS_SERVICES) * 2;
const CENTRAL_PERCENT: u64 = 30;
/// Chunks fed to the reader, as the S3 body stream hands them over; reads per repository.
const CHUNK_BYTES: usize = 64 * 1024;
const READS: u32 = 3;

fn account_id(index: usize) -> String {
    format!("{:012}", 100_000_000_000u64 + index as u64)
}

fn repository_uri(account: &str, region: &str, index: u64) -> String {
    let name = format!("team-{}/service-{index}", index % 10);
    format!("{account}.dkr.ecr.{region}.amazonaws.com/{name}")
}

/// A deterministic draw below `bound` for `key`.
fn draw(key: &str, bound: u64) -> u64 {
    let hash = Sha256::digest(key.as_bytes());
    u64::from_le_bytes(hash[..8].try_into().expect("8 bytes")) % bound
}

/// What the sources of one target say, shaped as `gather_workloads` shapes it.
fn target_in_use(target: &Target) -> InUse {
    let mut in_use = InUse::default();
    in_use
        .off
        .push(janitor::sweep::in_use::batch::SOURCE.to_owned());
    let uses = &mut in_use.uses;
    let central = account_id(CENTRAL_ACCOUNT);
    for workload in 0..WORKLOADS {
        let key = |what: &str| format!("{target} {workload} {what}");
        let (account, region) = match draw(&key("central"), 100) < CENTRAL_PERCENT {
            true => (central.as_str(), CENTRAL_REGION),
            false => (target.account.as_str(), target.region.as_str()),
        };
        let repository = draw(&key("repository"), REPOSITORIES as u64);
        let repository = repository_uri(account, region, repository);
        let image = format!("{repository}:v1.{}", draw(&key("tag"), 5));
        let digest = format!("sha256:{:x}", Sha256::digest(image.as_bytes()));
        let version = 1 + draw(&key("version"), 40);
        if workload < ECS_SERVICES {
            let definition = format!("(task definition svc-{workload}:{version})");
            let service = format!("ECS service prod/svc-{workload} {definition}");
            uses.push(ImageUse::new(&image, None, &service));
            for task in 0..2 {
                let id = format!("{:x}", Sha256::digest(key(&task.to_string())))[..32].to_owned();
                let (region, account) = (&target.region, &target.account);
                let user =
                    format!("ECS task arn:aws:ecs:{region}:{account}:task/prod/{id} {definition}");
                uses.push(ImageUse::new(&image, Some(&digest), &user));
            }
        } else {
            let user = format!("Lambda function fn-{workload}:{version} (alias live)");
            uses.push(ImageUse::new(&image, None, &user));
            let resolved = format!("{repository}@{digest}");
            uses.push(ImageUse::new(&resolved, None, &user));
        }
    }
    in_use
}

/// This process's peak resident set (`VmHWM`, Linux), in KiB; 0 where unknown.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"));
    line.and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `PutEvents` calls the bus makes for `events`, by its own batching.
fn put_events_calls(events: &[BusEvent]) -> usize {
    let (batches, oversized) = plan_batches(events);
    assert!(oversized.is_empty(), "an event larger than a call");
    batches.len()
}

fn event(detail_type: &str, detail: serde_json::Value, resources: Vec<String>) -> BusEvent {
    let detail_type = detail_type.to_owned();
    BusEvent {
        detail_type,
        detail,
        resources,
    }
}

/// `organization_scale read HEADER SHARD URI N`: what a repository sweep reads, `N`
/// times; prints `key=value` pairs.
fn child_read(header_path: &str, shard_path: &str, uri: &str, reads: u32) {
    let baseline = peak_rss_kib();
    let repository = EcrRepository::from_uri(uri).expect("repository URI");
    let mut buffer = vec![0u8; CHUNK_BYTES];
    let started = Instant::now();
    let mut last = None;
    for _ in 0..reads {
        drop(last.take());
        let header_bytes = std::fs::read(header_path).expect("header file");
        let header = read_header(&header_bytes).expect("readable header");
        let mut reader = SnapshotReader::new(repository.clone());
        let mut shard = std::fs::File::open(shard_path).expect("shard file");
        let mut bytes = header_bytes.len();
        while let read @ 1.. = shard.read(&mut buffer).expect("shard read") {
            reader.feed(&buffer[..read]).expect("readable shard");
            bytes += read;
        }
        last = Some((reader.finish(header).expect("complete shard"), bytes));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(reads);
    let peak = peak_rss_kib();
    let (snapshot, bytes) = last.expect("one read");
    let max_age = Duration::minutes(i64::from(DEFAULT_SNAPSHOT_MAX_AGE_MINUTES));
    assert_eq!(snapshot.unusable(Utc::now(), max_age), None, "usable");
    let kept = snapshot.in_use.uses.len();
    println!("bytes={bytes} kept={kept} ms={ms:.3} baseline_kib={baseline} peak_kib={peak}");
}

/// Runs the reader in a child process of this example.
fn read_in_child(header: &Path, shard: &Path, uri: &str) -> HashMap<String, f64> {
    let output = Command::new(std::env::current_exe().expect("own executable"))
        .arg("read")
        .args([header, shard])
        .args([uri, &READS.to_string()])
        .output()
        .expect("child reader");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child reader failed: {stderr}");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.parse().unwrap_or(f64::NAN)))
        .collect()
}

/// Uses of `parts` whose image is of the repository at `uri`, by their text (not by
/// the janitor's parser: a check of the reader).
fn naming(parts: &[TargetPart], uri: &str) -> usize {
    let uses = parts.iter().flat_map(|part| &part.uses);
    let names = |image: &str| {
        image
            .strip_prefix(uri)
            .map(|rest| rest.starts_with([':', '@']))
    };
    uses.filter(|used| names(&used.image) == Some(true)).count()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, command, header, shard, uri, reads] = args.as_slice() {
        if command == "read" {
            return child_read(header, shard, uri, reads.parse().unwrap_or(1));
        }
    }
    let total = Instant::now();
    let now = Utc::now();
    let central = account_id(CENTRAL_ACCOUNT);
    println!(
        "== organization_scale: {ACCOUNTS} accounts ({SUSPENDED} SUSPENDED, {EXCLUDED} excluded) × {} Regions × \
         {REPOSITORIES} repositories, simulated without the network ==\n   per target {WORKLOADS} workloads, \
         {USES_PER_TARGET} uses, {CENTRAL_PERCENT}% of them naming the central registry {central}/{CENTRAL_REGION}\n",
        REGIONS.len()
    );

    // Start: the targets, from the configuration and the organization's listing; every
    // later stage reaches its target from the configuration alone.
    let hub = Target::new(&account_id(0), REGIONS[0]);
    let excluded = account_id(ACCOUNTS - SUSPENDED - EXCLUDED);
    let config = json!({"organization": {"regions": REGIONS, "excludeAccounts": [excluded]}});
    let config: TargetsConfig = serde_json::from_value(config).expect("targets section");
    let mut errors = Vec::new();
    config.validate("targets", &mut errors);
    assert!(errors.is_empty(), "targets section rejected: {errors:?}");
    let organization: Vec<OrganizationAccount> = (0..ACCOUNTS)
        .map(|index| {
            let state = ["ACTIVE", "SUSPENDED"][usize::from(index >= ACCOUNTS - SUSPENDED)];
            let (id, state) = (account_id(index), state.to_owned());
            OrganizationAccount { id, state }
        })
        .collect();
    let accesses = resolve(&config, &hub, &organization);
    let t = accesses.len();
    assert_eq!(t, (ACCOUNTS - SUSPENDED - EXCLUDED) * REGIONS.len());
    let member_targets = accesses.iter().filter(|a| a.role_name.is_some()).count();
    let sdk = aws_config::SdkConfig::builder().build();
    let factory = ClientFactory::new(sdk, session_name("sweeper"), None);
    let directory = TargetDirectory::new(hub.clone(), factory, Some(config));
    for access in &accesses {
        assert_eq!(directory.reach(&access.target).as_ref(), Some(access));
    }
    assert_eq!(directory.reach(&Target::new(&excluded, REGIONS[0])), None);
    let targets: Vec<Target> = accesses.into_iter().map(|access| access.target).collect();
    let run = janitor::sweep::organization::run_id(now);
    let events = |detail_type: &str, count_targets: bool| -> Vec<BusEvent> {
        let to_event = |target: &Target| {
            let mut detail =
                json!({"runId": run, "account": target.account, "region": target.region});
            if count_targets {
                detail["targets"] = json!(t);
            }
            event(detail_type, detail, Vec::new())
        };
        targets.iter().map(to_event).collect()
    };
    let start_calls = put_events_calls(&events(GATHER_IN_USE, true));
    println!("[start]    {t} targets ({member_targets} through a member role); TargetDirectory::reach agrees on each");

    // Gather: one part per target, written and read back as JSON; then the assembly.
    let started = Instant::now();
    let mut part_bytes = 0;
    let parts: Vec<TargetPart> = targets
        .iter()
        .enumerate()
        .map(|(index, target)| {
            let read_at = now - Duration::seconds((index % 300) as i64);
            let part = TargetPart::new(target, read_at, target_in_use(target));
            let body = serde_json::to_vec(&part).expect("part");
            part_bytes += body.len();
            serde_json::from_slice(&body).expect("part read back")
        })
        .collect();
    let gather_ms = started.elapsed().as_secs_f64() * 1000.0;
    let uses: usize = parts.iter().map(|part| part.uses.len()).sum();
    assert_eq!(uses, t * USES_PER_TARGET);
    let rss_parts = peak_rss_kib() as f64 / 1024.0;
    let started = Instant::now();
    let assembled = assemble(&run, &parts).expect("parts");
    let assemble_ms = started.elapsed().as_secs_f64() * 1000.0;
    let rss_assembled = peak_rss_kib() as f64 / 1024.0;
    let header = serde_json::to_vec(&assembled.header).expect("header");
    let shards = assembled.shards.iter();
    let shard_sizes: HashMap<&String, usize> = shards.map(|(k, body)| (k, body.len())).collect();
    let mut by_size: Vec<(usize, &String)> = shard_sizes.iter().map(|(k, s)| (*s, *k)).collect();
    by_size.sort();
    let (central_size, central_key) = by_size[by_size.len() - 1];
    let (median_size, median_key) = by_size[by_size.len() / 2];
    assert_eq!(*central_key, shard_key(&central, CENTRAL_REGION));
    // Uses in a shard: its lines but the first (the shard's own header).
    let uses_in = |key: &String| {
        let body = &assembled.shards[key];
        body.iter().filter(|&&byte| byte == b'\n').count() - 1
    };
    println!(
        "[gather]   {t} parts, {uses} uses, {:.1} MiB of part bodies, built and read back in {gather_ms:.0} ms\n\
         [assemble] {assemble_ms:.0} ms; header {} bytes ({} shards, usesElsewhere {}); shards {:.1} MiB in all: \
         largest {central_key} (central) {:.2} MiB, {} uses; median {median_key} {:.1} KiB, {} uses\n\
         [assemble] this process's peak RSS (VmHWM): {rss_parts:.0} MiB with every part decoded, {rss_assembled:.0} MiB \
         after assembling (≈ the assembling gather's peak: it holds every part and every shard at once)",
        mib(part_bytes),
        header.len(),
        assembled.header.shards,
        assembled.header.uses_elsewhere,
        mib(shard_sizes.values().sum()),
        mib(central_size),
        uses_in(central_key),
        median_size as f64 / 1024.0,
        uses_in(median_key),
    );

    // The header, and the shards of the central registry and of the median one, as
    // files; in each, its most used repository.
    let dir = tempfile::tempdir().expect("temporary directory");
    let header_path = dir.path().join("snapshot.json");
    std::fs::write(&header_path, &header).expect("header file");
    let reads = [("central", central_key), ("ordinary", median_key)].map(|(what, key)| {
        let (account, region) = key.split_once('-').expect("ACCOUNT-REGION");
        let uris = (0..REPOSITORIES as u64).map(|index| repository_uri(account, region, index));
        let uri = uris
            .max_by_key(|uri| naming(&parts, uri))
            .expect("repositories");
        let path = dir.path().join(format!("{key}.jsonl"));
        std::fs::write(&path, &assembled.shards[key]).expect("shard file");
        (what, path, shard_sizes[key], naming(&parts, &uri), uri)
    });

    // The assembler's Sweep Target events, each fan-out's Sweep Repository events, and
    // each sweep's Sweep Completed.
    let assembler_calls = put_events_calls(&events(SWEEP_TARGET, false));
    let fan_out = |target: &Target| {
        let (account, region) = (&target.account, &target.region);
        let to_event = |index: usize| {
            let name = format!("team-{}/service-{index}", index % 10);
            let arn = format!("arn:aws:ecr:{region}:{account}:repository/{name}");
            let detail = json!({"account": account, "region": region, "repositoryName": name});
            event(SWEEP_REPOSITORY, detail, vec![arn])
        };
        put_events_calls(&(0..REPOSITORIES).map(to_event).collect::<Vec<_>>())
    };
    let fan_out_calls: usize = targets.iter().map(fan_out).sum();
    let name = "team-0/service-0";
    let mut summary = RepositorySummary::new(name, PolicyKind::Configured, SweepMode::DryRun);
    summary.target = Some(hub.clone());
    let arn = format!(
        "arn:aws:ecr:{}:{}:repository/{name}",
        hub.region, hub.account
    );
    let sweep_calls = t * REPOSITORIES * put_events_calls(&[summary.event(Some(&arn))]);
    println!(
        "[events]   PutEvents calls by plan_batches: start {start_calls} + assembler {assembler_calls} \
         + fan-outs {fan_out_calls} + sweeps {sweep_calls}"
    );

    // Sweep: the header and the repository's shard, read in a child process.
    println!(
        "\n[sweep]    header + shard read by a SnapshotReader in a child process ({} KiB chunks, mean of {READS} \
         reads); peak = the child's VmHWM, baseline = the same before reading",
        CHUNK_BYTES / 1024
    );
    for (what, shard_path, shard_size, naming, uri) in &reads {
        let read = read_in_child(&header_path, shard_path, uri);
        let bytes = header.len() + shard_size;
        assert_eq!(read["bytes"] as usize, bytes, "bytes read");
        assert_eq!(read["kept"] as usize, *naming, "uses kept for {uri}");
        let (peak, baseline) = (read["peak_kib"] / 1024.0, read["baseline_kib"] / 1024.0);
        println!(
            "  {what:<8} {uri}\n           {:.2} ms per read, {:.2} MiB read, {naming} uses kept; \
             peak {peak:.1} MiB (baseline {baseline:.1}, reader {:.1})",
            read["ms"],
            mib(bytes),
            peak - baseline,
        );
    }

    // Counts per run: RunShape::cost() for three sizes (every registry named by some
    // workload, as here) and for the simulated run.
    let shape = |accounts: usize, targets: usize, member_targets: usize| RunShape {
        organization_accounts: Some(accounts),
        member_targets,
        repositories: vec![(REPOSITORIES, REPOSITORIES); targets],
        shards: targets,
    };
    let shard_of = |target: &Target| {
        let key = shard_key(&target.account, &target.region);
        shard_sizes.get(&key).copied()
    };
    let simulated = RunShape {
        shards: shard_sizes.len(),
        ..shape(ACCOUNTS, t, member_targets)
    };
    let cost = simulated.cost();
    let batched = start_calls + assembler_calls + fan_out_calls + sweep_calls;
    assert_eq!(cost.put_events, batched, "PutEvents: plan_batches vs cost");
    let columns = [
        ("T=5", shape(2, 5, 4).cost()),
        ("T=100", shape(25, 100, 96).cost()),
        ("T=4,000", shape(1_000, 4_000, 3_996).cost()),
        (&*format!("sim. T={t}"), cost),
    ];
    type Count = fn(&RunCost) -> usize;
    let rows: [(&str, Count); 9] = [
        ("invocations", |c| c.invocations),
        ("PutEvents", |c| c.put_events),
        ("ListAccounts (the start only)", |c| c.list_accounts),
        ("AssumeRole (one warm instance)", |c| c.assume_role),
        ("GetCallerIdentity (checks)", |c| c.get_caller_identity),
        ("S3 PutObject", |c| c.s3_put_object),
        ("S3 ListObjectsV2 (at most)", |c| c.s3_list_objects),
        ("S3 GetObject", |c| c.s3_get_object),
        ("ECR DescribeRepositories", |c| c.describe_repositories),
    ];
    println!(
        "\n[per run]  RunShape::cost(), {REPOSITORIES} repositories per target, a shard per target \
         (simulated: {} shards)",
        simulated.shards
    );
    let cells = |cell: &dyn Fn(&str, &RunCost) -> String| -> String {
        columns
            .iter()
            .map(|(label, cost)| format!("{:>13}", cell(label, cost)))
            .collect()
    };
    println!("  {:<31}{}", "", cells(&|label, _| label.to_owned()));
    for (name, count) in rows {
        println!("  {name:<31}{}", cells(&|_, cost| count(cost).to_string()));
    }

    // Bytes all sweeps read per run: each the header and its registry's shard.
    let sweeps = simulated.sweeps();
    let headers = sweeps * header.len();
    let shards = REPOSITORIES * targets.iter().filter_map(shard_of).sum::<usize>();
    println!(
        "\n[per run]  {sweeps} sweeps read {:.2} GiB: headers {:.2} GiB ({sweeps} × {} bytes) + shards {:.2} GiB \
         (of which the central registry's {REPOSITORIES} sweeps × {:.2} MiB = {:.2} GiB)",
        mib(headers + shards) / 1024.0,
        mib(headers) / 1024.0,
        header.len(),
        mib(shards) / 1024.0,
        mib(central_size),
        mib(REPOSITORIES * central_size) / 1024.0,
    );
    println!("total {:.1} s", total.elapsed().as_secs_f64());
}

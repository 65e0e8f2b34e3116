//! `ecr-janitor sweep`: the lifecycle-sweeper's sweep of one repository, run against
//! whatever AWS the environment points at (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`). Prints the plan; changes nothing unless `--enforce`.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use janitor::config::JanitorConfig;
use janitor::sweep::trigger::is_repository_name;
use janitor::sweep::{
    registry, sweep_repository, PolicySource, RepositoryEntry, SweepMode, SweepRules, Sweeper,
};
use janitor::{aws, pattern::WildcardPattern};
use serde_json::json;

use crate::input;

/// Exit status when AWS calls fail or the sweep stops on an error.
const SWEEP_FAILED: u8 = 1;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The repository to sweep.
    #[arg(long, value_name = "NAME")]
    repository: String,
    /// A janitor configuration whose `sweeper` section selects the repository's policy,
    /// protections and safety cap. Without it, the repository's own ECR lifecycle
    /// policy is previewed.
    #[arg(long, value_name = "CONFIG.json")]
    config: Option<PathBuf>,
    /// Apply the plan. Without it the sweep is a dry run, whatever the configuration
    /// says; native policies are never applied.
    #[arg(long)]
    enforce: bool,
    /// Evaluate as of another instant (RFC 3339), e.g. to see what next week's sweep
    /// would do; defaults to now. A dry-run question: refused with --enforce, since
    /// age rules and minimumAgeDays would be judged by a clock that is not real.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    now: Option<DateTime<Utc>>,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|error| format!("not an RFC 3339 timestamp ({error}), e.g. 2026-01-31T12:00:00Z"))
}

/// The entry used without `--config`: the repository's native policy, no protections
/// beyond images in use.
fn native_entry(repository: &str) -> RepositoryEntry {
    RepositoryEntry {
        include: vec![WildcardPattern::new(repository)],
        exclude: Vec::new(),
        policy: PolicySource::Native,
        mode: None,
        protected_tags: Vec::new(),
        minimum_age_days: 0,
        safety_cap: None,
    }
}

pub fn run(args: &SweepArgs) -> ExitCode {
    if args.enforce && args.now.is_some() {
        return input::invalid(
            "--now only answers \"what would a sweep do then\" and cannot be combined with --enforce: \
             an enforced sweep judges ages and minimumAgeDays by the real clock (drop --now, or drop --enforce for a dry run)",
        );
    }
    if !is_repository_name(&args.repository) {
        return input::invalid(&format!(
            "--repository {:?} is not a valid ECR repository name",
            args.repository
        ));
    }
    let config = match &args.config {
        Some(path) => match JanitorConfig::from_file(&path.to_string_lossy()) {
            Ok(config) => config,
            Err(error) => return input::invalid(&error.to_string()),
        },
        None => JanitorConfig::default(),
    };
    let entry = match &args.config {
        Some(path) => match config.sweeper.entry_for(&args.repository) {
            Some(entry) => entry.clone(),
            None => {
                return input::invalid(&format!(
                    "{}: no sweeper.repositories entry selects {}",
                    path.display(),
                    args.repository
                ))
            }
        },
        None => native_entry(&args.repository),
    };
    let mode = if args.enforce {
        SweepMode::Enforce
    } else {
        SweepMode::DryRun
    };
    if args.enforce && entry.policy == PolicySource::Native {
        eprintln!(
            "ecr-janitor: native lifecycle policies are only previewed; --enforce has no effect"
        );
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ecr-janitor: cannot start the async runtime: {error}");
            return ExitCode::from(SWEEP_FAILED);
        }
    };
    runtime.block_on(sweep(args, config, entry, mode))
}

async fn sweep(
    args: &SweepArgs,
    config: JanitorConfig,
    entry: RepositoryEntry,
    mode: SweepMode,
) -> ExitCode {
    // One log line per action on stderr: the record of what an enforced sweep changed.
    janitor::logging::init();
    let sdk = aws::load_sweep_sdk_config().await;
    let protected_tags = config.protected_tags(&args.repository);
    let sweeper = Sweeper::from_sdk_config(&sdk, config, None);
    let repository = match registry::find_repository(&sweeper.ecr, &args.repository).await {
        Ok(Some(repository)) => repository,
        Ok(None) => {
            eprintln!("ecr-janitor: repository {} does not exist", args.repository);
            return ExitCode::from(SWEEP_FAILED);
        }
        Err(error) => {
            eprintln!("ecr-janitor: {error}");
            return ExitCode::from(SWEEP_FAILED);
        }
    };
    let now = args.now.unwrap_or_else(Utc::now);
    // Lists are judged stale by the real clock, whatever instant the plan is for.
    let in_use = sweeper.images_in_use(Utc::now()).await;
    let rules = SweepRules {
        entry: &entry,
        protected_tags: &protected_tags,
        mode,
        tagged_artifacts: sweeper.config.sweeper.tagged_artifacts,
    };
    let result = sweep_repository(&sweeper.ecr, &repository, &rules, &in_use, now).await;
    let output = json!({ "summary": result.summary, "actions": result.actions });
    let text = serde_json::to_string_pretty(&output).unwrap_or_default() + "\n";
    let written = input::write_stdout(&text);
    match (&result.summary.error, &result.summary.in_use_unknown) {
        (Some(error), _) => {
            eprintln!("ecr-janitor: sweep of {} stopped: {error}", repository.name);
            ExitCode::from(SWEEP_FAILED)
        }
        (None, Some(why)) => {
            eprintln!(
                "ecr-janitor: nothing acted on in {}: {why}",
                repository.name
            );
            ExitCode::from(SWEEP_FAILED)
        }
        (None, None) => written,
    }
}

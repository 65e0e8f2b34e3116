//! `ecr-janitor sweep`: the lifecycle-sweeper's sweep of one repository, run against
//! whatever AWS the environment points at (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`). Prints the plan; changes nothing unless `--enforce`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use janitor::config::JanitorConfig;
use janitor::lifecycle::Action;
use janitor::sweep::trigger::is_repository_name;
use janitor::sweep::{
    registry, sweep_repository, Budget, PolicySource, RepositoryEntry, RepositorySweep, SweepMode,
    SweepRules, SweepTiming, Sweeper,
};
use janitor::{aws, pattern::WildcardPattern};
use serde_json::json;

use crate::input;
use crate::table::{self, short};

/// Exit status when AWS calls fail or the sweep stops on an error.
const SWEEP_FAILED: u8 = 1;
/// Exit status when the sweep did not do all it planned: ECR refused actions, the
/// safety cap tripped, what is in use is unknown, or `--max-duration` ran out.
const SWEEP_INCOMPLETE: u8 = 3;

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
    /// Stop acting after this long (`90s`, `15m`, `1h`, or seconds): the sweep reports
    /// what it did and exits with status 3; run it again to carry on.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    max_duration: Option<Duration>,
    /// `json` prints the summary, the actions and the protected images; `table` shows
    /// each image acted on or protected, and why.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("unknown unit {unit:?}: use s, m or h, e.g. 15m")),
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|number| *number > 0)
        .and_then(|number| number.checked_mul(seconds_per_unit))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("not a positive duration: {text:?} (e.g. 90s, 15m, 1h)"))
}

pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|error| format!("not an RFC 3339 timestamp ({error}), e.g. 2026-01-31T12:00:00Z"))
}

/// The entry used without `--config`: the repository's native policy, no protections
/// beyond images in use.
pub fn native_entry(repository: &str) -> RepositoryEntry {
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
    let budget = args
        .max_duration
        .map_or_else(Budget::unlimited, |duration| {
            Budget::until(Instant::now() + duration, Duration::ZERO)
        });
    let timing = SweepTiming {
        now,
        continuing: None,
        budget,
    };
    let result = sweep_repository(&sweeper.ecr, &repository, &rules, &in_use, &timing).await;
    let text = match args.format {
        Format::Json => {
            let output = json!({ "summary": result.summary, "actions": result.actions,
                                 "protected": result.protected });
            serde_json::to_string_pretty(&output).unwrap_or_default() + "\n"
        }
        Format::Table => sweep_table(&result),
    };
    let written = input::write_stdout(&text);
    let summary = &result.summary;
    if let Some(error) = &summary.error {
        eprintln!("ecr-janitor: sweep of {} stopped: {error}", repository.name);
        return ExitCode::from(SWEEP_FAILED);
    }
    if !summary.complete {
        let why = [
            summary.in_use_unknown.clone(),
            summary.cap_tripped.clone(),
            (summary.failure_count > 0)
                .then(|| format!("ECR refused {} action(s)", summary.failure_count)),
            summary
                .continued
                .then(|| "--max-duration ran out: run again to carry on".to_owned()),
        ];
        let why: Vec<String> = why.into_iter().flatten().collect();
        eprintln!(
            "ecr-janitor: the sweep of {} is incomplete: {}",
            repository.name,
            why.join("; ")
        );
        return ExitCode::from(SWEEP_INCOMPLETE);
    }
    written
}

/// Every image the sweep acts on or protects, in digest order, with the rule or the
/// reason (who holds it, for images in use).
fn sweep_table(sweep: &RepositorySweep) -> String {
    let tags = |tags: &[String]| {
        if tags.is_empty() {
            "<untagged>".to_owned()
        } else {
            tags.join(",")
        }
    };
    let mut rows: Vec<(&str, [String; 4])> = sweep
        .actions
        .iter()
        .map(|action| {
            let verdict = match action.action {
                Action::Expire => "expire",
                Action::Transition => "transition",
            };
            (
                action.digest.as_str(),
                [
                    short(&action.digest).to_owned(),
                    tags(&action.tags),
                    verdict.to_owned(),
                    format!("rule {}", action.rule_priority),
                ],
            )
        })
        .chain(sweep.protected.iter().map(|image| {
            (
                image.digest.as_str(),
                [
                    short(&image.digest).to_owned(),
                    tags(&image.tags),
                    "protected".to_owned(),
                    image.reason.clone(),
                ],
            )
        }))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    let header = ["DIGEST", "TAGS", "DECISION", "RULE / REASON"].map(str::to_owned);
    let rows: Vec<[String; 4]> = std::iter::once(header)
        .chain(rows.into_iter().map(|(_, row)| row))
        .collect();
    let summary = &sweep.summary;
    let mut text = table::render(&rows);
    text.push_str(&format!(
        "\n{} to expire, {} to transition, {} protected{}\n",
        summary.planned_expire,
        summary.planned_transition,
        sweep.protected.len(),
        if summary.dry_run { " (dry run)" } else { "" }
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use janitor::sweep::report::{PlannedAction, PolicyKind, ProtectedImage, RepositorySummary};

    #[test]
    fn durations_take_seconds_minutes_or_hours() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["0", "m", "", "1d", "-5s", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_table_shows_each_image_acted_on_or_protected_with_why() {
        let mut summary = RepositorySummary::new("app", PolicyKind::Configured, SweepMode::DryRun);
        summary.planned_expire = 1;
        let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let sweep = RepositorySweep {
            summary,
            plan: Default::default(),
            actions: vec![PlannedAction {
                digest: digest('b'),
                tags: vec![],
                rule_priority: 10,
                action: Action::Expire,
                size_bytes: None,
                is_index: false,
                seen: Default::default(),
                follows: vec![],
            }],
            protected: vec![
                ProtectedImage {
                    digest: digest('c'),
                    tags: vec!["v2".into(), "prod".into()],
                    reason: "in use by ECS service prod/web (task definition web:7)".into(),
                },
                ProtectedImage {
                    digest: digest('a'),
                    tags: vec!["v1".into()],
                    reason: "protected tag v1".into(),
                },
            ],
            error: None,
            continue_with: None,
        };
        assert_eq!(
            sweep_table(&sweep),
            "DIGEST               TAGS        DECISION   RULE / REASON\n\
             sha256:aaaaaaaaaaaa  v1          protected  protected tag v1\n\
             sha256:bbbbbbbbbbbb  <untagged>  expire     rule 10\n\
             sha256:cccccccccccc  v2,prod     protected  in use by ECS service prod/web (task definition web:7)\n\
             \n1 to expire, 0 to transition, 2 protected (dry run)\n"
        );
    }
}

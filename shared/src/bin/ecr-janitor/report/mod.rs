//! `ecr-janitor report`: what the janitor would do to the repositories a configuration
//! selects (or to one), as data (`json`), a terminal table, or one self-contained HTML
//! page with charts. Plans with the sweep's own code in dry run; never acts.

mod terminal;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use janitor::aws;
use janitor::config::JanitorConfig;
use janitor::report::gather::{self, SelectError, Selected};
use janitor::report::html;
use janitor::report::prices::{AppliedPrices, PriceFile, PriceOverrides};
use janitor::sweep::in_use::InUse;
use janitor::sweep::trigger::is_repository_name;
use janitor::sweep::Sweeper;
use janitor::targets::TargetDirectory;

use crate::input;
use crate::sweep::{native_entry, parse_instant};

/// Exit status when the repositories cannot be listed.
const REPORT_FAILED: u8 = 1;
/// Exit status when the report is written but a repository could not be planned.
const REPORT_INCOMPLETE: u8 = 3;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A janitor configuration: the report covers every repository its `sweeper`
    /// section selects, each planned with its entry's policy and protections.
    #[arg(
        long,
        value_name = "CONFIG.json",
        required_unless_present = "repository"
    )]
    config: Option<PathBuf>,
    /// Report on this repository only (with --config, it must be selected by it;
    /// without, its own ECR lifecycle policy is previewed).
    #[arg(long, value_name = "NAME")]
    repository: Option<String>,
    /// Plan as of another instant (RFC 3339), e.g. what next month's sweep would do;
    /// defaults to now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    now: Option<DateTime<Utc>>,
    /// Storage prices per GB-month by storage class, in tiers, per Region (see
    /// docs/lifecycle-sweeper.md); defaults to Amazon ECR's published prices.
    #[arg(long, value_name = "PRICES.json")]
    prices: Option<PathBuf>,
    /// Price of standard storage per GB-month, replacing the default or the file's.
    #[arg(long, value_name = "PRICE")]
    standard_price: Option<f64>,
    /// Price of archive storage per GB-month, replacing the default or the file's.
    #[arg(long, value_name = "PRICE")]
    archive_price: Option<f64>,
    /// `table` for the terminal, `json` for the data (a documented, stable shape),
    /// `html` for one self-contained page with charts (needs --output).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE", required_if_eq("format", "html"))]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Html,
}

pub fn run(args: &ReportArgs) -> ExitCode {
    if let Some(name) = &args.repository {
        if !is_repository_name(name) {
            return input::invalid(&format!(
                "--repository {name:?} is not a valid ECR repository name"
            ));
        }
    }
    let config = match &args.config {
        Some(path) => match JanitorConfig::from_file(&path.to_string_lossy()) {
            Ok(config) => config,
            Err(error) => return input::invalid(&error.to_string()),
        },
        None => JanitorConfig::default(),
    };
    let price_file = match &args.prices {
        Some(path) => match input::read_text(path, "prices").and_then(|text| {
            PriceFile::parse(&text).map_err(|error| format!("{}: {error}", path.display()))
        }) {
            Ok(file) => Some((path.display().to_string(), file)),
            Err(message) => return input::invalid(&message),
        },
        None => None,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ecr-janitor: cannot start the async runtime: {error}");
            return ExitCode::from(REPORT_FAILED);
        }
    };
    runtime.block_on(report(args, config, price_file))
}

async fn report(
    args: &ReportArgs,
    config: JanitorConfig,
    price_file: Option<(String, PriceFile)>,
) -> ExitCode {
    let sdk = aws::load_sweep_sdk_config().await;
    let Some(region) = sdk.region().map(ToString::to_string) else {
        return input::invalid("no AWS Region: set AWS_REGION (or a profile's region)");
    };
    let overrides = PriceOverrides {
        standard: args.standard_price,
        archive: args.archive_price,
    };
    let file = price_file
        .as_ref()
        .map(|(name, file)| (name.as_str(), file));
    let prices = match AppliedPrices::resolve(&region, file, overrides) {
        Ok(prices) => prices,
        Err(error) => return input::invalid(&error.to_string()),
    };
    let sweeper = Sweeper::from_sdk_config(&sdk, config, None);
    let (selected, in_use) = match select(args, &sdk, &sweeper).await {
        Ok(selected) => selected,
        Err(Selection::Invalid(message)) => return input::invalid(&message),
        Err(Selection::Failed(error)) => {
            eprintln!("ecr-janitor: {error}");
            return ExitCode::from(REPORT_FAILED);
        }
    };
    let as_of = args.now.unwrap_or_else(Utc::now);
    let mut progress = Progress::on_terminal();
    let report = gather::report(
        &sweeper,
        &selected,
        in_use,
        as_of,
        prices,
        |done, total, name| progress.show(done, total, name),
    )
    .await;
    progress.finish();
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        Format::Table => terminal::render(&report),
        Format::Html => html::render(&report),
    };
    let written = match &args.output {
        Some(path) => match std::fs::write(path, &text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("ecr-janitor: cannot write {}: {error}", path.display());
                return ExitCode::from(REPORT_FAILED);
            }
        },
        None => input::write_stdout(&text),
    };
    let failed: Vec<String> = report
        .repositories
        .iter()
        .filter_map(|repository| {
            Some(format!(
                "{}: {}",
                repository.label(),
                repository.error.as_ref()?
            ))
        })
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "ecr-janitor: {} repositories could not be planned:\n  {}",
            failed.len(),
            failed.join("\n  ")
        );
        return ExitCode::from(REPORT_INCOMPLETE);
    }
    written
}

enum Selection {
    Invalid(String),
    Failed(SelectError),
}

/// The repositories to report on, and what is in use: every target's when the
/// configuration names targets and no single repository is asked for.
async fn select(
    args: &ReportArgs,
    sdk: &aws_config::SdkConfig,
    sweeper: &Sweeper,
) -> Result<(Vec<Selected>, InUse), Selection> {
    let Some(name) = &args.repository else {
        let targets =
            TargetDirectory::for_installation(sdk, sweeper.config.targets.as_ref(), "report")
                .await
                .map_err(|err| Selection::Failed(err.into()))?;
        if let Some(targets) = targets {
            return gather::select_targets(sweeper, &targets)
                .await
                .map_err(Selection::Failed);
        }
        let selected = gather::select_configured(sweeper)
            .await
            .map_err(Selection::Failed)?;
        // Lists are judged stale by the real clock, whatever instant the plans are for.
        return Ok((selected, sweeper.images_in_use(Utc::now()).await));
    };
    let entry = match &args.config {
        Some(path) => match sweeper.config.sweeper.entry_for(name) {
            Some(entry) => entry.clone(),
            None => {
                return Err(Selection::Invalid(format!(
                    "{}: no sweeper.repositories entry selects {name}",
                    path.display()
                )))
            }
        },
        None => native_entry(name),
    };
    let selected = gather::select_one(sweeper, name, entry)
        .await
        .map_err(Selection::Failed)?;
    Ok((selected, sweeper.images_in_use(Utc::now()).await))
}

/// One line on stderr, redrawn per repository: only when stderr is a terminal, so
/// that logs and pipes never see it.
struct Progress {
    on_terminal: bool,
    drawn: bool,
}

impl Progress {
    fn on_terminal() -> Self {
        Progress {
            on_terminal: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    fn show(&mut self, done: usize, total: usize, name: &str) {
        if !self.on_terminal {
            return;
        }
        let line = progress_line(done, total, name);
        let mut stderr = std::io::stderr().lock();
        // "\r" and "erase to end of line": the line replaces the one before.
        let _ = write!(stderr, "\r\x1b[K{line}");
        let _ = stderr.flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// `[#####---------------]  5/20 planned  team/app`.
fn progress_line(done: usize, total: usize, name: &str) -> String {
    const WIDTH: usize = 20;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    format!(
        "[{}{}] {done:>width$}/{total} planned  {name}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        width = total.to_string().len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_fills_as_repositories_are_planned() {
        assert_eq!(
            progress_line(5, 20, "team/app"),
            "[#####---------------]  5/20 planned  team/app"
        );
        assert_eq!(
            progress_line(3, 3, "c"),
            "[####################] 3/3 planned  c"
        );
        assert_eq!(
            progress_line(0, 0, ""),
            "[####################] 0/0 planned  "
        );
    }
}

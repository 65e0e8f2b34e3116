//! `ecr-janitor report`: what the janitor would do to the repositories a configuration
//! selects (or to one), as data (`json`), a terminal table, or one self-contained HTML
//! page with charts. Plans with the sweep's own code in dry run; never acts.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use janitor::aws;
use janitor::config::JanitorConfig;
use janitor::report::gather::{self, SelectError, Selected};
use janitor::report::inventory::Amount;
use janitor::report::prices::{AppliedPrices, PriceFile, PriceOverrides};
use janitor::report::{charts, html, Report};
use janitor::sweep::trigger::is_repository_name;
use janitor::sweep::{SweepMode, Sweeper};

use crate::input;
use crate::sweep::{native_entry, parse_instant};
use crate::table;

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
    let selected = match select(args, &sweeper).await {
        Ok(selected) => selected,
        Err(Selection::Invalid(message)) => return input::invalid(&message),
        Err(Selection::Failed(error)) => {
            eprintln!("ecr-janitor: {error}");
            return ExitCode::from(REPORT_FAILED);
        }
    };
    let as_of = args.now.unwrap_or_else(Utc::now);
    let mut progress = Progress::on_terminal();
    let report = gather::report(&sweeper, &selected, as_of, prices, |done, total, name| {
        progress.show(done, total, name)
    })
    .await;
    progress.finish();
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        Format::Table => report_table(&report),
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
                repository.repository_name,
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

async fn select(args: &ReportArgs, sweeper: &Sweeper) -> Result<Vec<Selected>, Selection> {
    let Some(name) = &args.repository else {
        return gather::select_configured(sweeper)
            .await
            .map_err(Selection::Failed);
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
    gather::select_one(sweeper, name, entry)
        .await
        .map_err(Selection::Failed)
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

fn amount(amount: Amount) -> String {
    if amount.images == 0 {
        "-".to_owned()
    } else {
        format!("{} ({})", html::format_bytes(amount.bytes), amount.images)
    }
}

/// One row per repository and the total, then bytes by kind, protections and prices.
fn report_table(report: &Report) -> String {
    let currency = &report.prices.table.currency;
    let money = |value: f64| html::format_money(value, currency);
    let header = [
        "REPOSITORY",
        "MODE",
        "IMAGES",
        "NOW",
        "EXPIRE",
        "ARCHIVE",
        "PROTECTED",
        "AFTER",
        "PER MONTH",
        "SAVED",
        "NOTES",
    ]
    .map(str::to_owned);
    let mut rows = vec![header];
    for repository in &report.repositories {
        let inventory = &repository.inventory;
        let mut notes = Vec::new();
        notes.extend(
            repository
                .skipped
                .iter()
                .map(|why| format!("not planned: {why}")),
        );
        notes.extend(repository.error.iter().map(|why| format!("failed: {why}")));
        notes.extend(
            repository
                .cap_tripped
                .iter()
                .map(|why| format!("safety cap: {why}")),
        );
        rows.push([
            repository.repository_name.clone(),
            match repository.mode {
                SweepMode::DryRun => "dry-run".to_owned(),
                SweepMode::Enforce => "enforce".to_owned(),
            },
            inventory.images.images.to_string(),
            html::format_bytes(inventory.bytes_now.total()),
            amount(inventory.expire),
            amount(inventory.transition),
            amount(inventory.protected),
            html::format_bytes(inventory.bytes_after.total()),
            money(repository.cost_per_month.now),
            money(repository.cost_per_month.savings),
            notes.join("; "),
        ]);
    }
    let totals = &report.totals;
    rows.push([
        format!("TOTAL ({} repositories)", totals.repositories),
        String::new(),
        totals.inventory.images.images.to_string(),
        html::format_bytes(totals.inventory.bytes_now.total()),
        amount(totals.inventory.expire),
        amount(totals.inventory.transition),
        amount(totals.inventory.protected),
        html::format_bytes(totals.inventory.bytes_after.total()),
        money(totals.cost_per_month.now),
        money(totals.cost_per_month.savings),
        String::new(),
    ]);
    let mut text = table::render(&rows);
    let kinds: Vec<String> = totals
        .inventory
        .by_kind
        .named()
        .iter()
        .map(|(kind, kind_amount)| format!("{} {}", charts::kind_label(kind), amount(*kind_amount)))
        .collect();
    text.push_str(&format!("\nBy kind: {}\n", kinds.join(", ")));
    let by = &totals.inventory.protected_by;
    text.push_str(&format!(
        "Protected: in use {}, protected tag {}, minimum age {}, unreadable index {}\n",
        amount(by.in_use),
        amount(by.protected_tag),
        amount(by.minimum_age),
        amount(by.index_unreadable)
    ));
    text.push_str(&format!(
        "Storage per month: {} now, {} after ({}, {})\n",
        money(totals.cost_per_month.now),
        money(totals.cost_per_month.after),
        report.prices.region,
        report.prices.source
    ));
    if let Some(why) = &report.in_use_unknown {
        text.push_str(&format!(
            "What is in use could not be read ({why}): an enforced sweep would act on nothing.\n"
        ));
    }
    text.push_str(&format!(
        "Planned as of {}; nothing was changed.\n",
        report.as_of.to_rfc3339()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use janitor::report::inventory::{ByClass, ByKind, Inventory};
    use janitor::report::{Cost, RepositoryReport, Totals};
    use janitor::sweep::report::PolicyKind;

    const GIB: i64 = 1 << 30;

    #[test]
    fn the_table_has_a_row_per_repository_a_total_and_the_prices() {
        let one = |bytes| Amount { images: 1, bytes };
        let inventory = Inventory {
            images: Amount {
                images: 3,
                bytes: 4 * GIB,
            },
            by_kind: ByKind {
                image: Amount {
                    images: 2,
                    bytes: 3 * GIB,
                },
                archived: one(GIB),
                ..ByKind::default()
            },
            expire: one(2 * GIB),
            protected: one(GIB),
            bytes_now: ByClass {
                standard: 3 * GIB,
                archive: GIB,
            },
            bytes_after: ByClass {
                standard: GIB,
                archive: GIB,
            },
            ..Inventory::default()
        };
        let repository = |name: &str, mode, inventory, cost| RepositoryReport {
            repository_name: name.to_owned(),
            policy: PolicyKind::Configured,
            mode,
            skipped: None,
            error: None,
            cap_tripped: None,
            inventory,
            cost_per_month: cost,
            by_rule: Vec::new(),
            protected_images: Vec::new(),
        };
        let cost = Cost {
            now: 0.4,
            after: 0.2,
            savings: 0.2,
        };
        let mut web = repository(
            "web",
            SweepMode::Enforce,
            Inventory::default(),
            Cost::default(),
        );
        web.skipped = Some("the repository has no lifecycle policy".to_owned());
        let report = Report {
            schema_version: 1,
            as_of: DateTime::from_timestamp(1_800_000_000, 0).expect("instant"),
            prices: AppliedPrices::resolve("eu-west-1", None, PriceOverrides::default())
                .expect("published prices"),
            in_use_unknown: Some("ECS tasks: AccessDenied".to_owned()),
            in_use_sources_off: Vec::new(),
            totals: Totals {
                repositories: 2,
                repositories_not_planned: 1,
                inventory,
                cost_per_month: cost,
            },
            repositories: vec![repository("app", SweepMode::DryRun, inventory, cost), web],
        };
        assert_eq!(
            report_table(&report),
            "REPOSITORY              MODE     IMAGES  NOW      EXPIRE       ARCHIVE  PROTECTED    AFTER    PER MONTH  SAVED     NOTES\n\
             app                     dry-run  3       4.0 GiB  2.0 GiB (1)  -        1.0 GiB (1)  2.0 GiB  0.40 USD   0.20 USD\n\
             web                     enforce  0       0 B      -            -        -            0 B      0.00 USD   0.00 USD  not planned: the repository has no lifecycle policy\n\
             TOTAL (2 repositories)           3       4.0 GiB  2.0 GiB (1)  -        1.0 GiB (1)  2.0 GiB  0.40 USD   0.20 USD\n\
             \nBy kind: images 3.0 GiB (2), image indexes -, children of an index -, signatures, SBOMs -, archived 1.0 GiB (1)\n\
             Protected: in use -, protected tag -, minimum age -, unreadable index -\n\
             Storage per month: 0.40 USD now, 0.20 USD after (eu-west-1, Amazon ECR pricing, https://aws.amazon.com/ecr/pricing/ (as published in March 2026))\n\
             What is in use could not be read (ECS tasks: AccessDenied): an enforced sweep would act on nothing.\n\
             Planned as of 2027-01-15T08:00:00+00:00; nothing was changed.\n"
        );
    }

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

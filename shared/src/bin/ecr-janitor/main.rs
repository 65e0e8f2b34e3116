//! `ecr-janitor`: the janitor's command line. Each subcommand lives in its own module.

mod check_tag;
mod exclude_pull_times;
mod input;
mod preview;
mod report;
mod sweep;
mod table;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Work with ECR lifecycle policies and the janitor offline.
#[derive(Debug, Parser)]
#[command(name = "ecr-janitor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Judge one tag against the tagRules section of a janitor configuration (exit 1 on a violation).
    CheckTag(check_tag::CheckTagArgs),
    /// Keep a principal's pulls (the sweeper's) from updating pull times in the registry.
    ExcludePullTimes(exclude_pull_times::ExcludePullTimesArgs),
    /// Show what a lifecycle policy would do to the images of a `describe-images` export.
    Preview(preview::PreviewArgs),
    /// What the janitor would do to the repositories a configuration selects: images and
    /// bytes by kind, what expires, moves to archive or is protected (and why), and the
    /// storage cost before and after, as a table, JSON or an HTML page (never acts).
    Report(report::ReportArgs),
    /// Sweep one repository of the registry the environment points at (dry run unless --enforce).
    Sweep(sweep::SweepArgs),
    /// Check a lifecycle policy document the way ECR's PutLifecyclePolicy would.
    Validate(validate::ValidateArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::CheckTag(args) => check_tag::run(&args),
        Command::ExcludePullTimes(args) => exclude_pull_times::run(&args),
        Command::Preview(args) => preview::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Validate(args) => validate::run(&args),
    }
}

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

/// What `-h` says. Without an explicit text, clap's `about` would print the library
/// crate's description, which says what the crate holds, not what the CLI does.
const ABOUT: &str = "The ECR janitor from a terminal: check lifecycle policies and tag rules, \
preview what a policy would delete, and sweep a repository (dry run unless --enforce)";

/// What `--help` says.
const LONG_ABOUT: &str = "The ECR janitor from a terminal: the code of its Lambda functions, run \
by hand.

Offline, no AWS access needed:
  validate     check a lifecycle policy the way ECR's PutLifecyclePolicy would
  preview      what a policy does to an `aws ecr describe-images` export, image by image
  check-tag    the tag rules' verdict on one tag

Against the registry the environment points at (AWS credentials and Region, or
AWS_ENDPOINT_URL for a local moto server):
  sweep               the lifecycle-sweeper's sweep of one repository: what it would expire or
                      archive, what it protects and why; dry run unless --enforce
  exclude-pull-times  keep the sweeper's reads from updating the images' pull times";

#[derive(Debug, Parser)]
#[command(name = "ecr-janitor", version, about = ABOUT, long_about = LONG_ABOUT)]
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

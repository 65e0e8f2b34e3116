//! Golden tests of the `ecr-janitor` binary on the files in `tests/fixtures/`.

use std::path::Path;
use std::process::{Command, Output};

const NOW: &str = "2026-11-28T12:00:00Z";

/// Runs the binary from the package root, so fixture paths in messages are stable.
fn ecr_janitor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecr-janitor"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the ecr-janitor binary runs")
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_says_what_the_cli_is_for() {
    let short = ecr_janitor(&["-h"]);
    assert!(short.status.success());
    assert_eq!(
        stdout(&short).lines().next(),
        Some(
            "The ECR janitor from a terminal: check lifecycle policies and tag rules, preview \
             what a policy would delete, and sweep a repository (dry run unless --enforce)"
        )
    );
    let long = ecr_janitor(&["--help"]);
    assert!(long.status.success());
    let text = stdout(&long);
    assert!(
        text.starts_with(
            "The ECR janitor from a terminal: the code of its Lambda functions, run by hand.\n\n\
             Offline, no AWS access needed:\n"
        ),
        "{text}"
    );
    assert!(!text.contains("domain (lifecycle engine"), "{text}");
}

fn preview(format: &str) -> Output {
    ecr_janitor(&[
        "preview",
        "--policy",
        "tests/fixtures/policy.json",
        "--images",
        "tests/fixtures/images.json",
        "--index-children",
        "tests/fixtures/index-children.json",
        "--now",
        NOW,
        "--format",
        format,
    ])
}

/// Releases beyond the newest three and their signature expire, a stale release
/// candidate is archived, old untagged builds expire unless a kept index references
/// them, an old index goes with its child, and an archived image a year in archive goes.
#[test]
fn preview_prints_the_actions_as_json() {
    let output = preview("json");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), golden("preview.json"));
    assert_eq!(stderr(&output), "");
}

#[test]
fn preview_table_shows_every_image_and_why_it_is_kept() {
    let output = preview("table");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), golden("preview-table.txt"));
}

#[test]
fn preview_without_index_children_keeps_nothing_back_for_indexes() {
    let output = ecr_janitor(&[
        "preview",
        "--policy",
        "tests/fixtures/policy.json",
        "--images",
        "tests/fixtures/images.json",
        "--now",
        NOW,
    ]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(report["actions"].as_array().map(Vec::len), Some(9));
    assert_eq!(report["keptCount"], 7);
}

#[test]
fn validate_accepts_a_valid_policy() {
    let output = ecr_janitor(&["validate", "--policy", "tests/fixtures/policy.json"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "tests/fixtures/policy.json: valid lifecycle policy (5 rules)\n"
    );
}

#[test]
fn validate_reports_every_error_and_exits_2() {
    let output = ecr_janitor(&["validate", "--policy", "tests/fixtures/invalid-policy.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), golden("invalid-policy.stderr"));
}

#[test]
fn preview_rejects_an_invalid_policy_like_validate() {
    let output = ecr_janitor(&[
        "preview",
        "--policy",
        "tests/fixtures/invalid-policy.json",
        "--images",
        "tests/fixtures/images.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), golden("invalid-policy.stderr"));
}

#[test]
fn a_missing_file_is_named_and_exits_2() {
    let output = ecr_janitor(&["validate", "--policy", "tests/fixtures/absent.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .starts_with("ecr-janitor: cannot read policy file tests/fixtures/absent.json: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bad_images_file_names_the_image_and_field() {
    let output = ecr_janitor(&[
        "preview",
        "--policy",
        "tests/fixtures/policy.json",
        "--images",
        "tests/fixtures/bad-images.json",
        "--now",
        NOW,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr(&output), golden("bad-images.stderr"));
}

#[test]
fn a_bad_now_is_rejected_by_the_argument_parser() {
    let output = ecr_janitor(&[
        "preview",
        "--policy",
        "tests/fixtures/policy.json",
        "--images",
        "tests/fixtures/images.json",
        "--now",
        "yesterday",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid value 'yesterday' for '--now <RFC3339>'"),
        "{}",
        stderr(&output)
    );
}

/// A future `--now` would judge ages (and `minimumAgeDays`) by a clock that is not
/// real: an enforced sweep refuses it before reaching any AWS endpoint.
#[test]
fn an_enforced_sweep_refuses_another_clock() {
    let output = Command::new(env!("CARGO_BIN_EXE_ecr-janitor"))
        .args([
            "sweep",
            "--repository",
            "app",
            "--enforce",
            "--now",
            "2030-01-01T00:00:00Z",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Nothing listens here: reaching AWS at all would fail with exit 1, not 2.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("the ecr-janitor binary runs");
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with(
            "ecr-janitor: --now only answers \"what would a sweep do then\" and cannot be combined with --enforce"
        ),
        "{}",
        stderr(&output)
    );
}

/// A cosign signature stored by tag follows the image it names: kept with it, and not
/// counted by "keep the newest one" on its own; `--no-tagged-artifacts` counts it.
#[test]
fn preview_treats_cosign_tags_as_followers_of_their_image() {
    let (old, new) = ("a".repeat(64), "b".repeat(64));
    let image = |digest: &str, tag: &str, pushed: &str| {
        serde_json::json!({"imageDigest": format!("sha256:{digest}"), "imageTags": [tag],
            "imagePushedAt": pushed,
            "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"})
    };
    let images = serde_json::json!({"imageDetails": [
        image(&old, "v1", "2026-01-01T00:00:00Z"),
        image(&new, "v2", "2026-02-01T00:00:00Z"),
        image(&"c".repeat(64), &format!("sha256-{new}.sig"), "2026-03-01T00:00:00Z"),
    ]});
    let policy = serde_json::json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any",
        "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]});
    let dir = tempfile::tempdir().expect("temp dir");
    let (images_path, policy_path) = (
        dir.path().join("images.json"),
        dir.path().join("policy.json"),
    );
    std::fs::write(&images_path, images.to_string()).expect("write images");
    std::fs::write(&policy_path, policy.to_string()).expect("write policy");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "preview",
            "--policy",
            policy_path.to_str().expect("path"),
            "--images",
            images_path.to_str().expect("path"),
            "--now",
            NOW,
            "--format",
            "table",
        ];
        args.extend(extra);
        let output = ecr_janitor(&args);
        assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
        stdout(&output)
    };
    let followed = run(&[]);
    let signature_line = followed
        .lines()
        .find(|line| line.contains(".sig"))
        .expect("the signature's line");
    assert!(
        signature_line.contains("its subject sha256:bbbbbbbbbbbb is kept"),
        "{followed}"
    );
    assert!(followed.contains("1 to expire"), "{followed}");
    let counted = run(&["--no-tagged-artifacts"]);
    assert!(counted.contains("2 to expire"), "{counted}");
}

#[test]
fn exclude_pull_times_takes_only_an_iam_role_or_user() {
    let output = ecr_janitor(&["exclude-pull-times", "--principal-arn", "not-an-arn"]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "ecr-janitor: --principal-arn \"not-an-arn\" is not an IAM role or user ARN\n"
    );
}

/// Runs `report` with `args` pointed at an endpoint where nothing listens: a test that
/// reached AWS would fail with exit 1, not with the usage errors asserted here.
fn report_offline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecr-janitor"))
        .arg("report")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("the ecr-janitor binary runs")
}

#[test]
fn report_needs_a_configuration_or_a_repository_and_a_file_for_html() {
    let output = report_offline(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "the following required arguments were not provided:\n  --config <CONFIG.json>"
        ),
        "{}",
        stderr(&output)
    );
    let output = report_offline(&["--repository", "app", "--format", "html"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .contains("the following required arguments were not provided:\n  --output <FILE>"),
        "{}",
        stderr(&output)
    );
    let output = report_offline(&["--repository", "Not/Valid"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "ecr-janitor: --repository \"Not/Valid\" is not a valid ECR repository name\n"
    );
}

#[test]
fn report_names_the_bad_price_exactly_before_reaching_aws() {
    let folder = tempfile::tempdir().expect("folder");
    let prices = folder.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"currency": "USD", "standard": [{"perGbMonth": 0.1}],
            "archive": [{"perGbMonth": 0.07}, {"upToGb": 10, "perGbMonth": 0.1}]}"#,
    )
    .expect("prices file");
    let path = prices.to_string_lossy().into_owned();
    let output = report_offline(&["--repository", "app", "--prices", &path]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(
        stderr(&output),
        format!("ecr-janitor: {path}: (document).archive[0].upToGb: every tier but the last needs an upper bound\n")
    );
    let output = report_offline(&["--repository", "app", "--standard-price=-0.1"]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "ecr-janitor: prices.standard[0].perGbMonth: must be a price of 0 or more\n"
    );
}

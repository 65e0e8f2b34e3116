//! `ecr-janitor preview`: what a lifecycle policy would do to a repository's images.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use janitor::config::{display_json_path, json_error_message};
use janitor::lifecycle::{
    attach_tagged_artifacts, evaluate, parse_describe_images, Action, EvaluationInput, ImageRecord,
    KeepReason, LifecyclePolicy, Outcome, Plan,
};
use serde::Serialize;

use crate::input;
use crate::table::{self, short};

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The lifecycle policy JSON, exactly as given to PutLifecyclePolicy.
    #[arg(long, value_name = "POLICY.json")]
    policy: PathBuf,
    /// The output of `aws ecr describe-images --output json` (use `--filter imageStatus=ANY`
    /// to include archived images).
    #[arg(long, value_name = "IMAGES.json")]
    images: PathBuf,
    /// Image indexes and the child digests they reference: {"sha256:index": ["sha256:child", ...]}.
    #[arg(long, value_name = "CHILDREN.json")]
    index_children: Option<PathBuf>,
    /// The evaluation instant (RFC 3339); defaults to now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    now: Option<DateTime<Utc>>,
    /// `json` lists the actions; `table` shows every image and why it is kept.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Treat images tagged `sha256-<digest>.<suffix>` (cosign signatures, attestations,
    /// SBOMs) as images of their own instead of as followers of the image they name.
    #[arg(long)]
    no_tagged_artifacts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|error| format!("not an RFC 3339 timestamp ({error}), e.g. 2026-01-31T12:00:00Z"))
}

pub fn run(args: &PreviewArgs) -> ExitCode {
    let (policy, mut images, index_children) = match read_inputs(args) {
        Ok(inputs) => inputs,
        Err(message) => return input::invalid(&message),
    };
    if !args.no_tagged_artifacts {
        attach_tagged_artifacts(&mut images);
    }
    let protected = HashMap::new();
    let plan = evaluate(
        &policy,
        &EvaluationInput {
            images: &images,
            index_children: &index_children,
            protected: &protected,
            now: args.now.unwrap_or_else(Utc::now),
        },
    );
    input::write_stdout(&match args.format {
        Format::Json => json_report(&plan),
        Format::Table => table_report(&images, &plan),
    })
}

type IndexChildren = HashMap<String, Vec<String>>;

fn read_inputs(
    args: &PreviewArgs,
) -> Result<(LifecyclePolicy, Vec<ImageRecord>, IndexChildren), String> {
    let policy = input::read_policy(&args.policy)?;
    let images = parse_describe_images(&input::read_text(&args.images, "images")?)
        .map_err(|error| format!("{}: {error}", args.images.display()))?;
    let index_children = match &args.index_children {
        Some(path) => read_index_children(path)?,
        None => HashMap::new(),
    };
    Ok((policy, images, index_children))
}

fn read_index_children(path: &Path) -> Result<IndexChildren, String> {
    let text = input::read_text(path, "index children")?;
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = display_json_path("", error.path());
        format!(
            "{}: {}: {} at line {} column {} (expected {{\"sha256:index\": [\"sha256:child\", ...]}})",
            path.display(),
            if field.is_empty() { "document" } else { &field },
            json_error_message(error.inner()),
            error.inner().line(),
            error.inner().column()
        )
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'p> {
    actions: Vec<JsonAction<'p>>,
    kept_count: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonAction<'p> {
    image_digest: &'p str,
    action: Action,
    rule_priority: u32,
}

fn json_report(plan: &Plan) -> String {
    let actions: Vec<JsonAction> = plan
        .decisions
        .iter()
        .filter_map(|decision| match decision.outcome {
            Outcome::Act {
                action,
                rule_priority,
            } => Some(JsonAction {
                image_digest: &decision.digest,
                action,
                rule_priority,
            }),
            Outcome::Keep { .. } => None,
        })
        .collect();
    let report = JsonReport {
        kept_count: plan.decisions.len() - actions.len(),
        actions,
    };
    // Serializing plain structs of strings and integers cannot fail.
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

fn table_report(images: &[ImageRecord], plan: &Plan) -> String {
    let by_digest: HashMap<&str, &ImageRecord> = images
        .iter()
        .map(|image| (image.digest.as_str(), image))
        .collect();
    let mut rows = vec![[
        "DIGEST".to_owned(),
        "TAGS".to_owned(),
        "PUSHED".to_owned(),
        "DECISION".to_owned(),
        "RULE / REASON".to_owned(),
    ]];
    let (mut expired, mut transitioned) = (0, 0);
    for decision in &plan.decisions {
        let image = by_digest.get(decision.digest.as_ref());
        let tags = image
            .filter(|image| !image.tags.is_empty())
            .map_or_else(|| "<untagged>".to_owned(), |image| image.tags.join(","));
        let pushed = image.map_or_else(String::new, |image| {
            image.pushed_at.to_rfc3339_opts(SecondsFormat::Secs, true)
        });
        let (verdict, why) = match &decision.outcome {
            Outcome::Act {
                action,
                rule_priority,
            } => {
                let verdict = match action {
                    Action::Expire => {
                        expired += 1;
                        "expire"
                    }
                    Action::Transition => {
                        transitioned += 1;
                        "transition"
                    }
                };
                (verdict, format!("rule {rule_priority}"))
            }
            Outcome::Keep { reason } => ("keep", keep_reason(reason)),
        };
        rows.push([
            short(&decision.digest).to_owned(),
            tags,
            pushed,
            verdict.to_owned(),
            why,
        ]);
    }
    let mut text = table::render(&rows);
    let kept = plan.decisions.len() - expired - transitioned;
    text.push_str(&format!(
        "\n{expired} to expire, {transitioned} to transition, {kept} kept\n"
    ));
    text
}

fn keep_reason(reason: &KeepReason) -> String {
    match reason {
        KeepReason::NotSelected => "not selected by any rule".to_owned(),
        KeepReason::KeptByRule { rule_priority } => format!("kept by rule {rule_priority}"),
        KeepReason::Protected { reason } => format!("protected: {reason}"),
        KeepReason::ReferencedByIndex { index_digest } => {
            format!("referenced by index {}", short(index_digest))
        }
        KeepReason::SubjectKept { subject_digest } => {
            format!("its subject {} is kept", short(subject_digest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_children_cut_short_say_where_without_an_unnamed_path_segment() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("children.json");
        std::fs::write(&file, r#"{"sha256:index": ["sha256:a""#).expect("written");
        let message = read_index_children(&file).expect_err("truncated");
        assert_eq!(
            message,
            format!(
                "{}: sha256:index: unexpected end of file at line 1 column 28 (expected {{\"sha256:index\": [\"sha256:child\", ...]}})",
                file.display()
            )
        );
    }
}

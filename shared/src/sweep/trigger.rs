//! What started a sweep: an EventBridge scheduled rule, an EventBridge Scheduler
//! schedule (whose input arrives without any envelope), or a `Sweep Repository` event
//! from the janitor's own bus (one repository, published by a fanned-out run, or by a
//! sweep that ran out of time and continues where it stopped).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::aws::bus::EVENT_SOURCE;
use crate::targets::config::{is_account_id, is_region_name};
use crate::targets::Target;
use crate::untrusted::excerpt;

/// `detail-type` of the per-repository trigger the sweeper publishes when it fans out.
pub const SWEEP_REPOSITORY: &str = "Sweep Repository";
/// `detail-type` of the request to gather one target's workloads into a run's in-use
/// snapshot (the first stage of an organization-wide run).
pub const GATHER_IN_USE: &str = "Gather In Use";
/// `detail-type` of the request to fan out one target's repositories (once the run's
/// in-use snapshot is assembled).
pub const SWEEP_TARGET: &str = "Sweep Target";
/// `detail-type` of an EventBridge scheduled rule's event.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";
/// `source` of an EventBridge scheduled rule's event.
pub const SCHEDULED_SOURCE: &str = "aws.events";

/// ECR's repository name pattern (2–256 characters).
static REPOSITORY_NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
        .unwrap_or_else(|err| unreachable!("constant regex: {err}"))
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "detail")]
pub enum SweepTrigger {
    /// An EventBridge scheduled rule fired: sweep every configured repository.
    Scheduled,
    /// EventBridge Scheduler sent `{"sweep": "all"}`: the same as [`SweepTrigger::Scheduled`].
    SweepAll,
    /// Sweep one repository of the hub's own registry.
    Repository(String),
    /// Sweep one repository of a target's registry.
    TargetRepository(TargetRepository),
    /// Carry on with the sweep of one repository that ran out of time.
    Continue(Continuation),
    /// Gather one target's workloads into a run's in-use snapshot.
    GatherInUse(GatherRequest),
    /// List one target's repositories and fan out their sweeps.
    SweepTarget(Target),
}

/// One repository of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRepository {
    #[serde(flatten)]
    pub target: Target,
    pub repository_name: String,
}

/// One target's part of an organization-wide run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatherRequest {
    pub run_id: String,
    #[serde(flatten)]
    pub target: Target,
    /// How many targets the run has: the parts to wait for before assembling.
    pub targets: usize,
}

/// Where a sweep that ran out of time stopped: enough to plan again exactly as it
/// planned. The next invocation evaluates as of the same instant and only the images
/// that were already in the repository when the first one listed it (anything pushed
/// or restored since is kept): so it acts only on what the first plan would have acted
/// on, never on an image the first plan kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Continuation {
    pub repository_name: String,
    /// The target whose registry holds the repository; `None` for the hub's own.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub target: Option<Target>,
    /// The instant the first plan was made as of.
    pub as_of: DateTime<Utc>,
    /// When the first invocation began listing the repository.
    pub listed_at: DateTime<Utc>,
}

/// Input that is not a sweeper trigger. It can never succeed, so it is reported and
/// dropped rather than retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a lifecycle-sweeper trigger: {field}: {message}")]
pub struct TriggerError {
    /// The offending field (`detail-type`, `detail.repositoryName`, `sweep`, ...).
    pub field: String,
    pub message: String,
}

fn reject(field: &str, message: impl Into<String>) -> TriggerError {
    TriggerError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A JSON value of the input, quoted short (see [`crate::untrusted`]).
fn quote(value: Option<&Value>) -> String {
    value.map_or_else(
        || "nothing".to_owned(),
        |value| excerpt(&value.to_string()).into_owned(),
    )
}

/// Whether `name` is a valid ECR repository name.
pub fn is_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len()) && REPOSITORY_NAME.is_match(name)
}

impl SweepTrigger {
    pub fn parse(event: &Value) -> Result<SweepTrigger, TriggerError> {
        let Some(object) = event.as_object() else {
            return Err(reject("(event)", "expected a JSON object"));
        };
        if let Some(sweep) = object.get("sweep") {
            return match sweep.as_str() {
                Some("all") if object.len() == 1 => Ok(SweepTrigger::SweepAll),
                Some("all") => Err(reject(
                    "(event)",
                    "a Scheduler input must be exactly {\"sweep\": \"all\"}",
                )),
                _ => Err(reject(
                    "sweep",
                    format!("expected \"all\", got {}", quote(Some(sweep))),
                )),
            };
        }
        let detail_type = match object.get("detail-type") {
            Some(Value::String(detail_type)) => detail_type.as_str(),
            Some(other) => {
                return Err(reject(
                    "detail-type",
                    format!("expected a string, got {}", quote(Some(other))),
                ))
            }
            None => {
                return Err(reject(
                    "detail-type",
                    "missing: expected an EventBridge event or {\"sweep\": \"all\"}",
                ))
            }
        };
        match detail_type {
            SCHEDULED_EVENT => {
                let source = object.get("source").and_then(Value::as_str);
                if source != Some(SCHEDULED_SOURCE) {
                    return Err(reject(
                        "source",
                        format!(
                            "expected {SCHEDULED_SOURCE:?} for {SCHEDULED_EVENT}, got {}",
                            quote(object.get("source"))
                        ),
                    ));
                }
                match object.get("detail") {
                    Some(Value::Object(detail)) if detail.is_empty() => Ok(SweepTrigger::Scheduled),
                    other => Err(reject(
                        "detail",
                        format!("expected {{}} for {SCHEDULED_EVENT}, got {}", quote(other)),
                    )),
                }
            }
            SWEEP_REPOSITORY | GATHER_IN_USE | SWEEP_TARGET => {
                let source = object.get("source").and_then(Value::as_str);
                if source != Some(EVENT_SOURCE) {
                    return Err(reject(
                        "source",
                        format!(
                            "expected {EVENT_SOURCE:?} for {detail_type}, got {}",
                            quote(object.get("source"))
                        ),
                    ));
                }
                let detail = object.get("detail");
                match detail_type {
                    GATHER_IN_USE => parse_gather(detail),
                    SWEEP_TARGET => Ok(SweepTrigger::SweepTarget(
                        target_of(detail)?.ok_or_else(|| reject("detail.account", "missing"))?,
                    )),
                    _ => parse_sweep_repository(detail),
                }
            }
            other => Err(reject(
                "detail-type",
                format!(
                    "expected {SCHEDULED_EVENT:?}, {SWEEP_REPOSITORY:?}, {GATHER_IN_USE:?} or {SWEEP_TARGET:?}, got {:?}",
                    excerpt(other)
                ),
            )),
        }
    }
}

/// The run ids this janitor writes: a UTC timestamp to the millisecond.
fn is_run_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".-".contains(&byte))
}

/// `detail.account` and `detail.region`, both or neither.
fn target_of(detail: Option<&Value>) -> Result<Option<Target>, TriggerError> {
    let field = |name: &str| detail.and_then(|detail| detail.get(name));
    match (field("account"), field("region")) {
        (None, None) => Ok(None),
        (Some(Value::String(account)), Some(Value::String(region)))
            if is_account_id(account) && is_region_name(region) =>
        {
            Ok(Some(Target::new(account, region)))
        }
        (Some(Value::String(account)), Some(_)) if is_account_id(account) => Err(reject(
            "detail.region",
            format!("expected a Region name, got {}", quote(field("region"))),
        )),
        (Some(_), Some(_)) => Err(reject(
            "detail.account",
            format!(
                "expected a 12-digit account id, got {}",
                quote(field("account"))
            ),
        )),
        (Some(_), None) => Err(reject("detail.region", "missing beside detail.account")),
        (None, Some(_)) => Err(reject("detail.account", "missing beside detail.region")),
    }
}

fn parse_gather(detail: Option<&Value>) -> Result<SweepTrigger, TriggerError> {
    let run_id = match detail.and_then(|detail| detail.get("runId")) {
        Some(Value::String(run_id)) if is_run_id(run_id) => run_id.clone(),
        other => {
            return Err(reject(
                "detail.runId",
                format!("expected a run id, got {}", quote(other)),
            ))
        }
    };
    let target = target_of(detail)?.ok_or_else(|| reject("detail.account", "missing"))?;
    let targets = match detail.and_then(|detail| detail.get("targets")) {
        Some(Value::Number(number)) => number
            .as_u64()
            .filter(|&count| count >= 1)
            .and_then(|count| usize::try_from(count).ok()),
        _ => None,
    }
    .ok_or_else(|| {
        reject(
            "detail.targets",
            format!(
                "expected a count of at least 1, got {}",
                quote(detail.and_then(|detail| detail.get("targets")))
            ),
        )
    })?;
    Ok(SweepTrigger::GatherInUse(GatherRequest {
        run_id,
        target,
        targets,
    }))
}

fn parse_sweep_repository(detail: Option<&Value>) -> Result<SweepTrigger, TriggerError> {
    let name = detail.and_then(|detail| detail.get("repositoryName"));
    let name = match name {
        Some(Value::String(name)) if is_repository_name(name) => name.clone(),
        Some(Value::String(name)) => {
            return Err(reject(
                "detail.repositoryName",
                format!("{:?} is not a valid ECR repository name", excerpt(name)),
            ))
        }
        Some(other) => {
            return Err(reject(
                "detail.repositoryName",
                format!("expected a string, got {}", quote(Some(other))),
            ))
        }
        None => return Err(reject("detail.repositoryName", "missing")),
    };
    let target = target_of(detail)?;
    let Some(continuation) = detail.and_then(|detail| detail.get("continuation")) else {
        return Ok(match target {
            Some(target) => SweepTrigger::TargetRepository(TargetRepository {
                target,
                repository_name: name,
            }),
            None => SweepTrigger::Repository(name),
        });
    };
    if !continuation.is_object() {
        return Err(reject(
            "detail.continuation",
            format!("expected an object, got {}", quote(Some(continuation))),
        ));
    }
    let instant = |field: &str| {
        continuation
            .get(field)
            .and_then(Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|instant| instant.with_timezone(&Utc))
            .ok_or_else(|| {
                reject(
                    &format!("detail.continuation.{field}"),
                    format!(
                        "expected an RFC 3339 time, got {}",
                        quote(continuation.get(field))
                    ),
                )
            })
    };
    Ok(SweepTrigger::Continue(Continuation {
        repository_name: name,
        target,
        as_of: instant("asOf")?,
        listed_at: instant("listedAt")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sweep_repository(detail: Value) -> Value {
        json!({
            "version": "0", "id": "x", "detail-type": "Sweep Repository", "source": "ecr-janitor",
            "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail
        })
    }

    #[test]
    fn scheduled_rule_event_sweeps_everything() {
        let text = include_str!("../../../tests/events/eventbridge-scheduled-event-rule.json");
        let event: Value = serde_json::from_str(text).expect("sample");
        assert_eq!(SweepTrigger::parse(&event), Ok(SweepTrigger::Scheduled));
    }

    #[test]
    fn scheduler_input_has_no_envelope() {
        assert_eq!(
            SweepTrigger::parse(&json!({"sweep": "all"})),
            Ok(SweepTrigger::SweepAll)
        );
        assert_eq!(
            SweepTrigger::parse(&json!({"sweep": "some"})).map_err(|err| err.field),
            Err("sweep".to_owned())
        );
        assert_eq!(
            SweepTrigger::parse(&json!({"sweep": "all", "extra": 1})).map_err(|err| err.field),
            Err("(event)".to_owned())
        );
    }

    #[test]
    fn sweep_repository_names_one_repository() {
        assert_eq!(
            SweepTrigger::parse(&sweep_repository(json!({"repositoryName": "team-a/api"}))),
            Ok(SweepTrigger::Repository("team-a/api".to_owned()))
        );
    }

    #[test]
    fn malformed_events_name_the_field() {
        let cases = [
            (json!([1, 2]), "(event)"),
            (json!({}), "detail-type"),
            (json!({"detail-type": 3}), "detail-type"),
            (
                json!({"detail-type": "ECR Image Action", "detail": {}}),
                "detail-type",
            ),
            (sweep_repository(json!({})), "detail.repositoryName"),
            (
                sweep_repository(json!({"repositoryName": 7})),
                "detail.repositoryName",
            ),
            (
                sweep_repository(json!({"repositoryName": "Bad Name"})),
                "detail.repositoryName",
            ),
            (
                sweep_repository(json!({"repositoryName": "a"})),
                "detail.repositoryName",
            ),
        ];
        for (event, field) in cases {
            let err = SweepTrigger::parse(&event).expect_err("malformed");
            assert_eq!(err.field, field, "{event}");
        }
        let mut foreign = sweep_repository(json!({"repositoryName": "api"}));
        foreign["source"] = json!("someone-else");
        assert_eq!(
            SweepTrigger::parse(&foreign).map_err(|err| err.field),
            Err("source".to_owned())
        );
    }

    #[test]
    fn repository_names_follow_ecr() {
        for good in ["ab", "team-a/api", "a.b_c-d/e", &"a".repeat(256)] {
            assert!(is_repository_name(good), "{good}");
        }
        for bad in [
            "a",
            "A/b",
            "team-a/",
            "/api",
            "a//b",
            "a--b",
            &"a".repeat(257),
        ] {
            assert!(!is_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_scheduled_event_must_come_from_the_scheduler_with_an_empty_detail() {
        for (event, field) in [
            (json!({"detail-type": "Scheduled Event"}), "source"),
            (
                json!({"detail-type": "Scheduled Event", "source": "someone"}),
                "source",
            ),
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
                "detail",
            ),
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {"x": 1}}),
                "detail",
            ),
        ] {
            assert_eq!(
                SweepTrigger::parse(&event).map_err(|err| err.field),
                Err(field.to_owned()),
                "{event}"
            );
        }
    }

    #[test]
    fn a_continuation_carries_the_first_plan_s_instant_and_listing_time() {
        let event = sweep_repository(json!({"repositoryName": "team-a/api",
            "continuation": {"asOf": "2026-01-01T00:00:00Z", "listedAt": "2026-01-01T00:00:01.500Z"}}));
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc)
        };
        assert_eq!(
            SweepTrigger::parse(&event),
            Ok(SweepTrigger::Continue(Continuation {
                repository_name: "team-a/api".into(),
                target: None,
                as_of: at("2026-01-01T00:00:00Z"),
                listed_at: at("2026-01-01T00:00:01.500Z"),
            }))
        );
        for (continuation, field) in [
            (json!({"asOf": 3}), "detail.continuation.asOf"),
            (
                json!({"asOf": "2026-01-01T00:00:00Z"}),
                "detail.continuation.listedAt",
            ),
            (
                json!(["other", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]),
                "detail.continuation",
            ),
        ] {
            let broken = sweep_repository(
                json!({"repositoryName": "team-a/api", "continuation": continuation}),
            );
            assert_eq!(
                SweepTrigger::parse(&broken).map_err(|err| err.field),
                Err(field.to_owned())
            );
        }
    }

    #[test]
    fn huge_untrusted_values_are_quoted_short() {
        let huge = "A".repeat(250_000);
        let err = SweepTrigger::parse(&sweep_repository(json!({"repositoryName": huge})))
            .expect_err("invalid name");
        assert!(err.message.len() < 300, "{} bytes", err.message.len());
        assert!(err.message.contains("(250000 bytes)"), "{}", err.message);
        let err = SweepTrigger::parse(&json!({"detail-type": huge})).expect_err("unknown");
        assert!(err.message.len() < 400, "{} bytes", err.message.len());
    }
}

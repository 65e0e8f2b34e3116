//! Fuzzing of the three functions' event parsing, the only code that reads a Lambda
//! payload before anything acts on it: the tag-enforcer's `classify`, the
//! scan-forwarder's `parse` (with the pure steps that turn its result into the findings
//! or the image to forward) and the lifecycle-sweeper's `SweepTrigger::parse`.
//!
//! Each function gets two properties, one over arbitrary JSON and one over mutations of
//! the valid sample events (`tests/events/` and the sweeper's own triggers): dropped
//! fields, changed types, arbitrary values, deep nesting, 100 KB strings, unicode,
//! another function's `detail-type`/`source`. Mutations reach far deeper than random
//! JSON, which almost never looks like an event. Every property asserts that parsing
//! never panics and that whatever would be acted on is exactly what a valid event of
//! the right kind says.
//!
//! Case counts: proptest's default (256 per property, a few seconds in `make test`),
//! or `PROPTEST_CASES`. `scripts/fuzz-events.sh` runs each property with 100,000 cases
//! in a release build and prints the time each took.
//!
//! Inputs the fuzzing found that the code once acted on are kept at the end as
//! regression tests with their minimal input.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use janitor::findings::basic::scanned_image;
use janitor::findings::event::{parse, EventError, ScanEvent};
use janitor::findings::FindingSource;
use janitor::sweep::SweepTrigger;
use janitor::tags::event::{classify, Classified, Ignored, MalformedEvent};
use janitor::targets::Target;
use janitor::untrusted::excerpt;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};
use regex::Regex;
use serde_json::{json, Map, Number, Value};

// ---- what a valid event is, restated from AWS's documentation ----

/// ECR's `repositoryName` pattern; the length (2–256) is checked separately.
static ECR_REPOSITORY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
        .expect("constant regex")
});

/// An image tag as ECR and the OCI distribution spec accept it (ECR allows 300 characters).
static ECR_IMAGE_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$").expect("constant regex"));

fn is_ecr_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len()) && ECR_REPOSITORY_NAME.is_match(name)
}

fn is_ecr_image_tag(tag: &str) -> bool {
    ECR_IMAGE_TAG.is_match(tag)
}

/// An image digest as ECR names an image: `sha256:` and lower-case hex digits, at most
/// the 64 of a sha256. Fewer are accepted: AWS's own sample push event, which the
/// enforcer must accept, has 60.
fn is_image_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        (1..=64).contains(&hex.len())
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The `(source, detail-type)` pairs the scan-forwarder handles.
const INSPECTOR_FINDING: (&str, &str) = ("aws.inspector2", "Inspector2 Finding");
const BASIC_SCAN: (&str, &str) = ("aws.ecr", "ECR Image Scan");
const INSPECTOR_SCAN: (&str, &str) = ("aws.inspector2", "Inspector2 Scan");

/// A string as the forwarder reads it: trimmed.
fn trimmed(value: &Value) -> Option<&str> {
    value.as_str().map(str::trim)
}

fn text<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

/// `(source, detail-type)` of an event, when both are strings.
fn kind_of(event: &Value) -> Option<(&str, &str)> {
    Some((text(event, "source")?, text(event, "detail-type")?))
}

/// A field that says nothing: absent, `null` or empty.
fn is_blank(field: Option<&Value>) -> bool {
    matches!(field, None | Some(Value::Null)) || field.and_then(Value::as_str) == Some("")
}

/// Whether the EventBridge envelope's typed fields have their types: an object with
/// string `detail-type` and `source`, and `id`, `account`, `region` strings or absent.
fn is_well_typed_envelope(event: &Value) -> bool {
    let Some(object) = event.as_object() else {
        return false;
    };
    let optional_text = |field: &str| {
        matches!(
            object.get(field),
            None | Some(Value::Null | Value::String(_))
        )
    };
    object.get("detail-type").is_some_and(Value::is_string)
        && object.get("source").is_some_and(Value::is_string)
        && ["id", "account", "region"].into_iter().all(optional_text)
}

// ---- the oracles: what each function may make of an event ----

/// The tag-enforcer judges a tag only for a successful `PUSH` in an `ECR Image Action`
/// event from `aws.ecr`, and every other outcome names what the input really says.
fn check_tag_enforcer(event: &Value) -> Result<(), TestCaseError> {
    let detail = event.get("detail");
    let detail_field = |field: &str| detail.and_then(|detail| detail.get(field));
    let detail_text = |field: &str| detail_field(field).and_then(Value::as_str);
    let is_image_action = kind_of(event) == Some(("aws.ecr", "ECR Image Action"));
    let is_successful_push =
        detail_text("action-type") == Some("PUSH") && detail_text("result") == Some("SUCCESS");
    match classify(event.clone()) {
        Ok(Classified::Push(push)) => {
            prop_assert!(is_image_action && is_successful_push);
            prop_assert_eq!(
                detail_text("repository-name"),
                Some(push.repository_name.as_str())
            );
            prop_assert_eq!(
                detail_text("image-digest"),
                Some(push.image_digest.as_str())
            );
            prop_assert_eq!(detail_text("image-tag"), Some(push.image_tag.as_str()));
            prop_assert!(is_ecr_repository_name(&push.repository_name));
            prop_assert!(is_ecr_image_tag(&push.image_tag));
            prop_assert!(is_image_digest(&push.image_digest));
        }
        Ok(Classified::Ignored(Ignored::NotAnImageAction {
            source,
            detail_type,
        })) => {
            prop_assert!(!is_image_action);
            prop_assert_eq!(text(event, "source").map(excerpt), Some(source.into()));
            prop_assert_eq!(
                text(event, "detail-type").map(excerpt),
                Some(detail_type.into())
            );
        }
        Ok(Classified::Ignored(Ignored::NotAPush { action_type })) => {
            prop_assert!(is_image_action);
            prop_assert_ne!(detail_text("action-type"), Some("PUSH"));
            prop_assert_eq!(
                detail_text("action-type").map(excerpt),
                Some(action_type.into())
            );
        }
        Ok(Classified::Ignored(Ignored::NotSuccessful { result })) => {
            prop_assert!(is_image_action && detail_text("action-type") == Some("PUSH"));
            prop_assert_ne!(detail_text("result"), Some("SUCCESS"));
            prop_assert_eq!(detail_text("result").map(excerpt), Some(result.into()));
        }
        Ok(Classified::Ignored(Ignored::Untagged {
            repository_name,
            image_digest,
        })) => {
            prop_assert!(is_image_action && is_successful_push);
            prop_assert!(is_blank(detail_field("image-tag")));
            prop_assert_eq!(
                detail_text("repository-name"),
                Some(repository_name.as_str())
            );
            prop_assert_eq!(detail_text("image-digest"), Some(image_digest.as_str()));
            prop_assert!(is_ecr_repository_name(&repository_name));
            prop_assert!(is_image_digest(&image_digest));
        }
        Err(MalformedEvent::MissingField { field, .. }) => {
            prop_assert!(is_image_action);
            prop_assert!(
                is_blank(detail_field(field)),
                "detail.{} is not missing",
                field
            );
        }
        Err(MalformedEvent::InvalidField { field, value, .. }) => {
            prop_assert!(is_image_action && is_successful_push);
            let given = detail_text(field).unwrap_or_default();
            prop_assert_eq!(excerpt(given), value.as_str());
            let valid = match field {
                "repository-name" => is_ecr_repository_name(given),
                "image-digest" => is_image_digest(given),
                "image-tag" => is_ecr_image_tag(given),
                other => return Err(TestCaseError::fail(format!("unexpected field {other}"))),
            };
            prop_assert!(!valid, "a valid detail.{} {:?} was rejected", field, given);
        }
        // Nothing is acted on; which field is malformed is serde's to say.
        Err(MalformedEvent::Envelope { .. }) => {}
    }
    Ok(())
}

/// The sweeper sweeps everything only on the scheduler's exact shapes, and one
/// repository only on its own `Sweep Repository` event naming a valid repository.
fn check_lifecycle_sweeper(event: &Value) -> Result<(), TestCaseError> {
    // A rejection sweeps nothing, whatever it says.
    let Ok(trigger) = SweepTrigger::parse(event) else {
        return Ok(());
    };
    match trigger {
        SweepTrigger::SweepAll => prop_assert_eq!(event, &json!({"sweep": "all"})),
        SweepTrigger::Scheduled => {
            prop_assert_eq!(kind_of(event), Some(("aws.events", "Scheduled Event")));
            prop_assert_eq!(event.get("detail"), Some(&json!({})));
            prop_assert!(event.get("sweep").is_none());
        }
        SweepTrigger::Repository(name) => {
            check_sweep_repository_event(event, &name)?;
            prop_assert!(event["detail"].get("continuation").is_none());
        }
        SweepTrigger::Continue(continuation) => {
            check_sweep_repository_event(event, &continuation.repository_name)?;
            let given = &event["detail"]["continuation"];
            let time =
                |field: &str| text(given, field).and_then(|at| at.parse::<DateTime<Utc>>().ok());
            prop_assert_eq!(time("asOf"), Some(continuation.as_of));
            prop_assert_eq!(time("listedAt"), Some(continuation.listed_at));
            check_target_of(event, continuation.target.as_ref())?;
        }
        SweepTrigger::TargetRepository(request) => {
            check_sweep_repository_event(event, &request.repository_name)?;
            check_target_of(event, Some(&request.target))?;
        }
        SweepTrigger::SweepTarget(target) => {
            prop_assert_eq!(kind_of(event), Some(("ecr-janitor", "Sweep Target")));
            check_target_of(event, Some(&target))?;
        }
        SweepTrigger::GatherInUse(request) => {
            prop_assert_eq!(kind_of(event), Some(("ecr-janitor", "Gather In Use")));
            check_target_of(event, Some(&request.target))?;
            prop_assert_eq!(
                text(&event["detail"], "runId"),
                Some(request.run_id.as_str())
            );
            prop_assert!(request.targets >= 1);
        }
    }
    Ok(())
}

/// A trigger names a target only when its detail names a 12-digit account and a
/// Region, and then exactly those.
fn check_target_of(event: &Value, target: Option<&Target>) -> Result<(), TestCaseError> {
    let detail = &event["detail"];
    match target {
        None => {
            prop_assert!(detail.get("account").is_none() && detail.get("region").is_none());
        }
        Some(target) => {
            prop_assert_eq!(text(detail, "account"), Some(target.account.as_str()));
            prop_assert_eq!(text(detail, "region"), Some(target.region.as_str()));
            prop_assert!(
                target.account.len() == 12 && target.account.bytes().all(|b| b.is_ascii_digit())
            );
        }
    }
    Ok(())
}

fn check_sweep_repository_event(event: &Value, name: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(kind_of(event), Some(("ecr-janitor", "Sweep Repository")));
    prop_assert!(event.get("sweep").is_none());
    prop_assert_eq!(event["detail"]["repositoryName"].as_str(), Some(name));
    prop_assert!(
        is_ecr_repository_name(name),
        "invalid repository name {:?}",
        name
    );
    Ok(())
}

/// The scan-forwarder forwards findings, or fetches a basic scan's, only for the three
/// kinds of scan event it handles, and only about the image the event names.
fn check_scan_forwarder(event: &Value) -> Result<(), TestCaseError> {
    let kind = kind_of(event);
    let is_supported = [INSPECTOR_FINDING, BASIC_SCAN, INSPECTOR_SCAN]
        .map(Some)
        .contains(&kind);
    let (origin, parsed) = match parse(event, fixed_now()) {
        Err(EventError::Envelope(_)) => {
            prop_assert!(!is_well_typed_envelope(event));
            return Ok(());
        }
        Err(EventError::Detail { detail_type, .. }) => {
            prop_assert!(is_supported);
            prop_assert_eq!(text(event, "detail-type"), Some(detail_type.as_str()));
            return Ok(());
        }
        Ok(parsed) => parsed,
    };
    prop_assert!(is_well_typed_envelope(event));
    prop_assert_eq!(
        origin.account.as_str(),
        text(event, "account").unwrap_or_default()
    );
    prop_assert_eq!(
        origin.region.as_str(),
        text(event, "region").unwrap_or_default()
    );
    let detail = &event["detail"];
    match parsed {
        ScanEvent::Unsupported => prop_assert!(!is_supported),
        ScanEvent::InspectorScan(_) => prop_assert_eq!(kind, Some(INSPECTOR_SCAN)),
        ScanEvent::BasicScan(scan) => {
            prop_assert_eq!(kind, Some(BASIC_SCAN));
            if let Ok(image) = scanned_image(&scan) {
                prop_assert_eq!(trimmed(&detail["scan-status"]), Some("COMPLETE"));
                prop_assert!(!image.repository.is_empty() && !image.digest.is_empty());
                prop_assert_eq!(
                    trimmed(&detail["repository-name"]),
                    Some(image.repository.as_str())
                );
                prop_assert_eq!(
                    trimmed(&detail["image-digest"]),
                    Some(image.digest.as_str())
                );
                prop_assert_eq!(
                    Some(&image.tags.into_iter().map(Value::String).collect()),
                    detail["image-tags"].as_array()
                );
            }
        }
        ScanEvent::InspectorFinding(finding) => {
            prop_assert_eq!(kind, Some(INSPECTOR_FINDING));
            if let Ok(finding) = finding.to_finding(&origin) {
                prop_assert_eq!(finding.source, FindingSource::Enhanced);
                let image = detail["resources"]
                    .as_array()
                    .and_then(|resources| {
                        resources
                            .iter()
                            .find(|resource| resource["type"] == "AWS_ECR_CONTAINER_IMAGE")
                    })
                    .map(|resource| &resource["details"]["awsEcrContainerImage"]);
                let Some(image) = image else {
                    return Err(TestCaseError::fail("a finding about no container image"));
                };
                prop_assert!(!finding.repository.is_empty() && !finding.digest.is_empty());
                prop_assert_eq!(
                    trimmed(&image["repositoryName"]),
                    Some(finding.repository.as_str())
                );
                prop_assert_eq!(trimmed(&image["imageHash"]), Some(finding.digest.as_str()));
                prop_assert_eq!(
                    trimmed(&detail["packageVulnerabilityDetails"]["vulnerabilityId"]),
                    Some(finding.vulnerability_id.as_str())
                );
            }
        }
    }
    Ok(())
}

/// The forwarder's clock; it only stands in for unreadable timestamps.
fn fixed_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).expect("a valid instant")
}

// ---- arbitrary JSON ----

/// Field names of every event the functions read, so that arbitrary objects often
/// have the fields the parsers look at. The envelope's and the `ECR Image Action`
/// detail's come in the order AWS documents them: the positional mutation writes
/// objects as arrays in this order.
const FIELD_NAMES: &[&str] = &[
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
    "sweep",
    "result",
    "repository-name",
    "image-digest",
    "action-type",
    "image-tag",
    "image-tags",
    "scan-status",
    "finding-severity-counts",
    "repositoryName",
    "continuation",
    "asOf",
    "listedAt",
    "type",
    "details",
    "awsEcrContainerImage",
    "imageHash",
    "packageVulnerabilityDetails",
    "vulnerabilityId",
    "firstObservedAt",
];

const DETAIL_TYPES: &[&str] = &[
    "ECR Image Action",
    "ECR Image Scan",
    "Inspector2 Finding",
    "Inspector2 Scan",
    "Scheduled Event",
    "Sweep Repository",
    "Sweep Completed",
    "Tag Rule Violation",
    "Image Vulnerability Finding",
];

const SOURCES: &[&str] = &[
    "aws.ecr",
    "aws.inspector2",
    "aws.events",
    "aws.scheduler",
    "ecr-janitor",
];

/// Values the parsers compare against, and near misses of them.
const TOKENS: &[&str] = &[
    "PUSH",
    "DELETE",
    "push",
    "SUCCESS",
    "FAILURE",
    "COMPLETE",
    "all",
    "ALL",
    "latest",
    "AWS_ECR_CONTAINER_IMAGE",
    "2026-01-01T00:00:00Z",
    "Dec 3, 2021, 6:02:30 PM",
    "my-repository-name",
    "team-a/api",
    "a",
    "A/b",
    "sha256:",
    "sha256:0",
    "sha512:ab",
    "",
    " ",
    "null",
    "0",
    "-1e400",
];

fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(TOKENS).prop_map(str::to_owned),
        prop::sample::select(DETAIL_TYPES).prop_map(str::to_owned),
        prop::sample::select(SOURCES).prop_map(str::to_owned),
        "[a-z0-9._/-]{0,12}",
        "sha256:[0-9a-fA-F]{0,70}",
        any::<String>(),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json_number() -> impl Strategy<Value = Value> {
    use prop::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // JSON has no NaN or infinities.
        (POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO)
            .prop_map(|float| Number::from_f64(float).map_or(Value::Null, Value::Number)),
    ]
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        json_text().prop_map(Value::String),
    ]
}

fn json_object(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(field_name(), values, 0..8)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

/// Any JSON value, at most 4 levels deep, arrays anywhere (serde's derived
/// `Deserialize` would read a struct from an array of its fields).
fn arbitrary_json() -> BoxedStrategy<Value> {
    json_scalar()
        .prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                json_object(inner),
            ]
        })
        .boxed()
}

// ---- mutations of valid events ----

/// Every valid event the three functions receive: AWS's samples and the sweeper's own
/// triggers (the Scheduler's input, its fan-out and continuation events).
fn valid_events() -> Vec<Value> {
    let samples = [
        include_str!("../../tests/events/ecr-image-action-push-success.json"),
        include_str!("../../tests/events/ecr-image-action-delete-success.json"),
        include_str!("../../tests/events/ecr-image-scan-basic-complete.json"),
        include_str!("../../tests/events/eventbridge-scheduled-event-rule.json"),
        include_str!("../../tests/events/inspector2-finding-ecr-package-vulnerability.json"),
        include_str!("../../tests/events/inspector2-scan-ecr-initial-scan-complete.json"),
    ];
    let sweep_repository = |detail: Value| {
        json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "Sweep Repository", "source": "ecr-janitor",
            "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail
        })
    };
    samples
        .iter()
        .map(|sample| serde_json::from_str(sample).expect("sample events are JSON"))
        .chain([
            json!({"sweep": "all"}),
            sweep_repository(json!({"repositoryName": "team-a/api"})),
            sweep_repository(json!({
                "repositoryName": "team-a/api",
                "continuation": {"asOf": "2026-01-01T00:00:00Z", "listedAt": "2026-01-01T00:00:01.500Z"}
            })),
        ])
        .collect()
}

/// Size of the huge strings: far beyond any field's limit (256 for a repository name,
/// 300 for a tag), as a hostile or broken publisher could send.
const HUGE_BYTES: usize = 100 * 1024;

/// Deepest nesting a mutation creates. The Lambda runtime parses payloads with
/// serde_json, which refuses more than 128 levels: deeper input never reaches the
/// parsers, and the margin leaves room for the other mutations of the same case.
const NESTING_LIMIT: usize = 100;

#[derive(Debug, Clone)]
enum HugeText {
    /// The value's text, repeated.
    Repeated,
    /// The value's text and `a`s: still a valid repository name, tag or hex.
    Padded,
    /// Two-byte characters.
    Accented,
    /// A digest with 100 KB of hex.
    Digest,
}

#[derive(Debug, Clone)]
enum TextChange {
    Prefix(&'static str),
    Suffix(&'static str),
    Uppercase,
    Lowercase,
}

/// Characters that look harmless or invisible: NUL, zero-width space, right-to-left
/// override, combining accent, byte order mark, fullwidth `A`, Cyrillic `а`, whitespace.
const ODD_CHARACTERS: &[&str] = &[
    "\u{0}", "\u{200b}", "\u{202e}", "\u{301}", "\u{feff}", "\u{ff21}", "\u{430}", "é", "🦀", " ",
    "\t", "\n", "/", ".", "-", ":",
];

/// One change to a value inside an event.
#[derive(Debug, Clone)]
enum Mutation {
    /// Drop the field or the array element (the event itself becomes `null`).
    Remove,
    /// Put an arbitrary JSON value in its place.
    Replace(Value),
    /// The same content as another JSON type: a string as a number (its length when it
    /// is not numeric), a number, boolean or object as its JSON text, an array as an
    /// object, `null` as `{}`.
    Retype,
    /// Wrap in `levels` single-field objects or arrays.
    Nest { levels: usize, in_arrays: bool },
    /// Replace with a 100 KB string.
    Huge(HugeText),
    /// Alter a string (or the text of any other value).
    Text(TextChange),
    /// Give the event another kind's `detail-type` and `source`, wherever it applies.
    Kind {
        detail_type: &'static str,
        source: &'static str,
    },
    /// Add a field to an object (to the value's parent when it is not one).
    AddField(String, Value),
    /// An object as the array of its values, in `FIELD_NAMES` order: serde's derived
    /// `Deserialize` reads a struct from the array of its fields in declaration order.
    Positional,
}

fn mutation() -> BoxedStrategy<Mutation> {
    let in_arrays = any::<bool>();
    let mutation = prop_oneof![
        3 => Just(Mutation::Remove),
        3 => arbitrary_json().prop_map(Mutation::Replace),
        2 => Just(Mutation::Retype),
        1 => (1..=NESTING_LIMIT, in_arrays)
            .prop_map(|(levels, in_arrays)| Mutation::Nest { levels, in_arrays }),
        1 => prop_oneof![
            Just(HugeText::Repeated),
            Just(HugeText::Padded),
            Just(HugeText::Accented),
            Just(HugeText::Digest)
        ]
        .prop_map(Mutation::Huge),
        2 => prop_oneof![
            prop::sample::select(ODD_CHARACTERS).prop_map(TextChange::Prefix),
            prop::sample::select(ODD_CHARACTERS).prop_map(TextChange::Suffix),
            Just(TextChange::Uppercase),
            Just(TextChange::Lowercase),
        ]
        .prop_map(Mutation::Text),
        2 => (prop::sample::select(DETAIL_TYPES), prop::sample::select(SOURCES))
            .prop_map(|(detail_type, source)| Mutation::Kind { detail_type, source }),
        1 => (field_name(), arbitrary_json())
            .prop_map(|(name, value)| Mutation::AddField(name, value)),
    ];
    prop_oneof![15 => mutation, 2 => Just(Mutation::Positional)].boxed()
}

/// A valid event after one to four mutations, each at a value picked among all of the
/// event's values at that point.
fn mutated_event(mutation: impl Strategy<Value = Mutation>) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(valid_events()),
        prop::collection::vec((any::<Index>(), mutation), 1..=4),
    )
        .prop_map(|(mut event, mutations)| {
            for (at, mutation) in mutations {
                let paths = value_paths(&event);
                mutate(&mut event, &paths[at.index(paths.len())], mutation);
            }
            event
        })
}

/// One step from a value to one of its children.
#[derive(Debug, Clone)]
enum Step {
    Field(String),
    Element(usize),
}

/// The path to every value of `value`, itself first.
fn value_paths(value: &Value) -> Vec<Vec<Step>> {
    let mut paths = vec![Vec::new()];
    let mut next = 0;
    while next < paths.len() {
        let path = paths[next].clone();
        next += 1;
        let steps: Vec<Step> = match value_at(value, &path) {
            Value::Object(fields) => fields.keys().cloned().map(Step::Field).collect(),
            Value::Array(elements) => (0..elements.len()).map(Step::Element).collect(),
            _ => Vec::new(),
        };
        paths.extend(
            steps
                .into_iter()
                .map(|step| [path.clone(), vec![step]].concat()),
        );
    }
    paths
}

fn value_at<'a>(value: &'a Value, path: &[Step]) -> &'a Value {
    path.iter().fold(value, |value, step| match step {
        Step::Field(name) => &value[name.as_str()],
        Step::Element(index) => &value[*index],
    })
}

fn value_at_mut<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |value, step| match step {
        Step::Field(name) => &mut value[name.as_str()],
        Step::Element(index) => &mut value[*index],
    })
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(elements) => 1 + elements.iter().map(depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The text of a value: a string's own, any other value's JSON.
fn text_of(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn mutate(event: &mut Value, path: &[Step], mutation: Mutation) {
    let room = NESTING_LIMIT.saturating_sub(depth(event));
    let replacement = match mutation {
        Mutation::Remove => {
            match path.split_last() {
                None => *event = Value::Null,
                Some((last, parent)) => match (value_at_mut(event, parent), last) {
                    (Value::Object(fields), Step::Field(name)) => {
                        fields.remove(name);
                    }
                    (Value::Array(elements), Step::Element(index)) => {
                        elements.remove(*index);
                    }
                    _ => unreachable!("paths follow the event's structure"),
                },
            }
            return;
        }
        Mutation::Kind {
            detail_type,
            source,
        } => {
            if let Value::Object(fields) = event {
                fields.insert("detail-type".into(), detail_type.into());
                fields.insert("source".into(), source.into());
            }
            return;
        }
        Mutation::AddField(name, value) => {
            let parent = match path.split_last() {
                Some((_, parent)) if !value_at(event, path).is_object() => parent,
                _ => path,
            };
            if let Value::Object(fields) = value_at_mut(event, parent) {
                fields.insert(name, value);
            }
            return;
        }
        Mutation::Replace(value) => value,
        Mutation::Positional => match value_at(event, path) {
            Value::Object(fields) => {
                let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
                fields.sort_by_key(|(name, _)| {
                    FIELD_NAMES
                        .iter()
                        .position(|known| known == name)
                        .unwrap_or(FIELD_NAMES.len())
                });
                Value::Array(fields.into_iter().map(|(_, value)| value.clone()).collect())
            }
            other => other.clone(),
        },
        Mutation::Retype => match value_at(event, path).clone() {
            Value::String(text) => Number::from_f64(text.parse().unwrap_or(text.len() as f64))
                .map_or(Value::Null, Value::Number),
            Value::Array(elements) => Value::Object(
                elements
                    .into_iter()
                    .enumerate()
                    .map(|(index, value)| (index.to_string(), value))
                    .collect(),
            ),
            Value::Null => Value::Object(Map::new()),
            other => Value::String(other.to_string()),
        },
        Mutation::Nest { levels, in_arrays } => {
            (0..levels.min(room)).fold(value_at(event, path).clone(), |inner, _| {
                if in_arrays {
                    json!([inner])
                } else {
                    json!({ "detail": inner })
                }
            })
        }
        Mutation::Huge(kind) => Value::String(match kind {
            HugeText::Repeated => {
                let text = text_of(value_at(event, path));
                let text = if text.is_empty() {
                    "x".to_owned()
                } else {
                    text
                };
                text.repeat(HUGE_BYTES / text.len() + 1)
            }
            HugeText::Padded => text_of(value_at(event, path)) + &"a".repeat(HUGE_BYTES),
            HugeText::Accented => "é".repeat(HUGE_BYTES / 2),
            HugeText::Digest => format!("sha256:{}", "0".repeat(HUGE_BYTES)),
        }),
        Mutation::Text(change) => {
            let text = text_of(value_at(event, path));
            Value::String(match change {
                TextChange::Prefix(odd) => format!("{odd}{text}"),
                TextChange::Suffix(odd) => format!("{text}{odd}"),
                TextChange::Uppercase => text.to_uppercase(),
                TextChange::Lowercase => text.to_lowercase(),
            })
        }
    };
    *value_at_mut(event, path) = replacement;
}

// ---- the properties ----

fn config() -> ProptestConfig {
    ProptestConfig {
        // Failing inputs are kept below as named tests, not in regression files.
        failure_persistence: None,
        // Cases: proptest's default, 256, unless PROPTEST_CASES says otherwise.
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tag_enforcer_over_arbitrary_json(event in arbitrary_json()) {
        check_tag_enforcer(&event)?;
    }

    #[test]
    fn tag_enforcer_over_mutated_events(event in mutated_event(mutation())) {
        check_tag_enforcer(&event)?;
    }

    #[test]
    fn scan_forwarder_over_arbitrary_json(event in arbitrary_json()) {
        check_scan_forwarder(&event)?;
    }

    #[test]
    fn scan_forwarder_over_mutated_events(event in mutated_event(mutation())) {
        check_scan_forwarder(&event)?;
    }

    #[test]
    fn lifecycle_sweeper_over_arbitrary_json(event in arbitrary_json()) {
        check_lifecycle_sweeper(&event)?;
    }

    #[test]
    fn lifecycle_sweeper_over_mutated_events(event in mutated_event(mutation())) {
        check_lifecycle_sweeper(&event)?;
    }
}

/// The oracles accept what they must: every valid event, unmutated.
#[test]
fn valid_events_pass_the_oracles() {
    for event in valid_events() {
        check_tag_enforcer(&event).expect("tag-enforcer");
        check_scan_forwarder(&event).expect("scan-forwarder");
        check_lifecycle_sweeper(&event).expect("lifecycle-sweeper");
    }
}

/// The properties are not vacuous: mutated events still reach every outcome that acts,
/// so the assertions about acting are exercised, not only the rejections.
#[test]
fn mutated_events_still_reach_every_action() {
    let strategy = mutated_event(mutation());
    let mut runner = TestRunner::deterministic();
    let mut reached = BTreeSet::new();
    for _ in 0..1_500 {
        let event = strategy
            .new_tree(&mut runner)
            .expect("a mutated event")
            .current();
        if let Ok(Classified::Push(_)) = classify(event.clone()) {
            reached.insert("tag-enforcer judges a push");
        }
        match parse(&event, fixed_now()) {
            Ok((_, ScanEvent::BasicScan(scan))) if scanned_image(&scan).is_ok() => {
                reached.insert("scan-forwarder fetches a basic scan");
            }
            Ok((origin, ScanEvent::InspectorFinding(finding)))
                if finding.to_finding(&origin).is_ok() =>
            {
                reached.insert("scan-forwarder forwards an Inspector finding");
            }
            _ => {}
        }
        match SweepTrigger::parse(&event) {
            Ok(SweepTrigger::Scheduled) => reached.insert("sweeper sweeps on a schedule"),
            Ok(SweepTrigger::Repository(_)) => reached.insert("sweeper sweeps a repository"),
            Ok(SweepTrigger::Continue(_)) => reached.insert("sweeper continues a sweep"),
            _ => false,
        };
    }
    assert_eq!(
        reached,
        BTreeSet::from([
            "tag-enforcer judges a push",
            "scan-forwarder fetches a basic scan",
            "scan-forwarder forwards an Inspector finding",
            "sweeper sweeps on a schedule",
            "sweeper sweeps a repository",
            "sweeper continues a sweep",
        ])
    );
}

// ---- regressions: inputs once acted on that are not valid events ----
//
// Cases the fuzzing found, kept as regressions. Most are one flaw: serde's derived
// `Deserialize` reads a struct from a JSON array of its fields in declaration order, so
// `[null, "ECR Image Scan", "aws.ecr", ...]` was read as an event.

fn successful_push() -> Value {
    json!({"result": "SUCCESS", "repository-name": "app", "image-digest": "sha256:0",
           "action-type": "PUSH", "image-tag": "v1"})
}

#[test]
fn tag_enforcer_judges_an_array_as_an_event() -> Result<(), TestCaseError> {
    check_tag_enforcer(&json!([
        null,
        null,
        "ECR Image Action",
        "aws.ecr",
        null,
        null,
        null,
        null,
        successful_push()
    ]))
}

#[test]
fn tag_enforcer_judges_an_array_as_a_detail() -> Result<(), TestCaseError> {
    check_tag_enforcer(
        &json!({"detail-type": "ECR Image Action", "source": "aws.ecr",
        "detail": ["SUCCESS", "app", "sha256:0", "PUSH", "v1"]}),
    )
}

#[test]
fn scan_forwarder_reads_an_array_as_an_event() -> Result<(), TestCaseError> {
    check_scan_forwarder(&json!([null, "ECR Image Scan", "aws.ecr", null, null, null,
        {"scan-status": "COMPLETE", "repository-name": "app", "image-digest": "sha256:0",
         "image-tags": []}]))
}

/// Found by the mutated-events property: a resource's `details` written as the array
/// of its one field was read as the object, and the finding forwarded.
#[test]
fn scan_forwarder_rejects_resource_details_written_as_an_array() -> Result<(), TestCaseError> {
    let mut event: Value = serde_json::from_str(include_str!(
        "../../tests/events/inspector2-finding-ecr-package-vulnerability.json"
    ))
    .expect("sample is JSON");
    let details = &mut event["detail"]["resources"][0]["details"];
    *details = json!([details["awsEcrContainerImage"].take()]);
    assert!(matches!(
        parse(&event, fixed_now()),
        Err(EventError::Detail { message, .. })
            if message.starts_with("resources[0].details: invalid type: sequence")
    ));
    check_scan_forwarder(&event)
}

#[test]
fn sweeper_continues_a_repository_named_only_by_an_array_continuation() -> Result<(), TestCaseError>
{
    check_lifecycle_sweeper(
        &json!({"detail-type": "Sweep Repository", "source": "ecr-janitor",
        "detail": {"repositoryName": "team-a/api",
                   "continuation": ["NOT a repository", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]}}),
    )
}

#[test]
fn tag_enforcer_judges_a_digest_that_is_not_sha256() {
    let mut event = json!({"detail-type": "ECR Image Action", "source": "aws.ecr",
        "detail": successful_push()});
    for digest in ["md5:0", "SHA256:7F5B"] {
        event["detail"]["image-digest"] = json!(digest);
        assert!(
            !matches!(classify(event.clone()), Ok(Classified::Push(_))),
            "{digest}"
        );
    }
}

/// Found by the mutated-events property: a digest padded past sha256's 64 hex digits is
/// rejected as invalid, and the oracle agrees that it is.
#[test]
fn tag_enforcer_rejects_a_digest_longer_than_sha256() -> Result<(), TestCaseError> {
    let mut event = json!({"detail-type": "ECR Image Action", "source": "aws.ecr",
        "detail": successful_push()});
    event["detail"]["image-digest"] = json!(format!("sha256:{}", "a".repeat(65)));
    assert!(matches!(
        classify(event.clone()),
        Err(MalformedEvent::InvalidField {
            field: "image-digest",
            ..
        })
    ));
    check_tag_enforcer(&event)
}

//! Publishing the janitor's own events to its EventBridge bus.
//!
//! `PutEvents` takes at most 10 entries and 256 KB per call and reports failures per
//! entry, not as an error of the call. Entries that fail transiently (throttling, an
//! internal failure) are retried a bounded number of times; entries rejected for good
//! (too large, malformed, not authorised) are not retried. What still fails is
//! returned to the caller, never silently dropped.

use std::time::Duration;

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry};
use serde::Serialize;

use super::error_text;

/// Environment variable that names the janitor's bus in every function.
pub const ENV_BUS_NAME: &str = "JANITOR_BUS_NAME";
/// The `source` of every event the janitor emits (custom sources may not start with `aws.`).
pub const EVENT_SOURCE: &str = "ecr-janitor";
/// Entries per `PutEvents` call (AWS limit).
pub const MAX_ENTRIES_PER_CALL: usize = 10;
/// Size limit of one call, and so of one entry (AWS limit).
pub const MAX_CALL_BYTES: usize = 256 * 1024;
/// Attempts for entries that EventBridge reports as failed transiently.
const ENTRY_ATTEMPTS: u32 = 3;
/// The per-entry error codes EventBridge documents as retryable. Every other code
/// (`EntryTooLarge`, `ValidationException`, `InvalidArgument`, `MalformedDetail`,
/// `AccessDeniedException`, `NotAuthorizedForSourceException`, ...) says what is wrong
/// with the entry or the caller: another attempt would fail the same way.
const TRANSIENT_ENTRY_ERRORS: &[&str] = &["InternalFailure", "ThrottlingException"];
/// The code reported for an entry `PutEvents` returned no result for.
const NO_RESULT_ERROR: &str = "NoResultEntry";

/// One event for the janitor bus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusEvent {
    /// `detail-type`, e.g. `Sweep Completed`.
    pub detail_type: String,
    /// `detail`, a JSON object.
    pub detail: serde_json::Value,
    /// ARNs the event is about.
    pub resources: Vec<String>,
}

impl BusEvent {
    /// EventBridge's size of an entry: the UTF-8 bytes of its strings.
    fn entry_size(&self) -> usize {
        EVENT_SOURCE.len()
            + self.detail_type.len()
            + self.detail.to_string().len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

/// An event EventBridge did not accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedEvent {
    pub detail_type: String,
    pub error_code: String,
    pub error_message: String,
}

/// What became of a batch of events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    pub published: usize,
    pub failed: Vec<FailedEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("{ENV_BUS_NAME} is not set: it must name the janitor's EventBridge bus")]
    NotConfigured,
    /// The call itself failed after the SDK's retries (throttling, network, permissions).
    #[error("PutEvents to bus {bus} failed: {message}")]
    Call { bus: String, message: String },
}

/// The bus named by `JANITOR_BUS_NAME`; every function needs it to report what it did.
pub fn bus_name_from_env() -> Result<String, BusError> {
    std::env::var(ENV_BUS_NAME)
        .ok()
        .filter(|name| !name.trim().is_empty())
        .ok_or(BusError::NotConfigured)
}

/// Splits events into `PutEvents` calls: at most 10 entries and 256 KB each. Entries
/// larger than a whole call can never be sent and are returned separately.
pub fn plan_batches(events: &[BusEvent]) -> (Vec<Vec<&BusEvent>>, Vec<&BusEvent>) {
    let mut batches: Vec<Vec<&BusEvent>> = Vec::new();
    let mut oversized = Vec::new();
    let mut current: Vec<&BusEvent> = Vec::new();
    let mut current_bytes = 0;
    for event in events {
        let size = event.entry_size();
        if size > MAX_CALL_BYTES {
            oversized.push(event);
            continue;
        }
        if current.len() == MAX_ENTRIES_PER_CALL || current_bytes + size > MAX_CALL_BYTES {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(event);
        current_bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    (batches, oversized)
}

/// The janitor's event bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        EventBus {
            client,
            bus_name: bus_name.into(),
        }
    }

    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    /// Publishes every event, retrying entries EventBridge rejects. A call-level error
    /// (after the SDK's own retries) stops publishing and is returned, so the caller
    /// can fail the invocation and let Lambda retry it.
    pub async fn publish(&self, events: &[BusEvent]) -> Result<PublishReport, BusError> {
        let (batches, oversized) = plan_batches(events);
        let mut report = PublishReport::default();
        for event in oversized {
            report.failed.push(FailedEvent {
                detail_type: event.detail_type.clone(),
                error_code: "EntryTooLarge".to_owned(),
                error_message: format!(
                    "entry of {} bytes exceeds EventBridge's {MAX_CALL_BYTES} bytes",
                    event.entry_size()
                ),
            });
        }
        for batch in batches {
            self.publish_batch(batch, &mut report).await?;
        }
        Ok(report)
    }

    async fn publish_batch(
        &self,
        mut pending: Vec<&BusEvent>,
        report: &mut PublishReport,
    ) -> Result<(), BusError> {
        for attempt in 1..=ENTRY_ATTEMPTS {
            let entries: Vec<PutEventsRequestEntry> =
                pending.iter().map(|event| self.entry(event)).collect();
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| BusError::Call {
                    bus: self.bus_name.clone(),
                    message: error_text(&err),
                })?;
            let outcome = sort_results(&pending, output.entries(), attempt);
            report.published += outcome.published;
            report.failed.extend(outcome.failed);
            if outcome.retry.is_empty() {
                return Ok(());
            }
            pending = outcome.retry;
            tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
        }
        Ok(())
    }

    fn entry(&self, event: &BusEvent) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(&event.detail_type)
            .detail(event.detail.to_string())
            .set_resources(Some(event.resources.clone()))
            .build()
    }
}

/// What became of the entries of one `PutEvents` attempt.
#[derive(Debug, Default, PartialEq)]
struct AttemptOutcome<'e> {
    published: usize,
    /// Rejected transiently, with attempts left.
    retry: Vec<&'e BusEvent>,
    /// Rejected for good, or transiently on the last attempt.
    failed: Vec<FailedEvent>,
}

/// Sorts the entries of attempt number `attempt` by their results, which line up with
/// the request's entries; a failed one carries an error code. An entry without a
/// result is failed, not assumed published.
fn sort_results<'e>(
    pending: &[&'e BusEvent],
    results: &[PutEventsResultEntry],
    attempt: u32,
) -> AttemptOutcome<'e> {
    let mut outcome = AttemptOutcome::default();
    for (position, event) in pending.iter().enumerate() {
        let (code, message) = match results.get(position) {
            Some(result) => match result.error_code() {
                None => {
                    outcome.published += 1;
                    continue;
                }
                Some(code) => (code, result.error_message().unwrap_or_default()),
            },
            None => (
                NO_RESULT_ERROR,
                "PutEvents returned no result for this entry",
            ),
        };
        if attempt < ENTRY_ATTEMPTS && TRANSIENT_ENTRY_ERRORS.contains(&code) {
            tracing::warn!(detail_type = %event.detail_type, error_code = code, attempt, "event rejected by EventBridge transiently, retrying");
            outcome.retry.push(*event);
        } else {
            outcome.failed.push(FailedEvent {
                detail_type: event.detail_type.clone(),
                error_code: code.to_owned(),
                error_message: message.to_owned(),
            });
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail_bytes: usize) -> BusEvent {
        BusEvent {
            detail_type: "Test".to_owned(),
            detail: json!({ "pad": "x".repeat(detail_bytes) }),
            resources: vec![],
        }
    }

    #[test]
    fn batches_hold_at_most_ten_entries() {
        let events: Vec<BusEvent> = (0..25).map(|_| event(10)).collect();
        let (batches, oversized) = plan_batches(&events);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 5]);
        assert!(oversized.is_empty());
    }

    #[test]
    fn batches_stay_under_the_call_size_limit() {
        let events: Vec<BusEvent> = (0..4).map(|_| event(100 * 1024)).collect();
        let (batches, _) = plan_batches(&events);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2]);
    }

    fn result(code: Option<&str>) -> PutEventsResultEntry {
        match code {
            None => PutEventsResultEntry::builder().event_id("id").build(),
            Some(code) => PutEventsResultEntry::builder()
                .error_code(code)
                .error_message(format!("{code} happened"))
                .build(),
        }
    }

    #[test]
    fn permanent_entry_errors_fail_at_once_and_transient_ones_are_retried() {
        let events: Vec<BusEvent> = (0..5).map(|_| event(10)).collect();
        let pending: Vec<&BusEvent> = events.iter().collect();
        let results = [
            result(None),
            result(Some("EntryTooLarge")),
            result(Some("ThrottlingException")),
            result(Some("MalformedDetail")),
            result(Some("InternalFailure")),
        ];
        let outcome = sort_results(&pending, &results, 1);
        assert_eq!(outcome.published, 1);
        assert_eq!(outcome.retry, vec![&events[2], &events[4]]);
        assert_eq!(
            outcome.failed,
            vec![
                FailedEvent {
                    detail_type: "Test".into(),
                    error_code: "EntryTooLarge".into(),
                    error_message: "EntryTooLarge happened".into(),
                },
                FailedEvent {
                    detail_type: "Test".into(),
                    error_code: "MalformedDetail".into(),
                    error_message: "MalformedDetail happened".into(),
                },
            ]
        );
        for code in [
            "ValidationException",
            "AccessDeniedException",
            "InvalidArgument",
            "NotAuthorizedForSourceException",
        ] {
            let outcome = sort_results(&pending[..1], &[result(Some(code))], 1);
            assert!(outcome.retry.is_empty(), "{code}");
            assert_eq!(outcome.failed.len(), 1, "{code}");
        }
    }

    #[test]
    fn transient_errors_on_the_last_attempt_and_missing_results_are_failures() {
        let events: Vec<BusEvent> = (0..2).map(|_| event(10)).collect();
        let pending: Vec<&BusEvent> = events.iter().collect();
        let outcome = sort_results(
            &pending,
            &[result(Some("ThrottlingException"))],
            ENTRY_ATTEMPTS,
        );
        assert!(outcome.retry.is_empty());
        let codes: Vec<&str> = outcome
            .failed
            .iter()
            .map(|failed| failed.error_code.as_str())
            .collect();
        assert_eq!(codes, vec!["ThrottlingException", "NoResultEntry"]);
    }

    #[test]
    fn an_entry_larger_than_a_call_is_set_aside() {
        let events = vec![event(10), event(300 * 1024), event(10)];
        let (batches, oversized) = plan_batches(&events);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].len(), 2);
        assert_eq!(oversized.len(), 1);
    }
}

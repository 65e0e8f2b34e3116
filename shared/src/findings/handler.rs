//! The scan-forwarder's handler: event in, findings normalised, filtered, imported into
//! Security Hub and published on the janitor bus.
//!
//! Events that can never be processed (malformed, unsupported, not about an image, a
//! scan that did not complete, an image deleted since) are logged and acknowledged;
//! only AWS call failures are errors, so that Lambda retries them. Security Hub goes
//! first: its imports are idempotent, so a retry after a bus failure duplicates nothing
//! there.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::asff::Caller;
use super::basic::{scanned_image, to_finding, BasicScanSkip, ScannedImage};
use super::bus_event::finding_event;
use super::config::ScanConfig;
use super::event::{parse, EventOrigin, InspectorScanSummary, ScanEvent};
use super::filter::{dedupe, filter};
use super::inspector::InspectorSkip;
use super::metrics;
use super::model::{Finding, FindingSource};
use super::security_hub::{self, FailedImport, SecurityHubError};
use crate::aws::bus::{BusError, EventBus, FailedEvent};
use crate::aws::error_text;
use crate::targets::{TargetDirectory, TargetError};
use crate::untrusted::excerpt;

/// What one invocation did; also the function's response.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardReport {
    /// `enhanced-finding`, `basic-scan`, `scan-summary` or `ignored`.
    pub event: String,
    /// Why the event produced no findings, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Findings read from the event or the scan, before deduplication.
    pub findings: usize,
    pub duplicates: usize,
    pub below_threshold: usize,
    pub suppressed: usize,
    /// Findings that passed the filters.
    pub forwarded: usize,
    pub published: usize,
    pub imported: usize,
    pub failed_events: Vec<FailedEvent>,
    pub failed_imports: Vec<FailedImport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_summary: Option<InspectorScanSummary>,
}

impl ForwardReport {
    /// An event with nothing to forward (unsupported, a scan that did not complete, an
    /// image deleted since): acknowledged, logged as information.
    fn skipped(event: &str, reason: String) -> Self {
        tracing::info!(event, reason = %reason, "event acknowledged without findings");
        Self::acknowledged(event, reason)
    }

    /// A malformed event (unreadable, or lacking a field its kind always carries):
    /// acknowledged, since redelivery cannot repair it, and logged as an error naming
    /// what is wrong, since something upstream sent it.
    fn malformed(event: &str, reason: String) -> Self {
        tracing::error!(event, reason = %reason, "malformed event acknowledged without findings");
        Self::acknowledged(event, reason)
    }

    fn acknowledged(event: &str, reason: String) -> Self {
        ForwardReport {
            event: event.to_owned(),
            skipped: Some(reason),
            ..ForwardReport::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("DescribeImageScanFindings for {repository}@{digest} failed: {message}")]
    ScanFindings {
        repository: String,
        digest: String,
        message: String,
    },
    #[error(transparent)]
    SecurityHub(#[from] SecurityHubError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Targets(#[from] TargetError),
}

/// The handler with its clients and configuration.
#[derive(Debug, Clone)]
pub struct ScanForwarder {
    config: ScanConfig,
    ecr: aws_sdk_ecr::Client,
    security_hub: aws_sdk_securityhub::Client,
    bus: EventBus,
    /// The targets, in an organization-wide installation: findings of a target are
    /// read with and imported into the target's own account and Region (its Security
    /// Hub, its `AwsAccountId` and product ARN), through its role; events from an
    /// account and Region that is not a target are ignored. `None` uses the clients
    /// above and the caller's account.
    targets: Option<Arc<TargetDirectory>>,
}

impl ScanForwarder {
    pub fn new(
        config: ScanConfig,
        ecr: aws_sdk_ecr::Client,
        security_hub: aws_sdk_securityhub::Client,
        bus: EventBus,
    ) -> Self {
        ScanForwarder {
            config,
            ecr,
            security_hub,
            bus,
            targets: None,
        }
    }

    /// The forwarder of an organization-wide installation (see
    /// [`ScanForwarder::targets`]).
    pub fn with_targets(mut self, targets: Arc<TargetDirectory>) -> Self {
        self.targets = Some(targets);
        self
    }

    /// Handles one EventBridge event. `caller` is the account and Region the function
    /// runs in; `now` decides suppression expiry and stands in for unreadable times.
    pub async fn handle(
        &self,
        event: &Value,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<ForwardReport, ForwardError> {
        let (origin, kind) = match parse(event, now) {
            Ok(parsed) => parsed,
            Err(err) => return Ok(ForwardReport::malformed("ignored", err.to_string())),
        };
        let (ecr, security_hub, caller) = match &self.targets {
            None => (self.ecr.clone(), self.security_hub.clone(), caller.clone()),
            Some(targets) => match targets.access(&origin.account, &origin.region).await? {
                Some(access) => (
                    targets.factory().ecr(&access).await,
                    targets.factory().security_hub(&access).await,
                    Caller {
                        account_id: access.target.account.clone(),
                        region: access.target.region.clone(),
                    },
                ),
                None => {
                    let why = format!(
                        "account {} in {} is not a target: nothing is read or imported there",
                        excerpt(&origin.account),
                        excerpt(&origin.region)
                    );
                    tracing::warn!(reason = %why, "event ignored");
                    return Ok(ForwardReport::skipped("ignored", why));
                }
            },
        };
        let caller = &caller;
        let (label, findings) = match kind {
            ScanEvent::InspectorFinding(detail) => match detail.to_finding(&origin) {
                Ok(finding) => ("enhanced-finding", vec![finding]),
                Err(skip @ InspectorSkip::Missing(_)) => {
                    return Ok(ForwardReport::malformed(
                        "enhanced-finding",
                        skip.to_string(),
                    ))
                }
                Err(skip @ InspectorSkip::NotAnImage(_)) => {
                    return Ok(ForwardReport::skipped("enhanced-finding", skip.to_string()))
                }
            },
            ScanEvent::BasicScan(detail) => match scanned_image(&detail) {
                Ok(image) => match self.fetch_basic_findings(&ecr, &image, &origin).await? {
                    Some(findings) => ("basic-scan", findings),
                    None => {
                        return Ok(ForwardReport::skipped(
                            "basic-scan",
                            format!(
                                "scan of {}@{} no longer exists",
                                image.repository, image.digest
                            ),
                        ))
                    }
                },
                Err(skip @ BasicScanSkip::Missing(_)) => {
                    return Ok(ForwardReport::malformed("basic-scan", skip.to_string()))
                }
                Err(skip @ BasicScanSkip::NotComplete(_)) => {
                    return Ok(ForwardReport::skipped("basic-scan", skip.to_string()))
                }
            },
            ScanEvent::InspectorScan(summary) => return Ok(scan_summary(summary)),
            ScanEvent::Unsupported => {
                let envelope = (
                    event
                        .get("source")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    event
                        .get("detail-type")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
                return Ok(ForwardReport::skipped(
                    "ignored",
                    format!("unsupported event {} / {}", envelope.0, envelope.1),
                ));
            }
        };
        self.forward_to(&security_hub, label, findings, caller, now)
            .await
    }

    /// Filters, imports and publishes normalised findings.
    pub async fn forward(
        &self,
        label: &str,
        findings: Vec<Finding>,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<ForwardReport, ForwardError> {
        self.forward_to(&self.security_hub, label, findings, caller, now)
            .await
    }

    /// [`ScanForwarder::forward`], importing into `security_hub`.
    async fn forward_to(
        &self,
        security_hub: &aws_sdk_securityhub::Client,
        label: &str,
        findings: Vec<Finding>,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<ForwardReport, ForwardError> {
        let received = findings.len();
        let unique = dedupe(findings);
        let duplicates = received - unique.len();
        let outcome = filter(&self.config, unique, now);
        for index in &outcome.expired_matches {
            let suppression = &self.config.suppressions[*index];
            tracing::warn!(
                field = %format!("scan.suppressions[{index}]"),
                expires = %suppression.expires,
                reason = %suppression.reason,
                "expired suppression no longer applies: renew or remove it"
            );
        }

        let to_import: Vec<Finding> = outcome
            .forward
            .iter()
            .filter(|finding| self.imports(finding.source))
            .cloned()
            .collect();
        let import = if to_import.is_empty() {
            security_hub::ImportReport::default()
        } else {
            security_hub::import(security_hub, caller, &to_import).await?
        };
        let events: Vec<_> = outcome.forward.iter().map(finding_event).collect();
        let publish = self.bus.publish(&events).await?;
        for failed in &publish.failed {
            tracing::warn!(error_code = %failed.error_code, error_message = %failed.error_message, "finding event not published");
        }

        let report = ForwardReport {
            event: label.to_owned(),
            skipped: None,
            findings: received,
            duplicates,
            below_threshold: outcome.below_threshold,
            suppressed: outcome.suppressed.len(),
            forwarded: outcome.forward.len(),
            published: publish.published,
            imported: import.imported,
            failed_events: publish.failed,
            failed_imports: import.failed,
            scan_summary: None,
        };
        tracing::info!(
            event = %report.event,
            findings = report.findings,
            duplicates = report.duplicates,
            below_threshold = report.below_threshold,
            suppressed = report.suppressed,
            forwarded = report.forwarded,
            published = report.published,
            imported = report.imported,
            failed_events = report.failed_events.len(),
            failed_imports = report.failed_imports.len(),
            "findings forwarded"
        );
        for record in metrics::records(&report, &outcome.forward, &outcome.suppressed) {
            record.emit();
        }
        Ok(report)
    }

    /// Whether findings of this source go to Security Hub. Enhanced findings reach it
    /// natively through Inspector; importing them again would duplicate them.
    fn imports(&self, source: FindingSource) -> bool {
        self.config.security_hub
            && match source {
                FindingSource::Basic => true,
                FindingSource::Enhanced => self.config.import_enhanced_findings,
            }
    }

    /// Every finding of a completed basic scan, all pages. `None` when the image,
    /// repository or scan no longer exists (retrying cannot help).
    async fn fetch_basic_findings(
        &self,
        ecr: &aws_sdk_ecr::Client,
        image: &ScannedImage,
        origin: &EventOrigin,
    ) -> Result<Option<Vec<Finding>>, ForwardError> {
        let mut request = ecr
            .describe_image_scan_findings()
            .repository_name(&image.repository)
            .image_id(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(&image.digest)
                    .build(),
            );
        if !origin.account.is_empty() {
            request = request.registry_id(&origin.account);
        }
        let mut pages = request.into_paginator().send();
        let mut findings = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    let gone = err.as_service_error().is_some_and(|e| {
                        e.is_image_not_found_exception()
                            || e.is_repository_not_found_exception()
                            || e.is_scan_not_found_exception()
                    });
                    if gone {
                        tracing::info!(repository = %image.repository, digest = %image.digest, error = %error_text(&err), "scan findings no longer available");
                        return Ok(None);
                    }
                    return Err(ForwardError::ScanFindings {
                        repository: image.repository.clone(),
                        digest: image.digest.clone(),
                        message: error_text(&err),
                    });
                }
            };
            let Some(scan) = page.image_scan_findings() else {
                continue;
            };
            let completed_at = scan
                .image_scan_completed_at()
                .and_then(|at| DateTime::from_timestamp(at.secs(), at.subsec_nanos()))
                .unwrap_or(origin.time);
            findings.extend(
                scan.findings()
                    .iter()
                    .filter_map(|finding| to_finding(image, finding, completed_at, origin)),
            );
        }
        Ok(Some(findings))
    }
}

/// Inspector's scan summary: logged, never imported (its findings arrive as separate
/// `Inspector2 Finding` events).
fn scan_summary(summary: InspectorScanSummary) -> ForwardReport {
    tracing::info!(
        repository = summary.repository_name().unwrap_or_default(),
        digest = summary.image_digest.as_deref().unwrap_or_default(),
        scan_status = summary.scan_status.as_deref().unwrap_or_default(),
        counts = %serde_json::to_string(&summary.finding_severity_counts).unwrap_or_default(),
        "enhanced scan summary"
    );
    ForwardReport {
        event: "scan-summary".to_owned(),
        scan_summary: Some(summary),
        ..ForwardReport::default()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex, PoisonError};

    use serde_json::json;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Everything a test subscriber writes.
    #[derive(Clone, Default)]
    struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

    impl CapturedLogs {
        fn text(&self) -> String {
            let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    impl Write for CapturedLogs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for CapturedLogs {
        type Writer = CapturedLogs;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// A forwarder whose clients are never called: the events handled here are
    /// acknowledged before any AWS call.
    fn offline_forwarder() -> ScanForwarder {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        ScanForwarder::new(
            ScanConfig::default(),
            aws_sdk_ecr::Client::new(&sdk),
            aws_sdk_securityhub::Client::new(&sdk),
            EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), "janitor"),
        )
    }

    /// The report of one event and the log lines it wrote.
    fn handle_logged(event: &Value) -> (ForwardReport, String) {
        let logs = CapturedLogs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("test runtime");
        let caller = Caller {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let report = tracing::subscriber::with_default(subscriber, || {
            runtime.block_on(offline_forwarder().handle(event, &caller, Utc::now()))
        })
        .expect("acknowledged");
        (report, logs.text())
    }

    fn basic_scan(detail: Value) -> Value {
        json!({"detail-type": "ECR Image Scan", "source": "aws.ecr", "account": "123456789012",
               "region": "us-east-1", "detail": detail})
    }

    #[test]
    fn a_scan_event_lacking_its_repository_is_an_error_naming_that_field() {
        let (report, logs) = handle_logged(&basic_scan(json!({
            "scan-status": "COMPLETE", "image-digest": "sha256:ab", "image-tags": []
        })));
        assert_eq!(report.event, "basic-scan");
        assert_eq!(
            report.skipped.as_deref(),
            Some("event lacks detail.repository-name")
        );
        assert!(
            logs.starts_with("ERROR") && logs.contains("detail.repository-name"),
            "{logs}"
        );
        assert_eq!(logs.lines().count(), 1, "{logs}");
    }

    #[test]
    fn unreadable_events_are_errors_and_incomplete_scans_information() {
        let (report, logs) = handle_logged(&basic_scan(json!({"image-tags": 5})));
        assert_eq!(report.event, "ignored");
        assert!(
            logs.starts_with("ERROR") && logs.contains("image-tags: invalid type"),
            "{logs}"
        );
        let (report, logs) = handle_logged(&basic_scan(json!({"scan-status": "FAILED"})));
        assert_eq!(
            report.skipped.as_deref(),
            Some("scan status is FAILED, not COMPLETE")
        );
        assert!(logs.starts_with(" INFO"), "{logs}");
    }
}

//! The scan-forwarder's handler: event in, findings normalised, filtered, imported into
//! Security Hub and published on the janitor bus.
//!
//! Events that can never be processed (malformed, unsupported, not about an image, a
//! scan that did not complete, an image deleted since) are logged and acknowledged;
//! only AWS call failures are errors, so that Lambda retries them. Security Hub goes
//! first: its imports are idempotent, so a retry after a bus failure duplicates nothing
//! there.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::asff::Caller;
use super::basic::{scanned_image, to_finding, ScannedImage};
use super::bus_event::finding_event;
use super::config::ScanConfig;
use super::event::{parse, EventOrigin, InspectorScanSummary, ScanEvent};
use super::filter::{dedupe, filter};
use super::model::{Finding, FindingSource};
use super::security_hub::{self, FailedImport, SecurityHubError};
use crate::aws::bus::{BusError, EventBus, FailedEvent};
use crate::aws::error_text;
use crate::metrics::EmfRecord;

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
    fn skipped(event: &str, reason: String) -> Self {
        tracing::info!(event, reason = %reason, "event acknowledged without findings");
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
}

/// The handler with its clients and configuration.
#[derive(Debug, Clone)]
pub struct ScanForwarder {
    config: ScanConfig,
    ecr: aws_sdk_ecr::Client,
    security_hub: aws_sdk_securityhub::Client,
    bus: EventBus,
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
        }
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
            Err(err) => return Ok(ForwardReport::skipped("ignored", err.to_string())),
        };
        let (label, findings) = match kind {
            ScanEvent::InspectorFinding(detail) => match detail.to_finding(&origin) {
                Ok(finding) => ("enhanced-finding", vec![finding]),
                Err(skip) => {
                    return Ok(ForwardReport::skipped("enhanced-finding", skip.to_string()))
                }
            },
            ScanEvent::BasicScan(detail) => match scanned_image(&detail) {
                Ok(image) => match self.fetch_basic_findings(&image, &origin).await? {
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
                Err(skip) => return Ok(ForwardReport::skipped("basic-scan", skip.to_string())),
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
        self.forward(label, findings, caller, now).await
    }

    /// Filters, imports and publishes normalised findings.
    pub async fn forward(
        &self,
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
            security_hub::import(&self.security_hub, caller, &to_import).await?
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
            suppressed: outcome.suppressed,
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
        EmfRecord::new()
            .dimension("Function", "scan-forwarder")
            .count("FindingsForwarded", report.forwarded as f64)
            .count("FindingsSuppressed", report.suppressed as f64)
            .count("FindingsBelowThreshold", report.below_threshold as f64)
            .count(
                "FindingsFailed",
                (report.failed_events.len() + report.failed_imports.len()) as f64,
            )
            .emit();
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
        image: &ScannedImage,
        origin: &EventOrigin,
    ) -> Result<Option<Vec<Finding>>, ForwardError> {
        let mut request = self
            .ecr
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

//! Imports findings into Security Hub with `BatchImportFindings`.

use serde::Serialize;

use super::asff::{estimated_size, plan_batches, to_asff, Caller};
use super::model::Finding;
use crate::aws::error_text;

/// A finding Security Hub refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedImport {
    pub id: String,
    pub error_code: String,
    pub error_message: String,
}

/// What became of the imports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub imported: usize,
    pub failed: Vec<FailedImport>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecurityHubError {
    /// The call failed after the SDK's retries (throttling, network, permissions).
    #[error("BatchImportFindings failed: {0}")]
    Call(String),
}

/// Imports every finding in calls of at most 100 findings and 6 MB. Failures per
/// finding (`FailedFindings`) are reported, not raised; a failed call stops the import
/// so that the invocation fails and is retried (imports are idempotent).
pub async fn import(
    client: &aws_sdk_securityhub::Client,
    caller: &Caller,
    findings: &[Finding],
) -> Result<ImportReport, SecurityHubError> {
    let sizes: Vec<usize> = findings.iter().map(estimated_size).collect();
    let mut report = ImportReport::default();
    for batch in plan_batches(&sizes) {
        let asff = findings[batch.clone()]
            .iter()
            .map(|finding| to_asff(finding, caller))
            .collect();
        let output = client
            .batch_import_findings()
            .set_findings(Some(asff))
            .send()
            .await
            .map_err(|err| SecurityHubError::Call(error_text(&err)))?;
        let failed: Vec<FailedImport> = output
            .failed_findings()
            .iter()
            .map(|failure| FailedImport {
                id: failure.id().unwrap_or_default().to_owned(),
                error_code: failure.error_code().unwrap_or_default().to_owned(),
                error_message: failure.error_message().unwrap_or_default().to_owned(),
            })
            .collect();
        for failure in &failed {
            tracing::warn!(finding_id = %failure.id, error_code = %failure.error_code, error_message = %failure.error_message, "Security Hub rejected a finding");
        }
        report.imported += batch.len() - failed.len().min(batch.len());
        report.failed.extend(failed);
        tracing::info!(
            batch_size = batch.len(),
            imported = report.imported,
            failed = report.failed.len(),
            "Security Hub batch imported"
        );
    }
    Ok(report)
}

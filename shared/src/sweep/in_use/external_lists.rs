//! PLACEHOLDER (being written): external lists.
use super::config::ExternalList;
use super::ImageUse;

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}")]
    Unreadable(String),
}

pub async fn images(
    _s3: &aws_sdk_s3::Client,
    _list: &ExternalList,
    _now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<ImageUse>, ListError> {
    Ok(Vec::new())
}

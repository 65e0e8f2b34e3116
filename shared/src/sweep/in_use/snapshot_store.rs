//! Where the in-use snapshot and the parts of each run live: one S3 prefix
//! (`JANITOR_SNAPSHOT_S3_URI`) of a versioned bucket.
//!
//! ```text
//! PREFIX runs/RUN/run.json                      the targets of the run
//! PREFIX runs/RUN/parts/ACCOUNT-REGION.json     one per target, written by its gatherer
//! PREFIX runs/RUN/assembly                      who assembles the run (written once)
//! PREFIX runs/RUN/snapshot/ACCOUNT-REGION.jsonl the uses naming one registry
//! PREFIX snapshot.json                          the newest snapshot's header (versioned)
//! ```
//!
//! The header is written after every shard of its run, so a header never names a shard
//! that is not there yet.

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::snapshot::{
    read_header, AssembledSnapshot, Snapshot, SnapshotFormatError, SnapshotReader, TargetPart,
};
use crate::aws::error_text;
use crate::targets::Target;

/// Names the snapshot's place: `s3://bucket/prefix/`.
pub const ENV_SNAPSHOT_S3_URI: &str = "JANITOR_SNAPSHOT_S3_URI";
/// Key of the snapshot's header under the prefix.
const SNAPSHOT_KEY: &str = "snapshot.json";
/// Objects read or written at once by the assembler.
const OBJECTS_AT_ONCE: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotStoreError {
    #[error("{ENV_SNAPSHOT_S3_URI} must look like s3://bucket/prefix/, got {0:?}")]
    BadUri(String),
    #[error("{operation} s3://{bucket}/{key}: {message}")]
    Call {
        operation: &'static str,
        bucket: String,
        key: String,
        message: String,
    },
    #[error("s3://{bucket}/{key} is not what the janitor wrote: {message}")]
    Unreadable {
        bucket: String,
        key: String,
        message: String,
    },
}

/// The targets of one run, written when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunManifest {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub targets: Vec<Target>,
}

/// The newest snapshot as one repository's sweep reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    pub snapshot: Snapshot,
    /// The S3 version read, when the bucket is versioned.
    pub version_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SnapshotStore {
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl SnapshotStore {
    /// The store at `uri` (`s3://bucket/prefix/`; a prefix without its final `/` gets
    /// one).
    pub fn new(s3: aws_sdk_s3::Client, uri: &str) -> Result<Self, SnapshotStoreError> {
        let bad = || SnapshotStoreError::BadUri(uri.to_owned());
        let rest = uri.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad());
        }
        let prefix = match prefix {
            "" => String::new(),
            prefix if prefix.ends_with('/') => prefix.to_owned(),
            prefix => format!("{prefix}/"),
        };
        Ok(SnapshotStore {
            s3,
            bucket: bucket.to_owned(),
            prefix,
        })
    }

    /// `s3://bucket/prefix/` of the store.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn run_key(&self, run_id: &str, rest: &str) -> String {
        format!("{}runs/{run_id}/{rest}", self.prefix)
    }

    fn part_key(&self, run_id: &str, target: &Target) -> String {
        self.run_key(
            run_id,
            &format!("parts/{}-{}.json", target.account, target.region),
        )
    }

    fn call_error(
        &self,
        operation: &'static str,
        key: &str,
        message: String,
    ) -> SnapshotStoreError {
        SnapshotStoreError::Call {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message,
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<Option<String>, SnapshotStoreError> {
        let output = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| self.call_error("PutObject", key, error_text(&err)))?;
        Ok(output.version_id().map(str::to_owned))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<T, SnapshotStoreError> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| self.call_error("GetObject", key, error_text(&err)))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|err| self.call_error("GetObject", key, err.to_string()))?
            .into_bytes();
        serde_json::from_slice(&bytes).map_err(|err| SnapshotStoreError::Unreadable {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message: err.to_string(),
        })
    }

    pub async fn put_manifest(&self, manifest: &RunManifest) -> Result<(), SnapshotStoreError> {
        let body = serde_json::to_vec(manifest).unwrap_or_default();
        self.put(&self.run_key(&manifest.run_id, "run.json"), body)
            .await
            .map(|_| ())
    }

    pub async fn manifest(&self, run_id: &str) -> Result<RunManifest, SnapshotStoreError> {
        self.get_json(&self.run_key(run_id, "run.json")).await
    }

    pub async fn put_part(
        &self,
        run_id: &str,
        part: &TargetPart,
    ) -> Result<(), SnapshotStoreError> {
        let body = serde_json::to_vec(part).unwrap_or_default();
        self.put(&self.part_key(run_id, &part.target), body)
            .await
            .map(|_| ())
    }

    /// How many parts of `run_id` are written (`ListObjectsV2`, 1,000 per page).
    pub async fn parts_written(&self, run_id: &str) -> Result<usize, SnapshotStoreError> {
        let prefix = self.run_key(run_id, "parts/");
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|err| self.call_error("ListObjectsV2", &prefix, error_text(&err)))?;
            count += page.contents().len();
        }
        Ok(count)
    }

    /// Claims the assembly of `run_id` for `by`: the first claim wins (a conditional
    /// write, `If-None-Match: *`). A claim already made by `by` is its own again: the
    /// retry of an invocation that claimed, then failed before it finished.
    pub async fn claim_assembly(
        &self,
        run_id: &str,
        by: &Target,
    ) -> Result<bool, SnapshotStoreError> {
        let key = self.run_key(run_id, "assembly");
        let claim = serde_json::to_vec(by).unwrap_or_default();
        let written = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .if_none_match("*")
            .body(ByteStream::from(claim))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|raw| matches!(raw.status().as_u16(), 412 | 409)) =>
            {
                let holder: Target = self.get_json(&key).await?;
                Ok(&holder == by)
            }
            Err(err) => Err(self.call_error("PutObject", &key, error_text(&err))),
        }
    }

    /// Every part of the run, in the manifest's order.
    pub async fn parts(
        &self,
        manifest: &RunManifest,
    ) -> Result<Vec<TargetPart>, SnapshotStoreError> {
        use futures::StreamExt;
        futures::stream::iter(&manifest.targets)
            .map(|target| async move {
                let key = self.part_key(&manifest.run_id, target);
                self.get_json::<TargetPart>(&key).await
            })
            .buffered(OBJECTS_AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    fn shard_object_key(&self, run_id: &str, shard: &str) -> String {
        self.run_key(run_id, &format!("snapshot/{shard}.jsonl"))
    }

    /// Writes the assembled snapshot: every shard, then the header (versioned). The
    /// header's S3 version, when the bucket keeps versions.
    pub async fn put_snapshot(
        &self,
        snapshot: AssembledSnapshot,
    ) -> Result<Option<String>, SnapshotStoreError> {
        use futures::StreamExt;
        let run_id = snapshot.header.run_id.clone();
        let written: Vec<Result<Option<String>, SnapshotStoreError>> =
            futures::stream::iter(snapshot.shards)
                .map(|(shard, body)| {
                    let key = self.shard_object_key(&run_id, &shard);
                    async move { self.put(&key, body).await }
                })
                .buffer_unordered(OBJECTS_AT_ONCE)
                .collect()
                .await;
        for result in written {
            result?;
        }
        let header = serde_json::to_vec(&snapshot.header).unwrap_or_default();
        self.put(&format!("{}{SNAPSHOT_KEY}", self.prefix), header)
            .await
    }

    /// The newest snapshot as `reader`'s repository sees it: the header, and its
    /// registry's shard streamed through `reader`. `None` when none was ever
    /// assembled.
    pub async fn read_snapshot(
        &self,
        mut reader: SnapshotReader,
    ) -> Result<Option<StoredSnapshot>, SnapshotStoreError> {
        let key = format!("{}{SNAPSHOT_KEY}", self.prefix);
        let object = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None)
            }
            Err(err) => return Err(self.call_error("GetObject", &key, error_text(&err))),
        };
        let version_id = object.version_id().map(str::to_owned);
        let unreadable = |key: &str, err: SnapshotFormatError| SnapshotStoreError::Unreadable {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message: err.to_string(),
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|err| self.call_error("GetObject", &key, err.to_string()))?
            .into_bytes();
        let header = read_header(&bytes).map_err(|err| unreadable(&key, err))?;
        // The header is written after every shard of its run: a shard missing then is
        // one no use named.
        let shard = reader.shard_key();
        let shard_key = self.shard_object_key(&header.run_id, &shard);
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&shard_key)
            .send()
            .await
        {
            Ok(object) => {
                let mut body = object.body;
                while let Some(chunk) = body.next().await {
                    let chunk = chunk
                        .map_err(|err| self.call_error("GetObject", &shard_key, err.to_string()))?;
                    reader
                        .feed(&chunk)
                        .map_err(|err| unreadable(&shard_key, err))?;
                }
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {}
            Err(err) => return Err(self.call_error("GetObject", &shard_key, error_text(&err))),
        }
        let snapshot = reader
            .finish(header)
            .map_err(|err| unreadable(&shard_key, err))?;
        Ok(Some(StoredSnapshot {
            snapshot,
            version_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(uri: &str) -> Result<SnapshotStore, SnapshotStoreError> {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .build(),
        );
        SnapshotStore::new(s3, uri)
    }

    #[test]
    fn the_uri_names_a_bucket_and_a_prefix() {
        let keys = |uri: &str| {
            store(uri).map(|store| {
                (
                    store.uri(),
                    store.part_key("r1", &Target::new("111111111111", "eu-west-1")),
                )
            })
        };
        assert_eq!(
            keys("s3://janitor/in-use/").ok(),
            Some((
                "s3://janitor/in-use/".to_owned(),
                "in-use/runs/r1/parts/111111111111-eu-west-1.json".to_owned()
            ))
        );
        assert_eq!(
            keys("s3://janitor/in-use").ok().map(|keys| keys.0),
            Some("s3://janitor/in-use/".to_owned())
        );
        assert_eq!(
            keys("s3://janitor").ok().map(|keys| keys.1),
            Some("runs/r1/parts/111111111111-eu-west-1.json".to_owned())
        );
        for bad in ["janitor/in-use", "s3:///in-use", ""] {
            assert!(
                matches!(keys(bad), Err(SnapshotStoreError::BadUri(_))),
                "{bad}"
            );
        }
    }
}

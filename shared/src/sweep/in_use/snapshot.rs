//! The organization-wide in-use snapshot: the workloads of every target, gathered once
//! per run, read by every repository sweep of the run.
//!
//! Each target's workloads are gathered by an invocation of their own and written as a
//! part ([`TargetPart`]); when the last part is written the parts are assembled into
//! one object of JSON lines: a header ([`SnapshotHeader`]: the run, when it was read,
//! every target with the sources that failed or were off), then one line per use
//! ([`RecordedUse`]: the reference, the digest, who holds it, in which account and
//! Region, when it was read). A repository sweep streams it through a
//! [`SnapshotReader`], which keeps only what can protect an image of that repository,
//! so memory grows with what concerns the repository rather than with the
//! organization.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ImageUse, InUse, SourceFailure};
use crate::sweep::reference::{EcrRepository, ImageReference};
use crate::targets::Target;

/// The snapshot format this code writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;
/// The `source` of a failure that made a whole target unreadable.
pub const TARGET_SOURCE: &str = "target";

/// One use as the snapshot records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedUse {
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub user: String,
    pub account: String,
    pub region: String,
    pub read_at: DateTime<Utc>,
}

/// What one target's sources said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetPart {
    pub target: Target,
    pub read_at: DateTime<Utc>,
    pub uses: Vec<RecordedUse>,
    /// Sources that could not be read (or the whole target, `source: "target"`).
    pub failed: Vec<SourceFailure>,
    /// Sources the configuration switched off.
    pub off: Vec<String>,
}

impl TargetPart {
    /// The part of `target` from what its sources said at `read_at`.
    pub fn new(target: &Target, read_at: DateTime<Utc>, in_use: InUse) -> Self {
        TargetPart {
            target: target.clone(),
            read_at,
            uses: in_use
                .uses
                .into_iter()
                .map(|image_use| RecordedUse {
                    image: image_use.image,
                    digest: image_use.digest,
                    user: image_use.user,
                    account: target.account.clone(),
                    region: target.region.clone(),
                    read_at,
                })
                .collect(),
            failed: in_use.failed,
            off: in_use.off,
        }
    }

    /// The part of a target that could not be reached at all.
    pub fn unreachable(target: &Target, read_at: DateTime<Utc>, reason: String) -> Self {
        TargetPart {
            target: target.clone(),
            read_at,
            uses: Vec::new(),
            failed: vec![SourceFailure {
                source: TARGET_SOURCE.to_owned(),
                reason,
            }],
            off: Vec::new(),
        }
    }
}

/// The first line of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotHeader {
    pub format: u32,
    pub run_id: String,
    /// When the oldest part was read: the snapshot is as old as that.
    pub taken_at: DateTime<Utc>,
    pub targets: Vec<TargetStatus>,
    /// Use lines that follow.
    pub uses: usize,
}

/// One target's line in the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    pub target: Target,
    pub read_at: DateTime<Utc>,
    pub uses: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<SourceFailure>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub off: Vec<String>,
}

/// The snapshot of `run_id` from its parts, as JSON lines. `None` without parts.
pub fn assemble(run_id: &str, parts: &[TargetPart]) -> Option<Vec<u8>> {
    let taken_at = parts.iter().map(|part| part.read_at).min()?;
    let header = SnapshotHeader {
        format: SNAPSHOT_FORMAT,
        run_id: run_id.to_owned(),
        taken_at,
        targets: parts
            .iter()
            .map(|part| TargetStatus {
                target: part.target.clone(),
                read_at: part.read_at,
                uses: part.uses.len(),
                failed: part.failed.clone(),
                off: part.off.clone(),
            })
            .collect(),
        uses: parts.iter().map(|part| part.uses.len()).sum(),
    };
    let mut text = Vec::new();
    let mut line = |value: serde_json::Result<Vec<u8>>| {
        // Serialising these plain structs cannot fail; a line that did would be left
        // out and the count in the header would then refuse the snapshot.
        if let Ok(bytes) = value {
            text.extend(bytes);
            text.push(b'\n');
        }
    };
    line(serde_json::to_vec(&header));
    for recorded in parts.iter().flat_map(|part| &part.uses) {
        line(serde_json::to_vec(recorded));
    }
    Some(text)
}

/// Why a snapshot cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotFormatError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("the snapshot is empty")]
    Empty,
    #[error("format {0} is not one this janitor reads (it reads {SNAPSHOT_FORMAT})")]
    Format(u32),
    #[error("the header announces {announced} uses but {found} follow: the object is truncated")]
    Truncated { announced: usize, found: usize },
}

/// A snapshot as one repository's sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub header: SnapshotHeader,
    /// The uses that can protect an image of the repository, and every failed or
    /// switched-off source of every target.
    pub in_use: InUse,
}

impl Snapshot {
    /// Why the repository must not be swept against this snapshot at `now`: a target
    /// or one of its sources failed, or the snapshot is older than `max_age`.
    pub fn unusable(&self, now: DateTime<Utc>, max_age: chrono::Duration) -> Option<String> {
        if let Some(failure) = self.in_use.failed.first() {
            return Some(format!(
                "the in-use snapshot of run {} is incomplete: {}: {}{}",
                self.header.run_id,
                failure.source,
                failure.reason,
                match self.in_use.failed.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                }
            ));
        }
        let age = now - self.header.taken_at;
        (age > max_age).then(|| {
            format!(
                "the in-use snapshot of run {} was taken at {} ({} minutes ago), more than {} minutes",
                self.header.run_id,
                self.header.taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                age.num_minutes(),
                max_age.num_minutes()
            )
        })
    }
}

/// Reads a snapshot line by line, keeping what can protect one repository's images:
/// every use whose reference names the repository (in any host form), and one holder
/// per resolved digest of the others (a resolved digest protects the image with that
/// digest whatever the reference said).
#[derive(Debug)]
pub struct SnapshotReader {
    repository: Option<EcrRepository>,
    header: Option<SnapshotHeader>,
    named: Vec<ImageUse>,
    by_digest: HashMap<String, ImageUse>,
    pending: Vec<u8>,
    lines: usize,
    uses: usize,
}

impl SnapshotReader {
    /// A reader for the repository at `repository_uri`. A URI that is not understood
    /// keeps only resolved digests, as matching does.
    pub fn new(repository_uri: &str) -> Self {
        SnapshotReader {
            repository: EcrRepository::from_uri(repository_uri).ok(),
            header: None,
            named: Vec::new(),
            by_digest: HashMap::new(),
            pending: Vec::new(),
            lines: 0,
            uses: 0,
        }
    }

    /// Reads the complete lines of `chunk` (and of what was left from the last one).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), SnapshotFormatError> {
        self.pending.extend_from_slice(chunk);
        let Some(last_newline) = self.pending.iter().rposition(|&byte| byte == b'\n') else {
            return Ok(());
        };
        let rest = self.pending.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.pending, rest);
        for line in complete.split(|&byte| byte == b'\n') {
            self.line(line)?;
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), SnapshotFormatError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.lines += 1;
        let error = |err: serde_json::Error, line: usize| SnapshotFormatError::Line {
            line,
            message: err.to_string(),
        };
        if self.header.is_none() {
            let header: SnapshotHeader =
                serde_json::from_slice(line).map_err(|err| error(err, self.lines))?;
            if header.format != SNAPSHOT_FORMAT {
                return Err(SnapshotFormatError::Format(header.format));
            }
            self.header = Some(header);
            return Ok(());
        }
        let recorded: RecordedUse =
            serde_json::from_slice(line).map_err(|err| error(err, self.lines))?;
        self.uses += 1;
        self.keep(recorded);
        Ok(())
    }

    fn keep(&mut self, recorded: RecordedUse) {
        let names_repository = self.repository.as_ref().is_some_and(|repository| {
            ImageReference::parse(&recorded.image)
                .is_ok_and(|reference| repository.is_named_by(&reference))
        });
        let user = format!(
            "{} in {}/{}",
            recorded.user, recorded.account, recorded.region
        );
        let image_use = ImageUse {
            image: recorded.image,
            digest: recorded.digest,
            user,
            bare_is_this_registry: false,
        };
        if names_repository {
            self.named.push(image_use);
        } else if let Some(digest) = image_use.digest.clone() {
            self.by_digest.entry(digest).or_insert(image_use);
        }
    }

    /// The snapshot read: every line, whole.
    pub fn finish(mut self) -> Result<Snapshot, SnapshotFormatError> {
        let rest = std::mem::take(&mut self.pending);
        self.line(&rest)?;
        let header = self.header.ok_or(SnapshotFormatError::Empty)?;
        if header.uses != self.uses {
            return Err(SnapshotFormatError::Truncated {
                announced: header.uses,
                found: self.uses,
            });
        }
        let mut uses = self.named;
        let mut by_digest: Vec<ImageUse> = self.by_digest.into_values().collect();
        by_digest.sort_by(|a, b| a.digest.cmp(&b.digest));
        uses.extend(by_digest);
        let failed = header
            .targets
            .iter()
            .flat_map(|status| {
                status.failed.iter().map(|failure| SourceFailure {
                    source: format!("{} {}", status.target, failure.source),
                    reason: failure.reason.clone(),
                })
            })
            .collect();
        let off: BTreeSet<String> = header
            .targets
            .iter()
            .flat_map(|status| status.off.iter().cloned())
            .collect();
        Ok(Snapshot {
            header,
            in_use: InUse {
                uses,
                failed,
                off: off.into_iter().collect(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPOSITORY: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com/central/api";

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339")
    }

    fn digest(hex: char) -> String {
        format!("sha256:{}", hex.to_string().repeat(64))
    }

    fn part(account: &str, read_at: &str, uses: &[(&str, Option<String>, &str)]) -> TargetPart {
        TargetPart::new(
            &Target::new(account, "us-east-1"),
            at(read_at),
            InUse {
                uses: uses
                    .iter()
                    .map(|(image, digest, user)| ImageUse::new(image, digest.as_deref(), user))
                    .collect(),
                failed: Vec::new(),
                off: vec!["Batch job definitions".to_owned()],
            },
        )
    }

    fn read_in_chunks(bytes: &[u8], chunk: usize) -> Result<Snapshot, SnapshotFormatError> {
        let mut reader = SnapshotReader::new(REPOSITORY);
        for piece in bytes.chunks(chunk) {
            reader.feed(piece)?;
        }
        reader.finish()
    }

    fn parts() -> Vec<TargetPart> {
        vec![
            part(
                "222222222222",
                "2026-12-01T10:02:00Z",
                &[
                    (
                        "111111111111.dkr.ecr.us-east-1.amazonaws.com/central/api:v1",
                        None,
                        "ECS service prod/web",
                    ),
                    ("nginx:latest", Some(digest('a')), "ECS task prod/abc"),
                    ("nginx:latest", Some(digest('a')), "ECS task prod/def"),
                    (
                        "111111111111.dkr.ecr.us-east-1.amazonaws.com/other:v1",
                        None,
                        "Lambda function other:1",
                    ),
                ],
            ),
            part(
                "333333333333",
                "2026-12-01T10:01:00Z",
                &[(
                    "111111111111.dkr-ecr.us-east-1.on.aws/central/api@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                    None,
                    "Lambda function api:3",
                )],
            ),
        ]
    }

    #[test]
    fn a_reader_keeps_what_can_protect_its_repository() {
        let bytes = assemble("run-1", &parts()).expect("parts");
        for chunk in [1, 7, 64, bytes.len()] {
            let snapshot = read_in_chunks(&bytes, chunk).expect("readable");
            assert_eq!(snapshot.header.run_id, "run-1");
            assert_eq!(snapshot.header.taken_at, at("2026-12-01T10:01:00Z"));
            assert_eq!(snapshot.header.uses, 5);
            let users: Vec<&str> = snapshot
                .in_use
                .uses
                .iter()
                .map(|image_use| image_use.user.as_str())
                .collect();
            assert_eq!(
                users,
                [
                    "ECS service prod/web in 222222222222/us-east-1",
                    "Lambda function api:3 in 333333333333/us-east-1",
                    "ECS task prod/abc in 222222222222/us-east-1",
                ],
                "chunk {chunk}"
            );
            assert_eq!(snapshot.in_use.off, ["Batch job definitions"]);
            assert!(snapshot.in_use.failed.is_empty());
        }
    }

    #[test]
    fn a_failed_target_or_an_old_snapshot_is_unusable() {
        let mut parts = parts();
        parts.push(TargetPart::unreachable(
            &Target::new("444444444444", "eu-west-1"),
            at("2026-12-01T10:03:00Z"),
            "cannot assume arn:aws:iam::444444444444:role/ecr-janitor-member: AccessDenied".into(),
        ));
        let bytes = assemble("run-2", &parts).expect("parts");
        let snapshot = read_in_chunks(&bytes, 100).expect("readable");
        assert_eq!(
            snapshot.unusable(at("2026-12-01T10:05:00Z"), chrono::Duration::minutes(60)),
            Some(
                "the in-use snapshot of run run-2 is incomplete: 444444444444/eu-west-1 target: \
                 cannot assume arn:aws:iam::444444444444:role/ecr-janitor-member: AccessDenied"
                    .to_owned()
            )
        );

        let bytes = assemble("run-3", &self::parts()).expect("parts");
        let snapshot = read_in_chunks(&bytes, 100).expect("readable");
        let max_age = chrono::Duration::minutes(60);
        assert_eq!(snapshot.unusable(at("2026-12-01T11:01:00Z"), max_age), None);
        assert_eq!(
            snapshot.unusable(at("2026-12-01T11:01:01Z"), max_age),
            Some(
                "the in-use snapshot of run run-3 was taken at 2026-12-01T10:01:00Z \
                 (60 minutes ago), more than 60 minutes"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_truncated_or_foreign_snapshot_is_refused() {
        let bytes = assemble("run-4", &parts()).expect("parts");
        let cut = bytes.len() - 40;
        let last_line_start = bytes[..cut]
            .iter()
            .rposition(|&byte| byte == b'\n')
            .expect("lines");
        assert_eq!(
            read_in_chunks(&bytes[..=last_line_start], 10),
            Err(SnapshotFormatError::Truncated {
                announced: 5,
                found: 4
            })
        );
        assert!(matches!(
            read_in_chunks(&bytes[..cut], 10),
            Err(SnapshotFormatError::Line { line: 6, .. })
        ));
        assert_eq!(read_in_chunks(b"", 10), Err(SnapshotFormatError::Empty));
        let foreign =
            br#"{"format":2,"runId":"x","takenAt":"2026-12-01T10:00:00Z","targets":[],"uses":0}"#;
        assert_eq!(
            read_in_chunks(foreign, 10),
            Err(SnapshotFormatError::Format(2))
        );
    }

    #[test]
    fn no_parts_no_snapshot() {
        assert_eq!(assemble("run-5", &[]), None);
    }
}

//! The organization-wide in-use snapshot: the workloads of every target, gathered once
//! per run, read by every repository sweep of the run.
//!
//! Each target's workloads are gathered by an invocation of their own and written as a
//! part ([`TargetPart`]); when the last part is written the parts are assembled
//! ([`assemble`]) into one shard per registry — the uses whose reference names an ECR
//! registry of a target: a first line saying which registry and how many uses follow
//! ([`ShardHeader`]), then one JSON line per use ([`RecordedUse`]: the reference, the
//! digest, who holds it, in which account and Region, when it was read) — and a small
//! header ([`SnapshotHeader`]: the run, when it was read, the targets that failed or
//! had sources switched off), whose size does not grow with the organization.
//!
//! A repository sweep reads the header and streams only its own registry's shard
//! (none: no workload names the registry) through a [`SnapshotReader`], which keeps
//! the uses that name its repository: what a sweep downloads grows with its registry's
//! uses, and what it keeps with its repository's. A use protects images of the repository its reference names — by
//! tag, by digest, and by the digest the workload resolved it to; that the same digest
//! also sits in another repository does not make that copy one a workload can start,
//! so references to other registries (Docker Hub, another ECR registry) are not
//! recorded.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ImageUse, InUse, SourceFailure};
use crate::sweep::reference::{EcrRepository, ImageReference, Registry};
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

/// What every repository sweep of a run reads first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotHeader {
    pub format: u32,
    pub run_id: String,
    /// When the oldest part was read: the snapshot is as old as that.
    pub taken_at: DateTime<Utc>,
    /// Targets whose parts were assembled.
    pub targets: usize,
    /// Sources that could not be read, as `ACCOUNT/REGION source` (or `… target`
    /// when the whole target could not be reached).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<SourceFailure>,
    /// Sources the configuration switched off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub off: Vec<String>,
    /// Registries some use names: the shards of the run.
    pub shards: usize,
    /// Uses recorded in the shards.
    pub uses: usize,
    /// Uses left out because their reference names no registry of a target.
    pub uses_elsewhere: usize,
}

/// The first line of a shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardHeader {
    /// `ACCOUNT-REGION`.
    pub shard: String,
    /// Use lines that follow.
    pub uses: usize,
}

/// The key of a registry's shard.
pub fn shard_key(account: &str, region: &str) -> String {
    format!("{account}-{region}")
}

/// An assembled snapshot: its header and one body of JSON lines per shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledSnapshot {
    pub header: SnapshotHeader,
    pub shards: BTreeMap<String, Vec<u8>>,
}

/// The snapshot of `run_id` from its parts. `None` without parts.
pub fn assemble(run_id: &str, parts: &[TargetPart]) -> Option<AssembledSnapshot> {
    let taken_at = parts.iter().map(|part| part.read_at).min()?;
    let targets: BTreeSet<String> = parts
        .iter()
        .map(|part| shard_key(&part.target.account, &part.target.region))
        .collect();
    let mut lines: BTreeMap<String, (usize, Vec<u8>)> = BTreeMap::new();
    let mut uses_elsewhere = 0;
    for recorded in parts.iter().flat_map(|part| &part.uses) {
        let key = match ImageReference::parse(&recorded.image) {
            Ok(ImageReference {
                registry: Registry::Ecr(registry),
                ..
            }) => Some(shard_key(&registry.account, &registry.region)),
            _ => None,
        }
        .filter(|key| targets.contains(key));
        let (Some(key), Ok(line)) = (key, serde_json::to_vec(recorded)) else {
            uses_elsewhere += 1;
            continue;
        };
        let (count, body) = lines.entry(key).or_default();
        body.extend(line);
        body.push(b'\n');
        *count += 1;
    }
    let uses = lines.values().map(|(count, _)| count).sum();
    let shards: BTreeMap<String, Vec<u8>> = lines
        .into_iter()
        .map(|(shard, (count, body))| {
            let first = ShardHeader {
                shard: shard.clone(),
                uses: count,
            };
            let mut text = serde_json::to_vec(&first).unwrap_or_default();
            text.push(b'\n');
            text.extend(body);
            (shard, text)
        })
        .collect();
    let failed = parts
        .iter()
        .flat_map(|part| {
            part.failed.iter().map(|failure| SourceFailure {
                source: format!("{} {}", part.target, failure.source),
                reason: failure.reason.clone(),
            })
        })
        .collect();
    let off: BTreeSet<String> = parts
        .iter()
        .flat_map(|part| part.off.iter().cloned())
        .collect();
    Some(AssembledSnapshot {
        header: SnapshotHeader {
            format: SNAPSHOT_FORMAT,
            run_id: run_id.to_owned(),
            taken_at,
            targets: parts.len(),
            failed,
            off: off.into_iter().collect(),
            shards: shards.len(),
            uses,
            uses_elsewhere,
        },
        shards,
    })
}

/// Why a snapshot cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotFormatError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("format {0} is not one this janitor reads (it reads {SNAPSHOT_FORMAT})")]
    Format(u32),
    #[error("the shard announces {announced} uses but holds {found}: it is truncated")]
    Truncated { announced: usize, found: usize },
    #[error("the shard is of registry {found}, not {expected}")]
    OtherShard { expected: String, found: String },
}

/// A snapshot as one repository's sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub header: SnapshotHeader,
    /// The uses that name the repository, and every failed or switched-off source of
    /// every target.
    pub in_use: InUse,
}

impl Snapshot {
    /// Why the repository must not be swept against this snapshot at `now`: a target
    /// or one of its sources failed, or the snapshot is older than `max_age`.
    pub fn unusable(&self, now: DateTime<Utc>, max_age: chrono::Duration) -> Option<String> {
        if let Some(failure) = self.header.failed.first() {
            return Some(format!(
                "the in-use snapshot of run {} is incomplete: {}: {}{}",
                self.header.run_id,
                failure.source,
                failure.reason,
                match self.header.failed.len() {
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

/// Reads one registry's shard line by line, keeping the uses that name one
/// repository.
#[derive(Debug)]
pub struct SnapshotReader {
    repository: EcrRepository,
    kept: Vec<ImageUse>,
    pending: Vec<u8>,
    /// The shard's first line, once read.
    shard: Option<ShardHeader>,
    /// Lines read, the first included.
    lines: usize,
}

impl SnapshotReader {
    pub fn new(repository: EcrRepository) -> Self {
        SnapshotReader {
            repository,
            kept: Vec::new(),
            pending: Vec::new(),
            shard: None,
            lines: 0,
        }
    }

    /// The shard the reader needs: its repository's registry.
    pub fn shard_key(&self) -> String {
        let registry = &self.repository.registry;
        shard_key(&registry.account, &registry.region)
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
        if self.shard.is_none() {
            let first: ShardHeader =
                serde_json::from_slice(line).map_err(|err| error(err, self.lines))?;
            let expected = self.shard_key();
            if first.shard != expected {
                return Err(SnapshotFormatError::OtherShard {
                    expected,
                    found: first.shard,
                });
            }
            self.shard = Some(first);
            return Ok(());
        }
        let recorded: RecordedUse =
            serde_json::from_slice(line).map_err(|err| error(err, self.lines))?;
        let names_repository = ImageReference::parse(&recorded.image)
            .is_ok_and(|reference| self.repository.is_named_by(&reference));
        if names_repository {
            self.kept.push(ImageUse {
                user: format!(
                    "{} in {}/{}",
                    recorded.user, recorded.account, recorded.region
                ),
                image: recorded.image,
                digest: recorded.digest,
                bare_is_this_registry: false,
            });
        }
        Ok(())
    }

    /// The snapshot as the repository sees it: `header`, and the shard read whole (or
    /// nothing fed: the run has no shard for the registry, no workload names it).
    pub fn finish(mut self, header: SnapshotHeader) -> Result<Snapshot, SnapshotFormatError> {
        let rest = std::mem::take(&mut self.pending);
        self.line(&rest)?;
        if let Some(shard) = &self.shard {
            let found = self.lines - 1;
            if shard.uses != found {
                return Err(SnapshotFormatError::Truncated {
                    announced: shard.uses,
                    found,
                });
            }
        }
        Ok(Snapshot {
            in_use: InUse {
                uses: self.kept,
                failed: header.failed.clone(),
                off: header.off.clone(),
            },
            header,
        })
    }
}

/// Reads a header, refusing a format this janitor does not read.
pub fn read_header(bytes: &[u8]) -> Result<SnapshotHeader, SnapshotFormatError> {
    let header: SnapshotHeader =
        serde_json::from_slice(bytes).map_err(|err| SnapshotFormatError::Line {
            line: 1,
            message: err.to_string(),
        })?;
    if header.format != SNAPSHOT_FORMAT {
        return Err(SnapshotFormatError::Format(header.format));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CENTRAL: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com/central/api";

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

    fn parts() -> Vec<TargetPart> {
        vec![
            part("111111111111", "2026-12-01T10:03:00Z", &[]),
            part(
                "222222222222",
                "2026-12-01T10:02:00Z",
                &[
                    (
                        "111111111111.dkr.ecr.us-east-1.amazonaws.com/central/api:v1",
                        Some(digest('c')),
                        "ECS service prod/web",
                    ),
                    ("nginx:latest", Some(digest('a')), "ECS task prod/abc"),
                    (
                        "999999999999.dkr.ecr.us-east-1.amazonaws.com/elsewhere:v1",
                        None,
                        "ECS task prod/def",
                    ),
                    (
                        "111111111111.dkr.ecr.us-east-1.amazonaws.com/other:v1",
                        Some(digest('d')),
                        "Lambda function other:1",
                    ),
                    (
                        "222222222222.dkr.ecr.us-east-1.amazonaws.com/own:v1",
                        None,
                        "Lambda function own:1",
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

    fn read(
        assembled: &AssembledSnapshot,
        repository: &str,
        chunk: usize,
    ) -> Result<Snapshot, SnapshotFormatError> {
        let mut reader =
            SnapshotReader::new(EcrRepository::from_uri(repository).expect("repository"));
        if let Some(shard) = assembled.shards.get(&reader.shard_key()) {
            for piece in shard.chunks(chunk) {
                reader.feed(piece)?;
            }
        }
        reader.finish(assembled.header.clone())
    }

    #[test]
    fn uses_are_sharded_by_the_registry_they_name() {
        let assembled = assemble("run-1", &parts()).expect("parts");
        let header = &assembled.header;
        assert_eq!(header.taken_at, at("2026-12-01T10:01:00Z"));
        assert_eq!(header.targets, 3);
        assert_eq!(header.shards, 2);
        assert_eq!(header.uses, 4);
        let first_lines: Vec<&[u8]> = assembled
            .shards
            .values()
            .filter_map(|body| body.split(|&byte| byte == b'\n').next())
            .collect();
        assert_eq!(
            first_lines,
            [
                br#"{"shard":"111111111111-us-east-1","uses":3}"#.as_slice(),
                br#"{"shard":"222222222222-us-east-1","uses":1}"#.as_slice(),
            ]
        );
        // Docker Hub, and a registry that is no target.
        assert_eq!(header.uses_elsewhere, 2);
        assert_eq!(header.off, ["Batch job definitions"]);
        let text = serde_json::to_string(header).expect("json");
        assert_eq!(read_header(text.as_bytes()), Ok(header.clone()));
    }

    #[test]
    fn a_reader_keeps_the_uses_that_name_its_repository() {
        let assembled = assemble("run-1", &parts()).expect("parts");
        for chunk in [1, 7, 64, 10_000] {
            let snapshot = read(&assembled, CENTRAL, chunk).expect("readable");
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
                ],
                "chunk {chunk}"
            );
            assert!(snapshot.in_use.failed.is_empty());
        }
        let elsewhere = "444444444444.dkr.ecr.us-east-1.amazonaws.com/central/api";
        let snapshot = read(&assembled, elsewhere, 10).expect("no shard: no uses");
        assert!(snapshot.in_use.uses.is_empty());
    }

    #[test]
    fn a_failed_target_or_an_old_snapshot_is_unusable() {
        let mut with_failure = parts();
        with_failure.push(TargetPart::unreachable(
            &Target::new("444444444444", "eu-west-1"),
            at("2026-12-01T10:03:00Z"),
            "cannot assume arn:aws:iam::444444444444:role/ecr-janitor-member: AccessDenied".into(),
        ));
        let assembled = assemble("run-2", &with_failure).expect("parts");
        let snapshot = read(&assembled, CENTRAL, 100).expect("readable");
        assert_eq!(
            snapshot.unusable(at("2026-12-01T10:05:00Z"), chrono::Duration::minutes(60)),
            Some(
                "the in-use snapshot of run run-2 is incomplete: 444444444444/eu-west-1 target: \
                 cannot assume arn:aws:iam::444444444444:role/ecr-janitor-member: AccessDenied"
                    .to_owned()
            )
        );

        let assembled = assemble("run-3", &parts()).expect("parts");
        let snapshot = read(&assembled, CENTRAL, 100).expect("readable");
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
    fn a_truncated_shard_or_a_foreign_header_is_refused() {
        let assembled = assemble("run-4", &parts()).expect("parts");
        let shard = &assembled.shards["111111111111-us-east-1"];
        let line_ends: Vec<usize> = shard
            .iter()
            .enumerate()
            .filter_map(|(at, &byte)| (byte == b'\n').then_some(at))
            .collect();
        let repository = EcrRepository::from_uri(CENTRAL).expect("repository");
        let mut reader = SnapshotReader::new(repository.clone());
        reader.feed(&shard[..=line_ends[1]]).expect("two lines");
        assert_eq!(
            reader.finish(assembled.header.clone()),
            Err(SnapshotFormatError::Truncated {
                announced: 3,
                found: 1
            })
        );
        let mut reader = SnapshotReader::new(repository.clone());
        reader.feed(&shard[..line_ends[1] + 20]).expect("two lines");
        assert!(matches!(
            reader.finish(assembled.header.clone()),
            Err(SnapshotFormatError::Line { line: 3, .. })
        ));
        let mut reader = SnapshotReader::new(repository);
        let other = &assembled.shards["222222222222-us-east-1"];
        assert_eq!(
            reader.feed(other),
            Err(SnapshotFormatError::OtherShard {
                expected: "111111111111-us-east-1".to_owned(),
                found: "222222222222-us-east-1".to_owned()
            })
        );
        let foreign = br#"{"format":2,"runId":"x","takenAt":"2026-12-01T10:00:00Z","targets":0,"shards":0,"uses":0,"usesElsewhere":0}"#;
        assert_eq!(read_header(foreign), Err(SnapshotFormatError::Format(2)));
    }

    #[test]
    fn no_parts_no_snapshot() {
        assert_eq!(assemble("run-5", &[]), None);
    }
}

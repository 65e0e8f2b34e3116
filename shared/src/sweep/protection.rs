//! Images a sweep must never act on, and why: in use, carrying a protected tag,
//! younger than the configured minimum age, or possibly listed by an image index whose
//! manifest cannot be read. The engine receives the reasons; the summary counts them
//! by kind.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::lifecycle::ImageRecord;
use crate::protected_tags::ProtectedTags;

/// Why an image is protected, for counting. When several apply, the first listed wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ProtectionKind {
    InUse,
    ProtectedTag,
    MinimumAge,
    /// Possibly the child of an image index whose children are unknown.
    IndexUnreadable,
}

/// The protections of one repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protections {
    /// Digest → reason, as the engine takes it.
    pub reasons: HashMap<String, String>,
    /// Digest → kind of the reason.
    pub kinds: HashMap<String, ProtectionKind>,
}

impl Protections {
    /// How many images each kind protects.
    pub fn counts(&self) -> BTreeMap<ProtectionKind, usize> {
        let mut counts = BTreeMap::new();
        for kind in self.kinds.values() {
            *counts.entry(*kind).or_insert(0) += 1;
        }
        counts
    }

    fn add(&mut self, digest: &str, kind: ProtectionKind, reason: String) {
        if !self.kinds.contains_key(digest) {
            self.kinds.insert(digest.to_owned(), kind);
            self.reasons.insert(digest.to_owned(), reason);
        }
    }
}

/// The age an image has for `minimumAgeDays`: since its restore when it was restored
/// from archive, otherwise since its push.
fn age_start(image: &ImageRecord) -> DateTime<Utc> {
    image
        .activated_at
        .unwrap_or(image.pushed_at)
        .max(image.pushed_at)
}

/// What protects the images of one repository besides their own tags and age.
#[derive(Debug, Clone, Copy)]
pub struct ProtectionInput<'a> {
    /// Digest → reason, from [`super::in_use::protect_in_use`].
    pub in_use: &'a HashMap<String, String>,
    pub protected_tags: &'a ProtectedTags,
    pub minimum_age_days: u32,
    /// Image indexes whose children are unknown → why (see [`super::manifests`]).
    pub unreadable_indexes: &'a BTreeMap<String, String>,
    pub now: DateTime<Utc>,
}

/// Builds the protections of one repository. While an index's children are unknown,
/// every image that could be one of them stays: every image but the unreadable indexes
/// themselves and referrers (which follow their subject, never an index).
pub fn protections(images: &[ImageRecord], input: &ProtectionInput<'_>) -> Protections {
    let ProtectionInput {
        in_use,
        protected_tags,
        minimum_age_days,
        unreadable_indexes,
        now,
    } = *input;
    let mut protections = Protections::default();
    let known: std::collections::HashSet<&str> =
        images.iter().map(|image| image.digest.as_str()).collect();
    for (digest, reason) in in_use {
        if known.contains(digest.as_str()) {
            protections.add(digest, ProtectionKind::InUse, reason.clone());
        }
    }
    let minimum_age = TimeDelta::days(i64::from(minimum_age_days));
    let unreadable = unreadable_indexes.iter().next();
    for image in images {
        if let Some((tag, _)) = protected_tags.first_protected(&image.tags) {
            protections.add(
                &image.digest,
                ProtectionKind::ProtectedTag,
                format!("protected tag {tag}"),
            );
        } else if minimum_age_days > 0 && now - age_start(image) < minimum_age {
            protections.add(
                &image.digest,
                ProtectionKind::MinimumAge,
                format!("younger than {minimum_age_days} days"),
            );
        } else if let Some((index, why)) = unreadable {
            if image.subject_digest.is_none() && !unreadable_indexes.contains_key(&image.digest) {
                protections.add(
                    &image.digest,
                    ProtectionKind::IndexUnreadable,
                    format!("possibly listed by image index {index}, whose manifest cannot be read: {why}"),
                );
            }
        }
    }
    protections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("time") + TimeDelta::days(days)
    }

    fn image(digest: &str, tags: &[&str], pushed_day: i64) -> ImageRecord {
        ImageRecord::active(digest, tags, at(pushed_day))
    }

    fn protect(
        images: &[ImageRecord],
        in_use: &[(&str, &str)],
        tags: &[&str],
        minimum_age_days: u32,
        unreadable: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Protections {
        let in_use = in_use
            .iter()
            .map(|(digest, reason)| (digest.to_string(), reason.to_string()))
            .collect();
        let patterns: Vec<crate::pattern::WildcardPattern> = tags
            .iter()
            .map(|tag| crate::pattern::WildcardPattern::new(tag))
            .collect();
        let unreadable_indexes = unreadable
            .iter()
            .map(|(digest, why)| (digest.to_string(), why.to_string()))
            .collect();
        protections(
            images,
            &ProtectionInput {
                in_use: &in_use,
                protected_tags: &ProtectedTags::new(&patterns),
                minimum_age_days,
                unreadable_indexes: &unreadable_indexes,
                now,
            },
        )
    }

    fn sorted_reasons(protections: &Protections) -> Vec<(&str, &str)> {
        let mut reasons: Vec<(&str, &str)> = protections
            .reasons
            .iter()
            .map(|(digest, reason)| (digest.as_str(), reason.as_str()))
            .collect();
        reasons.sort();
        reasons
    }

    #[test]
    fn in_use_beats_tags_which_beat_age() {
        let images = [
            image("sha256:a", &["prod-1"], 9),
            image("sha256:b", &["prod-2"], 0),
            image("sha256:c", &["dev"], 8),
            image("sha256:d", &["dev-old"], 0),
            image("sha256:e", &[], 7),
        ];
        let protections = protect(
            &images,
            &[
                ("sha256:a", "in use by ECS task t"),
                ("sha256:zz", "in use elsewhere"),
            ],
            &["prod-*"],
            3,
            &[],
            at(10),
        );
        assert_eq!(
            sorted_reasons(&protections),
            vec![
                ("sha256:a", "in use by ECS task t"),
                ("sha256:b", "protected tag prod-2"),
                ("sha256:c", "younger than 3 days"),
            ]
        );
        assert_eq!(
            protections.counts(),
            BTreeMap::from([
                (ProtectionKind::InUse, 1),
                (ProtectionKind::ProtectedTag, 1),
                (ProtectionKind::MinimumAge, 1),
            ])
        );
    }

    #[test]
    fn exactly_the_minimum_age_is_old_enough_and_restores_restart_the_clock() {
        let mut restored = image("sha256:r", &[], 0);
        restored.activated_at = Some(at(9));
        let images = [image("sha256:old", &[], 7), restored];
        let protections = protect(&images, &[], &[], 3, &[], at(10));
        assert_eq!(
            protections.reasons.keys().collect::<Vec<_>>(),
            vec!["sha256:r"]
        );
    }

    #[test]
    fn zero_minimum_age_protects_nothing() {
        let images = [image("sha256:new", &[], 10)];
        assert!(protect(&images, &[], &[], 0, &[], at(10))
            .reasons
            .is_empty());
    }

    #[test]
    fn an_unreadable_index_keeps_every_image_it_could_list() {
        let mut archived_index = image("sha256:i", &["multi"], 0);
        archived_index.manifest_media_type = Some("application/vnd.oci.image.index.v1+json".into());
        let mut signature = image("sha256:s", &[], 0);
        signature.subject_digest = Some("sha256:x".into());
        let images = [
            archived_index,
            signature,
            image("sha256:x", &[], 0),
            image("sha256:y", &["prod-1"], 0),
        ];
        let protections = protect(
            &images,
            &[],
            &["prod-*"],
            0,
            &[("sha256:i", "it is archived")],
            at(10),
        );
        assert_eq!(
            sorted_reasons(&protections),
            vec![
                (
                    "sha256:x",
                    "possibly listed by image index sha256:i, whose manifest cannot be read: it is archived"
                ),
                ("sha256:y", "protected tag prod-1"),
            ]
        );
        assert_eq!(
            protections.counts(),
            BTreeMap::from([
                (ProtectionKind::ProtectedTag, 1),
                (ProtectionKind::IndexUnreadable, 1),
            ])
        );
    }
}

//! Images a sweep must never act on, and why: in use, carrying a protected tag, or
//! younger than the configured minimum age. The engine receives the reasons; the
//! summary counts them by kind.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::lifecycle::ImageRecord;
use crate::pattern::WildcardPattern;

/// Why an image is protected, for counting. When several apply, the first listed wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ProtectionKind {
    InUse,
    ProtectedTag,
    MinimumAge,
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

/// Builds the protections of one repository. `in_use` comes from
/// [`super::in_use::protect_in_use`].
pub fn protections(
    images: &[ImageRecord],
    in_use: HashMap<String, String>,
    protected_tags: &[WildcardPattern],
    minimum_age_days: u32,
    now: DateTime<Utc>,
) -> Protections {
    let mut protections = Protections::default();
    let known: std::collections::HashSet<&str> =
        images.iter().map(|image| image.digest.as_str()).collect();
    for (digest, reason) in in_use {
        if known.contains(digest.as_str()) {
            protections.add(&digest, ProtectionKind::InUse, reason);
        }
    }
    let minimum_age = TimeDelta::days(i64::from(minimum_age_days));
    for image in images {
        let protected_tag = image
            .tags
            .iter()
            .find(|tag| protected_tags.iter().any(|pattern| pattern.matches(tag)));
        if let Some(tag) = protected_tag {
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

    #[test]
    fn in_use_beats_tags_which_beat_age() {
        let images = [
            image("sha256:a", &["prod-1"], 9),
            image("sha256:b", &["prod-2"], 0),
            image("sha256:c", &["dev"], 8),
            image("sha256:d", &["dev-old"], 0),
            image("sha256:e", &[], 7),
        ];
        let in_use = HashMap::from([
            ("sha256:a".to_owned(), "in use by ECS task t".to_owned()),
            ("sha256:zz".to_owned(), "in use elsewhere".to_owned()),
        ]);
        let protections = protections(
            &images,
            in_use,
            &[WildcardPattern::new("prod-*")],
            3,
            at(10),
        );
        let mut reasons: Vec<(&str, &str)> = protections
            .reasons
            .iter()
            .map(|(digest, reason)| (digest.as_str(), reason.as_str()))
            .collect();
        reasons.sort();
        assert_eq!(
            reasons,
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
        let protections = protections(&images, HashMap::new(), &[], 3, at(10));
        assert_eq!(
            protections.reasons.keys().collect::<Vec<_>>(),
            vec!["sha256:r"]
        );
    }

    #[test]
    fn zero_minimum_age_protects_nothing() {
        let images = [image("sha256:new", &[], 10)];
        assert!(protections(&images, HashMap::new(), &[], 0, at(10))
            .reasons
            .is_empty());
    }
}

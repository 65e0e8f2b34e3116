//! The last look before acting: every image a batch is about to expire or transition
//! is read again (`DescribeImages` by id) right before the call, and compared with what
//! the plan saw. Plans take minutes to execute on large repositories; meanwhile a CI
//! promotion may add a protected tag, an image may be pulled, archived, restored or
//! deleted and pushed again. Only an image that is still exactly what the plan saw is
//! acted on; any other is kept and reported as changed since planned.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::lifecycle::{ImageRecord, ImageStatus};

/// What the plan saw of an image it acts on, beyond its digest and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenImage {
    pub status: ImageStatus,
    pub pushed_at: DateTime<Utc>,
    pub last_pulled_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
}

impl SeenImage {
    pub fn of(image: &ImageRecord) -> Self {
        SeenImage {
            status: image.status,
            pushed_at: image.pushed_at,
            last_pulled_at: image.last_pulled_at,
            archived_at: image.archived_at,
            activated_at: image.activated_at,
        }
    }
}

/// The image as the fresh read shows it, against the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// Still exactly what the plan saw: act.
    Unchanged,
    /// No longer in the repository: nothing to do.
    Gone,
    /// Changed since planned (what changed, in words): keep it.
    Changed(String),
}

/// Compares the plan's view of an image (`tags`, `seen`) with a fresh read of it
/// (`None`: the read did not list it).
pub fn recheck(tags: &[String], seen: &SeenImage, fresh: Option<&ImageRecord>) -> Recheck {
    let Some(fresh) = fresh else {
        return Recheck::Gone;
    };
    let planned_tags: BTreeSet<&str> = tags.iter().map(String::as_str).collect();
    let fresh_tags: BTreeSet<&str> = fresh.tags.iter().map(String::as_str).collect();
    let mut changes = Vec::new();
    if planned_tags != fresh_tags {
        changes.push(format!("tags {:?} are now {:?}", planned_tags, fresh_tags));
    }
    let now = SeenImage::of(fresh);
    if now.status != seen.status {
        changes.push(format!("status {:?} is now {:?}", seen.status, now.status));
    }
    if now.pushed_at != seen.pushed_at {
        changes.push(format!(
            "pushed again at {} (was {})",
            now.pushed_at.to_rfc3339(),
            seen.pushed_at.to_rfc3339()
        ));
    }
    if now.last_pulled_at != seen.last_pulled_at {
        changes.push("pulled since planned".to_owned());
    }
    if now.archived_at != seen.archived_at || now.activated_at != seen.activated_at {
        changes.push("archived or restored since planned".to_owned());
    }
    if changes.is_empty() {
        Recheck::Unchanged
    } else {
        Recheck::Changed(changes.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("time")
    }

    fn planned() -> (Vec<String>, SeenImage, ImageRecord) {
        let image = ImageRecord::active("sha256:a", &["dev-1", "build-7"], at(0));
        (image.tags.clone(), SeenImage::of(&image), image)
    }

    #[test]
    fn the_same_image_in_another_tag_order_is_unchanged() {
        let (tags, seen, mut fresh) = planned();
        fresh.tags.reverse();
        assert_eq!(recheck(&tags, &seen, Some(&fresh)), Recheck::Unchanged);
    }

    #[test]
    fn a_missing_image_is_gone() {
        let (tags, seen, _) = planned();
        assert_eq!(recheck(&tags, &seen, None), Recheck::Gone);
    }

    #[test]
    fn a_new_tag_a_lost_tag_a_pull_an_archive_or_a_new_push_is_a_change() {
        let (tags, seen, fresh) = planned();
        let mut retagged = fresh.clone();
        retagged.tags.push("prod-1".into());
        assert_eq!(
            recheck(&tags, &seen, Some(&retagged)),
            Recheck::Changed(
                r#"tags {"build-7", "dev-1"} are now {"build-7", "dev-1", "prod-1"}"#.into()
            )
        );
        let mut untagged = fresh.clone();
        untagged.tags.clear();
        assert!(matches!(
            recheck(&tags, &seen, Some(&untagged)),
            Recheck::Changed(_)
        ));
        let mut pulled = fresh.clone();
        pulled.last_pulled_at = Some(at(60));
        assert_eq!(
            recheck(&tags, &seen, Some(&pulled)),
            Recheck::Changed("pulled since planned".into())
        );
        let mut archived = fresh.clone();
        archived.status = ImageStatus::Archived;
        archived.archived_at = Some(at(60));
        assert_eq!(
            recheck(&tags, &seen, Some(&archived)),
            Recheck::Changed(
                "status Active is now Archived; archived or restored since planned".into()
            )
        );
        let mut pushed_again = fresh;
        pushed_again.pushed_at = at(120);
        assert!(matches!(
            recheck(&tags, &seen, Some(&pushed_again)),
            Recheck::Changed(why) if why.starts_with("pushed again at")
        ));
    }
}

//! Evaluation of a validated policy against a set of images at one instant.
//!
//! All rules see the same images at the same instant; their results are applied in
//! priority order. An image is claimed by the first rule whose tag selection matches
//! it, and only that rule may act on it. Consequences are then propagated: protected
//! images, image indexes that stay and referrers' subjects that stay keep the images
//! that depend on them.
//!
//! The engine is built for a million images: per-image facts are computed once, the
//! count ordering is sorted once, a claim takes one byte per image and tag matches are
//! computed in input order (the images' own memory order) into a reused buffer.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::image::{ImageRecord, ImageStatus};
use super::plan::{Action, ImageDecision, KeepReason, Outcome, Plan};
use super::policy::{CountCriterion, LifecyclePolicy, Rule, StorageClass, TagSelection};

/// Archived images must stay this long in archive before a rule may expire them.
const MINIMUM_ARCHIVE_DAYS: u32 = 90;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Everything [`evaluate`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct EvaluationInput<'a> {
    pub images: &'a [ImageRecord],
    /// Image index digest -> the child digests it references.
    pub index_children: &'a HashMap<String, Vec<String>>,
    /// Digest -> why the caller protects the image.
    pub protected: &'a HashMap<String, String>,
    pub now: DateTime<Utc>,
}

/// Decides, for every image, whether the policy acts on it and why not otherwise.
/// Pure and deterministic: the plan is sorted by digest and independent of input order.
pub fn evaluate(policy: &LifecyclePolicy, input: &EvaluationInput) -> Plan {
    let images = input.images;
    let by_digest = sort_by_digest(images);
    let facts: Vec<ImageFacts> = images.iter().map(ImageFacts::of).collect();
    let mut digest_rank = vec![0u32; images.len()];
    for (rank, &position) in by_digest.iter().enumerate() {
        digest_rank[position as usize] = rank as u32;
    }
    let claims = claim_images(policy.rules(), images, &facts, &digest_rank, input.now);
    let mut tentative: Vec<Tentative> = claims
        .iter()
        .map(|claim| claim.tentative(policy.rules()))
        .collect();
    let links = Links::build(images, &by_digest, input.index_children);
    links.copy_subject_actions(images, &mut tentative);
    links.demote_blocked(images, input.protected, &mut tentative);
    Plan {
        decisions: by_digest
            .iter()
            .map(|&position| ImageDecision {
                digest: images[position as usize].digest.clone(),
                outcome: tentative[position as usize].to_outcome(),
            })
            .collect(),
    }
}

/// Image positions sorted by digest: the plan's order, and how digests are looked up.
fn sort_by_digest(images: &[ImageRecord]) -> Vec<u32> {
    if images.is_sorted_by(|a, b| a.digest <= b.digest) {
        return (0..images.len() as u32).collect();
    }
    // Sorting on an in-line key avoids chasing two pointers per comparison; only
    // digests sharing their first 16 bytes compare the strings.
    let mut keyed: Vec<(u128, u32)> = images
        .iter()
        .enumerate()
        .map(|(position, image)| (digest_key(&image.digest), position as u32))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            images[a.1 as usize]
                .digest
                .cmp(&images[b.1 as usize].digest)
        })
    });
    keyed.into_iter().map(|(_, position)| position).collect()
}

/// The first 16 bytes of a digest, zero-padded, as a big-endian number: ordering
/// these orders the digests, except that equal keys must compare the strings.
fn digest_key(digest: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let prefix = &digest.as_bytes()[..digest.len().min(16)];
    bytes[..prefix.len()].copy_from_slice(prefix);
    u128::from_be_bytes(bytes)
}

/// Finds the position of `digest` in `images` through the digest order.
fn find(images: &[ImageRecord], by_digest: &[u32], digest: &str) -> Option<u32> {
    by_digest
        .binary_search_by(|&position| images[position as usize].digest.as_str().cmp(digest))
        .ok()
        .map(|found| by_digest[found])
}

/// What the rules need to know about one image, as microseconds since the epoch.
#[derive(Debug, Clone, Copy)]
struct ImageFacts {
    /// The storage class whose rules see the image; `None` for referrers (they follow
    /// their subject) and images being restored.
    class: Option<StorageClass>,
    tagged: bool,
    /// Newest first for `imageCountMoreThan`: push time, archive time for archived
    /// images, restore time after a restore.
    count_time: i64,
    pushed: i64,
    /// Last pull; restore time when restored and not pulled since; else push time.
    last_used: i64,
    /// Archive time; `i64::MAX` (never old enough) when unknown.
    archived: i64,
}

impl ImageFacts {
    fn of(image: &ImageRecord) -> ImageFacts {
        let class = match (image.subject_digest.is_some(), image.status) {
            (true, _) | (_, ImageStatus::Activating) => None,
            (false, ImageStatus::Active) => Some(StorageClass::Standard),
            (false, ImageStatus::Archived) => Some(StorageClass::Archive),
        };
        let pushed = image.pushed_at.timestamp_micros();
        let count_time = match image.status {
            ImageStatus::Archived => image.archived_at.unwrap_or(image.pushed_at),
            ImageStatus::Active | ImageStatus::Activating => {
                image.activated_at.unwrap_or(image.pushed_at)
            }
        };
        let last_used = match (image.last_pulled_at, image.activated_at) {
            (Some(pulled), Some(restored)) => pulled.max(restored),
            (Some(used), None) | (None, Some(used)) => used,
            (None, None) => image.pushed_at,
        };
        ImageFacts {
            class,
            tagged: !image.tags.is_empty(),
            count_time: count_time.timestamp_micros(),
            pushed,
            last_used: last_used.timestamp_micros(),
            archived: image
                .archived_at
                .map_or(i64::MAX, |at| at.timestamp_micros()),
        }
    }
}

/// Which rule claimed an image and whether it acts on it, in one byte:
/// 0 = unclaimed, else the rule's position + 1, with `ACTS` set when the rule acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim(u8);

impl Claim {
    const NONE: Claim = Claim(0);
    const ACTS: u8 = 0x80;

    fn new(rule_position: usize, acts: bool) -> Claim {
        // Policies hold at most 50 rules, so the position fits in seven bits.
        Claim((rule_position as u8 + 1) | if acts { Claim::ACTS } else { 0 })
    }

    fn tentative(self, rules: &[Rule]) -> Tentative<'static> {
        if self == Claim::NONE {
            return Tentative::Keep(Kept::NotSelected);
        }
        let rule = &rules[usize::from(self.0 & !Claim::ACTS) - 1];
        if self.0 & Claim::ACTS != 0 {
            Tentative::Act {
                action: rule.action,
                rule_priority: rule.priority,
            }
        } else {
            Tentative::Keep(Kept::ByRule(rule.priority))
        }
    }
}

/// Applies the rules in priority order; each image is claimed by the first rule whose
/// tag selection matches it.
fn claim_images(
    rules: &[Rule],
    images: &[ImageRecord],
    facts: &[ImageFacts],
    digest_rank: &[u32],
    now: DateTime<Utc>,
) -> Vec<Claim> {
    let now = now.timestamp_micros();
    let mut claims = vec![Claim::NONE; images.len()];
    let mut matched = vec![false; images.len()];
    let mut count_order: HashMap<StorageClass, Vec<(u32, bool)>> = HashMap::new();
    for (position, rule) in rules.iter().enumerate() {
        let class = rule.selection.storage_class;
        let tags = &rule.selection.tags;
        let matches = |index: usize| -> bool {
            let fact = &facts[index];
            fact.class == Some(class)
                && match tags {
                    TagSelection::Any => true,
                    TagSelection::Untagged => !fact.tagged,
                    TagSelection::Tagged(filter) => {
                        fact.tagged && filter.matches(&images[index].tags)
                    }
                }
        };
        match rule.selection.count {
            CountCriterion::ImageCountMoreThan(keep) => {
                if matches!(tags, TagSelection::Tagged(_)) {
                    for (index, slot) in matched.iter_mut().enumerate() {
                        *slot = matches(index);
                    }
                }
                let order = count_order
                    .entry(class)
                    .or_insert_with(|| newest_first(facts, digest_rank, class));
                let mut seen: u64 = 0;
                for &(index, tagged) in order.iter() {
                    let index = index as usize;
                    let hit = match tags {
                        TagSelection::Any => true,
                        TagSelection::Untagged => !tagged,
                        TagSelection::Tagged(_) => matched[index],
                    };
                    if !hit {
                        continue;
                    }
                    seen += 1;
                    if claims[index] == Claim::NONE {
                        claims[index] = Claim::new(position, seen > u64::from(keep));
                    }
                }
            }
            criterion => {
                let older = age_test(criterion, rule.action, now);
                for (index, fact) in facts.iter().enumerate() {
                    if claims[index] == Claim::NONE && matches(index) {
                        claims[index] = Claim::new(position, older(fact));
                    }
                }
            }
        }
    }
    claims
}

/// The images of one storage class, newest first, ties broken by digest; with
/// whether each is tagged so untagged/any counts need not look at the images.
fn newest_first(
    facts: &[ImageFacts],
    digest_rank: &[u32],
    class: StorageClass,
) -> Vec<(u32, bool)> {
    let mut order: Vec<(Reverse<i64>, u32, u32, bool)> = facts
        .iter()
        .zip(digest_rank)
        .enumerate()
        .filter(|(_, (fact, _))| fact.class == Some(class))
        .map(|(position, (fact, &rank))| {
            (Reverse(fact.count_time), rank, position as u32, fact.tagged)
        })
        .collect();
    // (time, digest rank) is unique, so the unstable sort is deterministic.
    order.sort_unstable_by_key(|&(time, rank, _, _)| (time, rank));
    order
        .into_iter()
        .map(|(_, _, position, tagged)| (position, tagged))
        .collect()
}

/// Whether an image is old enough for a `since*` rule: strictly more than N×24 h
/// before `now`, and for expiring archived images at least 90 days in archive.
fn age_test(criterion: CountCriterion, action: Action, now: i64) -> impl Fn(&ImageFacts) -> bool {
    let before = |days: u32| {
        i64::from(days)
            .checked_mul(MICROS_PER_DAY)
            .and_then(|span| now.checked_sub(span))
            .unwrap_or(i64::MIN)
    };
    let archive_minimum = before(MINIMUM_ARCHIVE_DAYS);
    let (field, threshold): (fn(&ImageFacts) -> i64, i64) = match criterion {
        CountCriterion::ImageCountMoreThan(_) => (|_| i64::MAX, i64::MIN),
        CountCriterion::SinceImagePushed { days } => (|fact| fact.pushed, before(days)),
        CountCriterion::SinceImagePulled { days } => (|fact| fact.last_used, before(days)),
        CountCriterion::SinceImageTransitioned { days } => (|fact| fact.archived, before(days)),
    };
    let check_archive_minimum = matches!(criterion, CountCriterion::SinceImageTransitioned { .. })
        && action == Action::Expire;
    move |fact: &ImageFacts| {
        field(fact) < threshold && (!check_archive_minimum || fact.archived <= archive_minimum)
    }
}

/// An image's decision while consequences are propagated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tentative<'a> {
    Act { action: Action, rule_priority: u32 },
    Keep(Kept<'a>),
}

/// Why an image is kept, borrowing the digests and reasons of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept<'a> {
    NotSelected,
    ByRule(u32),
    Protected(&'a str),
    ByIndex(&'a str),
    BySubject(&'a str),
}

impl Tentative<'_> {
    fn action(&self) -> Option<Action> {
        match self {
            Tentative::Act { action, .. } => Some(*action),
            Tentative::Keep(_) => None,
        }
    }

    fn to_outcome(self) -> Outcome {
        match self {
            Tentative::Act {
                action,
                rule_priority,
            } => Outcome::Act {
                action,
                rule_priority,
            },
            Tentative::Keep(kept) => Outcome::Keep {
                reason: match kept {
                    Kept::NotSelected => KeepReason::NotSelected,
                    Kept::ByRule(rule_priority) => KeepReason::KeptByRule { rule_priority },
                    Kept::Protected(reason) => KeepReason::Protected {
                        reason: reason.to_owned(),
                    },
                    Kept::ByIndex(index_digest) => KeepReason::ReferencedByIndex {
                        index_digest: index_digest.to_owned(),
                    },
                    Kept::BySubject(subject_digest) => KeepReason::SubjectKept {
                        subject_digest: subject_digest.to_owned(),
                    },
                },
            },
        }
    }
}

/// The edges between images: index -> child and referrer -> subject, as sorted lists
/// of positions (a digest absent from the images is `None`).
struct Links<'a> {
    /// (child, (index position, index digest)), sorted by child then index digest.
    parents: Vec<(u32, (Option<u32>, &'a str))>,
    /// (index, child), sorted by index.
    children: Vec<(u32, u32)>,
    /// (referrer, (subject position, subject digest)), sorted by referrer.
    subjects: Vec<(u32, (Option<u32>, &'a str))>,
    /// (subject, referrer), sorted by subject.
    referrers: Vec<(u32, u32)>,
}

/// The entries of a list sorted by its first element whose first element is `key`.
fn entries_of<T>(sorted: &[(u32, T)], key: u32) -> &[(u32, T)] {
    let start = sorted.partition_point(|entry| entry.0 < key);
    let end = start + sorted[start..].partition_point(|entry| entry.0 == key);
    &sorted[start..end]
}

impl<'a> Links<'a> {
    fn build(
        images: &'a [ImageRecord],
        by_digest: &[u32],
        index_children: &'a HashMap<String, Vec<String>>,
    ) -> Links<'a> {
        let mut parents = Vec::new();
        let mut children = Vec::new();
        for (index_digest, child_digests) in index_children {
            let index = find(images, by_digest, index_digest);
            for child_digest in child_digests {
                if let Some(child) = find(images, by_digest, child_digest) {
                    parents.push((child, (index, index_digest.as_str())));
                    if let Some(index) = index {
                        children.push((index, child));
                    }
                }
            }
        }
        parents.sort_unstable_by(|a, b| (a.0, a.1 .1).cmp(&(b.0, b.1 .1)));
        children.sort_unstable();
        let mut subjects = Vec::new();
        let mut referrers = Vec::new();
        for (referrer, image) in images.iter().enumerate() {
            if let Some(subject_digest) = image.subject_digest.as_deref() {
                let subject = find(images, by_digest, subject_digest);
                subjects.push((referrer as u32, (subject, subject_digest)));
                if let Some(subject) = subject {
                    referrers.push((subject, referrer as u32));
                }
            }
        }
        referrers.sort_unstable();
        Links {
            parents,
            children,
            subjects,
            referrers,
        }
    }

    /// A referrer gets its root subject's action and rule (subjects may be referrers
    /// themselves, e.g. a signature of an SBOM); it is kept when the root is.
    fn copy_subject_actions(&self, images: &'a [ImageRecord], tentative: &mut [Tentative<'a>]) {
        for &(referrer, (subject, subject_digest)) in &self.subjects {
            let mut root = subject;
            // A malformed export could hold a cycle of referrers: give up after as many
            // steps as there are referrers and keep the image.
            for _ in 0..=self.subjects.len() {
                match root.map(|position| entries_of(&self.subjects, position)) {
                    Some([(_, (next, _))]) => root = *next,
                    _ => break,
                }
            }
            let root_outcome = root
                .filter(|&position| images[position as usize].subject_digest.is_none())
                .map(|position| tentative[position as usize]);
            tentative[referrer as usize] = match root_outcome {
                Some(act @ Tentative::Act { .. }) => act,
                _ => Tentative::Keep(Kept::BySubject(subject_digest)),
            };
        }
    }

    /// Keeps every image the plan would act on but must not: protected images, images
    /// referenced by an index that is not acted on with the same action, referrers
    /// whose subject is not. Keeping an image can keep its children and referrers, so
    /// this runs a worklist to the fixed point.
    fn demote_blocked(
        &self,
        images: &'a [ImageRecord],
        protected: &'a HashMap<String, String>,
        tentative: &mut [Tentative<'a>],
    ) {
        let mut pending: Vec<u32> = (0..images.len() as u32)
            .filter(|&position| tentative[position as usize].action().is_some())
            .collect();
        let mut demoted = Vec::new();
        while let Some(position) = pending.pop() {
            let Some(action) = tentative[position as usize].action() else {
                continue;
            };
            let Some(kept) = self.blocker(images, protected, tentative, position, action) else {
                continue;
            };
            tentative[position as usize] = Tentative::Keep(kept);
            demoted.push((position, action));
            pending.extend(
                entries_of(&self.children, position)
                    .iter()
                    .map(|edge| edge.1),
            );
            pending.extend(
                entries_of(&self.referrers, position)
                    .iter()
                    .map(|edge| edge.1),
            );
        }
        // Which blocker was seen first depends on the worklist order, hence on the input
        // order; the set of kept images does not. Name the reason from the final state
        // so that the plan is independent of input order. Blockers never unblock, so
        // every demoted image still has one.
        for (position, action) in demoted {
            if let Some(kept) = self.blocker(images, protected, tentative, position, action) {
                tentative[position as usize] = Tentative::Keep(kept);
            }
        }
    }

    /// Why the image at `position` cannot take `action`, if it cannot.
    fn blocker(
        &self,
        images: &'a [ImageRecord],
        protected: &'a HashMap<String, String>,
        tentative: &[Tentative<'a>],
        position: u32,
        action: Action,
    ) -> Option<Kept<'a>> {
        if let Some(reason) = protected.get(images[position as usize].digest.as_str()) {
            return Some(Kept::Protected(reason));
        }
        let goes_too = |other: Option<u32>| {
            other.is_some_and(|other| tentative[other as usize].action() == Some(action))
        };
        if let Some(&(_, (_, index_digest))) = entries_of(&self.parents, position)
            .iter()
            .find(|(_, (index, _))| !goes_too(*index))
        {
            return Some(Kept::ByIndex(index_digest));
        }
        match entries_of(&self.subjects, position) {
            [(_, (subject, subject_digest))] if !goes_too(*subject) => {
                Some(Kept::BySubject(subject_digest))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;

//! Evaluation of a validated policy against a set of images at one instant.
//!
//! All rules see the same images at the same instant; their results are applied in
//! priority order. An image is claimed by the first rule whose tag selection matches
//! it, and only that rule may act on it. Consequences are then propagated: protected
//! images, image indexes that stay and referrers' subjects that stay keep the images
//! that depend on them.
//!
//! The engine is built for a million images: per-image facts (tag filter matches
//! included) are computed once in input order, the count ordering is sorted once per
//! storage class, a claim takes one byte per image, the digests that links and
//! protections name are resolved in one merge against the digest order, and the plan
//! borrows its strings instead of copying a million digests.

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::image::{ImageRecord, ImageStatus};
use super::plan::{Action, ImageDecision, KeepReason, Outcome, Plan};
use super::policy::{CountCriterion, LifecyclePolicy, Rule, StorageClass, TagFilter, TagSelection};

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
/// It borrows its digests and reasons from `input`.
pub fn evaluate<'a>(policy: &LifecyclePolicy, input: &EvaluationInput<'a>) -> Plan<'a> {
    let images = input.images;
    let digests = DigestOrder::new(images);
    let mut facts: Vec<ImageFacts> = images.iter().map(ImageFacts::of).collect();
    match_tag_filters(policy.rules(), images, &mut facts);
    let claims = claim_images(
        policy.rules(),
        &facts,
        &digests.rank_by_position(),
        input.now,
    );
    let mut tentative: Vec<Tentative> = claims
        .iter()
        .map(|claim| claim.tentative(policy.rules()))
        .collect();
    let links = Links::build(images, &digests, input.index_children, input.protected);
    links.copy_subject_actions(images, &mut tentative);
    links.demote_blocked(&mut tentative);
    Plan {
        decisions: digests
            .positions()
            .map(|position| ImageDecision {
                digest: Cow::Borrowed(&images[position].digest),
                outcome: tentative[position].to_outcome(),
            })
            .collect(),
    }
}

/// The images in digest order: the plan's order, and how digests are looked up.
struct DigestOrder<'a> {
    images: &'a [ImageRecord],
    /// (the digest's [`digest_key`], the image's position), sorted by digest. Sorting
    /// and searching on an in-line key avoids chasing a pointer per comparison; only
    /// digests sharing their first 16 bytes compare the strings.
    sorted: Vec<(u128, u32)>,
}

impl<'a> DigestOrder<'a> {
    fn new(images: &'a [ImageRecord]) -> DigestOrder<'a> {
        let mut sorted: Vec<(u128, u32)> = images
            .iter()
            .enumerate()
            .map(|(position, image)| (digest_key(&image.digest), position as u32))
            .collect();
        sorted.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                images[a.1 as usize]
                    .digest
                    .cmp(&images[b.1 as usize].digest)
            })
        });
        DigestOrder { images, sorted }
    }

    /// Image positions in digest order.
    fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.sorted.iter().map(|&(_, position)| position as usize)
    }

    /// Each image's rank in digest order, by position.
    fn rank_by_position(&self) -> Vec<u32> {
        let mut ranks = vec![0u32; self.sorted.len()];
        for (rank, position) in self.positions().enumerate() {
            ranks[position] = rank as u32;
        }
        ranks
    }

    /// The positions of the images with these digests; digests of no image are left
    /// out. Sorting the digests sought and walking both sorted lists once costs far
    /// less than a binary search per digest through a million scattered strings.
    fn find_all<'q>(&self, sought: impl Iterator<Item = &'q str>) -> HashMap<&'q str, u32> {
        let mut sought: Vec<(u128, &str)> =
            sought.map(|digest| (digest_key(digest), digest)).collect();
        sought.sort_unstable();
        sought.dedup();
        let mut found = HashMap::with_capacity(sought.len());
        let mut entries = self.sorted.iter().peekable();
        for (key, digest) in sought {
            while let Some(&&(entry_key, position)) = entries.peek() {
                let image_digest = self.images[position as usize].digest.as_str();
                match entry_key.cmp(&key).then_with(|| image_digest.cmp(digest)) {
                    Ordering::Less => {
                        entries.next();
                    }
                    Ordering::Equal => {
                        found.insert(digest, position);
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
        }
        found
    }
}

/// The first 16 bytes of a digest, zero-padded, as a big-endian number: ordering
/// these orders the digests, except that equal keys must compare the strings.
fn digest_key(digest: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let prefix = &digest.as_bytes()[..digest.len().min(16)];
    bytes[..prefix.len()].copy_from_slice(prefix);
    u128::from_be_bytes(bytes)
}

/// What the rules need to know about one image, as microseconds since the epoch.
#[derive(Debug, Clone, Copy)]
struct ImageFacts {
    /// The storage class whose rules see the image; `None` for referrers (they follow
    /// their subject) and images being restored.
    class: Option<StorageClass>,
    tagged: bool,
    /// Bit `r` is set when rule `r` selects tagged images of the image's storage class
    /// and its prefix or pattern list matches the image's tags.
    tag_filters: u64,
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
            tag_filters: 0,
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
    facts: &[ImageFacts],
    digest_rank: &[u32],
    now: DateTime<Utc>,
) -> Vec<Claim> {
    let now = now.timestamp_micros();
    let mut claims = vec![Claim::NONE; facts.len()];
    let mut count_order: HashMap<StorageClass, Vec<CountEntry>> = HashMap::new();
    for (position, rule) in rules.iter().enumerate() {
        let class = rule.selection.storage_class;
        let tags = &rule.selection.tags;
        let bit = 1u64 << position;
        let selected = |tagged: bool, tag_filters: u64| match tags {
            TagSelection::Any => true,
            TagSelection::Untagged => !tagged,
            TagSelection::Tagged(_) => tag_filters & bit != 0,
        };
        match rule.selection.count {
            CountCriterion::ImageCountMoreThan(keep) => {
                let order = count_order
                    .entry(class)
                    .or_insert_with(|| newest_first(facts, digest_rank, class));
                let mut seen: u64 = 0;
                for entry in order.iter() {
                    if !selected(entry.tagged, entry.tag_filters) {
                        continue;
                    }
                    let index = entry.position as usize;
                    seen += 1;
                    if claims[index] == Claim::NONE {
                        claims[index] = Claim::new(position, seen > u64::from(keep));
                    }
                }
            }
            criterion => {
                let older = age_test(criterion, rule.action, now);
                for (index, fact) in facts.iter().enumerate() {
                    if claims[index] == Claim::NONE
                        && fact.class == Some(class)
                        && selected(fact.tagged, fact.tag_filters)
                    {
                        claims[index] = Claim::new(position, older(fact));
                    }
                }
            }
        }
    }
    claims
}

/// Sets each image's `tag_filters`. One pass over the images reads each image's tags
/// once, not once per rule.
fn match_tag_filters(rules: &[Rule], images: &[ImageRecord], facts: &mut [ImageFacts]) {
    let filters: Vec<(u64, StorageClass, &TagFilter)> = rules
        .iter()
        .enumerate()
        .filter_map(|(position, rule)| match &rule.selection.tags {
            TagSelection::Tagged(filter) => {
                Some((1u64 << position, rule.selection.storage_class, filter))
            }
            TagSelection::Any | TagSelection::Untagged => None,
        })
        .collect();
    for (image, fact) in images.iter().zip(facts) {
        if fact.tagged {
            fact.tag_filters = filters
                .iter()
                .filter(|(_, class, filter)| {
                    fact.class == Some(*class) && filter.matches(&image.tags)
                })
                .fold(0, |bits, (bit, _, _)| bits | bit);
        }
    }
}

/// One image in a storage class's count order, with what count rules look at so
/// that counting need not look up the image.
#[derive(Debug, Clone, Copy)]
struct CountEntry {
    position: u32,
    tagged: bool,
    tag_filters: u64,
}

/// The images of one storage class, newest first, ties broken by digest.
fn newest_first(facts: &[ImageFacts], digest_rank: &[u32], class: StorageClass) -> Vec<CountEntry> {
    let mut order: Vec<(Reverse<i64>, u32, u32)> = facts
        .iter()
        .zip(digest_rank)
        .enumerate()
        .filter(|(_, (fact, _))| fact.class == Some(class))
        .map(|(position, (fact, &rank))| (Reverse(fact.count_time), rank, position as u32))
        .collect();
    // (time, digest rank) is unique, so the unstable sort is deterministic.
    order.sort_unstable_by_key(|&(time, rank, _)| (time, rank));
    order
        .into_iter()
        .map(|(_, _, position)| {
            let fact = &facts[position as usize];
            CountEntry {
                position,
                tagged: fact.tagged,
                tag_filters: fact.tag_filters,
            }
        })
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

impl<'a> Tentative<'a> {
    fn action(&self) -> Option<Action> {
        match self {
            Tentative::Act { action, .. } => Some(*action),
            Tentative::Keep(_) => None,
        }
    }

    fn to_outcome(self) -> Outcome<'a> {
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
                        reason: Cow::Borrowed(reason),
                    },
                    Kept::ByIndex(index_digest) => KeepReason::ReferencedByIndex {
                        index_digest: Cow::Borrowed(index_digest),
                    },
                    Kept::BySubject(subject_digest) => KeepReason::SubjectKept {
                        subject_digest: Cow::Borrowed(subject_digest),
                    },
                },
            },
        }
    }
}

/// The edges between images: index -> child and referrer -> subject, as sorted lists
/// of positions (a digest absent from the images is `None`); and the protections.
struct Links<'a> {
    /// (child, (index position, index digest)), sorted by child then index digest.
    parents: Vec<(u32, (Option<u32>, &'a str))>,
    /// (index, child), sorted by index.
    children: Vec<(u32, u32)>,
    /// (referrer, (subject position, subject digest)), sorted by referrer.
    subjects: Vec<(u32, (Option<u32>, &'a str))>,
    /// (subject, referrer), sorted by subject.
    referrers: Vec<(u32, u32)>,
    /// (protected image, why), sorted by image.
    protections: Vec<(u32, &'a str)>,
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
        digests: &DigestOrder,
        index_children: &'a HashMap<String, Vec<String>>,
        protected: &'a HashMap<String, String>,
    ) -> Links<'a> {
        let subject_digests = images
            .iter()
            .filter_map(|image| image.subject_digest.as_deref());
        let positions = digests.find_all(
            index_children
                .iter()
                .flat_map(|(index, children)| std::iter::once(index).chain(children))
                .map(String::as_str)
                .chain(subject_digests)
                .chain(protected.keys().map(String::as_str)),
        );
        let find = |digest: &str| positions.get(digest).copied();
        let mut parents = Vec::new();
        let mut children = Vec::new();
        for (index_digest, child_digests) in index_children {
            let index = find(index_digest);
            for child_digest in child_digests {
                if let Some(child) = find(child_digest) {
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
                let subject = find(subject_digest);
                subjects.push((referrer as u32, (subject, subject_digest)));
                if let Some(subject) = subject {
                    referrers.push((subject, referrer as u32));
                }
            }
        }
        referrers.sort_unstable();
        let mut protections: Vec<(u32, &str)> = protected
            .iter()
            .filter_map(|(digest, reason)| Some((find(digest)?, reason.as_str())))
            .collect();
        protections.sort_unstable();
        Links {
            parents,
            children,
            subjects,
            referrers,
            protections,
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
    /// this runs a worklist to the fixed point. Only images with a protection, an
    /// index or a subject can be blocked, so only they start on the worklist.
    fn demote_blocked(&self, tentative: &mut [Tentative<'a>]) {
        let mut pending: Vec<u32> = self
            .protections
            .iter()
            .map(|&(position, _)| position)
            .chain(self.parents.iter().map(|&(child, _)| child))
            .chain(self.subjects.iter().map(|&(referrer, _)| referrer))
            .filter(|&position| tentative[position as usize].action().is_some())
            .collect();
        let mut demoted = Vec::new();
        while let Some(position) = pending.pop() {
            let Some(action) = tentative[position as usize].action() else {
                continue;
            };
            let Some(kept) = self.blocker(tentative, position, action) else {
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
            if let Some(kept) = self.blocker(tentative, position, action) {
                tentative[position as usize] = Tentative::Keep(kept);
            }
        }
    }

    /// Why the image at `position` cannot take `action`, if it cannot.
    fn blocker(
        &self,
        tentative: &[Tentative<'a>],
        position: u32,
        action: Action,
    ) -> Option<Kept<'a>> {
        if let [(_, reason), ..] = entries_of(&self.protections, position) {
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

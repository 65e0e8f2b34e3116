//! Exact outcomes of each evaluation rule, and proptest invariants of the engine.

use std::collections::{BTreeMap, HashMap};

use chrono::{TimeDelta, TimeZone};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .expect("valid instant")
}

fn days_ago(days: i64) -> DateTime<Utc> {
    now() - TimeDelta::days(days)
}

fn image(digest: &str, tags: &[&str], pushed_days_ago: i64) -> ImageRecord {
    ImageRecord::active(digest, tags, days_ago(pushed_days_ago))
}

fn archived(digest: &str, archived_days_ago: Option<i64>) -> ImageRecord {
    ImageRecord {
        status: ImageStatus::Archived,
        archived_at: archived_days_ago.map(days_ago),
        ..image(digest, &["old"], 500)
    }
}

fn referrer(digest: &str, subject: &str, pushed_days_ago: i64) -> ImageRecord {
    ImageRecord {
        subject_digest: Some(subject.to_owned()),
        ..image(digest, &[], pushed_days_ago)
    }
}

fn policy(rules: Value) -> LifecyclePolicy {
    let text = serde_json::to_string_pretty(&json!({ "rules": rules })).expect("serializable");
    LifecyclePolicy::parse(&text).unwrap_or_else(|errors| panic!("invalid test policy: {errors}"))
}

fn rule(priority: u32, selection: Value, action: &str) -> Value {
    let action = match action {
        "transition" => json!({"type": "transition", "targetStorageClass": "archive"}),
        _ => json!({"type": "expire"}),
    };
    json!({"rulePriority": priority, "selection": selection, "action": action})
}

fn count(tags: Value, keep: u32) -> Value {
    let mut selection = tags;
    selection["countType"] = json!("imageCountMoreThan");
    selection["countNumber"] = json!(keep);
    selection
}

fn since(tags: Value, count_type: &str, days: u32) -> Value {
    let mut selection = tags;
    selection["countType"] = json!(count_type);
    selection["countUnit"] = json!("days");
    selection["countNumber"] = json!(days);
    selection
}

fn any() -> Value {
    json!({"tagStatus": "any"})
}

fn untagged() -> Value {
    json!({"tagStatus": "untagged"})
}

fn prefixed(prefixes: &[&str]) -> Value {
    json!({"tagStatus": "tagged", "tagPrefixList": prefixes})
}

fn patterned(patterns: &[&str]) -> Value {
    json!({"tagStatus": "tagged", "tagPatternList": patterns})
}

struct Links {
    index_children: HashMap<String, Vec<String>>,
    protected: HashMap<String, String>,
}

impl Links {
    fn none() -> Links {
        Links {
            index_children: HashMap::new(),
            protected: HashMap::new(),
        }
    }

    fn index(mut self, index: &str, children: &[&str]) -> Links {
        self.index_children.insert(
            index.to_owned(),
            children.iter().map(|child| (*child).to_owned()).collect(),
        );
        self
    }

    fn protect(mut self, digest: &str, reason: &str) -> Links {
        self.protected.insert(digest.to_owned(), reason.to_owned());
        self
    }
}

fn run_with(
    policy: &LifecyclePolicy,
    images: &[ImageRecord],
    links: &Links,
) -> BTreeMap<String, Outcome<'static>> {
    let plan = evaluate(
        policy,
        &EvaluationInput {
            images,
            index_children: &links.index_children,
            protected: &links.protected,
            now: now(),
        },
    );
    plan.into_owned()
        .decisions
        .into_iter()
        .map(|decision| (decision.digest.into_owned(), decision.outcome))
        .collect()
}

fn run(policy: &LifecyclePolicy, images: &[ImageRecord]) -> BTreeMap<String, Outcome<'static>> {
    run_with(policy, images, &Links::none())
}

fn expired(rule_priority: u32) -> Outcome<'static> {
    Outcome::Act {
        action: Action::Expire,
        rule_priority,
    }
}

fn transitioned(rule_priority: u32) -> Outcome<'static> {
    Outcome::Act {
        action: Action::Transition,
        rule_priority,
    }
}

fn kept(reason: KeepReason<'static>) -> Outcome<'static> {
    Outcome::Keep { reason }
}

fn kept_by(rule_priority: u32) -> Outcome<'static> {
    kept(KeepReason::KeptByRule { rule_priority })
}

fn not_selected() -> Outcome<'static> {
    kept(KeepReason::NotSelected)
}

fn expect(pairs: &[(&str, Outcome<'static>)]) -> BTreeMap<String, Outcome<'static>> {
    pairs
        .iter()
        .map(|(digest, outcome)| ((*digest).to_owned(), outcome.clone()))
        .collect()
}

#[test]
fn count_rule_keeps_the_newest_n_with_ties_broken_by_digest() {
    let policy = policy(json!([rule(1, count(any(), 2), "expire")]));
    let images = [
        image("a", &[], 10),
        image("c", &["x"], 5),
        image("b", &[], 5),
        image("d", &[], 1),
    ];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("a", expired(1)),
            ("b", kept_by(1)),
            ("c", expired(1)),
            ("d", kept_by(1))
        ])
    );
}

#[test]
fn since_pushed_means_strictly_more_than_n_days() {
    let policy = policy(json!([rule(
        1,
        since(untagged(), "sinceImagePushed", 7),
        "expire"
    )]));
    let mut just_over = image("over", &[], 7);
    just_over.pushed_at -= TimeDelta::seconds(1);
    let images = [image("exact", &[], 7), just_over, image("young", &[], 6)];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("exact", kept_by(1)),
            ("over", expired(1)),
            ("young", kept_by(1))
        ])
    );
}

#[test]
fn since_pulled_uses_last_pull_else_restore_else_push() {
    let policy = policy(json!([rule(
        1,
        since(untagged(), "sinceImagePulled", 30),
        "transition"
    )]));
    let never_pulled = image("never", &[], 40);
    let pulled_recently = ImageRecord {
        last_pulled_at: Some(days_ago(10)),
        ..image("pulled", &[], 40)
    };
    let restored_since = ImageRecord {
        last_pulled_at: Some(days_ago(60)),
        activated_at: Some(days_ago(5)),
        ..image("restored", &[], 100)
    };
    let pulled_after_restore = ImageRecord {
        last_pulled_at: Some(days_ago(40)),
        activated_at: Some(days_ago(50)),
        ..image("stale", &[], 100)
    };
    let images = [
        never_pulled,
        pulled_recently,
        restored_since,
        pulled_after_restore,
    ];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("never", transitioned(1)),
            ("pulled", kept_by(1)),
            ("restored", kept_by(1)),
            ("stale", transitioned(1)),
        ])
    );
}

#[test]
fn archive_rules_expire_only_after_90_days_in_archive() {
    let policy = policy(json!([rule(
        1,
        json!({"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 30}),
        "expire"
    )]));
    let activating = ImageRecord {
        status: ImageStatus::Activating,
        ..archived("activating", Some(200))
    };
    let images = [
        archived("60d", Some(60)),
        archived("90d", Some(90)),
        archived("91d", Some(91)),
        archived("unknown", None),
        image("active", &[], 400),
        activating,
    ];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("60d", kept_by(1)),
            ("90d", expired(1)),
            ("91d", expired(1)),
            ("active", not_selected()),
            ("activating", not_selected()),
            ("unknown", kept_by(1)),
        ])
    );
}

#[test]
fn standard_rules_see_only_active_images() {
    let policy = policy(json!([rule(1, count(any(), 1), "expire")]));
    let images = [
        image("new", &[], 1),
        image("old", &[], 9),
        archived("archived", Some(1)),
    ];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("archived", not_selected()),
            ("new", kept_by(1)),
            ("old", expired(1))
        ])
    );
}

#[test]
fn a_restore_replaces_push_time_in_the_count_order() {
    let policy = policy(json!([rule(1, count(any(), 1), "expire")]));
    let restored = ImageRecord {
        activated_at: Some(days_ago(1)),
        ..image("restored", &[], 300)
    };
    assert_eq!(
        run(&policy, &[restored, image("recent", &[], 10)]),
        expect(&[("recent", expired(1)), ("restored", kept_by(1))])
    );
}

#[test]
fn the_first_matching_tag_selection_claims_the_image_but_later_counts_still_see_it() {
    let policy = policy(json!([
        rule(
            1,
            since(prefixed(&["v"]), "sinceImagePushed", 1000),
            "expire"
        ),
        rule(2, count(any(), 1), "expire"),
    ]));
    let images = [
        image("v1", &["v1"], 1),
        image("v2", &["v2"], 2),
        image("u1", &[], 3),
        image("u2", &[], 4),
    ];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("u1", expired(2)),
            ("u2", expired(2)),
            ("v1", kept_by(1)),
            ("v2", kept_by(1))
        ])
    );
}

#[test]
fn every_list_entry_must_match_one_of_the_tags() {
    let policy = policy(json!([
        rule(
            1,
            since(prefixed(&["prod", "v"]), "sinceImagePushed", 1),
            "expire"
        ),
        rule(
            2,
            since(patterned(&["*prod*"]), "sinceImagePushed", 1),
            "transition"
        ),
    ]));
    let images = [
        image("both", &["prod-1", "v1", "extra"], 10),
        image("prod-only", &["prod-1"], 10),
        image("v-only", &["v1"], 10),
        image("inner", &["xprod", "v2"], 10),
    ];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("both", expired(1)),
            ("inner", transitioned(2)),
            ("prod-only", transitioned(2)),
            ("v-only", not_selected()),
        ])
    );
}

#[test]
fn index_children_go_only_with_their_index_and_the_same_action() {
    let policy = policy(json!([
        rule(
            1,
            since(prefixed(&["nightly"]), "sinceImagePushed", 30),
            "expire"
        ),
        rule(
            2,
            since(prefixed(&["rc"]), "sinceImagePulled", 5),
            "transition"
        ),
        rule(3, since(untagged(), "sinceImagePushed", 7), "expire"),
    ]));
    let images = [
        image("kept-index", &["nightly-1"], 10),
        image("kept-child", &[], 10),
        image("gone-index", &[], 10),
        image("gone-child", &[], 10),
        image("rc-index", &["rc-1"], 10),
        image("rc-child", &[], 10),
        image("orphan-child", &[], 10),
    ];
    let links = Links::none()
        .index("kept-index", &["kept-child"])
        .index("gone-index", &["gone-child"])
        .index("rc-index", &["rc-child"])
        .index("absent-index", &["orphan-child"]);
    assert_eq!(
        run_with(&policy, &images, &links),
        expect(&[
            ("gone-child", expired(3)),
            ("gone-index", expired(3)),
            (
                "kept-child",
                kept(KeepReason::ReferencedByIndex {
                    index_digest: "kept-index".into()
                })
            ),
            ("kept-index", kept_by(1)),
            (
                "orphan-child",
                kept(KeepReason::ReferencedByIndex {
                    index_digest: "absent-index".into()
                })
            ),
            (
                "rc-child",
                kept(KeepReason::ReferencedByIndex {
                    index_digest: "rc-index".into()
                })
            ),
            ("rc-index", transitioned(2)),
        ])
    );
}

#[test]
fn referrers_follow_their_subject_and_are_not_selected_on_their_own() {
    let policy = policy(json!([
        rule(1, count(prefixed(&["v"]), 1), "expire"),
        rule(2, count(untagged(), 1), "expire"),
    ]));
    let images = [
        image("v1", &["v1"], 1),
        image("v2", &["v2"], 5),
        referrer("sig-v1", "v1", 1),
        referrer("sig-v2", "v2", 0),
        referrer("sig-of-sbom", "sbom-v2", 0),
        referrer("sbom-v2", "v2", 0),
        referrer("dangling", "deleted", 0),
        image("build", &[], 3),
    ];
    assert_eq!(
        run(&policy, &images),
        expect(&[
            ("build", kept_by(2)),
            (
                "dangling",
                kept(KeepReason::SubjectKept {
                    subject_digest: "deleted".into()
                })
            ),
            ("sbom-v2", expired(1)),
            ("sig-of-sbom", expired(1)),
            (
                "sig-v1",
                kept(KeepReason::SubjectKept {
                    subject_digest: "v1".into()
                })
            ),
            ("sig-v2", expired(1)),
            ("v1", kept_by(1)),
            ("v2", expired(1)),
        ])
    );
}

#[test]
fn protected_images_count_but_are_never_acted_on_and_keep_their_dependents() {
    let policy = policy(json!([rule(1, count(any(), 1), "expire")]));
    let images = [
        image("newest", &["prod-1"], 1),
        image("older", &[], 5),
        image("protected-index", &["base"], 9),
        image("child", &[], 9),
        referrer("signature", "protected-index", 9),
    ];
    let links = Links::none()
        .protect("newest", "protected tag prod-1")
        .protect("protected-index", "in use by ECS task arn:aws:ecs:task/1")
        .index("protected-index", &["child"]);
    assert_eq!(
        run_with(&policy, &images, &links),
        expect(&[
            (
                "child",
                kept(KeepReason::ReferencedByIndex {
                    index_digest: "protected-index".into()
                })
            ),
            ("newest", kept_by(1)),
            ("older", expired(1)),
            (
                "protected-index",
                kept(KeepReason::Protected {
                    reason: "in use by ECS task arn:aws:ecs:task/1".into()
                })
            ),
            (
                "signature",
                kept(KeepReason::SubjectKept {
                    subject_digest: "protected-index".into()
                })
            ),
        ])
    );
}

#[test]
fn digests_alike_in_their_first_16_bytes_are_told_apart() {
    // The engine sorts and looks digests up by their first 16 bytes, then by the rest.
    let digest = |suffix: &str| format!("sha256:0123456789{suffix}");
    let policy = policy(json!([rule(
        1,
        since(untagged(), "sinceImagePushed", 7),
        "expire"
    )]));
    let images = [
        image(&digest("c"), &[], 10),
        image(&digest("a"), &[], 10),
        image(&digest("b"), &[], 10),
        referrer(&digest("ab"), &digest("a"), 10),
        referrer(&digest("bb"), &digest("b"), 10),
    ];
    let links = Links::none()
        .index(&digest("b"), &[&digest("c")])
        .protect(&digest("b"), "in use");
    let (a, ab, b, bb, c) = (
        digest("a"),
        digest("ab"),
        digest("b"),
        digest("bb"),
        digest("c"),
    );
    assert_eq!(
        run_with(&policy, &images, &links),
        expect(&[
            (&a, expired(1)),
            (&ab, expired(1)),
            (
                &b,
                kept(KeepReason::Protected {
                    reason: "in use".into()
                })
            ),
            (
                &bb,
                kept(KeepReason::SubjectKept {
                    subject_digest: b.clone().into()
                })
            ),
            (
                &c,
                kept(KeepReason::ReferencedByIndex {
                    index_digest: b.clone().into()
                })
            ),
        ])
    );
}

#[test]
fn plan_has_one_decision_per_image_sorted_by_digest() {
    let policy = policy(json!([rule(1, count(any(), 1), "expire")]));
    let images = [image("c", &[], 1), image("a", &[], 2), image("b", &[], 3)];
    let no_links = Links::none();
    let plan = evaluate(
        &policy,
        &EvaluationInput {
            images: &images,
            index_children: &no_links.index_children,
            protected: &no_links.protected,
            now: now(),
        },
    );
    let digests: Vec<&str> = plan
        .decisions
        .iter()
        .map(|decision| decision.digest.as_ref())
        .collect();
    assert_eq!(digests, vec!["a", "b", "c"]);
    assert!(evaluate(
        &policy,
        &EvaluationInput {
            images: &[],
            index_children: &HashMap::new(),
            protected: &HashMap::new(),
            now: now(),
        },
    )
    .decisions
    .is_empty());
}

// ---- proptest invariants ----

const TAGS: [&str; 6] = ["v1.0", "v2.0", "prod-a", "prod-b", "latest", "rc-1"];

/// Valid policies mixing every count type, both storage classes and both actions.
fn policies() -> Vec<LifecyclePolicy> {
    let archive_any = json!({"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 100});
    vec![
        policy(json!([
            rule(1, count(prefixed(&["v"]), 2), "expire"),
            rule(
                2,
                since(patterned(&["prod-*"]), "sinceImagePushed", 30),
                "expire"
            ),
            rule(
                3,
                since(prefixed(&["rc"]), "sinceImagePulled", 60),
                "transition"
            ),
            rule(4, since(untagged(), "sinceImagePushed", 14), "expire"),
            rule(5, archive_any, "expire"),
            rule(9, count(any(), 5), "expire"),
        ])),
        policy(json!([rule(1, count(any(), 3), "expire")])),
        policy(json!([
            rule(1, count(untagged(), 2), "expire"),
            rule(2, count(patterned(&["*a*"]), 1), "transition"),
            rule(
                3,
                since(prefixed(&["latest"]), "sinceImagePushed", 100),
                "expire"
            ),
            rule(4, since(any(), "sinceImagePushed", 200), "transition"),
        ])),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    policy: usize,
    images: Vec<ImageRecord>,
    index_children: HashMap<String, Vec<String>>,
    protected: HashMap<String, String>,
    shuffle_seed: u64,
}

type RawImage = (u8, i64, Option<i64>, u8, i64, Option<i64>, Option<usize>);

fn raw_image() -> impl Strategy<Value = RawImage> {
    (
        0u8..64,
        0i64..400,
        prop::option::of(0i64..400),
        0u8..10,
        0i64..400,
        prop::option::weighted(0.2, 0i64..100),
        prop::option::weighted(0.15, 0usize..64),
    )
}

fn build_image(position: usize, count: usize, raw: RawImage) -> ImageRecord {
    let (mask, pushed, pulled, status, archived_days, restored, subject) = raw;
    let tags: &[&str] = if mask % 3 == 0 { &[] } else { &TAGS };
    let tags = tags
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, tag)| (*tag).to_owned())
        .collect();
    let status = match status {
        0..=6 => ImageStatus::Active,
        7 | 8 => ImageStatus::Archived,
        _ => ImageStatus::Activating,
    };
    ImageRecord {
        digest: format!("sha256:{position:04}"),
        tags,
        pushed_at: days_ago(pushed),
        last_pulled_at: pulled.map(days_ago),
        status,
        archived_at: (status == ImageStatus::Archived).then(|| days_ago(archived_days)),
        activated_at: restored.map(days_ago),
        manifest_media_type: None,
        artifact_media_type: None,
        subject_digest: subject
            .map(|subject| subject % count)
            .filter(|&subject| subject != position)
            .map(|subject| format!("sha256:{subject:04}")),
        size_bytes: None,
    }
}

fn scenario(with_links: bool) -> impl Strategy<Value = Scenario> {
    (
        0..policies().len(),
        prop::collection::vec(raw_image(), 0..40),
        prop::collection::vec((0usize..64, 0usize..64), 0..6),
        prop::collection::vec(0usize..64, 0..4),
        proptest::arbitrary::any::<u64>(),
    )
        .prop_map(move |(policy, raw, edges, protected, shuffle_seed)| {
            let count = raw.len().max(1);
            let mut images: Vec<ImageRecord> = raw
                .into_iter()
                .enumerate()
                .map(|(position, raw)| build_image(position, count, raw))
                .collect();
            let mut index_children: HashMap<String, Vec<String>> = HashMap::new();
            let mut protected_map = HashMap::new();
            if with_links {
                for (index, child) in edges {
                    index_children
                        .entry(format!("sha256:{:04}", index % count))
                        .or_default()
                        .push(format!("sha256:{:04}", child % count));
                }
                for position in protected {
                    protected_map.insert(
                        format!("sha256:{:04}", position % count),
                        "protected".to_owned(),
                    );
                }
            } else {
                for image in &mut images {
                    image.subject_digest = None;
                }
            }
            Scenario {
                policy,
                images,
                index_children,
                protected: protected_map,
                shuffle_seed,
            }
        })
}

fn plan_of<'a>(scenario: &'a Scenario, images: &'a [ImageRecord]) -> Plan<'a> {
    evaluate(
        &policies()[scenario.policy],
        &EvaluationInput {
            images,
            index_children: &scenario.index_children,
            protected: &scenario.protected,
            now: now(),
        },
    )
}

/// A deterministic Fisher-Yates shuffle driven by xorshift.
fn shuffled(images: &[ImageRecord], mut seed: u64) -> Vec<ImageRecord> {
    let mut images = images.to_vec();
    for last in (1..images.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        images.swap(last, (seed % (last as u64 + 1)) as usize);
    }
    images
}

fn storage_class_of(image: &ImageRecord) -> Option<StorageClass> {
    match image.status {
        ImageStatus::Active => Some(StorageClass::Standard),
        ImageStatus::Archived => Some(StorageClass::Archive),
        ImageStatus::Activating => None,
    }
}

proptest! {
    #[test]
    fn one_decision_per_image_sorted_and_independent_of_input_order(scenario in scenario(true)) {
        let plan = plan_of(&scenario, &scenario.images);
        let mut digests: Vec<&str> = scenario.images.iter().map(|image| image.digest.as_str()).collect();
        digests.sort_unstable();
        let planned: Vec<&str> = plan.decisions.iter().map(|decision| decision.digest.as_ref()).collect();
        prop_assert_eq!(planned, digests);
        let shuffled_images = shuffled(&scenario.images, scenario.shuffle_seed | 1);
        let reordered = plan_of(&scenario, &shuffled_images);
        prop_assert_eq!(&reordered, &plan);
    }

    #[test]
    fn no_image_is_acted_on_by_a_rule_after_the_one_whose_selection_matched_it(scenario in scenario(true)) {
        let policy = &policies()[scenario.policy];
        let plan = plan_of(&scenario, &scenario.images);
        let by_digest: HashMap<&str, &ImageRecord> =
            scenario.images.iter().map(|image| (image.digest.as_str(), image)).collect();
        for decision in &plan.decisions {
            let Outcome::Act { rule_priority, .. } = decision.outcome else { continue };
            let image = by_digest[decision.digest.as_ref()];
            if image.subject_digest.is_some() {
                continue;
            }
            let class = storage_class_of(image);
            let first_match = policy
                .rules()
                .iter()
                .find(|rule| Some(rule.selection.storage_class) == class && rule.selection.tags.matches(&image.tags))
                .map(|rule| rule.priority);
            prop_assert_eq!(first_match, Some(rule_priority));
        }
    }

    #[test]
    fn protected_images_and_children_of_kept_indexes_are_never_acted_on(scenario in scenario(true)) {
        let plan = plan_of(&scenario, &scenario.images);
        let outcome: HashMap<&str, &Outcome> =
            plan.decisions.iter().map(|decision| (decision.digest.as_ref(), &decision.outcome)).collect();
        for (digest, outcome) in &outcome {
            if scenario.protected.contains_key(*digest) {
                prop_assert_eq!(outcome.action(), None);
            }
        }
        for (index, children) in &scenario.index_children {
            let index_action = outcome.get(index.as_str()).and_then(|outcome| outcome.action());
            for child in children {
                if let Some(child_action) = outcome.get(child.as_str()).and_then(|outcome| outcome.action()) {
                    prop_assert_eq!(Some(child_action), index_action);
                }
            }
        }
        for image in &scenario.images {
            if let (Some(subject), Some(action)) = (&image.subject_digest, outcome[image.digest.as_str()].action()) {
                prop_assert_eq!(outcome.get(subject.as_str()).and_then(|outcome| outcome.action()), Some(action));
            }
        }
    }

    #[test]
    fn a_first_count_rule_leaves_exactly_min_n_matched_images_unacted(scenario in scenario(false)) {
        let policy = &policies()[scenario.policy];
        let first = &policy.rules()[0];
        let CountCriterion::ImageCountMoreThan(keep) = first.selection.count else {
            return Err(TestCaseError::fail("every test policy starts with a count rule"));
        };
        let plan = plan_of(&scenario, &scenario.images);
        let outcome: HashMap<&str, &Outcome> =
            plan.decisions.iter().map(|decision| (decision.digest.as_ref(), &decision.outcome)).collect();
        let matched: Vec<&ImageRecord> = scenario
            .images
            .iter()
            .filter(|image| storage_class_of(image) == Some(first.selection.storage_class))
            .filter(|image| first.selection.tags.matches(&image.tags))
            .collect();
        let unacted = matched
            .iter()
            .filter(|image| {
                !matches!(outcome[image.digest.as_str()], Outcome::Act { rule_priority, .. } if *rule_priority == first.priority)
            })
            .count();
        prop_assert_eq!(unacted, matched.len().min(keep as usize));
    }
}

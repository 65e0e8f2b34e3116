//! One test per constraint of the policy document (AWS-FACTS §1).

use serde_json::{json, Value};

use super::*;

/// A policy document holding `rules`, pretty-printed (so it passes the 100-character minimum).
fn policy_text(rules: Vec<Value>) -> String {
    serde_json::to_string_pretty(&json!({ "rules": rules })).expect("JSON values serialize")
}

fn rule(priority: i64, selection: Value, action: Value) -> Value {
    json!({ "rulePriority": priority, "selection": selection, "action": action })
}

fn expire() -> Value {
    json!({ "type": "expire" })
}

fn transition() -> Value {
    json!({ "type": "transition", "targetStorageClass": "archive" })
}

fn untagged_pushed(days: i64) -> Value {
    json!({ "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days })
}

fn prefixes(list: &[&str], keep: i64) -> Value {
    json!({ "tagStatus": "tagged", "tagPrefixList": list, "countType": "imageCountMoreThan", "countNumber": keep })
}

fn errors_of(rules: Vec<Value>) -> Vec<String> {
    match LifecyclePolicy::parse(&policy_text(rules)) {
        Ok(policy) => panic!("expected errors, got {policy:?}"),
        Err(errors) => errors.errors().iter().map(ToString::to_string).collect(),
    }
}

fn assert_single_error(rules: Vec<Value>, expected: &str) {
    assert_eq!(errors_of(rules), vec![expected.to_owned()]);
}

#[test]
fn valid_policy_parses_into_rules_in_priority_order() {
    let text = policy_text(vec![
        rule(
            100,
            json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50}),
            expire(),
        ),
        rule(
            1,
            json!({"tagStatus": "tagged", "tagPatternList": ["v*.*.*"], "countType": "imageCountMoreThan", "countNumber": 3}),
            expire(),
        ),
        rule(
            5,
            json!({"tagStatus": "tagged", "tagPrefixList": ["rc-"], "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30}),
            transition(),
        ),
        rule(
            7,
            json!({"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 365}),
            expire(),
        ),
    ]);
    let policy = LifecyclePolicy::parse(&text).expect("valid policy");
    let priorities: Vec<u32> = policy.rules().iter().map(|rule| rule.priority).collect();
    assert_eq!(priorities, vec![1, 5, 7, 100]);
    assert_eq!(
        policy.rules()[0].selection,
        Selection {
            tags: TagSelection::Tagged(TagFilter::Patterns(vec![WildcardPattern::new("v*.*.*")])),
            storage_class: StorageClass::Standard,
            count: CountCriterion::ImageCountMoreThan(3),
        }
    );
    assert_eq!(policy.rules()[1].action, Action::Transition);
    assert_eq!(
        policy.rules()[1].selection.count,
        CountCriterion::SinceImagePulled { days: 30 }
    );
    assert_eq!(
        policy.rules()[2].selection.storage_class,
        StorageClass::Archive
    );
}

#[test]
fn policy_text_must_be_100_to_30720_characters() {
    let short = r#"{"rules":[]}"#;
    let errors = LifecyclePolicy::parse(short).expect_err("too short");
    assert_eq!(
        errors.errors()[0].to_string(),
        "policy: must be 100 to 30,720 characters long, got 12"
    );
    let long = format!(
        "{}{}",
        policy_text(vec![rule(1, untagged_pushed(1), expire())]),
        " ".repeat(30_720)
    );
    let errors = LifecyclePolicy::parse(&long).expect_err("too long");
    assert!(errors.errors()[0]
        .message
        .starts_with("must be 100 to 30,720 characters long, got 3"));
}

#[test]
fn invalid_json_is_reported_with_its_position() {
    let text = format!(
        "{}}}",
        policy_text(vec![rule(1, untagged_pushed(1), expire())])
    );
    let errors = LifecyclePolicy::parse(&text).expect_err("trailing brace");
    assert_eq!(errors.errors().len(), 1);
    assert!(errors.errors()[0]
        .message
        .starts_with("is not valid JSON: trailing characters at line"));
}

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    let mut bad = rule(
        1,
        untagged_pushed(1),
        json!({"type": "expire", "when": "now"}),
    );
    bad["enabled"] = json!(true);
    bad["selection"]["tagStatuses"] = json!("any");
    let mut text = policy_text(vec![bad]);
    text = text.replacen('{', "{\"version\": 1,", 1);
    let errors: Vec<String> = LifecyclePolicy::parse(&text)
        .expect_err("unknown fields")
        .errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        vec![
            "version: unknown field; a policy holds only \"rules\"",
            "rule with rulePriority 1: enabled: unknown field; allowed fields are rulePriority, description, selection, action",
            "rule with rulePriority 1: selection.tagStatuses: unknown field; allowed fields are tagStatus, tagPrefixList, tagPatternList, storageClass, countType, countUnit, countNumber",
            "rule with rulePriority 1: action.when: unknown field; allowed fields are type, targetStorageClass",
        ]
    );
}

#[test]
fn rules_must_be_a_non_empty_list_of_at_most_50() {
    let text = format!("{{\"rules\": []{}}}", " ".repeat(100));
    let errors = LifecyclePolicy::parse(&text).expect_err("empty");
    assert_eq!(errors.to_string(), "rules: must hold at least one rule");
    let many: Vec<Value> = (1..=51)
        .map(|priority| rule(priority, prefixes(&[&format!("p{priority}-")], 1), expire()))
        .collect();
    assert_eq!(
        errors_of(many),
        vec!["rules: at most 50 rules are allowed, got 51"]
    );
    let fifty: Vec<Value> = (1..=50)
        .map(|priority| rule(priority, prefixes(&[&format!("p{priority}-")], 1), expire()))
        .collect();
    assert!(LifecyclePolicy::parse(&policy_text(fifty)).is_ok());
}

#[test]
fn rule_priority_must_be_a_unique_positive_integer() {
    assert_single_error(
        vec![rule(0, untagged_pushed(1), expire())],
        "rule with rulePriority 0: rulePriority: must be a positive integer, got 0",
    );
    let mut text_priority = rule(1, untagged_pushed(1), expire());
    text_priority["rulePriority"] = json!("1");
    assert_single_error(
        vec![text_priority],
        "rules[0].rulePriority: must be a positive integer, got \"1\"",
    );
    let mut missing = rule(1, untagged_pushed(1), expire());
    missing
        .as_object_mut()
        .expect("object")
        .remove("rulePriority");
    assert_single_error(vec![missing], "rules[0].rulePriority: is required");
    assert_single_error(
        vec![
            rule(3, prefixes(&["a"], 1), expire()),
            rule(3, prefixes(&["b"], 1), expire()),
        ],
        "rule with rulePriority 3: rulePriority: is used by more than one rule; priorities must be unique",
    );
}

#[test]
fn tag_status_must_be_tagged_untagged_or_any() {
    assert_single_error(
        vec![rule(1, json!({"tagStatus": "TAGGED", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 1}), expire())],
        "rule with rulePriority 1: selection.tagStatus: must be one of \"tagged\", \"untagged\", \"any\", got \"TAGGED\"",
    );
    assert_single_error(
        vec![rule(
            1,
            json!({"countType": "imageCountMoreThan", "countNumber": 1}),
            expire(),
        )],
        "rule with rulePriority 1: selection.tagStatus: is required: one of \"tagged\", \"untagged\", \"any\"",
    );
}

#[test]
fn tagged_rules_need_exactly_one_list() {
    assert_single_error(
        vec![rule(1, json!({"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}), expire())],
        "rule with rulePriority 1: selection.tagPrefixList: a rule with tagStatus \"tagged\" needs tagPrefixList or tagPatternList",
    );
    assert_single_error(
        vec![rule(1, json!({"tagStatus": "tagged", "tagPrefixList": ["v"], "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 1}), expire())],
        "rule with rulePriority 1: selection.tagPatternList: a rule takes either tagPrefixList or tagPatternList, not both",
    );
}

#[test]
fn untagged_and_any_rules_carry_no_list() {
    assert_single_error(
        vec![rule(1, json!({"tagStatus": "untagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 1}), expire())],
        "rule with rulePriority 1: selection.tagPrefixList: is only allowed with tagStatus \"tagged\", not \"untagged\"",
    );
    assert_single_error(
        vec![rule(
            1,
            json!({"tagStatus": "any", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 1}),
            expire(),
        )],
        "rule with rulePriority 1: selection.tagPatternList: is only allowed with tagStatus \"tagged\", not \"any\"",
    );
}

#[test]
fn tag_lists_must_hold_non_empty_strings() {
    assert_single_error(
        vec![rule(1, prefixes(&[], 1), expire())],
        "rule with rulePriority 1: selection.tagPrefixList: must hold at least one entry",
    );
    assert_single_error(
        vec![rule(1, prefixes(&["v", ""], 1), expire())],
        "rule with rulePriority 1: selection.tagPrefixList[1]: must be a non-empty string, got \"\"",
    );
    assert_single_error(
        vec![rule(
            1,
            json!({"tagStatus": "tagged", "tagPatternList": "v*", "countType": "imageCountMoreThan", "countNumber": 1}),
            expire(),
        )],
        "rule with rulePriority 1: selection.tagPatternList: must be a list of strings, got \"v*\"",
    );
}

#[test]
fn patterns_hold_at_most_four_wildcards() {
    let pattern = |pattern: &str| {
        vec![rule(
            1,
            json!({"tagStatus": "tagged", "tagPatternList": [pattern], "countType": "imageCountMoreThan", "countNumber": 1}),
            expire(),
        )]
    };
    assert!(LifecyclePolicy::parse(&policy_text(pattern("*test*1*2*3"))).is_ok());
    assert_single_error(
        pattern("test*1*2*3*4*5"),
        "rule with rulePriority 1: selection.tagPatternList: pattern \"test*1*2*3*4*5\" has 5 wildcards; at most 4 are allowed",
    );
}

#[test]
fn storage_class_is_standard_or_archive() {
    let mut selection = untagged_pushed(1);
    selection["storageClass"] = json!("glacier");
    assert_single_error(
        vec![rule(1, selection, expire())],
        "rule with rulePriority 1: selection.storageClass: must be \"standard\" or \"archive\", got \"glacier\"",
    );
}

#[test]
fn count_type_must_be_known() {
    assert_single_error(
        vec![rule(1, json!({"tagStatus": "untagged", "countType": "imageCountLessThan", "countNumber": 1}), expire())],
        "rule with rulePriority 1: selection.countType: must be one of \"imageCountMoreThan\", \"sinceImagePushed\", \"sinceImagePulled\", \"sinceImageTransitioned\", got \"imageCountLessThan\"",
    );
}

#[test]
fn count_unit_is_days_required_for_since_types_and_rejected_for_counts() {
    let mut no_unit = untagged_pushed(1);
    no_unit.as_object_mut().expect("object").remove("countUnit");
    assert_single_error(
        vec![rule(1, no_unit, expire())],
        "rule with rulePriority 1: selection.countUnit: is required with countType \"sinceImagePushed\": use \"days\"",
    );
    let mut hours = untagged_pushed(1);
    hours["countUnit"] = json!("hours");
    assert_single_error(
        vec![rule(1, hours, expire())],
        "rule with rulePriority 1: selection.countUnit: must be \"days\", got \"hours\"",
    );
    let mut counted = prefixes(&["v"], 1);
    counted["countUnit"] = json!("days");
    assert_single_error(
        vec![rule(1, counted, expire())],
        "rule with rulePriority 1: selection.countUnit: is not allowed with countType \"imageCountMoreThan\" (it counts images, not days)",
    );
}

#[test]
fn count_number_is_a_positive_integer() {
    for (number, shown) in [
        (json!(0), "0"),
        (json!(-3), "-3"),
        (json!(1.5), "1.5"),
        (json!("7"), "\"7\""),
    ] {
        let mut selection = untagged_pushed(1);
        selection["countNumber"] = number;
        assert_single_error(
            vec![rule(1, selection, expire())],
            &format!("rule with rulePriority 1: selection.countNumber: must be a positive integer, got {shown}"),
        );
    }
    let mut missing = untagged_pushed(1);
    missing
        .as_object_mut()
        .expect("object")
        .remove("countNumber");
    assert_single_error(
        vec![rule(1, missing, expire())],
        "rule with rulePriority 1: selection.countNumber: is required",
    );
}

#[test]
fn action_type_is_expire_or_transition_to_archive() {
    assert_single_error(
        vec![rule(1, untagged_pushed(1), json!({"type": "delete"}))],
        "rule with rulePriority 1: action.type: must be one of \"expire\", \"transition\", got \"delete\"",
    );
    assert_single_error(
        vec![rule(1, untagged_pushed(1), json!({"type": "transition"}))],
        "rule with rulePriority 1: action.targetStorageClass: is required with action type \"transition\": use \"archive\"",
    );
    assert_single_error(
        vec![rule(
            1,
            untagged_pushed(1),
            json!({"type": "transition", "targetStorageClass": "glacier"}),
        )],
        "rule with rulePriority 1: action.targetStorageClass: must be \"archive\", got \"glacier\"",
    );
    assert_single_error(
        vec![rule(
            1,
            untagged_pushed(1),
            json!({"type": "expire", "targetStorageClass": "archive"}),
        )],
        "rule with rulePriority 1: action.targetStorageClass: is only allowed with action type \"transition\"",
    );
    assert_single_error(
        vec![rule(1, untagged_pushed(1), json!("expire"))],
        "rule with rulePriority 1: action: must be an object, got \"expire\"",
    );
}

#[test]
fn since_image_pulled_only_with_transition() {
    let selection = json!({"tagStatus": "untagged", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30});
    assert!(
        LifecyclePolicy::parse(&policy_text(vec![rule(1, selection.clone(), transition())]))
            .is_ok()
    );
    assert_single_error(
        vec![rule(1, selection, expire())],
        "rule with rulePriority 1: selection.countType: \"sinceImagePulled\" is only allowed with action type \"transition\"",
    );
}

#[test]
fn since_image_transitioned_only_with_expire_and_archive() {
    let archived = json!({"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 30});
    assert_single_error(
        vec![rule(1, archived, transition())],
        "rule with rulePriority 1: action.type: countType \"sinceImageTransitioned\" is only allowed with action type \"expire\"",
    );
    let standard = json!({"tagStatus": "any", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 30});
    assert_single_error(
        vec![rule(1, standard, expire())],
        "rule with rulePriority 1: selection.storageClass: must be \"archive\" with countType \"sinceImageTransitioned\"",
    );
}

#[test]
fn archive_storage_class_only_with_since_image_transitioned() {
    let mut selection = untagged_pushed(10);
    selection["storageClass"] = json!("archive");
    assert_single_error(
        vec![rule(1, selection, expire())],
        "rule with rulePriority 1: selection.storageClass: \"archive\" is only allowed with countType \"sinceImageTransitioned\"",
    );
}

#[test]
fn any_rule_must_come_last_within_its_storage_class() {
    let any = json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10});
    assert_single_error(
        vec![rule(5, any.clone(), expire()), rule(9, prefixes(&["v"], 1), expire())],
        "rule with rulePriority 5: selection.tagStatus: a rule with tagStatus \"any\" must have the highest rulePriority among the standard rules, but the rule with rulePriority 9 comes after it",
    );
    let archive_rule = json!({"tagStatus": "tagged", "tagPrefixList": ["v"], "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 100});
    assert!(
        LifecyclePolicy::parse(&policy_text(vec![
            rule(5, any, expire()),
            rule(9, archive_rule, expire())
        ]))
        .is_ok(),
        "an archive rule after the standard any rule is fine"
    );
}

#[test]
fn one_untagged_rule_per_storage_class_and_it_may_coexist_with_any() {
    assert_single_error(
        vec![
            rule(1, untagged_pushed(10), expire()),
            rule(2, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5}), expire()),
        ],
        "rule with rulePriority 2: selection.tagStatus: only one standard rule may select untagged images, and the rule with rulePriority 1 already does",
    );
    let any = json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10});
    let archived_untagged = json!({"tagStatus": "untagged", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 100});
    assert!(LifecyclePolicy::parse(&policy_text(vec![
        rule(1, untagged_pushed(10), expire()),
        rule(2, archived_untagged, expire()),
        rule(3, any, expire()),
    ]))
    .is_ok());
}

#[test]
fn prefix_sets_are_unique_within_a_storage_class() {
    assert_single_error(
        vec![
            rule(1, prefixes(&["prod", "v"], 3), expire()),
            rule(2, prefixes(&["v", "prod"], 5), expire()),
        ],
        "rule with rulePriority 2: selection.tagPrefixList: the rule with rulePriority 1 already uses the same prefixes; prefix sets must be unique",
    );
    let archived = json!({"tagStatus": "tagged", "tagPrefixList": ["prod", "v"], "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 100});
    assert!(LifecyclePolicy::parse(&policy_text(vec![
        rule(1, prefixes(&["prod", "v"], 3), expire()),
        rule(2, archived, expire())
    ]))
    .is_ok());
}

#[test]
fn every_error_is_reported_at_once_in_document_order() {
    let text = policy_text(vec![
        rule(
            10,
            json!({"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 0}),
            expire(),
        ),
        rule(
            20,
            json!({"tagStatus": "untagged", "countType": "sinceImagePulled", "countUnit": "hours", "countNumber": 7}),
            json!({"type": "expire", "targetStorageClass": "archive"}),
        ),
        json!("not a rule"),
    ]);
    let errors = LifecyclePolicy::parse(&text).expect_err("invalid");
    assert_eq!(
        errors.to_string(),
        [
            "rule with rulePriority 10: selection.tagPrefixList: a rule with tagStatus \"tagged\" needs tagPrefixList or tagPatternList",
            "rule with rulePriority 10: selection.countNumber: must be a positive integer, got 0",
            "rule with rulePriority 20: selection.countUnit: must be \"days\", got \"hours\"",
            "rule with rulePriority 20: action.targetStorageClass: is only allowed with action type \"transition\"",
            "rule with rulePriority 20: selection.countType: \"sinceImagePulled\" is only allowed with action type \"transition\"",
            "rules[2]: must be an object, got \"not a rule\"",
        ]
        .join("\n")
    );
    assert_eq!(errors.errors()[0].rule_priority, Some(10));
    assert_eq!(errors.errors()[0].field, "selection.tagPrefixList");
    assert_eq!(errors.errors()[5].rule_priority, None);
}

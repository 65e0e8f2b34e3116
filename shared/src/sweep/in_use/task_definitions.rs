//! ECS task definitions: the newest ACTIVE revisions of every family, and the task
//! definitions that services and schedules name.
//!
//! A rollback, or a deployment pipeline that pins a revision, starts an older revision
//! of a family again, so the newest N ACTIVE revisions of each family
//! (`ListTaskDefinitionFamilies`, `ListTaskDefinitions` newest first,
//! `DescribeTaskDefinition`) hold every container's `image`, whether or not anything
//! runs them now. [`resolve`] describes the task definitions a service or a schedule
//! names (an INACTIVE revision included: a service on it still scales out) for their
//! sources; one that cannot be described makes those uses unknown.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ecs::types::{
    SortOrder, TaskDefinition, TaskDefinitionFamilyStatus, TaskDefinitionStatus,
};
use futures::{StreamExt, TryStreamExt};

use super::ecs_tasks::family_revision;
use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "ECS task definitions";
/// `ListTaskDefinitions` / `DescribeTaskDefinition` calls in flight at once.
const CONCURRENCY: usize = 4;
/// Items per `ListTaskDefinitionFamilies` / `ListTaskDefinitions` page (AWS limit).
const PAGE_LIMIT: i32 = 100;

/// A task definition (ARN, `family:revision` or `family` = its latest ACTIVE revision)
/// and who names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTaskDefinition {
    pub task_definition: String,
    /// e.g. `ECS service prod/web`; the resolved `family:revision` is added to it.
    pub holder: String,
}

/// The images of the newest `revisions` ACTIVE revisions of every family.
pub async fn newest_revisions(
    ecs: &aws_sdk_ecs::Client,
    revisions: u32,
) -> Result<Vec<ImageUse>, AwsCallError> {
    let families: Vec<String> = ecs
        .list_task_definition_families()
        .status(TaskDefinitionFamilyStatus::Active)
        .max_results(PAGE_LIMIT)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| AwsCallError::new("ListTaskDefinitionFamilies", &err))?;
    let newest: Vec<Vec<String>> = futures::stream::iter(&families)
        .map(|family| newest_family_revisions(ecs, family, revisions))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let user_suffix = format!("(one of the newest {revisions} ACTIVE revisions)");
    let uses: Vec<Vec<ImageUse>> = futures::stream::iter(newest.iter().flatten())
        .map(|arn| {
            let user_suffix = &user_suffix;
            async move {
                let definition = describe(ecs, arn).await.map_err(|err| about(arn, err))?;
                let user = format!("ECS task definition {} {user_suffix}", family_revision(arn));
                Ok::<_, AwsCallError>(container_images(&definition, &user))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(uses.into_iter().flatten().collect())
}

/// The ARNs of the newest `revisions` ACTIVE revisions of `family`.
///
/// `familyPrefix` matches every family that starts with `family`, and newest first
/// (`DESC`) lists longer family names before it (`api-worker` before `api`): pages are
/// read until `revisions` ARNs of `family` itself are in hand.
async fn newest_family_revisions(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    revisions: u32,
) -> Result<Vec<String>, AwsCallError> {
    // One page holds the newest `revisions` when no other family starts with `family`.
    let page_size =
        i32::try_from(revisions).map_or(PAGE_LIMIT, |revisions| revisions.min(PAGE_LIMIT));
    let mut pages = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .max_results(page_size)
        .into_paginator()
        .send();
    let mut listed: Vec<String> = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| AwsCallError::new("ListTaskDefinitions", &err))?;
        listed.extend(
            page.task_definition_arns()
                .iter()
                .filter(|arn| family_and_revision(arn).is_some_and(|(of, _)| of == family))
                .cloned(),
        );
        if listed.len() >= revisions as usize {
            break;
        }
    }
    Ok(newest_of_family(listed, family, revisions as usize))
}

/// The `revisions` newest of `arns` that are revisions of `family` exactly.
///
/// Sorted here rather than trusted to come newest first: moto, for one, lists oldest
/// first. A revision that is not a number cannot be ordered and counts as newest, so it
/// is kept.
pub fn newest_of_family(arns: Vec<String>, family: &str, revisions: usize) -> Vec<String> {
    let mut of_family: Vec<(u32, String)> = arns
        .into_iter()
        .filter_map(|arn| {
            let (of, revision) = family_and_revision(&arn)?;
            let revision = revision.parse().unwrap_or(u32::MAX);
            (of == family).then_some((revision, arn))
        })
        .collect();
    of_family.sort_by(|(a, _), (b, _)| b.cmp(a));
    of_family.truncate(revisions);
    of_family.into_iter().map(|(_, arn)| arn).collect()
}

/// The family and the revision text of a task-definition ARN or `family:revision`.
fn family_and_revision(task_definition: &str) -> Option<(&str, &str)> {
    family_revision(task_definition).rsplit_once(':')
}

/// Every container's image of the task definitions in `named`, each described once
/// however many name it. A task definition that cannot be described (deleted, access
/// denied) is an error: what its holders start is unknown.
pub async fn resolve(
    ecs: &aws_sdk_ecs::Client,
    named: &[NamedTaskDefinition],
) -> Result<Vec<ImageUse>, AwsCallError> {
    let distinct: BTreeSet<&str> = named
        .iter()
        .map(|named| named.task_definition.as_str())
        .collect();
    let described: HashMap<&str, TaskDefinition> = futures::stream::iter(distinct)
        .map(|task_definition| async move {
            let definition = describe(ecs, task_definition).await.map_err(|err| {
                let holder = named
                    .iter()
                    .find(|named| named.task_definition == task_definition)
                    .map_or("", |named| named.holder.as_str());
                about(&format!("{task_definition} (named by {holder})"), err)
            })?;
            Ok::<_, AwsCallError>((task_definition, definition))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(named
        .iter()
        .filter_map(|named| {
            let definition = described.get(named.task_definition.as_str())?;
            Some(resolved_images(named, definition))
        })
        .flatten()
        .collect())
}

/// `DescribeTaskDefinition` of `task_definition`.
async fn describe(
    ecs: &aws_sdk_ecs::Client,
    task_definition: &str,
) -> Result<TaskDefinition, AwsCallError> {
    ecs.describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .map_err(|err| AwsCallError::new("DescribeTaskDefinition", &err))?
        .task_definition
        .ok_or_else(|| AwsCallError {
            operation: "DescribeTaskDefinition".to_owned(),
            message: "the answer has no taskDefinition".to_owned(),
        })
}

/// `err`, naming the task definition the failed call was about.
fn about(task_definition: &str, mut err: AwsCallError) -> AwsCallError {
    err.message = format!("{task_definition}: {}", err.message);
    err
}

/// The images of `definition`, named by `named.holder` and the `family:revision` the
/// task definition resolved to.
pub fn resolved_images(named: &NamedTaskDefinition, definition: &TaskDefinition) -> Vec<ImageUse> {
    let arn = definition
        .task_definition_arn()
        .unwrap_or(&named.task_definition);
    let user = format!(
        "{} (task definition {})",
        named.holder,
        family_revision(arn)
    );
    container_images(definition, &user)
}

/// Every container definition's image, as `DescribeTaskDefinition` describes it.
pub fn container_images(definition: &TaskDefinition, user: &str) -> Vec<ImageUse> {
    definition
        .container_definitions()
        .iter()
        .filter_map(|container| Some(ImageUse::new(container.image()?, None, user)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::ContainerDefinition;

    const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition";

    fn arns(family_revisions: &[&str]) -> Vec<String> {
        family_revisions
            .iter()
            .map(|family_revision| format!("{ARN}/{family_revision}"))
            .collect()
    }

    /// `ListTaskDefinitions` with `familyPrefix=api`, `sort=DESC`, as ECS answers: the
    /// longer family `api-worker` first, then `api` newest first.
    #[test]
    fn only_the_family_itself_counts_and_the_newest_revisions_are_kept() {
        let listed = arns(&[
            "api-worker:3",
            "api-worker:2",
            "api:9",
            "api:8",
            "api:7",
            "api:6",
        ]);
        assert_eq!(
            newest_of_family(listed, "api", 3),
            arns(&["api:9", "api:8", "api:7"])
        );
    }

    #[test]
    fn revisions_listed_oldest_first_are_ordered_by_number() {
        let listed = arns(&["api:1", "api:2", "api:10", "api:9"]);
        assert_eq!(
            newest_of_family(listed, "api", 2),
            arns(&["api:10", "api:9"])
        );
    }

    #[test]
    fn a_family_with_fewer_revisions_keeps_them_all() {
        let listed = arns(&["api:2", "api:1"]);
        assert_eq!(newest_of_family(listed.clone(), "api", 5), listed);
    }

    /// `DescribeTaskDefinition` of a family name answers with its latest ACTIVE
    /// revision: the holder names the revision it resolved to.
    #[test]
    fn every_container_of_the_resolved_revision_is_in_use() {
        let definition = TaskDefinition::builder()
            .task_definition_arn(format!("{ARN}/web:7"))
            .family("web")
            .revision(7)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(format!("{ECR}/web:v7"))
                    .build(),
            )
            .container_definitions(
                ContainerDefinition::builder()
                    .name("log-router")
                    .image(format!("{ECR}/fluent-bit@sha256:aa"))
                    .build(),
            )
            .container_definitions(ContainerDefinition::builder().name("no-image").build())
            .build();
        let named = NamedTaskDefinition {
            task_definition: "web".to_owned(),
            holder: "ECS service prod/web".to_owned(),
        };
        let user = "ECS service prod/web (task definition web:7)";
        assert_eq!(
            resolved_images(&named, &definition),
            vec![
                ImageUse::new(&format!("{ECR}/web:v7"), None, user),
                ImageUse::new(&format!("{ECR}/fluent-bit@sha256:aa"), None, user),
            ]
        );
    }
}

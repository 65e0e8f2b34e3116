//! Scheduled ECS tasks: nothing of theirs runs between two runs, yet each run starts
//! their task definition's images.
//!
//! EventBridge rules on every event bus (the default one, custom and partner buses:
//! `ListEventBuses`, `ListRules`, `ListTargetsByRule`) with a target's
//! `EcsParameters.TaskDefinitionArn`; EventBridge Scheduler schedules of every group
//! (`ListSchedules`, then `GetSchedule` of those whose target is ECS, as only
//! `GetSchedule` answers with the target's parameters) with
//! `Target.EcsParameters.TaskDefinitionArn`, or a universal `aws-sdk:ecs:…` target
//! (`runTask`, `startTask`, `createService`, `updateService`, ...) whose input names a
//! `taskDefinition`.
//! Disabled rules and schedules count too: enabling one starts its images. The task
//! definitions are described once each (see [`super::task_definitions::resolve`]).

use aws_sdk_eventbridge::types::Target;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::types::ScheduleSummary;
use futures::{StreamExt, TryStreamExt};

use super::task_definitions::{resolve, NamedTaskDefinition};
use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "scheduled ECS tasks";
/// `ListRules` / `ListTargetsByRule` / `GetSchedule` calls in flight at once.
const CONCURRENCY: usize = 4;
/// Items per EventBridge and Scheduler list page (AWS limit).
const PAGE_LIMIT: i32 = 100;

/// The images of the task definitions every rule and schedule starts.
pub async fn images(
    ecs: &aws_sdk_ecs::Client,
    events: &aws_sdk_eventbridge::Client,
    scheduler: &aws_sdk_scheduler::Client,
) -> Result<Vec<ImageUse>, AwsCallError> {
    let (by_rules, by_schedules) =
        futures::try_join!(named_by_rules(events), named_by_schedules(scheduler))?;
    let named: Vec<NamedTaskDefinition> = by_rules.into_iter().chain(by_schedules).collect();
    resolve(ecs, &named).await
}

// ---------------------------------------------------------------- EventBridge rules

/// The task definitions the ECS targets of every rule on every bus start.
async fn named_by_rules(
    events: &aws_sdk_eventbridge::Client,
) -> Result<Vec<NamedTaskDefinition>, AwsCallError> {
    let buses = event_buses(events).await?;
    let rules: Vec<(&str, Vec<String>)> = futures::stream::iter(&buses)
        .map(|bus| async move { Ok::<_, AwsCallError>((bus.as_str(), rules(events, bus).await?)) })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let rules = rules
        .iter()
        .flat_map(|(bus, rules)| rules.iter().map(move |rule| (*bus, rule.as_str())));
    let named: Vec<Vec<NamedTaskDefinition>> = futures::stream::iter(rules)
        .map(|(bus, rule)| async move {
            let targets = targets(events, bus, rule).await?;
            Ok::<_, AwsCallError>(named_by_rule(bus, rule, &targets))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(named.into_iter().flatten().collect())
}

/// Every item of an EventBridge list call, page by page: the SDK has no paginator for
/// `ListEventBuses`, `ListRules` or `ListTargetsByRule`. `page` reads one page from a
/// token and returns its items and the next token, or `None` when the resource listed
/// from was deleted since (no items).
async fn all_pages<T, Page>(
    mut page: impl FnMut(Option<String>) -> Page,
) -> Result<Vec<T>, AwsCallError>
where
    Page: std::future::Future<Output = Result<Option<(Vec<T>, Option<String>)>, AwsCallError>>,
{
    let mut items = Vec::new();
    let mut next_token = None;
    loop {
        let Some((page_items, next)) = page(next_token).await? else {
            return Ok(Vec::new());
        };
        items.extend(page_items);
        next_token = next.filter(|token| !token.is_empty());
        if next_token.is_none() {
            return Ok(items);
        }
    }
}

/// Whether an EventBridge error says the bus or rule listed from no longer exists.
fn is_gone<E, R>(err: &aws_sdk_eventbridge::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_eventbridge::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|err| err.code())
        .is_some_and(|code| code == "ResourceNotFoundException")
}

/// The name (or, without one, the ARN) of every event bus.
async fn event_buses(events: &aws_sdk_eventbridge::Client) -> Result<Vec<String>, AwsCallError> {
    all_pages(|next_token| async move {
        let page = events
            .list_event_buses()
            .limit(PAGE_LIMIT)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|err| AwsCallError::new("ListEventBuses", &err))?;
        let buses = page
            .event_buses()
            .iter()
            .filter_map(|bus| bus.name().or(bus.arn()).map(str::to_owned))
            .collect();
        Ok(Some((buses, page.next_token().map(str::to_owned))))
    })
    .await
}

/// The names of the rules on `bus` (none when the bus was deleted since it was listed).
async fn rules(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
) -> Result<Vec<String>, AwsCallError> {
    all_pages(|next_token| async move {
        let page = match events
            .list_rules()
            .event_bus_name(bus)
            .limit(PAGE_LIMIT)
            .set_next_token(next_token)
            .send()
            .await
        {
            Ok(page) => page,
            Err(err) if is_gone(&err) => return Ok(None),
            Err(err) => return Err(AwsCallError::new("ListRules", &err)),
        };
        let rules = page
            .rules()
            .iter()
            .filter_map(|rule| rule.name().map(str::to_owned))
            .collect();
        Ok(Some((rules, page.next_token().map(str::to_owned))))
    })
    .await
}

/// The targets of `rule` on `bus` (none when the rule was deleted since it was listed).
async fn targets(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    rule: &str,
) -> Result<Vec<Target>, AwsCallError> {
    all_pages(|next_token| async move {
        let page = match events
            .list_targets_by_rule()
            .event_bus_name(bus)
            .rule(rule)
            .limit(PAGE_LIMIT)
            .set_next_token(next_token)
            .send()
            .await
        {
            Ok(page) => page,
            Err(err) if is_gone(&err) => return Ok(None),
            Err(err) => return Err(AwsCallError::new("ListTargetsByRule", &err)),
        };
        Ok(Some((
            page.targets().to_vec(),
            page.next_token().map(str::to_owned),
        )))
    })
    .await
}

/// The task definitions the ECS targets of one rule start, as `ListTargetsByRule`
/// describes its targets.
pub fn named_by_rule(bus: &str, rule: &str, targets: &[Target]) -> Vec<NamedTaskDefinition> {
    targets
        .iter()
        .filter_map(|target| target.ecs_parameters())
        .map(|ecs| ecs.task_definition_arn())
        .filter(|task_definition| !task_definition.is_empty())
        .map(|task_definition| NamedTaskDefinition {
            task_definition: task_definition.to_owned(),
            holder: format!("EventBridge rule {bus}/{rule}"),
        })
        .collect()
}

// ---------------------------------------------------------------- EventBridge Scheduler

/// The task definitions every schedule with an ECS target starts.
async fn named_by_schedules(
    scheduler: &aws_sdk_scheduler::Client,
) -> Result<Vec<NamedTaskDefinition>, AwsCallError> {
    let summaries: Vec<ScheduleSummary> = scheduler
        .list_schedules()
        .max_results(PAGE_LIMIT)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| AwsCallError::new("ListSchedules", &err))?;
    let named: Vec<Option<NamedTaskDefinition>> = futures::stream::iter(&summaries)
        .filter(|summary| std::future::ready(may_start_ecs_tasks(summary)))
        .map(|summary| async move {
            let output = match scheduler
                .get_schedule()
                .set_name(summary.name().map(str::to_owned))
                .set_group_name(summary.group_name().map(str::to_owned))
                .send()
                .await
            {
                Ok(output) => output,
                // Deleted since it was listed (one that deletes itself after its last
                // run, say): it starts nothing any more.
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|err| err.is_resource_not_found_exception()) =>
                {
                    return Ok(None)
                }
                Err(err) => return Err(AwsCallError::new("GetSchedule", &err)),
            };
            named_by_schedule(&output)
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(named.into_iter().flatten().collect())
}

/// Whether the target `ListSchedules` summarises may start ECS tasks: an ECS cluster
/// (a templated ECS target) or a universal `aws-sdk:ecs:…` target. A target it does
/// not summarise may be anything, so it is read.
pub fn may_start_ecs_tasks(summary: &ScheduleSummary) -> bool {
    summary.target().is_none_or(|target| {
        let arn = target.arn();
        arn.is_empty() || arn.split(':').nth(2) == Some("ecs") || is_universal_ecs(arn)
    })
}

/// Whether a Scheduler target ARN is a universal target calling an ECS API action,
/// `arn:aws:scheduler:::aws-sdk:ecs:runTask` say.
fn is_universal_ecs(target_arn: &str) -> bool {
    target_arn.contains(":aws-sdk:ecs:")
}

/// The task definition one schedule's target starts, as `GetSchedule` describes it.
/// A universal ECS target whose input is not JSON starts something nobody knows: an
/// error.
pub fn named_by_schedule(
    schedule: &GetScheduleOutput,
) -> Result<Option<NamedTaskDefinition>, AwsCallError> {
    let Some(target) = schedule.target() else {
        return Ok(None);
    };
    let holder = format!(
        "EventBridge Scheduler schedule {}/{}",
        schedule.group_name().unwrap_or("default"),
        schedule.name().unwrap_or("(unnamed)")
    );
    let task_definition = match target.ecs_parameters() {
        Some(ecs) => Some(ecs.task_definition_arn().to_owned()),
        None if is_universal_ecs(target.arn()) => {
            universal_target_task_definition(target.input().unwrap_or("{}")).map_err(|err| {
                AwsCallError {
                    operation: "GetSchedule".to_owned(),
                    message: format!("{holder}: input of {} is not JSON: {err}", target.arn()),
                }
            })?
        }
        None => None,
    };
    Ok(task_definition
        .filter(|task_definition| !task_definition.is_empty())
        .map(|task_definition| NamedTaskDefinition {
            task_definition,
            holder,
        }))
}

/// The `taskDefinition` of a universal ECS target's input (the API's request, whose
/// member names Scheduler takes in either case).
fn universal_target_task_definition(input: &str) -> Result<Option<String>, serde_json::Error> {
    let request: serde_json::Map<String, serde_json::Value> = serde_json::from_str(input)?;
    Ok(request
        .iter()
        .find(|(member, _)| member.eq_ignore_ascii_case("taskDefinition"))
        .and_then(|(_, task_definition)| task_definition.as_str())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, TargetSummary};

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012";
    const ROLE: &str = "arn:aws:iam::123456789012:role/scheduler";

    fn named(task_definition: &str, holder: &str) -> NamedTaskDefinition {
        NamedTaskDefinition {
            task_definition: task_definition.to_owned(),
            holder: holder.to_owned(),
        }
    }

    #[test]
    fn a_rule_holds_the_task_definition_of_each_ecs_target() {
        let targets = [
            Target::builder()
                .id("nightly")
                .arn(format!("{ARN}:cluster/prod"))
                .ecs_parameters(
                    aws_sdk_eventbridge::types::EcsParameters::builder()
                        .task_definition_arn(format!("{ARN}:task-definition/report:4"))
                        .task_count(1)
                        .build()
                        .expect("ECS parameters"),
                )
                .build()
                .expect("target"),
            Target::builder()
                .id("queue")
                .arn("arn:aws:sqs:us-east-1:123456789012:jobs")
                .build()
                .expect("target"),
        ];
        assert_eq!(
            named_by_rule("jobs", "nightly", &targets),
            vec![named(
                &format!("{ARN}:task-definition/report:4"),
                "EventBridge rule jobs/nightly"
            )]
        );
    }

    fn schedule(target: aws_sdk_scheduler::types::Target) -> GetScheduleOutput {
        GetScheduleOutput::builder()
            .name("hourly")
            .group_name("batch")
            .schedule_expression("rate(1 hour)")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .expect("window"),
            )
            .target(target)
            .build()
    }

    #[test]
    fn a_schedule_holds_its_ecs_target_s_task_definition() {
        // The revision-less ARN Scheduler accepts means the latest ACTIVE revision.
        let output = schedule(
            aws_sdk_scheduler::types::Target::builder()
                .arn(format!("{ARN}:cluster/prod"))
                .role_arn(ROLE)
                .ecs_parameters(
                    aws_sdk_scheduler::types::EcsParameters::builder()
                        .task_definition_arn(format!("{ARN}:task-definition/report"))
                        .build()
                        .expect("ECS parameters"),
                )
                .build()
                .expect("target"),
        );
        assert_eq!(
            named_by_schedule(&output),
            Ok(Some(named(
                &format!("{ARN}:task-definition/report"),
                "EventBridge Scheduler schedule batch/hourly"
            )))
        );
    }

    #[test]
    fn a_universal_ecs_target_holds_the_task_definition_its_input_names() {
        let universal = |input: &str| {
            schedule(
                aws_sdk_scheduler::types::Target::builder()
                    .arn("arn:aws:scheduler:::aws-sdk:ecs:runTask")
                    .role_arn(ROLE)
                    .input(input)
                    .build()
                    .expect("target"),
            )
        };
        let holder = "EventBridge Scheduler schedule batch/hourly";
        assert_eq!(
            named_by_schedule(&universal(
                r#"{"Cluster": "prod", "TaskDefinition": "report:4"}"#
            )),
            Ok(Some(named("report:4", holder)))
        );
        assert_eq!(
            named_by_schedule(&universal(
                r#"{"cluster": "prod", "taskDefinition": "report"}"#
            )),
            Ok(Some(named("report", holder)))
        );
        assert_eq!(
            named_by_schedule(&universal(
                r#"{"Cluster": "prod", "Service": "web", "DesiredCount": 2}"#
            )),
            Ok(None)
        );
        let not_json = named_by_schedule(&universal("report:4")).expect_err("unknown input");
        assert_eq!(not_json.operation, "GetSchedule");
        assert!(
            not_json.message.starts_with(
                "EventBridge Scheduler schedule batch/hourly: input of \
                 arn:aws:scheduler:::aws-sdk:ecs:runTask is not JSON: "
            ),
            "{}",
            not_json.message
        );
    }

    #[test]
    fn a_schedule_without_an_ecs_target_holds_nothing() {
        let output = schedule(
            aws_sdk_scheduler::types::Target::builder()
                .arn("arn:aws:lambda:us-east-1:123456789012:function:report")
                .role_arn(ROLE)
                .build()
                .expect("target"),
        );
        assert_eq!(named_by_schedule(&output), Ok(None));
    }

    /// `ListSchedules` summarises each target by its ARN only.
    #[test]
    fn only_schedules_whose_target_may_start_ecs_tasks_are_read() {
        let summary = |target_arn: Option<&str>| {
            ScheduleSummary::builder()
                .name("hourly")
                .group_name("batch")
                .set_target(target_arn.map(|arn| {
                    TargetSummary::builder()
                        .arn(arn)
                        .build()
                        .expect("target summary")
                }))
                .build()
        };
        for (target_arn, read) in [
            (
                Some("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
                true,
            ),
            (Some("arn:aws:scheduler:::aws-sdk:ecs:runTask"), true),
            (
                Some("arn:aws-cn:scheduler:::aws-sdk:ecs:updateService"),
                true,
            ),
            (Some("arn:aws:scheduler:::aws-sdk:sqs:createQueue"), false),
            (
                Some("arn:aws:lambda:us-east-1:123456789012:function:report"),
                false,
            ),
            (Some(""), true),
            (None, true),
        ] {
            assert_eq!(
                may_start_ecs_tasks(&summary(target_arn)),
                read,
                "{target_arn:?}"
            );
        }
    }
}

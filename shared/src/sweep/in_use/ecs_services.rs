//! ECS services in every cluster, whatever their desired count: a service scaled to
//! zero starts its image again when it scales out, and while a deployment rolls (or
//! rolls back) its ACTIVE deployments start the previous task definition's images next
//! to the PRIMARY one's. `ListServices` and `DescribeServices` give each service's
//! `taskDefinition`, the task definition of every deployment in `deployments[]` and of
//! every task set (CODE_DEPLOY and EXTERNAL controllers deploy through task sets);
//! each is described once (see [`super::task_definitions::resolve`]).

use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::types::Service;
use futures::{StreamExt, TryStreamExt};

use super::task_definitions::{resolve, NamedTaskDefinition};
use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "ECS services";
/// Service ARNs per `ListServices` page (AWS limit; the default is 10).
const LIST_SERVICES_LIMIT: i32 = 100;
/// Services per `DescribeServices` call (AWS limit).
const DESCRIBE_SERVICES_LIMIT: usize = 10;
/// `DescribeServices` calls in flight at once.
const CONCURRENCY: usize = 4;
/// The `DescribeServices` failure of a service deleted since it was listed: it starts
/// nothing any more.
const MISSING: &str = "MISSING";

/// The images of every deployment of every service of every cluster.
pub async fn images(ecs: &aws_sdk_ecs::Client) -> Result<Vec<ImageUse>, AwsCallError> {
    let mut batches: Vec<(String, Vec<String>)> = Vec::new();
    for cluster in super::ecs_tasks::clusters(ecs).await? {
        let services: Vec<String> = ecs
            .list_services()
            .cluster(&cluster)
            .max_results(LIST_SERVICES_LIMIT)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| AwsCallError::new("ListServices", &err))?;
        batches.extend(
            services
                .chunks(DESCRIBE_SERVICES_LIMIT)
                .map(|batch| (cluster.clone(), batch.to_vec())),
        );
    }
    let named: Vec<Vec<NamedTaskDefinition>> = futures::stream::iter(batches)
        .map(|(cluster, services)| async move {
            let output = ecs
                .describe_services()
                .cluster(&cluster)
                .set_services(Some(services))
                .send()
                .await
                .map_err(|err| AwsCallError::new("DescribeServices", &err))?;
            named_by_services(cluster_name(&cluster), &output)
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let named: Vec<NamedTaskDefinition> = named.into_iter().flatten().collect();
    resolve(ecs, &named).await
}

/// The task definitions of the services one `DescribeServices` call describes. A
/// service that could not be described (for any reason but being deleted since it was
/// listed) holds images nobody knows: an error.
pub fn named_by_services(
    cluster_name: &str,
    output: &DescribeServicesOutput,
) -> Result<Vec<NamedTaskDefinition>, AwsCallError> {
    if let Some(failure) = output
        .failures()
        .iter()
        .find(|failure| failure.reason() != Some(MISSING))
    {
        let detail = failure
            .detail()
            .map(|detail| format!(" ({detail})"))
            .unwrap_or_default();
        return Err(AwsCallError {
            operation: "DescribeServices".to_owned(),
            message: format!(
                "{}: {}{detail}",
                failure.arn().unwrap_or("(a service)"),
                failure.reason().unwrap_or("(no reason)"),
            ),
        });
    }
    Ok(output
        .services()
        .iter()
        .flat_map(|service| service_task_definitions(cluster_name, service))
        .collect())
}

/// The name of a cluster, the last segment of its ARN.
pub fn cluster_name(cluster_arn: &str) -> &str {
    cluster_arn
        .rsplit_once('/')
        .map_or(cluster_arn, |(_, name)| name)
}

/// Every task definition one service can start, as `DescribeServices` describes it:
/// its own `taskDefinition`, each deployment's (PRIMARY and ACTIVE) and each task
/// set's, once each.
pub fn service_task_definitions(cluster_name: &str, service: &Service) -> Vec<NamedTaskDefinition> {
    let holder = format!(
        "ECS service {cluster_name}/{}",
        service.service_name().unwrap_or("(unnamed)")
    );
    let deployments = service
        .deployments()
        .iter()
        .filter_map(|deployment| deployment.task_definition());
    let task_sets = service
        .task_sets()
        .iter()
        .filter_map(|task_set| task_set.task_definition());
    let mut task_definitions: Vec<&str> = Vec::new();
    for task_definition in service
        .task_definition()
        .into_iter()
        .chain(deployments)
        .chain(task_sets)
    {
        if !task_definitions.contains(&task_definition) {
            task_definitions.push(task_definition);
        }
    }
    task_definitions
        .into_iter()
        .map(|task_definition| NamedTaskDefinition {
            task_definition: task_definition.to_owned(),
            holder: holder.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Deployment, Failure, TaskSet};

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012";

    fn named(task_definition: &str, holder: &str) -> NamedTaskDefinition {
        NamedTaskDefinition {
            task_definition: format!("{ARN}:task-definition/{task_definition}"),
            holder: holder.to_owned(),
        }
    }

    /// moto gives a service one PRIMARY deployment and never an ACTIVE one; ECS lists
    /// the deployment being replaced as ACTIVE until the rollout completes (or rolls
    /// back to it).
    #[test]
    fn a_service_scaled_to_zero_holds_every_deployment_s_task_definition() {
        let service = Service::builder()
            .service_name("web")
            .cluster_arn(format!("{ARN}:cluster/prod"))
            .desired_count(0)
            .task_definition(format!("{ARN}:task-definition/web:8"))
            .deployments(
                Deployment::builder()
                    .status("PRIMARY")
                    .desired_count(0)
                    .task_definition(format!("{ARN}:task-definition/web:8"))
                    .build(),
            )
            .deployments(
                Deployment::builder()
                    .status("ACTIVE")
                    .desired_count(0)
                    .task_definition(format!("{ARN}:task-definition/web:7"))
                    .build(),
            )
            .build();
        assert_eq!(
            service_task_definitions("prod", &service),
            vec![
                named("web:8", "ECS service prod/web"),
                named("web:7", "ECS service prod/web"),
            ]
        );
    }

    /// A CODE_DEPLOY (blue/green) service deploys through task sets and lists no
    /// deployments.
    #[test]
    fn a_blue_green_service_holds_every_task_set_s_task_definition() {
        let service = Service::builder()
            .service_name("api")
            .task_definition(format!("{ARN}:task-definition/api:3"))
            .task_sets(
                TaskSet::builder()
                    .status("PRIMARY")
                    .task_definition(format!("{ARN}:task-definition/api:3"))
                    .build(),
            )
            .task_sets(
                TaskSet::builder()
                    .status("ACTIVE")
                    .task_definition(format!("{ARN}:task-definition/api:4"))
                    .build(),
            )
            .build();
        assert_eq!(
            service_task_definitions("prod", &service),
            vec![
                named("api:3", "ECS service prod/api"),
                named("api:4", "ECS service prod/api"),
            ]
        );
    }

    #[test]
    fn a_service_deleted_since_listed_is_skipped_any_other_failure_is_an_error() {
        let service = Service::builder()
            .service_name("web")
            .task_definition(format!("{ARN}:task-definition/web:8"))
            .build();
        let missing = Failure::builder()
            .arn(format!("{ARN}:service/prod/gone"))
            .reason("MISSING")
            .build();
        let output = DescribeServicesOutput::builder()
            .services(service.clone())
            .failures(missing.clone())
            .build();
        assert_eq!(
            named_by_services("prod", &output),
            Ok(vec![named("web:8", "ECS service prod/web")])
        );
        let output = DescribeServicesOutput::builder()
            .services(service)
            .failures(missing)
            .failures(
                Failure::builder()
                    .arn(format!("{ARN}:service/prod/api"))
                    .reason("ACCESS_DENIED")
                    .detail("not authorized")
                    .build(),
            )
            .build();
        assert_eq!(
            named_by_services("prod", &output),
            Err(AwsCallError {
                operation: "DescribeServices".to_owned(),
                message: format!("{ARN}:service/prod/api: ACCESS_DENIED (not authorized)"),
            })
        );
    }

    #[test]
    fn the_cluster_name_is_the_last_segment_of_its_arn() {
        assert_eq!(cluster_name(&format!("{ARN}:cluster/prod")), "prod");
        assert_eq!(cluster_name("prod"), "prod");
    }
}

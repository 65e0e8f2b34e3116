output "function_arns" {
  description = "Function ARNs by function (tag-enforcer, scan-forwarder, lifecycle-sweeper)."
  value       = { for key, function in aws_lambda_function.this : key => function.arn }
}

output "function_names" {
  description = "Function names by function."
  value       = { for key, function in aws_lambda_function.this : key => function.function_name }
}

output "role_arns" {
  description = "Execution role ARNs by function (the principals a janitor-member role trusts: hub_role_arns = values(...))."
  value       = { for key, role in aws_iam_role.function : key => role.arn }
}

output "bus_name" {
  description = "Name of the janitor's event bus (events with source ecr-janitor)."
  value       = aws_cloudwatch_event_bus.janitor.name
}

output "bus_arn" {
  description = "ARN of the janitor's event bus."
  value       = aws_cloudwatch_event_bus.janitor.arn
}

output "dlq_urls" {
  description = "Dead-letter queue URLs: events (EventBridge rules, Scheduler) and functions (failed async invocations)."
  value       = { for key, queue in local.queues : key => queue.url }
}

output "dlq_arns" {
  description = "Dead-letter queue ARNs, keyed like dlq_urls."
  value       = { for key, queue in local.queues : key => queue.arn }
}

output "config_bucket" {
  description = "Name of the bucket holding the configuration document."
  value       = aws_s3_bucket.config.id
}

output "config_s3_uri" {
  description = "s3:// URI of the configuration document (the functions' JANITOR_CONFIG_S3_URI)."
  value       = local.config_s3_uri
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule of the full sweep."
  value       = aws_scheduler_schedule.sweep_all.arn
}

output "snapshot_bucket" {
  description = "Name of the bucket holding the organization-wide in-use snapshots (null without config.targets)."
  value       = one(aws_s3_bucket.snapshots[*].id)
}

output "snapshot_s3_uri" {
  description = "s3:// URI prefix of the in-use snapshots (the sweeper's JANITOR_SNAPSHOT_S3_URI; null without config.targets)."
  value       = local.snapshot_s3_uri
}

output "member_role_arns" {
  description = "Member role ARNs the functions may assume (from config.targets; an organization's is arn:...:iam::*:role/NAME)."
  value       = local.member_role_arns
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the janitor's metrics, function errors and DLQ depth."
  value       = aws_cloudwatch_dashboard.janitor.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of that dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards:name=${aws_cloudwatch_dashboard.janitor.dashboard_name}"
}

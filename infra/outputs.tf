output "repository_urls" {
  description = "Repository URLs by name."
  value       = { for name, repository in module.repositories : name => repository.url }
}

output "repository_arns" {
  description = "Repository ARNs by name."
  value       = { for name, repository in module.repositories : name => repository.arn }
}

output "janitor_function_arns" {
  description = "The janitor's function ARNs."
  value       = module.janitor.function_arns
}

output "janitor_bus_name" {
  description = "The janitor's event bus."
  value       = module.janitor.bus_name
}

output "janitor_dlq_urls" {
  description = "Dead-letter queues to watch and redrive."
  value       = module.janitor.dlq_urls
}

output "janitor_config_s3_uri" {
  description = "Where the configuration document lives."
  value       = module.janitor.config_s3_uri
}

output "janitor_role_arns" {
  description = "IAM role ARN of each janitor function, by function name (the lifecycle-sweeper's is the one to exclude from pull-time updates: ecr-janitor exclude-pull-times)."
  value       = module.janitor.role_arns
}

output "janitor_bus_arn" {
  description = "The janitor's event bus ARN (members forward their events here)."
  value       = module.janitor.bus_arn
}

output "janitor_snapshot_s3_uri" {
  description = "Where the sweeper keeps the organization-wide in-use snapshots (null without members)."
  value       = module.janitor.snapshot_s3_uri
}

output "member_role_arns" {
  description = "The role the janitor assumes in each member, by member key."
  value = merge(
    { for member in module.member_a : "member_a" => member.role_arn },
    { for member in module.member_b : "member_b" => member.role_arn },
  )
}

output "member_forwarding_rule_arns" {
  description = "Each member's forwarding rules, by member key and event."
  value = merge(
    { for member in module.member_a : "member_a" => member.forwarding_rule_arns },
    { for member in module.member_b : "member_b" => member.forwarding_rule_arns },
  )
}

output "janitor_dashboard_url" {
  description = "The janitor's CloudWatch dashboard."
  value       = module.janitor.dashboard_url
}

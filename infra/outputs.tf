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

output "janitor_dashboard_url" {
  description = "The janitor's CloudWatch dashboard."
  value       = module.janitor.dashboard_url
}

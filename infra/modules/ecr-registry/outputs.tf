output "registry_id" {
  description = "Account ID of the registry (this account)."
  value       = local.account_id
}

output "replication_rules" {
  description = "The replication rules applied, with null registry_ids resolved to this account (empty when none)."
  value       = local.replication_rules
}

output "registry_policy" {
  description = "The registry policy text applied, or null when none."
  value       = local.registry_policy
}

output "pull_through_cache_prefixes" {
  description = "Map ECR repository prefix → upstream registry URL of the pull-through cache rules."
  value       = { for prefix, rule in aws_ecr_pull_through_cache_rule.this : prefix => rule.upstream_registry_url }
}

output "repository_creation_template_prefixes" {
  description = "Prefixes of the repository creation templates."
  value       = keys(aws_ecr_repository_creation_template.this)
}

output "template_lifecycle_policies" {
  description = "Map template prefix → lifecycle policy text (null when the template has none)."
  value       = { for prefix, policy in module.template_lifecycle_policy : prefix => policy.json }
}

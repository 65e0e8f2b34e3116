output "json" {
  description = "The ECR lifecycle policy document (JSON text), or null when rules is null."
  value       = local.policy

  precondition {
    condition     = local.policy == null || (length(coalesce(local.policy, "-")) >= 100 && length(coalesce(local.policy, "-")) <= 30720)
    error_message = "The lifecycle policy must be 100 to 30,720 characters long (ECR's limits)."
  }
}

output "rules" {
  description = "The generated rules as objects (empty when rules is null)."
  value       = local.generated_rules
}

output "name" {
  description = "Repository name."
  value       = aws_ecr_repository.this.name
}

output "arn" {
  description = "Repository ARN."
  value       = aws_ecr_repository.this.arn
}

output "url" {
  description = "Repository URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME), for docker push/pull."
  value       = aws_ecr_repository.this.repository_url
}

output "registry_id" {
  description = "Registry (account) ID that holds the repository."
  value       = aws_ecr_repository.this.registry_id
}

output "lifecycle_policy" {
  description = "The lifecycle policy text applied to the repository, or null when it has none."
  value       = local.lifecycle_policy
}

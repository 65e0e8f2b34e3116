# Example deployment: a few repositories plus the janitor that keeps them clean.

module "repositories" {
  source   = "./modules/ecr-repository"
  for_each = var.repositories

  name                 = each.key
  image_tag_mutability = each.value.image_tag_mutability
  scan_on_push         = each.value.scan_on_push
  force_delete         = each.value.force_delete
  lifecycle_rules      = each.value.lifecycle_rules
  pull_account_ids     = each.value.pull_account_ids
  push_principal_arns  = each.value.push_principal_arns
}

module "janitor" {
  source = "./modules/janitor"

  artifacts_dir       = coalesce(var.artifacts_dir, "${path.root}/../target/lambda")
  architecture        = var.architecture
  repository_arns     = [for repository in module.repositories : repository.arn]
  config              = var.janitor_config
  schedule_expression = var.schedule_expression
  enhanced_scanning   = var.enhanced_scanning
  alarm_topic_arn     = var.alarm_topic_arn

  config_bucket_require_tls = var.config_bucket_require_tls
}

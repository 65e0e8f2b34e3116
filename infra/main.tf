# Example deployment: a few repositories, a pull-through cache whose repositories ECR
# creates itself (from a creation template), and the janitor that keeps both clean; with
# var.members, also the member accounts it looks after (members.tf).

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

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

# Repositories ECR creates on pull under each prefix get their settings (immutable
# tags, a lifecycle policy) from a creation template of the same prefix.
module "registry" {
  source = "./modules/ecr-registry"

  pull_through_cache_rules = {
    for prefix, cache in var.cached_registries : prefix => {
      upstream_registry_url = cache.upstream_registry_url
      credential_arn        = cache.credential_arn
    }
  }
  repository_creation_templates = {
    for prefix, cache in var.cached_registries : prefix => {
      applied_for     = ["PULL_THROUGH_CACHE"]
      description     = "Repositories cached from ${cache.upstream_registry_url}"
      lifecycle_rules = cache.lifecycle_rules
    }
  }
}

locals {
  # The janitor may read and clean the managed repositories and every repository ECR
  # creates under a cached registry's prefix (it selects them with "PREFIX/*" globs).
  janitor_repository_arns = concat(
    [for repository in module.repositories : repository.arn],
    [
      for prefix in keys(var.cached_registries) :
      "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:repository/${prefix}/*"
    ],
  )
}

module "janitor" {
  source = "./modules/janitor"

  artifacts_dir   = coalesce(var.artifacts_dir, "${path.root}/../target/lambda")
  architecture    = var.architecture
  repository_arns = local.janitor_repository_arns
  # With members (members.tf) the janitor is their hub: its targets name them, unless
  # janitor_config brings its own targets section.
  config = merge(var.janitor_config, {
    for key, value in { targets = local.member_targets } : key => value
    if length(var.members) > 0 && !can(var.janitor_config.targets)
  })
  organization_id     = var.organization_id
  schedule_expression = var.schedule_expression
  enhanced_scanning   = var.enhanced_scanning
  alarm_topic_arn     = var.alarm_topic_arn

  config_bucket_require_tls   = var.config_bucket_require_tls
  snapshot_bucket_require_tls = var.snapshot_bucket_require_tls
}

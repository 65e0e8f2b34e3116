data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id

  # ---- Replication -------------------------------------------------------------------------
  replication_rules = [
    for rule in var.replication_rules : {
      destinations = [
        for destination in rule.destinations : {
          region      = destination.region
          registry_id = coalesce(destination.registry_id, local.account_id)
        }
      ]
      repository_prefixes = rule.repository_prefixes
    }
  ]

  # ---- Registry policy (destination side of cross-account replication) -----------------------
  registry_policy = length(var.replication_source_account_ids) == 0 ? null : jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "AllowReplicationFromSourceAccounts"
      Effect = "Allow"
      Principal = {
        AWS = [for id in var.replication_source_account_ids : "arn:${data.aws_partition.current.partition}:iam::${id}:root"]
      }
      Action   = ["ecr:CreateRepository", "ecr:ReplicateImage"]
      Resource = ["arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${local.account_id}:repository/*"]
    }]
  })
}

resource "aws_ecr_replication_configuration" "this" {
  count = length(var.replication_rules) > 0 ? 1 : 0

  replication_configuration {
    dynamic "rule" {
      for_each = local.replication_rules
      content {
        dynamic "destination" {
          for_each = rule.value.destinations
          content {
            region      = destination.value.region
            registry_id = destination.value.registry_id
          }
        }
        dynamic "repository_filter" {
          for_each = rule.value.repository_prefixes
          content {
            filter      = repository_filter.value
            filter_type = "PREFIX_MATCH"
          }
        }
      }
    }
  }
}

resource "aws_ecr_registry_policy" "this" {
  count = local.registry_policy == null ? 0 : 1

  policy = local.registry_policy
}

resource "aws_ecr_pull_through_cache_rule" "this" {
  for_each = var.pull_through_cache_rules

  ecr_repository_prefix      = each.key
  upstream_registry_url      = each.value.upstream_registry_url
  credential_arn             = each.value.credential_arn
  custom_role_arn            = each.value.custom_role_arn
  upstream_repository_prefix = each.value.upstream_repository_prefix
}

# The same generator as the per-repository policies (same lifecycle_rules shape).
module "template_lifecycle_policy" {
  source   = "../lifecycle-policy"
  for_each = var.repository_creation_templates

  rules = each.value.lifecycle_rules
}

resource "aws_ecr_repository_creation_template" "this" {
  # Defaults: IMMUTABLE tags, AES256 (ECR-managed keys). checkov has no check for this resource type.
  for_each = var.repository_creation_templates

  prefix               = each.key
  description          = each.value.description
  applied_for          = each.value.applied_for
  image_tag_mutability = each.value.image_tag_mutability
  custom_role_arn      = each.value.custom_role_arn
  repository_policy    = each.value.repository_policy_json
  lifecycle_policy     = module.template_lifecycle_policy[each.key].json
  resource_tags        = length(each.value.resource_tags) > 0 ? each.value.resource_tags : null

  encryption_configuration {
    encryption_type = each.value.encryption_type
    kms_key         = each.value.encryption_type == "AES256" ? null : each.value.kms_key_arn
  }

  # Provider 5.100 has no image_tag_mutability_exclusion_filter block, so this module cannot
  # send exclusion filters yet (see README, "Tag mutability with exclusions").
  lifecycle {
    precondition {
      condition     = length(each.value.image_tag_mutability_exclusion_filters) == 0
      error_message = "Template ${each.key}: this module does not send image_tag_mutability_exclusion_filters yet (its code must validate with AWS provider 5.100, which lacks the block). With provider >= 6.8, add the dynamic block from the README to aws_ecr_repository_creation_template.this and remove this precondition."
    }
  }
}

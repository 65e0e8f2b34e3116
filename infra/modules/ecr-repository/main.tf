data "aws_partition" "current" {}

module "lifecycle_policy" {
  # The policy JSON from the simple inputs; the same generator as the registry
  # module's repository creation templates.
  source = "../lifecycle-policy"
  rules  = var.lifecycle_rules
}

locals {
  lifecycle_policy = var.lifecycle_policy_json != null ? var.lifecycle_policy_json : module.lifecycle_policy.json

  pull_actions = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
  ]
  push_actions = [
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
  ]
  has_repository_policy = length(var.pull_account_ids) > 0 || length(var.push_principal_arns) > 0
}

resource "aws_ecr_repository" "this" {
  #checkov:skip=CKV_AWS_136:AES256 (ECR-managed keys) is the default; set encryption_type = "KMS" for customer-managed keys.
  #checkov:skip=CKV_AWS_51:Immutability is the default; MUTABLE stays available for repositories that need moving tags.
  #checkov:skip=CKV_AWS_163:Scan on push is the default (scan_on_push = true); checkov cannot resolve it through the for_each call site.
  name                 = var.name
  image_tag_mutability = var.image_tag_mutability
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }

  encryption_configuration {
    encryption_type = var.encryption_type
    kms_key         = var.encryption_type == "KMS" ? var.kms_key_arn : null
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.lifecycle_policy_json == null || var.lifecycle_rules == null
      error_message = "Set lifecycle_policy_json or lifecycle_rules, not both."
    }
    precondition {
      condition     = var.kms_key_arn == null || var.encryption_type == "KMS"
      error_message = "kms_key_arn is only used with encryption_type = \"KMS\"."
    }
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  count = local.lifecycle_policy == null ? 0 : 1

  repository = aws_ecr_repository.this.name
  policy     = local.lifecycle_policy

  lifecycle {
    precondition {
      condition     = length(local.lifecycle_policy) >= 100 && length(local.lifecycle_policy) <= 30720
      error_message = "The lifecycle policy must be 100 to 30,720 characters long (ECR's limits)."
    }
  }
}

data "aws_iam_policy_document" "repository" {
  count = local.has_repository_policy ? 1 : 0

  dynamic "statement" {
    for_each = length(var.pull_account_ids) > 0 ? [1] : []
    content {
      sid     = "CrossAccountPull"
      actions = local.pull_actions
      principals {
        type        = "AWS"
        identifiers = [for id in var.pull_account_ids : "arn:${data.aws_partition.current.partition}:iam::${id}:root"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.push_principal_arns) > 0 ? [1] : []
    content {
      sid     = "Push"
      actions = concat(local.pull_actions, local.push_actions)
      principals {
        type        = "AWS"
        identifiers = var.push_principal_arns
      }
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = local.has_repository_policy ? 1 : 0

  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.repository[0].json
}

variable "name" {
  description = "Repository name: 2-256 characters, lowercase letters, digits and . _ - / (namespaces like team-a/app)."
  type        = string

  validation {
    condition     = length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be 2 to 256 characters long."
  }

  validation {
    # ECR's own pattern for repository names.
    condition     = can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", var.name))
    error_message = "name must match ECR's pattern: lowercase alphanumeric components separated by '.', '_' or '-', joined by '/'."
  }
}

variable "image_tag_mutability" {
  description = "MUTABLE or IMMUTABLE. (IMMUTABLE_WITH_EXCLUSION / MUTABLE_WITH_EXCLUSION need AWS provider >= 6.8 and are not offered.)"
  type        = string
  default     = "IMMUTABLE"

  validation {
    condition     = contains(["MUTABLE", "IMMUTABLE"], var.image_tag_mutability)
    error_message = "image_tag_mutability must be MUTABLE or IMMUTABLE (the *_WITH_EXCLUSION modes need AWS provider >= 6.8)."
  }
}

variable "scan_on_push" {
  description = "Run a basic scan on every push (ignored by ECR when the registry uses enhanced scanning)."
  type        = bool
  default     = true
}

variable "encryption_type" {
  description = "AES256 (ECR-managed keys) or KMS."
  type        = string
  default     = "AES256"

  validation {
    condition     = contains(["AES256", "KMS"], var.encryption_type)
    error_message = "encryption_type must be AES256 or KMS."
  }
}

variable "kms_key_arn" {
  description = "KMS key for encryption_type = KMS; null uses the AWS-managed aws/ecr key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "force_delete" {
  description = "Let terraform destroy delete the repository even when it still holds images."
  type        = bool
  default     = false
}

variable "lifecycle_policy_json" {
  description = "A complete ECR lifecycle policy document (JSON text). Mutually exclusive with lifecycle_rules."
  type        = string
  default     = null

  validation {
    condition     = var.lifecycle_policy_json == null || can(jsondecode(var.lifecycle_policy_json).rules[0])
    error_message = "lifecycle_policy_json must be a JSON object with a non-empty \"rules\" list."
  }

  validation {
    # ECR accepts policy text of 100 to 30,720 characters.
    condition     = var.lifecycle_policy_json == null || (length(coalesce(var.lifecycle_policy_json, "-")) >= 100 && length(coalesce(var.lifecycle_policy_json, "-")) <= 30720)
    error_message = "lifecycle_policy_json must be 100 to 30,720 characters long (ECR's limits)."
  }
}

variable "lifecycle_rules" {
  description = <<-EOT
    Simple lifecycle inputs, turned into a valid ECR policy (see README):
    - keep_tagged: for each entry, keep the newest `keep` images whose tags match
      `tag_prefixes` or `tag_patterns` (exactly one of them) and expire the older ones;
    - expire_untagged_after_days: expire untagged images this many days after push;
    - keep_any: keep the newest N images of any kind and expire the rest (always the last rule).
    Mutually exclusive with lifecycle_policy_json.
  EOT
  type = object({
    keep_tagged = optional(list(object({
      tag_prefixes = optional(list(string))
      tag_patterns = optional(list(string))
      keep         = number
      description  = optional(string)
    })), [])
    expire_untagged_after_days = optional(number)
    keep_any                   = optional(number)
  })
  default = null

  validation {
    condition = var.lifecycle_rules == null || alltrue([
      for rule in try(var.lifecycle_rules.keep_tagged, []) :
      (length(coalesce(rule.tag_prefixes, [])) > 0) != (length(coalesce(rule.tag_patterns, [])) > 0)
    ])
    error_message = "Each keep_tagged entry needs exactly one of a non-empty tag_prefixes or tag_patterns (ECR forbids both in one rule)."
  }

  validation {
    condition = var.lifecycle_rules == null || alltrue([
      for rule in try(var.lifecycle_rules.keep_tagged, []) : rule.keep >= 1 && floor(rule.keep) == rule.keep
    ])
    error_message = "keep_tagged[*].keep is ECR's countNumber: a positive integer."
  }

  validation {
    condition = var.lifecycle_rules == null || alltrue(flatten([
      for rule in try(var.lifecycle_rules.keep_tagged, []) : [
        for pattern in concat(coalesce(rule.tag_prefixes, []), coalesce(rule.tag_patterns, [])) :
        length(pattern) >= 1 && length(pattern) <= 300 && can(regex("^[a-zA-Z0-9._*-]+$", pattern))
      ]
    ]))
    error_message = "Tag prefixes and patterns must be 1-300 characters of letters, digits, '.', '_', '-' (and '*' in patterns)."
  }

  validation {
    condition = var.lifecycle_rules == null || alltrue(flatten([
      for rule in try(var.lifecycle_rules.keep_tagged, []) : [
        for pattern in coalesce(rule.tag_patterns, []) : length(regexall("\\*", pattern)) <= 4
      ]
    ]))
    error_message = "A tag pattern may contain at most 4 '*' wildcards."
  }

  validation {
    condition = var.lifecycle_rules == null || alltrue(flatten([
      for rule in try(var.lifecycle_rules.keep_tagged, []) : [
        for prefix in coalesce(rule.tag_prefixes, []) : length(regexall("\\*", prefix)) == 0
      ]
    ]))
    error_message = "tag_prefixes are plain prefixes: use tag_patterns for '*' wildcards."
  }

  validation {
    # ECR: the tag prefix (and pattern) sets of the rules must be unique.
    condition = var.lifecycle_rules == null || length(distinct([
      for rule in try(var.lifecycle_rules.keep_tagged, []) :
      jsonencode([sort(coalesce(rule.tag_prefixes, [])), sort(coalesce(rule.tag_patterns, []))])
      ])) == length(try(var.lifecycle_rules.keep_tagged, [])
    )
    error_message = "Two keep_tagged entries select the same tag prefixes/patterns; ECR requires unique sets."
  }

  validation {
    condition = var.lifecycle_rules == null || (
      try(var.lifecycle_rules.expire_untagged_after_days, null) == null ||
      try(var.lifecycle_rules.expire_untagged_after_days >= 1 && floor(var.lifecycle_rules.expire_untagged_after_days) == var.lifecycle_rules.expire_untagged_after_days, false)
    )
    error_message = "expire_untagged_after_days is ECR's countNumber: a positive integer."
  }

  validation {
    condition = var.lifecycle_rules == null || (
      try(var.lifecycle_rules.keep_any, null) == null ||
      try(var.lifecycle_rules.keep_any >= 1 && floor(var.lifecycle_rules.keep_any) == var.lifecycle_rules.keep_any, false)
    )
    error_message = "keep_any is ECR's countNumber: a positive integer."
  }

  validation {
    condition = var.lifecycle_rules == null || (
      length(try(var.lifecycle_rules.keep_tagged, [])) > 0 ||
      try(var.lifecycle_rules.expire_untagged_after_days, null) != null ||
      try(var.lifecycle_rules.keep_any, null) != null
    )
    error_message = "lifecycle_rules needs at least one of keep_tagged, expire_untagged_after_days or keep_any (use null for no policy)."
  }

  validation {
    # ECR allows at most 50 rules; the untagged and `any` rules take up to two of them.
    condition     = var.lifecycle_rules == null || length(try(var.lifecycle_rules.keep_tagged, [])) <= 48
    error_message = "At most 48 keep_tagged entries (ECR allows 50 rules per policy)."
  }
}

variable "pull_account_ids" {
  description = "AWS accounts allowed to pull (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.pull_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "pull_account_ids must be 12-digit AWS account IDs."
  }
}

variable "push_principal_arns" {
  description = "IAM principals (roles, users, account roots) allowed to push and pull."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.push_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+)$", arn))])
    error_message = "push_principal_arns must be IAM role, user or account root ARNs."
  }
}

variable "tags" {
  description = "Tags for the repository."
  type        = map(string)
  default     = {}
}

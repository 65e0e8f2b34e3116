variable "replication_rules" {
  description = <<-EOT
    Registry replication rules (aws_ecr_replication_configuration); empty = no replication
    configuration managed. Each rule: destinations (Region + registry_id; registry_id null =
    this account, i.e. cross-Region; another account ID = cross-account, which needs a
    registry policy in the destination) and repository_prefixes (PREFIX_MATCH filters;
    empty = every repository).
  EOT
  type = list(object({
    destinations = list(object({
      region      = string
      registry_id = optional(string)
    }))
    repository_prefixes = optional(list(string), [])
  }))
  default = []

  validation {
    # ECR API ReplicationConfiguration.rules and provider 5.100 (max_items = 10).
    condition     = length(var.replication_rules) <= 10
    error_message = "At most 10 replication rules (ECR's limit)."
  }

  validation {
    # Provider 5.100 requires 1-25 destinations per rule (CloudFormation: 1-25).
    condition     = alltrue([for rule in var.replication_rules : length(rule.destinations) >= 1 && length(rule.destinations) <= 25])
    error_message = "Each replication rule needs 1 to 25 destinations."
  }

  validation {
    # ECR API ReplicationRule.repositoryFilters: at most 100.
    condition     = alltrue([for rule in var.replication_rules : length(rule.repository_prefixes) <= 100])
    error_message = "At most 100 repository_prefixes per replication rule (ECR's limit)."
  }

  validation {
    # ECR API RepositoryFilter.filter: 2-256 characters and this pattern.
    condition = alltrue(flatten([
      for rule in var.replication_rules : [
        for prefix in rule.repository_prefixes :
        length(prefix) >= 2 && length(prefix) <= 256 && can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$", prefix))
      ]
    ]))
    error_message = "repository_prefixes must be 2-256 characters matching ECR's filter pattern (lowercase letters, digits, '.', '_', '-', '/')."
  }

  validation {
    condition = alltrue(flatten([
      for rule in var.replication_rules : [
        for destination in rule.destinations :
        can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", destination.region)) && (destination.registry_id == null || can(regex("^[0-9]{12}$", coalesce(destination.registry_id, "-"))))
      ]
    ]))
    error_message = "Destinations need a Region name (e.g. eu-west-1) and, when set, a 12-digit registry_id (account ID)."
  }

  validation {
    condition = alltrue([
      for rule in var.replication_rules :
      length(distinct([for d in rule.destinations : "${d.region}/${coalesce(d.registry_id, "self")}"])) == length(rule.destinations)
    ])
    error_message = "A replication rule lists the same destination twice."
  }
}

variable "pull_through_cache_rules" {
  description = <<-EOT
    Pull-through cache rules (aws_ecr_pull_through_cache_rule), keyed by ECR repository prefix
    (2-30 characters, ECR's pattern, or ROOT). Each: upstream_registry_url, credential_arn
    (Secrets Manager secret named ecr-pullthroughcache/...; required by ECR for Docker Hub,
    GitHub, GitLab and Azure upstreams), custom_role_arn (ECR-to-ECR caching),
    upstream_repository_prefix.
  EOT
  type = map(object({
    upstream_registry_url      = string
    credential_arn             = optional(string)
    custom_role_arn            = optional(string)
    upstream_repository_prefix = optional(string)
  }))
  default = {}

  validation {
    # ECR API CreatePullThroughCacheRule.ecrRepositoryPrefix: 2-30 characters, this pattern.
    condition = alltrue([
      for prefix, _ in var.pull_through_cache_rules :
      length(prefix) >= 2 && length(prefix) <= 30 && can(regex("^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/?|ROOT)$", prefix))
    ])
    error_message = "Pull-through cache prefixes (the map keys) must be ROOT or 2-30 characters of lowercase components separated by '.', '_', '-' and joined by '/'."
  }

  validation {
    # Provider 5.100 checks upstream_repository_prefix the same way (2-30 characters).
    condition = alltrue([
      for rule in values(var.pull_through_cache_rules) :
      rule.upstream_repository_prefix == null || try(length(rule.upstream_repository_prefix) >= 2 && length(rule.upstream_repository_prefix) <= 30 && can(regex("^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/?|ROOT)$", rule.upstream_repository_prefix)), false)
    ])
    error_message = "upstream_repository_prefix must be ROOT or 2-30 characters of lowercase components separated by '.', '_', '-' and joined by '/'."
  }

  validation {
    # ECR API: credentialArn is 50-612 characters and names a secret ecr-pullthroughcache/...
    condition = alltrue([
      for rule in values(var.pull_through_cache_rules) :
      rule.credential_arn == null || try(length(rule.credential_arn) >= 50 && length(rule.credential_arn) <= 612 && can(regex("^arn:aws[a-z-]*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr-pullthroughcache/[a-zA-Z0-9/_+=.@-]+$", rule.credential_arn)), false)
    ])
    error_message = "credential_arn must be a Secrets Manager secret ARN (50-612 characters) whose name begins with ecr-pullthroughcache/."
  }

  validation {
    # ECR user guide: Docker Hub, GitHub Container Registry, GitLab Container Registry and
    # Azure Container Registry require a Secrets Manager secret.
    condition = alltrue([
      for rule in values(var.pull_through_cache_rules) :
      rule.credential_arn != null || !can(regex("^(registry-1\\.docker\\.io|ghcr\\.io|registry\\.gitlab\\.com|[a-z0-9-]+\\.azurecr\\.io)$", rule.upstream_registry_url))
    ])
    error_message = "Docker Hub (registry-1.docker.io), GitHub (ghcr.io), GitLab (registry.gitlab.com) and Azure (*.azurecr.io) upstreams need credential_arn (ECR requires a Secrets Manager secret)."
  }

  validation {
    condition = alltrue([
      for rule in values(var.pull_through_cache_rules) :
      rule.custom_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(rule.custom_role_arn, "-")))
    ])
    error_message = "custom_role_arn must be an IAM role ARN."
  }
}

variable "repository_creation_templates" {
  description = <<-EOT
    Repository creation templates (aws_ecr_repository_creation_template), keyed by prefix (ROOT
    or a repository-name prefix). Settings for the repositories ECR creates itself (pull-through
    cache, replication): applied_for, image_tag_mutability (default IMMUTABLE), exclusion
    filters (need provider >= 6.8, see provider_supports_tag_mutability_exclusions),
    encryption_type / kms_key_arn, repository_policy_json, resource_tags, lifecycle_rules (same
    shape as modules/ecr-repository), description, custom_role_arn.
  EOT
  type = map(object({
    applied_for                            = optional(list(string), ["PULL_THROUGH_CACHE", "REPLICATION"])
    description                            = optional(string)
    image_tag_mutability                   = optional(string, "IMMUTABLE")
    image_tag_mutability_exclusion_filters = optional(list(string), [])
    encryption_type                        = optional(string, "AES256")
    kms_key_arn                            = optional(string)
    repository_policy_json                 = optional(string)
    resource_tags                          = optional(map(string), {})
    custom_role_arn                        = optional(string)
    lifecycle_rules = optional(object({
      keep_tagged = optional(list(object({
        tag_prefixes = optional(list(string))
        tag_patterns = optional(list(string))
        keep         = number
        description  = optional(string)
      })), [])
      expire_untagged_after_days = optional(number)
      keep_any                   = optional(number)
    }))
  }))
  default = {}

  validation {
    # Provider 5.100: 2-256 characters. Module: ROOT or a prefix a repository name can have
    # (ECR's repository-name pattern, optional trailing '/'); anything else would match nothing.
    condition = alltrue([
      for prefix, _ in var.repository_creation_templates :
      length(prefix) >= 2 && length(prefix) <= 256 && can(regex("^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/?|ROOT)$", prefix))
    ])
    error_message = "Template prefixes (the map keys) must be ROOT or 2-256 characters of lowercase repository-name components joined by '/'."
  }

  validation {
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      length(template.applied_for) > 0 && alltrue([for use in template.applied_for : contains(["PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH"], use)])
    ])
    error_message = "applied_for must be a non-empty list of PULL_THROUGH_CACHE, REPLICATION, CREATE_ON_PUSH."
  }

  validation {
    condition = var.provider_supports_create_on_push || alltrue([
      for template in values(var.repository_creation_templates) : !contains(template.applied_for, "CREATE_ON_PUSH")
    ])
    error_message = "applied_for = CREATE_ON_PUSH is rejected by AWS provider 5.100 (it accepts only PULL_THROUGH_CACHE and REPLICATION). Upgrade the AWS provider to a release that accepts CREATE_ON_PUSH and set provider_supports_create_on_push = true."
  }

  validation {
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      contains(["MUTABLE", "IMMUTABLE", "MUTABLE_WITH_EXCLUSION", "IMMUTABLE_WITH_EXCLUSION"], template.image_tag_mutability)
    ])
    error_message = "image_tag_mutability must be MUTABLE, IMMUTABLE, MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION."
  }

  validation {
    condition = var.provider_supports_tag_mutability_exclusions || alltrue([
      for template in values(var.repository_creation_templates) :
      !endswith(template.image_tag_mutability, "_WITH_EXCLUSION") && length(template.image_tag_mutability_exclusion_filters) == 0
    ])
    error_message = "Tag mutability exclusions (IMMUTABLE_WITH_EXCLUSION / MUTABLE_WITH_EXCLUSION and image_tag_mutability_exclusion_filters) need AWS provider >= 6.8; with provider 5.100 they are rejected. Upgrade the AWS provider to >= 6.8, add the exclusion-filter block (README) and set provider_supports_tag_mutability_exclusions = true."
  }

  validation {
    # The filters belong to the *_WITH_EXCLUSION modes, which need at least one.
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      endswith(template.image_tag_mutability, "_WITH_EXCLUSION") == (length(template.image_tag_mutability_exclusion_filters) > 0)
    ])
    error_message = "image_tag_mutability_exclusion_filters are required with the *_WITH_EXCLUSION modes and allowed only with them."
  }

  validation {
    # ECR API ImageTagMutabilityExclusionFilter.filter: ^[0-9a-zA-Z._*-]{1,128}$; up to 5 filters.
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      length(template.image_tag_mutability_exclusion_filters) <= 5 && alltrue([
        for filter in template.image_tag_mutability_exclusion_filters : can(regex("^[0-9a-zA-Z._*-]{1,128}$", filter))
      ])
    ])
    error_message = "At most 5 image_tag_mutability_exclusion_filters, each matching ^[0-9a-zA-Z._*-]{1,128}$."
  }

  validation {
    # Provider 5.100 accepts these three encryption types for templates.
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      contains(["AES256", "KMS", "KMS_DSSE"], template.encryption_type) && (template.kms_key_arn == null || template.encryption_type != "AES256")
    ])
    error_message = "encryption_type must be AES256, KMS or KMS_DSSE; kms_key_arn only with KMS or KMS_DSSE."
  }

  validation {
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      template.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", coalesce(template.kms_key_arn, "-")))
    ])
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }

  validation {
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      template.repository_policy_json == null || can(jsondecode(template.repository_policy_json).Statement)
    ])
    error_message = "repository_policy_json must be a JSON policy document with a Statement."
  }

  validation {
    condition = alltrue([
      for template in values(var.repository_creation_templates) :
      template.custom_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(template.custom_role_arn, "-")))
    ])
    error_message = "custom_role_arn must be an IAM role ARN."
  }
}

variable "provider_supports_tag_mutability_exclusions" {
  description = "Set to true only with AWS provider >= 6.8 (and the exclusion-filter block added, see README). false (5.100): the *_WITH_EXCLUSION modes and exclusion filters are rejected."
  type        = bool
  default     = false
}

variable "provider_supports_create_on_push" {
  description = "Set to true only with an AWS provider release that accepts applied_for = CREATE_ON_PUSH (5.100 does not)."
  type        = bool
  default     = false
}

variable "replication_source_account_ids" {
  description = "Accounts allowed to replicate into this registry: a registry policy granting ecr:ReplicateImage and ecr:CreateRepository on this account's repositories in this Region. Empty = no registry policy managed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.replication_source_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "replication_source_account_ids must be 12-digit AWS account IDs."
  }

  validation {
    condition     = length(distinct(var.replication_source_account_ids)) == length(var.replication_source_account_ids)
    error_message = "replication_source_account_ids lists an account twice."
  }
}

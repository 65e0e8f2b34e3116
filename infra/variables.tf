variable "region" {
  description = "AWS Region of the registry and the janitor."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags applied to every resource (provider default_tags)."
  type        = map(string)
  default = {
    project = "ecr-janitor"
  }
}

variable "artifacts_dir" {
  description = "Folder with <function>/bootstrap.zip (cargo lambda build --release --output-format zip). null: ../target/lambda."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set the functions were built for: arm64 (cargo lambda build --arm64) or x86_64."
  type        = string
  default     = "arm64"
}

variable "repositories" {
  description = "Repositories to manage, by name. See modules/ecr-repository for the meaning of each field."
  type = map(object({
    image_tag_mutability = optional(string, "IMMUTABLE")
    scan_on_push         = optional(bool, true)
    force_delete         = optional(bool, false)
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
    pull_account_ids    = optional(list(string), [])
    push_principal_arns = optional(list(string), [])
  }))
  default = {
    "team-a/api" = {
      lifecycle_rules = {
        expire_untagged_after_days = 7
        keep_tagged                = [{ tag_patterns = ["v*.*.*"], keep = 50 }]
        keep_any                   = 500
      }
    }
    "team-a/worker" = {
      lifecycle_rules = {
        expire_untagged_after_days = 3
        keep_tagged                = [{ tag_prefixes = ["release-"], keep = 20 }, { tag_prefixes = ["sha-"], keep = 10 }]
      }
    }
    "legacy/billing" = {
      image_tag_mutability = "MUTABLE"
      lifecycle_rules      = { expire_untagged_after_days = 14 }
    }
  }
}

variable "cached_registries" {
  description = <<-EOT
    Upstream registries cached through ECR pull-through cache, keyed by ECR repository
    prefix: upstream_registry_url, credential_arn (Secrets Manager, required for Docker Hub,
    GHCR, GitLab), lifecycle_rules for the repositories ECR creates (shape of
    modules/ecr-repository). The janitor is granted those repositories; select them in
    janitor_config with an include glob "PREFIX/*".
  EOT
  type = map(object({
    upstream_registry_url = string
    credential_arn        = optional(string)
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
  default = {
    "ecr-public" = {
      upstream_registry_url = "public.ecr.aws"
      lifecycle_rules       = { expire_untagged_after_days = 7, keep_any = 50 }
    }
  }
}

variable "janitor_config" {
  description = "The janitor's configuration document (see docs/infra.md)."
  type        = any
  default = {
    sweeper = {
      mode            = "dry-run"
      fanOutThreshold = 20
      repositories = [
        {
          include        = ["team-a/*"]
          policy         = "native"
          mode           = "enforce"
          protectedTags  = ["prod-*", "release-*"]
          minimumAgeDays = 3
          safetyCap      = { maxImages = 500, maxFraction = 0.5 }
        },
        { include = ["legacy/*"], policy = "native" },
        # Repositories ECR created from the ecr-public pull-through cache: their lifecycle
        # policy comes from the creation template; the janitor previews it with in-use
        # protection.
        { include = ["ecr-public/*"], policy = "native" },
      ]
    }
    tagRules = {
      rules = [
        { repositories = ["team-a/*"], allowed = ["v*.*.*", "release-*", "sha-*"], forbidden = ["latest"], action = "report" },
      ]
    }
    scan = {
      minimumSeverity        = "HIGH"
      securityHub            = true
      importEnhancedFindings = false
      suppressions           = []
    }
  }
}

variable "schedule_expression" {
  description = "When the full sweep runs (EventBridge Scheduler expression)."
  type        = string
  default     = "cron(0 3 * * ? *)"
}

variable "enhanced_scanning" {
  description = "Registry scanning configuration (null: leave the registry's setting alone). See modules/janitor."
  type = object({
    scan_type          = optional(string, "ENHANCED")
    scan_frequency     = optional(string, "SCAN_ON_PUSH")
    repository_filters = optional(list(string), ["*"])
  })
  default = null
}

variable "alarm_topic_arn" {
  description = "SNS topic for the janitor's alarms (null: no actions)."
  type        = string
  default     = null
}

variable "config_bucket_require_tls" {
  description = "Deny non-TLS requests to the janitor's config bucket (the tests against moto, plain HTTP, turn it off)."
  type        = bool
  default     = true
}

variable "snapshot_bucket_require_tls" {
  description = "Deny non-TLS requests to the janitor's in-use snapshot bucket (exists with members; the tests against moto, plain HTTP, turn it off)."
  type        = bool
  default     = true
}

variable "members" {
  description = <<-EOF
    Member accounts the janitor looks after, in var.region: at most two, keyed member_a and
    member_b (each has its provider alias in members.tf). account_id; deploy_role_arn, the
    role Terraform assumes there (null: OrganizationAccountAccessRole); enforce (let the
    janitor delete and import findings there, default false); forward_events (default
    true). Empty: the single-account example.
  EOF
  type = map(object({
    account_id      = string
    deploy_role_arn = optional(string)
    enforce         = optional(bool, false)
    forward_events  = optional(bool, true)
  }))
  default = {}

  validation {
    condition     = length(setsubtract(keys(var.members), ["member_a", "member_b"])) == 0
    error_message = "members keys are member_a and member_b (one provider alias each in members.tf)."
  }

  validation {
    condition     = alltrue([for member in values(var.members) : can(regex("^[0-9]{12}$", member.account_id))])
    error_message = "members[*].account_id must be a 12-digit account ID."
  }

  validation {
    condition     = alltrue([for member in values(var.members) : member.deploy_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", member.deploy_role_arn))])
    error_message = "members[*].deploy_role_arn must be an IAM role ARN."
  }
}

variable "member_role_name" {
  description = "Name of the role the janitor assumes in each member (created there by modules/janitor-member)."
  type        = string
  default     = "ecr-janitor-member"
}

variable "member_external_id" {
  description = "External id the janitor presents when it assumes the member roles (null: none)."
  type        = string
  default     = null
}

variable "organization_id" {
  description = "AWS Organizations ID whose accounts may forward events to the janitor bus (null: only the members)."
  type        = string
  default     = null
}

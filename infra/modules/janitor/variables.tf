variable "name_prefix" {
  description = "Prefix of every resource name (functions, roles, bus, queues, alarms)."
  type        = string
  default     = "ecr-janitor"

  validation {
    # It also starts the config bucket's name (bucket_prefix: at most 37 characters, lowercase).
    condition     = can(regex("^[a-z][a-z0-9-]{0,27}$", var.name_prefix))
    error_message = "name_prefix must be 1-28 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "artifacts_dir" {
  description = "Folder holding ARTIFACTS_DIR/<function>/bootstrap.zip, as written by `cargo lambda build --release --output-format zip` (target/lambda)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the built functions: arm64 (build with --arm64) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "repository_arns" {
  description = "ARNs of the repositories the janitor may read and clean. Empty: every repository of this account and Region."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.repository_arns : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", arn))])
    error_message = "repository_arns must be ECR repository ARNs."
  }
}

variable "config" {
  description = "The janitor configuration document (protectedTags and sections sweeper, tagRules, scan; see docs/infra.md). Stored as JSON in the config bucket."
  type        = any
  default     = {}

  validation {
    condition     = can(keys(var.config)) && length(setsubtract(keys(var.config), ["protectedTags", "sweeper", "tagRules", "scan"])) == 0
    error_message = "config must be an object whose only keys are protectedTags, sweeper, tagRules and scan (the functions reject unknown fields)."
  }

  validation {
    condition = alltrue(concat(
      [contains(["dry-run", "enforce"], try(var.config.sweeper.mode, "dry-run"))],
      [for repository in try(var.config.sweeper.repositories, []) : contains(["dry-run", "enforce"], try(repository.mode, "dry-run"))],
    ))
    error_message = "sweeper.mode and sweeper.repositories[*].mode must be \"dry-run\" or \"enforce\"."
  }

  validation {
    condition = alltrue([
      for repository in try(var.config.sweeper.repositories, []) :
      try(repository.policy, "native") == "native" || can(repository.policy.rules[0])
    ])
    error_message = "sweeper.repositories[*].policy must be \"native\" or an ECR lifecycle policy object with a non-empty rules list."
  }

  validation {
    condition = alltrue([
      for rule in try(var.config.tagRules.rules, []) : contains(["report", "untag", "delete"], try(rule.action, "report"))
    ])
    error_message = "tagRules.rules[*].action must be \"report\", \"untag\" or \"delete\"."
  }

  validation {
    condition     = contains(["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"], try(var.config.scan.minimumSeverity, "HIGH"))
    error_message = "scan.minimumSeverity must be one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL."
  }
}

variable "config_bucket_require_tls" {
  description = "Attach a bucket policy that denies every request to the config bucket not made over TLS."
  type        = bool
  default     = true
}

variable "log_level" {
  description = "RUST_LOG of the functions (tracing filter), e.g. info or janitor=debug,info."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "schedule_expression" {
  description = "When the full sweep runs: an EventBridge Scheduler expression (cron(...), rate(...) or at(...))."
  type        = string
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...), rate(...) or at(...)."
  }
}

variable "schedule_timezone" {
  description = "Time zone of schedule_expression."
  type        = string
  default     = "UTC"
}

variable "sweeper_timeout_seconds" {
  description = "Timeout of the lifecycle-sweeper (a full sweep of a large registry takes minutes)."
  type        = number
  default     = 900

  validation {
    condition     = var.sweeper_timeout_seconds >= 1 && var.sweeper_timeout_seconds <= 900
    error_message = "Lambda timeouts are 1 to 900 seconds."
  }
}

variable "memory_size_mb" {
  description = "Memory of each function, in MB."
  type        = map(number)
  default = {
    "tag-enforcer"      = 128
    "scan-forwarder"    = 128
    "lifecycle-sweeper" = 512
  }

  validation {
    condition     = alltrue([for key, value in var.memory_size_mb : contains(["tag-enforcer", "scan-forwarder", "lifecycle-sweeper"], key) && value >= 128 && value <= 10240])
    error_message = "memory_size_mb keys are function names (tag-enforcer, scan-forwarder, lifecycle-sweeper); values are 128 to 10240."
  }
}

variable "sweeper_reserved_concurrency" {
  description = "Reserved concurrency of the lifecycle-sweeper: bounds parallel repository sweeps (and ECR API load) when sweeps fan out."
  type        = number
  default     = 5
}

variable "event_max_age_seconds" {
  description = "How long EventBridge, Scheduler and Lambda keep retrying an event before it goes to a dead-letter queue."
  type        = number
  default     = 3600

  validation {
    condition     = var.event_max_age_seconds >= 60 && var.event_max_age_seconds <= 21600
    error_message = "event_max_age_seconds must be 60 to 21600 (Lambda's async limit)."
  }
}

variable "event_retry_attempts" {
  description = "Retries of an event delivery (EventBridge rule targets and Scheduler: 0-185) before it goes to the DLQ."
  type        = number
  default     = 8

  validation {
    condition     = var.event_retry_attempts >= 0 && var.event_retry_attempts <= 185
    error_message = "event_retry_attempts must be 0 to 185."
  }
}

variable "function_retry_attempts" {
  description = "Retries of a failed asynchronous invocation by Lambda itself (0-2) before it goes to the functions DLQ."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.function_retry_attempts)
    error_message = "function_retry_attempts must be 0, 1 or 2."
  }
}

variable "dlq_retention_seconds" {
  description = "How long dead-lettered events stay in the queues (SQS allows up to 14 days)."
  type        = number
  default     = 1209600
}

variable "alarm_topic_arn" {
  description = "SNS topic notified by the alarms (function errors, DLQ depth). null: alarms without actions."
  type        = string
  default     = null
}

variable "enhanced_scanning" {
  description = <<-EOT
    Registry-wide scanning configuration (aws_ecr_registry_scanning_configuration). null leaves the
    registry's setting alone. ENHANCED turns on Amazon Inspector for the repositories matching the
    filters (wildcards); it is a registry-wide setting, so only one configuration may manage it.
  EOT
  type = object({
    scan_type          = optional(string, "ENHANCED")
    scan_frequency     = optional(string, "SCAN_ON_PUSH")
    repository_filters = optional(list(string), ["*"])
  })
  default = null

  validation {
    condition     = var.enhanced_scanning == null || contains(["BASIC", "ENHANCED"], try(var.enhanced_scanning.scan_type, ""))
    error_message = "enhanced_scanning.scan_type must be BASIC or ENHANCED."
  }

  validation {
    condition     = var.enhanced_scanning == null || contains(["SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"], try(var.enhanced_scanning.scan_frequency, ""))
    error_message = "enhanced_scanning.scan_frequency must be SCAN_ON_PUSH, CONTINUOUS_SCAN or MANUAL."
  }
}

variable "enable_security_hub" {
  description = "Enable AWS Security Hub in this account and Region (leave off when it is already managed elsewhere)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "rules" {
  description = <<-EOT
    Simple lifecycle inputs, turned into a valid ECR policy (see README):
    - keep_tagged: for each entry, keep the newest `keep` images whose tags match
      `tag_prefixes` or `tag_patterns` (exactly one of them) and expire the older ones;
    - expire_untagged_after_days: expire untagged images this many days after push;
    - keep_any: keep the newest N images of any kind and expire the rest (always the last rule).
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
    condition = var.rules == null || alltrue([
      for rule in try(var.rules.keep_tagged, []) :
      (length(coalesce(rule.tag_prefixes, [])) > 0) != (length(coalesce(rule.tag_patterns, [])) > 0)
    ])
    error_message = "Each keep_tagged entry needs exactly one of a non-empty tag_prefixes or tag_patterns (ECR forbids both in one rule)."
  }

  validation {
    condition = var.rules == null || alltrue([
      for rule in try(var.rules.keep_tagged, []) : rule.keep >= 1 && floor(rule.keep) == rule.keep
    ])
    error_message = "keep_tagged[*].keep is ECR's countNumber: a positive integer."
  }

  validation {
    condition = var.rules == null || alltrue(flatten([
      for rule in try(var.rules.keep_tagged, []) : [
        for pattern in concat(coalesce(rule.tag_prefixes, []), coalesce(rule.tag_patterns, [])) :
        length(pattern) >= 1 && length(pattern) <= 300 && can(regex("^[a-zA-Z0-9._*-]+$", pattern))
      ]
    ]))
    error_message = "Tag prefixes and patterns must be 1-300 characters of letters, digits, '.', '_', '-' (and '*' in patterns)."
  }

  validation {
    condition = var.rules == null || alltrue(flatten([
      for rule in try(var.rules.keep_tagged, []) : [
        for pattern in coalesce(rule.tag_patterns, []) : length(regexall("\\*", pattern)) <= 4
      ]
    ]))
    error_message = "A tag pattern may contain at most 4 '*' wildcards."
  }

  validation {
    condition = var.rules == null || alltrue(flatten([
      for rule in try(var.rules.keep_tagged, []) : [
        for prefix in coalesce(rule.tag_prefixes, []) : length(regexall("\\*", prefix)) == 0
      ]
    ]))
    error_message = "tag_prefixes are plain prefixes: use tag_patterns for '*' wildcards."
  }

  validation {
    # ECR: the tag prefix (and pattern) sets of the rules must be unique.
    condition = var.rules == null || length(distinct([
      for rule in try(var.rules.keep_tagged, []) :
      jsonencode([sort(coalesce(rule.tag_prefixes, [])), sort(coalesce(rule.tag_patterns, []))])
      ])) == length(try(var.rules.keep_tagged, [])
    )
    error_message = "Two keep_tagged entries select the same tag prefixes/patterns; ECR requires unique sets."
  }

  validation {
    condition = var.rules == null || (
      try(var.rules.expire_untagged_after_days, null) == null ||
      try(var.rules.expire_untagged_after_days >= 1 && floor(var.rules.expire_untagged_after_days) == var.rules.expire_untagged_after_days, false)
    )
    error_message = "expire_untagged_after_days is ECR's countNumber: a positive integer."
  }

  validation {
    condition = var.rules == null || (
      try(var.rules.keep_any, null) == null ||
      try(var.rules.keep_any >= 1 && floor(var.rules.keep_any) == var.rules.keep_any, false)
    )
    error_message = "keep_any is ECR's countNumber: a positive integer."
  }

  validation {
    condition = var.rules == null || (
      length(try(var.rules.keep_tagged, [])) > 0 ||
      try(var.rules.expire_untagged_after_days, null) != null ||
      try(var.rules.keep_any, null) != null
    )
    error_message = "rules needs at least one of keep_tagged, expire_untagged_after_days or keep_any (use null for no policy)."
  }

  validation {
    # ECR allows at most 50 rules; the untagged and `any` rules take up to two of them.
    condition     = var.rules == null || length(try(var.rules.keep_tagged, [])) <= 48
    error_message = "At most 48 keep_tagged entries (ECR allows 50 rules per policy)."
  }
}

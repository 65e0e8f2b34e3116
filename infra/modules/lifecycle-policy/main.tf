locals {
  keep_tagged   = try(var.rules.keep_tagged, [])
  untagged_days = try(var.rules.expire_untagged_after_days, null)
  keep_any      = try(var.rules.keep_any, null)

  # Priorities: untagged rule first (1), tag rules in the order given (10, 11, ...),
  # the `any` rule last (100): ECR requires the `any` rule to have the highest priority,
  # and priorities to be unique. At most 48 tag rules keeps them below 100.
  untagged_rules = local.untagged_days == null ? [] : [{
    rulePriority = 1
    description  = "Expire untagged images ${local.untagged_days} days after push"
    selection = {
      tagStatus   = "untagged"
      countType   = "sinceImagePushed"
      countUnit   = "days"
      countNumber = local.untagged_days
    }
    action = { type = "expire" }
  }]

  tagged_rules = [
    for index, rule in local.keep_tagged : {
      rulePriority = 10 + index
      description = coalesce(rule.description, format(
        "Keep the newest %d images tagged %s",
        rule.keep,
        join(", ", length(coalesce(rule.tag_prefixes, [])) > 0 ? [for p in rule.tag_prefixes : "${p}*"] : rule.tag_patterns),
      ))
      # Exactly one of the two lists (checked in variables.tf); a map comprehension
      # drops the empty one, since conditional objects of different shapes don't unify.
      selection = merge(
        { tagStatus = "tagged" },
        { for key, list in { tagPrefixList = coalesce(rule.tag_prefixes, []), tagPatternList = coalesce(rule.tag_patterns, []) } : key => list if length(list) > 0 },
        { countType = "imageCountMoreThan", countNumber = rule.keep },
      )
      action = { type = "expire" }
    }
  ]

  any_rules = local.keep_any == null ? [] : [{
    rulePriority = 100
    description  = "Keep the newest ${local.keep_any} images of any kind"
    selection = {
      tagStatus   = "any"
      countType   = "imageCountMoreThan"
      countNumber = local.keep_any
    }
    action = { type = "expire" }
  }]

  generated_rules = concat(local.untagged_rules, local.tagged_rules, local.any_rules)
  policy          = length(local.generated_rules) > 0 ? jsonencode({ rules = local.generated_rules }) : null
}

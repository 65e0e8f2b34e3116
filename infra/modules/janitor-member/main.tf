data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  role_regions = length(var.role_regions) > 0 ? var.role_regions : [local.region]

  # "arn:PARTITION:SERVICE:REGION:ACCOUNT:" of every Region the role may act in.
  arn_prefixes = {
    for service in ["ecr", "ecs", "lambda", "events", "scheduler", "securityhub"] :
    service => [for region in local.role_regions : "arn:${local.partition}:${service}:${region}:${local.account}:"]
  }

  repository_arns = length(var.repository_arns) > 0 ? var.repository_arns : [for prefix in local.arn_prefixes.ecr : "${prefix}repository/*"]
  role_arn        = "arn:${local.partition}:iam::${local.account}:role/${var.role_name}"

  # What the hub's functions handle from this account, with the patterns of the hub's own
  # default-bus rules, read from the hub module's file: only events a hub function acts
  # on leave the account. Keys match the hub's rule keys.
  hub_event_patterns = jsondecode(file("${path.module}/../janitor/aws-event-patterns.json"))
  forwarded_event_descriptions = {
    "image-push"        = "ECR image pushes -> the hub's janitor bus (tag-enforcer)"
    "basic-scan"        = "ECR basic scan completions -> the hub's janitor bus (scan-forwarder)"
    "inspector-finding" = "Inspector findings on ECR images -> the hub's janitor bus (scan-forwarder)"
  }
  forwarded_events = {
    for key in local.hub_event_patterns.forwardedFromMembers : key => {
      description = local.forwarded_event_descriptions[key]
      pattern     = local.hub_event_patterns.patterns[key]
    }
  }
  forwarding_rules = { for key, rule in local.forwarded_events : key => rule if var.forward_events }
}

# ---------------------------------------------------------------- the role the hub assumes

data "aws_iam_policy_document" "trust" {
  count = var.create_role ? 1 : 0

  statement {
    sid     = "HubFunctions"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.hub_role_arns
    }
    dynamic "condition" {
      for_each = var.external_id == null ? [] : [var.external_id]
      content {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [condition.value]
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(var.hub_role_arns) > 0
      error_message = "hub_role_arns must name the hub's function roles when create_role = true."
    }
  }
}

resource "aws_iam_role" "member" {
  count = var.create_role ? 1 : 0

  name               = var.role_name
  description        = "Assumed by the ecr-janitor hub's functions to read (and, when enforcing, clean) this account's ECR"
  assume_role_policy = data.aws_iam_policy_document.trust[0].json
  tags               = var.tags
}

# Exactly the calls the hub's functions make in a member: the sweeper's registry reads and
# in-use sources, the tag enforcer's image read, the scan forwarder's findings read. The
# statements mirror the hub's own roles (modules/janitor), spread over role_regions.
data "aws_iam_policy_document" "member" {
  #checkov:skip=CKV_AWS_356:ECS, Lambda, EventBridge, Scheduler and Batch list calls and ecs:DescribeTaskDefinition support no resource-level permissions; see the comments below.
  #checkov:skip=CKV_AWS_111:The only write actions (enforce = true) are scoped to the repositories and to this account's Security Hub product.
  count = var.create_role ? 1 : 0

  statement {
    # Listing happens without names, which IAM authorises against every repository ARN.
    sid       = "ListRepositories"
    actions   = ["ecr:DescribeRepositories"]
    resources = [for prefix in local.arn_prefixes.ecr : "${prefix}repository/*"]
  }
  statement {
    sid = "ReadImages"
    actions = [
      "ecr:DescribeImages",
      "ecr:BatchGetImage",
      "ecr:GetLifecyclePolicy",
      "ecr:DescribeImageScanFindings",
    ]
    resources = local.repository_arns
  }
  statement {
    # "*" is required: ecs:ListClusters has no resource-level permissions, and
    # ecs:ListTasks is authorised per container instance, unknown in advance.
    sid       = "FindImagesInUseByEcs"
    actions   = ["ecs:ListClusters", "ecs:ListTasks"]
    resources = ["*"]
  }
  statement {
    sid       = "DescribeEcsTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [for prefix in local.arn_prefixes.ecs : "${prefix}task/*"]
  }
  statement {
    # "*" is required: these ECS list calls and DescribeTaskDefinition have no
    # resource-level permissions.
    sid = "FindImagesOfEcsServicesAndTaskDefinitions"
    actions = [
      "ecs:ListServices",
      "ecs:ListTaskDefinitionFamilies",
      "ecs:ListTaskDefinitions",
      "ecs:DescribeTaskDefinition",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "DescribeEcsServices"
    actions   = ["ecs:DescribeServices"]
    resources = [for prefix in local.arn_prefixes.ecs : "${prefix}service/*"]
  }
  statement {
    # "*" is required: lambda:ListFunctions has no resource-level permissions.
    sid       = "ListLambdaFunctions"
    actions   = ["lambda:ListFunctions"]
    resources = ["*"]
  }
  statement {
    sid       = "FindImagesInUseByLambda"
    actions   = ["lambda:GetFunction", "lambda:ListAliases"]
    resources = [for prefix in local.arn_prefixes.lambda : "${prefix}function:*"]
  }
  statement {
    # "*" is required: events:ListEventBuses, events:ListRules, scheduler:ListSchedules
    # and batch:DescribeJobDefinitions have no resource-level permissions.
    sid = "ListSchedulesAndJobDefinitions"
    actions = [
      "events:ListEventBuses",
      "events:ListRules",
      "scheduler:ListSchedules",
      "batch:DescribeJobDefinitions",
    ]
    resources = ["*"]
  }
  statement {
    sid     = "ReadRuleTargets"
    actions = ["events:ListTargetsByRule"]
    resources = flatten([
      for prefix in local.arn_prefixes.events : ["${prefix}rule/*", "${prefix}rule/*/*"]
    ])
  }
  statement {
    sid       = "ReadSchedules"
    actions   = ["scheduler:GetSchedule"]
    resources = [for prefix in local.arn_prefixes.scheduler : "${prefix}schedule/*/*"]
  }

  dynamic "statement" {
    # The sweeper deletes and archives images, the tag enforcer untags them.
    for_each = var.enforce ? [1] : []
    content {
      sid       = "CleanImages"
      actions   = ["ecr:BatchDeleteImage", "ecr:UpdateImageStorageClass"]
      resources = local.repository_arns
    }
  }
  dynamic "statement" {
    # Findings are imported into the account (and Region) the image lives in.
    for_each = var.enforce ? [1] : []
    content {
      sid       = "ImportFindings"
      actions   = ["securityhub:BatchImportFindings"]
      resources = [for prefix in local.arn_prefixes.securityhub : "${prefix}product/${local.account}/default"]
    }
  }
}

resource "aws_iam_role_policy" "member" {
  count = var.create_role ? 1 : 0

  name   = var.role_name
  role   = aws_iam_role.member[0].id
  policy = data.aws_iam_policy_document.member[0].json
}

# ---------------------------------------------------------------- forwarding to the hub

resource "aws_cloudwatch_event_rule" "forward" {
  for_each = local.forwarding_rules

  name           = "${var.name_prefix}-forward-${each.key}"
  description    = each.value.description
  event_bus_name = "default"
  event_pattern  = jsonencode(each.value.pattern)
  tags           = var.tags
}

# EventBridge delivers to a bus in another account (or Region) with a role of the sending
# account; the hub's bus policy then admits this account.
data "aws_iam_policy_document" "forwarder_trust" {
  count = var.forward_events ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.forward : rule.arn]
    }
  }
}

resource "aws_iam_role" "forwarder" {
  count = var.forward_events ? 1 : 0

  # IAM is global and this module runs once per Region: the Region keeps the names apart.
  name               = "${var.role_name}-events-${local.region}"
  description        = "EventBridge forwards ECR and Inspector events of ${local.region} to the ecr-janitor hub's bus"
  assume_role_policy = data.aws_iam_policy_document.forwarder_trust[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "forwarder" {
  count = var.forward_events ? 1 : 0

  statement {
    sid       = "PutEventsOnHubBus"
    actions   = ["events:PutEvents"]
    resources = [var.hub_bus_arn]
  }

  lifecycle {
    precondition {
      condition     = var.hub_bus_arn != null
      error_message = "hub_bus_arn must be set when forward_events = true."
    }
  }
}

resource "aws_iam_role_policy" "forwarder" {
  count = var.forward_events ? 1 : 0

  name   = "${var.role_name}-events-${local.region}"
  role   = aws_iam_role.forwarder[0].id
  policy = data.aws_iam_policy_document.forwarder[0].json
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each = local.forwarding_rules

  rule           = aws_cloudwatch_event_rule.forward[each.key].name
  event_bus_name = "default"
  target_id      = "ecr-janitor-hub"
  arn            = var.hub_bus_arn
  role_arn       = aws_iam_role.forwarder[0].arn

  depends_on = [aws_iam_role_policy.forwarder]
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  # No list given: every repository of this account and Region (still not "*").
  repository_arns = length(var.repository_arns) > 0 ? var.repository_arns : ["arn:${local.partition}:ecr:${local.region}:${local.account}:repository/*"]

  functions = {
    "tag-enforcer" = {
      description          = "Enforces tag rules on every image push"
      timeout              = 30
      reserved_concurrency = -1
    }
    "scan-forwarder" = {
      description          = "Forwards ECR/Inspector scan results to Security Hub and the janitor bus"
      timeout              = 60
      reserved_concurrency = -1
    }
    "lifecycle-sweeper" = {
      description          = "Applies lifecycle policies with protections (scheduled and per repository)"
      timeout              = var.sweeper_timeout_seconds
      reserved_concurrency = var.sweeper_reserved_concurrency
    }
  }

  config_key    = "janitor-config.json"
  config_s3_uri = "s3://${aws_s3_bucket.config.id}/${local.config_key}"

  # AWS events into the functions, on the default bus. The patterns, and which of them
  # members forward to the janitor bus, are one file that modules/janitor-member reads too.
  aws_event_patterns = jsondecode(file("${path.module}/aws-event-patterns.json"))
  aws_event_rules = {
    for key, rule in {
      "image-push"        = { description = "ECR image pushes -> tag-enforcer", function = "tag-enforcer" }
      "basic-scan"        = { description = "ECR basic scan completions -> scan-forwarder", function = "scan-forwarder" }
      "inspector-finding" = { description = "Inspector findings on ECR images -> scan-forwarder", function = "scan-forwarder" }
      "inspector-scan"    = { description = "Inspector scans of ECR images -> scan-forwarder", function = "scan-forwarder" }
    } : key => merge(rule, { pattern = local.aws_event_patterns.patterns[key] })
  }
  forwarded_rule_keys = local.aws_event_patterns.forwardedFromMembers

  # The sweeper's own requests: a repository to sweep, the organization-wide in-use
  # gathering, and one target's sweep. Only the hub itself asks for sweeps: PutEvents
  # stamps every event with the caller's account, so no other account can forge one.
  sweep_detail_types = ["Sweep Repository", "Gather In Use", "Sweep Target"]

  rules = merge(
    { for key, rule in local.aws_event_rules : key => merge(rule, { bus = "default" }) },
    {
      for key in local.forwarded_rule_keys : "member-${key}" => merge(local.aws_event_rules[key], {
        description = "${local.aws_event_rules[key].description} (forwarded from member accounts)"
        bus         = aws_cloudwatch_event_bus.janitor.name
      }) if local.receives_member_events
    },
    {
      # Named for its first detail-type; the name stays so existing installations update
      # the rule in place.
      "sweep-repository" = {
        description = "Sweep requests (${join(", ", local.sweep_detail_types)}) on the janitor bus -> lifecycle-sweeper"
        bus         = aws_cloudwatch_event_bus.janitor.name
        function    = "lifecycle-sweeper"
        pattern = {
          source        = ["ecr-janitor"]
          "detail-type" = local.sweep_detail_types
          account       = [local.account]
        }
      }
    },
  )

  queues = {
    events    = aws_sqs_queue.events_dlq
    functions = aws_sqs_queue.functions_dlq
  }
}

# ---------------------------------------------------------------- organization-wide

locals {
  # config.targets: the member accounts (and Regions) the functions reach by assuming a
  # role there. Everything the hub grants or admits for members derives from it, so the
  # IAM and the bus policy always match what the functions will do.
  targets                = try(var.config.targets, null)
  organization_wide      = local.targets != null
  discovers_organization = try(local.targets.organization, null) != null
  member_role_name       = try(local.targets.roleName, "ecr-janitor-member")

  member_role_arns = distinct(concat(
    [
      for target in try(local.targets.accounts, []) :
      "arn:${local.partition}:iam::${target.account}:role/${try(target.roleName, local.member_role_name)}"
    ],
    # Accounts found through organizations:ListAccounts are not known here; the member
    # roles' trust (only the hub's function roles) is what bounds this statement.
    local.discovers_organization ? ["arn:${local.partition}:iam::*:role/${try(local.targets.organization.roleName, local.member_role_name)}"] : [],
  ))

  # Accounts whose forwarded events the janitor bus admits (the hub's own need no grant).
  event_source_account_ids = distinct([
    for target in try(local.targets.accounts, []) : target.account if target.account != local.account
  ])
  receives_member_events = local.organization_wide || var.organization_id != null
  bus_admits_members     = length(local.event_source_account_ids) > 0 || var.organization_id != null

  # The sweeper's organization-wide in-use snapshot.
  snapshot_prefix = "in-use/"
  snapshot_s3_uri = local.organization_wide ? "s3://${one(aws_s3_bucket.snapshots[*].id)}/${local.snapshot_prefix}" : null
}

check "organization_events_are_admitted" {
  assert {
    condition     = !local.discovers_organization || var.organization_id != null
    error_message = "config.targets.organization discovers member accounts, but without organization_id the janitor bus refuses the events they forward."
  }
}

# The organization-wide in-use snapshot: what every target holds, written by the sweeper
# once per gathering and read by each target's sweep. Created only with config.targets: a
# single-account sweep gathers in-use in the same invocation and needs no snapshot.
resource "aws_s3_bucket" "snapshots" {
  #checkov:skip=CKV_AWS_18:Holds the sweeper's own snapshots; CloudTrail data events cover access auditing if needed.
  #checkov:skip=CKV_AWS_144:Snapshots are re-gathered on every run; a replica would be stale before it is needed.
  #checkov:skip=CKV_AWS_145:SSE-S3 is enough for lists of image references; SSE-KMS would add a key policy for the sweeper's role.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to a new snapshot; the sweeper reads it when it sweeps.
  count = local.organization_wide ? 1 : 0

  bucket_prefix = "${var.name_prefix}-in-use-"
  # Snapshots are derived data, re-gathered on every run: none is worth a failed destroy.
  force_destroy = true
  tags          = var.tags
}

resource "aws_s3_bucket_versioning" "snapshots" {
  count = local.organization_wide ? 1 : 0

  bucket = aws_s3_bucket.snapshots[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "snapshots" {
  count = local.organization_wide ? 1 : 0

  bucket = aws_s3_bucket.snapshots[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "snapshots" {
  count = local.organization_wide ? 1 : 0

  bucket                  = aws_s3_bucket.snapshots[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "snapshots" {
  count = local.organization_wide ? 1 : 0

  bucket = aws_s3_bucket.snapshots[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Old snapshots answer "what did the janitor consider in use when it deleted this?" for a
# while, then go. The bucket holds nothing but snapshots: the rule covers all of it.
resource "aws_s3_bucket_lifecycle_configuration" "snapshots" {
  count = local.organization_wide ? 1 : 0

  bucket = aws_s3_bucket.snapshots[0].id
  rule {
    id     = "expire-old-snapshots"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.snapshot_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  # Each run writes its manifest, one part per target and one shard per registry
  # under in-use/runs/RUN/; the header only ever names the newest run.
  rule {
    id     = "expire-old-runs"
    status = "Enabled"
    filter {
      prefix = "in-use/runs/"
    }
    expiration {
      days = var.snapshot_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.snapshots]
}

data "aws_iam_policy_document" "snapshot_bucket" {
  count = local.organization_wide && var.snapshot_bucket_require_tls ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.snapshots[0].arn, "${aws_s3_bucket.snapshots[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "snapshots" {
  count = local.organization_wide && var.snapshot_bucket_require_tls ? 1 : 0

  bucket = aws_s3_bucket.snapshots[0].id
  policy = data.aws_iam_policy_document.snapshot_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.snapshots]
}

# Members' rules deliver their ECR and Inspector events to the janitor bus: admit exactly
# those events from the member accounts (or the whole organization).
data "aws_iam_policy_document" "janitor_bus" {
  count = local.bus_admits_members ? 1 : 0

  dynamic "statement" {
    for_each = length(local.event_source_account_ids) > 0 ? [local.event_source_account_ids] : []
    content {
      sid       = "MemberAccountsForwardEvents"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.janitor.arn]
      principals {
        type        = "AWS"
        identifiers = [for account in statement.value : "arn:${local.partition}:iam::${account}:root"]
      }
      # Only the forwarded kinds: a member cannot put ecr-janitor events (sweep requests,
      # reports) on the hub's bus.
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:source"
        values   = ["aws.ecr", "aws.inspector2"]
      }
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:detail-type"
        values   = [for key in local.forwarded_rule_keys : local.aws_event_rules[key].pattern["detail-type"][0]]
      }
    }
  }
  dynamic "statement" {
    for_each = var.organization_id == null ? [] : [var.organization_id]
    content {
      sid       = "OrganizationForwardsEvents"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.janitor.arn]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [statement.value]
      }
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:source"
        values   = ["aws.ecr", "aws.inspector2"]
      }
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "events:detail-type"
        values   = [for key in local.forwarded_rule_keys : local.aws_event_rules[key].pattern["detail-type"][0]]
      }
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "janitor" {
  count = local.bus_admits_members ? 1 : 0

  event_bus_name = aws_cloudwatch_event_bus.janitor.name
  # Minified: EventBridge counts every character of a bus policy against its quota
  # (10,240 by default), and each listed account adds one principal.
  policy = data.aws_iam_policy_document.janitor_bus[0].minified_json
}

# ---------------------------------------------------------------- configuration

resource "aws_s3_bucket" "config" {
  #checkov:skip=CKV_AWS_18:Holds one small configuration object written by Terraform; CloudTrail data events cover access auditing if needed.
  #checkov:skip=CKV_AWS_144:The configuration is reproducible from Terraform; cross-region replication adds nothing.
  #checkov:skip=CKV_AWS_145:SSE-S3 is enough for a configuration document without secrets; SSE-KMS would add a key policy for every function role.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to changes of the configuration object; Terraform itself redeploys the functions.
  #checkov:skip=CKV2_AWS_61:Old versions of a tiny configuration object cost nothing; keeping them allows rollbacks.
  bucket_prefix = "${var.name_prefix}-config-"
  tags          = var.tags
}

resource "aws_s3_bucket_versioning" "config" {
  bucket = aws_s3_bucket.config.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "config" {
  bucket = aws_s3_bucket.config.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "config" {
  bucket                  = aws_s3_bucket.config.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "config" {
  bucket = aws_s3_bucket.config.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "config_bucket" {
  count = var.config_bucket_require_tls ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.config.arn, "${aws_s3_bucket.config.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "config" {
  count = var.config_bucket_require_tls ? 1 : 0

  bucket = aws_s3_bucket.config.id
  policy = data.aws_iam_policy_document.config_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.config]
}

resource "aws_s3_object" "config" {
  bucket       = aws_s3_bucket.config.id
  key          = local.config_key
  content      = jsonencode(var.config)
  content_type = "application/json"

  # Versioning must be on before the first version is written.
  depends_on = [aws_s3_bucket_versioning.config, aws_s3_bucket_server_side_encryption_configuration.config]
}

# ---------------------------------------------------------------- dead-letter queues

resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name_prefix}-events-dlq"
  message_retention_seconds = var.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
  # Inline rather than aws_sqs_queue_policy: the provider waits for every queue change
  # to propagate (about 25 s each), and one resource waits once.
  policy = data.aws_iam_policy_document.events_dlq.json
  tags   = var.tags
}

resource "aws_sqs_queue" "functions_dlq" {
  name                      = "${var.name_prefix}-functions-dlq"
  message_retention_seconds = var.dlq_retention_seconds
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "events_dlq" {
  statement {
    sid       = "EventBridgeRuleDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${local.region}:${local.account}:${var.name_prefix}-events-dlq"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.this : rule.arn]
    }
  }
}


# ---------------------------------------------------------------- functions

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:Logs hold decisions about images, no secrets; the AWS-managed encryption of CloudWatch Logs applies.
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days): operational logs, not an audit trail.
  for_each = local.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

# What every function needs: read the configuration, publish on the janitor bus, write
# its logs, and dead-letter failed asynchronous invocations (Lambda sends them with the
# function's own role). Organization-wide, each also reaches the members: it assumes their
# role for the events and sweeps it handles there, and lists the organization's accounts
# when the configuration discovers them.
data "aws_iam_policy_document" "function_common" {
  #checkov:skip=CKV_AWS_356:organizations:ListAccounts (only with config.targets.organization) has no resource-level permissions.
  for_each = local.functions

  statement {
    sid       = "ReadConfiguration"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.config.arn}/${local.config_key}"]
  }
  statement {
    sid       = "PublishJanitorEvents"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.janitor.arn]
  }
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }
  statement {
    sid       = "DeadLetterFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.functions_dlq.arn]
  }
  dynamic "statement" {
    for_each = length(local.member_role_arns) > 0 ? [local.member_role_arns] : []
    content {
      sid       = "AssumeMemberRoles"
      actions   = ["sts:AssumeRole"]
      resources = statement.value
    }
  }
  dynamic "statement" {
    for_each = local.discovers_organization ? [1] : []
    content {
      # "*" is required: organizations:ListAccounts has no resource-level permissions.
      sid       = "ListOrganizationAccounts"
      actions   = ["organizations:ListAccounts"]
      resources = ["*"]
    }
  }
}

data "aws_iam_policy_document" "tag_enforcer" {
  source_policy_documents = [data.aws_iam_policy_document.function_common["tag-enforcer"].json]

  statement {
    sid       = "InspectAndUntagImages"
    actions   = ["ecr:DescribeImages", "ecr:BatchDeleteImage"]
    resources = local.repository_arns
  }
}

data "aws_iam_policy_document" "scan_forwarder" {
  source_policy_documents = [data.aws_iam_policy_document.function_common["scan-forwarder"].json]

  statement {
    sid       = "ReadScanResults"
    actions   = ["ecr:DescribeImageScanFindings", "ecr:DescribeImages"]
    resources = local.repository_arns
  }
  statement {
    sid       = "ImportFindings"
    actions   = ["securityhub:BatchImportFindings"]
    resources = ["arn:${local.partition}:securityhub:${local.region}:${local.account}:product/${local.account}/default"]
  }
}

data "aws_iam_policy_document" "lifecycle_sweeper" {
  #checkov:skip=CKV_AWS_356:ECS, EventBridge, Scheduler and Batch list calls, ecs:DescribeTaskDefinition and lambda:ListFunctions support no resource-level permissions; see the comments below.
  #checkov:skip=CKV_AWS_111:The only write actions (ecr:BatchDeleteImage, ecr:UpdateImageStorageClass) are scoped to the managed repositories, and s3:PutObject to the in-use snapshot prefix.
  source_policy_documents = [data.aws_iam_policy_document.function_common["lifecycle-sweeper"].json]

  statement {
    # Listing happens without names (the sweeper matches repository globs itself), which
    # IAM authorises against every repository ARN of the account and Region.
    sid       = "ListRepositories"
    actions   = ["ecr:DescribeRepositories"]
    resources = ["arn:${local.partition}:ecr:${local.region}:${local.account}:repository/*"]
  }
  statement {
    sid = "SweepImages"
    actions = [
      "ecr:DescribeImages",
      "ecr:BatchGetImage",
      "ecr:BatchDeleteImage",
      "ecr:GetLifecyclePolicy",
      "ecr:UpdateImageStorageClass",
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
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/*"]
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
    resources = ["arn:${local.partition}:lambda:${local.region}:${local.account}:function:*"]
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
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:service/*"]
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
    resources = [
      "arn:${local.partition}:events:${local.region}:${local.account}:rule/*",
      "arn:${local.partition}:events:${local.region}:${local.account}:rule/*/*",
    ]
  }
  statement {
    sid       = "ReadSchedules"
    actions   = ["scheduler:GetSchedule"]
    resources = ["arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule/*/*"]
  }
  dynamic "statement" {
    # The lists of images in use (Kubernetes, ...) under each configured prefix.
    for_each = local.in_use_lists
    content {
      sid       = "ListInUseList${statement.key}"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.value.bucket}"]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${statement.value.prefix}*"]
      }
    }
  }
  dynamic "statement" {
    for_each = local.in_use_lists
    content {
      sid       = "ReadInUseList${statement.key}"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${statement.value.bucket}/${statement.value.prefix}*"]
    }
  }
  dynamic "statement" {
    # The organization-wide in-use snapshot: written once per gathering, read (at the
    # version the gathering wrote) by every target's sweep.
    for_each = aws_s3_bucket.snapshots
    content {
      sid       = "ListInUseSnapshots"
      actions   = ["s3:ListBucket"]
      resources = [statement.value.arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${local.snapshot_prefix}*"]
      }
    }
  }
  dynamic "statement" {
    for_each = aws_s3_bucket.snapshots
    content {
      sid       = "ReadWriteInUseSnapshots"
      actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
      resources = ["${statement.value.arn}/${local.snapshot_prefix}*"]
    }
  }
}

locals {
  # sweeper.inUse.externalLists[].s3Uri as bucket and key prefix.
  in_use_lists = [
    for list in try(var.config.sweeper.inUse.externalLists, []) : {
      bucket = regex("^s3://([^/]+)/?(.*)$", list.s3Uri)[0]
      prefix = regex("^s3://([^/]+)/?(.*)$", list.s3Uri)[1]
    }
  ]
}

locals {
  function_policies = {
    "tag-enforcer"      = data.aws_iam_policy_document.tag_enforcer.json
    "scan-forwarder"    = data.aws_iam_policy_document.scan_forwarder.json
    "lifecycle-sweeper" = data.aws_iam_policy_document.lifecycle_sweeper.json
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${var.name_prefix}-${each.key}"
  role   = aws_iam_role.function[each.key].id
  policy = local.function_policies[each.key]
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Asynchronous failures go to an on-failure destination (aws_lambda_function_event_invoke_config), which records more than a DLQ.
  #checkov:skip=CKV_AWS_117:The functions only call public AWS APIs; a VPC would need NAT or endpoints for ECR, S3, EventBridge, Security Hub, ECS and Lambda.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (a bucket URI, a bus name, a log filter); the default AWS-managed key encrypts it.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the build (cargo lambda) does not produce.
  #checkov:skip=CKV_AWS_50:The functions are not instrumented for X-Ray; traces would be empty.
  #checkov:skip=CKV_AWS_115:Only the sweeper needs a bound (reserved concurrency); the event-driven functions scale with pushes.
  for_each = local.functions

  function_name    = "${var.name_prefix}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.function[each.key].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = "${var.artifacts_dir}/${each.key}/bootstrap.zip"
  source_code_hash = filebase64sha256("${var.artifacts_dir}/${each.key}/bootstrap.zip")
  memory_size      = lookup(var.memory_size_mb, each.key, 128)
  timeout          = each.value.timeout

  reserved_concurrent_executions = each.value.reserved_concurrency

  environment {
    variables = merge(
      {
        JANITOR_CONFIG_S3_URI = local.config_s3_uri
        # Functions read the configuration once per execution environment; a new value here
        # makes Lambda start fresh environments, so a configuration change reaches all of them.
        JANITOR_CONFIG_VERSION = aws_s3_object.config.version_id
        JANITOR_BUS_NAME       = aws_cloudwatch_event_bus.janitor.name
        RUST_LOG               = var.log_level
      },
      # Only the sweeper gathers and reads the organization-wide in-use snapshot.
      {
        for name, value in { JANITOR_SNAPSHOT_S3_URI = local.snapshot_s3_uri } :
        name => value if each.key == "lifecycle-sweeper" && value != null
      },
    )
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.functions

  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_event_age_in_seconds = var.event_max_age_seconds
  maximum_retry_attempts       = var.function_retry_attempts

  destination_config {
    on_failure {
      destination = aws_sqs_queue.functions_dlq.arn
    }
  }
}

# ---------------------------------------------------------------- events

resource "aws_cloudwatch_event_bus" "janitor" {
  name = var.name_prefix
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name           = "${var.name_prefix}-${each.key}"
  description    = each.value.description
  event_bus_name = each.value.bus
  event_pattern  = jsonencode(each.value.pattern)
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.rules

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = each.value.bus
  target_id      = each.value.function
  arn            = aws_lambda_function.this[each.value.function].arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_max_age_seconds
    maximum_retry_attempts       = var.event_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

resource "aws_lambda_permission" "events" {
  for_each = local.rules

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.value.function].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

# ---------------------------------------------------------------- schedule

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeSweeper"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["lifecycle-sweeper"].arn, "${aws_lambda_function.this["lifecycle-sweeper"].arn}:*"]
  }
  statement {
    # Scheduler sends undeliverable invocations with this role.
    sid       = "DeadLetterUndelivered"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dlq.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name_prefix}-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "sweep_all" {
  #checkov:skip=CKV_AWS_297:The schedule's only data is the input {"sweep":"all"}; the AWS-owned key is enough.
  name                         = "${var.name_prefix}-sweep-all"
  description                  = "Full lifecycle sweep of every configured repository"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this["lifecycle-sweeper"].arn
    role_arn = aws_iam_role.scheduler.arn
    # Scheduler delivers exactly this JSON (no event envelope): the sweeper's contract.
    input = jsonencode({ sweep = "all" })

    retry_policy {
      maximum_event_age_in_seconds = var.event_max_age_seconds
      maximum_retry_attempts       = var.event_retry_attempts
    }

    dead_letter_config {
      arn = aws_sqs_queue.events_dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

# ---------------------------------------------------------------- alarms

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = local.functions

  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "${each.key} returned errors (transient AWS failures it could not absorb)"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.queues

  alarm_name          = "${var.name_prefix}-${each.key}-dlq-not-empty"
  alarm_description   = "Events were dead-lettered in ${each.value.name}: inspect and redrive them"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

# ---------------------------------------------------------------- optional account settings

resource "aws_ecr_registry_scanning_configuration" "this" {
  count = var.enhanced_scanning == null ? 0 : 1

  scan_type = var.enhanced_scanning.scan_type

  rule {
    scan_frequency = var.enhanced_scanning.scan_frequency
    dynamic "repository_filter" {
      for_each = var.enhanced_scanning.repository_filters
      content {
        filter      = repository_filter.value
        filter_type = "WILDCARD"
      }
    }
  }
}

resource "aws_securityhub_account" "this" {
  count = var.enable_security_hub ? 1 : 0
}

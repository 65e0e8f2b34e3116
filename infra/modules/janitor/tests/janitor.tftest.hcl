# Offline tests of the janitor module's wiring and configuration checks:
# `terraform test` with a mocked provider (apply creates nothing real).

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json          = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
      minified_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  # The provider validates ARNs it is given, so ARN attributes need ARN-shaped mocks.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:mock" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/mock" }
  }
  mock_resource "aws_cloudwatch_event_bus" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:event-bus/ecr-janitor" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "ecr-janitor-config-mock", arn = "arn:aws:s3:::ecr-janitor-config-mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
  }
}

override_resource {
  target = aws_s3_bucket.snapshots
  values = { id = "ecr-janitor-in-use-mock", arn = "arn:aws:s3:::ecr-janitor-in-use-mock" }
}

override_resource {
  target = aws_sqs_queue.events_dlq
  values = { arn = "arn:aws:sqs:us-east-1:123456789012:ecr-janitor-events-dlq" }
}

override_resource {
  target = aws_sqs_queue.functions_dlq
  values = { arn = "arn:aws:sqs:us-east-1:123456789012:ecr-janitor-functions-dlq" }
}

variables {
  artifacts_dir = "./tests/fixtures/lambda"
  config = {
    sweeper  = { mode = "dry-run", repositories = [{ include = ["team-a/*"], policy = "native", mode = "enforce" }] }
    tagRules = { rules = [{ repositories = ["*"], forbidden = ["latest"], action = "untag" }] }
    scan     = { minimumSeverity = "HIGH" }
  }
}

run "wiring" {
  assert {
    condition = alltrue([
      for function in aws_lambda_function.this :
      function.runtime == "provided.al2023" && function.handler == "bootstrap" && function.architectures[0] == "arm64"
    ])
    error_message = "Functions must be provided.al2023 / bootstrap / arm64."
  }
  assert {
    condition     = aws_lambda_function.this["tag-enforcer"].environment[0].variables["JANITOR_CONFIG_S3_URI"] == "s3://${aws_s3_bucket.config.id}/janitor-config.json"
    error_message = "JANITOR_CONFIG_S3_URI must point at the config object."
  }
  assert {
    condition     = aws_lambda_function.this["lifecycle-sweeper"].environment[0].variables["JANITOR_BUS_NAME"] == "ecr-janitor" && aws_lambda_function.this["lifecycle-sweeper"].environment[0].variables["RUST_LOG"] == "info"
    error_message = "JANITOR_BUS_NAME and RUST_LOG must be set."
  }
  assert {
    condition     = jsondecode(aws_s3_object.config.content) == var.config
    error_message = "The config object must hold the configuration document as JSON."
  }
  assert {
    condition     = aws_scheduler_schedule.sweep_all.target[0].input == "{\"sweep\":\"all\"}"
    error_message = "The schedule must send exactly {\"sweep\":\"all\"}."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["sweep-repository"].event_pattern) == {
      source = ["ecr-janitor"], "detail-type" = ["Sweep Repository", "Gather In Use", "Sweep Target"], account = ["123456789012"]
    } && aws_cloudwatch_event_rule.this["sweep-repository"].event_bus_name == "ecr-janitor"
    error_message = "The sweep-requests rule must route the hub's own three sweep requests from the janitor bus."
  }
  assert {
    condition     = toset(keys(aws_cloudwatch_event_rule.this)) == toset(["image-push", "basic-scan", "inspector-finding", "inspector-scan", "sweep-repository"])
    error_message = "A single-account installation has exactly the five rules it always had."
  }
  assert {
    condition = (
      length(aws_s3_bucket.snapshots) == 0 && length(aws_cloudwatch_event_bus_policy.janitor) == 0 &&
      !contains(keys(aws_lambda_function.this["lifecycle-sweeper"].environment[0].variables), "JANITOR_SNAPSHOT_S3_URI") &&
      alltrue([
        for function, document in data.aws_iam_policy_document.function_common :
        length(setintersection([for statement in document.statement : statement.sid], ["AssumeMemberRoles", "ListOrganizationAccounts"])) == 0
      ])
    )
    error_message = "Without config.targets: no snapshot bucket, no bus policy, no member roles to assume."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["image-push"].event_pattern) == {
      source = ["aws.ecr"], "detail-type" = ["ECR Image Action"], detail = { "action-type" = ["PUSH"], result = ["SUCCESS"] }
    }
    error_message = "Push rule pattern is wrong."
  }
  assert {
    condition     = alltrue([for target in aws_cloudwatch_event_target.this : target.dead_letter_config[0].arn == aws_sqs_queue.events_dlq.arn && target.retry_policy[0].maximum_retry_attempts == 8])
    error_message = "Every rule target needs the events DLQ and a retry policy."
  }
  assert {
    condition     = alltrue([for config in aws_lambda_function_event_invoke_config.this : config.destination_config[0].on_failure[0].destination == aws_sqs_queue.functions_dlq.arn])
    error_message = "Every function needs an on-failure destination."
  }
  assert {
    condition     = aws_lambda_function.this["lifecycle-sweeper"].reserved_concurrent_executions == 5 && aws_lambda_function.this["tag-enforcer"].reserved_concurrent_executions == -1
    error_message = "Only the sweeper has reserved concurrency."
  }
  assert {
    condition     = length(aws_ecr_registry_scanning_configuration.this) == 0 && length(aws_securityhub_account.this) == 0
    error_message = "Registry scanning and Security Hub are off by default."
  }
}

run "enhanced_scanning_is_optional" {
  variables {
    enhanced_scanning = { repository_filters = ["team-a/*", "prod/*"] }
    architecture      = "x86_64"
  }

  assert {
    condition     = aws_ecr_registry_scanning_configuration.this[0].scan_type == "ENHANCED" && length(aws_ecr_registry_scanning_configuration.this[0].rule) == 1 && alltrue([for rule in aws_ecr_registry_scanning_configuration.this[0].rule : length(rule.repository_filter) == 2])
    error_message = "Enhanced scanning must be configured with one filter per pattern."
  }
  assert {
    condition     = aws_lambda_function.this["scan-forwarder"].architectures[0] == "x86_64"
    error_message = "architecture must reach the functions."
  }
}

run "rejects_unknown_config_section" {
  command = plan
  variables {
    config = { sweeper = {}, tagrules = {} }
  }
  expect_failures = [var.config]
}

run "rejects_bad_sweeper_mode" {
  command = plan
  variables {
    config = { sweeper = { mode = "delete-everything" } }
  }
  expect_failures = [var.config]
}

run "rejects_bad_repository_mode" {
  command = plan
  variables {
    config = { sweeper = { repositories = [{ include = ["*"], policy = "native", mode = "force" }] } }
  }
  expect_failures = [var.config]
}

run "rejects_policy_without_rules" {
  command = plan
  variables {
    config = { sweeper = { repositories = [{ include = ["*"], policy = { rules = [] } }] } }
  }
  expect_failures = [var.config]
}

run "rejects_bad_tag_action" {
  command = plan
  variables {
    config = { tagRules = { rules = [{ repositories = ["*"], action = "shred" }] } }
  }
  expect_failures = [var.config]
}

run "rejects_bad_severity" {
  command = plan
  variables {
    config = { scan = { minimumSeverity = "SEVERE" } }
  }
  expect_failures = [var.config]
}

run "rejects_bad_architecture" {
  command = plan
  variables {
    architecture = "arm"
  }
  expect_failures = [var.architecture]
}

run "rejects_uppercase_prefix" {
  command = plan
  variables {
    name_prefix = "ECR-Janitor"
  }
  expect_failures = [var.name_prefix]
}

run "sweeper_reads_every_in_use_source_and_only_the_configured_lists" {
  command = plan

  variables {
    config = {
      sweeper = {
        repositories = [{ include = ["*"], policy = "native" }]
        inUse        = { externalLists = [{ s3Uri = "s3://in-use-lists/k8s/", maxAgeHours = 1 }] }
      }
    }
  }

  assert {
    condition = length(setsubtract(
      ["ecs:ListServices", "ecs:DescribeServices", "ecs:ListTaskDefinitionFamilies", "ecs:ListTaskDefinitions",
        "ecs:DescribeTaskDefinition", "events:ListEventBuses", "events:ListRules", "events:ListTargetsByRule",
        "scheduler:ListSchedules", "scheduler:GetSchedule", "batch:DescribeJobDefinitions", "lambda:ListAliases",
      "s3:ListBucket", "s3:GetObject"],
      flatten([for statement in data.aws_iam_policy_document.lifecycle_sweeper.statement : statement.actions])
    )) == 0
    error_message = "The sweeper must be allowed every read call of its in-use sources."
  }

  assert {
    condition = toset(flatten([
      for statement in data.aws_iam_policy_document.lifecycle_sweeper.statement :
      statement.resources if contains(statement.actions, "s3:GetObject") || contains(statement.actions, "s3:ListBucket")
    ])) == toset(["arn:aws:s3:::in-use-lists/k8s/*", "arn:aws:s3:::in-use-lists"])
    error_message = "S3 reads must be limited to the configured list prefixes."
  }
}

run "organization_wide_hub" {
  variables {
    config = {
      sweeper       = { mode = "dry-run", repositories = [{ include = ["*"], policy = "native" }] }
      protectedTags = ["prod-*"]
      targets = {
        accounts = [
          { account = "111111111111", regions = ["us-east-1", "eu-west-1"] },
          { account = "222222222222", regions = ["us-east-1"], roleName = "janitor-readonly" },
          # The hub's own account in another Region: reached like a member, admitted by nobody.
          { account = "123456789012", regions = ["eu-west-1"] },
        ]
        roleName              = "ecr-janitor-member"
        externalId            = "ecr-janitor-7f3a"
        excludeHub            = false
        snapshotMaxAgeMinutes = 60
      }
    }
    organization_id = "o-abc123defg"
  }

  assert {
    condition = alltrue([
      for function, document in data.aws_iam_policy_document.function_common :
      jsonencode([for statement in document.statement : toset(statement.resources) if statement.sid == "AssumeMemberRoles"]) == jsonencode([toset([
        "arn:aws:iam::111111111111:role/ecr-janitor-member",
        "arn:aws:iam::222222222222:role/janitor-readonly",
        "arn:aws:iam::123456789012:role/ecr-janitor-member",
      ])]) && alltrue([for statement in document.statement : toset(statement.actions) == toset(["sts:AssumeRole"]) if statement.sid == "AssumeMemberRoles"])
    ]) && length(data.aws_iam_policy_document.function_common) == 3
    error_message = "Every function may assume exactly the configured member roles."
  }
  assert {
    condition = alltrue([
      for function, document in data.aws_iam_policy_document.function_common :
      !contains([for statement in document.statement : statement.sid], "ListOrganizationAccounts")
    ])
    error_message = "Without targets.organization nobody lists the organization's accounts."
  }
  assert {
    condition = jsonencode({
      for statement in data.aws_iam_policy_document.lifecycle_sweeper.statement :
      statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        conditions = [for condition in statement.condition : [condition.test, condition.variable, condition.values]]
      } if contains(["ListInUseSnapshots", "ReadWriteInUseSnapshots"], statement.sid)
      }) == jsonencode({
      ListInUseSnapshots = {
        actions    = toset(["s3:ListBucket"])
        resources  = toset(["arn:aws:s3:::ecr-janitor-in-use-mock"])
        conditions = [["StringLike", "s3:prefix", ["in-use/*"]]]
      }
      ReadWriteInUseSnapshots = {
        actions    = toset(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"])
        resources  = toset(["arn:aws:s3:::ecr-janitor-in-use-mock/in-use/*"])
        conditions = []
      }
    })
    error_message = "The sweeper may list, read and write exactly the snapshot prefix."
  }
  assert {
    condition = alltrue([
      for function in ["tag-enforcer", "scan-forwarder"] :
      length(setintersection(
        flatten([for statement in data.aws_iam_policy_document.function_common[function].statement : statement.actions]),
        ["s3:PutObject", "s3:GetObjectVersion", "s3:ListBucket"],
      )) == 0
    ])
    error_message = "Only the sweeper touches the snapshot."
  }
  assert {
    condition = (
      aws_lambda_function.this["lifecycle-sweeper"].environment[0].variables["JANITOR_SNAPSHOT_S3_URI"] == "s3://ecr-janitor-in-use-mock/in-use/" &&
      !contains(keys(aws_lambda_function.this["tag-enforcer"].environment[0].variables), "JANITOR_SNAPSHOT_S3_URI") &&
      !contains(keys(aws_lambda_function.this["scan-forwarder"].environment[0].variables), "JANITOR_SNAPSHOT_S3_URI")
    )
    error_message = "Only the sweeper gets JANITOR_SNAPSHOT_S3_URI = s3://<snapshot bucket>/in-use/."
  }
  assert {
    condition = (
      aws_s3_bucket.snapshots[0].bucket_prefix == "ecr-janitor-in-use-" && aws_s3_bucket.snapshots[0].force_destroy &&
      aws_s3_bucket_versioning.snapshots[0].versioning_configuration[0].status == "Enabled" &&
      one(aws_s3_bucket_server_side_encryption_configuration.snapshots[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256" &&
      aws_s3_bucket_public_access_block.snapshots[0].block_public_acls && aws_s3_bucket_public_access_block.snapshots[0].block_public_policy &&
      aws_s3_bucket_public_access_block.snapshots[0].ignore_public_acls && aws_s3_bucket_public_access_block.snapshots[0].restrict_public_buckets &&
      aws_s3_bucket_ownership_controls.snapshots[0].rule[0].object_ownership == "BucketOwnerEnforced" &&
      length(aws_s3_bucket_policy.snapshots) == 1
    )
    error_message = "The snapshot bucket must be versioned, encrypted, private and TLS-only."
  }
  assert {
    condition = (
      length(aws_s3_bucket_lifecycle_configuration.snapshots[0].rule) == 2 &&
      aws_s3_bucket_lifecycle_configuration.snapshots[0].rule[0].status == "Enabled" &&
      aws_s3_bucket_lifecycle_configuration.snapshots[0].rule[0].noncurrent_version_expiration[0].noncurrent_days == 30 &&
      aws_s3_bucket_lifecycle_configuration.snapshots[0].rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 1 &&
      aws_s3_bucket_lifecycle_configuration.snapshots[0].rule[1].status == "Enabled" &&
      aws_s3_bucket_lifecycle_configuration.snapshots[0].rule[1].filter[0].prefix == "in-use/runs/" &&
      aws_s3_bucket_lifecycle_configuration.snapshots[0].rule[1].expiration[0].days == 30
    )
    error_message = "Replaced snapshot headers, and each run's parts and shards, expire after snapshot_retention_days."
  }
  assert {
    condition = {
      for key in ["member-image-push", "member-basic-scan", "member-inspector-finding"] :
      key => [aws_cloudwatch_event_rule.this[key].event_bus_name, jsondecode(aws_cloudwatch_event_rule.this[key].event_pattern)]
      } == {
      "member-image-push" = ["ecr-janitor", {
        source = ["aws.ecr"], "detail-type" = ["ECR Image Action"], detail = { "action-type" = ["PUSH"], result = ["SUCCESS"] }
      }]
      "member-basic-scan" = ["ecr-janitor", {
        source = ["aws.ecr"], "detail-type" = ["ECR Image Scan"], detail = { "scan-status" = ["COMPLETE"] }
      }]
      "member-inspector-finding" = ["ecr-janitor", {
        source = ["aws.inspector2"], "detail-type" = ["Inspector2 Finding"], detail = { resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] } }
      }]
    }
    error_message = "Forwarded events are routed from the janitor bus with the default bus's patterns."
  }
  assert {
    condition = (
      aws_cloudwatch_event_target.this["member-image-push"].event_bus_name == "ecr-janitor" &&
      aws_cloudwatch_event_target.this["member-image-push"].target_id == "tag-enforcer" &&
      aws_cloudwatch_event_target.this["member-basic-scan"].target_id == "scan-forwarder" &&
      aws_cloudwatch_event_target.this["member-inspector-finding"].target_id == "scan-forwarder" &&
      aws_lambda_permission.events["member-image-push"].source_arn == aws_cloudwatch_event_rule.this["member-image-push"].arn &&
      length(aws_cloudwatch_event_rule.this) == 8
    )
    error_message = "Forwarded pushes go to the tag-enforcer, scans and findings to the scan-forwarder."
  }
  assert {
    condition = jsonencode({
      for statement in data.aws_iam_policy_document.janitor_bus[0].statement :
      statement.sid => {
        actions    = toset(statement.actions)
        resources  = toset(statement.resources)
        principals = [for principal in statement.principals : [principal.type, toset(principal.identifiers)]]
        conditions = { for condition in statement.condition : "${condition.test} ${condition.variable}" => toset(condition.values) }
      }
      }) == jsonencode({
      MemberAccountsForwardEvents = {
        actions    = toset(["events:PutEvents"])
        resources  = toset(["arn:aws:events:us-east-1:123456789012:event-bus/ecr-janitor"])
        principals = [["AWS", toset(["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"])]]
        conditions = {
          "ForAllValues:StringEquals events:source"      = toset(["aws.ecr", "aws.inspector2"])
          "ForAllValues:StringEquals events:detail-type" = toset(["ECR Image Action", "ECR Image Scan", "Inspector2 Finding"])
        }
      }
      OrganizationForwardsEvents = {
        actions    = toset(["events:PutEvents"])
        resources  = toset(["arn:aws:events:us-east-1:123456789012:event-bus/ecr-janitor"])
        principals = [["*", toset(["*"])]]
        conditions = {
          "StringEquals aws:PrincipalOrgID"              = toset(["o-abc123defg"])
          "ForAllValues:StringEquals events:source"      = toset(["aws.ecr", "aws.inspector2"])
          "ForAllValues:StringEquals events:detail-type" = toset(["ECR Image Action", "ECR Image Scan", "Inspector2 Finding"])
        }
      }
    })
    error_message = "The bus admits exactly the forwarded kinds of events from the other member accounts and the organization."
  }
  assert {
    condition     = aws_cloudwatch_event_bus_policy.janitor[0].event_bus_name == "ecr-janitor"
    error_message = "The policy belongs on the janitor bus."
  }
  assert {
    condition     = jsondecode(aws_s3_object.config.content) == var.config
    error_message = "The config object must hold the targets section unchanged."
  }
}

run "organization_discovery_lists_accounts_and_assumes_the_role_anywhere" {
  command = plan

  variables {
    config = {
      targets = {
        organization = { regions = ["us-east-1"], roleName = "org-janitor", excludeAccounts = ["333333333333"] }
      }
    }
    organization_id = "o-abc123defg"
  }

  assert {
    condition = alltrue([
      for function, document in data.aws_iam_policy_document.function_common : (
        jsonencode([for statement in document.statement : [statement.actions, statement.resources] if statement.sid == "AssumeMemberRoles"]) ==
        jsonencode([[["sts:AssumeRole"], ["arn:aws:iam::*:role/org-janitor"]]]) &&
        jsonencode([for statement in document.statement : [statement.actions, statement.resources] if statement.sid == "ListOrganizationAccounts"]) ==
        jsonencode([[["organizations:ListAccounts"], ["*"]]])
      )
    ])
    error_message = "Organization discovery: every function lists the accounts and may assume the organization role in any account."
  }
  assert {
    condition     = length(aws_cloudwatch_event_bus_policy.janitor) == 1 && length(data.aws_iam_policy_document.janitor_bus[0].statement) == 1
    error_message = "Only the organization statement: no account is listed."
  }
}

run "warns_when_discovered_accounts_cannot_forward" {
  command = plan

  variables {
    config = { targets = { organization = { regions = ["us-east-1"] } } }
  }

  expect_failures = [check.organization_events_are_admitted]
}

run "rejects_unknown_targets_key" {
  command = plan
  variables {
    config = { targets = { account = [{ account = "111111111111", regions = ["us-east-1"] }] } }
  }
  expect_failures = [var.config]
}

run "rejects_short_account_id" {
  command = plan
  variables {
    config = { targets = { accounts = [{ account = "11111111111", regions = ["us-east-1"] }] } }
  }
  expect_failures = [var.config]
}

run "rejects_numeric_account_id" {
  command = plan
  variables {
    config = { targets = { accounts = [{ account = 111111111111, regions = ["us-east-1"] }] } }
  }
  expect_failures = [var.config]
}

run "rejects_account_without_regions" {
  command = plan
  variables {
    config = { targets = { accounts = [{ account = "111111111111", regions = [] }] } }
  }
  expect_failures = [var.config]
}

run "rejects_bad_region" {
  command = plan
  variables {
    config = { targets = { accounts = [{ account = "111111111111", regions = ["Ireland"] }] } }
  }
  expect_failures = [var.config]
}

run "rejects_duplicate_account" {
  command = plan
  variables {
    config = { targets = { accounts = [
      { account = "111111111111", regions = ["us-east-1"] },
      { account = "111111111111", regions = ["eu-west-1"] },
    ] } }
  }
  expect_failures = [var.config]
}

run "rejects_bad_excluded_account" {
  command = plan
  variables {
    config          = { targets = { organization = { regions = ["us-east-1"], excludeAccounts = ["3333"] } } }
    organization_id = "o-abc123defg"
  }
  expect_failures = [var.config]
}

run "rejects_bad_role_name" {
  command = plan
  variables {
    config = { targets = { accounts = [{ account = "111111111111", regions = ["us-east-1"], roleName = "role/with/slashes" }] } }
  }
  expect_failures = [var.config]
}

run "rejects_short_external_id" {
  command = plan
  variables {
    config = { targets = { accounts = [{ account = "111111111111", regions = ["us-east-1"] }], externalId = "x" } }
  }
  expect_failures = [var.config]
}

run "rejects_exclude_hub_as_text" {
  command = plan
  variables {
    config = { targets = { accounts = [{ account = "111111111111", regions = ["us-east-1"] }], excludeHub = "yes" } }
  }
  expect_failures = [var.config]
}

run "rejects_protected_tags_that_are_not_a_list" {
  command = plan
  variables {
    config = { protectedTags = "prod-*" }
  }
  expect_failures = [var.config]
}

run "rejects_bad_organization_id" {
  command = plan
  variables {
    organization_id = "r-abc123defg"
  }
  expect_failures = [var.organization_id]
}

run "dashboard_shows_every_emitted_metric_function_errors_and_dlq_depth" {
  assert {
    condition     = output.dashboard_name == "ecr-janitor" && output.dashboard_url == "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=ecr-janitor"
    error_message = "The dashboard is named after name_prefix and its URL is an output."
  }
  assert {
    # Each EMF line as "Name Dimension=value ...", its last element being its options.
    condition = alltrue(flatten([
      for metric in jsondecode(file("metrics.json")).metrics : [
        for dimension, values in metric.dimensions : [
          for value in values : contains(flatten([
            for widget in jsondecode(aws_cloudwatch_dashboard.janitor.dashboard_body).widgets : [
              for line in widget.properties.metrics : [
                for index in range(2, length(line) - 1, 2) : "${line[1]} ${line[index]}=${line[index + 1]}"
              ] if line[0] == "EcrJanitor"
            ]
          ]), "${metric.name} ${dimension}=${value}")
        ]
      ]
    ]))
    error_message = "Every metric in metrics.json must be on the dashboard with each of its dimension values."
  }
  assert {
    condition = length([
      for widget in jsondecode(aws_cloudwatch_dashboard.janitor.dashboard_body).widgets : widget
      if widget.properties.title == "Scan forwarder: findings forwarded and suppressed, by severity" && length(widget.properties.metrics) == 12
    ]) == 1
    error_message = "Findings forwarded and suppressed must be shown for each of the six severities."
  }
  assert {
    condition = toset(flatten([
      for widget in jsondecode(aws_cloudwatch_dashboard.janitor.dashboard_body).widgets : [
        for line in widget.properties.metrics : "${line[1]} ${line[2]}=${line[3]}" if line[0] == "AWS/Lambda"
      ]
    ])) == toset([for function in aws_lambda_function.this : "Errors FunctionName=${function.function_name}"])
    error_message = "Every function's AWS/Lambda Errors must be on the dashboard."
  }
  assert {
    condition = toset(flatten([
      for widget in jsondecode(aws_cloudwatch_dashboard.janitor.dashboard_body).widgets : [
        for line in widget.properties.metrics : "${line[1]} ${line[2]}=${line[3]}" if line[0] == "AWS/SQS"
      ]
    ])) == toset([for queue in [aws_sqs_queue.events_dlq, aws_sqs_queue.functions_dlq] : "ApproximateNumberOfMessagesVisible QueueName=${queue.name}"])
    error_message = "Both DLQs' depth must be on the dashboard."
  }
}

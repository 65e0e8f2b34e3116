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
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
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
      source = ["ecr-janitor"], "detail-type" = ["Sweep Repository"]
    } && aws_cloudwatch_event_rule.this["sweep-repository"].event_bus_name == "ecr-janitor"
    error_message = "Sweep Repository rule must listen on the janitor bus."
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

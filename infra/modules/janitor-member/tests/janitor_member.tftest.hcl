# Offline tests of the janitor-member module: `terraform test` with a mocked provider.
# Policies are asserted statement by statement (sid -> exact actions and resources); the
# forwarding rules' patterns and targets exactly.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111111111111" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  # The provider validates ARNs it is given, so ARN attributes need ARN-shaped mocks.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111111111111:role/mock" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:111111111111:rule/mock" }
  }
}

variables {
  hub_role_arns = [
    "arn:aws:iam::123456789012:role/ecr-janitor-tag-enforcer",
    "arn:aws:iam::123456789012:role/ecr-janitor-scan-forwarder",
    "arn:aws:iam::123456789012:role/ecr-janitor-lifecycle-sweeper",
  ]
  hub_bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/ecr-janitor"
}

run "read_only_by_default" {
  command = plan

  assert {
    condition = jsonencode({
      for statement in data.aws_iam_policy_document.member[0].statement :
      statement.sid => { actions = toset(statement.actions), resources = toset(statement.resources) }
      }) == jsonencode({
      ListRepositories = {
        actions   = toset(["ecr:DescribeRepositories"])
        resources = toset(["arn:aws:ecr:eu-west-1:111111111111:repository/*"])
      }
      ReadImages = {
        actions   = toset(["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetLifecyclePolicy", "ecr:DescribeImageScanFindings"])
        resources = toset(["arn:aws:ecr:eu-west-1:111111111111:repository/*"])
      }
      FindImagesInUseByEcs = {
        actions   = toset(["ecs:ListClusters", "ecs:ListTasks"])
        resources = toset(["*"])
      }
      DescribeEcsTasks = {
        actions   = toset(["ecs:DescribeTasks"])
        resources = toset(["arn:aws:ecs:eu-west-1:111111111111:task/*"])
      }
      FindImagesOfEcsServicesAndTaskDefinitions = {
        actions   = toset(["ecs:ListServices", "ecs:ListTaskDefinitionFamilies", "ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition"])
        resources = toset(["*"])
      }
      DescribeEcsServices = {
        actions   = toset(["ecs:DescribeServices"])
        resources = toset(["arn:aws:ecs:eu-west-1:111111111111:service/*"])
      }
      ListLambdaFunctions = {
        actions   = toset(["lambda:ListFunctions"])
        resources = toset(["*"])
      }
      FindImagesInUseByLambda = {
        actions   = toset(["lambda:GetFunction", "lambda:ListAliases"])
        resources = toset(["arn:aws:lambda:eu-west-1:111111111111:function:*"])
      }
      ListSchedulesAndJobDefinitions = {
        actions   = toset(["events:ListEventBuses", "events:ListRules", "scheduler:ListSchedules", "batch:DescribeJobDefinitions"])
        resources = toset(["*"])
      }
      ReadRuleTargets = {
        actions   = toset(["events:ListTargetsByRule"])
        resources = toset(["arn:aws:events:eu-west-1:111111111111:rule/*", "arn:aws:events:eu-west-1:111111111111:rule/*/*"])
      }
      ReadSchedules = {
        actions   = toset(["scheduler:GetSchedule"])
        resources = toset(["arn:aws:scheduler:eu-west-1:111111111111:schedule/*/*"])
      }
    })
    error_message = "Unexpected member policy: ${jsonencode([for statement in data.aws_iam_policy_document.member[0].statement : [statement.sid, statement.actions, statement.resources]])}"
  }
  assert {
    condition = length(setintersection(
      flatten([for statement in data.aws_iam_policy_document.member[0].statement : statement.actions]),
      ["ecr:BatchDeleteImage", "ecr:UpdateImageStorageClass", "securityhub:BatchImportFindings"],
    )) == 0
    error_message = "Without enforce the member role must be read-only."
  }
  assert {
    condition     = aws_iam_role.member[0].name == "ecr-janitor-member" && aws_iam_role_policy.member[0].name == "ecr-janitor-member"
    error_message = "The role and its policy are named role_name."
  }
}

run "enforce_adds_cleaning_and_findings_import_in_every_role_region" {
  command = plan

  variables {
    enforce         = true
    role_regions    = ["eu-west-1", "us-east-1"]
    repository_arns = ["arn:aws:ecr:eu-west-1:111111111111:repository/team-a/*", "arn:aws:ecr:us-east-1:111111111111:repository/team-a/*"]
  }

  assert {
    condition = jsonencode({
      for statement in data.aws_iam_policy_document.member[0].statement :
      statement.sid => { actions = toset(statement.actions), resources = toset(statement.resources) }
      if contains(["ListRepositories", "ReadImages", "CleanImages", "ImportFindings", "DescribeEcsTasks", "ReadRuleTargets"], statement.sid)
      }) == jsonencode({
      ListRepositories = {
        actions   = toset(["ecr:DescribeRepositories"])
        resources = toset(["arn:aws:ecr:eu-west-1:111111111111:repository/*", "arn:aws:ecr:us-east-1:111111111111:repository/*"])
      }
      ReadImages = {
        actions   = toset(["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetLifecyclePolicy", "ecr:DescribeImageScanFindings"])
        resources = toset(var.repository_arns)
      }
      CleanImages = {
        actions   = toset(["ecr:BatchDeleteImage", "ecr:UpdateImageStorageClass"])
        resources = toset(var.repository_arns)
      }
      ImportFindings = {
        actions   = toset(["securityhub:BatchImportFindings"])
        resources = toset(["arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default", "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"])
      }
      DescribeEcsTasks = {
        actions   = toset(["ecs:DescribeTasks"])
        resources = toset(["arn:aws:ecs:eu-west-1:111111111111:task/*", "arn:aws:ecs:us-east-1:111111111111:task/*"])
      }
      ReadRuleTargets = {
        actions = toset(["events:ListTargetsByRule"])
        resources = toset([
          "arn:aws:events:eu-west-1:111111111111:rule/*", "arn:aws:events:eu-west-1:111111111111:rule/*/*",
          "arn:aws:events:us-east-1:111111111111:rule/*", "arn:aws:events:us-east-1:111111111111:rule/*/*",
        ])
      }
    })
    error_message = "Unexpected enforcing policy: ${jsonencode([for statement in data.aws_iam_policy_document.member[0].statement : [statement.sid, statement.actions, statement.resources]])}"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.member[0].statement) == 13
    error_message = "Enforcing adds exactly two statements to the eleven read-only ones."
  }
}

run "trust_is_limited_to_the_hub_roles" {
  command = plan

  assert {
    condition = (
      length(data.aws_iam_policy_document.trust[0].statement) == 1 &&
      toset(data.aws_iam_policy_document.trust[0].statement[0].actions) == toset(["sts:AssumeRole"]) &&
      length(data.aws_iam_policy_document.trust[0].statement[0].principals) == 1 &&
      one(data.aws_iam_policy_document.trust[0].statement[0].principals).type == "AWS" &&
      toset(one(data.aws_iam_policy_document.trust[0].statement[0].principals).identifiers) == toset(var.hub_role_arns) &&
      length(data.aws_iam_policy_document.trust[0].statement[0].condition) == 0
    )
    error_message = "The role must trust exactly the hub's function roles, without conditions when no external id is set."
  }
  assert {
    condition     = aws_iam_role.member[0].assume_role_policy == data.aws_iam_policy_document.trust[0].json
    error_message = "The role's trust policy is the trust document."
  }
}

run "external_id_becomes_a_trust_condition" {
  command = plan

  variables {
    external_id = "ecr-janitor-7f3a"
  }

  assert {
    condition = jsonencode([
      for condition in data.aws_iam_policy_document.trust[0].statement[0].condition :
      { test = condition.test, variable = condition.variable, values = condition.values }
    ]) == jsonencode([{ test = "StringEquals", variable = "sts:ExternalId", values = ["ecr-janitor-7f3a"] }])
    error_message = "The external id must be required with StringEquals on sts:ExternalId."
  }
}

run "forwarding_rules_send_what_the_hub_handles_to_its_bus" {
  assert {
    condition = {
      for key, rule in aws_cloudwatch_event_rule.forward : key => jsondecode(rule.event_pattern)
      } == {
      "image-push" = {
        source = ["aws.ecr"], "detail-type" = ["ECR Image Action"], detail = { "action-type" = ["PUSH"], result = ["SUCCESS"] }
      }
      "basic-scan" = {
        source = ["aws.ecr"], "detail-type" = ["ECR Image Scan"], detail = { "scan-status" = ["COMPLETE"] }
      }
      "inspector-finding" = {
        source = ["aws.inspector2"], "detail-type" = ["Inspector2 Finding"], detail = { resources = { type = ["AWS_ECR_CONTAINER_IMAGE"] } }
      }
    }
    error_message = "Forwarding patterns must match the hub's rules."
  }
  assert {
    condition = toset([for rule in aws_cloudwatch_event_rule.forward : "${rule.name}@${rule.event_bus_name}"]) == toset([
      "ecr-janitor-forward-image-push@default", "ecr-janitor-forward-basic-scan@default", "ecr-janitor-forward-inspector-finding@default",
    ])
    error_message = "Forwarding rules listen on the member's default bus."
  }
  assert {
    condition = alltrue([
      for target in aws_cloudwatch_event_target.forward :
      target.arn == var.hub_bus_arn && target.role_arn == aws_iam_role.forwarder[0].arn && target.event_bus_name == "default"
    ]) && length(aws_cloudwatch_event_target.forward) == 3
    error_message = "Every forwarding rule targets the hub's bus with the forwarding role."
  }
  assert {
    condition     = aws_iam_role.forwarder[0].name == "ecr-janitor-member-events-eu-west-1"
    error_message = "The forwarding role's name carries the Region (IAM is global)."
  }
  assert {
    condition = (
      length(data.aws_iam_policy_document.forwarder[0].statement) == 1 &&
      toset(data.aws_iam_policy_document.forwarder[0].statement[0].actions) == toset(["events:PutEvents"]) &&
      toset(data.aws_iam_policy_document.forwarder[0].statement[0].resources) == toset([var.hub_bus_arn])
    )
    error_message = "The forwarding role may only put events on the hub's bus."
  }
  assert {
    condition = (
      one(data.aws_iam_policy_document.forwarder_trust[0].statement[0].principals).identifiers == toset(["events.amazonaws.com"]) &&
      toset([
        for condition in data.aws_iam_policy_document.forwarder_trust[0].statement[0].condition :
        { test = condition.test, variable = condition.variable, values = toset(condition.values) }
        ]) == toset([
        { test = "ArnEquals", variable = "aws:SourceArn", values = toset([for rule in aws_cloudwatch_event_rule.forward : rule.arn]) },
        { test = "StringEquals", variable = "aws:SourceAccount", values = toset(["111111111111"]) },
      ])
    )
    error_message = "Only EventBridge, for this account's forwarding rules, may assume the forwarding role."
  }
  assert {
    condition     = output.forwarding_rule_arns == { for key, rule in aws_cloudwatch_event_rule.forward : key => rule.arn } && output.forwarder_role_arn == aws_iam_role.forwarder[0].arn
    error_message = "Outputs must name the rules and the forwarding role."
  }
}

run "a_second_region_instance_reuses_the_role" {
  command = plan

  variables {
    create_role = false
  }

  assert {
    condition     = length(aws_iam_role.member) == 0 && length(aws_iam_role_policy.member) == 0 && length(data.aws_iam_policy_document.member) == 0
    error_message = "create_role = false must create no member role."
  }
  assert {
    condition     = output.role_arn == "arn:aws:iam::111111111111:role/ecr-janitor-member"
    error_message = "role_arn names the role another instance creates."
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.forward) == 3 && length(aws_iam_role.forwarder) == 1
    error_message = "Forwarding is per Region and independent of the role."
  }
}

run "forwarding_is_optional" {
  command = plan

  variables {
    forward_events = false
    hub_bus_arn    = null
  }

  assert {
    condition = (
      length(aws_cloudwatch_event_rule.forward) == 0 && length(aws_cloudwatch_event_target.forward) == 0 &&
      length(aws_iam_role.forwarder) == 0 && output.forwarder_role_arn == null && length(output.forwarding_rule_arns) == 0
    )
    error_message = "forward_events = false must create no forwarding."
  }
}

run "rejects_forwarding_without_the_hub_bus" {
  command = plan
  variables {
    hub_bus_arn = null
  }
  expect_failures = [data.aws_iam_policy_document.forwarder]
}

run "rejects_a_role_without_hub_roles" {
  command = plan
  variables {
    hub_role_arns = []
  }
  expect_failures = [data.aws_iam_policy_document.trust]
}

run "rejects_hub_principals_that_are_not_roles" {
  command = plan
  variables {
    hub_role_arns = ["arn:aws:iam::123456789012:root"]
  }
  expect_failures = [var.hub_role_arns]
}

run "rejects_a_bus_that_is_not_a_bus" {
  command = plan
  variables {
    hub_bus_arn = "arn:aws:sqs:us-east-1:123456789012:ecr-janitor"
  }
  expect_failures = [var.hub_bus_arn]
}

run "rejects_a_short_external_id" {
  command = plan
  variables {
    external_id = "x"
  }
  expect_failures = [var.external_id]
}

run "rejects_a_role_name_too_long_for_the_forwarding_role" {
  command = plan
  variables {
    role_name = "a-role-name-that-leaves-no-room-for-the-region"
  }
  expect_failures = [var.role_name]
}

run "rejects_a_bad_region" {
  command = plan
  variables {
    role_regions = ["Europe"]
  }
  expect_failures = [var.role_regions]
}

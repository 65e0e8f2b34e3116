# The root example planned with the variables of terraform.tfvars.example, offline
# (mocked provider): scripts/terraform-checks.sh copies that file in as
# example.auto.tfvars, which `terraform test` reads, so a variable renamed or retyped in
# variables.tf fails here until the example follows. Run without it, this plans the
# defaults.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

# The members' providers (members.tf) are configured even when no member is set.
mock_provider "aws" {
  alias = "member_a"
}

mock_provider "aws" {
  alias = "member_b"
}

run "example_variables_plan" {
  command = plan

  variables {
    # The zips a real deployment builds first: the module's test fixtures stand in.
    artifacts_dir = "./modules/janitor/tests/fixtures/lambda"
  }

  assert {
    condition     = length(module.janitor.function_names) == 3
    error_message = "The example installs the three functions."
  }
}

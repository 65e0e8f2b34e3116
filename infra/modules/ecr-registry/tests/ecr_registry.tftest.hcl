# Offline tests of the ecr-registry module: `terraform test` with a mocked provider, plan only.
# The generated registry policy and template lifecycle policy are asserted exactly; every
# validation rule has a run with expect_failures.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

run "nothing_by_default" {
  command = plan

  assert {
    condition = (
      length(aws_ecr_replication_configuration.this) == 0 && length(aws_ecr_registry_policy.this) == 0 &&
      length(aws_ecr_pull_through_cache_rule.this) == 0 && length(aws_ecr_repository_creation_template.this) == 0
    )
    error_message = "Empty inputs must create nothing."
  }
  assert {
    condition     = output.registry_policy == null && length(output.template_lifecycle_policies) == 0
    error_message = "No policies expected."
  }
}

run "full_example" {
  command = plan

  variables {
    replication_rules = [
      {
        destinations        = [{ region = "eu-west-1" }, { region = "us-west-2", registry_id = "210987654321" }]
        repository_prefixes = ["prod", "team-a/"]
      },
      { destinations = [{ region = "eu-central-1" }] },
    ]
    replication_source_account_ids = ["111122223333", "444455556666"]
    pull_through_cache_rules = {
      "docker-hub" = {
        upstream_registry_url = "registry-1.docker.io"
        credential_arn        = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
      }
      "ecr-public" = { upstream_registry_url = "public.ecr.aws", upstream_repository_prefix = "docker" }
    }
    repository_creation_templates = {
      "docker-hub" = {
        applied_for   = ["PULL_THROUGH_CACHE"]
        resource_tags = { owner = "platform" }
        lifecycle_rules = {
          expire_untagged_after_days = 7
          keep_tagged                = [{ tag_patterns = ["*"], keep = 10 }]
          keep_any                   = 50
        }
      }
      ROOT = {}
    }
  }

  assert {
    condition = output.registry_policy == jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "AllowReplicationFromSourceAccounts"
        Effect    = "Allow"
        Principal = { AWS = ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"] }
        Action    = ["ecr:CreateRepository", "ecr:ReplicateImage"]
        Resource  = ["arn:aws:ecr:us-east-1:123456789012:repository/*"]
      }]
    })
    error_message = "Unexpected registry policy: ${coalesce(output.registry_policy, "null")}"
  }
  assert {
    condition     = output.registry_policy == "{\"Statement\":[{\"Action\":[\"ecr:CreateRepository\",\"ecr:ReplicateImage\"],\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::111122223333:root\",\"arn:aws:iam::444455556666:root\"]},\"Resource\":[\"arn:aws:ecr:us-east-1:123456789012:repository/*\"],\"Sid\":\"AllowReplicationFromSourceAccounts\"}],\"Version\":\"2012-10-17\"}"
    error_message = "The registry policy text must be exactly this JSON."
  }
  assert {
    condition     = aws_ecr_registry_policy.this[0].policy == output.registry_policy
    error_message = "The rendered registry policy must be the one applied."
  }
  assert {
    condition     = output.template_lifecycle_policies["docker-hub"] == "{\"rules\":[{\"action\":{\"type\":\"expire\"},\"description\":\"Expire untagged images 7 days after push\",\"rulePriority\":1,\"selection\":{\"countNumber\":7,\"countType\":\"sinceImagePushed\",\"countUnit\":\"days\",\"tagStatus\":\"untagged\"}},{\"action\":{\"type\":\"expire\"},\"description\":\"Keep the newest 10 images tagged *\",\"rulePriority\":10,\"selection\":{\"countNumber\":10,\"countType\":\"imageCountMoreThan\",\"tagPatternList\":[\"*\"],\"tagStatus\":\"tagged\"}},{\"action\":{\"type\":\"expire\"},\"description\":\"Keep the newest 50 images of any kind\",\"rulePriority\":100,\"selection\":{\"countNumber\":50,\"countType\":\"imageCountMoreThan\",\"tagStatus\":\"any\"}}]}"
    error_message = "Unexpected template lifecycle policy: ${coalesce(output.template_lifecycle_policies["docker-hub"], "null")}"
  }
  assert {
    condition     = aws_ecr_repository_creation_template.this["docker-hub"].lifecycle_policy == output.template_lifecycle_policies["docker-hub"]
    error_message = "The generated lifecycle policy must reach the template."
  }
  assert {
    condition = (
      aws_ecr_repository_creation_template.this["ROOT"].lifecycle_policy == null &&
      aws_ecr_repository_creation_template.this["ROOT"].image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository_creation_template.this["ROOT"].applied_for == toset(["PULL_THROUGH_CACHE", "REPLICATION"]) &&
      aws_ecr_repository_creation_template.this["ROOT"].encryption_configuration[0].encryption_type == "AES256"
    )
    error_message = "Template defaults: no lifecycle policy, IMMUTABLE, both uses, AES256."
  }
  assert {
    condition = jsonencode(output.replication_rules) == jsonencode([
      {
        destinations        = [{ region = "eu-west-1", registry_id = "123456789012" }, { region = "us-west-2", registry_id = "210987654321" }]
        repository_prefixes = ["prod", "team-a/"]
      },
      { destinations = [{ region = "eu-central-1", registry_id = "123456789012" }], repository_prefixes = [] },
    ])
    error_message = "Destinations without registry_id must replicate within this account."
  }
  assert {
    condition = (
      length(aws_ecr_replication_configuration.this[0].replication_configuration[0].rule) == 2 &&
      aws_ecr_replication_configuration.this[0].replication_configuration[0].rule[0].repository_filter[1].filter == "team-a/" &&
      aws_ecr_replication_configuration.this[0].replication_configuration[0].rule[0].repository_filter[1].filter_type == "PREFIX_MATCH" &&
      length(aws_ecr_replication_configuration.this[0].replication_configuration[0].rule[1].repository_filter) == 0
    )
    error_message = "Replication rules must carry PREFIX_MATCH filters only where given."
  }
  assert {
    condition = (
      aws_ecr_pull_through_cache_rule.this["ecr-public"].upstream_repository_prefix == "docker" &&
      aws_ecr_pull_through_cache_rule.this["ecr-public"].credential_arn == null &&
      output.pull_through_cache_prefixes == { "docker-hub" = "registry-1.docker.io", "ecr-public" = "public.ecr.aws" }
    )
    error_message = "Pull-through cache rules must be passed through."
  }
}

run "rejects_11_replication_rules" {
  command = plan

  variables {
    replication_rules = [for i in range(11) : { destinations = [{ region = "eu-west-1" }] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_rule_without_destinations" {
  command = plan

  variables {
    replication_rules = [{ destinations = [] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_26_destinations" {
  command = plan

  variables {
    replication_rules = [{ destinations = [for i in range(26) : { region = "eu-west-1", registry_id = format("%012d", i) }] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_101_filters" {
  command = plan

  variables {
    replication_rules = [{ destinations = [{ region = "eu-west-1" }], repository_prefixes = [for i in range(101) : "p{i}"] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_one_character_filter" {
  command = plan

  variables {
    replication_rules = [{ destinations = [{ region = "eu-west-1" }], repository_prefixes = ["a"] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_uppercase_filter" {
  command = plan

  variables {
    replication_rules = [{ destinations = [{ region = "eu-west-1" }], repository_prefixes = ["Prod"] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_bad_destination_region" {
  command = plan

  variables {
    replication_rules = [{ destinations = [{ region = "Europe" }] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_bad_destination_account" {
  command = plan

  variables {
    replication_rules = [{ destinations = [{ region = "eu-west-1", registry_id = "12345" }] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_duplicate_destination" {
  command = plan

  variables {
    replication_rules = [{ destinations = [{ region = "eu-west-1" }, { region = "eu-west-1" }] }]
  }

  expect_failures = [var.replication_rules]
}

run "rejects_long_cache_prefix" {
  command = plan

  variables {
    pull_through_cache_rules = { "a-very-long-pull-through-prefix-x" = { upstream_registry_url = "public.ecr.aws" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_uppercase_cache_prefix" {
  command = plan

  variables {
    pull_through_cache_rules = { "Quay" = { upstream_registry_url = "quay.io" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_bad_upstream_prefix" {
  command = plan

  variables {
    pull_through_cache_rules = { "quay" = { upstream_registry_url = "quay.io", upstream_repository_prefix = "a" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_credential_outside_ecr_namespace" {
  command = plan

  variables {
    pull_through_cache_rules = { "docker-hub" = { upstream_registry_url = "registry-1.docker.io", credential_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-credentials-AbCdEf" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_docker_hub_without_credential" {
  command = plan

  variables {
    pull_through_cache_rules = { "docker-hub" = { upstream_registry_url = "registry-1.docker.io" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_ghcr_without_credential" {
  command = plan

  variables {
    pull_through_cache_rules = { "github" = { upstream_registry_url = "ghcr.io" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_gitlab_without_credential" {
  command = plan

  variables {
    pull_through_cache_rules = { "gitlab" = { upstream_registry_url = "registry.gitlab.com" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_bad_cache_role" {
  command = plan

  variables {
    pull_through_cache_rules = { "ecr-central" = { upstream_registry_url = "210987654321.dkr.ecr.us-east-1.amazonaws.com", custom_role_arn = "arn:aws:iam::210987654321:user/x" } }
  }

  expect_failures = [var.pull_through_cache_rules]
}

run "rejects_bad_template_prefix" {
  command = plan

  variables {
    repository_creation_templates = { "Team/App" = {} }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_bad_applied_for" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { applied_for = ["ON_PULL"] } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_empty_applied_for" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { applied_for = [] } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_create_on_push_with_provider_5" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { applied_for = ["CREATE_ON_PUSH"] } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_bad_mutability" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { image_tag_mutability = "READ_ONLY" } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_exclusion_mode_with_provider_5" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION", image_tag_mutability_exclusion_filters = ["dev-*"] } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_exclusion_mode_without_filters" {
  command = plan

  variables {
    provider_supports_tag_mutability_exclusions = true
    repository_creation_templates               = { ROOT = { image_tag_mutability = "MUTABLE_WITH_EXCLUSION" } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_six_exclusion_filters" {
  command = plan

  variables {
    provider_supports_tag_mutability_exclusions = true
    repository_creation_templates               = { ROOT = { image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION", image_tag_mutability_exclusion_filters = ["a*", "b*", "c*", "d*", "e*", "f*"] } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_bad_exclusion_filter" {
  command = plan

  variables {
    provider_supports_tag_mutability_exclusions = true
    repository_creation_templates               = { ROOT = { image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION", image_tag_mutability_exclusion_filters = ["dev/*"] } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_bad_encryption_type" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { encryption_type = "DES" } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_kms_key_with_aes256" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_bad_kms_key_arn" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { encryption_type = "KMS", kms_key_arn = "alias/ecr" } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_repository_policy_without_statement" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { repository_policy_json = "{\"Version\":\"2012-10-17\"}" } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_bad_template_role" {
  command = plan

  variables {
    repository_creation_templates = { ROOT = { custom_role_arn = "role/ecr-templates" } }
  }

  expect_failures = [var.repository_creation_templates]
}

run "rejects_bad_source_account" {
  command = plan

  variables {
    replication_source_account_ids = ["1111-2222-3333"]
  }

  expect_failures = [var.replication_source_account_ids]
}

run "rejects_duplicate_source_account" {
  command = plan

  variables {
    replication_source_account_ids = ["111122223333", "111122223333"]
  }

  expect_failures = [var.replication_source_account_ids]
}

run "exclusion_filters_are_not_sent_by_this_module_version" {
  command = plan

  variables {
    provider_supports_tag_mutability_exclusions = true
    repository_creation_templates               = { ROOT = { image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION", image_tag_mutability_exclusion_filters = ["dev-*"] } }
  }

  expect_failures = [aws_ecr_repository_creation_template.this["ROOT"]]
}

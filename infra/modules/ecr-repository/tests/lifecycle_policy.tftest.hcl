# Offline tests of the lifecycle-policy helper and the variable validation:
# `terraform test` with a mocked provider, plan only.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name = "team-a/app"
}

run "no_policy_by_default" {
  command = plan

  assert {
    condition     = output.lifecycle_policy == null
    error_message = "No lifecycle inputs must mean no lifecycle policy."
  }
  assert {
    condition     = length(aws_ecr_lifecycle_policy.this) == 0 && length(aws_ecr_repository_policy.this) == 0
    error_message = "No lifecycle policy or repository policy resource expected."
  }
  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push
    error_message = "Defaults must be IMMUTABLE tags and scan on push."
  }
}

run "simple_inputs_render_a_valid_policy" {
  command = plan

  variables {
    lifecycle_rules = {
      expire_untagged_after_days = 14
      keep_tagged = [
        { tag_prefixes = ["release-", "v"], keep = 30 },
        { tag_patterns = ["*-rc*"], keep = 5, description = "Release candidates" },
      ]
      keep_any = 500
    }
  }

  assert {
    condition = jsondecode(output.lifecycle_policy) == {
      rules = [
        {
          rulePriority = 1
          description  = "Expire untagged images 14 days after push"
          selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 14 }
          action       = { type = "expire" }
        },
        {
          rulePriority = 10
          description  = "Keep the newest 30 images tagged release-*, v*"
          selection    = { tagStatus = "tagged", tagPrefixList = ["release-", "v"], countType = "imageCountMoreThan", countNumber = 30 }
          action       = { type = "expire" }
        },
        {
          rulePriority = 11
          description  = "Release candidates"
          selection    = { tagStatus = "tagged", tagPatternList = ["*-rc*"], countType = "imageCountMoreThan", countNumber = 5 }
          action       = { type = "expire" }
        },
        {
          rulePriority = 100
          description  = "Keep the newest 500 images of any kind"
          selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 500 }
          action       = { type = "expire" }
        },
      ]
    }
    error_message = "Unexpected policy: ${output.lifecycle_policy}"
  }
  assert {
    condition     = aws_ecr_lifecycle_policy.this[0].policy == output.lifecycle_policy
    error_message = "The rendered policy must be the one applied."
  }
}

run "untagged_only_policy_is_long_enough" {
  command = plan

  variables {
    lifecycle_rules = { expire_untagged_after_days = 1 }
  }

  assert {
    condition     = length(output.lifecycle_policy) >= 100 && length(jsondecode(output.lifecycle_policy).rules) == 1
    error_message = "A single untagged rule must still meet ECR's 100-character minimum."
  }
}

run "raw_policy_is_passed_through" {
  command = plan

  variables {
    lifecycle_policy_json = "{\"rules\":[{\"rulePriority\":1,\"description\":\"keep 3 any\",\"selection\":{\"tagStatus\":\"any\",\"countType\":\"imageCountMoreThan\",\"countNumber\":3},\"action\":{\"type\":\"expire\"}}]}"
  }

  assert {
    condition     = output.lifecycle_policy == var.lifecycle_policy_json
    error_message = "Raw policy must be applied verbatim."
  }
}

run "repository_policy_when_principals_given" {
  command = plan

  variables {
    pull_account_ids    = ["111122223333"]
    push_principal_arns = ["arn:aws:iam::123456789012:role/ci"]
  }

  assert {
    condition     = length(aws_ecr_repository_policy.this) == 1
    error_message = "A repository policy is expected when principals are given."
  }
}

run "raw_and_simple_are_exclusive" {
  command = plan

  variables {
    lifecycle_policy_json = "{\"rules\":[{\"rulePriority\":1,\"description\":\"keep 3 any\",\"selection\":{\"tagStatus\":\"any\",\"countType\":\"imageCountMoreThan\",\"countNumber\":3},\"action\":{\"type\":\"expire\"}}]}"
    lifecycle_rules       = { keep_any = 3 }
  }

  expect_failures = [aws_ecr_repository.this]
}

run "rejects_uppercase_name" {
  command = plan

  variables {
    name = "Team-A/App"
  }

  expect_failures = [var.name]
}

run "rejects_one_character_name" {
  command = plan

  variables {
    name = "a"
  }

  expect_failures = [var.name]
}

run "rejects_exclusion_mutability" {
  command = plan

  variables {
    image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION"
  }

  expect_failures = [var.image_tag_mutability]
}

run "rejects_zero_count" {
  command = plan

  variables {
    lifecycle_rules = { keep_tagged = [{ tag_prefixes = ["v"], keep = 0 }] }
  }

  expect_failures = [var.lifecycle_rules]
}

run "rejects_prefixes_and_patterns_in_one_rule" {
  command = plan

  variables {
    lifecycle_rules = { keep_tagged = [{ tag_prefixes = ["v"], tag_patterns = ["v*"], keep = 3 }] }
  }

  expect_failures = [var.lifecycle_rules]
}

run "rejects_five_wildcards" {
  command = plan

  variables {
    lifecycle_rules = { keep_tagged = [{ tag_patterns = ["*a*b*c*d*"], keep = 3 }] }
  }

  expect_failures = [var.lifecycle_rules]
}

run "rejects_duplicate_prefix_sets" {
  command = plan

  variables {
    lifecycle_rules = { keep_tagged = [{ tag_prefixes = ["v", "release-"], keep = 3 }, { tag_prefixes = ["release-", "v"], keep = 9 }] }
  }

  expect_failures = [var.lifecycle_rules]
}

run "rejects_fractional_untagged_days" {
  command = plan

  variables {
    lifecycle_rules = { expire_untagged_after_days = 1.5 }
  }

  expect_failures = [var.lifecycle_rules]
}

run "rejects_empty_simple_inputs" {
  command = plan

  variables {
    lifecycle_rules = {}
  }

  expect_failures = [var.lifecycle_rules]
}

run "rejects_bad_pull_account" {
  command = plan

  variables {
    pull_account_ids = ["12345"]
  }

  expect_failures = [var.pull_account_ids]
}

# Offline tests of the lifecycle-policy generator and its input validation
# (`terraform test`, plan only; the module has no provider).

run "null_rules_mean_no_policy" {
  command = plan

  assert {
    condition     = output.json == null && length(output.rules) == 0
    error_message = "rules = null must give no policy."
  }
}

run "simple_inputs_render_a_valid_policy" {
  command = plan

  variables {
    rules = {
      expire_untagged_after_days = 14
      keep_tagged = [
        { tag_prefixes = ["release-", "v"], keep = 30 },
        { tag_patterns = ["*-rc*"], keep = 5, description = "Release candidates" },
      ]
      keep_any = 500
    }
  }

  assert {
    condition = jsondecode(output.json) == {
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
    error_message = "Unexpected policy: ${output.json}"
  }
  assert {
    condition     = length(output.rules) == 4
    error_message = "Four rules expected."
  }
}

run "rejects_zero_count" {
  command = plan

  variables {
    rules = { keep_tagged = [{ tag_prefixes = ["v"], keep = 0 }] }
  }

  expect_failures = [var.rules]
}

run "rejects_prefixes_and_patterns_in_one_rule" {
  command = plan

  variables {
    rules = { keep_tagged = [{ tag_prefixes = ["v"], tag_patterns = ["v*"], keep = 3 }] }
  }

  expect_failures = [var.rules]
}

run "rejects_five_wildcards" {
  command = plan

  variables {
    rules = { keep_tagged = [{ tag_patterns = ["*a*b*c*d*"], keep = 3 }] }
  }

  expect_failures = [var.rules]
}

run "rejects_duplicate_prefix_sets" {
  command = plan

  variables {
    rules = { keep_tagged = [{ tag_prefixes = ["v", "release-"], keep = 3 }, { tag_prefixes = ["release-", "v"], keep = 9 }] }
  }

  expect_failures = [var.rules]
}

run "rejects_fractional_untagged_days" {
  command = plan

  variables {
    rules = { expire_untagged_after_days = 1.5 }
  }

  expect_failures = [var.rules]
}

run "rejects_empty_simple_inputs" {
  command = plan

  variables {
    rules = {}
  }

  expect_failures = [var.rules]
}

run "rejects_bad_tag_characters" {
  command = plan

  variables {
    rules = { keep_tagged = [{ tag_prefixes = ["v 1"], keep = 3 }] }
  }

  expect_failures = [var.rules]
}

run "rejects_wildcard_in_prefix" {
  command = plan

  variables {
    rules = { keep_tagged = [{ tag_prefixes = ["v*"], keep = 3 }] }
  }

  expect_failures = [var.rules]
}

run "rejects_fractional_keep_any" {
  command = plan

  variables {
    rules = { keep_any = 2.5 }
  }

  expect_failures = [var.rules]
}

run "rejects_49_tag_rules" {
  command = plan

  variables {
    rules = { keep_tagged = [for i in range(49) : { tag_prefixes = ["p${i}-"], keep = 1 }] }
  }

  expect_failures = [var.rules]
}

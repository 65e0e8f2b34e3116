# Organization-wide example: up to two member accounts (var.members, keys member_a and
# member_b) in the hub's Region. Terraform cannot for_each over providers, so each member
# has a fixed provider alias and a module block with count: an absent member creates
# nothing, and its provider stays on the default credentials (it is never used).
# For more members, copy a pair of blocks, or run one configuration per member (see
# docs/organization.md).

locals {
  member_a = lookup(var.members, "member_a", null)
  member_b = lookup(var.members, "member_b", null)

  # The role Terraform assumes in a member: deploy_role_arn, or the role AWS Organizations
  # creates in the accounts it creates.
  member_deploy_role_arns = {
    for key, member in var.members : key => coalesce(
      member.deploy_role_arn,
      "arn:${data.aws_partition.current.partition}:iam::${member.account_id}:role/OrganizationAccountAccessRole",
    )
  }

  # The janitor's targets section for the members (unless janitor_config has its own).
  member_targets = merge(
    {
      accounts = [for key, member in var.members : { account = member.account_id, regions = [var.region] }]
      roleName = var.member_role_name
    },
    { for key, value in { externalId = var.member_external_id } : key => value if value != null },
  )
}

provider "aws" {
  alias  = "member_a"
  region = var.region

  dynamic "assume_role" {
    for_each = local.member_a == null ? [] : [local.member_deploy_role_arns["member_a"]]
    content {
      role_arn     = assume_role.value
      session_name = "ecr-janitor-terraform"
    }
  }

  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "member_b"
  region = var.region

  dynamic "assume_role" {
    for_each = local.member_b == null ? [] : [local.member_deploy_role_arns["member_b"]]
    content {
      role_arn     = assume_role.value
      session_name = "ecr-janitor-terraform"
    }
  }

  default_tags {
    tags = var.tags
  }
}

module "member_a" {
  source    = "./modules/janitor-member"
  count     = local.member_a == null ? 0 : 1
  providers = { aws = aws.member_a }

  hub_role_arns  = values(module.janitor.role_arns)
  hub_bus_arn    = module.janitor.bus_arn
  role_name      = var.member_role_name
  external_id    = var.member_external_id
  enforce        = try(local.member_a.enforce, false)
  forward_events = try(local.member_a.forward_events, true)
}

module "member_b" {
  source    = "./modules/janitor-member"
  count     = local.member_b == null ? 0 : 1
  providers = { aws = aws.member_b }

  hub_role_arns  = values(module.janitor.role_arns)
  hub_bus_arn    = module.janitor.bus_arn
  role_name      = var.member_role_name
  external_id    = var.member_external_id
  enforce        = try(local.member_b.enforce, false)
  forward_events = try(local.member_b.forward_events, true)
}

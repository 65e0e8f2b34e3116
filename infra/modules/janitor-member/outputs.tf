output "role_arn" {
  description = "ARN of the role the hub assumes in this account (also where another instance creates it: create_role = false)."
  value       = var.create_role ? aws_iam_role.member[0].arn : local.role_arn
}

output "role_name" {
  description = "Name of the role the hub assumes (the configuration's targets.roleName)."
  value       = var.role_name
}

output "account_id" {
  description = "This member's account ID (for the configuration's targets.accounts)."
  value       = local.account
}

output "region" {
  description = "This instance's Region."
  value       = local.region
}

output "forwarding_rule_arns" {
  description = "ARNs of the forwarding rules on this Region's default bus, by event (image-push, basic-scan, inspector-finding); empty without forward_events."
  value       = { for key, rule in aws_cloudwatch_event_rule.forward : key => rule.arn }
}

output "forwarder_role_arn" {
  description = "ARN of the role EventBridge uses to put this Region's events on the hub's bus (null without forward_events)."
  value       = one(aws_iam_role.forwarder[*].arn)
}

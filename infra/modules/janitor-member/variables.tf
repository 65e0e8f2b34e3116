variable "hub_role_arns" {
  description = "Execution role ARNs of the hub's functions (modules/janitor output role_arns): the only principals the member role trusts."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.hub_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "hub_role_arns must be IAM role ARNs."
  }
}

variable "hub_bus_arn" {
  description = "ARN of the hub's janitor bus (modules/janitor output bus_arn): where this account's ECR and Inspector events are forwarded."
  type        = string
  default     = null

  validation {
    condition     = var.hub_bus_arn == null || can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]+$", var.hub_bus_arn))
    error_message = "hub_bus_arn must be an EventBridge event bus ARN."
  }
}

variable "role_name" {
  description = "Name of the role the hub assumes in this account (the configuration's targets.roleName)."
  type        = string
  default     = "ecr-janitor-member"

  validation {
    # The per-Region forwarding role is named ROLE_NAME-events-REGION: IAM allows 64 characters.
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,40}$", var.role_name))
    error_message = "role_name must be 1-40 characters of letters, digits and +=,.@_- (the forwarding role appends -events-REGION)."
  }
}

variable "create_role" {
  description = "Create the role the hub assumes. IAM is global: set true in exactly one instance per account (and list every Region in role_regions there)."
  type        = bool
  default     = true
}

variable "role_regions" {
  description = "Regions the member role may act in (every Region with an instance of this module). Empty: the provider's Region. Read only where create_role = true."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for region in var.role_regions : can(regex("^[a-z]{2,4}(-[a-z]+)+-[0-9]+$", region))])
    error_message = "role_regions must be Region names such as us-east-1."
  }
}

variable "repository_arns" {
  description = "ARNs of the repositories the hub may read (and, with enforce, clean). Empty: every repository of this account in role_regions."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.repository_arns : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", arn))])
    error_message = "repository_arns must be ECR repository ARNs."
  }
}

variable "external_id" {
  description = "sts:ExternalId the hub must present when it assumes the role (the configuration's targets.externalId). null: no condition."
  type        = string
  default     = null

  validation {
    condition     = var.external_id == null || (can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.external_id)) && length(coalesce(var.external_id, "-")) >= 2 && length(coalesce(var.external_id, "-")) <= 1224)
    error_message = "external_id must be 2-1224 characters of letters, digits and +=,.@:/_- (STS's rule)."
  }
}

variable "enforce" {
  description = "Let the hub act here: delete and archive images (sweeper, tag enforcer) and import findings into this account's Security Hub (scan forwarder). false: read-only."
  type        = bool
  default     = false
}

variable "forward_events" {
  description = "Forward this Region's ECR image pushes, basic scan completions and Inspector findings on ECR images to the hub's janitor bus."
  type        = bool
  default     = true
}

variable "name_prefix" {
  description = "Prefix of the forwarding rules' names."
  type        = string
  default     = "ecr-janitor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,27}$", var.name_prefix))
    error_message = "name_prefix must be 1-28 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}

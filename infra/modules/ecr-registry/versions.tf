terraform {
  # 1.9: variable validations refer to other variables (the tag-mutability gate).
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the oldest release this module is tested with. It lacks CREATE_ON_PUSH in
      # applied_for and the *_WITH_EXCLUSION tag mutability of creation templates (>= 6.8):
      # both sit behind provider_supports_* gates (see README).
      version = ">= 5.100, < 7.0"
    }
  }
}

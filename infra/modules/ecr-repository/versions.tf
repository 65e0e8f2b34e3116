terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the oldest release this module is tested with. The exclusion modes of
      # image_tag_mutability need >= 6.8 and are therefore not offered here.
      version = ">= 5.100, < 7.0"
    }
  }
}

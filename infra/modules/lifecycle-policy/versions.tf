terraform {
  # Pure computation: no provider. Shared by the modules that need an ECR lifecycle policy.
  required_version = ">= 1.5"
}

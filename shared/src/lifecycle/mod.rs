//! ECR lifecycle policies: model, validation and evaluation (issue 2).

//! ECR lifecycle policies: model, validation and evaluation.
//!
//! The flow is pure and synchronous: [`LifecyclePolicy::parse`] validates the policy
//! document exactly as ECR's `PutLifecyclePolicy` would, [`parse_describe_images`]
//! reads the registry as `aws ecr describe-images` prints it, and [`evaluate`] turns
//! both into a [`Plan`] with exactly one decision per image. Executing the plan
//! against AWS is the sweeper's job.

mod describe_images;
mod evaluate;
mod image;
mod parse;
mod plan;
mod policy;
mod tagged_artifacts;

pub use describe_images::{parse_describe_images, ImagesError};
pub use evaluate::{evaluate, EvaluationInput};
pub use image::{ImageRecord, ImageStatus};
pub use plan::{Action, ImageDecision, KeepReason, Outcome, Plan};
pub use policy::{
    CountCriterion, LifecyclePolicy, PolicyError, PolicyErrors, Rule, Selection, StorageClass,
    TagFilter, TagSelection,
};
pub use tagged_artifacts::{attach_tagged_artifacts, tagged_subject};

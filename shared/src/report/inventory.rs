//! What one planned repository holds and what its plan would change, in images and
//! bytes: pure counting over the sweep's own plan.

use std::collections::HashSet;

use serde::Serialize;

use crate::lifecycle::{tagged_subject, Action, ImageRecord, ImageStatus};
use crate::sweep::protection::ProtectionKind;
use crate::sweep::RepositoryPlan;

/// Images and their bytes (`imageSizeInBytes` summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    pub images: usize,
    pub bytes: i64,
}

impl Amount {
    fn add(&mut self, bytes: i64) {
        self.images += 1;
        self.bytes += bytes;
    }

    fn merge(&mut self, other: Amount) {
        self.images += other.images;
        self.bytes += other.bytes;
    }
}

/// What an image is, for the report. Each image has exactly one kind; the first that
/// applies wins, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// In the archive storage class (archived, or being restored).
    Archived,
    /// A signature, attestation or SBOM: it names a subject (`subjectManifestDigest`)
    /// or carries only cosign-style `sha256-<digest>.<suffix>` tags.
    Referrer,
    /// A multi-platform image index (manifest list).
    Index,
    /// An image listed by an image index of the repository.
    IndexChild,
    /// Any other image.
    Image,
}

/// Images and bytes of each kind; every kind is always present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ByKind {
    pub image: Amount,
    pub index: Amount,
    pub index_child: Amount,
    pub referrer: Amount,
    pub archived: Amount,
}

impl ByKind {
    fn kind_mut(&mut self, kind: ImageKind) -> &mut Amount {
        match kind {
            ImageKind::Archived => &mut self.archived,
            ImageKind::Referrer => &mut self.referrer,
            ImageKind::Index => &mut self.index,
            ImageKind::IndexChild => &mut self.index_child,
            ImageKind::Image => &mut self.image,
        }
    }

    /// The kinds in the order views show them, with their JSON names.
    pub fn named(&self) -> [(&'static str, Amount); 5] {
        [
            ("image", self.image),
            ("index", self.index),
            ("indexChild", self.index_child),
            ("referrer", self.referrer),
            ("archived", self.archived),
        ]
    }

    fn merge(&mut self, other: &ByKind) {
        self.image.merge(other.image);
        self.index.merge(other.index);
        self.index_child.merge(other.index_child);
        self.referrer.merge(other.referrer);
        self.archived.merge(other.archived);
    }
}

/// Protected images and bytes by why they are protected (see [`ProtectionKind`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ByReason {
    pub in_use: Amount,
    pub protected_tag: Amount,
    pub minimum_age: Amount,
    pub index_unreadable: Amount,
}

impl ByReason {
    fn kind_mut(&mut self, kind: ProtectionKind) -> &mut Amount {
        match kind {
            ProtectionKind::InUse => &mut self.in_use,
            ProtectionKind::ProtectedTag => &mut self.protected_tag,
            ProtectionKind::MinimumAge => &mut self.minimum_age,
            ProtectionKind::IndexUnreadable => &mut self.index_unreadable,
        }
    }

    fn merge(&mut self, other: &ByReason) {
        self.in_use.merge(other.in_use);
        self.protected_tag.merge(other.protected_tag);
        self.minimum_age.merge(other.minimum_age);
        self.index_unreadable.merge(other.index_unreadable);
    }
}

/// Bytes by storage class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ByClass {
    pub standard: i64,
    pub archive: i64,
}

impl ByClass {
    pub fn total(&self) -> i64 {
        self.standard + self.archive
    }

    fn class_mut(&mut self, status: ImageStatus) -> &mut i64 {
        match status {
            ImageStatus::Active => &mut self.standard,
            ImageStatus::Archived | ImageStatus::Activating => &mut self.archive,
        }
    }

    fn merge(&mut self, other: ByClass) {
        self.standard += other.standard;
        self.archive += other.archive;
    }
}

/// The counts of a repository, or of all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// Every image.
    pub images: Amount,
    pub by_kind: ByKind,
    /// What the plan expires.
    pub expire: Amount,
    /// What the plan moves to the archive storage class.
    pub transition: Amount,
    /// What is never acted on, whatever the policy says.
    pub protected: Amount,
    pub protected_by: ByReason,
    pub bytes_now: ByClass,
    /// Once the plan is carried out: expired bytes gone, transitioned bytes archived.
    pub bytes_after: ByClass,
}

impl Inventory {
    /// Counts the images of a plan, what it acts on and what it protects.
    pub fn of(plan: &RepositoryPlan) -> Self {
        let mut inventory = Inventory::default();
        let children: HashSet<&str> = plan
            .indexes
            .children
            .values()
            .flatten()
            .map(String::as_str)
            .collect();
        for image in &plan.images {
            let bytes = image.size_bytes.unwrap_or(0);
            inventory.images.add(bytes);
            inventory
                .by_kind
                .kind_mut(kind_of(image, &children))
                .add(bytes);
            *inventory.bytes_now.class_mut(image.status) += bytes;
            if let Some(reason) = plan.protections.kinds.get(&image.digest) {
                inventory.protected.add(bytes);
                inventory.protected_by.kind_mut(*reason).add(bytes);
            }
        }
        inventory.bytes_after = inventory.bytes_now;
        for action in &plan.actions {
            let bytes = action.size_bytes.unwrap_or(0);
            let from = inventory.bytes_after.class_mut(action.seen.status);
            *from -= bytes;
            match action.action {
                Action::Expire => inventory.expire.add(bytes),
                Action::Transition => {
                    inventory.transition.add(bytes);
                    inventory.bytes_after.archive += bytes;
                }
            }
        }
        inventory
    }

    /// Adds another repository's counts.
    pub fn merge(&mut self, other: &Inventory) {
        self.images.merge(other.images);
        self.by_kind.merge(&other.by_kind);
        self.expire.merge(other.expire);
        self.transition.merge(other.transition);
        self.protected.merge(other.protected);
        self.protected_by.merge(&other.protected_by);
        self.bytes_now.merge(other.bytes_now);
        self.bytes_after.merge(other.bytes_after);
    }
}

/// The kind of `image`; `index_children` are the digests the repository's readable
/// indexes list.
pub fn kind_of(image: &ImageRecord, index_children: &HashSet<&str>) -> ImageKind {
    let tagged_artifact =
        !image.tags.is_empty() && image.tags.iter().all(|tag| tagged_subject(tag).is_some());
    if image.status != ImageStatus::Active {
        ImageKind::Archived
    } else if image.subject_digest.is_some() || tagged_artifact {
        ImageKind::Referrer
    } else if image.is_index() {
        ImageKind::Index
    } else if index_children.contains(image.digest.as_str()) {
        ImageKind::IndexChild
    } else {
        ImageKind::Image
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use chrono::DateTime;

    use super::*;
    use crate::lifecycle::{Outcome, Plan};
    use crate::sweep::config::SweepMode;
    use crate::sweep::manifests::IndexChildren;
    use crate::sweep::protection::Protections;
    use crate::sweep::report::{planned_actions, PolicyKind, RepositorySummary};

    fn image(digest: &str, tags: &[&str], bytes: i64) -> ImageRecord {
        ImageRecord {
            size_bytes: Some(bytes),
            ..ImageRecord::active(digest, tags, DateTime::from_timestamp(0, 0).expect("epoch"))
        }
    }

    fn act(digest: &str, action: Action) -> crate::lifecycle::ImageDecision<'static> {
        crate::lifecycle::ImageDecision {
            digest: digest.to_owned().into(),
            outcome: Outcome::Act {
                action,
                rule_priority: 1,
            },
        }
    }

    #[test]
    fn every_image_has_one_kind_and_the_plan_moves_its_bytes() {
        let signature_tag = format!("sha256-{}.sig", "a".repeat(64));
        let mut index = image("sha256:index", &["multi"], 10);
        index.manifest_media_type = Some("application/vnd.oci.image.index.v1+json".into());
        let mut archived = image("sha256:old", &["v0"], 1000);
        archived.status = ImageStatus::Archived;
        let mut attested = image("sha256:att", &[], 7);
        attested.subject_digest = Some("sha256:app".into());
        let images = vec![
            image("sha256:app", &["v1"], 100),
            image("sha256:child", &[], 50),
            index,
            image("sha256:sig", &[signature_tag.as_str()], 5),
            attested,
            archived,
            image("sha256:untagged", &[], 200),
        ];
        let plan = Plan {
            decisions: vec![
                act("sha256:old", Action::Expire),
                act("sha256:untagged", Action::Transition),
            ],
        };
        let children =
            HashMap::from([("sha256:index".to_owned(), vec!["sha256:child".to_owned()])]);
        let actions = planned_actions(&plan, &images, &children);
        let repository_plan = RepositoryPlan {
            summary: RepositorySummary::new("app", PolicyKind::Configured, SweepMode::DryRun),
            indexes: IndexChildren {
                children,
                unreadable: BTreeMap::new(),
            },
            protections: Protections {
                reasons: HashMap::from([("sha256:app".to_owned(), "protected tag v1".to_owned())]),
                kinds: HashMap::from([("sha256:app".to_owned(), ProtectionKind::ProtectedTag)]),
            },
            images,
            plan: Plan::default(),
            actions,
            protected: Vec::new(),
            listed_at: DateTime::from_timestamp(0, 0).expect("epoch"),
        };
        let one = |bytes| Amount { images: 1, bytes };
        let inventory = Inventory::of(&repository_plan);
        assert_eq!(
            inventory,
            Inventory {
                images: Amount {
                    images: 7,
                    bytes: 1372
                },
                by_kind: ByKind {
                    image: Amount {
                        images: 2,
                        bytes: 300
                    },
                    index: one(10),
                    index_child: one(50),
                    referrer: Amount {
                        images: 2,
                        bytes: 12
                    },
                    archived: one(1000),
                },
                expire: one(1000),
                transition: one(200),
                protected: one(100),
                protected_by: ByReason {
                    protected_tag: one(100),
                    ..ByReason::default()
                },
                bytes_now: ByClass {
                    standard: 372,
                    archive: 1000
                },
                bytes_after: ByClass {
                    standard: 172,
                    archive: 200
                },
            }
        );
        let mut total = inventory;
        total.merge(&inventory);
        assert_eq!(total.by_kind.referrer.bytes, 24);
        assert_eq!(total.bytes_after.total(), 744);
    }
}

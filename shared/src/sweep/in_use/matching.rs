//! Matching the uses of every source against one repository's images.
//!
//! References are parsed (see [`crate::sweep::reference`]) rather than compared as
//! text, because one registry answers to several host names: a task may name
//! `ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com/app:v1`, the dual-stack
//! `ACCOUNT.dkr-ecr.REGION.on.aws/app:v1` or add `:443`, and still run this
//! repository's image. A reference names an image by digest (`…/repo@sha256:…`,
//! Lambda's `ResolvedImageUri`) or by tag (`…/repo:tag`, `…/repo` = `latest`); tags are
//! resolved to the image they point at now. The digest a workload resolved its
//! reference to (ECS's `imageDigest`, a pod's `imageID`) protects that image whatever
//! the reference says. Every form found protects its image: over-protecting costs a
//! sweep cycle, under-protecting breaks a running service.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::ImageUse;
use crate::lifecycle::ImageRecord;
use crate::sweep::reference::{EcrRepository, ImageReference, Registry};

/// The tag a reference without tag or digest means.
const IMPLICIT_TAG: &str = "latest";

/// Digest → protection reason for the images of one repository that are in use.
///
/// A use names the repository at `repository_uri` when its reference is an ECR host of
/// the same account and Region, in any host form, and its path is the repository's
/// name exactly. Its tag protects the image the tag points at now, its digest that
/// image. Independently, the digest the workload resolved (`ImageUse::digest`) protects
/// the image with that digest in this repository, whatever the reference said
/// (another host form, an unparseable text, another registry): the same digest means
/// the same image, and over-protecting is the safe mistake. When `repository_uri`
/// itself cannot be parsed, no reference names the repository and only resolved
/// digests protect.
pub fn protect_in_use(
    uses: &[ImageUse],
    repository_uri: &str,
    images: &[ImageRecord],
) -> HashMap<String, String> {
    let repository = match EcrRepository::from_uri(repository_uri) {
        Ok(repository) => Some(repository),
        Err(err) => {
            tracing::warn!(
                repository_uri,
                error = %err,
                "repository URI not understood: only resolved digests protect its images"
            );
            None
        }
    };
    let present: HashSet<&str> = images.iter().map(|image| image.digest.as_str()).collect();
    let tagged: HashMap<&str, &str> = images
        .iter()
        .flat_map(|image| {
            image
                .tags
                .iter()
                .map(|tag| (tag.as_str(), image.digest.as_str()))
        })
        .collect();
    let mut holders: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for image_use in uses {
        let named = repository.as_ref().and_then(|repository| {
            ImageReference::parse(&image_use.image)
                .ok()
                .filter(|reference| {
                    repository.is_named_by(reference)
                        || (image_use.bare_is_this_registry
                            && reference.registry == Registry::Implicit
                            && reference.repository == repository.name)
                })
        });
        let mut digests: Vec<&str> = Vec::new();
        if let Some(reference) = &named {
            let tag = match (&reference.tag, &reference.digest) {
                (Some(tag), _) => Some(tag.as_str()),
                (None, None) => Some(IMPLICIT_TAG),
                (None, Some(_)) => None,
            };
            digests.extend(tag.and_then(|tag| tagged.get(tag).copied()));
            digests.extend(reference.digest.as_deref());
        }
        digests.extend(image_use.digest.as_deref());
        for digest in digests
            .into_iter()
            .filter(|digest| present.contains(digest))
        {
            holders
                .entry(digest.to_owned())
                .or_default()
                .insert(&image_use.user);
        }
    }
    holders
        .into_iter()
        .map(|(digest, holders)| (digest, in_use_by(&holders)))
        .collect()
}

/// Holders named in one protection reason; the rest are counted.
const NAMED_HOLDERS: usize = 3;

/// `in use by A; B; C and 2 more`, holders in order.
fn in_use_by(holders: &BTreeSet<&str>) -> String {
    let named: Vec<&str> = holders.iter().take(NAMED_HOLDERS).copied().collect();
    let more = holders.len().saturating_sub(NAMED_HOLDERS);
    match more {
        0 => format!("in use by {}", named.join("; ")),
        more => format!("in use by {} and {more} more", named.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api";

    /// A well-formed digest made of one repeated hex digit.
    fn digest(hex: char) -> String {
        format!("sha256:{}", hex.to_string().repeat(64))
    }

    fn image(hex: char, tags: &[&str]) -> ImageRecord {
        ImageRecord::active(
            &digest(hex),
            tags,
            chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
        )
    }

    fn used(image: &str, digest: Option<&str>, user: &str) -> ImageUse {
        ImageUse::new(image, digest, user)
    }

    /// The protected digests, sorted.
    fn protected_digests(
        uses: &[ImageUse],
        repository_uri: &str,
        images: &[ImageRecord],
    ) -> Vec<String> {
        let mut digests: Vec<String> = protect_in_use(uses, repository_uri, images)
            .into_keys()
            .collect();
        digests.sort();
        digests
    }

    #[test]
    fn parses_every_reference_form() {
        let images = [
            image('a', &["v1"]),
            image('b', &["latest"]),
            image('c', &[]),
        ];
        let (a, b, c) = (digest('a'), digest('b'), digest('c'));
        let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
        for (reference, expected) in [
            // This repository, through every host form of its registry.
            (format!("{URI}:v1"), vec![a]),
            (URI.to_owned(), vec![b]),
            (format!("{URI}@{c}"), vec![c]),
            (format!("{URI}:v1@{c}"), vec![a, c]),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/team/api:v1".into(),
                vec![a],
            ),
            (
                "123456789012.dkr-ecr.us-east-1.on.aws/team/api:v1".into(),
                vec![a],
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-1.on.aws/team/api".into(),
                vec![b],
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com:443/team/api:v1".into(),
                vec![a],
            ),
            (
                "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM/team/api:v1".into(),
                vec![a],
            ),
            // Another account, Region, port or registry, another repository whose name
            // starts with this one's, or nonsense.
            (
                "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/api:v1".into(),
                vec![],
            ),
            (
                "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/api:v1".into(),
                vec![],
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com:8443/team/api:v1".into(),
                vec![],
            ),
            ("registry.example.com/team/api:v1".into(), vec![]),
            ("team/api:v1".into(), vec![]),
            (format!("{URI}-worker:v1"), vec![]),
            (format!("{URI}/sub:v1"), vec![]),
            (format!("{URI}:"), vec![]),
            (format!("{URI}@sha256@{c}"), vec![]),
            ("nginx:latest".into(), vec![]),
        ] {
            let uses = [used(&reference, None, "ECS task t1")];
            assert_eq!(
                protected_digests(&uses, URI, &images),
                expected,
                "{reference}"
            );
        }
    }

    #[test]
    fn matches_china_partition_hosts() {
        let uri = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/api";
        let images = [image('a', &["v1"])];
        for (reference, expected) in [
            (format!("{uri}:v1"), vec![digest('a')]),
            (
                "123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn/team/api:v1".into(),
                vec![digest('a')],
            ),
            (
                "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn/team/api:v1".into(),
                vec![],
            ),
            (format!("{URI}:v1"), vec![]),
        ] {
            let uses = [used(&reference, None, "ECS task t1")];
            assert_eq!(
                protected_digests(&uses, uri, &images),
                expected,
                "{reference}"
            );
        }
    }

    #[test]
    fn protects_images_by_tag_digest_and_resolved_digest() {
        let images = [
            image('a', &["v1"]),
            image('b', &["latest"]),
            image('c', &[]),
            image('d', &[]),
            image('e', &["v5"]),
            image('f', &[]),
            image('0', &[]),
            image('8', &["v8"]),
        ];
        let (c, d, e, f, zero) = (
            digest('c'),
            digest('d'),
            digest('e'),
            digest('f'),
            digest('0'),
        );
        let elsewhere = digest('9');
        let uses = [
            used(&format!("{URI}:v1"), None, "ECS task t1"),
            used(URI, None, "ECS task t2"),
            used(&format!("{URI}@{c}"), None, "Lambda function f:1"),
            // The tag moved on; the digest the task resolved still runs.
            used(&format!("{URI}:gone"), Some(&d), "ECS task t3"),
            // Resolved digests protect whatever the reference said: another
            // repository's name, another registry, an unparseable text.
            used(&format!("{URI}-other:v5"), Some(&e), "ECS task t4"),
            used("public.ecr.aws/team/api:v1", Some(&f), "ECS task t5"),
            used("not a reference", Some(&zero), "ECS task t6"),
            // A digest of an image that is not in this repository protects nothing here.
            used(&format!("{URI}:v1"), Some(&elsewhere), "ECS task t7"),
            // Another account's repository of the same name is not this one.
            used(
                "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/api:v8",
                None,
                "ECS task t8",
            ),
        ];
        let protected = protect_in_use(&uses, URI, &images);
        let mut found: Vec<(&str, &str)> = protected
            .iter()
            .map(|(digest, reason)| (digest.as_str(), reason.as_str()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                (zero.as_str(), "in use by ECS task t6"),
                // t7 names the tag too; its resolved digest is not in this repository.
                (digest('a').as_str(), "in use by ECS task t1; ECS task t7"),
                (digest('b').as_str(), "in use by ECS task t2"),
                (c.as_str(), "in use by Lambda function f:1"),
                (d.as_str(), "in use by ECS task t3"),
                (e.as_str(), "in use by ECS task t4"),
                (f.as_str(), "in use by ECS task t5"),
            ]
        );
    }

    #[test]
    fn an_unparseable_repository_uri_honours_only_resolved_digests() {
        let images = [image('a', &["v1"]), image('b', &[])];
        let uses = [
            used(&format!("{URI}:v1"), None, "ECS task t1"),
            used(&format!("{URI}:v2"), Some(&digest('b')), "ECS task t2"),
        ];
        for uri in ["", "not a uri", "registry.example.com/team/api", "team/api"] {
            assert_eq!(
                protected_digests(&uses, uri, &images),
                vec![digest('b')],
                "{uri}"
            );
        }
    }

    #[test]
    fn a_bare_reference_names_this_registry_only_where_the_source_says_so() {
        let images = [image('a', &["v1"]), image('b', &[])];
        let listed = ImageUse {
            bare_is_this_registry: true,
            ..used("team/api:v1", None, "list")
        };
        let docker_hub = used("team/api:v1", None, "ECS task t");
        let listed_digest = ImageUse {
            bare_is_this_registry: true,
            ..used(&format!("team/api@{}", digest('b')), None, "list")
        };
        assert_eq!(
            protected_digests(&[listed, listed_digest], URI, &images),
            vec![digest('a'), digest('b')]
        );
        assert_eq!(
            protected_digests(&[docker_hub], URI, &images),
            Vec::<String>::new()
        );
    }

    #[test]
    fn every_holder_of_an_image_is_named_up_to_three() {
        let images = [image('a', &["v1"])];
        let reference = format!("{URI}:v1");
        let uses: Vec<ImageUse> = [
            "ECS task t2",
            "ECS service prod/web",
            "Lambda function f:1",
            "ECS task t2",
        ]
        .iter()
        .map(|user| used(&reference, None, user))
        .collect();
        let reason = |uses: &[ImageUse]| protect_in_use(uses, URI, &images)[&digest('a')].clone();
        assert_eq!(
            reason(&uses),
            "in use by ECS service prod/web; ECS task t2; Lambda function f:1"
        );
        let mut more = uses.clone();
        more.push(used(&reference, None, "Batch job definition nightly:3"));
        more.push(used(&reference, None, "ECS task t9"));
        assert_eq!(
            reason(&more),
            "in use by Batch job definition nightly:3; ECS service prod/web; ECS task t2 and 2 more"
        );
    }
}

//! Artifacts attached by tag. cosign (and tools like it) without OCI referrers store
//! signatures, attestations and SBOMs as manifests of their own, tagged
//! `sha256-<64 hex>.<suffix>` (`.sig`, `.att`, `.sbom`, ...), in the same repository:
//! the tag names the image they belong to. Such an image is given that image as its
//! subject, so that the engine treats it as a referrer: never selected or counted by a
//! rule on its own, kept while its subject is kept, expired with it.

use std::collections::HashSet;

use super::image::ImageRecord;

/// The digest a tag `sha256-<64 hex>.<suffix>` names, as `sha256:<hex>`.
pub fn tagged_subject(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("sha256-")?;
    let (hex, suffix) = rest.split_at_checked(64)?;
    let suffix = suffix.strip_prefix('.')?;
    let hex_ok = hex
        .bytes()
        .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    let suffix_ok = !suffix.is_empty()
        && suffix
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    (hex_ok && suffix_ok).then(|| format!("sha256:{hex}"))
}

/// Gives each image whose tags all name one other image of the repository (and that
/// has no subject yet) that image as its subject. Returns how many were attached.
/// An image that also carries any other tag is left alone: it is an image in its
/// own right.
pub fn attach_tagged_artifacts(images: &mut [ImageRecord]) -> usize {
    let digests: HashSet<String> = images.iter().map(|image| image.digest.clone()).collect();
    let mut attached = 0;
    for image in images.iter_mut() {
        if image.subject_digest.is_some() || image.tags.is_empty() {
            continue;
        }
        let subjects: Option<HashSet<String>> =
            image.tags.iter().map(|tag| tagged_subject(tag)).collect();
        let Some(subjects) = subjects else { continue };
        let mut subjects = subjects.into_iter();
        let (Some(subject), None) = (subjects.next(), subjects.next()) else {
            continue;
        };
        if subject != image.digest && digests.contains(&subject) {
            image.subject_digest = Some(subject);
            attached += 1;
        }
    }
    attached
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn hex(c: char) -> String {
        c.to_string().repeat(64)
    }

    fn image(digest: &str, tags: &[&str]) -> ImageRecord {
        ImageRecord::active(digest, tags, DateTime::from_timestamp(0, 0).expect("epoch"))
    }

    #[test]
    fn a_cosign_tag_names_its_subject() {
        let a = hex('a');
        assert_eq!(
            tagged_subject(&format!("sha256-{a}.sig")),
            Some(format!("sha256:{a}"))
        );
        assert_eq!(
            tagged_subject(&format!("sha256-{a}.att")),
            Some(format!("sha256:{a}"))
        );
        assert_eq!(
            tagged_subject(&format!("sha256-{a}.sbom")),
            Some(format!("sha256:{a}"))
        );
        for not_one in [
            format!("sha256-{a}"),
            format!("sha256-{a}."),
            format!("sha256-{}.sig", &a[..63]),
            format!("sha256-{}.sig", "A".repeat(64)),
            format!("sha512-{a}.sig"),
            "v1.0.0".to_owned(),
        ] {
            assert_eq!(tagged_subject(&not_one), None, "{not_one}");
        }
    }

    #[test]
    fn only_pure_artifacts_of_an_image_present_are_attached() {
        let (a, b) = (
            format!("sha256:{}", hex('a')),
            format!("sha256:{}", hex('b')),
        );
        let sig = format!("sha256-{}.sig", hex('a'));
        let att = format!("sha256-{}.att", hex('a'));
        let orphan = format!("sha256-{}.sig", hex('c'));
        let mut images = [
            image(&a, &["v1"]),
            image(&b, &[sig.as_str(), att.as_str()]),
            image("sha256:mixed", &[sig.as_str(), "v2"]),
            image("sha256:orphan", &[orphan.as_str()]),
            image(
                "sha256:two",
                &[sig.as_str(), &format!("sha256-{}.sig", hex('b'))],
            ),
        ];
        assert_eq!(attach_tagged_artifacts(&mut images), 1);
        let subjects: Vec<Option<&str>> = images
            .iter()
            .map(|image| image.subject_digest.as_deref())
            .collect();
        assert_eq!(subjects, [None, Some(a.as_str()), None, None, None]);
    }
}

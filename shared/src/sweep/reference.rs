//! Container image references, read the way Docker reads them:
//! `[host[:port]/]path[:tag][@sha256:hex]`, where the first path component is a host
//! when it contains `.` or `:`, is `localhost` or has an upper-case letter.
//!
//! One ECR private registry answers to several host names: the standard endpoint, the
//! FIPS endpoint, the dual-stack (IPv6) endpoints and their China-partition variants, in
//! any letter case and with or without its only port, 443. All of them parse to the
//! same [`EcrRegistry`] (account and Region), so that a workload naming an image
//! through any of them is recognised as using that registry's image. Region codes are
//! unique across partitions, so the partition a host suffix names adds nothing to
//! tell registries apart and is not kept.

/// Longest tag ECR accepts (Docker's own grammar stops at 128).
const TAG_MAX_LEN: usize = 300;
/// The only digest algorithm ECR uses for image manifests.
const SHA256_PREFIX: &str = "sha256:";
const SHA256_HEX_LEN: usize = 64;
const ACCOUNT_ID_LEN: usize = 12;
/// The port an ECR registry listens on; naming it explicitly names the same registry.
const ECR_PORT: u16 = 443;
/// Host forms of an ECR private registry, `{account}.{service}.{region}{suffix}`, as
/// (service, suffix): standard, FIPS, dual-stack, dual-stack FIPS, China, China
/// dual-stack.
const ECR_HOST_FORMS: [(&str, &str); 6] = [
    ("dkr.ecr", ".amazonaws.com"),
    ("dkr.ecr-fips", ".amazonaws.com"),
    ("dkr-ecr", ".on.aws"),
    ("dkr-ecr-fips", ".on.aws"),
    ("dkr.ecr", ".amazonaws.com.cn"),
    ("dkr-ecr", ".on.amazonwebservices.com.cn"),
];

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    pub registry: Registry,
    /// The repository path inside the registry, e.g. `team/api` or, in a pull-through
    /// cache, `docker-hub/library/nginx`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:` and 64 lower-case hex digits.
    pub digest: Option<String>,
}

/// The registry a reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registry {
    /// An ECR private registry, whichever of its host names the reference used.
    Ecr(EcrRegistry),
    /// Any other registry, its host (and port) as written.
    Other(String),
    /// No host: Docker Hub, which is never ECR.
    Implicit,
}

/// An ECR private registry: one per account and Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    /// The 12-digit AWS account ID.
    pub account: String,
    /// The Region code in lower case, e.g. `us-east-1`.
    pub region: String,
}

/// An ECR repository, from the URI `DescribeRepositories` reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRepository {
    pub registry: EcrRegistry,
    pub name: String,
}

/// Why a string is not an image reference (or not an ECR repository URI).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("the image reference is empty")]
    Empty,
    #[error("`{0}` is not a registry host (DNS name or [IPv6 address], optional numeric port)")]
    InvalidHost(String),
    #[error(
        "`{0}` is not a repository path (lower-case letters and digits separated by \
         '.', '_', '__' or dashes, components separated by '/')"
    )]
    InvalidRepository(String),
    #[error(
        "`{0}` is not a tag (a letter, digit or '_', then letters, digits, '_', '.' or \
         '-', at most 300 characters)"
    )]
    InvalidTag(String),
    #[error("`{0}` is not a supported digest (`sha256:` and 64 lower-case hex digits)")]
    InvalidDigest(String),
    #[error("`{0}` is not an ECR repository URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)")]
    NotEcrRepository(String),
}

impl ImageReference {
    pub fn parse(reference: &str) -> Result<ImageReference, ReferenceError> {
        if reference.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((name_and_tag, digest)) => (name_and_tag, Some(parse_digest(digest)?)),
            None => (reference, None),
        };
        // A ':' in the last path component starts the tag; one before a '/' is a port's.
        let (name, tag) = match name_and_tag.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, Some(parse_tag(tag)?)),
            _ => (name_and_tag, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if looks_like_host(first) => (parse_host(first)?, path),
            _ => (Registry::Implicit, name),
        };
        if !repository.split('/').all(is_path_component) {
            return Err(ReferenceError::InvalidRepository(repository.to_owned()));
        }
        Ok(ImageReference {
            registry,
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }
}

impl EcrRepository {
    /// Reads a repository URI, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME` or any other
    /// ECR host form, without tag or digest.
    pub fn from_uri(uri: &str) -> Result<EcrRepository, ReferenceError> {
        let not_ecr = || ReferenceError::NotEcrRepository(uri.to_owned());
        match ImageReference::parse(uri).map_err(|_| not_ecr())? {
            ImageReference {
                registry: Registry::Ecr(registry),
                repository,
                tag: None,
                digest: None,
            } => Ok(EcrRepository {
                registry,
                name: repository,
            }),
            _ => Err(not_ecr()),
        }
    }

    /// Whether `reference` names an image of this repository: the same account and
    /// Region through any host form, and exactly this repository path.
    pub fn is_named_by(&self, reference: &ImageReference) -> bool {
        matches!(&reference.registry, Registry::Ecr(registry) if *registry == self.registry)
            && reference.repository == self.name
    }
}

/// Docker's rule: without one of these marks the first component is part of the path
/// (`library/nginx`), with one it is a registry host (`localhost/app`, `host:5000/app`).
fn looks_like_host(component: &str) -> bool {
    component.contains(['.', ':'])
        || component == "localhost"
        || component.bytes().any(|byte| byte.is_ascii_uppercase())
}

fn parse_host(host: &str) -> Result<Registry, ReferenceError> {
    let invalid = || ReferenceError::InvalidHost(host.to_owned());
    // A bracketed IPv6 address has colons of its own; a port's colon follows the ']'.
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => {
            (name, Some(parse_port(port).ok_or_else(invalid)?))
        }
        _ => (host, None),
    };
    if !is_host_name(name) {
        return Err(invalid());
    }
    match (ecr_registry(name), port) {
        (Some(registry), None | Some(ECR_PORT)) => Ok(Registry::Ecr(registry)),
        _ => Ok(Registry::Other(host.to_owned())),
    }
}

fn parse_port(port: &str) -> Option<u16> {
    // `u16::from_str` would also take a leading '+'.
    if port.bytes().all(|byte| byte.is_ascii_digit()) {
        port.parse().ok()
    } else {
        None
    }
}

/// A DNS name (labels of letters, digits and inner dashes) or a bracketed IPv6 address
/// (which always has a colon).
fn is_host_name(name: &str) -> bool {
    if let Some(address) = name
        .strip_prefix('[')
        .and_then(|name| name.strip_suffix(']'))
    {
        return address.contains(':')
            && address
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() || byte == b':');
    }
    name.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
    })
}

/// The ECR registry `host_name` (without port) belongs to, if it is one of the
/// [`ECR_HOST_FORMS`].
fn ecr_registry(host_name: &str) -> Option<EcrRegistry> {
    let host_name = host_name.to_ascii_lowercase();
    let (account, rest) = host_name.split_once('.')?;
    if account.len() != ACCOUNT_ID_LEN || !account.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    ECR_HOST_FORMS.iter().find_map(|(service, suffix)| {
        let region = rest
            .strip_prefix(service)?
            .strip_prefix('.')?
            .strip_suffix(suffix)?;
        // One DNS label: `us-east-1`, `cn-north-1`, `us-gov-west-1`.
        let is_region = !region.is_empty()
            && region
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        is_region.then(|| EcrRegistry {
            account: account.to_owned(),
            region: region.to_owned(),
        })
    })
}

/// Docker's path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(component: &str) -> bool {
    let is_alphanumeric = |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    let bytes = component.as_bytes();
    bytes.first().is_some_and(is_alphanumeric)
        && bytes.last().is_some_and(is_alphanumeric)
        && component
            .split(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            .all(|separator| {
                matches!(separator, "." | "_" | "__") || separator.bytes().all(|byte| byte == b'-')
            })
}

fn parse_tag(tag: &str) -> Result<String, ReferenceError> {
    let is_tag_byte = |byte: &u8| byte.is_ascii_alphanumeric() || *byte == b'_';
    let bytes = tag.as_bytes();
    let valid = bytes.len() <= TAG_MAX_LEN
        && bytes.first().is_some_and(is_tag_byte)
        && bytes
            .iter()
            .all(|byte| is_tag_byte(byte) || *byte == b'.' || *byte == b'-');
    if valid {
        Ok(tag.to_owned())
    } else {
        Err(ReferenceError::InvalidTag(tag.to_owned()))
    }
}

fn parse_digest(digest: &str) -> Result<String, ReferenceError> {
    let is_sha256 = digest.strip_prefix(SHA256_PREFIX).is_some_and(|hex| {
        hex.len() == SHA256_HEX_LEN
            && hex
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    });
    if is_sha256 {
        Ok(digest.to_owned())
    } else {
        Err(ReferenceError::InvalidDigest(digest.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(reference: &str) -> Result<ImageReference, ReferenceError> {
        ImageReference::parse(reference)
    }

    fn ecr(account: &str, region: &str) -> Registry {
        Registry::Ecr(EcrRegistry {
            account: account.into(),
            region: region.into(),
        })
    }

    fn reference(
        registry: Registry,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> ImageReference {
        ImageReference {
            registry,
            repository: repository.into(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        }
    }

    #[test]
    fn parses_every_form_with_and_without_host() {
        let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        let registry = ecr("123456789012", "us-east-1");
        for (prefix, registry) in [
            (format!("{host}/"), registry),
            (String::new(), Registry::Implicit),
        ] {
            let at = |text: &str| parse(&format!("{prefix}{text}"));
            let expect = |repository: &str, tag: Option<&str>, digest: Option<&str>| {
                Ok(reference(registry.clone(), repository, tag, digest))
            };
            assert_eq!(at("app"), expect("app", None, None));
            assert_eq!(at("app:v1"), expect("app", Some("v1"), None));
            assert_eq!(
                at(&format!("app@{DIGEST}")),
                expect("app", None, Some(DIGEST))
            );
            assert_eq!(
                at(&format!("app:v1@{DIGEST}")),
                expect("app", Some("v1"), Some(DIGEST))
            );
            assert_eq!(at("team/app:v1"), expect("team/app", Some("v1"), None));
            assert_eq!(
                at("docker-hub/library/nginx:1.27-alpine"),
                expect("docker-hub/library/nginx", Some("1.27-alpine"), None)
            );
            assert_eq!(
                at("team/a.b_c__d---e:_V.1-x"),
                expect("team/a.b_c__d---e", Some("_V.1-x"), None)
            );
        }
    }

    #[test]
    fn recognises_every_ecr_host_form() {
        for (host, region) in [
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-east-1"),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
                "us-east-1",
            ),
            ("123456789012.dkr-ecr.us-east-1.on.aws", "us-east-1"),
            ("123456789012.dkr-ecr-fips.us-east-1.on.aws", "us-east-1"),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
            ),
            (
                "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                "cn-northwest-1",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
            ),
            ("123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM", "us-east-1"),
            ("123456789012.Dkr-Ecr.Eu-West-3.On.Aws", "eu-west-3"),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
                "us-east-1",
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-1.on.aws:443",
                "us-east-1",
            ),
        ] {
            assert_eq!(
                parse(&format!("{host}/team/app:v1")),
                Ok(reference(
                    ecr("123456789012", region),
                    "team/app",
                    Some("v1"),
                    None
                )),
                "{host}"
            );
        }
    }

    #[test]
    fn other_hosts_are_other_registries() {
        for host in [
            // Not an ECR host: a port ECR does not listen on, a malformed account, an
            // unknown service or suffix, a Region of two labels, ECR Public.
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:5000",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.api.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.org",
            "123456789012.dkr.ecr.us.east-1.amazonaws.com",
            "123456789012.dkr.ecr-fips.cn-north-1.on.amazonwebservices.com.cn.evil.example",
            "public.ecr.aws",
            "docker.io",
            "registry.example.com:5000",
            "localhost",
            "localhost:5000",
            "[::1]:5000",
            "[fe80::1]",
            "Registry",
        ] {
            assert_eq!(
                parse(&format!("{host}/app:v1")),
                Ok(reference(
                    Registry::Other(host.into()),
                    "app",
                    Some("v1"),
                    None
                )),
                "{host}"
            );
        }
        // No host: Docker Hub, including a host-less name with several components.
        assert_eq!(
            parse("library/nginx"),
            Ok(reference(Registry::Implicit, "library/nginx", None, None))
        );
        // A lone `host:port` reads, as in Docker, as repository and tag.
        assert_eq!(
            parse("localhost:5000"),
            Ok(reference(
                Registry::Implicit,
                "localhost",
                Some("5000"),
                None
            ))
        );
    }

    #[test]
    fn names_what_is_wrong() {
        let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        let long_tag = format!("v{}", "1".repeat(TAG_MAX_LEN));
        let longest_tag = &long_tag[..TAG_MAX_LEN];
        assert_eq!(
            parse(&format!("{host}/app:{longest_tag}")).map(|reference| reference.tag),
            Ok(Some(longest_tag.to_owned()))
        );
        for (text, error) in [
            ("", ReferenceError::Empty),
            ("app:", ReferenceError::InvalidTag(String::new())),
            ("app:-v1", ReferenceError::InvalidTag("-v1".into())),
            ("app:v/1", ReferenceError::InvalidHost("app:v".into())),
            (
                format!("app:{long_tag}").as_str(),
                ReferenceError::InvalidTag(long_tag.clone()),
            ),
            ("app@", ReferenceError::InvalidDigest(String::new())),
            (
                "app@sha256:ab",
                ReferenceError::InvalidDigest("sha256:ab".into()),
            ),
            (
                format!("app@{}", DIGEST.to_uppercase()).as_str(),
                ReferenceError::InvalidDigest(DIGEST.to_uppercase()),
            ),
            (
                format!("app@sha512:{}", &DIGEST[7..]).as_str(),
                ReferenceError::InvalidDigest(format!("sha512:{}", &DIGEST[7..])),
            ),
            (
                format!("app@{DIGEST}@{DIGEST}").as_str(),
                ReferenceError::InvalidDigest(format!("{DIGEST}@{DIGEST}")),
            ),
            ("App", ReferenceError::InvalidRepository("App".into())),
            (
                "team//app",
                ReferenceError::InvalidRepository("team//app".into()),
            ),
            ("/app", ReferenceError::InvalidRepository("/app".into())),
            ("app/", ReferenceError::InvalidRepository("app/".into())),
            ("app-", ReferenceError::InvalidRepository("app-".into())),
            ("a..b", ReferenceError::InvalidRepository("a..b".into())),
            ("a___b", ReferenceError::InvalidRepository("a___b".into())),
            (
                format!("{host}/").as_str(),
                ReferenceError::InvalidRepository(String::new()),
            ),
            (
                "host:http/app",
                ReferenceError::InvalidHost("host:http".into()),
            ),
            ("host:/app", ReferenceError::InvalidHost("host:".into())),
            (
                "host:99999/app",
                ReferenceError::InvalidHost("host:99999".into()),
            ),
            (
                "host:+80/app",
                ReferenceError::InvalidHost("host:+80".into()),
            ),
            (
                "-host.example/app",
                ReferenceError::InvalidHost("-host.example".into()),
            ),
            (
                "host..example/app",
                ReferenceError::InvalidHost("host..example".into()),
            ),
            ("[]:5000/app", ReferenceError::InvalidHost("[]:5000".into())),
            ("[::g]/app", ReferenceError::InvalidHost("[::g]".into())),
            (
                "[12]:5000/app",
                ReferenceError::InvalidHost("[12]:5000".into()),
            ),
        ] {
            assert_eq!(parse(text), Err(error), "{text}");
        }
    }

    #[test]
    fn reads_repository_uris() {
        let repository = EcrRepository::from_uri(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/nginx",
        );
        assert_eq!(
            repository,
            Ok(EcrRepository {
                registry: EcrRegistry {
                    account: "123456789012".into(),
                    region: "us-east-1".into(),
                },
                name: "docker-hub/library/nginx".into(),
            })
        );
        for uri in [
            "registry.example.com/app",
            "app",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
            format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/app@{DIGEST}").as_str(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
        ] {
            assert_eq!(
                EcrRepository::from_uri(uri),
                Err(ReferenceError::NotEcrRepository(uri.to_owned())),
                "{uri}"
            );
        }
    }

    #[test]
    fn a_repository_is_named_through_any_host_of_its_registry_only() {
        let repository =
            EcrRepository::from_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api")
                .expect("repository URI");
        let names = |text: &str| {
            repository.is_named_by(&ImageReference::parse(text).expect("valid reference"))
        };
        assert!(names(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api"
        ));
        assert!(names(
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/team/api:v1"
        ));
        assert!(names("123456789012.dkr-ecr.us-east-1.on.aws:443/team/api"));
        assert!(names(&format!(
            "123456789012.DKR-ECR-FIPS.US-EAST-1.ON.AWS/team/api@{DIGEST}"
        )));
        assert!(!names(
            "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/api"
        ));
        assert!(!names(
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/api"
        ));
        assert!(!names(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:8443/team/api"
        ));
        assert!(!names(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api-worker"
        ));
        assert!(!names(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api/sub"
        ));
        assert!(!names("123456789012.dkr.ecr.us-east-1.amazonaws.com/api"));
        assert!(!names("registry.example.com/team/api"));
        assert!(!names("team/api"));
    }

    /// A registry host as written and the registry it must parse to.
    fn host() -> impl Strategy<Value = (String, Registry)> {
        let ecr_host = (
            "[0-9]{12}",
            "[a-z]{2}(-[a-z]{1,9}){1,2}-[0-9]{1,2}",
            0..ECR_HOST_FORMS.len(),
            any::<u64>(),
            prop_oneof![Just(None), Just(Some(ECR_PORT)), Just(Some(5000))],
        )
            .prop_map(|(account, region, form, case_bits, port)| {
                let (service, suffix) = ECR_HOST_FORMS[form];
                // Any letter case: bit i of `case_bits` upper-cases letter i (mod 64).
                let host_name: String = format!("{account}.{service}.{region}{suffix}")
                    .chars()
                    .enumerate()
                    .map(|(i, c)| match (case_bits >> (i % 64)) & 1 {
                        1 => c.to_ascii_uppercase(),
                        _ => c,
                    })
                    .collect();
                match port {
                    None => (host_name, ecr(&account, &region)),
                    Some(ECR_PORT) => (format!("{host_name}:443"), ecr(&account, &region)),
                    Some(port) => {
                        let host = format!("{host_name}:{port}");
                        (host.clone(), Registry::Other(host))
                    }
                }
            });
        let other_host = (
            prop_oneof![
                "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?){1,3}",
                Just("localhost".to_owned()),
                "\\[[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\\]",
            ],
            proptest::option::of(1..=u16::MAX),
        )
            .prop_map(|(name, port)| {
                let host = match port {
                    Some(port) => format!("{name}:{port}"),
                    None => name,
                };
                (host.clone(), Registry::Other(host))
            });
        prop_oneof![ecr_host, other_host]
    }

    fn repository_path() -> impl Strategy<Value = String> {
        proptest::collection::vec("[a-z0-9]{1,6}(([._]|__|-{1,3})[a-z0-9]{1,6}){0,2}", 1..4)
            .prop_map(|components| components.join("/"))
    }

    /// A repository as written (with or without host), its registry and its path.
    fn located_repository() -> impl Strategy<Value = (String, Registry, String)> {
        let with_host = (host(), repository_path())
            .prop_map(|((host, registry), path)| (format!("{host}/{path}"), registry, path));
        // Without a host, a first component with a '.' would be read as a host; no run
        // of 6 letters spells `localhost`.
        let without_host = (
            "[a-z0-9]{1,6}((_|__|-{1,3})[a-z0-9]{1,6}){0,2}",
            proptest::option::of(repository_path()),
        )
            .prop_map(|(first, rest)| {
                let path = match rest {
                    Some(rest) => format!("{first}/{rest}"),
                    None => first,
                };
                (path.clone(), Registry::Implicit, path)
            });
        prop_oneof![with_host, without_host]
    }

    proptest! {
        /// A reference assembled from valid parts, in any form and through any host,
        /// parses back to exactly those parts.
        #[test]
        fn parses_valid_parts_back(
            (text, registry, repository) in located_repository(),
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}"),
            digest in proptest::option::of("[0-9a-f]{64}".prop_map(|hex| format!("{SHA256_PREFIX}{hex}"))),
        ) {
            let text = match &tag {
                Some(tag) => format!("{text}:{tag}"),
                None => text,
            };
            let text = match &digest {
                Some(digest) => format!("{text}@{digest}"),
                None => text,
            };
            prop_assert_eq!(
                ImageReference::parse(&text),
                Ok(ImageReference { registry, repository, tag, digest })
            );
        }

        /// Nothing makes the parser panic.
        #[test]
        fn never_panics_on_any_text(text in ".*") {
            let _ = ImageReference::parse(&text);
            let _ = EcrRepository::from_uri(&text);
        }

        #[test]
        fn never_panics_on_reference_like_text(text in "[a-z0-9./:@_-]{0,80}") {
            let _ = ImageReference::parse(&text);
            let _ = EcrRepository::from_uri(&text);
        }

        /// Fragments of ECR hosts run together, so that the host reader sees near misses.
        #[test]
        fn never_panics_on_host_fragments(
            fragments in proptest::collection::vec(
                prop_oneof![
                    Just("123456789012"), Just("."), Just(":"), Just("/"), Just("@"),
                    Just("dkr"), Just("ecr"), Just("-fips"), Just("dkr-ecr"),
                    Just("us-east-1"), Just("amazonaws.com"), Just("on.aws"), Just(".cn"),
                    Just("443"), Just("["), Just("]"), Just("sha256:"), Just("app"),
                ],
                0..16,
            )
        ) {
            let text = fragments.concat();
            let _ = ImageReference::parse(&text);
            let _ = EcrRepository::from_uri(&text);
        }
    }
}

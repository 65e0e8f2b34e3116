//! Protected tags: the one notion of "this image stays" that every action of every
//! function honours. A tag is protected in a repository when it matches the
//! configuration's top-level `protectedTags`, `tagRules.protectedTags`, or the
//! `protectedTags` of the sweeper entry that selects the repository. No sweep expires
//! or transitions an image that carries one, and the tag-enforcer never removes one
//! nor deletes an image that carries one.

use crate::pattern::WildcardPattern;

/// The protected-tag patterns that apply to one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedTags {
    patterns: Vec<WildcardPattern>,
}

impl ProtectedTags {
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a WildcardPattern>) -> Self {
        ProtectedTags {
            patterns: patterns.into_iter().cloned().collect(),
        }
    }

    /// The first pattern `tag` matches, if it is protected.
    pub fn pattern_for(&self, tag: &str) -> Option<&WildcardPattern> {
        self.patterns.iter().find(|pattern| pattern.matches(tag))
    }

    /// The first of `tags` that is protected, with the pattern it matches.
    pub fn first_protected<'t>(&self, tags: &'t [String]) -> Option<(&'t str, &WildcardPattern)> {
        tags.iter()
            .find_map(|tag| Some((tag.as_str(), self.pattern_for(tag)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_protected_tag_and_its_pattern_are_named() {
        let patterns = [
            WildcardPattern::new("prod-*"),
            WildcardPattern::new("stable"),
        ];
        let protected = ProtectedTags::new(&patterns);
        let tags = ["dev".to_owned(), "stable".to_owned(), "prod-1".to_owned()];
        assert_eq!(
            protected.first_protected(&tags),
            Some(("stable", &patterns[1]))
        );
        assert_eq!(protected.pattern_for("prod-7"), Some(&patterns[0]));
        assert_eq!(protected.pattern_for("preprod-7"), None);
        assert_eq!(ProtectedTags::default().first_protected(&tags), None);
    }
}

//! Text from outside (event fields, configuration values) quoted back in errors, logs
//! and results. A field can be hundreds of kilobytes long: quoting it whole would make
//! one log line or one result that large. Quotes are cut to a bounded excerpt that
//! still says how long the original was.

use std::borrow::Cow;

/// Characters of untrusted text quoted at most.
pub const EXCERPT_CHARS: usize = 128;

/// `text` as it can be quoted: whole when short, else its first characters and its
/// length.
pub fn excerpt(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}… ({} bytes)", &text[..end], text.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_quoted_whole_and_long_text_is_cut() {
        assert_eq!(excerpt("team-a/api"), "team-a/api");
        let long = "é".repeat(250_000);
        let quoted = excerpt(&long);
        assert_eq!(
            quoted.chars().count(),
            EXCERPT_CHARS + " (500000 bytes)".len() + 1
        );
        assert!(quoted.ends_with("… (500000 bytes)"), "{quoted}");
        assert_eq!(excerpt(&"a".repeat(EXCERPT_CHARS)).len(), EXCERPT_CHARS);
    }
}

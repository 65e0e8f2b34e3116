//! Plain-text tables for the terminal: columns padded to their widest cell.

/// The rows (the first one is the header) as aligned text, one line each.
pub fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// A digest shortened for a table (`sha256:` and 12 hex digits).
pub fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

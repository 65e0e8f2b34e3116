//! The report's charts as inline SVG: horizontal bars, drawn from the report's own
//! numbers, each bar group carrying them as `data-*` attributes so that what a chart
//! shows can be checked against the JSON.

use super::html::{escape, format_bytes, format_money};
use super::Report;

/// Repositories drawn in the bytes-per-repository chart (the largest first).
pub const REPOSITORY_ROWS: usize = 30;
/// Repositories drawn in the savings chart.
pub const SAVINGS_ROWS: usize = 10;

const WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 190.0;
const VALUE_WIDTH: f64 = 170.0;
const BAR_AREA: f64 = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
const LABEL_CHARS: usize = 26;

/// A bar's length for `value` on a scale whose longest bar is `max`.
fn length(value: f64, max: f64) -> f64 {
    if max > 0.0 && value > 0.0 {
        (value / max * BAR_AREA).max(1.0)
    } else {
        0.0
    }
}

/// A label cut to fit the label column.
fn label(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(LABEL_CHARS - 1).collect();
    format!("{cut}…")
}

fn svg(id: &str, title: &str, height: f64, legend: &str, body: &str) -> String {
    format!(
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{title}\">{legend}{body}</svg>",
        title = escape(title),
    )
}

fn empty(id: &str, what: &str) -> String {
    format!("<p class=\"empty\" id=\"{id}\">{}</p>", escape(what))
}

/// Bytes now and after the plan, per repository: the largest [`REPOSITORY_ROWS`].
pub fn bytes_per_repository(report: &Report) -> String {
    let mut repositories: Vec<_> = report
        .repositories
        .iter()
        .filter(|repository| repository.inventory.images.images > 0)
        .collect();
    if repositories.is_empty() {
        return empty(
            "chart-repositories",
            "No images in the repositories reported on.",
        );
    }
    repositories.sort_by(|a, b| {
        b.inventory
            .bytes_now
            .total()
            .cmp(&a.inventory.bytes_now.total())
            .then_with(|| a.label().cmp(&b.label()))
    });
    repositories.truncate(REPOSITORY_ROWS);
    let max = repositories
        .iter()
        .map(|repository| repository.inventory.bytes_now.total())
        .max()
        .unwrap_or(0) as f64;
    let row_height = 30.0;
    let top = 24.0;
    let mut body = String::new();
    for (row, repository) in repositories.iter().enumerate() {
        let now = repository.inventory.bytes_now.total();
        let after = repository.inventory.bytes_after.total();
        let name = &repository.label();
        body.push_str(&format!(
            "<g class=\"row\" data-repository=\"{name}\" data-bytes-now=\"{now}\" data-bytes-after=\"{after}\" transform=\"translate(0,{y})\">\
             <title>{name}: {now_text} now, {after_text} after</title>\
             <text class=\"label\" x=\"0\" y=\"17\">{short}</text>\
             <rect class=\"now\" x=\"{LABEL_WIDTH}\" y=\"3\" width=\"{now_width:.1}\" height=\"11\"/>\
             <rect class=\"after\" x=\"{LABEL_WIDTH}\" y=\"15\" width=\"{after_width:.1}\" height=\"11\"/>\
             <text class=\"value\" x=\"{value_x}\" y=\"17\">{now_text} → {after_text}</text></g>",
            name = escape(name),
            short = escape(&label(name)),
            y = top + row as f64 * row_height,
            now_text = format_bytes(now),
            after_text = format_bytes(after),
            now_width = length(now as f64, max),
            after_width = length(after as f64, max),
            value_x = WIDTH - VALUE_WIDTH + 8.0,
        ));
    }
    let legend = format!(
        "<g class=\"legend\"><rect class=\"now\" x=\"{LABEL_WIDTH}\" y=\"4\" width=\"12\" height=\"12\"/>\
         <text x=\"{}\" y=\"14\">now</text>\
         <rect class=\"after\" x=\"{}\" y=\"4\" width=\"12\" height=\"12\"/>\
         <text x=\"{}\" y=\"14\">after the plan</text></g>",
        LABEL_WIDTH + 16.0,
        LABEL_WIDTH + 60.0,
        LABEL_WIDTH + 76.0
    );
    svg(
        "chart-repositories",
        "Bytes per repository, now and after the plan",
        top + repositories.len() as f64 * row_height + 4.0,
        &legend,
        &body,
    )
}

/// Images and bytes of each kind, over every repository.
pub fn bytes_by_kind(report: &Report) -> String {
    let kinds = report.totals.inventory.by_kind.named();
    let max = kinds
        .iter()
        .map(|(_, amount)| amount.bytes)
        .max()
        .unwrap_or(0) as f64;
    let row_height = 26.0;
    let mut body = String::new();
    for (row, (kind, amount)) in kinds.iter().enumerate() {
        body.push_str(&format!(
            "<g class=\"row\" data-kind=\"{kind}\" data-images=\"{images}\" data-bytes=\"{bytes}\" transform=\"translate(0,{y})\">\
             <title>{label}: {images} images, {bytes_text}</title>\
             <text class=\"label\" x=\"0\" y=\"16\">{label}</text>\
             <rect class=\"kind-{kind}\" x=\"{LABEL_WIDTH}\" y=\"3\" width=\"{width:.1}\" height=\"17\"/>\
             <text class=\"value\" x=\"{value_x}\" y=\"16\">{bytes_text} ({images} images)</text></g>",
            label = kind_label(kind),
            images = amount.images,
            bytes = amount.bytes,
            bytes_text = format_bytes(amount.bytes),
            y = row as f64 * row_height,
            width = length(amount.bytes as f64, max),
            value_x = WIDTH - VALUE_WIDTH + 8.0,
        ));
    }
    svg(
        "chart-kinds",
        "Bytes by kind of image",
        kinds.len() as f64 * row_height + 4.0,
        "",
        &body,
    )
}

/// How the report names each kind of image.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "image" => "images",
        "index" => "image indexes",
        "indexChild" => "children of an index",
        "referrer" => "signatures, SBOMs",
        _ => "archived",
    }
}

/// The repositories whose plans save the most per month: the first [`SAVINGS_ROWS`].
pub fn top_savings(report: &Report) -> String {
    let mut repositories: Vec<_> = report
        .repositories
        .iter()
        .filter(|repository| repository.cost_per_month.savings > 0.0)
        .collect();
    if repositories.is_empty() {
        return empty("chart-savings", "No plan saves anything.");
    }
    repositories.sort_by(|a, b| {
        b.cost_per_month
            .savings
            .total_cmp(&a.cost_per_month.savings)
            .then_with(|| a.label().cmp(&b.label()))
    });
    repositories.truncate(SAVINGS_ROWS);
    let max = repositories[0].cost_per_month.savings;
    let currency = &report.prices.table.currency;
    let row_height = 26.0;
    let mut body = String::new();
    for (row, repository) in repositories.iter().enumerate() {
        let savings = repository.cost_per_month.savings;
        let name = &repository.label();
        body.push_str(&format!(
            "<g class=\"row\" data-repository=\"{name}\" data-savings=\"{savings}\" data-bytes-freed=\"{freed}\" transform=\"translate(0,{y})\">\
             <title>{name}: {money} a month</title>\
             <text class=\"label\" x=\"0\" y=\"16\">{short}</text>\
             <rect class=\"savings\" x=\"{LABEL_WIDTH}\" y=\"3\" width=\"{width:.1}\" height=\"17\"/>\
             <text class=\"value\" x=\"{value_x}\" y=\"16\">{money} a month</text></g>",
            name = escape(name),
            short = escape(&label(name)),
            freed = repository.inventory.expire.bytes,
            money = format_money(savings, currency),
            y = row as f64 * row_height,
            width = length(savings, max),
            value_x = WIDTH - VALUE_WIDTH + 8.0,
        ));
    }
    svg(
        "chart-savings",
        "Repositories whose plans save the most per month",
        repositories.len() as f64 * row_height + 4.0,
        "",
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_longest_and_never_vanish() {
        assert_eq!(length(50.0, 100.0), BAR_AREA / 2.0);
        assert_eq!(length(100.0, 100.0), BAR_AREA);
        assert_eq!(length(1.0, 1e12), 1.0);
        assert_eq!(length(0.0, 100.0), 0.0);
        assert_eq!(length(5.0, 0.0), 0.0);
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        assert_eq!(label("team/app"), "team/app");
        let long = "platform/very-long-service-name-here";
        assert_eq!(label(long), "platform/very-long-servic…");
        assert_eq!(label(long).chars().count(), LABEL_CHARS);
    }
}

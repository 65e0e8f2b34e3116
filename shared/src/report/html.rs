//! The report as one self-contained HTML page: inline style, inline SVG charts, the
//! report's JSON embedded (`<script type="application/json" id="report-data">`), and a
//! few lines of script that sort the repository table. Nothing is loaded from
//! anywhere: the page works offline, from a file or an attachment.

use super::charts::{bytes_by_kind, bytes_per_repository, top_savings};
use super::inventory::Amount;
use super::{Report, RepositoryReport};

/// Protected images listed per repository on the page (the JSON has all of them).
pub const PROTECTED_LISTED: usize = 50;

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
.meta { color: #57606a; font-size: .9rem; margin: .2rem 0; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1.2rem 0; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: .7rem 1rem; min-width: 150px; }
.card .value { font-size: 1.3rem; font-weight: 600; }
.card .what { color: #57606a; font-size: .85rem; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: .6rem 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
#repositories td:first-child, #repositories td:nth-child(2) { white-space: nowrap; }
table.sortable-ready th { cursor: pointer; user-select: none; }
table.sortable th[data-order="ascending"]::after { content: " ▲"; }
table.sortable th[data-order="descending"]::after { content: " ▼"; }
svg.chart { display: block; max-width: 100%; height: auto; font-size: 12px; }
svg.chart text { fill: #1b1f24; }
svg.chart .value { fill: #57606a; }
rect.now { fill: #8c959f; } rect.after { fill: #2da44e; } rect.savings { fill: #2da44e; }
rect.kind-image { fill: #0969da; } rect.kind-index { fill: #8250df; } rect.kind-indexChild { fill: #bf8700; }
rect.kind-referrer { fill: #1a7f37; } rect.kind-archived { fill: #6e7781; }
.empty { color: #57606a; font-style: italic; }
details { margin: .4rem 0; } summary { cursor: pointer; }
code { font-size: .85em; }
"#;

/// Sorts a table by the clicked column: numbers by `data-value`, text by its text.
/// Marks each table it serves `sortable-ready`: only then do headers look clickable.
const SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.classList.add("sortable-ready");
  table.querySelectorAll("th").forEach(function (header, column) {
    header.addEventListener("click", function () {
      var ascending = header.dataset.order !== "ascending";
      table.querySelectorAll("th").forEach(function (other) { delete other.dataset.order; });
      header.dataset.order = ascending ? "ascending" : "descending";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[column];
        return cell.dataset.value !== undefined ? Number(cell.dataset.value) : cell.textContent;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"#;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Bytes in binary units, as AWS meters storage (1 GB = 2^30 bytes).
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes.abs() < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in UNITS {
        if value.abs() < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// An amount of money: cents, or "< 0.01" for less than a cent but more than nothing.
pub fn format_money(amount: f64, currency: &str) -> String {
    if amount > 0.0 && amount < 0.01 {
        format!("< 0.01 {currency}")
    } else {
        format!("{amount:.2} {currency}")
    }
}

/// The report's JSON, safe inside a `<script>` element: `<`, `>` and `&` only occur
/// in JSON strings, where their `\u` escapes mean the same.
fn embedded_json(report: &Report) -> String {
    serde_json::to_string(report)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn card(value: &str, what: &str) -> String {
    format!(
        "<div class=\"card\"><div class=\"value\">{}</div><div class=\"what\">{}</div></div>",
        escape(value),
        escape(what)
    )
}

fn amount(amount: Amount) -> String {
    format!("{} ({} images)", format_bytes(amount.bytes), amount.images)
}

fn number_cell(value: impl std::fmt::Display, text: &str) -> String {
    format!(
        "<td class=\"number\" data-value=\"{value}\">{}</td>",
        escape(text)
    )
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let totals = &report.totals;
    let currency = &report.prices.table.currency;
    let mut page = String::with_capacity(64 * 1024);
    page.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>ecr-janitor report</title><style>{STYLE}</style></head><body>\n\
         <h1>What the janitor would do</h1>\
         <p class=\"meta\">Planned as of {as_of} in {region} by the sweep's own planning, in dry run: nothing was changed.</p>\
         <p class=\"meta\">Prices: {source} ({currency} per GB-month; 1 GB = 2<sup>30</sup> bytes).</p>\n",
        as_of = escape(&report.as_of.to_rfc3339()),
        region = escape(&report.prices.region),
        source = escape(&report.prices.source),
        currency = escape(currency),
    ));
    if let Some(why) = &report.in_use_unknown {
        page.push_str(&format!(
            "<p class=\"warning\">What is in use could not be read ({}): an enforced sweep would act on nothing until it can.</p>\n",
            escape(why)
        ));
    }
    page.push_str("<div class=\"cards\">");
    for (value, what) in [
        (
            format_money(totals.cost_per_month.now, currency),
            "storage per month now".to_owned(),
        ),
        (
            format_money(totals.cost_per_month.after, currency),
            "storage per month after".to_owned(),
        ),
        (
            format_money(totals.cost_per_month.savings, currency),
            "saved per month".to_owned(),
        ),
        (
            format_bytes(totals.inventory.expire.bytes),
            format!("to expire ({} images)", totals.inventory.expire.images),
        ),
        (
            format_bytes(totals.inventory.transition.bytes),
            format!("to archive ({} images)", totals.inventory.transition.images),
        ),
        (
            format_bytes(totals.inventory.protected.bytes),
            format!("protected ({} images)", totals.inventory.protected.images),
        ),
    ] {
        page.push_str(&card(&value, &what));
    }
    page.push_str(&format!(
        "</div>\n<p class=\"meta\">{} repositories, {} images, {}{}.</p>\n",
        totals.repositories,
        totals.inventory.images.images,
        format_bytes(totals.inventory.images.bytes),
        if totals.repositories_not_planned > 0 {
            format!(
                "; {} not planned (see below)",
                totals.repositories_not_planned
            )
        } else {
            String::new()
        }
    ));
    page.push_str("<h2>Bytes per repository, now and after the plan</h2>\n");
    page.push_str(&bytes_per_repository(report));
    page.push_str("\n<h2>Bytes by kind of image</h2>\n");
    page.push_str(&bytes_by_kind(report));
    page.push_str("\n<h2>Top repositories by savings per month</h2>\n");
    page.push_str(&top_savings(report));
    page.push_str("\n<h2>Repositories</h2>\n");
    page.push_str(&repository_table(report));
    page.push_str("\n<h2>Protected images, and why</h2>\n");
    page.push_str(&protection_section(report));
    page.push_str(
        "\n<h2>How the numbers are made</h2>\n<p class=\"meta\">Bytes are the sum of each image's \
         <code>imageSizeInBytes</code>. ECR stores a layer shared by several images once, so the \
         figures are upper bounds of what is billed. Costs apply each storage class's price tiers \
         to its total; a repository pays the average rate of that total. \"After\" assumes the plan \
         is carried out as shown: expirations free their bytes, transitions move them to archive.</p>\n",
    );
    page.push_str(&format!(
        "<script type=\"application/json\" id=\"report-data\">{}</script>\n<script>{SCRIPT}</script>\n</body></html>\n",
        embedded_json(report)
    ));
    page
}

fn repository_table(report: &Report) -> String {
    let currency = &report.prices.table.currency;
    let mut table = String::from(
        "<table class=\"sortable\" id=\"repositories\"><thead><tr><th>Repository</th><th>Mode</th>\
         <th class=\"number\">Images</th><th class=\"number\">Bytes now</th><th class=\"number\">To expire</th>\
         <th class=\"number\">To archive</th><th class=\"number\">Protected</th><th class=\"number\">Bytes after</th>\
         <th class=\"number\">Per month now</th><th class=\"number\">Saved per month</th><th>Notes</th></tr></thead><tbody>",
    );
    for repository in &report.repositories {
        let inventory = &repository.inventory;
        let mode = match repository.mode {
            crate::sweep::SweepMode::DryRun => "dry-run",
            crate::sweep::SweepMode::Enforce => "enforce",
        };
        table.push_str(&format!(
            "<tr data-repository=\"{name}\"><td>{name}</td><td>{mode}</td>{images}{now}{expire}{transition}{protected}{after}{cost}{savings}<td>{notes}</td></tr>",
            name = escape(&repository.label()),
            images = number_cell(inventory.images.images, &inventory.images.images.to_string()),
            now = number_cell(inventory.bytes_now.total(), &format_bytes(inventory.bytes_now.total())),
            expire = number_cell(inventory.expire.bytes, &amount(inventory.expire)),
            transition = number_cell(inventory.transition.bytes, &amount(inventory.transition)),
            protected = number_cell(inventory.protected.bytes, &amount(inventory.protected)),
            after = number_cell(inventory.bytes_after.total(), &format_bytes(inventory.bytes_after.total())),
            cost = number_cell(repository.cost_per_month.now, &format_money(repository.cost_per_month.now, currency)),
            savings = number_cell(repository.cost_per_month.savings, &format_money(repository.cost_per_month.savings, currency)),
            notes = escape(&notes(repository)),
        ));
    }
    table.push_str("</tbody></table>");
    table
}

/// Why a repository's plan is missing or would not be carried out.
fn notes(repository: &RepositoryReport) -> String {
    let mut notes = Vec::new();
    if repository.policy == crate::sweep::report::PolicyKind::Native {
        notes.push("native policy: ECR applies it, the janitor only previews".to_owned());
    }
    if let Some(why) = &repository.skipped {
        notes.push(format!("not planned: {why}"));
    }
    if let Some(why) = &repository.error {
        notes.push(format!("failed: {why}"));
    }
    if let Some(why) = &repository.cap_tripped {
        notes.push(format!("safety cap: {why}"));
    }
    notes.join("; ")
}

fn protection_section(report: &Report) -> String {
    let by = &report.totals.inventory.protected_by;
    let mut section = String::from(
        "<table id=\"protected-by\"><thead><tr><th>Why</th><th class=\"number\">Images</th><th class=\"number\">Bytes</th></tr></thead><tbody>",
    );
    for (why, amount) in [
        ("in use by a workload", by.in_use),
        ("carries a protected tag", by.protected_tag),
        ("younger than minimumAgeDays", by.minimum_age),
        (
            "possibly listed by an unreadable index",
            by.index_unreadable,
        ),
    ] {
        section.push_str(&format!(
            "<tr><td>{why}</td>{}{}</tr>",
            number_cell(amount.images, &amount.images.to_string()),
            number_cell(amount.bytes, &format_bytes(amount.bytes)),
        ));
    }
    section.push_str("</tbody></table>");
    for repository in &report.repositories {
        let listed = &repository.protected_images;
        if listed.is_empty() {
            continue;
        }
        section.push_str(&format!(
            "<details><summary>{} — {} protected</summary><table><thead><tr><th>Digest</th><th>Tags</th><th>Why</th><th class=\"number\">Bytes</th></tr></thead><tbody>",
            escape(&repository.label()),
            listed.len()
        ));
        for image in listed.iter().take(PROTECTED_LISTED) {
            section.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td>{}</tr>",
                escape(image.digest.get(..19).unwrap_or(&image.digest)),
                escape(&image.tags.join(", ")),
                escape(&image.reason),
                number_cell(image.size_bytes, &format_bytes(image.size_bytes)),
            ));
        }
        section.push_str("</tbody></table>");
        if listed.len() > PROTECTED_LISTED {
            section.push_str(&format!(
                "<p class=\"meta\">and {} more in the embedded JSON.</p>",
                listed.len() - PROTECTED_LISTED
            ));
        }
        section.push_str("</details>");
    }
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn bytes_read_in_binary_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
        assert_eq!(format_bytes(-2048), "-2.0 KiB");
    }

    #[test]
    fn money_below_a_cent_is_not_shown_as_nothing() {
        assert_eq!(format_money(0.0, "USD"), "0.00 USD");
        assert_eq!(format_money(0.004, "USD"), "< 0.01 USD");
        assert_eq!(format_money(12.346, "USD"), "12.35 USD");
    }

    #[test]
    fn the_embedded_json_cannot_end_its_script_element() {
        let prices = super::super::prices::AppliedPrices {
            region: "us-east-1".into(),
            table: super::super::prices::PriceTable::published(),
            source: "</script><script>alert(1)</script> & more".into(),
        };
        let report = Report::assemble(
            chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
            prices,
            &Default::default(),
            Vec::new(),
        );
        let embedded = embedded_json(&report);
        assert!(
            !embedded.contains('<') && !embedded.contains('&'),
            "{embedded}"
        );
        let back: serde_json::Value = serde_json::from_str(&embedded).expect("still JSON");
        assert_eq!(
            back["prices"]["source"],
            "</script><script>alert(1)</script> & more"
        );
        assert_eq!(render(&report).matches("</script>").count(), 2);
    }
}

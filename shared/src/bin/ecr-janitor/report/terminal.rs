//! The report in the terminal: one row per repository and the total, then bytes by
//! kind, protections and prices.

use janitor::report::inventory::Amount;
use janitor::report::{charts, html, Report};
use janitor::sweep::SweepMode;

use crate::table;

fn amount(amount: Amount) -> String {
    if amount.images == 0 {
        "-".to_owned()
    } else {
        format!("{} ({})", html::format_bytes(amount.bytes), amount.images)
    }
}

/// One row per repository and the total, then bytes by kind, protections and prices.
pub fn render(report: &Report) -> String {
    let currency = &report.prices.table.currency;
    let money = |value: f64| html::format_money(value, currency);
    let header = [
        "REPOSITORY",
        "MODE",
        "IMAGES",
        "NOW",
        "EXPIRE",
        "ARCHIVE",
        "PROTECTED",
        "AFTER",
        "PER MONTH",
        "SAVED",
        "NOTES",
    ]
    .map(str::to_owned);
    let mut rows = vec![header];
    for repository in &report.repositories {
        let inventory = &repository.inventory;
        let mut notes = Vec::new();
        notes.extend(
            repository
                .skipped
                .iter()
                .map(|why| format!("not planned: {why}")),
        );
        notes.extend(repository.error.iter().map(|why| format!("failed: {why}")));
        notes.extend(
            repository
                .cap_tripped
                .iter()
                .map(|why| format!("safety cap: {why}")),
        );
        rows.push([
            repository.label(),
            match repository.mode {
                SweepMode::DryRun => "dry-run".to_owned(),
                SweepMode::Enforce => "enforce".to_owned(),
            },
            inventory.images.images.to_string(),
            html::format_bytes(inventory.bytes_now.total()),
            amount(inventory.expire),
            amount(inventory.transition),
            amount(inventory.protected),
            html::format_bytes(inventory.bytes_after.total()),
            money(repository.cost_per_month.now),
            money(repository.cost_per_month.savings),
            notes.join("; "),
        ]);
    }
    let totals = &report.totals;
    rows.push([
        format!("TOTAL ({} repositories)", totals.repositories),
        String::new(),
        totals.inventory.images.images.to_string(),
        html::format_bytes(totals.inventory.bytes_now.total()),
        amount(totals.inventory.expire),
        amount(totals.inventory.transition),
        amount(totals.inventory.protected),
        html::format_bytes(totals.inventory.bytes_after.total()),
        money(totals.cost_per_month.now),
        money(totals.cost_per_month.savings),
        String::new(),
    ]);
    let mut text = table::render(&rows);
    let kinds: Vec<String> = totals
        .inventory
        .by_kind
        .named()
        .iter()
        .map(|(kind, kind_amount)| format!("{} {}", charts::kind_label(kind), amount(*kind_amount)))
        .collect();
    text.push_str(&format!("\nBy kind: {}\n", kinds.join(", ")));
    let by = &totals.inventory.protected_by;
    text.push_str(&format!(
        "Protected: in use {}, protected tag {}, minimum age {}, unreadable index {}\n",
        amount(by.in_use),
        amount(by.protected_tag),
        amount(by.minimum_age),
        amount(by.index_unreadable)
    ));
    text.push_str(&format!(
        "Storage per month: {} now, {} after ({}, {})\n",
        money(totals.cost_per_month.now),
        money(totals.cost_per_month.after),
        report.prices.region,
        report.prices.source
    ));
    if let Some(why) = &report.in_use_unknown {
        text.push_str(&format!(
            "What is in use could not be read ({why}): an enforced sweep would act on nothing.\n"
        ));
    }
    text.push_str(&format!(
        "Planned as of {}; nothing was changed.\n",
        report.as_of.to_rfc3339()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use janitor::report::inventory::{ByClass, ByKind, Inventory};
    use janitor::report::prices::{AppliedPrices, PriceOverrides};
    use janitor::report::{Cost, RepositoryReport, Totals};
    use janitor::sweep::report::PolicyKind;

    const GIB: i64 = 1 << 30;

    #[test]
    fn the_table_has_a_row_per_repository_a_total_and_the_prices() {
        let one = |bytes| Amount { images: 1, bytes };
        let inventory = Inventory {
            images: Amount {
                images: 3,
                bytes: 4 * GIB,
            },
            by_kind: ByKind {
                image: Amount {
                    images: 2,
                    bytes: 3 * GIB,
                },
                archived: one(GIB),
                ..ByKind::default()
            },
            expire: one(2 * GIB),
            protected: one(GIB),
            bytes_now: ByClass {
                standard: 3 * GIB,
                archive: GIB,
            },
            bytes_after: ByClass {
                standard: GIB,
                archive: GIB,
            },
            ..Inventory::default()
        };
        let repository = |name: &str, mode, inventory, cost| RepositoryReport {
            repository_name: name.to_owned(),
            target: None,
            policy: PolicyKind::Configured,
            mode,
            skipped: None,
            error: None,
            cap_tripped: None,
            inventory,
            cost_per_month: cost,
            by_rule: Vec::new(),
            protected_images: Vec::new(),
        };
        let cost = Cost {
            now: 0.4,
            after: 0.2,
            savings: 0.2,
        };
        let mut web = repository(
            "web",
            SweepMode::Enforce,
            Inventory::default(),
            Cost::default(),
        );
        web.skipped = Some("the repository has no lifecycle policy".to_owned());
        let report = Report {
            schema_version: 1,
            as_of: DateTime::from_timestamp(1_800_000_000, 0).expect("instant"),
            prices: AppliedPrices::resolve("eu-west-1", None, PriceOverrides::default())
                .expect("published prices"),
            in_use_unknown: Some("ECS tasks: AccessDenied".to_owned()),
            in_use_sources_off: Vec::new(),
            totals: Totals {
                repositories: 2,
                repositories_not_planned: 1,
                inventory,
                cost_per_month: cost,
            },
            repositories: vec![repository("app", SweepMode::DryRun, inventory, cost), web],
        };
        assert_eq!(
            render(&report),
            "REPOSITORY              MODE     IMAGES  NOW      EXPIRE       ARCHIVE  PROTECTED    AFTER    PER MONTH  SAVED     NOTES\n\
             app                     dry-run  3       4.0 GiB  2.0 GiB (1)  -        1.0 GiB (1)  2.0 GiB  0.40 USD   0.20 USD\n\
             web                     enforce  0       0 B      -            -        -            0 B      0.00 USD   0.00 USD  not planned: the repository has no lifecycle policy\n\
             TOTAL (2 repositories)           3       4.0 GiB  2.0 GiB (1)  -        1.0 GiB (1)  2.0 GiB  0.40 USD   0.20 USD\n\
             \nBy kind: images 3.0 GiB (2), image indexes -, children of an index -, signatures, SBOMs -, archived 1.0 GiB (1)\n\
             Protected: in use -, protected tag -, minimum age -, unreadable index -\n\
             Storage per month: 0.40 USD now, 0.20 USD after (eu-west-1, Amazon ECR pricing, https://aws.amazon.com/ecr/pricing/ (as published in March 2026))\n\
             What is in use could not be read (ECS tasks: AccessDenied): an enforced sweep would act on nothing.\n\
             Planned as of 2027-01-15T08:00:00+00:00; nothing was changed.\n"
        );
    }
}

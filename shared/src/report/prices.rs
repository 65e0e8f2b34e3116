//! Storage prices: what a byte in each storage class costs per month, in tiers.
//!
//! The built-in table is Amazon ECR's published price list
//! (<https://aws.amazon.com/ecr/pricing/>, as quoted for us-east-1 and ap-northeast-1
//! in March 2026): standard storage $0.10 per GB-month; archive storage $0.10 per
//! GB-month for the first 150 TB a month and $0.07 beyond. The pricing page gives
//! standard storage one price for every Region, and the archive prices were quoted the
//! same in both Regions checked, so the built-in table applies to every Region; a
//! prices file can give other Regions (the China Regions bill in CNY) their own.
//!
//! A GB here is 2^30 bytes, as AWS meters storage (`TimedStorage-ByteHrs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bytes per billed GB.
pub const BYTES_PER_GB: f64 = 1_073_741_824.0;
/// Where the built-in prices come from.
pub const PUBLISHED_SOURCE: &str =
    "Amazon ECR pricing, https://aws.amazon.com/ecr/pricing/ (as published in March 2026)";

/// One price tier: the price of each GB-month up to `up_to_gb` (in the month's total
/// for the storage class); the last tier has no bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to_gb: Option<f64>,
    pub per_gb_month: f64,
}

impl Tier {
    fn flat(per_gb_month: f64) -> Vec<Tier> {
        vec![Tier {
            up_to_gb: None,
            per_gb_month,
        }]
    }
}

/// The storage prices of one Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceTable {
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
    pub standard: Vec<Tier>,
    pub archive: Vec<Tier>,
}

impl PriceTable {
    /// Amazon ECR's published prices (see the module documentation).
    pub fn published() -> Self {
        PriceTable {
            currency: "USD".to_owned(),
            standard: Tier::flat(0.10),
            archive: vec![
                Tier {
                    up_to_gb: Some(150.0 * 1024.0),
                    per_gb_month: 0.10,
                },
                Tier {
                    up_to_gb: None,
                    per_gb_month: 0.07,
                },
            ],
        }
    }

    /// The monthly cost of `standard` and `archive` bytes, each class's tiers applied to
    /// its own total.
    pub fn monthly_cost(&self, standard: i64, archive: i64) -> f64 {
        tiered_cost(standard, &self.standard) + tiered_cost(archive, &self.archive)
    }

    fn validate(&self, field: &str) -> Result<(), PriceError> {
        if self.currency.trim().is_empty() {
            return Err(PriceError::invalid(
                format!("{field}.currency"),
                "must name a currency, e.g. USD",
            ));
        }
        validate_tiers(&self.standard, &format!("{field}.standard"))?;
        validate_tiers(&self.archive, &format!("{field}.archive"))
    }
}

fn validate_tiers(tiers: &[Tier], field: &str) -> Result<(), PriceError> {
    let Some((last, bounded)) = tiers.split_last() else {
        return Err(PriceError::invalid(field, "needs at least one tier"));
    };
    let mut previous = 0.0;
    for (position, tier) in tiers.iter().enumerate() {
        let at = format!("{field}[{position}]");
        if !tier.per_gb_month.is_finite() || tier.per_gb_month < 0.0 {
            return Err(PriceError::invalid(
                format!("{at}.perGbMonth"),
                "must be a price of 0 or more",
            ));
        }
        if position == bounded.len() {
            break;
        }
        match tier.up_to_gb {
            Some(bound) if bound.is_finite() && bound > previous => previous = bound,
            Some(_) => {
                return Err(PriceError::invalid(
                    format!("{at}.upToGb"),
                    "must be larger than the tier before's (and than 0)",
                ))
            }
            None => {
                return Err(PriceError::invalid(
                    format!("{at}.upToGb"),
                    "every tier but the last needs an upper bound",
                ))
            }
        }
    }
    if last.up_to_gb.is_some() {
        return Err(PriceError::invalid(
            format!("{field}[{}].upToGb", bounded.len()),
            "the last tier has no upper bound: it prices everything beyond the tiers before",
        ));
    }
    Ok(())
}

/// The cost of `bytes` for a month under `tiers` (validated: bounded tiers in
/// increasing order, then one unbounded tier).
pub fn tiered_cost(bytes: i64, tiers: &[Tier]) -> f64 {
    let gb = bytes.max(0) as f64 / BYTES_PER_GB;
    let mut cost = 0.0;
    let mut floor = 0.0;
    for tier in tiers {
        let ceiling = tier.up_to_gb.unwrap_or(f64::INFINITY);
        if gb > floor {
            cost += (gb.min(ceiling) - floor) * tier.per_gb_month;
        }
        floor = ceiling;
    }
    cost
}

/// A prices file: a table for every Region, and tables of their own for the Regions
/// that differ.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceFile {
    pub currency: String,
    pub standard: Vec<Tier>,
    pub archive: Vec<Tier>,
    #[serde(default)]
    pub regions: BTreeMap<String, PriceTable>,
}

impl PriceFile {
    /// Parses and validates a prices file's text.
    pub fn parse(text: &str) -> Result<Self, PriceError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let file: PriceFile =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                PriceError::Invalid {
                    field: error.path().to_string(),
                    message: error.into_inner().to_string(),
                }
            })?;
        file.every_region().validate("(document)")?;
        for (region, table) in &file.regions {
            table.validate(&format!("regions.{region}"))?;
        }
        Ok(file)
    }

    fn every_region(&self) -> PriceTable {
        PriceTable {
            currency: self.currency.clone(),
            standard: self.standard.clone(),
            archive: self.archive.clone(),
        }
    }

    /// The table for `region`: its own, or the one for every Region.
    pub fn for_region(&self, region: &str) -> PriceTable {
        self.regions
            .get(region)
            .cloned()
            .unwrap_or_else(|| self.every_region())
    }
}

/// The prices a report applies, and where they come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPrices {
    pub region: String,
    #[serde(flatten)]
    pub table: PriceTable,
    /// The published price list, a prices file, or flags.
    pub source: String,
}

/// Flat prices given on the command line, each replacing its class's tiers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PriceOverrides {
    pub standard: Option<f64>,
    pub archive: Option<f64>,
}

impl AppliedPrices {
    /// The prices for `region`: from `file` (with its name) or the published ones, then
    /// `overrides`.
    pub fn resolve(
        region: &str,
        file: Option<(&str, &PriceFile)>,
        overrides: PriceOverrides,
    ) -> Result<Self, PriceError> {
        let (mut table, mut source) = match file {
            Some((name, file)) => (file.for_region(region), format!("prices file {name}")),
            None => (PriceTable::published(), PUBLISHED_SOURCE.to_owned()),
        };
        for (price, tiers, flag) in [
            (overrides.standard, &mut table.standard, "--standard-price"),
            (overrides.archive, &mut table.archive, "--archive-price"),
        ] {
            if let Some(price) = price {
                *tiers = Tier::flat(price);
                source.push_str(&format!("; {flag} {price}"));
            }
        }
        table.validate("prices")?;
        Ok(AppliedPrices {
            region: region.to_owned(),
            table,
            source,
        })
    }
}

/// Why prices cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl PriceError {
    fn invalid(field: impl Into<String>, message: &str) -> Self {
        PriceError::Invalid {
            field: field.into(),
            message: message.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: i64 = 1 << 30;

    #[test]
    fn the_published_archive_price_drops_beyond_150_tb() {
        let published = PriceTable::published();
        assert_eq!(tiered_cost(10 * GB, &published.standard), 1.0);
        assert_eq!(tiered_cost(10 * GB, &published.archive), 1.0);
        // 150 TB at $0.10, then 10 GB at $0.07.
        let cost = tiered_cost((150 * 1024 + 10) * GB, &published.archive);
        assert!((cost - (15_360.0 + 0.7)).abs() < 1e-9, "{cost}");
        assert_eq!(published.monthly_cost(GB, 2 * GB), 0.30000000000000004);
        assert_eq!(tiered_cost(0, &published.archive), 0.0);
        assert_eq!(tiered_cost(-5, &published.archive), 0.0);
    }

    #[test]
    fn a_prices_file_gives_regions_their_own_table() {
        let file = PriceFile::parse(
            r#"{"currency": "USD", "standard": [{"perGbMonth": 0.1}],
                "archive": [{"upToGb": 100, "perGbMonth": 0.1}, {"perGbMonth": 0.05}],
                "regions": {"cn-north-1": {"currency": "CNY", "standard": [{"perGbMonth": 0.7}],
                                           "archive": [{"perGbMonth": 0.5}]}}}"#,
        )
        .expect("valid");
        assert_eq!(file.for_region("cn-north-1").currency, "CNY");
        assert_eq!(file.for_region("eu-west-1").archive.len(), 2);
        let applied = AppliedPrices::resolve(
            "eu-west-1",
            Some(("prices.json", &file)),
            PriceOverrides {
                standard: Some(0.2),
                archive: None,
            },
        )
        .expect("valid");
        assert_eq!(applied.table.standard, Tier::flat(0.2));
        assert_eq!(
            applied.source,
            "prices file prices.json; --standard-price 0.2"
        );
    }

    #[test]
    fn bad_tiers_are_named_exactly() {
        let error = |text: &str| PriceFile::parse(text).expect_err(text).to_string();
        assert_eq!(
            error(r#"{"currency": "USD", "standard": [], "archive": [{"perGbMonth": 1}]}"#),
            "(document).standard: needs at least one tier"
        );
        assert_eq!(
            error(
                r#"{"currency": "USD", "standard": [{"perGbMonth": 1}],
                    "archive": [{"perGbMonth": 1}, {"perGbMonth": 1}]}"#
            ),
            "(document).archive[0].upToGb: every tier but the last needs an upper bound"
        );
        assert_eq!(
            error(
                r#"{"currency": "USD", "standard": [{"perGbMonth": 1}],
                    "archive": [{"upToGb": 5, "perGbMonth": 1}, {"upToGb": 5, "perGbMonth": 1}, {"perGbMonth": 1}]}"#
            ),
            "(document).archive[1].upToGb: must be larger than the tier before's (and than 0)"
        );
        assert_eq!(
            error(
                r#"{"currency": "USD", "standard": [{"upToGb": 5, "perGbMonth": 1}], "archive": [{"perGbMonth": 1}]}"#
            ),
            "(document).standard[0].upToGb: the last tier has no upper bound: it prices everything beyond the tiers before"
        );
        assert_eq!(
            error(
                r#"{"currency": "USD", "standard": [{"perGbMonth": -1}], "archive": [{"perGbMonth": 1}]}"#
            ),
            "(document).standard[0].perGbMonth: must be a price of 0 or more"
        );
        assert_eq!(
            error(
                r#"{"currency": "USD", "standard": [{"perGbMonth": 1}], "archive": [{"perGbMonth": 1}], "region": {}}"#
            ),
            "region: unknown field `region`, expected one of `currency`, `standard`, `archive`, `regions` at line 1 column 93"
        );
        assert_eq!(
            AppliedPrices::resolve(
                "us-east-1",
                None,
                PriceOverrides {
                    standard: None,
                    archive: Some(f64::NAN)
                }
            )
            .expect_err("NaN")
            .to_string(),
            "prices.archive[0].perGbMonth: must be a price of 0 or more"
        );
    }
}

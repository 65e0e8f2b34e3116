//! Lenient timestamps. Inspector's events carry timestamps in more than one format,
//! none of them reliably ISO-8601 (`Dec 3, 2021, 6:02:30 PM`, ISO with or without
//! fractions or offset, epoch seconds or milliseconds). A timestamp that cannot be read
//! is `None`; callers fall back to the event's `time` instead of dropping a finding.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// Epoch values above this are milliseconds (1e11 seconds is the year 5138).
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;

/// Formats without a zone, read as UTC. Inspector's are Java's `MEDIUM` style.
const NAIVE_FORMATS: &[&str] = &[
    "%b %d, %Y, %I:%M:%S %p",
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y, %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
];

/// Formats with an explicit offset that RFC 3339 does not accept.
const ZONED_FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"];

/// Reads a timestamp from a JSON string or number.
pub fn parse_value(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(text) => parse_text(text),
        Value::Number(number) => number.as_f64().and_then(from_epoch),
        _ => None,
    }
}

/// Reads a timestamp from text in any of the formats AWS has been seen to use.
pub fn parse_text(text: &str) -> Option<DateTime<Utc>> {
    // Newer Java formatting puts a narrow no-break space before AM/PM.
    let normalised: String = text
        .trim()
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let text = normalised
        .strip_suffix(" UTC")
        .or_else(|| normalised.strip_suffix(" GMT"))
        .unwrap_or(&normalised);
    if text.is_empty() {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(number) = text.parse::<f64>() {
        return from_epoch(number);
    }
    for format in ZONED_FORMATS {
        if let Ok(at) = DateTime::parse_from_str(text, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    for format in NAIVE_FORMATS {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&at));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|at| Utc.from_utc_datetime(&at))
}

fn from_epoch(number: f64) -> Option<DateTime<Utc>> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let millis = if number > EPOCH_MILLIS_THRESHOLD {
        number
    } else {
        number * 1000.0
    };
    // Bounded by chrono's range check below; the cast saturates instead of wrapping.
    DateTime::from_timestamp_millis(millis.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn every_format_aws_has_been_seen_to_use_reads_the_same_instant() {
        let expected = at("2021-12-03T18:02:30Z");
        for text in [
            "Dec 3, 2021, 6:02:30 PM",
            "Dec 03, 2021, 06:02:30 PM",
            "Dec 3, 2021, 6:02:30\u{202f}PM",
            "Dec 3, 2021 6:02:30 PM",
            "Dec 3, 2021, 6:02:30 PM UTC",
            "2021-12-03T18:02:30Z",
            "2021-12-03T18:02:30.000Z",
            "2021-12-03T19:02:30+01:00",
            "2021-12-03T18:02:30",
            "2021-12-03 18:02:30",
            "2021-12-03 18:02:30.000+00:00",
            "1638554550",
            "1638554550000",
        ] {
            assert_eq!(parse_text(text), Some(expected), "{text}");
        }
        assert_eq!(parse_value(&json!(1638554550)), Some(expected));
        assert_eq!(parse_value(&json!(1638554550000i64)), Some(expected));
        assert_eq!(parse_value(&json!(1638554550.0)), Some(expected));
    }

    #[test]
    fn midnight_and_noon_in_twelve_hour_format() {
        assert_eq!(
            parse_text("Oct 16, 2019, 12:00:00 AM"),
            Some(at("2019-10-16T00:00:00Z"))
        );
        assert_eq!(
            parse_text("Oct 16, 2019, 12:00:00 PM"),
            Some(at("2019-10-16T12:00:00Z"))
        );
        assert_eq!(parse_text("2019-10-16"), Some(at("2019-10-16T00:00:00Z")));
    }

    #[test]
    fn unreadable_timestamps_are_none_not_errors() {
        for text in [
            "",
            "  ",
            "yesterday",
            "Dec 32, 2021, 6:02:30 PM",
            "NaN",
            "-5",
        ] {
            assert_eq!(parse_text(text), None, "{text}");
        }
        assert_eq!(parse_value(&json!(null)), None);
        assert_eq!(parse_value(&json!({"at": 1})), None);
        assert_eq!(parse_value(&json!(1e300)), None);
    }
}

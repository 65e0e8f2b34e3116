//! Lenient timestamps. Inspector's events carry timestamps in more than one format,
//! none of them reliably ISO-8601 (`Dec 3, 2021, 6:02:30 PM`, Java's `Date` text
//! `Wed Sep 04 16:55:38.411 UTC 2024`, ISO with or without fractions or offset, epoch
//! seconds or milliseconds). A timestamp that cannot be read is `None`; callers fall
//! back to the event's `time` instead of dropping a finding, and say that they did.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// Epoch values above this are milliseconds (1e11 seconds is the year 5138).
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;

/// Formats without a zone, read as UTC (a `UTC` or `GMT` word is removed first).
/// Inspector's are Java's `MEDIUM` style and Java's `Date.toString()` (`EEE MMM dd
/// HH:mm:ss.SSS zzz yyyy`, its zone word removed); `%.f` also accepts no fraction.
const NAIVE_FORMATS: &[&str] = &[
    "%b %d, %Y, %I:%M:%S%.f %p",
    "%a %b %d %H:%M:%S%.f %Y",
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
    // Newer Java formatting puts a narrow no-break space before AM/PM (`split_whitespace`
    // splits on it), and Java's `Date.toString()` puts the zone between time and year.
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|word| !matches!(*word, "UTC" | "GMT"))
        .collect();
    let normalised = words.join(" ");
    let text = normalised.as_str();
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
    fn java_date_text_with_the_zone_before_the_year_is_read() {
        let expected = at("2024-09-04T16:55:38.411Z");
        for text in [
            "Wed Sep 04 16:55:38.411 UTC 2024",
            "Wed Sep 4 16:55:38.411 GMT 2024",
            "Wed Sep 04 16:55:38.411 2024",
        ] {
            assert_eq!(parse_text(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_text("Wed Sep 04 16:55:38 UTC 2024"),
            Some(at("2024-09-04T16:55:38Z"))
        );
        assert_eq!(
            parse_text("Sep 4, 2024, 4:55:38 PM"),
            Some(at("2024-09-04T16:55:38Z"))
        );
        assert_eq!(parse_text("2024-09-04T16:55:38.411Z"), Some(expected));
        // A weekday that contradicts the date, or another zone, is not guessed at.
        assert_eq!(parse_text("Thu Sep 04 16:55:38.411 UTC 2024"), None);
        assert_eq!(parse_text("Wed Sep 04 16:55:38.411 PDT 2024"), None);
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

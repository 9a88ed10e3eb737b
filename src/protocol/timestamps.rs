//! Timestamps as the XML and form protocols write them: ISO 8601 in UTC
//! (`2026-12-06T07:10:04.123Z`), and as REST headers carry them: HTTP dates
//! (`Sun, 06 Dec 2026 07:10:04 GMT`, RFC 7231's IMF-fixdate). The generated
//! types hold epoch seconds (as JSON 1.1 sends them); these convert at the wire.

use crate::civil::{civil_from_days, days_from_civil, format_date_time, parse_rfc3339};

/// Epoch seconds as ISO 8601 with milliseconds, as AWS's XML answers carry them.
pub fn format(epoch_secs: f64) -> String {
    let millis = (epoch_secs * 1000.0).round() as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    format!("{}.{ms:03}Z", format_date_time(secs))
}

/// ISO 8601 (`2026-12-06T07:10:04Z`, fractions and `+hh:mm` offsets
/// allowed) or plain epoch seconds, as botocore may send either.
pub fn parse(text: &str) -> Option<f64> {
    if let Ok(n) = text.trim().parse::<f64>() {
        return Some(n);
    }
    let (secs, nanos) = parse_rfc3339(text)?;
    Some(secs as f64 + f64::from(nanos) / 1e9)
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Epoch seconds as an HTTP date, whole seconds (the format has no fractions).
pub fn format_http_date(epoch_secs: f64) -> String {
    let secs = epoch_secs.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(m - 1) as usize];
    format!(
        "{weekday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An HTTP date (`Sun, 06 Dec 2026 07:10:04 GMT`), the format botocore
/// writes timestamps in headers with.
pub fn parse_http_date(text: &str) -> Option<f64> {
    let (_, rest) = text.trim().split_once(", ")?;
    let mut parts = rest.split(' ');
    let (d, mon, y, clock, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    let m = MONTHS.iter().position(|name| *name == mon)? as u32 + 1;
    let d: u32 = d.parse().ok()?;
    let y: i64 = y.parse().ok()?;
    let mut hms = clock.splitn(3, ':').map(|n| n.parse::<i64>().ok());
    let (h, mi, s) = (hms.next()??, hms.next()??, hms.next()??);
    Some((days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(format(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format(1_796_541_004.123), "2026-12-06T07:10:04.123Z");
        assert!((parse("2026-12-06T07:10:04.123Z").unwrap() - 1_796_541_004.123).abs() < 1e-6);
        assert_eq!(parse("2026-12-06T08:10:04+01:00"), Some(1_796_541_004.0));
        assert_eq!(parse("1796541004"), Some(1_796_541_004.0));
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            format_http_date(1_796_541_004.9),
            "Sun, 06 Dec 2026 07:10:04 GMT"
        );
        assert_eq!(format_http_date(0.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Dec 2026 07:10:04 GMT"),
            Some(1_796_541_004.0)
        );
        assert_eq!(parse_http_date("2026-12-06T07:10:04Z"), None);
    }
}

//! Timestamps as the XML and form protocols write them: ISO 8601 in UTC
//! (`2026-12-06T07:10:04.123Z`). The generated types hold epoch seconds (as
//! JSON 1.1 sends them); these convert at the wire.

use crate::civil::{civil_from_days, days_from_civil};

/// Epoch seconds as ISO 8601 with milliseconds, as AWS's XML answers carry them.
pub fn format(epoch_secs: f64) -> String {
    let millis = (epoch_secs * 1000.0).round() as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// ISO 8601 (`2026-12-06T07:10:04Z`, fractions and `+hh:mm` offsets
/// allowed) or plain epoch seconds, as botocore may send either.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return Some(n);
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut parts = date.splitn(3, '-');
    let (y, m, d) = (num(parts.next()?)?, num(parts.next()?)?, num(parts.next()?)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // The zone: Z, or a signed offset.
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, mi) = z[1..].split_once(':').unwrap_or((&z[1..3.min(z.len())], z.get(3..).unwrap_or("0")));
        (c, sign * (num(h)? * 3600 + num(mi)? * 60))
    } else {
        (rest, 0)
    };
    let mut hms = clock.splitn(3, ':');
    let (h, mi) = (num(hms.next()?)?, num(hms.next()?)?);
    let s: f64 = hms.next().unwrap_or("0").parse().ok()?;
    let days = days_from_civil(y, m as u32, d as u32);
    Some((days * 86_400 + h * 3600 + mi * 60 - offset) as f64 + s)
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
}

//! Calendar arithmetic between civil dates (proleptic Gregorian, UTC) and
//! days since 1970-01-01, and the RFC 3339 date-times built on them, for the
//! few timestamp formats ecsbox reads and writes itself (SigV4's
//! `X-Amz-Date`, Docker's times, the XML and form protocols' ISO 8601)
//! without a date crate. Howard Hinnant's algorithms.

/// The date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS` of epoch seconds, in UTC: the part RFC 3339 and
/// ISO 8601 answers share (callers add their fraction and zone).
pub fn format_date_time(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// RFC 3339 / ISO 8601 date-times as Docker and the AWS SDKs write them:
/// `2024-05-01T12:34:56.123456789Z`, a `T`, `t` or space between date and
/// time, seconds optional, a fraction of any length, and `Z` or an offset
/// (`+02:00`, `+0200`, `+02`); no zone is UTC. Answers (epoch seconds,
/// nanoseconds).
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let (date, rest) = s.trim().split_once(['T', 't', ' '])?;
    let (y, mo, d) = parse_date(date)?;
    let (clock, offset_secs) = split_offset(rest)?;
    let (secs_of_day, nanos) = parse_clock(clock)?;
    Some((
        days_from_civil(y, mo, d) * 86_400 + secs_of_day - offset_secs,
        nanos,
    ))
}

fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    // RFC 3339's years have four digits (and larger ones would overflow
    // the seconds).
    (it.next().is_none()
        && (0..=9999).contains(&y)
        && (1..=12).contains(&m)
        && (1..=31).contains(&d))
    .then_some((y, m, d))
}

/// `12:00:00.5Z` -> (`12:00:00.5`, 0); `12:00:00+02:00` -> (`12:00:00`, 7200).
fn split_offset(s: &str) -> Option<(&str, i64)> {
    if let Some(clock) = s.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(pos) = s.rfind(['+', '-']) else {
        return Some((s, 0));
    };
    let (clock, offset) = s.split_at(pos);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits = &offset[1..];
    // Only digits and a colon (so the byte slicing below is on characters).
    if !digits.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return None;
    }
    let (h, m) = digits.split_once(':').unwrap_or((
        &digits[..2.min(digits.len())],
        digits.get(2..).filter(|m| !m.is_empty()).unwrap_or("0"),
    ));
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return None;
    }
    let secs = h * 3600 + m * 60;
    Some((clock, sign * secs))
}

/// `HH:MM[:SS[.fraction]]` -> (seconds of day, nanoseconds).
fn parse_clock(s: &str) -> Option<(i64, u32)> {
    let (hms, fraction) = s.split_once('.').unwrap_or((s, ""));
    let mut it = hms.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: i64 = it.next().map_or(Some(0), |s| s.parse().ok())?;
    if it.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some((h * 3600 + m * 60 + sec, parse_fraction(fraction)?))
}

fn parse_fraction(f: &str) -> Option<u32> {
    if f.is_empty() {
        return Some(0);
    }
    if !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_date_times_are_none_not_a_panic() {
        // Found by fuzzing: a year that overflows the seconds, an offset
        // that is not digits (sliced inside a character), a huge offset.
        assert_eq!(parse_rfc3339("99999999999999-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00-\u{a0}0"), None);
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00+99999999999999:00"), None);
        assert_eq!(
            parse_rfc3339("2026-01-01T00:00:00+02:00"),
            Some((1_767_218_400, 0))
        );
    }

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2015, 8, 30), 16_677);
        assert_eq!(civil_from_days(16_677), (2015, 8, 30));
        for z in [-1_000_000, -1, 0, 59, 60, 11_016, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}

//! Docker's timestamps (RFC 3339 with nanoseconds, e.g.
//! `2024-05-01T12:34:56.123456789Z`) to `SystemTime`, without a date crate.
//! Docker writes `0001-01-01T00:00:00Z` for "never" (a container not yet
//! started or finished): that is `None`.

use crate::civil::{days_from_civil, format_date_time, parse_rfc3339};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn parse_docker_time(s: &str) -> Option<SystemTime> {
    let (secs, nanos) = parse_rfc3339(s)?;
    // Year 1 and before: Docker's "never".
    if secs < days_from_civil(2, 1, 1) * 86_400 {
        return None;
    }
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Docker's `since` parameter: `seconds.nanoseconds` since the epoch.
pub fn to_docker_since(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

pub fn from_unix_nanos(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// RFC 3339 in UTC the way Go (and so Docker and the ECS agent) writes
/// times in JSON: nanoseconds with trailing zeros dropped, e.g.
/// `2020-10-02T00:15:07.62091233Z`, and no fraction on a whole second.
pub fn format_rfc3339_nanos(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let fraction = match d.subsec_nanos() {
        0 => String::new(),
        n => format!(".{n:09}").trim_end_matches('0').to_string(),
    };
    format!(
        "{}{fraction}Z",
        format_date_time(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    )
}

/// RFC 3339 in UTC to the second, e.g. `2024-05-01T18:34:56Z` (the form of
/// `Expiration` in AWS credentials).
pub fn format_rfc3339_seconds(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "{}Z",
        format_date_time(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: SystemTime) -> f64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
    }

    #[test]
    fn parses_docker_nanosecond_utc_time() {
        let t = parse_docker_time("2024-05-01T12:34:56.123456789Z").unwrap();
        let d = t.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(d.as_secs(), 1_714_566_896);
        assert_eq!(d.subsec_nanos(), 123_456_789);
    }

    #[test]
    fn parses_offsets_and_short_fractions() {
        assert_eq!(
            secs(parse_docker_time("1970-01-01T02:00:00.5+02:00").unwrap()),
            0.5
        );
        assert_eq!(
            secs(parse_docker_time("2000-03-01T00:00:00Z").unwrap()),
            951_868_800.0
        );
    }

    #[test]
    fn zero_time_means_never() {
        assert_eq!(parse_docker_time("0001-01-01T00:00:00Z"), None);
    }

    #[test]
    fn garbage_is_rejected() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-01-01T25:00:00Z",
            "2024-01-01",
        ] {
            assert_eq!(parse_docker_time(s), None, "{s}");
        }
    }

    #[test]
    fn formats_like_go_rfc3339_nano() {
        let t = parse_docker_time("2020-10-02T00:15:07.620912330Z").unwrap();
        assert_eq!(format_rfc3339_nanos(t), "2020-10-02T00:15:07.62091233Z");
        let whole = parse_docker_time("2000-02-29T23:59:59Z").unwrap();
        assert_eq!(format_rfc3339_nanos(whole), "2000-02-29T23:59:59Z");
        assert_eq!(format_rfc3339_seconds(t), "2020-10-02T00:15:07Z");
        assert_eq!(format_rfc3339_seconds(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn formatting_round_trips_through_parsing() {
        for secs in [0u64, 951_868_800, 1_714_566_896, 4_102_444_800] {
            let t = UNIX_EPOCH + Duration::new(secs, 123_456_789);
            assert_eq!(
                parse_docker_time(&format_rfc3339_nanos(t)),
                Some(t),
                "{secs}"
            );
        }
    }

    #[test]
    fn since_has_nine_fraction_digits() {
        let t = UNIX_EPOCH + Duration::new(12, 5);
        assert_eq!(to_docker_since(t), "12.000000005");
    }
}

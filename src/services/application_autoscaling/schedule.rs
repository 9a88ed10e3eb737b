//! A scheduled action's `Schedule`: `at(yyyy-mm-ddThh:mm:ss)`,
//! `rate(value unit)` or `cron(minutes hours day-of-month month day-of-week
//! year)`, and when it fires next, in the action's `Timezone` (IANA names,
//! daylight saving included; UTC when none is given).
//!
//! The cron subset: `*`, `?`, single values, ranges `a-b`, lists `a,b`,
//! steps `*/n` and `a-b/n` and `a/n`, month and weekday names (`JAN`,
//! `MON`), and `L` alone in day-of-month (the month's last day). AWS's `W`,
//! `#` and `L` after a value (`5L`) are refused by name. As in AWS,
//! day-of-week counts 1-7 from Sunday, and one of day-of-month and
//! day-of-week must be `?`.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Once, at this local date-time.
    At(DateTime),
    /// Every so many seconds.
    Rate(i64),
    Cron(Box<Cron>),
}

/// The allowed values of each cron field (`L` in day-of-month is `last_day`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// Index 1-31; None when the field is `?`.
    days_of_month: Option<Vec<bool>>,
    /// The month's last day (`L`).
    last_day: bool,
    months: Vec<bool>,
    /// Index 1-7 from Sunday; None when the field is `?`.
    days_of_week: Option<Vec<bool>>,
    /// Years 1970-2199, from index 0 = 1970.
    years: Vec<bool>,
}

const FIRST_YEAR: i16 = 1970;
const LAST_YEAR: i16 = 2199;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parses a `Schedule`; the error is a sentence for a ValidationException.
pub fn parse(expression: &str) -> Result<Schedule, String> {
    let expression = expression.trim();
    let inner = |prefix: &str| {
        expression
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(at) = inner("at(") {
        return at
            .parse::<DateTime>()
            .ok()
            .filter(|_| at.len() == "yyyy-mm-ddThh:mm:ss".len())
            .map(Schedule::At)
            .ok_or_else(|| {
                format!("The at expression '{at}' is not of the form yyyy-mm-ddThh:mm:ss.")
            });
    }
    if let Some(rate) = inner("rate(") {
        return parse_rate(rate).map(Schedule::Rate);
    }
    if let Some(cron) = inner("cron(") {
        return parse_cron(cron).map(|c| Schedule::Cron(Box::new(c)));
    }
    Err(format!(
        "Invalid schedule expression '{expression}': use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)."
    ))
}

fn parse_rate(rate: &str) -> Result<i64, String> {
    let bad = || {
        format!("The rate expression '{rate}' is not of the form 'value unit' (a positive whole number and minute(s), hour(s) or day(s)).")
    };
    let (value, unit) = rate.split_once(' ').ok_or_else(bad)?;
    let value: i64 = value.trim().parse().map_err(|_| bad())?;
    if value < 1 {
        return Err(bad());
    }
    // As in AWS: the singular for 1, the plural otherwise.
    let seconds = match (unit.trim(), value == 1) {
        ("minute", true) | ("minutes", false) => 60,
        ("hour", true) | ("hours", false) => 3600,
        ("day", true) | ("days", false) => 86_400,
        _ => return Err(bad()),
    };
    Ok(value * seconds)
}

fn parse_cron(cron: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "The cron expression '{cron}' must have six fields: minutes hours day-of-month month day-of-week year."
        ));
    }
    for (field, name) in fields
        .iter()
        .zip(["minutes", "hours", "", "month", "", "year"])
    {
        if !name.is_empty() && *field == "?" {
            return Err(format!(
                "The cron field {name} cannot be '?' (only day-of-month or day-of-week can)."
            ));
        }
    }
    for field in &fields {
        if field.contains('W') && !field.contains("WED") || field.contains('#') {
            return Err(format!(
                "ecsbox does not support the cron field '{field}': W (nearest weekday) and # (nth weekday) are not implemented."
            ));
        }
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return Err(format!(
            "The cron expression '{cron}' must have '?' in exactly one of day-of-month and day-of-week."
        ));
    }
    let (days_of_month, last_day) = match dom {
        "?" => (None, false),
        "L" => (Some(vec![false; 32]), true),
        _ => (Some(field(dom, 1, 31, &[])?), false),
    };
    let days_of_week = match dow {
        "?" => None,
        _ => Some(field(dow, 1, 7, &WEEKDAYS)?),
    };
    Ok(Cron {
        minutes: field(fields[0], 0, 59, &[])?,
        hours: field(fields[1], 0, 23, &[])?,
        days_of_month,
        last_day,
        months: field(fields[3], 1, 12, &MONTHS)?,
        days_of_week,
        years: field(fields[5], FIRST_YEAR as u32, LAST_YEAR as u32, &[])?
            .split_off(FIRST_YEAR as usize),
    })
}

/// The values one field allows, as flags indexed by value (0..=max).
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut allowed = vec![false; max as usize + 1];
    let value = |s: &str| -> Result<u32, String> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Ok(i as u32 + 1);
        }
        if s.ends_with('L') {
            return Err(format!(
                "ecsbox does not support the cron value '{s}': L after a value (the last such weekday) is not implemented."
            ));
        }
        s.parse::<u32>()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| format!("The cron value '{s}' is not between {min} and {max}."))
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 =
                    step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!("The cron step '{step}' is not a positive number.")
                    })?;
                (range, step)
            }
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else if part.contains('/') {
            (value(range)?, max)
        } else {
            let v = value(range)?;
            (v, v)
        };
        if from > to {
            return Err(format!("The cron range '{range}' ends before it starts."));
        }
        for v in (from..=to).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    Ok(allowed)
}

/// The time zone a `Timezone` names (UTC when None).
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name)
            .map_err(|_| format!("Invalid Timezone '{name}': use an IANA time zone name such as Europe/Paris or UTC.")),
    }
}

/// Epoch seconds of a local date-time in `tz` (the earlier instant of a
/// repeated hour, the later side of a skipped one).
fn instant(dt: DateTime, tz: &TimeZone) -> Option<i64> {
    dt.to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp().as_second())
}

fn local(secs: i64, tz: &TimeZone) -> Option<DateTime> {
    Timestamp::from_second(secs)
        .ok()
        .map(|t| t.to_zoned(tz.clone()).datetime())
}

impl Schedule {
    /// The first time (epoch seconds) strictly after `after` when the
    /// schedule fires; `anchor` is when a rate counts from (the action's
    /// StartTime or its creation).
    pub fn next_after(&self, after: i64, anchor: i64, tz: &TimeZone) -> Option<i64> {
        match self {
            Schedule::At(dt) => instant(*dt, tz).filter(|t| *t > after),
            Schedule::Rate(every) => {
                if anchor > after {
                    return Some(anchor);
                }
                let periods = (after - anchor) / every + 1;
                Some(anchor + periods * every)
            }
            Schedule::Cron(cron) => cron.next_after(after, tz),
        }
    }
}

impl Cron {
    fn day_matches(&self, date: Date) -> bool {
        if !self.months[date.month() as usize] {
            return false;
        }
        let year = date.year();
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) || !self.years[(year - FIRST_YEAR) as usize] {
            return false;
        }
        if let Some(days) = &self.days_of_month {
            let day = date.day();
            return days[day as usize] || (self.last_day && day == date.days_in_month());
        }
        if let Some(days) = &self.days_of_week {
            return days[date.weekday().to_sunday_one_offset() as usize];
        }
        false
    }

    fn next_after(&self, after: i64, tz: &TimeZone) -> Option<i64> {
        let start = local(after, tz)?;
        let mut date = start.date();
        // At most the years a cron may name; a day at a time is cheap enough.
        for _ in 0..(366 * 10) {
            if date.year() > LAST_YEAR {
                return None;
            }
            if self.day_matches(date) {
                for hour in (0..24).filter(|h| self.hours[*h as usize]) {
                    for minute in (0..60).filter(|m| self.minutes[*m as usize]) {
                        let dt = date.at(hour, minute, 0, 0);
                        if let Some(t) = instant(dt, tz).filter(|t| *t > after) {
                            return Some(t);
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        s.parse::<DateTime>()
            .unwrap()
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second()
    }

    fn next(expr: &str, after: &str, tz: Option<&str>) -> Option<i64> {
        let tz = time_zone(tz).unwrap();
        parse(expr).unwrap().next_after(utc(after), utc(after), &tz)
    }

    #[test]
    fn at_fires_once_at_its_local_time() {
        assert_eq!(
            next("at(2030-01-31T17:00:00)", "2030-01-01T00:00:00", None),
            Some(utc("2030-01-31T17:00:00"))
        );
        assert_eq!(
            next("at(2030-01-31T17:00:00)", "2030-02-01T00:00:00", None),
            None
        );
        // Paris is UTC+1 in winter.
        assert_eq!(
            next(
                "at(2030-01-31T17:00:00)",
                "2030-01-01T00:00:00",
                Some("Europe/Paris")
            ),
            Some(utc("2030-01-31T16:00:00"))
        );
        assert!(parse("at(2030-01-31 17:00)").is_err());
    }

    #[test]
    fn rate_counts_from_its_anchor() {
        let s = parse("rate(5 minutes)").unwrap();
        let t0 = utc("2030-01-01T00:00:00");
        assert_eq!(s.next_after(t0, t0, &TimeZone::UTC), Some(t0 + 300));
        assert_eq!(s.next_after(t0 + 301, t0, &TimeZone::UTC), Some(t0 + 600));
        assert_eq!(s.next_after(t0, t0 + 50, &TimeZone::UTC), Some(t0 + 50));
        assert_eq!(parse("rate(1 hour)").unwrap(), Schedule::Rate(3600));
        assert_eq!(parse("rate(2 days)").unwrap(), Schedule::Rate(172_800));
        for bad in [
            "rate(1 hours)",
            "rate(2 minute)",
            "rate(0 minutes)",
            "rate(x minutes)",
            "rate(5 weeks)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_walks_minutes_hours_and_days() {
        // Every day at 09:30 UTC.
        assert_eq!(
            next("cron(30 9 * * ? *)", "2030-03-01T10:00:00", None),
            Some(utc("2030-03-02T09:30:00"))
        );
        // Every 15 minutes.
        assert_eq!(
            next("cron(0/15 * * * ? *)", "2030-03-01T10:07:00", None),
            Some(utc("2030-03-01T10:15:00"))
        );
        // Weekdays MON-FRI at 08:00: 2030-03-02 is a Saturday.
        assert_eq!(
            next("cron(0 8 ? * MON-FRI *)", "2030-03-01T09:00:00", None),
            Some(utc("2030-03-04T08:00:00"))
        );
        // Numeric weekdays count from Sunday = 1.
        assert_eq!(
            next("cron(0 8 ? * 1 *)", "2030-03-01T09:00:00", None),
            Some(utc("2030-03-03T08:00:00"))
        );
        // The last day of the month.
        assert_eq!(
            next("cron(0 0 L * ? *)", "2030-02-01T00:00:00", None),
            Some(utc("2030-02-28T00:00:00"))
        );
        // Lists, ranges, months and years.
        assert_eq!(
            next(
                "cron(0 6,18 1-2 JAN,JUL ? 2031)",
                "2030-03-01T00:00:00",
                None
            ),
            Some(utc("2031-01-01T06:00:00"))
        );
        assert_eq!(
            next("cron(0 0 1 1 ? 2029)", "2030-03-01T00:00:00", None),
            None
        );
    }

    #[test]
    fn cron_follows_the_time_zone_and_daylight_saving() {
        // 09:00 in New York: UTC-5 in winter, UTC-4 in summer.
        assert_eq!(
            next(
                "cron(0 9 * * ? *)",
                "2030-01-10T00:00:00",
                Some("America/New_York")
            ),
            Some(utc("2030-01-10T14:00:00"))
        );
        assert_eq!(
            next(
                "cron(0 9 * * ? *)",
                "2030-07-10T00:00:00",
                Some("America/New_York")
            ),
            Some(utc("2030-07-10T13:00:00"))
        );
    }

    #[test]
    fn cron_refuses_what_it_does_not_implement_by_name() {
        for (expr, word) in [
            ("cron(0 9 15W * ? *)", "W (nearest weekday)"),
            ("cron(0 9 ? * 6#3 *)", "# (nth weekday)"),
            ("cron(0 9 ? * 6L *)", "L after a value"),
        ] {
            let err = parse(expr).unwrap_err();
            assert!(
                err.contains("ecsbox does not support") && err.contains(word),
                "{err}"
            );
        }
        for bad in [
            "cron(0 9 * * * *)",
            "cron(0 9 ? * ? *)",
            "cron(0 9 * *)",
            "cron(60 9 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 9 5-1 * ? *)",
            "cron(? 9 * * ? *)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(time_zone(Some("Mars/Olympus")).is_err());
        assert!(time_zone(Some("Asia/Tokyo")).is_ok());
    }
}

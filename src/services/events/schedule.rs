//! Schedule expressions of rules, as EventBridge reads them (user guide,
//! "Creating an Amazon EventBridge rule that runs on a schedule"), in UTC:
//!
//! - `rate(VALUE UNIT)`: VALUE a positive whole number; UNIT `minute`,
//!   `hour` or `day` when VALUE is 1, `minutes`, `hours` or `days`
//!   otherwise. The first run is one period after the rule was created (or
//!   enabled), then every period.
//! - `cron(MINUTES HOURS DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR)`: six fields;
//!   `*`, `,`, `-`, `/` everywhere; `?` in exactly one of day-of-month and
//!   day-of-week; `L` and `W` (`15W`, `LW`) in day-of-month; `L` (`6L`,
//!   the last Friday) and `#` (`6#3`, the third Friday) in day-of-week;
//!   months `JAN`-`DEC`, days `SUN`-`SAT` (1 is Sunday), years 1970-2199.
//!
//! A bad expression is `ValidationException: Parameter ScheduleExpression
//! is not valid.`, AWS's wording; `why` says in ecsbox's words which part.

use crate::civil::{civil_from_days, days_from_civil};

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every so many seconds.
    Rate(u64),
    Cron(Box<Cron>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    months: Vec<bool>,
    years: Vec<bool>,
    days: Days,
}

#[derive(Debug, Clone, PartialEq)]
enum Days {
    /// Day-of-month given, day-of-week `?`.
    OfMonth(MonthDays),
    /// Day-of-week given, day-of-month `?`.
    OfWeek(WeekDays),
}

#[derive(Debug, Clone, PartialEq)]
enum MonthDays {
    Set(Vec<bool>),
    Last,
    LastWeekday,
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq)]
enum WeekDays {
    /// Index 1..=7, Sunday is 1.
    Set(Vec<bool>),
    /// The last such weekday of the month.
    Last(u32),
    /// The nth such weekday of the month.
    Nth(u32, u32),
}

/// Why an expression was refused (ecsbox's words; AWS's message is fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(pub String);

fn bad<T>(why: impl Into<String>) -> Result<T, ScheduleError> {
    Err(ScheduleError(why.into()))
}

const MIN_YEAR: u32 = 1970;
const MAX_YEAR: u32 = 2199;

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let expr = expr.trim();
        if let Some(body) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
            return parse_rate(body);
        }
        if let Some(body) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
            return Cron::parse(body).map(|c| Schedule::Cron(Box::new(c)));
        }
        bad("a schedule expression is rate(...) or cron(...)")
    }

    /// The first firing strictly after `after` (epoch seconds), for a rule
    /// whose schedule started at `start`. None if there is none (a cron
    /// whose years are all past).
    pub fn next_after(&self, start: f64, after: f64) -> Option<f64> {
        match self {
            Schedule::Rate(period) => {
                let period = *period as f64;
                let n = ((after - start) / period).floor().max(0.0) + 1.0;
                let mut next = start + n * period;
                if next <= after {
                    next += period;
                }
                Some(next)
            }
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

fn parse_rate(body: &str) -> Result<Schedule, ScheduleError> {
    let mut parts = body.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return bad("rate(VALUE UNIT)");
    };
    let value: u64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0 && *v < 1_000_000_000)
        .ok_or_else(|| ScheduleError("the rate's value must be a positive whole number".into()))?;
    let (singular, seconds) = match unit {
        "minute" | "minutes" => ("minute", 60),
        "hour" | "hours" => ("hour", 3600),
        "day" | "days" => ("day", 86_400),
        _ => return bad("the rate's unit must be minute(s), hour(s) or day(s)"),
    };
    let plural = unit != singular;
    if (value == 1) == plural {
        return bad("the rate's unit is singular for 1 and plural otherwise");
    }
    Ok(Schedule::Rate(value * seconds))
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parses `*`, `a`, `a-b`, `a/s`, `*/s`, `a-b/s` and lists of them into a
/// set over `min..=max` (indexed by value).
fn parse_set(field: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<bool>, ScheduleError> {
    let mut set = vec![false; max as usize + 1];
    let value = |s: &str| -> Result<u32, ScheduleError> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Ok(i as u32 + 1);
        }
        match s.parse::<u32>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => bad(format!("{s} is not within {min}-{max}")),
        }
    };
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| ScheduleError(format!("{s} is not a step")))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            // `5/15`: from 5 to the end, every 15.
            (v, if part.contains('/') { max } else { v })
        };
        if lo > hi {
            return bad(format!("{range}: the range runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok(set)
}

impl Cron {
    pub fn parse(body: &str) -> Result<Cron, ScheduleError> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return bad(
                "cron(...) has six fields: minutes hours day-of-month month day-of-week year",
            );
        };
        let days = match (dom, dow) {
            ("?", "?") => return bad("only one of day-of-month and day-of-week may be ?"),
            ("?", dow) => Days::OfWeek(parse_weekdays(dow)?),
            (dom, "?") => Days::OfMonth(parse_month_days(dom)?),
            _ => return bad("one of day-of-month and day-of-week must be ?"),
        };
        Ok(Cron {
            minutes: parse_set(minutes, 0, 59, &[])?,
            hours: parse_set(hours, 0, 23, &[])?,
            months: parse_set(month, 1, 12, &MONTHS)?,
            years: parse_set(year, MIN_YEAR, MAX_YEAR, &[])?,
            days,
        })
    }

    fn day_matches(&self, y: i64, m: u32, d: u32) -> bool {
        let days = days_from_civil(y, m, d);
        // 1970-01-01 was a Thursday (5 when Sunday is 1).
        let weekday = |days: i64| ((days + 4).rem_euclid(7) + 1) as u32;
        let last = days_in_month(y, m);
        match &self.days {
            Days::OfMonth(MonthDays::Set(set)) => set.get(d as usize).copied().unwrap_or(false),
            Days::OfMonth(MonthDays::Last) => d == last,
            Days::OfMonth(MonthDays::LastWeekday) => {
                let first = days - i64::from(d) + 1;
                let mut day = last;
                while matches!(weekday(first + i64::from(day) - 1), 1 | 7) {
                    day -= 1;
                }
                d == day
            }
            Days::OfMonth(MonthDays::NearestWeekday(n)) => {
                let n = (*n).min(last);
                let first = days - i64::from(d) + 1;
                let day = match weekday(first + i64::from(n) - 1) {
                    7 if n == 1 => n + 2,
                    7 => n - 1,
                    1 if n == last => n - 2,
                    1 => n + 1,
                    _ => n,
                };
                d == day
            }
            Days::OfWeek(WeekDays::Set(set)) => set[weekday(days) as usize],
            Days::OfWeek(WeekDays::Last(w)) => weekday(days) == *w && d + 7 > last,
            Days::OfWeek(WeekDays::Nth(w, n)) => weekday(days) == *w && (d - 1) / 7 + 1 == *n,
        }
    }

    /// The first minute strictly after `after` (epoch seconds) the
    /// expression names, within the years it allows.
    pub fn next_after(&self, after: f64) -> Option<f64> {
        if !after.is_finite() {
            return None;
        }
        // Start at the next whole minute.
        let start = (after.floor() as i64).div_euclid(60) * 60 + 60;
        let mut day = start.div_euclid(86_400);
        let mut first_minute = (start.rem_euclid(86_400) / 60) as u32;
        loop {
            let (y, m, d) = civil_from_days(day);
            if y > i64::from(MAX_YEAR) {
                return None;
            }
            let year_ok = y >= i64::from(MIN_YEAR) && self.years[y as usize];
            if !year_ok {
                // Skip to the next January 1st.
                day = days_from_civil(y + 1, 1, 1);
                first_minute = 0;
                continue;
            }
            if !self.months[m as usize] {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                day = days_from_civil(ny, nm, 1);
                first_minute = 0;
                continue;
            }
            if self.day_matches(y, m, d) {
                for minute_of_day in first_minute..24 * 60 {
                    let (h, mi) = (minute_of_day / 60, minute_of_day % 60);
                    if self.hours[h as usize] && self.minutes[mi as usize] {
                        return Some((day * 86_400 + i64::from(minute_of_day) * 60) as f64);
                    }
                }
            }
            day += 1;
            first_minute = 0;
        }
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as u32
}

fn parse_month_days(field: &str) -> Result<MonthDays, ScheduleError> {
    match field {
        "L" => return Ok(MonthDays::Last),
        "LW" => return Ok(MonthDays::LastWeekday),
        _ => {}
    }
    if let Some(n) = field.strip_suffix('W') {
        return match n.parse::<u32>() {
            Ok(n) if (1..=31).contains(&n) => Ok(MonthDays::NearestWeekday(n)),
            _ => bad(format!("{field}: W follows one day of the month")),
        };
    }
    if field.contains('L') || field.contains('W') {
        return bad(format!("{field}: L and W stand alone in day-of-month"));
    }
    parse_set(field, 1, 31, &[]).map(MonthDays::Set)
}

fn parse_weekdays(field: &str) -> Result<WeekDays, ScheduleError> {
    let day = |s: &str| -> Result<u32, ScheduleError> {
        let set = parse_set(s, 1, 7, &WEEKDAYS)?;
        let days: Vec<u32> = (1..=7).filter(|d| set[*d as usize]).collect();
        match days[..] {
            [d] => Ok(d),
            _ => bad(format!("{s} is not one day of the week")),
        }
    };
    if field == "L" {
        return Ok(WeekDays::Last(7));
    }
    if let Some(d) = field.strip_suffix('L') {
        return Ok(WeekDays::Last(day(d)?));
    }
    if let Some((d, n)) = field.split_once('#') {
        let n: u32 = n
            .parse()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| ScheduleError(format!("{field}: # is followed by 1 to 5")))?;
        return Ok(WeekDays::Nth(day(d)?, n));
    }
    parse_set(field, 1, 7, &WEEKDAYS).map(WeekDays::Set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: u32, d: u32, h: i64, mi: i64) -> f64 {
        (days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60) as f64
    }

    fn next(expr: &str, after: f64) -> Option<f64> {
        Schedule::parse(expr).unwrap().next_after(0.0, after)
    }

    #[test]
    fn rates() {
        assert_eq!(Schedule::parse("rate(1 minute)"), Ok(Schedule::Rate(60)));
        assert_eq!(Schedule::parse("rate(5 minutes)"), Ok(Schedule::Rate(300)));
        assert_eq!(Schedule::parse("rate(2 hours)"), Ok(Schedule::Rate(7200)));
        assert_eq!(Schedule::parse("rate(1 day)"), Ok(Schedule::Rate(86_400)));
        for badexpr in [
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(0 minutes)",
            "rate(-1 minutes)",
            "rate(1 second)",
            "rate(1)",
            "rate()",
            "every minute",
        ] {
            assert!(Schedule::parse(badexpr).is_err(), "{badexpr}");
        }
        let s = Schedule::Rate(60);
        assert_eq!(s.next_after(100.0, 100.0), Some(160.0));
        assert_eq!(s.next_after(100.0, 159.9), Some(160.0));
        assert_eq!(s.next_after(100.0, 160.0), Some(220.0));
        assert_eq!(s.next_after(100.0, 50.0), Some(160.0));
    }

    #[test]
    fn crons() {
        let t = at(2024, 5, 1, 10, 7); // a Wednesday
        assert_eq!(next("cron(0 12 * * ? *)", t), Some(at(2024, 5, 1, 12, 0)));
        assert_eq!(next("cron(0 9 * * ? *)", t), Some(at(2024, 5, 2, 9, 0)));
        assert_eq!(
            next("cron(*/15 * * * ? *)", t),
            Some(at(2024, 5, 1, 10, 15))
        );
        assert_eq!(
            next("cron(5/10 * * * ? *)", t),
            Some(at(2024, 5, 1, 10, 15))
        );
        assert_eq!(
            next("cron(0 18 ? * MON-FRI *)", t),
            Some(at(2024, 5, 1, 18, 0))
        );
        assert_eq!(
            next("cron(0 8 ? * SAT,SUN *)", t),
            Some(at(2024, 5, 4, 8, 0))
        );
        assert_eq!(next("cron(0 0 1 * ? *)", t), Some(at(2024, 6, 1, 0, 0)));
        assert_eq!(next("cron(0 0 L * ? *)", t), Some(at(2024, 5, 31, 0, 0)));
        assert_eq!(next("cron(0 0 L 2 ? *)", t), Some(at(2025, 2, 28, 0, 0)));
        // The last weekday of June 2024 (the 30th is a Sunday): Friday the 28th.
        assert_eq!(next("cron(0 0 LW 6 ? *)", t), Some(at(2024, 6, 28, 0, 0)));
        // 1 June 2024 is a Saturday: the nearest weekday is Monday the 3rd.
        assert_eq!(next("cron(0 0 1W 6 ? *)", t), Some(at(2024, 6, 3, 0, 0)));
        // 15 June 2024 is a Saturday: Friday the 14th.
        assert_eq!(next("cron(0 0 15W 6 ? *)", t), Some(at(2024, 6, 14, 0, 0)));
        // The third Friday of May 2024 is the 17th; the last Friday the 31st.
        assert_eq!(next("cron(0 0 ? * 6#3 *)", t), Some(at(2024, 5, 17, 0, 0)));
        assert_eq!(next("cron(0 0 ? * 6L *)", t), Some(at(2024, 5, 31, 0, 0)));
        assert_eq!(
            next("cron(0 0 1 JAN ? 2026)", t),
            Some(at(2026, 1, 1, 0, 0))
        );
        assert_eq!(next("cron(0 0 1 JAN ? 2020)", t), None);
        assert_eq!(
            next("cron(0 10-12 * * ? *)", at(2024, 5, 1, 12, 0)),
            Some(at(2024, 5, 2, 10, 0))
        );
        assert_eq!(next("cron(0 0 29 2 ? *)", t), Some(at(2028, 2, 29, 0, 0)));
    }

    #[test]
    fn bad_crons() {
        for expr in [
            "cron(0 12 * * * *)",
            "cron(0 12 ? * ? *)",
            "cron(0 12 * *)",
            "cron(60 12 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 0 32 * ? *)",
            "cron(0 0 ? * 8 *)",
            "cron(0 0 ? * FOO *)",
            "cron(0 0 1 13 ? *)",
            "cron(0 0 1 * ? 1969)",
            "cron(0 0 1 * ? 2200)",
            "cron(*/0 0 1 * ? *)",
            "cron(5-1 0 1 * ? *)",
            "cron(0 0 ? * 2#6 *)",
            "cron(0 0 1L * ? *)",
            "cron(0 0 ? * MON-FRI#2 *)",
        ] {
            assert!(Schedule::parse(expr).is_err(), "{expr}");
        }
    }
}

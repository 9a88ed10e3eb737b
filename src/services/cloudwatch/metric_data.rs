//! GetMetricData: metric queries (`MetricStat`: a metric, a period and a
//! statistic, percentiles too) and metric math expressions over them,
//! shared with alarms on metric math (`PutMetricAlarm` with `Metrics`).
//!
//! The math built: numbers, query ids, `+ - * /` between series and
//! scalars (series meet on their common timestamps), parentheses, unary
//! minus, `[a, b]` arrays, `SUM`, `AVG`, `MIN`, `MAX` (of one series: a
//! scalar; of an array: one series per timestamp) and `METRICS()` (every
//! MetricStat query). Any other function is refused by name.

use super::statistics::Stat;
use super::{combination, invalid, MetricKey, Metrics};
use crate::model::cloudwatch::shapes::*;
use crate::protocol::ApiError;
use std::collections::{BTreeMap, HashMap};

/// A time series: period start (epoch seconds) -> value.
pub(super) type Series = BTreeMap<i64, f64>;

/// The most datapoints one GetMetricData page holds by default (AWS: 100,800).
const DEFAULT_MAX_DATAPOINTS: usize = 100_800;

/// What an expression evaluates to.
#[derive(Debug, Clone)]
enum Value {
    Scalar(f64),
    Series(Series),
    /// An array of series with their labels.
    Array(Vec<(String, Series)>),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Id(String),
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
    List(Vec<Expr>),
}

fn math_error(message: String) -> ApiError {
    invalid(message)
}

/// Parses a metric math expression.
fn parse(text: &str) -> Result<Expr, ApiError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let e = p.expr()?;
    if p.pos != p.tokens.len() {
        return Err(math_error(format!(
            "The expression {text} is invalid: unexpected {:?}.",
            p.tokens[p.pos]
        )));
    }
    Ok(e)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Word(String),
    Sym(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, ApiError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || ((chars[i] == 'e' || chars[i] == 'E') && i > start))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            let n = s.parse().map_err(|_| {
                math_error(format!("The expression {text} is invalid: bad number {s}."))
            })?;
            out.push(Token::Num(n));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else if "+-*/()[],".contains(c) {
            out.push(Token::Sym(c));
            i += 1;
        } else {
            return Err(math_error(format!(
                "ecsbox does not support {c:?} in metric math yet (expression {text})."
            )));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ApiError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(math_error(format!(
                "The expression is invalid: expected {c:?}."
            )))
        }
    }

    fn expr(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.term()?;
        loop {
            let op = if self.eat('+') {
                '+'
            } else if self.eat('-') {
                '-'
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat('*') {
                '*'
            } else if self.eat('/') {
                '/'
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, ApiError> {
        if self.eat('-') {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn list(&mut self, close: char) -> Result<Vec<Expr>, ApiError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(',')?;
        }
    }

    fn primary(&mut self) -> Result<Expr, ApiError> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Num(n)) => {
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Some(Token::Word(w)) => {
                self.pos += 1;
                if self.eat('(') {
                    Ok(Expr::Call(w, self.list(')')?))
                } else {
                    Ok(Expr::Id(w))
                }
            }
            Some(Token::Sym('(')) => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect(')')?;
                Ok(e)
            }
            Some(Token::Sym('[')) => {
                self.pos += 1;
                Ok(Expr::List(self.list(']')?))
            }
            other => Err(math_error(format!(
                "The expression is invalid: unexpected {other:?}."
            ))),
        }
    }
}

/// Checks an expression's functions before anything is evaluated.
fn check_functions(e: &Expr) -> Result<(), ApiError> {
    match e {
        Expr::Num(_) | Expr::Id(_) => Ok(()),
        Expr::Neg(a) => check_functions(a),
        Expr::Bin(_, a, b) => check_functions(a).and_then(|()| check_functions(b)),
        Expr::List(items) => items.iter().try_for_each(check_functions),
        Expr::Call(f, args) => {
            match f.as_str() {
                "SUM" | "AVG" | "MIN" | "MAX" if args.len() == 1 => {}
                "METRICS" if args.is_empty() => {}
                "SUM" | "AVG" | "MIN" | "MAX" | "METRICS" => {
                    return Err(math_error(format!(
                        "ecsbox does not support {f} with {} arguments yet.",
                        args.len()
                    )))
                }
                other => {
                    return Err(math_error(format!(
                        "ecsbox does not support the metric math function {other} yet."
                    )))
                }
            }
            args.iter().try_for_each(check_functions)
        }
    }
}

fn combine(op: char, a: f64, b: f64) -> Option<f64> {
    let v = match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        _ => a / b,
    };
    v.is_finite().then_some(v)
}

fn map_series(s: &Series, f: impl Fn(f64) -> Option<f64>) -> Series {
    s.iter()
        .filter_map(|(t, v)| f(*v).map(|r| (*t, r)))
        .collect()
}

fn binary(op: char, a: Value, b: Value) -> Result<Value, ApiError> {
    Ok(match (a, b) {
        (Value::Scalar(x), Value::Scalar(y)) => {
            Value::Scalar(combine(op, x, y).unwrap_or(f64::NAN))
        }
        (Value::Series(s), Value::Scalar(y)) => {
            Value::Series(map_series(&s, |x| combine(op, x, y)))
        }
        (Value::Scalar(x), Value::Series(s)) => {
            Value::Series(map_series(&s, |y| combine(op, x, y)))
        }
        (Value::Series(s), Value::Series(r)) => Value::Series(
            s.iter()
                .filter_map(|(t, x)| r.get(t).and_then(|y| combine(op, *x, *y)).map(|v| (*t, v)))
                .collect(),
        ),
        (Value::Array(items), other) => Value::Array(
            items
                .into_iter()
                .map(
                    |(label, s)| match binary(op, Value::Series(s), other.clone())? {
                        Value::Series(s) => Ok((label, s)),
                        _ => Err(math_error(
                            "ecsbox cannot combine two arrays of series.".into(),
                        )),
                    },
                )
                .collect::<Result<_, _>>()?,
        ),
        (other, Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(
                    |(label, s)| match binary(op, other.clone(), Value::Series(s))? {
                        Value::Series(s) => Ok((label, s)),
                        _ => Err(math_error(
                            "ecsbox cannot combine two arrays of series.".into(),
                        )),
                    },
                )
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn aggregate(f: &str, values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    Some(match f {
        "SUM" => v.iter().sum(),
        "AVG" => v.iter().sum::<f64>() / v.len() as f64,
        "MIN" => v.iter().copied().fold(f64::INFINITY, f64::min),
        _ => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// The queries of one request, evaluated on demand.
struct Evaluation<'a> {
    queries: &'a [MetricDataQuery],
    /// MetricStat results, by id.
    stats: HashMap<String, (String, Series)>,
    /// Expression results, by id.
    done: HashMap<String, Value>,
    visiting: Vec<String>,
}

impl Evaluation<'_> {
    fn value_of(&mut self, id: &str) -> Result<Value, ApiError> {
        if let Some((_, s)) = self.stats.get(id) {
            return Ok(Value::Series(s.clone()));
        }
        if let Some(v) = self.done.get(id) {
            return Ok(v.clone());
        }
        if self.visiting.iter().any(|v| v == id) {
            return Err(math_error(format!(
                "The expressions refer to each other in a circle through {id}."
            )));
        }
        let Some(expression) = self
            .queries
            .iter()
            .find(|q| q.id.as_deref() == Some(id))
            .and_then(|q| q.expression.clone())
        else {
            return Err(math_error(format!(
                "The expression refers to {id}, which is not the Id of any query."
            )));
        };
        self.visiting.push(id.to_string());
        let v = self.eval(&parse(&expression)?)?;
        self.visiting.pop();
        self.done.insert(id.to_string(), v.clone());
        Ok(v)
    }

    fn eval(&mut self, e: &Expr) -> Result<Value, ApiError> {
        match e {
            Expr::Num(n) => Ok(Value::Scalar(*n)),
            Expr::Id(id) => self.value_of(id),
            Expr::Neg(a) => binary('-', Value::Scalar(0.0), self.eval(a)?),
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                binary(*op, a, b)
            }
            Expr::List(items) => {
                let mut out = Vec::new();
                for item in items {
                    match self.eval(item)? {
                        Value::Series(s) => out.push((String::new(), s)),
                        Value::Array(a) => out.extend(a),
                        Value::Scalar(_) => {
                            return Err(math_error(
                                "An array of metric math holds series, not numbers.".into(),
                            ))
                        }
                    }
                }
                Ok(Value::Array(out))
            }
            Expr::Call(f, args) if f == "METRICS" && args.is_empty() => {
                let mut out = Vec::new();
                for q in self.queries {
                    if let Some((label, s)) = q.id.as_ref().and_then(|id| self.stats.get(id)) {
                        out.push((label.clone(), s.clone()));
                    }
                }
                Ok(Value::Array(out))
            }
            Expr::Call(f, args) => match self.eval(&args[0])? {
                Value::Scalar(x) => Ok(Value::Scalar(x)),
                Value::Series(s) => Ok(Value::Scalar(
                    aggregate(f, s.values().copied()).unwrap_or(f64::NAN),
                )),
                Value::Array(items) => {
                    let mut by_time: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                    for (_, s) in &items {
                        for (t, v) in s {
                            by_time.entry(*t).or_default().push(*v);
                        }
                    }
                    Ok(Value::Series(
                        by_time
                            .into_iter()
                            .filter_map(|(t, v)| aggregate(f, v.into_iter()).map(|a| (t, a)))
                            .collect(),
                    ))
                }
            },
        }
    }
}

/// A MetricStat's period: 1, 5, 10, 30 or a multiple of 60 seconds (an
/// alarm's: 10, 30 or a multiple of 60).
pub(super) fn check_period(
    period: Option<i32>,
    what: &str,
    for_alarm: bool,
) -> Result<i32, ApiError> {
    let p = period.ok_or_else(|| {
        ApiError::protocol(
            "MissingParameter",
            400,
            format!("The parameter {what} is required."),
        )
    })?;
    let high = if for_alarm {
        p == 10 || p == 30
    } else {
        matches!(p, 1 | 5 | 10 | 30)
    };
    if high || (p >= 60 && p % 60 == 0) {
        Ok(p)
    } else {
        Err(invalid(format!(
            "The value {p} for parameter {what} is invalid: it must be {} or a multiple of 60.",
            if for_alarm { "10, 30" } else { "1, 5, 10, 30" }
        )))
    }
}

/// Each query's problems, before anything is evaluated; the period of the
/// MetricStats (the shortest), for scalars and alarms.
fn check_queries(
    queries: &[MetricDataQuery],
    own_account: Option<&str>,
    for_alarm: bool,
) -> Result<i32, ApiError> {
    let mut seen = std::collections::HashSet::new();
    let mut period = None;
    for (i, q) in queries.iter().enumerate() {
        let at = format!("MetricDataQueries.member.{}", i + 1);
        let id = q.id.as_deref().unwrap_or_default();
        let id_ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !id_ok {
            return Err(invalid(format!(
                "The value {id} for parameter {at}.Id is invalid: it must start with a lowercase letter and hold only letters, digits and underscores."
            )));
        }
        if !seen.insert(id) {
            return Err(invalid(format!(
                "The value {id} for parameter {at}.Id is invalid: the Ids of the queries must be unique."
            )));
        }
        if let Some(account) = &q.account_id {
            if Some(account.as_str()) != own_account {
                return Err(invalid(format!(
                    "ecsbox does not support the parameter {at}.AccountId yet: it has no cross-account observability."
                )));
            }
        }
        match (&q.metric_stat, &q.expression) {
            (Some(stat), None) => {
                let p = check_period(stat.period, &format!("{at}.MetricStat.Period"), for_alarm)?;
                period = Some(period.map_or(p, |old: i32| old.min(p)));
                let name = stat.stat.as_deref().unwrap_or_default();
                if Stat::parse(name).is_none() {
                    return Err(invalid(format!(
                        "ecsbox does not support the statistic {name} ({at}.MetricStat.Stat) yet: SampleCount, Average, Sum, Minimum, Maximum and percentiles (p99) are built."
                    )));
                }
                if stat.metric.as_ref().and_then(|m| m.metric_name.as_ref()).is_none() {
                    return Err(ApiError::protocol(
                        "MissingParameter",
                        400,
                        format!("The parameter {at}.MetricStat.Metric.MetricName is required."),
                    ));
                }
            }
            (None, Some(e)) => {
                if q.period.is_some() {
                    return Err(invalid(format!(
                        "ecsbox does not support the parameter {at}.Period of an expression yet: expressions take their metrics' period."
                    )));
                }
                check_functions(&parse(e)?)?;
            }
            _ => {
                return Err(combination(format!(
                    "The parameters {at}.MetricStat and {at}.Expression are mutually exclusive; give exactly one of them."
                )))
            }
        }
    }
    period.ok_or_else(|| {
        invalid(
            "The metric data queries hold no MetricStat: there is no metric to evaluate.".into(),
        )
    })
}

/// The checks of an alarm's `Metrics`; answers the alarm's period.
pub(super) fn check_alarm_queries(queries: &[MetricDataQuery]) -> Result<i32, ApiError> {
    let returned = queries
        .iter()
        .filter(|q| q.return_data != Some(false))
        .count();
    if returned != 1 {
        return Err(ApiError::protocol(
            "ValidationError",
            400,
            "Exactly one element of the metrics list should return data.",
        ));
    }
    check_queries(queries, None, true)
}

/// The period an alarm on metric math evaluates on.
pub(super) fn alarm_period(queries: &[MetricDataQuery]) -> i32 {
    queries
        .iter()
        .filter_map(|q| q.metric_stat.as_ref().and_then(|s| s.period))
        .min()
        .unwrap_or(60)
}

/// The values of a MetricStat over [start, end).
fn stat_series(m: &Metrics, stat: &MetricStat, start: f64, end: f64) -> Series {
    let metric = stat.metric.clone().unwrap_or_default();
    let key = MetricKey::new(
        metric.namespace.as_deref().unwrap_or_default(),
        metric.metric_name.as_deref().unwrap_or_default(),
        metric.dimensions.as_deref(),
    );
    let period = stat.period.unwrap_or(60).max(1);
    let grain = f64::from(period.min(60));
    let start = (start / grain).floor() * grain;
    let which = Stat::parse(stat.stat.as_deref().unwrap_or_default()).unwrap_or(Stat::Average);
    m.buckets(&key, start, end, f64::from(period), stat.unit.as_deref())
        .into_iter()
        .filter_map(|(i, mut b)| {
            b.value(which)
                .map(|v| ((start + (i * i64::from(period)) as f64) as i64, v))
        })
        .collect()
}

/// Every query evaluated; the results of those with ReturnData (id,
/// label, series), in the order asked.
fn run(
    m: &Metrics,
    queries: &[MetricDataQuery],
    start: f64,
    end: f64,
    period: i32,
) -> Result<Vec<(String, String, Series)>, ApiError> {
    let mut ev = Evaluation {
        queries,
        stats: HashMap::new(),
        done: HashMap::new(),
        visiting: Vec::new(),
    };
    for q in queries {
        if let (Some(id), Some(stat)) = (&q.id, &q.metric_stat) {
            let label = q.label.clone().unwrap_or_else(|| {
                stat.metric
                    .as_ref()
                    .and_then(|m| m.metric_name.clone())
                    .unwrap_or_default()
            });
            ev.stats
                .insert(id.clone(), (label, stat_series(m, stat, start, end)));
        }
    }
    let mut out = Vec::new();
    for q in queries {
        if q.return_data == Some(false) {
            continue;
        }
        let id = q.id.clone().unwrap_or_default();
        let label = q.label.clone();
        match ev.value_of(&id)? {
            Value::Series(s) => {
                let label = label.unwrap_or_else(|| {
                    ev.stats
                        .get(&id)
                        .map_or_else(|| id.clone(), |(l, _)| l.clone())
                });
                out.push((id, label, s));
            }
            Value::Scalar(x) => {
                // A scalar is a flat line: its value at every period.
                let grain = f64::from(period.min(60));
                let mut t = (start / grain).floor() * grain;
                let mut s = Series::new();
                while t < end && x.is_finite() {
                    s.insert(t as i64, x);
                    t += f64::from(period);
                }
                out.push((id.clone(), label.unwrap_or(id), s));
            }
            Value::Array(items) => {
                for (l, s) in items {
                    out.push((id.clone(), label.clone().unwrap_or(l), s));
                }
            }
        }
    }
    Ok(out)
}

/// The series an alarm on metric math evaluates, over [start, end).
pub(super) fn alarm_series(
    m: &Metrics,
    queries: &[MetricDataQuery],
    start: f64,
    end: f64,
) -> Result<Series, ApiError> {
    let results = run(m, queries, start, end, alarm_period(queries))?;
    Ok(results
        .into_iter()
        .next()
        .map(|(_, _, s)| s)
        .unwrap_or_default())
}

/// The checks of GetMetricData that need no data.
pub(super) struct Request {
    queries: Vec<MetricDataQuery>,
    start: f64,
    end: f64,
    period: i32,
    descending: bool,
    skip: usize,
    max: usize,
}

pub(super) fn check(input: GetMetricDataInput, account: &str) -> Result<Request, ApiError> {
    if input
        .label_options
        .as_ref()
        .is_some_and(|l| l.timezone.is_some())
    {
        return Err(invalid(
            "ecsbox does not support the parameter LabelOptions.Timezone yet: it has no dynamic labels.".into(),
        ));
    }
    let queries = input.metric_data_queries.unwrap_or_default();
    let (start, end) = super::time_range(input.start_time, input.end_time)?;
    let period = check_queries(&queries, Some(account), false)?;
    let descending = super::scan_descending(input.scan_by.as_deref())?;
    let skip = match super::next_token(input.next_token.as_deref())? {
        None => 0,
        Some(t) => t.parse().map_err(|_| super::bad_token())?,
    };
    let max = match input.max_datapoints {
        None => DEFAULT_MAX_DATAPOINTS,
        Some(n) if n > 0 => n as usize,
        Some(n) => {
            return Err(invalid(format!(
                "The value {n} for parameter MaxDatapoints is invalid."
            )))
        }
    };
    Ok(Request {
        queries,
        start,
        end,
        period,
        descending,
        skip,
        max,
    })
}

/// The page of results a checked request asks for.
pub(super) fn answer(m: &Metrics, r: Request) -> Result<GetMetricDataOutput, ApiError> {
    let results = run(m, &r.queries, r.start, r.end, r.period)?;
    // Datapoints are paged in result order, each result's newest (or
    // oldest) first; a page holds at most `max` of them.
    let mut offset = 0;
    let mut left = r.max;
    let mut more = false;
    let mut out = Vec::new();
    for (id, label, series) in results {
        let mut points: Vec<(i64, f64)> = series.into_iter().collect();
        if r.descending {
            points.reverse();
        }
        let total = points.len();
        let from = r.skip.saturating_sub(offset).min(total);
        let take = (total - from).min(left);
        offset += total;
        left -= take;
        let partial = from + take < total;
        more |= partial;
        let page = &points[from..from + take];
        out.push(MetricDataResult {
            id: Some(id),
            label: Some(label),
            timestamps: Some(page.iter().map(|(t, _)| *t as f64).collect()),
            values: Some(page.iter().map(|(_, v)| *v).collect()),
            status_code: Some(if partial { "PartialData" } else { "Complete" }.into()),
            messages: Some(Vec::new()),
        });
    }
    let next_token = more.then(|| crate::store::page_token::encode(&(r.skip + r.max).to_string()));
    Ok(GetMetricDataOutput {
        metric_data_results: Some(out),
        next_token,
        messages: Some(Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_with_precedence() {
        assert_eq!(
            parse("m1 + 2 * -m2").unwrap(),
            Expr::Bin(
                '+',
                Box::new(Expr::Id("m1".into())),
                Box::new(Expr::Bin(
                    '*',
                    Box::new(Expr::Num(2.0)),
                    Box::new(Expr::Neg(Box::new(Expr::Id("m2".into()))))
                ))
            )
        );
        assert!(parse("SUM([m1, m2])").is_ok());
        assert!(parse("m1 +").is_err());
        let unknown = check_functions(&parse("ANOMALY_DETECTION_BAND(m1)").unwrap()).unwrap_err();
        assert!(
            unknown.message.contains("ANOMALY_DETECTION_BAND"),
            "{unknown:?}"
        );
    }

    #[test]
    fn series_meet_on_common_timestamps() {
        let a: Series = [(0, 1.0), (60, 2.0)].into();
        let b: Series = [(60, 4.0), (120, 8.0)].into();
        let Value::Series(s) = binary('/', Value::Series(a), Value::Series(b)).unwrap() else {
            panic!()
        };
        assert_eq!(s, [(60, 0.5)].into());
    }
}

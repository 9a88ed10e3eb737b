//! Metric alarms: PutMetricAlarm's checks, the alarms of one region, their
//! evaluation on ecsbox's clock, their history and their actions.
//!
//! Evaluation follows "Evaluating an alarm" in the CloudWatch user guide:
//! each alarm looks at its last `EvaluationPeriods` complete periods (N),
//! and goes to ALARM when `DatapointsToAlarm` of them (M, default N)
//! breach the threshold, to OK otherwise; periods without data are
//! treated as `TreatMissingData` says (missing, ignore, breaching,
//! notBreaching). An alarm is evaluated once a minute (once a period for
//! the 10 and 30 second periods), at whole multiples of that interval on
//! ecsbox's clock, so `clock::advance` makes due evaluations happen at once.
//!
//! Actions: on a transition, every action of the new state runs (when
//! `ActionsEnabled`). ARNs of Application Auto Scaling (`arn:aws:autoscaling:`)
//! go to the `AlarmActionSink` the server sets; while an alarm stays in
//! ALARM those are invoked again at every evaluation, as CloudWatch re-invokes
//! Auto Scaling actions every minute. Every other action (SNS, EC2, ...)
//! is recorded in the history as a failed action, never dropped silently.
//! Invocations are collected as data under the region's lock and run after it.
//!
//! Words. AWS's, as seen in real answers: the reasons ("Threshold Crossed:
//! 1 out of the last 1 datapoints [6.046241709654764 (15/08/18 21:15:00)]
//! was less than or equal to the threshold (70.0) (minimum 1 datapoint for
//! OK -> ALARM transition)." quoted in aws/aws-sdk-java#1723; the plain
//! "N datapoints [...] were (not) greater than the threshold (X)." form;
//! "Insufficient Data: 1 datapoint was unknown."; the missing-data one),
//! "Unchecked: Initial alarm creation", the history summaries ("Alarm
//! updated from OK to ALARM" and its HistoryData, the AWS CLI's
//! describe-alarm-history example; "Alarm \"x\" created/updated/deleted";
//! "Successfully executed action ARN" / "Failed to execute action ARN"),
//! "Exactly one element of the metrics list should return data." and
//! "Invalid arn syntax: ...". ecsbox's own: every refusal that names a
//! setting it does not support, the ResourceNotFound and
//! ResourceNotFoundException texts, the DatapointsToAlarm, evaluation-range
//! and mutually-exclusive-parameter texts, and the error inside a failed
//! action's history item.

use super::metric_data;
use super::statistics::Stat;
use super::{combination, invalid, MetricKey, Metrics};
use crate::model::cloudwatch::enums;
use crate::model::cloudwatch::shapes::*;
use crate::protocol::ApiError;
use crate::tags::TagSet;
use serde_json::{json, Value};

/// What an alarm action receives: the alarm and the state it entered.
pub trait AlarmActionSink: Send + Sync {
    fn invoke(&self, account: &str, region: &str, action_arn: &str, alarm: &AlarmFired);
}

/// An alarm that entered (or, for Auto Scaling actions, stays in) a state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmFired {
    pub alarm_name: String,
    pub alarm_arn: String,
    /// OK, ALARM or INSUFFICIENT_DATA.
    pub state: String,
    /// The alarm's StateReason.
    pub reason: String,
    /// The newest value evaluated, if any.
    pub metric_value: Option<f64>,
    pub threshold: f64,
}

pub const OK: &str = "OK";
pub const ALARM: &str = "ALARM";
pub const INSUFFICIENT_DATA: &str = "INSUFFICIENT_DATA";

/// How long CloudWatch keeps an alarm's history: two weeks, whether or not
/// the alarm is deleted.
const HISTORY_SECS: f64 = 14.0 * 86_400.0;
/// The most history items one region keeps (the oldest go first).
const MAX_HISTORY: usize = 20_000;
/// The longest an alarm may look back, Period x EvaluationPeriods (7 days).
const MAX_EVALUATION_RANGE: i64 = 7 * 86_400;

/// Actions this sink runs: Application Auto Scaling's policies.
pub fn is_autoscaling_action(arn: &str) -> bool {
    arn.starts_with("arn:aws:autoscaling:")
}

/// One alarm as a region holds it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredAlarm {
    pub alarm: MetricAlarm,
    pub tags: TagSet,
    /// When it is next evaluated, epoch seconds on ecsbox's clock.
    pub next_evaluation: f64,
}

/// One history item, numbered in the order recorded (page tokens name it).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct HistoryEntry {
    pub seq: u64,
    pub item: AlarmHistoryItem,
}

/// An action to run once the region's lock is released.
#[derive(Debug, Clone)]
pub(super) struct Invocation {
    pub action_arn: String,
    pub fired: AlarmFired,
}

pub fn alarm_arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}

fn missing_parameter(name: &str) -> ApiError {
    ApiError::protocol(
        "MissingParameter",
        400,
        format!("The parameter {name} is required."),
    )
}

fn not_supported(name: &str) -> ApiError {
    invalid(format!(
        "ecsbox does not support the parameter {name} of PutMetricAlarm yet."
    ))
}

/// PutMetricAlarm's rules beyond the model's constraints (which `Wire`
/// checks, and `CloudWatch::put_alarm` checks the same way).
pub(super) fn check(input: &PutMetricAlarmInput) -> Result<(), ApiError> {
    let unsupported = [
        (input.evaluation_window.is_some(), "EvaluationWindow"),
        (input.warm_up_configuration.is_some(), "WarmUpConfiguration"),
        (input.evaluation_criteria.is_some(), "EvaluationCriteria"),
        (input.evaluation_interval.is_some(), "EvaluationInterval"),
        (input.action_configuration.is_some(), "ActionConfiguration"),
        (input.threshold_metric_id.is_some(), "ThresholdMetricId"),
        (
            input.evaluate_low_sample_count_percentile.as_deref() == Some("ignore"),
            "EvaluateLowSampleCountPercentile (ignore)",
        ),
    ];
    if let Some((_, name)) = unsupported.iter().find(|(given, _)| *given) {
        return Err(not_supported(name));
    }
    let operator = input.comparison_operator.as_deref().unwrap_or_default();
    if Comparison::parse(operator).is_none() {
        return Err(invalid(format!(
            "ecsbox does not support the ComparisonOperator {operator} yet: it needs an anomaly detection band."
        )));
    }
    if input.threshold.is_none() {
        return Err(missing_parameter("Threshold"));
    }
    let n = input.evaluation_periods.unwrap_or(0);
    if n < 1 {
        return Err(invalid(format!(
            "The value {n} for parameter EvaluationPeriods is invalid: it must be at least 1."
        )));
    }
    if let Some(m) = input.datapoints_to_alarm {
        if m < 1 || m > n {
            return Err(invalid(format!(
                "The value {m} for parameter DatapointsToAlarm is invalid: it must be from 1 to EvaluationPeriods ({n})."
            )));
        }
    }
    if let Some(t) = input.treat_missing_data.as_deref() {
        if !["missing", "ignore", "breaching", "notBreaching"].contains(&t) {
            return Err(invalid(format!(
                "The value {t} for parameter TreatMissingData is invalid."
            )));
        }
    }
    for arn in [
        &input.alarm_actions,
        &input.ok_actions,
        &input.insufficient_data_actions,
    ]
    .into_iter()
    .flatten()
    .flatten()
    {
        if !arn.starts_with("arn:") || arn.split(':').count() < 6 {
            return Err(invalid(format!("Invalid arn syntax: {arn}")));
        }
    }
    if let Some(tags) = &input.tags {
        let rules = crate::tags::Rules::default();
        crate::tags::check(crate::tags::pairs_of(tags), rules)
            .and_then(|()| crate::tags::check_count(tags.len()))
            .map_err(|v| invalid(format!("The tags are invalid: {v}.")))?;
    }
    let period = match &input.metrics {
        Some(queries) => {
            let single = [
                (input.metric_name.is_some(), "MetricName"),
                (input.namespace.is_some(), "Namespace"),
                (input.statistic.is_some(), "Statistic"),
                (input.extended_statistic.is_some(), "ExtendedStatistic"),
                (input.dimensions.is_some(), "Dimensions"),
                (input.period.is_some(), "Period"),
                (input.unit.is_some(), "Unit"),
            ];
            if let Some((_, name)) = single.iter().find(|(given, _)| *given) {
                return Err(combination(format!(
                    "The parameters Metrics and {name} are mutually exclusive: an alarm on metric math gives its metrics in Metrics only."
                )));
            }
            metric_data::check_alarm_queries(queries)?
        }
        None => {
            if input.metric_name.is_none() {
                return Err(missing_parameter("MetricName"));
            }
            if input.namespace.is_none() {
                return Err(missing_parameter("Namespace"));
            }
            match (&input.statistic, &input.extended_statistic) {
                (Some(_), None) => {}
                (None, Some(p)) => {
                    if super::statistics::parse_percentile(p).is_none() {
                        return Err(invalid(format!(
                            "The value {p} for parameter ExtendedStatistic is invalid."
                        )));
                    }
                }
                _ => {
                    return Err(combination(
                        "Must specify either Statistic or ExtendedStatistic, but not both.".into(),
                    ))
                }
            }
            metric_data::check_period(input.period, "Period", true)?
        }
    };
    if i64::from(period) * i64::from(n) > MAX_EVALUATION_RANGE {
        return Err(invalid(format!(
            "The evaluation range (Period {period} x EvaluationPeriods {n}) must not exceed 7 days (604800 seconds)."
        )));
    }
    Ok(())
}

/// The period an alarm evaluates on: its Period, or its metrics' period.
fn period_of(alarm: &MetricAlarm) -> i64 {
    match (&alarm.period, &alarm.metrics) {
        (Some(p), _) => i64::from(*p),
        (None, Some(queries)) => i64::from(metric_data::alarm_period(queries)),
        (None, None) => 60,
    }
}

/// An alarm is evaluated once a minute, or once a period when shorter.
fn interval_of(alarm: &MetricAlarm) -> f64 {
    period_of(alarm).clamp(1, 60) as f64
}

fn next_boundary(now: f64, interval: f64) -> f64 {
    (now / interval).floor() * interval + interval
}

impl Metrics {
    fn record(&mut self, name: &str, kind: &str, summary: String, data: Value, now: f64) {
        self.history_seq += 1;
        self.history.push(HistoryEntry {
            seq: self.history_seq,
            item: AlarmHistoryItem {
                alarm_name: Some(name.to_string()),
                alarm_type: Some("MetricAlarm".into()),
                timestamp: Some(now),
                history_item_type: Some(kind.into()),
                history_summary: Some(summary),
                history_data: Some(data.to_string()),
                ..Default::default()
            },
        });
        let keep_after = now - HISTORY_SECS;
        let old = self
            .history
            .iter()
            .take_while(|e| e.item.timestamp.unwrap_or(0.0) < keep_after)
            .count()
            .max(self.history.len().saturating_sub(MAX_HISTORY));
        self.history.drain(..old);
    }
}

/// Creates or replaces an alarm. A new alarm starts INSUFFICIENT_DATA; an
/// update keeps the state and the tags, as PutMetricAlarm documents.
pub(super) fn put(
    m: &mut Metrics,
    account: &str,
    region: &str,
    input: PutMetricAlarmInput,
    now: f64,
) {
    let name = input.alarm_name.clone().unwrap_or_default();
    let original = m.alarms.get(&name).cloned();
    let single = input.metrics.is_none();
    let mut alarm = MetricAlarm {
        alarm_name: Some(name.clone()),
        alarm_arn: Some(alarm_arn(account, region, &name)),
        alarm_description: input.alarm_description,
        alarm_configuration_updated_timestamp: Some(now),
        actions_enabled: Some(input.actions_enabled.unwrap_or(true)),
        ok_actions: Some(input.ok_actions.unwrap_or_default()),
        alarm_actions: Some(input.alarm_actions.unwrap_or_default()),
        insufficient_data_actions: Some(input.insufficient_data_actions.unwrap_or_default()),
        state_value: Some(INSUFFICIENT_DATA.into()),
        state_reason: Some("Unchecked: Initial alarm creation".into()),
        state_updated_timestamp: Some(now),
        state_transitioned_timestamp: Some(now),
        metric_name: input.metric_name,
        namespace: input.namespace,
        statistic: input.statistic,
        extended_statistic: input.extended_statistic,
        dimensions: single.then(|| input.dimensions.unwrap_or_default()),
        period: input.period,
        unit: input.unit,
        evaluation_periods: input.evaluation_periods,
        datapoints_to_alarm: input.datapoints_to_alarm,
        threshold: input.threshold,
        comparison_operator: input.comparison_operator,
        treat_missing_data: input.treat_missing_data,
        evaluate_low_sample_count_percentile: input.evaluate_low_sample_count_percentile,
        metrics: input.metrics,
        ..Default::default()
    };
    let (tags, summary, data) = match &original {
        Some(old) => {
            let was = &old.alarm;
            alarm.state_value.clone_from(&was.state_value);
            alarm.state_reason.clone_from(&was.state_reason);
            alarm.state_reason_data.clone_from(&was.state_reason_data);
            alarm.state_updated_timestamp = was.state_updated_timestamp;
            alarm.state_transitioned_timestamp = was.state_transitioned_timestamp;
            (
                old.tags.clone(),
                format!("Alarm \"{name}\" updated"),
                json!({"version": "1.0", "type": "Update",
                       "updatedAlarm": history_json(&alarm), "originalAlarm": history_json(was)}),
            )
        }
        None => (
            TagSet::from_shapes(input.tags.as_deref().unwrap_or(&[])),
            format!("Alarm \"{name}\" created"),
            json!({"version": "1.0", "type": "Create", "createdAlarm": history_json(&alarm)}),
        ),
    };
    let next_evaluation = next_boundary(now, interval_of(&alarm));
    m.record(&name, "ConfigurationUpdate", summary, data, now);
    m.alarms.insert(
        name,
        StoredAlarm {
            alarm,
            tags,
            next_evaluation,
        },
    );
}

/// Deletes the alarms named; names no alarm has are passed over, as
/// CloudWatch does (aws-cloudformation/cloudformation-cli#456: deleting an
/// alarm that does not exist is no error).
pub(super) fn delete(m: &mut Metrics, names: &[String], now: f64) {
    for name in names {
        if let Some(gone) = m.alarms.remove(name) {
            m.record(
                name,
                "ConfigurationUpdate",
                format!("Alarm \"{name}\" deleted"),
                json!({"version": "1.0", "type": "Delete", "deletedAlarm": history_json(&gone.alarm)}),
                now,
            );
        }
    }
}

/// The alarm as history data shows it: camelCase members.
fn history_json(alarm: &MetricAlarm) -> Value {
    fn camel(v: Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let mut chars = k.chars();
                        let key = match chars.next() {
                            Some(first) => first.to_lowercase().chain(chars).collect(),
                            None => k,
                        };
                        (key, camel(v))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(camel).collect()),
            other => other,
        }
    }
    let mut shown = alarm.clone();
    shown.state_value = None;
    shown.state_reason = None;
    shown.state_reason_data = None;
    shown.state_updated_timestamp = None;
    shown.state_transitioned_timestamp = None;
    camel(serde_json::to_value(shown).unwrap_or(Value::Null))
}

/// The comparison of an alarm, and how its reason words it.
#[derive(Debug, Clone, Copy)]
enum Comparison {
    GreaterOrEqual,
    Greater,
    Less,
    LessOrEqual,
}

impl Comparison {
    fn parse(name: &str) -> Option<Comparison> {
        Some(match name {
            "GreaterThanOrEqualToThreshold" => Comparison::GreaterOrEqual,
            "GreaterThanThreshold" => Comparison::Greater,
            "LessThanThreshold" => Comparison::Less,
            "LessThanOrEqualToThreshold" => Comparison::LessOrEqual,
            _ => return None,
        })
    }

    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Greater => value > threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Comparison::GreaterOrEqual => "greater than or equal to",
            Comparison::Greater => "greater than",
            Comparison::Less => "less than",
            Comparison::LessOrEqual => "less than or equal to",
        }
    }
}

/// One evaluated period: its start, value and sample count.
#[derive(Debug, Clone, Copy)]
struct Point {
    at: f64,
    value: Option<f64>,
    count: f64,
}

/// The state an evaluation decided on, and why.
struct Decision {
    state: &'static str,
    reason: String,
    data: Value,
    value: Option<f64>,
}

/// The last `n` complete periods before `now`, oldest first.
fn points(m: &Metrics, alarm: &MetricAlarm, now: f64) -> Vec<Point> {
    let period = period_of(alarm);
    let n = i64::from(alarm.evaluation_periods.unwrap_or(1).max(1));
    let end = (now / period as f64).floor() * period as f64;
    let start = end - (n * period) as f64;
    let at = |i: i64| start + (i * period) as f64;
    if let Some(queries) = &alarm.metrics {
        let series = metric_data::alarm_series(m, queries, start, end).unwrap_or_default();
        return (0..n)
            .map(|i| Point {
                at: at(i),
                value: series.get(&(at(i) as i64)).copied(),
                count: 1.0,
            })
            .collect();
    }
    let key = MetricKey::new(
        alarm.namespace.as_deref().unwrap_or_default(),
        alarm.metric_name.as_deref().unwrap_or_default(),
        alarm.dimensions.as_deref(),
    );
    let stat = alarm
        .statistic
        .as_deref()
        .or(alarm.extended_statistic.as_deref())
        .and_then(Stat::parse)
        .unwrap_or(Stat::Average);
    let mut buckets = m.buckets(&key, start, end, period as f64, alarm.unit.as_deref());
    (0..n)
        .map(|i| match buckets.get_mut(&i) {
            Some(b) => Point {
                at: at(i),
                value: b.value(stat),
                count: b.count(),
            },
            None => Point {
                at: at(i),
                value: None,
                count: 0.0,
            },
        })
        .collect()
}

/// `06/12/26 13:05:00`: how a reason dates a datapoint (dd/MM/yy).
fn reason_date(at: f64) -> String {
    let full = crate::civil::format_date_time(at.floor() as i64);
    // YYYY-MM-DDTHH:MM:SS
    format!(
        "{}/{}/{} {}",
        &full[8..10],
        &full[5..7],
        &full[2..4],
        &full[11..19]
    )
}

/// `2026-12-06T13:05:00.000+0000`: how reason data dates things.
fn data_date(at: f64) -> String {
    let millis = ((at.fract() * 1000.0).floor() as i64).clamp(0, 999);
    format!(
        "{}.{millis:03}+0000",
        crate::civil::format_date_time(at.floor() as i64)
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The state the points call for, or None to keep the current one
/// (TreatMissingData `ignore` with no data).
fn decide(alarm: &MetricAlarm, points: &[Point], now: f64) -> Option<Decision> {
    let comparison = Comparison::parse(alarm.comparison_operator.as_deref().unwrap_or_default())?;
    let threshold = alarm.threshold.unwrap_or(0.0);
    let n = points.len();
    let m = alarm
        .datapoints_to_alarm
        .map_or(n, |m| usize::try_from(m).unwrap_or(n));
    let treat = alarm.treat_missing_data.as_deref().unwrap_or("missing");
    let present: Vec<(Point, f64)> = points
        .iter()
        .filter_map(|p| p.value.map(|v| (*p, v)))
        .collect();
    let mut data = json!({
        "version": "1.0",
        "queryDate": data_date(now),
        "startDate": data_date(points.first().map_or(now, |p| p.at)),
        "period": period_of(alarm),
        "recentDatapoints": present.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        "threshold": threshold,
        "evaluatedDatapoints": present.iter().rev().map(|(p, v)| json!({
            "timestamp": data_date(p.at), "sampleCount": p.count, "value": v,
        })).collect::<Vec<_>>(),
    });
    if let Some(s) = &alarm.statistic {
        data["statistic"] = json!(s);
    }
    if let Some(s) = &alarm.extended_statistic {
        data["extendedStatistic"] = json!(s);
    }
    if let Some(u) = &alarm.unit {
        data["unit"] = json!(u);
    }
    if present.is_empty() {
        let periods = plural(n, "period", "periods");
        let missing = plural(n, "missing datapoint", "missing datapoints");
        let (state, reason) = match treat {
            "ignore" => return None,
            "breaching" => (
                ALARM,
                format!("Threshold Crossed: no datapoints were received for {periods} and {missing} {} treated as [Breaching].", if n == 1 { "was" } else { "were" }),
            ),
            "notBreaching" => (
                OK,
                format!("Threshold Crossed: no datapoints were received for {periods} and {missing} {} treated as [NonBreaching].", if n == 1 { "was" } else { "were" }),
            ),
            _ => (
                INSUFFICIENT_DATA,
                format!(
                    "Insufficient Data: {} {} unknown.",
                    plural(n, "datapoint", "datapoints"),
                    if n == 1 { "was" } else { "were" }
                ),
            ),
        };
        return Some(Decision {
            state,
            reason,
            data,
            value: None,
        });
    }
    let breaching: Vec<&(Point, f64)> = present
        .iter()
        .filter(|(_, v)| comparison.breaches(*v, threshold))
        .collect();
    let missing = n - present.len();
    let count = breaching.len() + if treat == "breaching" { missing } else { 0 };
    let alarmed = count >= m;
    let (state, shown): (&str, Vec<&(Point, f64)>) = if alarmed {
        (ALARM, breaching)
    } else {
        (
            OK,
            present
                .iter()
                .filter(|(_, v)| !comparison.breaches(*v, threshold))
                .collect(),
        )
    };
    // Newest first, as the console and the reasons list them.
    let list: Vec<String> = shown
        .iter()
        .rev()
        .map(|(p, v)| format!("{v:?} ({})", reason_date(p.at)))
        .collect();
    let k = shown.len();
    let verb = if k == 1 { "was" } else { "were" };
    let not = if alarmed { "" } else { "not " };
    let words = comparison.words();
    let reason = if alarm.datapoints_to_alarm.is_some() {
        let (minimum, direction) = if alarmed {
            (m, "OK -> ALARM")
        } else {
            (n - m + 1, "ALARM -> OK")
        };
        format!(
            "Threshold Crossed: {k} out of the last {n} datapoints [{}] {verb} {not}{words} the threshold ({threshold:?}) (minimum {} for {direction} transition).",
            list.join(", "),
            plural(minimum, "datapoint", "datapoints"),
        )
    } else {
        format!(
            "Threshold Crossed: {} [{}] {verb} {not}{words} the threshold ({threshold:?}).",
            plural(k, "datapoint", "datapoints"),
            list.join(", "),
        )
    };
    let value = shown.last().map(|(_, v)| *v);
    Some(Decision {
        state,
        reason,
        data,
        value,
    })
}

/// Moves an alarm to `state`: history, the new state, and the actions of
/// that state (to `out`, or recorded as failed when ecsbox cannot run them).
#[allow(clippy::too_many_arguments)]
fn transition(
    m: &mut Metrics,
    name: &str,
    state: &str,
    reason: String,
    data: Option<Value>,
    value: Option<f64>,
    now: f64,
    can_invoke: bool,
    out: &mut Vec<Invocation>,
) {
    let Some(stored) = m.alarms.get_mut(name) else {
        return;
    };
    let alarm = &mut stored.alarm;
    let old_state = alarm.state_value.clone().unwrap_or_default();
    let mut old = json!({"stateValue": old_state, "stateReason": alarm.state_reason});
    if let Some(d) = alarm
        .state_reason_data
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
    {
        old["stateReasonData"] = d;
    }
    let mut new = json!({"stateValue": state, "stateReason": reason});
    if let Some(d) = &data {
        new["stateReasonData"] = d.clone();
    }
    alarm.state_value = Some(state.to_string());
    alarm.state_reason = Some(reason.clone());
    alarm.state_reason_data = data.map(|d| d.to_string());
    alarm.state_updated_timestamp = Some(now);
    alarm.state_transitioned_timestamp = Some(now);
    let fired = AlarmFired {
        alarm_name: name.to_string(),
        alarm_arn: alarm.alarm_arn.clone().unwrap_or_default(),
        state: state.to_string(),
        reason,
        metric_value: value,
        threshold: alarm.threshold.unwrap_or(0.0),
    };
    let actions = if alarm.actions_enabled == Some(false) {
        Vec::new()
    } else {
        actions_of(alarm, state).to_vec()
    };
    m.record(
        name,
        "StateUpdate",
        format!("Alarm updated from {old_state} to {state}"),
        json!({"version": "1.0", "oldState": old, "newState": new}),
        now,
    );
    let millis = (now * 1000.0).round() as i64;
    for arn in actions {
        if can_invoke && is_autoscaling_action(&arn) {
            m.record(
                name,
                "Action",
                format!("Successfully executed action {arn}"),
                json!({"actionState": "Succeeded", "stateUpdateTimestamp": millis, "notificationResource": arn}),
                now,
            );
            out.push(Invocation {
                action_arn: arn,
                fired: fired.clone(),
            });
        } else {
            let error = action_error(&arn);
            m.record(
                name,
                "Action",
                format!("Failed to execute action {arn}. Received error: \"{error}\""),
                json!({"actionState": "Failed", "stateUpdateTimestamp": millis, "error": error}),
                now,
            );
        }
    }
}

/// Why ecsbox could not run an action (its own words).
fn action_error(arn: &str) -> String {
    let service = arn.split(':').nth(2).unwrap_or_default();
    if is_autoscaling_action(arn) {
        "ecsbox has no Application Auto Scaling to run this action".into()
    } else {
        format!("ecsbox does not run actions of the {service} service (only Application Auto Scaling policies)")
    }
}

fn actions_of<'a>(alarm: &'a MetricAlarm, state: &str) -> &'a [String] {
    match state {
        ALARM => alarm.alarm_actions.as_deref(),
        OK => alarm.ok_actions.as_deref(),
        _ => alarm.insufficient_data_actions.as_deref(),
    }
    .unwrap_or(&[])
}

/// Evaluates every alarm due at `now`; returns the actions to run.
pub(super) fn evaluate_due(m: &mut Metrics, now: f64, can_invoke: bool) -> Vec<Invocation> {
    let due: Vec<String> = m
        .alarms
        .iter()
        .filter(|(_, a)| a.next_evaluation <= now)
        .map(|(name, _)| name.clone())
        .collect();
    let mut out = Vec::new();
    for name in due {
        let Some(stored) = m.alarms.get(&name) else {
            continue;
        };
        let alarm = stored.alarm.clone();
        let decision = decide(&alarm, &points(m, &alarm, now), now);
        if let Some(stored) = m.alarms.get_mut(&name) {
            stored.next_evaluation = next_boundary(now, interval_of(&alarm));
        }
        let current = alarm.state_value.as_deref().unwrap_or(INSUFFICIENT_DATA);
        match decision {
            Some(d) if d.state != current => transition(
                m,
                &name,
                d.state,
                d.reason,
                Some(d.data),
                d.value,
                now,
                can_invoke,
                &mut out,
            ),
            Some(d) if d.state == ALARM && alarm.actions_enabled != Some(false) && can_invoke => {
                // Still in ALARM: Auto Scaling actions run again.
                let fired = AlarmFired {
                    alarm_name: name.clone(),
                    alarm_arn: alarm.alarm_arn.clone().unwrap_or_default(),
                    state: ALARM.into(),
                    reason: alarm.state_reason.clone().unwrap_or_default(),
                    metric_value: d.value,
                    threshold: alarm.threshold.unwrap_or(0.0),
                };
                out.extend(
                    actions_of(&alarm, ALARM)
                        .iter()
                        .filter(|a| is_autoscaling_action(a))
                        .map(|a| Invocation {
                            action_arn: a.clone(),
                            fired: fired.clone(),
                        }),
                );
            }
            _ => {}
        }
    }
    out
}

/// SetAlarmState: the state until the next evaluation decides again.
pub(super) fn set_state(
    m: &mut Metrics,
    input: SetAlarmStateInput,
    now: f64,
    can_invoke: bool,
) -> Result<Vec<Invocation>, ApiError> {
    let name = input.alarm_name.unwrap_or_default();
    let state = input.state_value.unwrap_or_default();
    let reason = input.state_reason.unwrap_or_default();
    let data = match input.state_reason_data.as_deref() {
        None => None,
        Some(d) => Some(serde_json::from_str::<Value>(d).map_err(|_| {
            ApiError::protocol(
                "InvalidFormat",
                400,
                format!("The value {d} for parameter StateReasonData is not valid JSON."),
            )
        })?),
    };
    let Some(stored) = m.alarms.get_mut(&name) else {
        return Err(alarm_not_found(&name));
    };
    if !enums::STATE_VALUE.contains(&state.as_str()) {
        return Err(invalid(format!(
            "The value {state} for parameter StateValue is invalid."
        )));
    }
    let mut out = Vec::new();
    if stored.alarm.state_value.as_deref() == Some(state.as_str()) {
        stored.alarm.state_reason = Some(reason);
        stored.alarm.state_reason_data = data.map(|d| d.to_string());
        stored.alarm.state_updated_timestamp = Some(now);
        return Ok(out);
    }
    let state: &'static str = match state.as_str() {
        ALARM => ALARM,
        OK => OK,
        _ => INSUFFICIENT_DATA,
    };
    transition(
        m, &name, state, reason, data, None, now, can_invoke, &mut out,
    );
    Ok(out)
}

/// ecsbox's words: CloudWatch answers ResourceNotFound for an alarm it
/// does not have.
pub(super) fn alarm_not_found(name: &str) -> ApiError {
    ApiError::protocol(
        "ResourceNotFound",
        404,
        format!("Alarm {name} does not exist."),
    )
}

/// DescribeAlarms' filters.
pub(super) fn matches(alarm: &MetricAlarm, input: &DescribeAlarmsInput) -> bool {
    let name = alarm.alarm_name.as_deref().unwrap_or_default();
    input
        .alarm_names
        .as_ref()
        .is_none_or(|names| names.iter().any(|n| n == name))
        && input
            .alarm_name_prefix
            .as_ref()
            .is_none_or(|p| name.starts_with(p.as_str()))
        && input
            .state_value
            .as_ref()
            .is_none_or(|s| alarm.state_value.as_ref() == Some(s))
        && input.action_prefix.as_ref().is_none_or(|p| {
            [OK, ALARM, INSUFFICIENT_DATA]
                .iter()
                .flat_map(|s| actions_of(alarm, s))
                .any(|a| a.starts_with(p.as_str()))
        })
}

/// DescribeAlarmsForMetric: alarms on exactly this metric.
pub(super) fn on_metric(alarm: &MetricAlarm, input: &DescribeAlarmsForMetricInput) -> bool {
    let key = |ns: Option<&str>, name: Option<&str>, dims: Option<&[Dimension]>| {
        MetricKey::new(ns.unwrap_or_default(), name.unwrap_or_default(), dims)
    };
    alarm.metrics.is_none()
        && key(
            alarm.namespace.as_deref(),
            alarm.metric_name.as_deref(),
            alarm.dimensions.as_deref(),
        ) == key(
            input.namespace.as_deref(),
            input.metric_name.as_deref(),
            input.dimensions.as_deref(),
        )
        && input
            .statistic
            .as_ref()
            .is_none_or(|s| alarm.statistic.as_ref() == Some(s))
        && input
            .extended_statistic
            .as_ref()
            .is_none_or(|s| alarm.extended_statistic.as_ref() == Some(s))
        && input.period.is_none_or(|p| alarm.period == Some(p))
        && input
            .unit
            .as_ref()
            .is_none_or(|u| alarm.unit.as_ref() == Some(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(op: &str, m: Option<i32>, treat: Option<&str>) -> MetricAlarm {
        MetricAlarm {
            comparison_operator: Some(op.into()),
            threshold: Some(50.0),
            period: Some(60),
            evaluation_periods: Some(3),
            datapoints_to_alarm: m,
            treat_missing_data: treat.map(String::from),
            statistic: Some("Average".into()),
            ..Default::default()
        }
    }

    fn pts(values: &[Option<f64>]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                at: 1_796_562_300.0 + 60.0 * i as f64,
                value: *v,
                count: 1.0,
            })
            .collect()
    }

    #[test]
    fn m_of_n_and_the_reason_words() {
        let a = alarm("GreaterThanOrEqualToThreshold", Some(2), None);
        let d = decide(&a, &pts(&[Some(10.0), Some(85.2), Some(60.0)]), 0.0).unwrap();
        assert_eq!(d.state, ALARM);
        assert_eq!(
            d.reason,
            "Threshold Crossed: 2 out of the last 3 datapoints [60.0 (06/12/26 13:07:00), 85.2 (06/12/26 13:06:00)] were greater than or equal to the threshold (50.0) (minimum 2 datapoints for OK -> ALARM transition)."
        );
        let d = decide(&a, &pts(&[Some(10.0), Some(85.2), Some(6.0)]), 0.0).unwrap();
        assert_eq!(d.state, OK);
        let plain = alarm("GreaterThanThreshold", None, None);
        let d = decide(&plain, &pts(&[Some(1.0), Some(2.0), Some(3.0)]), 0.0).unwrap();
        assert_eq!(d.state, OK);
        assert!(
            d.reason
                .starts_with("Threshold Crossed: 3 datapoints [3.0 (06/12/26 13:07:00), 2.0"),
            "{}",
            d.reason
        );
        assert!(
            d.reason
                .ends_with("were not greater than the threshold (50.0)."),
            "{}",
            d.reason
        );
    }

    #[test]
    fn missing_data_treatments() {
        let none = pts(&[None, None, None]);
        let d = decide(&alarm("GreaterThanThreshold", None, None), &none, 0.0).unwrap();
        assert_eq!(
            (d.state, d.reason.as_str()),
            (
                INSUFFICIENT_DATA,
                "Insufficient Data: 3 datapoints were unknown."
            )
        );
        assert!(decide(
            &alarm("GreaterThanThreshold", None, Some("ignore")),
            &none,
            0.0
        )
        .is_none());
        let d = decide(
            &alarm("GreaterThanThreshold", None, Some("breaching")),
            &none,
            0.0,
        )
        .unwrap();
        assert_eq!(d.state, ALARM);
        assert_eq!(d.reason, "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching].");
        let d = decide(
            &alarm("GreaterThanThreshold", None, Some("notBreaching")),
            &none,
            0.0,
        )
        .unwrap();
        assert_eq!(d.state, OK);
        // One breaching point and two missing ones treated as breaching: 3 of 3.
        let some = pts(&[None, Some(99.0), None]);
        let d = decide(
            &alarm("GreaterThanThreshold", None, Some("breaching")),
            &some,
            0.0,
        )
        .unwrap();
        assert_eq!(d.state, ALARM);
        let d = decide(
            &alarm("GreaterThanThreshold", None, Some("notBreaching")),
            &some,
            0.0,
        )
        .unwrap();
        assert_eq!(d.state, OK);
    }
}

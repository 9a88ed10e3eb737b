//! What Application Auto Scaling needs from CloudWatch, as a trait: a
//! target tracking policy creates two alarms and deletes them with the
//! policy. CloudWatch's alarms call back through
//! `ApplicationAutoScaling::alarm_fired` when they go into ALARM with an
//! action naming a policy.
//!
//! `InMemoryAlarms` keeps the alarms asked for, for tests and for a server
//! without CloudWatch alarms; the server connects the real CloudWatch with
//! a small adapter from `AlarmSpec` to its PutMetricAlarm input.

use crate::protocol::ApiError;
use parking_lot::Mutex;
use std::collections::BTreeMap;

/// One alarm as PutMetricAlarm would be given it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    pub alarm_name: String,
    pub alarm_description: String,
    pub namespace: String,
    pub metric_name: String,
    /// (name, value), in the order given.
    pub dimensions: Vec<(String, String)>,
    /// `Average`, `Minimum`, `Maximum`, `SampleCount` or `Sum`.
    pub statistic: String,
    pub unit: Option<String>,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    pub threshold: f64,
    /// `GreaterThanThreshold` or `LessThanThreshold`.
    pub comparison_operator: String,
    pub alarm_actions: Vec<String>,
    pub treat_missing_data: String,
}

/// The alarms of target tracking policies, kept by CloudWatch.
pub trait AlarmStore: Send + Sync {
    /// Creates the alarm, or replaces the one of the same name.
    fn put_alarm(&self, account: &str, region: &str, alarm: &AlarmSpec) -> Result<(), ApiError>;
    /// Deletes the alarms named (those that do not exist are skipped).
    fn delete_alarms(&self, account: &str, region: &str, names: &[String]);
    /// The names of the alarms whose actions name `policy_arn` (a step
    /// scaling policy's alarms are the user's own; DescribeScalingPolicies
    /// lists them, as AWS does).
    fn alarms_naming(&self, account: &str, region: &str, policy_arn: &str) -> Vec<String>;
}

/// An `AlarmStore` that only remembers, for tests (the server gives
/// Application Auto Scaling CloudWatch's alarms instead).
#[derive(Default)]
pub struct InMemoryAlarms {
    alarms: Mutex<BTreeMap<(String, String, String), AlarmSpec>>,
}

impl InMemoryAlarms {
    pub fn new() -> Self {
        Self::default()
    }

    /// The alarms of one account and region, by name.
    pub fn alarms(&self, account: &str, region: &str) -> Vec<AlarmSpec> {
        self.alarms
            .lock()
            .iter()
            .filter(|((a, r, _), _)| a == account && r == region)
            .map(|(_, spec)| spec.clone())
            .collect()
    }

    pub fn reset(&self) {
        self.alarms.lock().clear();
    }
}

impl AlarmStore for InMemoryAlarms {
    fn put_alarm(&self, account: &str, region: &str, alarm: &AlarmSpec) -> Result<(), ApiError> {
        self.alarms.lock().insert(
            (account.into(), region.into(), alarm.alarm_name.clone()),
            alarm.clone(),
        );
        Ok(())
    }

    fn delete_alarms(&self, account: &str, region: &str, names: &[String]) {
        let mut alarms = self.alarms.lock();
        for name in names {
            alarms.remove(&(account.into(), region.into(), name.clone()));
        }
    }

    fn alarms_naming(&self, account: &str, region: &str, policy_arn: &str) -> Vec<String> {
        self.alarms(account, region)
            .into_iter()
            .filter(|a| a.alarm_actions.iter().any(|action| action == policy_arn))
            .map(|a| a.alarm_name)
            .collect()
    }
}

/// What an alarm tells a policy when it invokes it (the lead's adapter
/// makes one from CloudWatch's `AlarmFired`).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmTrigger {
    pub alarm_name: String,
    /// `ALARM`, `OK` or `INSUFFICIENT_DATA`: policies act on `ALARM` only.
    pub state: String,
    /// The value that breached (the last datapoint evaluated), if known.
    pub metric_value: Option<f64>,
    /// The alarm's threshold, which step adjustments' bounds are relative to.
    pub threshold: f64,
}

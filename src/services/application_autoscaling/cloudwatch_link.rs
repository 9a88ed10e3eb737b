//! Application Auto Scaling and CloudWatch, joined as AWS joins them:
//! target tracking policies keep their alarms in CloudWatch (so they are
//! evaluated on the metrics ECS publishes, and DescribeAlarms lists them),
//! and CloudWatch calls a policy when an alarm naming it fires.
//!
//! The scaling service only knows its own `AlarmStore` trait; this module
//! is the one place that knows both sides.

use super::alarms::{AlarmSpec, AlarmStore, AlarmTrigger};
use super::ApplicationAutoScaling;
use crate::model::cloudwatch::shapes::{Dimension, PutMetricAlarmInput};
use crate::protocol::ApiError;
use crate::services::cloudwatch::{AlarmActionSink, AlarmFired, CloudWatch};
use std::sync::{Arc, Weak};

/// The alarms of target tracking policies, kept by CloudWatch itself.
pub struct CloudWatchAlarms(pub Arc<CloudWatch>);

impl AlarmStore for CloudWatchAlarms {
    fn put_alarm(&self, account: &str, region: &str, alarm: &AlarmSpec) -> Result<(), ApiError> {
        let input = PutMetricAlarmInput {
            alarm_name: Some(alarm.alarm_name.clone()),
            alarm_description: Some(alarm.alarm_description.clone()),
            actions_enabled: Some(true),
            alarm_actions: Some(alarm.alarm_actions.clone()),
            metric_name: Some(alarm.metric_name.clone()),
            namespace: Some(alarm.namespace.clone()),
            statistic: Some(alarm.statistic.clone()),
            dimensions: Some(
                alarm
                    .dimensions
                    .iter()
                    .map(|(name, value)| Dimension {
                        name: Some(name.clone()),
                        value: Some(value.clone()),
                    })
                    .collect(),
            ),
            period: Some(alarm.period),
            unit: alarm.unit.clone(),
            evaluation_periods: Some(alarm.evaluation_periods),
            datapoints_to_alarm: Some(alarm.datapoints_to_alarm),
            threshold: Some(alarm.threshold),
            comparison_operator: Some(alarm.comparison_operator.clone()),
            treat_missing_data: Some(alarm.treat_missing_data.clone()),
            ..Default::default()
        };
        self.0.put_alarm(account, region, input)
    }

    fn delete_alarms(&self, account: &str, region: &str, names: &[String]) {
        self.0.delete_alarms(account, region, names);
    }

    fn alarms_naming(&self, account: &str, region: &str, policy_arn: &str) -> Vec<String> {
        self.0
            .alarm_names_with_prefix(account, region, "")
            .into_iter()
            .filter(|name| {
                self.0.alarm(account, region, name).is_some_and(|a| {
                    a.alarm_actions
                        .iter()
                        .flatten()
                        .any(|action| action.starts_with(policy_arn))
                })
            })
            .collect()
    }
}

/// CloudWatch's alarm actions that name a scaling policy, handed to the
/// scaling service. Weak: the scaling service holds CloudWatch (its alarm
/// store), so a strong link back would keep both alive forever.
pub struct ScalingActions(pub Weak<ApplicationAutoScaling>);

impl AlarmActionSink for ScalingActions {
    fn invoke(&self, account: &str, region: &str, action_arn: &str, alarm: &AlarmFired) {
        if !action_arn.contains(":scalingPolicy:") {
            return;
        }
        if let Some(scaling) = self.0.upgrade() {
            scaling.alarm_fired(
                account,
                region,
                action_arn,
                &AlarmTrigger {
                    alarm_name: alarm.alarm_name.clone(),
                    state: alarm.state.clone(),
                    metric_value: alarm.metric_value,
                    threshold: alarm.threshold,
                },
            );
        }
    }
}

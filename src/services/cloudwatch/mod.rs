//! CloudWatch, served in three protocols (Smithy RPC v2 CBOR, which boto3
//! and the CLI speak today; JSON 1.0; query, which older SDKs speak), on
//! ecsbox's clock:
//!
//! - metrics: PutMetricData, ListMetrics, GetMetricStatistics (statistics
//!   and percentiles), GetMetricData (`metric_data`: queries and metric math);
//! - alarms (`alarms`): PutMetricAlarm, DescribeAlarms(ForMetric),
//!   DeleteAlarms, SetAlarmState, DescribeAlarmHistory, Enable/Disable
//!   AlarmActions, tags; evaluated by a background task on ecsbox's clock,
//!   their Auto Scaling actions run through an `AlarmActionSink`;
//! - the `AWS/ECS` metrics of the tasks' real Docker stats (`ecs_metrics`);
//! - the `AWS/ApplicationELB` request metrics of the load balancers'
//!   target groups (`elb_metrics`), on the same schedule.
//!
//! Every other operation answers an error naming it.

pub mod alarms;
pub mod ecs_metrics;
pub mod elb_metrics;
#[rustfmt::skip]
pub mod generated;
mod metric_data;
mod statistics;

pub use alarms::{AlarmActionSink, AlarmFired};

use crate::clock;
use crate::model::cloudwatch::shapes::*;
use crate::model::validate::Validate;
use crate::protocol::{ApiError, RequestContext};
use crate::store::{page_token, RegionStore};
use crate::tags::TagSet;
use generated::CloudWatchApi;
use statistics::{Bucket, Sample};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, UNIX_EPOCH};

/// How many metrics a ListMetrics page holds (AWS: 500).
const LIST_PAGE: usize = 500;
/// The most datapoints one GetMetricStatistics may ask for (AWS: 1,440).
const MAX_DATAPOINTS: f64 = 1440.0;

pub struct CloudWatch {
    regions: RegionStore<Metrics>,
    /// Runs the alarms' Application Auto Scaling actions (the server sets
    /// it; a test may put its own in its place).
    sink: parking_lot::RwLock<Option<Arc<dyn AlarmActionSink>>>,
    /// Where the AWS/ECS metrics come from (set once, by the server).
    ecs: OnceLock<ecs_metrics::EcsSource>,
    /// Where the AWS/ApplicationELB metrics come from (set once, by the server).
    elb: OnceLock<elb_metrics::ElbSource>,
    /// Fired when an alarm is put, so the evaluator looks at its deadline.
    alarms_changed: Arc<tokio::sync::Notify>,
}

// `--state-dir` keeps its regions.
crate::keeps_state_in_regions!(CloudWatch);

crate::aws_service!(
    CloudWatch,
    crate::model::cloudwatch::operations,
    generated::dispatch
);

/// One account's metrics in one region, by namespace, name and
/// dimensions, and its alarms with their history.
#[derive(Default)]
struct Metrics {
    series: BTreeMap<MetricKey, Vec<Sample>>,
    alarms: BTreeMap<String, alarms::StoredAlarm>,
    /// Oldest first.
    history: Vec<alarms::HistoryEntry>,
    history_seq: u64,
}

/// On disk (`crate::persistence`): every metric's datapoints, the alarms
/// and their history. A series is a (key, datapoints) pair: its key is not
/// a string, as JSON's map keys must be.
#[derive(serde::Serialize)]
struct SavingMetrics<'a> {
    series: Vec<(&'a MetricKey, &'a Vec<Sample>)>,
    alarms: &'a BTreeMap<String, alarms::StoredAlarm>,
    history: &'a Vec<alarms::HistoryEntry>,
    history_seq: u64,
}

#[derive(serde::Deserialize)]
struct SavedMetrics {
    series: Vec<(MetricKey, Vec<Sample>)>,
    alarms: BTreeMap<String, alarms::StoredAlarm>,
    history: Vec<alarms::HistoryEntry>,
    history_seq: u64,
}

impl crate::persistence::Persistent for Metrics {
    const SERVICE: &'static str = "cloudwatch";

    fn save(&self) -> Result<serde_json::Value, String> {
        serde_json::to_value(SavingMetrics {
            series: self.series.iter().collect(),
            alarms: &self.alarms,
            history: &self.history,
            history_seq: self.history_seq,
        })
        .map_err(|e| e.to_string())
    }

    fn restore(&mut self, saved: serde_json::Value) -> Result<(), String> {
        let saved: SavedMetrics = serde_json::from_value(saved).map_err(|e| e.to_string())?;
        self.series = saved.series.into_iter().collect();
        self.alarms = saved.alarms;
        self.history = saved.history;
        self.history_seq = saved.history_seq;
        Ok(())
    }
}

impl Metrics {
    /// The samples of `key` in [start, end) (with `unit`, when given), by
    /// their period's index from `start`.
    fn buckets(
        &self,
        key: &MetricKey,
        start: f64,
        end: f64,
        period: f64,
        unit: Option<&str>,
    ) -> BTreeMap<i64, Bucket> {
        let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();
        for sample in self.series.get(key).into_iter().flatten() {
            if sample.at < start
                || sample.at >= end
                || unit.is_some_and(|u| Some(u) != sample.unit.as_deref())
            {
                continue;
            }
            let index = ((sample.at - start) / period).floor() as i64;
            buckets.entry(index).or_default().add(sample);
        }
        buckets
    }
}

/// A metric is its namespace, name and exact set of dimensions (sorted by
/// name, as CloudWatch treats them as a set).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct MetricKey {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
}

impl MetricKey {
    fn new(namespace: &str, name: &str, dimensions: Option<&[Dimension]>) -> MetricKey {
        let mut dims: Vec<(String, String)> = dimensions
            .unwrap_or(&[])
            .iter()
            .map(|d| {
                (
                    d.name.clone().unwrap_or_default(),
                    d.value.clone().unwrap_or_default(),
                )
            })
            .collect();
        dims.sort();
        MetricKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
            dimensions: dims,
        }
    }

    /// The position of this metric in ListMetrics' order, for page tokens.
    fn token_key(&self) -> String {
        let dims: Vec<String> = self
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "{}\u{0}{}\u{0}{}",
            self.namespace,
            self.name,
            dims.join("\u{0}")
        )
    }

    fn to_metric(&self) -> Metric {
        Metric {
            namespace: Some(self.namespace.clone()),
            metric_name: Some(self.name.clone()),
            dimensions: Some(
                self.dimensions
                    .iter()
                    .map(|(k, v)| Dimension {
                        name: Some(k.clone()),
                        value: Some(v.clone()),
                    })
                    .collect(),
            ),
        }
    }
}

impl CloudWatch {
    pub fn new() -> Self {
        CloudWatch {
            regions: RegionStore::creating(|_, _| Metrics::default()),
            sink: parking_lot::RwLock::new(None),
            ecs: OnceLock::new(),
            elb: OnceLock::new(),
            alarms_changed: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Sets what runs the alarms' Application Auto Scaling actions,
    /// replacing the one set before.
    pub fn set_action_sink(&self, sink: Arc<dyn AlarmActionSink>) {
        *self.sink.write() = Some(sink);
    }

    /// Creates or updates a metric alarm, with PutMetricAlarm's checks:
    /// for services in the same process (target tracking's alarms).
    pub fn put_alarm(
        &self,
        account: &str,
        region: &str,
        input: PutMetricAlarmInput,
    ) -> Result<(), ApiError> {
        let errors = input.validate();
        if !errors.is_empty() {
            return Err(crate::protocol::validation_error(
                "InvalidParameterValue",
                &errors,
            ));
        }
        alarms::check(&input)?;
        self.regions.with(account, region, |m| {
            alarms::put(m, account, region, input, clock::now_secs())
        });
        self.alarms_changed.notify_waiters();
        Ok(())
    }

    /// Deletes the alarms named (names no alarm has are passed over).
    pub fn delete_alarms(&self, account: &str, region: &str, names: &[String]) {
        self.regions.with(account, region, |m| {
            alarms::delete(m, names, clock::now_secs())
        });
    }

    /// The names of the alarms starting with `prefix`, sorted.
    pub fn alarm_names_with_prefix(
        &self,
        account: &str,
        region: &str,
        prefix: &str,
    ) -> Vec<String> {
        self.regions.with(account, region, |m| {
            m.alarms
                .keys()
                .filter(|n| n.starts_with(prefix))
                .cloned()
                .collect()
        })
    }

    /// One alarm as DescribeAlarms shows it.
    pub fn alarm(&self, account: &str, region: &str, name: &str) -> Option<MetricAlarm> {
        self.regions.with(account, region, |m| {
            m.alarms.get(name).map(|a| a.alarm.clone())
        })
    }

    /// Evaluates every alarm that is due on ecsbox's clock and runs the
    /// actions that follow; the background evaluator calls this at each
    /// deadline, tests may call it after moving the clock.
    pub fn evaluate_due_alarms(&self) {
        let now = clock::now_secs();
        let can_invoke = self.sink.read().is_some();
        for (account, region) in self.regions.keys() {
            let Some(state) = self.regions.existing(&account, &region) else {
                continue;
            };
            let invocations = alarms::evaluate_due(&mut state.lock(), now, can_invoke);
            self.invoke(&account, &region, invocations);
        }
    }

    /// Runs actions, after the region's lock is released.
    fn invoke(&self, account: &str, region: &str, invocations: Vec<alarms::Invocation>) {
        let Some(sink) = self.sink.read().clone() else {
            return;
        };
        for i in invocations {
            sink.invoke(account, region, &i.action_arn, &i.fired);
        }
    }

    /// The earliest time an alarm is due, if there is one.
    fn next_evaluation(&self) -> Option<f64> {
        self.regions
            .keys()
            .into_iter()
            .filter_map(|(a, r)| self.regions.existing(&a, &r))
            .filter_map(|state| {
                state
                    .lock()
                    .alarms
                    .values()
                    .map(|a| a.next_evaluation)
                    .min_by(f64::total_cmp)
            })
            .min_by(f64::total_cmp)
    }

    /// Starts the background task that evaluates alarms when they are due
    /// on ecsbox's clock (at once when `clock::advance` moves past it).
    pub fn spawn_alarm_evaluator(self: &Arc<Self>) {
        let me: Weak<CloudWatch> = Arc::downgrade(self);
        let changed = self.alarms_changed.clone();
        tokio::spawn(async move {
            loop {
                let woken = changed.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let next = match me.upgrade() {
                    Some(cw) => cw.next_evaluation(),
                    None => return,
                };
                match next {
                    Some(at) => {
                        let deadline = UNIX_EPOCH + Duration::from_secs_f64(at.max(0.0));
                        tokio::select! {
                            _ = clock::sleep_until(deadline) => {}
                            _ = woken => {}
                        }
                    }
                    // No alarm: wait for one, checking now and then that
                    // the service still exists.
                    None => {
                        let _ = tokio::time::timeout(Duration::from_secs(60), woken).await;
                    }
                }
                match me.upgrade() {
                    Some(cw) => cw.evaluate_due_alarms(),
                    None => return,
                }
            }
        });
    }

    pub fn reset(&self) {
        self.regions.reset();
    }

    fn with_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut Metrics) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.regions.with(&ctx.account, &ctx.region, f)
    }
}

impl Default for CloudWatch {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::protocol("InvalidParameterValue", 400, message)
}

fn combination(message: String) -> ApiError {
    ApiError::protocol("InvalidParameterCombination", 400, message)
}

impl CloudWatchApi for CloudWatch {
    fn put_metric_data(
        &self,
        ctx: &RequestContext,
        input: PutMetricDataInput,
    ) -> Result<(), ApiError> {
        let namespace = input.namespace.unwrap_or_default();
        if namespace.starts_with("AWS/") {
            // AWS's namespaces are AWS's own; a caller may not publish there.
            return Err(invalid(format!(
                "The value {namespace} for parameter Namespace is invalid."
            )));
        }
        if input
            .entity_metric_data
            .as_ref()
            .is_some_and(|e| !e.is_empty())
        {
            return Err(ApiError::protocol(
                "InvalidParameterValue",
                400,
                "ecsbox does not support the parameter EntityMetricData yet.",
            ));
        }
        let data = input.metric_data.unwrap_or_default();
        if data.is_empty() {
            return Err(ApiError::protocol(
                "MissingParameter",
                400,
                "The parameter MetricData is required.",
            ));
        }
        let now = clock::now_secs();
        let mut samples = Vec::with_capacity(data.len());
        for (i, datum) in data.iter().enumerate() {
            let at = format!("MetricData.member.{}", i + 1);
            let sample = Sample::from_datum(datum, now).map_err(|e| e.at(&at))?;
            samples.push((
                MetricKey::new(
                    &namespace,
                    datum.metric_name.as_deref().unwrap_or(""),
                    datum.dimensions.as_deref(),
                ),
                sample,
            ));
        }
        self.with_region(ctx, |m| {
            for (key, sample) in samples {
                m.series.entry(key).or_default().push(sample);
            }
            Ok(())
        })
    }

    fn list_metrics(
        &self,
        ctx: &RequestContext,
        input: ListMetricsInput,
    ) -> Result<ListMetricsOutput, ApiError> {
        if input.include_linked_accounts == Some(true) || input.owning_account.is_some() {
            return Err(invalid("ecsbox does not support the parameters IncludeLinkedAccounts and OwningAccount yet: it has no linked accounts.".into()));
        }
        let recent_since = match input.recently_active.as_deref() {
            None => None,
            Some("PT3H") => Some(clock::now_secs() - 3.0 * 3600.0),
            Some(other) => {
                return Err(invalid(format!(
                    "The value {other} for parameter RecentlyActive is invalid."
                )))
            }
        };
        let after = next_token(input.next_token.as_deref())?;
        let filters = input.dimensions.unwrap_or_default();
        self.with_region(ctx, |m| {
            let matching = m.series.iter().filter(|(key, samples)| {
                input.namespace.as_ref().is_none_or(|n| &key.namespace == n)
                    && input.metric_name.as_ref().is_none_or(|n| &key.name == n)
                    && filters.iter().all(|f| {
                        key.dimensions.iter().any(|(k, v)| {
                            Some(k) == f.name.as_ref()
                                && f.value.as_ref().is_none_or(|want| want == v)
                        })
                    })
                    && recent_since.is_none_or(|since| samples.iter().any(|s| s.at >= since))
                    && after.as_ref().is_none_or(|a| &key.token_key() > a)
            });
            let (page, next_token) =
                page_token::take_page(matching.map(|(k, _)| k), LIST_PAGE, |k| k.token_key());
            Ok(ListMetricsOutput {
                metrics: Some(page.into_iter().map(MetricKey::to_metric).collect()),
                next_token,
                owning_accounts: None,
            })
        })
    }

    fn get_metric_statistics(
        &self,
        ctx: &RequestContext,
        input: GetMetricStatisticsInput,
    ) -> Result<GetMetricStatisticsOutput, ApiError> {
        let period = input.period.unwrap_or(0);
        // High-resolution periods, or whole minutes.
        if !(matches!(period, 1 | 5 | 10 | 30) || (period >= 60 && period % 60 == 0)) {
            return Err(invalid(
                "The parameter Period must be 1, 5, 10, 30 or a multiple of 60.".into(),
            ));
        }
        let (start, end) = time_range(input.start_time, input.end_time)?;
        // CloudWatch rounds the start down to a whole minute (a whole
        // high-resolution period), so datapoints fall on clock boundaries.
        let grain = f64::from(period.min(60));
        let start = (start / grain).floor() * grain;
        let statistics = input.statistics.unwrap_or_default();
        let extended = input.extended_statistics.unwrap_or_default();
        if statistics.is_empty() == extended.is_empty() {
            return Err(combination(
                "Must specify either Statistics or ExtendedStatistics, but not both.".into(),
            ));
        }
        let percentiles = extended
            .iter()
            .map(|p| {
                statistics::parse_percentile(p).ok_or_else(|| {
                    invalid(format!(
                        "The value {p} for parameter ExtendedStatistics is invalid."
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let wanted = ((end - start) / f64::from(period)).ceil();
        if wanted > MAX_DATAPOINTS {
            return Err(combination(format!(
                "You have requested up to {wanted} datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )));
        }
        let name = input.metric_name.unwrap_or_default();
        let key = MetricKey::new(
            input.namespace.as_deref().unwrap_or(""),
            &name,
            input.dimensions.as_deref(),
        );
        let buckets = self.with_region(ctx, |m| {
            Ok(m.buckets(&key, start, end, f64::from(period), input.unit.as_deref()))
        })?;
        let datapoints = buckets
            .into_iter()
            .map(|(index, bucket)| {
                bucket.datapoint(
                    start + index as f64 * f64::from(period),
                    &statistics,
                    &extended,
                    &percentiles,
                )
            })
            .collect();
        Ok(GetMetricStatisticsOutput {
            label: Some(name),
            datapoints: Some(datapoints),
        })
    }

    fn get_metric_data(
        &self,
        ctx: &RequestContext,
        input: GetMetricDataInput,
    ) -> Result<GetMetricDataOutput, ApiError> {
        let request = metric_data::check(input, &ctx.account)?;
        self.with_region(ctx, |m| metric_data::answer(m, request))
    }

    fn put_metric_alarm(
        &self,
        ctx: &RequestContext,
        input: PutMetricAlarmInput,
    ) -> Result<(), ApiError> {
        self.put_alarm(&ctx.account, &ctx.region, input)
    }

    fn describe_alarms(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmsInput,
    ) -> Result<DescribeAlarmsOutput, ApiError> {
        if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
            return Err(combination(
                "The parameters AlarmNames and AlarmNamePrefix are mutually exclusive; give one of them.".into(),
            ));
        }
        let size = page_size(input.max_records, 50)?;
        let after = next_token(input.next_token.as_deref())?;
        let types = input.alarm_types.clone().unwrap_or_default();
        // Without AlarmTypes, CloudWatch answers metric alarms only; ecsbox
        // has no composite alarms, so ChildrenOf/ParentsOfAlarmName find none.
        let metric = (types.is_empty() || types.iter().any(|t| t == "MetricAlarm"))
            && input.children_of_alarm_name.is_none()
            && input.parents_of_alarm_name.is_none();
        self.with_region(ctx, |m| {
            let matching = m
                .alarms
                .iter()
                .filter(|_| metric)
                .filter(|(name, _)| after.as_ref().is_none_or(|a| *name > a))
                .filter(|(_, a)| alarms::matches(&a.alarm, &input));
            let (page, next_token) = page_token::take_page(matching, size, |(n, _)| (*n).clone());
            Ok(DescribeAlarmsOutput {
                composite_alarms: Some(Vec::new()),
                metric_alarms: Some(page.into_iter().map(|(_, a)| a.alarm.clone()).collect()),
                log_alarms: None,
                next_token,
            })
        })
    }

    fn describe_alarms_for_metric(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmsForMetricInput,
    ) -> Result<DescribeAlarmsForMetricOutput, ApiError> {
        self.with_region(ctx, |m| {
            Ok(DescribeAlarmsForMetricOutput {
                metric_alarms: Some(
                    m.alarms
                        .values()
                        .filter(|a| alarms::on_metric(&a.alarm, &input))
                        .map(|a| a.alarm.clone())
                        .collect(),
                ),
            })
        })
    }

    fn delete_alarms(
        &self,
        ctx: &RequestContext,
        input: DeleteAlarmsInput,
    ) -> Result<(), ApiError> {
        CloudWatch::delete_alarms(
            self,
            &ctx.account,
            &ctx.region,
            &input.alarm_names.unwrap_or_default(),
        );
        Ok(())
    }

    fn set_alarm_state(
        &self,
        ctx: &RequestContext,
        input: SetAlarmStateInput,
    ) -> Result<(), ApiError> {
        let can_invoke = self.sink.read().is_some();
        let invocations = self.with_region(ctx, |m| {
            alarms::set_state(m, input, clock::now_secs(), can_invoke)
        })?;
        self.invoke(&ctx.account, &ctx.region, invocations);
        Ok(())
    }

    fn describe_alarm_history(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmHistoryInput,
    ) -> Result<DescribeAlarmHistoryOutput, ApiError> {
        if input.alarm_contributor_id.is_some() {
            return Err(invalid(
                "ecsbox does not support the parameter AlarmContributorId yet: it has no multi-time-series alarms.".into(),
            ));
        }
        let size = page_size(input.max_records, 100)?;
        let after: Option<u64> = match next_token(input.next_token.as_deref())? {
            None => None,
            Some(t) => Some(t.parse().map_err(|_| bad_token())?),
        };
        let descending = scan_descending(input.scan_by.as_deref())?;
        let types = input.alarm_types.clone().unwrap_or_default();
        let metric = types.is_empty() || types.iter().any(|t| t == "MetricAlarm");
        self.with_region(ctx, |m| {
            let wanted = |e: &&alarms::HistoryEntry| {
                let item = &e.item;
                let at = item.timestamp.unwrap_or(0.0);
                metric
                    && input
                        .alarm_name
                        .as_ref()
                        .is_none_or(|n| item.alarm_name.as_ref() == Some(n))
                    && input
                        .history_item_type
                        .as_ref()
                        .is_none_or(|t| item.history_item_type.as_ref() == Some(t))
                    && input.start_date.is_none_or(|s| at >= s)
                    && input.end_date.is_none_or(|e| at <= e)
                    && after.is_none_or(|a| if descending { e.seq < a } else { e.seq > a })
            };
            let items: Box<dyn Iterator<Item = &alarms::HistoryEntry>> = if descending {
                Box::new(m.history.iter().rev().filter(wanted))
            } else {
                Box::new(m.history.iter().filter(wanted))
            };
            let (page, next_token) = page_token::take_page(items, size, |e| e.seq.to_string());
            Ok(DescribeAlarmHistoryOutput {
                alarm_history_items: Some(page.into_iter().map(|e| e.item.clone()).collect()),
                next_token,
            })
        })
    }

    fn enable_alarm_actions(
        &self,
        ctx: &RequestContext,
        input: EnableAlarmActionsInput,
    ) -> Result<(), ApiError> {
        self.set_actions_enabled(ctx, input.alarm_names.unwrap_or_default(), true)
    }

    fn disable_alarm_actions(
        &self,
        ctx: &RequestContext,
        input: DisableAlarmActionsInput,
    ) -> Result<(), ApiError> {
        self.set_actions_enabled(ctx, input.alarm_names.unwrap_or_default(), false)
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        let tags = input.tags.unwrap_or_default();
        crate::tags::check(crate::tags::pairs_of(&tags), crate::tags::Rules::default())
            .map_err(|v| invalid(format!("The tags are invalid: {v}.")))?;
        self.with_alarm_tags(ctx, &arn, |set| {
            *set = set
                .merged_within_limit(tags.iter().map(crate::tags::pair_of))
                .map_err(|v| invalid(format!("The tags are invalid: {v}.")))?;
            Ok(TagResourceOutput {})
        })
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        let keys = input.tag_keys.unwrap_or_default();
        self.with_alarm_tags(ctx, &arn, |set| {
            set.remove_keys(keys.iter().map(String::as_str));
            Ok(UntagResourceOutput {})
        })
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        self.with_alarm_tags(ctx, &arn, |set| {
            Ok(ListTagsForResourceOutput {
                tags: Some(set.to_shapes()),
            })
        })
    }
}

crate::tag_shape!(Tag);

/// DescribeAlarms' and DescribeAlarmHistory's MaxRecords: 1 to 100, by
/// default 50 and 100.
fn page_size(max: Option<i32>, default: usize) -> Result<usize, ApiError> {
    match max {
        None => Ok(default),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid(format!(
            "The value {n} for parameter MaxRecords is invalid: it must be from 1 to 100."
        ))),
    }
}

/// StartTime and EndTime, the first before the second.
fn time_range(start: Option<f64>, end: Option<f64>) -> Result<(f64, f64), ApiError> {
    let (start, end) = (start.unwrap_or(0.0), end.unwrap_or(0.0));
    if start >= end {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.".into(),
        ));
    }
    Ok((start, end))
}

/// ScanBy: newest first unless TimestampAscending.
fn scan_descending(scan_by: Option<&str>) -> Result<bool, ApiError> {
    match scan_by {
        None | Some("TimestampDescending") => Ok(true),
        Some("TimestampAscending") => Ok(false),
        Some(other) => Err(invalid(format!(
            "The value {other} for parameter ScanBy is invalid."
        ))),
    }
}

fn bad_token() -> ApiError {
    ApiError::protocol(
        "InvalidNextToken",
        400,
        "The service returned an invalid next token.",
    )
}

fn next_token(token: Option<&str>) -> Result<Option<String>, ApiError> {
    token
        .map(|t| page_token::decode(t).ok_or_else(bad_token))
        .transpose()
}

impl CloudWatch {
    fn set_actions_enabled(
        &self,
        ctx: &RequestContext,
        names: Vec<String>,
        enabled: bool,
    ) -> Result<(), ApiError> {
        self.with_region(ctx, |m| {
            for name in &names {
                if let Some(a) = m.alarms.get_mut(name) {
                    a.alarm.actions_enabled = Some(enabled);
                }
            }
            Ok(())
        })
    }

    /// Runs `f` on the tags of the alarm `arn` names, in the caller's region.
    fn with_alarm_tags<T>(
        &self,
        ctx: &RequestContext,
        arn: &str,
        f: impl FnOnce(&mut TagSet) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let prefix = alarms::alarm_arn(&ctx.account, &ctx.region, "");
        let not_found = || {
            ApiError::protocol(
                "ResourceNotFoundException",
                404,
                format!("The resource {arn} does not exist."),
            )
        };
        let name = arn.strip_prefix(&prefix).ok_or_else(not_found)?;
        self.with_region(ctx, |m| match m.alarms.get_mut(name) {
            Some(a) => f(&mut a.tags),
            None => Err(not_found()),
        })
    }
}

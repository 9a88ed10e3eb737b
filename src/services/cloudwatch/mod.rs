//! CloudWatch metrics, the part that proves the protocol layer serves one
//! service in three protocols (Smithy RPC v2 CBOR, which boto3 and the CLI
//! speak today; JSON 1.0; query, which older SDKs speak): PutMetricData,
//! ListMetrics and GetMetricStatistics (statistics and percentiles), on
//! ecsbox's clock. Alarms, GetMetricData and the AWS/ECS metrics come with
//! the scaling issue; every other operation answers an error naming it.

#[rustfmt::skip]
pub mod generated;
mod statistics;

use crate::clock;
use crate::model::cloudwatch::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::{page_token, RegionStore};
use generated::CloudWatchApi;
use statistics::{Bucket, Sample};
use std::collections::BTreeMap;

/// How many metrics a ListMetrics page holds (AWS: 500).
const LIST_PAGE: usize = 500;
/// The most datapoints one GetMetricStatistics may ask for (AWS: 1,440).
const MAX_DATAPOINTS: f64 = 1440.0;

pub struct CloudWatch {
    regions: RegionStore<Metrics>,
}

crate::aws_service!(
    CloudWatch,
    crate::model::cloudwatch::operations,
    generated::dispatch
);

/// One account's metrics in one region, by namespace, name and dimensions.
#[derive(Default)]
struct Metrics {
    series: BTreeMap<MetricKey, Vec<Sample>>,
}

/// A metric is its namespace, name and exact set of dimensions (sorted by
/// name, as CloudWatch treats them as a set).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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
        }
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
        let after = match input.next_token.as_deref() {
            None => None,
            Some(t) => Some(page_token::decode(t).ok_or_else(|| {
                ApiError::protocol(
                    "InvalidNextToken",
                    400,
                    "The service returned an invalid next token.",
                )
            })?),
        };
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
        let (start, end) = (
            input.start_time.unwrap_or(0.0),
            input.end_time.unwrap_or(0.0),
        );
        if start >= end {
            return Err(invalid(
                "The parameter StartTime must be less than the parameter EndTime.".into(),
            ));
        }
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
            let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();
            for sample in m.series.get(&key).into_iter().flatten() {
                if sample.at < start
                    || sample.at >= end
                    || input
                        .unit
                        .as_ref()
                        .is_some_and(|u| Some(u) != sample.unit.as_ref())
                {
                    continue;
                }
                let index = ((sample.at - start) / f64::from(period)).floor() as i64;
                buckets.entry(index).or_default().add(sample);
            }
            Ok(buckets)
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
}

//! What a metric holds and what GetMetricStatistics computes of it: one
//! `Sample` per datum put (a value, a statistic set, or values with counts),
//! and per period a `Bucket` that sums them into SampleCount, Sum, Average,
//! Minimum, Maximum and percentiles (from the raw values only, as CloudWatch
//! does: a statistic set has no values to rank).

use crate::model::cloudwatch::shapes::{Datapoint, MetricDatum};
use crate::protocol::ApiError;
use std::collections::BTreeMap;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Epoch seconds.
    pub at: f64,
    pub unit: Option<String>,
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// (value, how many times), for percentiles.
    pub values: Vec<(f64, f64)>,
}

/// A datum's problem, before it knows which member of the request it is.
pub struct DatumError(&'static str, String);

impl DatumError {
    /// The error, naming the member as AWS does (`MetricData.member.1.Value`).
    pub fn at(self, member: &str) -> ApiError {
        ApiError::protocol(self.0, 400, self.1.replace("{at}", member))
    }
}

impl Sample {
    pub fn from_datum(d: &MetricDatum, now: f64) -> Result<Sample, DatumError> {
        let at = d.timestamp.unwrap_or(now);
        let unit = d.unit.clone();
        let given = [
            d.value.is_some(),
            d.statistic_values.is_some(),
            d.values.as_ref().is_some_and(|v| !v.is_empty()),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(DatumError(
                "InvalidParameterCombination",
                "The parameters {at}.Value, {at}.StatisticValues and {at}.Values are mutually exclusive; give one of them.".into(),
            ));
        }
        let finite = |v: f64, what: &str| {
            if v.is_finite() {
                Ok(v)
            } else {
                Err(DatumError(
                    "InvalidParameterValue",
                    format!("The value {v} for parameter {{at}}.{what} is invalid."),
                ))
            }
        };
        if let Some(v) = d.value {
            let v = finite(v, "Value")?;
            return Ok(Sample {
                at,
                unit,
                count: 1.0,
                sum: v,
                min: v,
                max: v,
                values: vec![(v, 1.0)],
            });
        }
        if let Some(s) = &d.statistic_values {
            let (count, sum) = (s.sample_count.unwrap_or(0.0), s.sum.unwrap_or(0.0));
            let (min, max) = (s.minimum.unwrap_or(0.0), s.maximum.unwrap_or(0.0));
            if count <= 0.0 || min > max {
                return Err(DatumError("InvalidParameterValue", "The parameter {at}.StatisticValues is invalid: SampleCount must be positive and Minimum at most Maximum.".into()));
            }
            return Ok(Sample {
                at,
                unit,
                count,
                sum,
                min,
                max,
                values: Vec::new(),
            });
        }
        let values = d.values.clone().unwrap_or_default();
        if values.is_empty() {
            return Err(DatumError(
                "MissingParameter",
                "The parameter {at}.Value, {at}.StatisticValues or {at}.Values is required.".into(),
            ));
        }
        let counts = d.counts.clone().unwrap_or_else(|| vec![1.0; values.len()]);
        if counts.len() != values.len() {
            return Err(DatumError(
                "InvalidParameterValue",
                "The parameters {at}.Values and {at}.Counts must have the same number of entries."
                    .into(),
            ));
        }
        let pairs: Vec<(f64, f64)> = values
            .iter()
            .zip(&counts)
            .map(|(v, c)| Ok((finite(*v, "Values")?, *c)))
            .collect::<Result<_, DatumError>>()?;
        let count = pairs.iter().map(|(_, c)| c).sum();
        let sum = pairs.iter().map(|(v, c)| v * c).sum();
        let min = pairs.iter().map(|(v, _)| *v).fold(f64::INFINITY, f64::min);
        let max = pairs
            .iter()
            .map(|(v, _)| *v)
            .fold(f64::NEG_INFINITY, f64::max);
        Ok(Sample {
            at,
            unit,
            count,
            sum,
            min,
            max,
            values: pairs,
        })
    }
}

/// The samples of one period.
#[derive(Debug, Default)]
pub struct Bucket {
    count: f64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    unit: Option<String>,
    values: Vec<(f64, f64)>,
}

impl Bucket {
    pub fn add(&mut self, s: &Sample) {
        self.count += s.count;
        self.sum += s.sum;
        self.min = Some(self.min.map_or(s.min, |m| m.min(s.min)));
        self.max = Some(self.max.map_or(s.max, |m| m.max(s.max)));
        if self.unit.is_none() {
            self.unit.clone_from(&s.unit);
        }
        self.values.extend_from_slice(&s.values);
    }

    /// The datapoint at `timestamp` with the statistics asked for.
    pub fn datapoint(
        mut self,
        timestamp: f64,
        statistics: &[String],
        extended: &[String],
        percentiles: &[f64],
    ) -> Datapoint {
        let has = |name: &str| statistics.iter().any(|s| s == name);
        let mut point = Datapoint {
            timestamp: Some(timestamp),
            unit: Some(self.unit.clone().unwrap_or_else(|| "None".into())),
            ..Default::default()
        };
        if has("SampleCount") {
            point.sample_count = Some(self.count);
        }
        if has("Sum") {
            point.sum = Some(self.sum);
        }
        if has("Average") {
            point.average = Some(self.sum / self.count);
        }
        if has("Minimum") {
            point.minimum = self.min;
        }
        if has("Maximum") {
            point.maximum = self.max;
        }
        if !extended.is_empty() {
            self.values.sort_by(|a, b| a.0.total_cmp(&b.0));
            let map: BTreeMap<String, f64> = extended
                .iter()
                .zip(percentiles)
                .filter_map(|(name, p)| self.percentile(*p).map(|v| (name.clone(), v)))
                .collect();
            point.extended_statistics = Some(map);
        }
        point
    }

    /// The nearest-rank percentile `p` (0-100) of the raw values, sorted.
    fn percentile(&self, p: f64) -> Option<f64> {
        let total: f64 = self.values.iter().map(|(_, c)| c).sum();
        if total <= 0.0 {
            return None;
        }
        let rank = (p / 100.0 * total).ceil().max(1.0);
        let mut seen = 0.0;
        for (v, c) in &self.values {
            seen += c;
            if seen >= rank {
                return Some(*v);
            }
        }
        self.values.last().map(|(v, _)| *v)
    }
}

/// One statistic of a period, as alarms and GetMetricData name them
/// (`Average`, `p90`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    Percentile(f64),
}

impl Stat {
    pub fn parse(name: &str) -> Option<Stat> {
        Some(match name {
            "SampleCount" => Stat::SampleCount,
            "Average" => Stat::Average,
            "Sum" => Stat::Sum,
            "Minimum" => Stat::Minimum,
            "Maximum" => Stat::Maximum,
            other => Stat::Percentile(parse_percentile(other)?),
        })
    }
}

impl Bucket {
    /// How many samples the period holds.
    pub fn count(&self) -> f64 {
        self.count
    }

    /// The value of one statistic of this period (None: a percentile of
    /// statistic sets alone, which have no values to rank).
    pub fn value(&mut self, stat: Stat) -> Option<f64> {
        match stat {
            Stat::SampleCount => Some(self.count),
            Stat::Average => (self.count > 0.0).then(|| self.sum / self.count),
            Stat::Sum => Some(self.sum),
            Stat::Minimum => self.min,
            Stat::Maximum => self.max,
            Stat::Percentile(p) => {
                self.values.sort_by(|a, b| a.0.total_cmp(&b.0));
                self.percentile(p)
            }
        }
    }
}

/// `p99`, `p99.9`: the percentile as a number from 0 to 100.
pub fn parse_percentile(name: &str) -> Option<f64> {
    let p: f64 = name.strip_prefix('p')?.parse().ok()?;
    (0.0..=100.0).contains(&p).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(v: f64) -> Sample {
        Sample::from_datum(
            &MetricDatum {
                value: Some(v),
                ..Default::default()
            },
            0.0,
        )
        .ok()
        .unwrap()
    }

    #[test]
    fn a_bucket_sums_and_ranks() {
        let mut b = Bucket::default();
        for v in 1..=100 {
            b.add(&sample(v as f64));
        }
        let stats: Vec<String> = ["SampleCount", "Sum", "Average", "Minimum", "Maximum"]
            .map(String::from)
            .to_vec();
        let p = b.datapoint(60.0, &stats, &["p90".to_string()], &[90.0]);
        assert_eq!(
            (p.sample_count, p.sum, p.average, p.minimum, p.maximum),
            (
                Some(100.0),
                Some(5050.0),
                Some(50.5),
                Some(1.0),
                Some(100.0)
            )
        );
        assert_eq!(p.extended_statistics.unwrap()["p90"], 90.0);
        assert_eq!(p.unit.as_deref(), Some("None"));
    }

    #[test]
    fn percentile_names() {
        assert_eq!(parse_percentile("p99.9"), Some(99.9));
        assert_eq!(parse_percentile("p101"), None);
        assert_eq!(parse_percentile("tm99"), None);
    }
}

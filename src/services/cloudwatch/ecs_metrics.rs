//! The `AWS/ECS` metrics ECS publishes, from the containers' real Docker
//! stats: CPUUtilization and MemoryUtilization per {ClusterName,
//! ServiceName} and per {ClusterName}, for the RUNNING tasks of services.
//!
//! As ECS defines them ("Amazon ECS service utilization metrics"): a task's
//! utilization is the CPU (memory) its containers use over what its task
//! definition reserves, x 100 (1024 CPU units are one vCPU). Each period
//! gives one statistic set per metric: SampleCount the tasks sampled, Sum
//! their utilizations, Minimum and Maximum the least and most used task, so
//! Average is the service's utilization as ECS's formula computes it. The
//! cluster's metrics take every service task of the cluster.
//!
//! Sampling runs on real time (Docker's stats need it), every `period`;
//! each datapoint is stamped with the start of the period it was sampled
//! in, on ecsbox's clock, so alarms (which evaluate complete periods) see it
//! at the end of that period. `CloudWatch::publish_ecs_metrics_now` samples
//! at once, for tests that move the clock.
//!
//! Reservations: the task's `cpu` (or, without one, the sum of its
//! containers' `cpu`; none at all counts as one vCPU, 1024 units) and the
//! task's `memory` (or the sum of its containers' `memory`, else
//! `memoryReservation`; a task with no memory reservation has no
//! MemoryUtilization).

use super::statistics::Sample;
use super::{CloudWatch, MetricKey};
use crate::clock;
use crate::runtime::ContainerRuntime;
use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::TaskRecord;
use crate::state::Store;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

pub const NAMESPACE: &str = "AWS/ECS";

/// Where the metrics come from.
pub(super) struct EcsSource {
    pub store: Arc<Store>,
    pub runtime: Arc<dyn ContainerRuntime>,
    pub period: Duration,
}

/// One RUNNING task of a service, as sampled.
struct TaskToSample {
    cluster: String,
    service: String,
    containers: Vec<String>,
    cpu_units: f64,
    memory_mib: Option<f64>,
}

/// CPU units: a number of units, or `N vCPU`.
fn parse_cpu(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("vCPU").or_else(|| s.strip_suffix("vcpu")) {
        return v.trim().parse::<f64>().ok().map(|v| v * 1024.0);
    }
    s.parse().ok()
}

/// MiB: a number of MiB, or `N GB`.
fn parse_memory(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("GB").or_else(|| s.strip_suffix("gb")) {
        return v.trim().parse::<f64>().ok().map(|v| v * 1024.0);
    }
    s.parse().ok()
}

fn to_sample(record: &TaskRecord) -> Option<TaskToSample> {
    if record.status != TaskStatus::Running {
        return None;
    }
    let service = record.task.group.as_deref()?.strip_prefix("service:")?;
    let containers = record
        .definition
        .container_definitions
        .clone()
        .unwrap_or_default();
    let cpu_units = record
        .task
        .cpu
        .as_deref()
        .or(record.definition.cpu.as_deref())
        .and_then(parse_cpu)
        .filter(|c| *c > 0.0)
        .or_else(|| {
            let sum: i32 = containers.iter().filter_map(|c| c.cpu).sum();
            (sum > 0).then_some(f64::from(sum))
        })
        .unwrap_or(1024.0);
    let memory_mib = record
        .task
        .memory
        .as_deref()
        .or(record.definition.memory.as_deref())
        .and_then(parse_memory)
        .filter(|m| *m > 0.0)
        .or_else(|| {
            let sum: i32 = containers
                .iter()
                .filter_map(|c| c.memory.or(c.memory_reservation))
                .sum();
            (sum > 0).then_some(f64::from(sum))
        });
    Some(TaskToSample {
        cluster: record.cluster.clone(),
        service: service.to_string(),
        containers: record.runtime.containers.values().cloned().collect(),
        cpu_units,
        memory_mib,
    })
}

/// The vCPUs a container used between the stats' two samples.
pub fn cpu_used(stats: &Value) -> Option<f64> {
    let total = |k: &str| stats[k]["cpu_usage"]["total_usage"].as_f64();
    let used = total("cpu_stats")? - total("precpu_stats").unwrap_or(0.0);
    let system = |k: &str| stats[k]["system_cpu_usage"].as_f64();
    let system_delta = system("cpu_stats").unwrap_or(0.0) - system("precpu_stats").unwrap_or(0.0);
    let cpus = stats["cpu_stats"]["online_cpus"]
        .as_f64()
        .filter(|n| *n > 0.0)
        .or_else(|| {
            stats["cpu_stats"]["cpu_usage"]["percpu_usage"]
                .as_array()
                .map(|a| a.len() as f64)
        })
        .unwrap_or(1.0);
    if system_delta > 0.0 {
        return Some((used / system_delta * cpus).max(0.0));
    }
    // No system counter (as the fake engine answers): the time between
    // the two samples.
    let time = |k: &str| {
        stats[k]
            .as_str()
            .and_then(crate::runtime::timestamp::parse_docker_time)
    };
    let elapsed = time("read")?.duration_since(time("preread")?).ok()?;
    (elapsed.as_nanos() > 0).then(|| (used / elapsed.as_nanos() as f64).max(0.0))
}

/// The MiB of memory a container uses, without the page cache (as
/// `docker stats` counts it: `inactive_file` on cgroup v2, `cache` on v1).
pub fn memory_used(stats: &Value) -> Option<f64> {
    let memory = &stats["memory_stats"];
    let usage = memory["usage"].as_f64()?;
    let cache = memory["stats"]["inactive_file"]
        .as_f64()
        .or_else(|| memory["stats"]["total_inactive_file"].as_f64())
        .or_else(|| memory["stats"]["cache"].as_f64())
        .unwrap_or(0.0);
    Some((usage - cache).max(0.0) / (1024.0 * 1024.0))
}

/// A metric of ECS's: its name and dimensions.
type Series = (&'static str, Vec<(String, String)>);

/// Utilizations of a set of tasks, as a statistic set.
#[derive(Default)]
struct Set {
    count: f64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Set {
    fn add(&mut self, v: f64) {
        if self.count == 0.0 {
            (self.min, self.max) = (v, v);
        }
        self.count += 1.0;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn sample(&self, at: f64) -> Sample {
        Sample {
            at,
            unit: Some("Percent".into()),
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            values: Vec::new(),
        }
    }
}

impl CloudWatch {
    /// Starts publishing the `AWS/ECS` metrics of `store`'s tasks every
    /// `period`, and with them the `AWS/ApplicationELB` ones when
    /// `publish_elb_metrics` was called (set once; later calls are ignored).
    pub fn publish_ecs_metrics(
        self: &Arc<Self>,
        store: Arc<Store>,
        runtime: Arc<dyn ContainerRuntime>,
        period: Duration,
    ) {
        let period = period.max(Duration::from_secs(1));
        if self
            .ecs
            .set(EcsSource {
                store,
                runtime,
                period,
            })
            .is_err()
        {
            return;
        }
        let me: Weak<CloudWatch> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                // The next whole period on ecsbox's clock, waited for on real time.
                let p = period.as_secs_f64();
                let now = clock::now_secs();
                let next = (now / p).floor() * p + p;
                // Until the clock has reached `next`: the sleep runs on the
                // monotonic clock, which can end a few milliseconds before
                // the system clock gets there (NTP slewing), and a sample
                // taken then would be stamped into the period that ends.
                let mut now = now;
                while now < next {
                    tokio::time::sleep(Duration::from_secs_f64(next - now)).await;
                    now = clock::now_secs();
                }
                let Some(cw) = me.upgrade() else {
                    return;
                };
                // The requests counted while this loop slept were sent in
                // the period that just ended: their datapoint is that
                // period's, complete now, as ELB's own are.
                cw.publish_elb_metrics_at(next - p);
                cw.publish_ecs_metrics_now().await;
            }
        });
    }

    /// Publishes every metric ecsbox publishes itself now, each datapoint
    /// stamped with the start of the current period: the AWS/ECS metrics
    /// sampled now and the AWS/ApplicationELB ones counted since the last
    /// publication (for tests that move the clock; POST
    /// /_ecsbox/cloudwatch/publish-ecs-metrics). Answers how many
    /// datapoints were put.
    pub async fn publish_metrics_now(&self) -> usize {
        let p = self
            .ecs
            .get()
            .map_or(60.0, |source| source.period.as_secs_f64());
        let at = (clock::now_secs() / p).floor() * p;
        self.publish_elb_metrics_at(at) + self.publish_ecs_metrics_now().await
    }

    /// Samples every RUNNING service task now and puts one datapoint per
    /// metric, stamped with the start of the current period; answers how
    /// many datapoints were put. Nothing without `publish_ecs_metrics`.
    pub async fn publish_ecs_metrics_now(&self) -> usize {
        let Some(source) = self.ecs.get() else {
            return 0;
        };
        let p = source.period.as_secs_f64();
        let at = (clock::now_secs() / p).floor() * p;
        let mut published = 0;
        for (account, region) in source.store.keys() {
            let Some(state) = source.store.existing(&account, &region) else {
                continue;
            };
            let tasks: Vec<TaskToSample> =
                state.lock().tasks.values().filter_map(to_sample).collect();
            if tasks.is_empty() {
                continue;
            }
            let stats = futures_util::future::join_all(tasks.iter().map(|t| async {
                let all = futures_util::future::join_all(
                    t.containers.iter().map(|c| source.runtime.stats(c)),
                )
                .await;
                let (mut cpu, mut mem, mut ok) = (0.0, 0.0, false);
                for s in all.into_iter().flatten() {
                    cpu += cpu_used(&s.0).unwrap_or(0.0);
                    mem += memory_used(&s.0).unwrap_or(0.0);
                    ok = true;
                }
                ok.then_some((cpu, mem))
            }))
            .await;
            let mut sets: BTreeMap<Series, Set> = BTreeMap::new();
            for (task, used) in tasks.iter().zip(stats) {
                let Some((cpu, mem)) = used else {
                    continue;
                };
                let cpu_pct = cpu * 1024.0 / task.cpu_units * 100.0;
                let service = vec![
                    ("ClusterName".to_string(), task.cluster.clone()),
                    ("ServiceName".to_string(), task.service.clone()),
                ];
                let cluster = vec![("ClusterName".to_string(), task.cluster.clone())];
                for dims in [service, cluster] {
                    sets.entry(("CPUUtilization", dims.clone()))
                        .or_default()
                        .add(cpu_pct);
                    if let Some(reserved) = task.memory_mib {
                        sets.entry(("MemoryUtilization", dims))
                            .or_default()
                            .add(mem / reserved * 100.0);
                    }
                }
            }
            published += sets.len();
            self.regions.with(&account, &region, |m| {
                for ((name, dims), set) in &sets {
                    let key = MetricKey {
                        namespace: NAMESPACE.into(),
                        name: (*name).into(),
                        dimensions: dims.clone(),
                    };
                    m.series.entry(key).or_default().push(set.sample(at));
                }
            });
        }
        published
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cpu_from_the_system_counter_or_the_sample_times() {
        let stats = json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000u64}, "system_cpu_usage": 8_000_000_000u64, "online_cpus": 4},
            "precpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000u64}, "system_cpu_usage": 4_000_000_000u64},
        });
        // 1 s of CPU while 4 CPUs ran 1 s each: one vCPU.
        assert_eq!(cpu_used(&stats), Some(1.0));
        let fake = json!({
            "read": "2026-12-06T13:05:01Z", "preread": "2026-12-06T13:05:00Z",
            "cpu_stats": {"cpu_usage": {"total_usage": 1_500_000_000u64}},
            "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000u64}},
        });
        assert_eq!(cpu_used(&fake), Some(0.5));
        let memory = json!({"memory_stats": {"usage": 8_388_608u64, "stats": {"inactive_file": 4_194_304u64}}});
        assert_eq!(memory_used(&memory), Some(4.0));
        assert_eq!(parse_cpu("1 vCPU"), Some(1024.0));
        assert_eq!(parse_memory("2 GB"), Some(2048.0));
    }
}

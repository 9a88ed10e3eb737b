//! ECS's own events, on their way out to EventBridge's default bus.
//!
//! The task controller and the service scheduler know when a task changes
//! status or a service reaches a steady state, but they sit below the
//! services and may not call EventBridge. They push an `OutEvent` into an
//! `Outbox` instead; the server sets the outbox's sink at start (EventBridge
//! matches rules and delivers). Without a sink (unit tests, a controller
//! made alone) events go nowhere.
//!
//! `emit` may be called with a region lock held: a sink must not take a
//! lock of ECS's state, only queue the event (EventBridge's sends it to a
//! channel and delivers from its own task).

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// One event in EventBridge's envelope terms (the bus adds id, version).
#[derive(Debug, Clone, PartialEq)]
pub struct OutEvent {
    pub account: String,
    pub region: String,
    /// `aws.ecs`.
    pub source: &'static str,
    /// "ECS Task State Change", "ECS Service Action", ...
    pub detail_type: &'static str,
    pub resources: Vec<String>,
    pub detail: serde_json::Value,
    pub time: SystemTime,
}

type Sink = Arc<dyn Fn(OutEvent) + Send + Sync>;

/// Where events go: a sink set once at start, shared by every clone.
#[derive(Clone, Default)]
pub struct Outbox {
    sink: Arc<RwLock<Option<Sink>>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    pub fn set_sink(&self, sink: impl Fn(OutEvent) + Send + Sync + 'static) {
        *self.sink.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(sink));
    }

    /// Whether anyone listens (so callers can skip building an event).
    pub fn is_connected(&self) -> bool {
        self.sink
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    pub fn emit(&self, event: OutEvent) {
        let sink = self.sink.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(sink) = sink {
            sink(event);
        }
    }
}

/// The ISO 8601 form (`2024-05-01T12:00:00.123Z`) ECS's events carry times in.
pub fn iso_time(t: SystemTime) -> String {
    iso_secs(crate::clock::epoch_secs(t))
}

/// `iso_time` of epoch seconds.
pub fn iso_secs(secs: f64) -> String {
    let whole = secs.floor();
    let millis = ((secs - whole) * 1000.0).floor() as u32;
    format!(
        "{}.{:03}Z",
        crate::civil::format_date_time(whole as i64),
        millis.min(999)
    )
}

/// The detail of "ECS Task State Change": the task as DescribeTasks shows
/// it (a JSON object of the `Task` shape), with its times in ISO 8601 as
/// ECS's events write them, and `updatedAt`.
pub fn task_detail(mut task: serde_json::Value, updated: SystemTime) -> serde_json::Value {
    if let Some(map) = task.as_object_mut() {
        iso_times(map);
        if let Some(serde_json::Value::Array(containers)) = map.get_mut("containers") {
            for c in containers.iter_mut().filter_map(|c| c.as_object_mut()) {
                iso_times(c);
            }
        }
        map.insert("updatedAt".into(), iso_time(updated).into());
        map.entry("version").or_insert(1.into());
    }
    task
}

fn iso_times(map: &mut serde_json::Map<String, serde_json::Value>) {
    for (key, value) in map.iter_mut() {
        if key.ends_with("At") {
            if let Some(secs) = value.as_f64() {
                *value = iso_secs(secs).into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn events_reach_the_sink_once_it_is_set() {
        let outbox = Outbox::default();
        let event = OutEvent {
            account: "1".into(),
            region: "r".into(),
            source: "aws.ecs",
            detail_type: "ECS Task State Change",
            resources: vec![],
            detail: serde_json::json!({}),
            time: SystemTime::UNIX_EPOCH,
        };
        outbox.emit(event.clone());
        let seen = Arc::new(Mutex::new(vec![]));
        let s = seen.clone();
        outbox.clone().set_sink(move |e| s.lock().unwrap().push(e));
        assert!(outbox.is_connected());
        outbox.emit(event.clone());
        assert_eq!(*seen.lock().unwrap(), vec![event]);
    }

    #[test]
    fn task_times_become_iso() {
        let d = task_detail(
            serde_json::json!({"createdAt": 1.5, "containers": [{"name": "a"}], "version": 3}),
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(d["createdAt"], "1970-01-01T00:00:01.500Z");
        assert_eq!(d["updatedAt"], "1970-01-01T00:00:00.000Z");
        assert_eq!(d["version"], 3);
    }
}

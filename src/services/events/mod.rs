//! Amazon EventBridge over AWS JSON 1.1: event buses, rules (event
//! patterns and schedules), targets, PutEvents and TestEventPattern, and
//! ECS's own events on the default bus.
//!
//! - `pattern`: the event pattern language, parsed and matched.
//! - `schedule`: `rate(...)` and `cron(...)`, and when they next fire.
//! - `handlers`: the API, one function per operation, under the lock of
//!   the caller's (account, region).
//! - `deliver`: what a matched rule does with an event: `Input`,
//!   `InputPath` and `InputTransformer` applied, then ECS RunTask (through
//!   ECS's own API, so the task really runs) or a CloudWatch Logs log
//!   group. Any other target is kept and each invocation counted as failed
//!   (GET `/_ecsbox/events/invocations` lists them).
//!
//! Matching happens under the region's lock and produces deliveries as
//! data; they run after the lock is released (RunTask takes ECS's lock, a
//! log group the logs' lock). The schedule rules fire from one task that
//! sleeps on ecsbox's clock until the next rule is due (`clock::sleep_until`,
//! so `POST /_ecsbox/clock/advance` fires due schedules at once).

pub mod deliver;
#[rustfmt::skip]
pub mod generated;
mod handlers;
pub mod pattern;
pub mod schedule;

use crate::api::Ecs;
use crate::events_out::{OutEvent, Outbox};
use crate::logs::LogStore;
use crate::model::events::operations::ErrorCode;
use crate::protocol::{ApiError, RequestContext};
use crate::store::RegionStore;
use deliver::{Delivery, Invocation};
use pattern::Pattern;
use schedule::Schedule;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Notify;

pub const DEFAULT_BUS: &str = "default";
/// The most targets a rule may have (EventBridge's quota).
pub const MAX_TARGETS: usize = 5;
/// How many invocations `/_ecsbox/events/invocations` keeps per region.
const KEPT_INVOCATIONS: usize = 1000;

pub struct Events {
    regions: RegionStore<EventsRegion>,
    ecs: Arc<Ecs>,
    logs: Arc<LogStore>,
    /// Woken when a schedule rule changes, so the scheduler looks again.
    schedules_changed: Arc<Notify>,
    /// ECS's own events, queued by the outbox's sink.
    incoming: tokio::sync::mpsc::UnboundedSender<OutEvent>,
    incoming_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<OutEvent>>>,
}

// `--state-dir` keeps its regions.
crate::keeps_state_in_regions!(Events);

crate::aws_service!(
    Events,
    crate::model::events::operations,
    generated::dispatch
);

pub struct EventsRegion {
    pub account: String,
    pub region: String,
    pub buses: BTreeMap<String, Bus>,
    /// The latest invocations of targets, newest last.
    pub invocations: VecDeque<Invocation>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Bus {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub created: f64,
    pub modified: f64,
    pub rules: BTreeMap<String, Rule>,
    pub tags: BTreeMap<String, String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Rule {
    pub name: String,
    pub arn: String,
    pub bus: String,
    #[serde(with = "saved_pattern")]
    pub event_pattern: Option<(String, Pattern)>,
    #[serde(with = "saved_schedule")]
    pub schedule: Option<(String, Schedule)>,
    pub enabled: bool,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub created_by: String,
    /// In the order they were first put.
    pub targets: Vec<crate::model::events::shapes::Target>,
    pub tags: BTreeMap<String, String>,
    /// When the schedule started counting (created, enabled, changed).
    pub schedule_start: f64,
    /// When the schedule next fires (enabled schedule rules only).
    pub next_fire: Option<f64>,
    pub metrics: RuleMetrics,
}

/// What CloudWatch's AWS/Events metrics would count, per rule.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleMetrics {
    pub triggered_rules: u64,
    pub invocations: u64,
    pub failed_invocations: u64,
}

// Buses with their rules are kept on disk (`crate::persistence`); the
// invocations log is not: it tells what happened in this run.
crate::persistent_fields!(EventsRegion, "events", [buses]);

/// A rule's pattern and schedule are kept as the text the client gave and
/// parsed again when read back.
macro_rules! saved_as_text {
    ($module:ident, $parsed:ty) => {
        mod $module {
            use super::*;

            pub fn serialize<S: serde::Serializer>(
                value: &Option<(String, $parsed)>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&value.as_ref().map(|(text, _)| text), serializer)
            }

            pub fn deserialize<'de, D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<(String, $parsed)>, D::Error> {
                let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
                text.map(|text| {
                    let parsed = <$parsed>::parse(&text)
                        .map_err(|e| serde::de::Error::custom(format!("{text}: {}", e.0)))?;
                    Ok((text, parsed))
                })
                .transpose()
            }
        }
    };
}
saved_as_text!(saved_pattern, Pattern);
saved_as_text!(saved_schedule, Schedule);

impl EventsRegion {
    fn new(account: &str, region: &str) -> Self {
        let mut r = EventsRegion {
            account: account.to_string(),
            region: region.to_string(),
            buses: BTreeMap::new(),
            invocations: VecDeque::new(),
        };
        let default = r.new_bus(DEFAULT_BUS, None, 0.0);
        r.buses.insert(DEFAULT_BUS.into(), default);
        r
    }

    pub fn bus_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:event-bus/{name}",
            self.region, self.account
        )
    }

    pub fn rule_arn(&self, bus: &str, name: &str) -> String {
        if bus == DEFAULT_BUS {
            format!(
                "arn:aws:events:{}:{}:rule/{name}",
                self.region, self.account
            )
        } else {
            format!(
                "arn:aws:events:{}:{}:rule/{bus}/{name}",
                self.region, self.account
            )
        }
    }

    fn new_bus(&self, name: &str, description: Option<String>, now: f64) -> Bus {
        Bus {
            name: name.to_string(),
            arn: self.bus_arn(name),
            description,
            created: now,
            modified: now,
            rules: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    fn record(&mut self, invocation: Invocation) {
        if let Some(rule) = self
            .buses
            .get_mut(&invocation.bus)
            .and_then(|b| b.rules.get_mut(&invocation.rule))
        {
            rule.metrics.invocations += 1;
            if invocation.error.is_some() {
                rule.metrics.failed_invocations += 1;
            }
        }
        self.invocations.push_back(invocation);
        while self.invocations.len() > KEPT_INVOCATIONS {
            self.invocations.pop_front();
        }
    }
}

/// The bus name a request's `EventBusName` stands for (a name or an ARN).
pub fn bus_name(given: Option<&str>) -> String {
    match given {
        None | Some("") => DEFAULT_BUS.to_string(),
        Some(s) => match s.rsplit_once(":event-bus/") {
            Some((_, name)) => name.to_string(),
            None => s.to_string(),
        },
    }
}

impl Events {
    pub fn new(ecs: Arc<Ecs>, logs: Arc<LogStore>) -> Arc<Self> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Arc::new(Events {
            regions: RegionStore::creating(EventsRegion::new),
            ecs,
            logs,
            schedules_changed: Arc::new(Notify::new()),
            incoming: tx,
            incoming_rx: Mutex::new(Some(rx)),
        })
    }

    /// Forgets every bus, rule and target.
    pub fn reset(&self) {
        self.regions.reset();
        self.schedules_changed.notify_one();
    }

    /// Makes ECS's events (from the controllers' outbox) arrive on the
    /// default bus of their account and region.
    pub fn attach(&self, outbox: &Outbox) {
        let tx = self.incoming.clone();
        outbox.set_sink(move |event| {
            let _ = tx.send(event);
        });
    }

    /// Starts the scheduler and the delivery of ECS's events.
    pub fn spawn(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(schedule_loop(weak, self.schedules_changed.clone()));
        if let Some(mut rx) = self
            .incoming_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let weak = Arc::downgrade(self);
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    let Some(me) = weak.upgrade() else { return };
                    me.put_aws_event(event);
                }
            });
        }
    }

    /// The invocations kept for an account and region (newest last), as
    /// `/_ecsbox/events/invocations` shows them.
    pub fn invocations(&self) -> Vec<(String, String, Invocation)> {
        let mut all = vec![];
        for (account, region) in self.regions.keys() {
            self.regions.with(&account, &region, |r| {
                all.extend(
                    r.invocations
                        .iter()
                        .map(|i| (account.clone(), region.clone(), i.clone())),
                )
            });
        }
        all
    }

    /// Each rule's metrics: (account, region, bus, rule, metrics).
    pub fn rule_metrics(&self) -> Vec<(String, String, String, String, RuleMetrics)> {
        let mut all = vec![];
        for (account, region) in self.regions.keys() {
            self.regions.with(&account, &region, |r| {
                for bus in r.buses.values() {
                    for rule in bus.rules.values() {
                        all.push((
                            account.clone(),
                            region.clone(),
                            bus.name.clone(),
                            rule.name.clone(),
                            rule.metrics.clone(),
                        ));
                    }
                }
            });
        }
        all
    }

    fn in_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut EventsRegion) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.regions.with(&ctx.account, &ctx.region, f)
    }

    /// An event ECS sent, on its account's default bus.
    fn put_aws_event(&self, event: OutEvent) {
        let envelope = deliver::envelope(
            &uuid::Uuid::new_v4().to_string(),
            event.detail_type,
            event.source,
            &event.account,
            &event.region,
            crate::clock::epoch_secs(event.time),
            &event.resources,
            event.detail,
        );
        let deliveries = self.regions.with(&event.account, &event.region, |r| {
            deliver::match_rules(r, DEFAULT_BUS, &envelope)
        });
        self.run(&event.account, &event.region, deliveries);
    }

    /// Runs deliveries (no lock held) and records how each went.
    fn run(&self, account: &str, region: &str, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        let done: Vec<Invocation> = deliveries
            .into_iter()
            .map(|d| deliver::invoke(&self.ecs, &self.logs, account, region, d))
            .collect();
        self.regions.with(account, region, |r| {
            for invocation in done {
                if let Some(err) = &invocation.error {
                    tracing::warn!(
                        rule = invocation.rule.as_str(),
                        target = invocation.target_id.as_str(),
                        arn = invocation.target_arn.as_str(),
                        "EventBridge target invocation failed: {err}"
                    );
                }
                r.record(invocation);
            }
        });
    }

    /// Fires every schedule rule due at `now`; answers the next due time.
    fn fire_due(&self, now: f64) -> Option<f64> {
        let mut next: Option<f64> = None;
        for (account, region) in self.regions.keys() {
            let deliveries = self.regions.with(&account, &region, |r| {
                let mut fired = vec![];
                let (acct, reg) = (r.account.clone(), r.region.clone());
                if let Some(bus) = r.buses.get_mut(DEFAULT_BUS) {
                    for rule in bus.rules.values_mut() {
                        let Some(due) = rule.next_fire else { continue };
                        if due <= now {
                            let (_, schedule) = rule.schedule.as_ref().expect("scheduled");
                            rule.next_fire = schedule.next_after(rule.schedule_start, now.max(due));
                            rule.metrics.triggered_rules += 1;
                            let event = deliver::envelope(
                                &uuid::Uuid::new_v4().to_string(),
                                "Scheduled Event",
                                "aws.events",
                                &acct,
                                &reg,
                                due,
                                std::slice::from_ref(&rule.arn),
                                serde_json::json!({}),
                            );
                            fired.extend(deliver::deliveries_of(rule, &event, due));
                        }
                        if let Some(n) = rule.next_fire {
                            next = Some(next.map_or(n, |x: f64| x.min(n)));
                        }
                    }
                }
                fired
            });
            self.run(&account, &region, deliveries);
        }
        next
    }
}

async fn schedule_loop(events: Weak<Events>, changed: Arc<Notify>) {
    loop {
        let notified = changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let next = {
            let Some(me) = events.upgrade() else { return };
            me.fire_due(crate::clock::now_secs())
        };
        match next {
            Some(due) => {
                let deadline =
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(due.max(0.0));
                tokio::select! {
                    _ = crate::clock::sleep_until(deadline) => {}
                    _ = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

pub fn not_supported(op: &str) -> ApiError {
    validation(format!(
        "ecsbox does not support the {op} operation of EventBridge yet."
    ))
}

pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::protocol(code.as_str(), code.status(), message)
}

/// EventBridge's ValidationException (not a shape of its model, but what
/// it answers: "Rule can't be deleted since it has targets.").
pub(crate) fn validation(message: impl Into<String>) -> ApiError {
    ApiError::protocol("ValidationException", 400, message)
}

pub(crate) fn rule_not_found(rule: &str, bus: &str) -> ApiError {
    error(
        ErrorCode::ResourceNotFoundException,
        format!("Rule {rule} does not exist on EventBus {bus}."),
    )
}

pub(crate) fn bus_not_found(bus: &str) -> ApiError {
    error(
        ErrorCode::ResourceNotFoundException,
        format!("Event bus {bus} does not exist."),
    )
}

#[cfg(test)]
mod saved_tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Kept {
        #[serde(with = "saved_pattern")]
        pattern: Option<(String, Pattern)>,
        #[serde(with = "saved_schedule")]
        schedule: Option<(String, Schedule)>,
    }

    #[test]
    fn a_rule_pattern_and_schedule_are_kept_as_text_and_parsed_again() {
        let text = r#"{"source":["aws.ecs"]}"#;
        let kept = Kept {
            pattern: Some((text.into(), Pattern::parse(text).unwrap())),
            schedule: Some((
                "rate(5 minutes)".into(),
                Schedule::parse("rate(5 minutes)").unwrap(),
            )),
        };
        let saved = serde_json::to_value(&kept).unwrap();
        assert_eq!(saved["pattern"], text);
        assert_eq!(saved["schedule"], "rate(5 minutes)");
        let back: Kept = serde_json::from_value(saved).unwrap();
        let (_, pattern) = back.pattern.unwrap();
        assert!(pattern.matches(&serde_json::json!({"source": "aws.ecs"})));
        assert!(!pattern.matches(&serde_json::json!({"source": "aws.s3"})));
        let (_, schedule) = back.schedule.unwrap();
        assert_eq!(schedule.next_after(0.0, 0.0), Some(300.0));
    }

    #[test]
    fn a_kept_pattern_that_no_longer_parses_is_an_error() {
        let bad = serde_json::json!({"pattern": "{not json", "schedule": null});
        assert!(serde_json::from_value::<Kept>(bad).is_err());
    }
}

//! The service scheduler: keeps every service at its desired count, replaces
//! tasks that stop, rolls deployments forward within the service's bounds,
//! trips the circuit breaker, and writes the service events ECS writes.
//!
//! It is woken by the task controller's `changes` signal (a task changed
//! status or health, or an API call changed a service) and by deadlines it
//! sets itself (a health check grace period ending, a placement retry, a
//! launch the throttle holds back: `service_throttle`), which are on
//! ecsbox's clock, so `clock::advance` wakes it too; it never sleep-polls.
//! Each pass works on one region's state under its lock, synchronously;
//! the effects it records (start or stop a task) go to the task controller
//! afterwards.

use super::service_load_balancers::{self as balancers, LbHealth};
use super::service_planner::{self, Bounds, Plan, StopReason, TaskView, Threshold};
use super::service_tasks::{short_id, tally, task_view, PLACEMENT_RETRY, UNHEALTHY_REASON};
use super::service_throttle;
use super::tasks::{EffectSender, RegionEffect};
use crate::domain::launch::{launch, Origin, Target};
use crate::model::shapes::{RunTaskRequest, ThresholdConfiguration};
use crate::state::lifecycle::TaskStatus;
use crate::state::services::{new_deployment_id, ServiceDeploymentStatus, ServiceRecord};
use crate::state::tasks::{epoch_now, Effect, StopCode, TaskRecord};
use crate::state::{RegionState, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a deployment's newest task must have been RUNNING before the
/// deployment counts as COMPLETED: a container that exits at once is RUNNING
/// for an instant, and must count as a failure, not as a success.
const SETTLE: f64 = 0.5;

pub struct ServiceScheduler {
    store: Arc<Store>,
    changes: Arc<Notify>,
    effects: EffectSender,
    /// "ECS Service Action", "ECS Deployment State Change" and "ECS
    /// Container Instance State Change" go out here.
    events: crate::events_out::Outbox,
    /// What the container instances looked like at the last pass. Only
    /// this scheduler's loop takes the lock, never across an `.await`.
    instances: parking_lot::Mutex<super::instance_events::InstanceWatch>,
    /// Set by `stop`: no pass runs after it (shutdown stops the scheduler
    /// before it removes the containers, so nothing relaunches meanwhile).
    stopped: tokio::sync::watch::Sender<bool>,
    /// Epoch milliseconds of ecsbox's clock at the start of the last pass
    /// that finished: see `wait_for_pass_after`.
    last_pass_started: AtomicU64,
    passed: Notify,
}

impl ServiceScheduler {
    pub fn new(store: Arc<Store>, changes: Arc<Notify>, effects: EffectSender) -> Arc<Self> {
        Arc::new(ServiceScheduler {
            store,
            changes,
            effects,
            events: Default::default(),
            instances: Default::default(),
            stopped: tokio::sync::watch::channel(false).0,
            last_pass_started: AtomicU64::new(0),
            passed: Notify::new(),
        })
    }

    /// Where this scheduler's events go (the server connects EventBridge).
    pub fn events_outbox(&self) -> &crate::events_out::Outbox {
        &self.events
    }

    /// Passes whenever a task or service changes, a deadline it set comes
    /// (on ecsbox's clock: `clock::advance` wakes it too), until `stop`.
    pub fn spawn(self: &Arc<Self>) {
        let me = self.clone();
        let mut stopped = self.stopped.subscribe();
        tokio::spawn(async move {
            loop {
                // Armed before the pass reads the clock (see `clock::advanced`).
                let advanced = crate::clock::advanced().notified();
                tokio::pin!(advanced);
                advanced.as_mut().enable();
                if *stopped.borrow_and_update() {
                    return;
                }
                let next = me.pass();
                let deadline = async {
                    match next {
                        Some(deadline) => tokio::time::sleep_until(deadline).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = me.changes.notified() => {}
                    _ = deadline => {}
                    _ = advanced => {}
                    _ = stopped.changed() => {}
                }
            }
        });
    }

    /// Stops the scheduler: the pass under way finishes, no other starts.
    /// Shutdown calls it first, so no service launches a task while the
    /// instance's containers are being removed.
    pub fn stop(&self) {
        self.stopped.send_replace(true);
    }

    /// Waits until a pass that started at or after `at` (ecsbox's clock)
    /// has finished: after `clock::advance`, a test knows the scheduler has
    /// looked at the new time, and whatever it launched is in the store.
    pub async fn wait_for_pass_after(&self, at: std::time::SystemTime) {
        let at_millis = crate::clock::epoch_secs(at) * 1000.0;
        loop {
            let passed = self.passed.notified();
            tokio::pin!(passed);
            passed.as_mut().enable();
            if self.last_pass_started.load(Ordering::Acquire) as f64 >= at_millis {
                return;
            }
            // A pass may not be due: ask for one.
            self.changes.notify_one();
            passed.await;
        }
    }

    /// One pass over every service of every region. Returns the earliest
    /// deadline a service asked to be looked at again.
    pub fn pass(&self) -> Option<Instant> {
        let started = crate::clock::now_millis().max(0) as u64;
        let next = self.pass_regions();
        self.last_pass_started.fetch_max(started, Ordering::AcqRel);
        self.passed.notify_waiters();
        next
    }

    fn pass_regions(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for (account, region) in self.store.keys() {
            let shared = self.store.region(&account, &region);
            let effects = {
                let mut state = shared.lock();
                let keys: Vec<String> = state.services.keys().cloned().collect();
                for key in keys {
                    let before = self.events.is_connected().then(|| marks(&state, &key));
                    if let Some(deadline) = reconcile(&mut state, &key) {
                        next = Some(next.map_or(deadline, |n| n.min(deadline)));
                    }
                    if let Some(before) = before {
                        let after = marks(&state, &key);
                        for event in service_events(&account, &region, &before, &after) {
                            self.events.emit(event);
                        }
                    }
                }
                // Service Connect's endpoints follow every service's
                // deployments as these passes left them (a service that
                // went INACTIVE takes its endpoints away).
                super::service_registries::sync_endpoints(&state);
                // After the services' passes, which may have placed or
                // stopped tasks on instances.
                if self.events.is_connected() {
                    let changed = self.instances.lock().events(&account, &region, &mut state);
                    for event in changed {
                        self.events.emit(event);
                    }
                }
                std::mem::take(&mut state.effects)
            };
            for effect in effects {
                let _ = self.effects.send(RegionEffect {
                    account: account.clone(),
                    region: region.clone(),
                    effect,
                });
            }
        }
        next
    }
}

/// What ECS's service events are told from: a service before and after a pass.
#[derive(Debug, Clone, PartialEq)]
struct Marks {
    service_arn: String,
    cluster_arn: String,
    steady: bool,
    /// The primary deployment's id and rolloutState.
    primary: Option<(String, String)>,
    /// The failures the throttle last announced (see `service_throttle`).
    start_impaired_at: u32,
}

fn marks(state: &RegionState, key: &str) -> Option<Marks> {
    let r = state.services.get(key)?;
    Some(Marks {
        service_arn: r.service.service_arn.clone().unwrap_or_default(),
        cluster_arn: r.service.cluster_arn.clone().unwrap_or_default(),
        steady: r.steady,
        start_impaired_at: r.start_impaired_at,
        primary: r
            .primary()
            .map(|d| (d.id().to_string(), d.rollout_state().to_string())),
    })
}

/// "ECS Service Action" (SERVICE_STEADY_STATE, SERVICE_TASK_START_IMPAIRED)
/// and "ECS Deployment State
/// Change" (SERVICE_DEPLOYMENT_IN_PROGRESS / COMPLETED / FAILED), with the
/// detail shapes of the ECS developer guide's "Amazon ECS events".
fn service_events(
    account: &str,
    region: &str,
    before: &Option<Marks>,
    after: &Option<Marks>,
) -> Vec<crate::events_out::OutEvent> {
    use crate::events_out::{iso_time, OutEvent};
    let Some(after) = after else { return vec![] };
    let now = crate::clock::now_system();
    let event = |detail_type: &'static str, detail: serde_json::Value| OutEvent {
        account: account.to_string(),
        region: region.to_string(),
        source: "aws.ecs",
        detail_type,
        resources: vec![after.service_arn.clone()],
        detail,
        time: now,
    };
    let mut out = vec![];
    if after.steady && !before.as_ref().is_some_and(|b| b.steady) {
        out.push(event(
            "ECS Service Action",
            serde_json::json!({
                "eventType": "INFO",
                "eventName": "SERVICE_STEADY_STATE",
                "clusterArn": after.cluster_arn,
                "createdAt": iso_time(now),
            }),
        ));
    }
    let announced = before.as_ref().map_or(0, |b| b.start_impaired_at);
    if after.start_impaired_at > 0 && after.start_impaired_at != announced {
        out.push(event(
            "ECS Service Action",
            serde_json::json!({
                "eventType": "WARN",
                "eventName": "SERVICE_TASK_START_IMPAIRED",
                "clusterArn": after.cluster_arn,
                "createdAt": iso_time(now),
            }),
        ));
    }
    let was = before.as_ref().and_then(|b| b.primary.clone());
    if let Some((id, state)) = &after.primary {
        if was.as_ref() != Some(&(id.clone(), state.clone())) {
            let (name, kind, reason) = match state.as_str() {
                "COMPLETED" => (
                    "SERVICE_DEPLOYMENT_COMPLETED",
                    "INFO",
                    format!("ECS deployment {id} completed."),
                ),
                "FAILED" => (
                    "SERVICE_DEPLOYMENT_FAILED",
                    "ERROR",
                    format!("ECS deployment {id} failed."),
                ),
                _ => (
                    "SERVICE_DEPLOYMENT_IN_PROGRESS",
                    "INFO",
                    format!("ECS deployment {id} in progress."),
                ),
            };
            out.push(event(
                "ECS Deployment State Change",
                serde_json::json!({
                    "eventType": kind,
                    "eventName": name,
                    "deploymentId": id,
                    "updatedAt": iso_time(now),
                    "reason": reason,
                }),
            ));
        }
    }
    out
}

/// A task of a deployment that failed on its own: it could not start, an
/// essential container exited, or it failed its health checks.
fn failed(t: &TaskRecord) -> bool {
    t.status == TaskStatus::Stopped
        && (matches!(
            t.task.stop_code.as_deref(),
            Some("TaskFailedToStart") | Some("EssentialContainerExited")
        ) || t.task.stopped_reason.as_deref() == Some(UNHEALTHY_REASON))
}

/// The deployment the planner sees for tasks on a DRAINING instance: never
/// the primary, so they are replaced and then stopped.
const DRAINING_INSTANCE: &str = "draining-instance";

fn threshold_of(config: Option<&ThresholdConfiguration>) -> Threshold {
    match config.and_then(|c| Some((c.r#type.as_deref()?, c.value?))) {
        Some(("COUNT", v)) => Threshold::Count(v.max(0) as u32),
        Some(("UNBOUNDED_PERCENT", v)) => Threshold::UnboundedPercent(v.max(0) as u32),
        Some((_, v)) => Threshold::BoundedPercent(v.max(0) as u32),
        None => Threshold::default(),
    }
}

/// One service's pass: returns when it wants to be looked at again.
fn reconcile(state: &mut RegionState, key: &str) -> Option<Instant> {
    let record = state.services.get(key)?.clone();
    if record.status() == "INACTIVE" {
        return None;
    }
    if record.is_external() {
        // Its tasks come from task sets, each held at its own count.
        return super::task_set_scheduler::reconcile(state, key);
    }
    let now = epoch_now();
    let grace = Duration::from_secs(
        record
            .service
            .health_check_grace_period_seconds
            .unwrap_or(0)
            .max(0) as u64,
    );
    // Tasks that reached RUNNING join the service's target groups first, so
    // that their health below is the load balancers' too.
    let mut record = record;
    balancers::register_running_tasks(state, &mut record);
    // And their Cloud Map registries (their DNS names) follow them.
    super::service_registries::sync(state, &record);
    let balanced = record
        .service
        .load_balancers
        .as_ref()
        .is_some_and(|l| !l.is_empty());
    let plane = state.settings.load_balancing.clone();
    let group = record.group();
    let prefix = format!(
        "arn:aws:ecs:{}:{}:task/{}/",
        state.region, state.account, record.cluster
    );
    let tasks: Vec<&TaskRecord> = state
        .tasks
        .range(prefix.clone()..)
        .take_while(|(arn, _)| arn.starts_with(&prefix))
        .map(|(_, t)| t)
        .filter(|t| t.task.group.as_deref() == Some(group.as_str()))
        .collect();
    let mut wake_at: Option<f64> = None;
    let views: Vec<TaskView> = tasks
        .iter()
        .map(|t| {
            let lb = balancers::health_of(t, balanced, plane.as_deref());
            let (mut v, wake) = task_view(t, grace, now, &lb);
            // A task on a DRAINING container instance is replaced like an old
            // deployment's: new tasks elsewhere first, within the bounds.
            if t.task
                .container_instance_arn
                .as_deref()
                .is_some_and(|i| state.container_instance_is_draining(i))
            {
                v.deployment = DRAINING_INSTANCE.to_string();
            }
            // A deleted (DRAINING) service stops all its tasks, protected
            // or not: protection guards against scale-in and deployments of
            // a service that goes on.
            if record.status() != "ACTIVE" {
                v.protected = false;
            }
            // When protection lapses the scheduler must look again: tasks it
            // passed over may be stopped then.
            let expiry = t.protected_until.filter(|_| v.protected);
            for w in wake.into_iter().chain(expiry) {
                wake_at = Some(wake_at.map_or(w, |x: f64| x.min(w)));
            }
            v
        })
        .collect();
    // A DRAINING service turns INACTIVE only once all its tasks have STOPPED.
    let all_stopped = tasks.iter().all(|t| t.status == TaskStatus::Stopped);
    let failed_of = |deployment: &str| {
        tasks
            .iter()
            .filter(|t| t.task.started_by.as_deref() == Some(deployment) && failed(t))
            .count() as u32
    };
    let instances = daemon_instances(state, &record);

    circuit_breaker(state, &mut record, &failed_of);

    let config = record
        .service
        .deployment_configuration
        .clone()
        .unwrap_or_default();
    let desired = match &instances {
        Some(list) if record.status() == "ACTIVE" => list.len() as u32,
        Some(_) => 0,
        None => record.service.desired_count.unwrap_or(0).max(0) as u32,
    };
    if instances.is_some() {
        // A DAEMON service wants one task per instance: that is its count.
        record.service.desired_count = Some(desired as i32);
        if let Some(d) = record.deployments.first_mut() {
            d.deployment.desired_count = Some(desired as i32);
        }
    }
    let bounds = Bounds {
        desired,
        minimum_healthy_percent: config.minimum_healthy_percent.unwrap_or(100).max(0) as u32,
        maximum_percent: config.maximum_percent.unwrap_or(200).max(100) as u32,
    };
    let primary = record
        .primary()
        .map(|d| d.id().to_string())
        .unwrap_or_default();
    let primary_failed = record
        .primary()
        .is_some_and(|d| d.rollout_state() == "FAILED");
    let mut plan: Plan = service_planner::plan(&primary, &bounds, &views);
    if primary_failed {
        plan.start = 0;
    }
    // ECS's service throttle logic: after repeated failures to start, the
    // next launch waits (`service_throttle`).
    let primary_definition = record
        .primary()
        .and_then(|d| d.definition.task_definition_arn.clone())
        .unwrap_or_default();
    let throttle = service_throttle::standing(&tasks, &primary_definition, now);
    if throttle.failures == 0 {
        record.start_impaired_at = 0;
    }
    if let Some(until) = throttle.hold_until.filter(|_| plan.start > 0) {
        plan.start = 0;
        wake_at = Some(wake_at.map_or(until, |x: f64| x.min(until)));
        // Once per failure, as ECS repeats it between its attempts.
        if record.start_impaired_at != throttle.failures {
            record.start_impaired_at = throttle.failures;
            record.event(service_throttle::unable_event(&record.name));
        }
    }

    // The primary's newest RUNNING task must have settled (see SETTLE).
    let newest_start = tasks
        .iter()
        .filter(|t| {
            t.task.started_by.as_deref() == Some(primary.as_str())
                && t.status == TaskStatus::Running
        })
        .filter_map(|t| t.task.started_at)
        .fold(0.0_f64, f64::max);
    let settled = now - newest_start >= SETTLE;
    if !settled {
        let w = newest_start + SETTLE;
        wake_at = Some(wake_at.map_or(w, |x: f64| x.min(w)));
    }

    let mut retry = false;
    apply_stops(state, &mut record, &plan);
    if plan.start > 0 {
        retry = !start_tasks(state, &mut record, plan.start, instances.as_deref(), &views);
    }
    settle_deployments(
        &mut record,
        &views,
        &plan,
        desired,
        all_stopped && plan.stop.is_empty(),
        settled,
    );
    state.services.insert(key.to_string(), record);

    let mut deadline =
        wake_at.map(|w| Instant::now() + Duration::from_secs_f64((w - now).max(0.0)));
    if retry {
        let r = Instant::now() + PLACEMENT_RETRY;
        deadline = Some(deadline.map_or(r, |d| d.min(r)));
    }
    deadline
}

/// DAEMON services: the ACTIVE container instances of the cluster that
/// should each run one task. None for REPLICA services.
fn daemon_instances(state: &RegionState, record: &ServiceRecord) -> Option<Vec<String>> {
    (record.service.scheduling_strategy.as_deref() == Some("DAEMON"))
        .then(|| state.active_container_instance_arns(&record.cluster))
}

/// Trips the circuit breaker of the primary deployment when it has failed
/// too often, and rolls back if asked (or when StopServiceDeployment asked).
fn circuit_breaker(
    state: &RegionState,
    record: &mut ServiceRecord,
    failed_of: &dyn Fn(&str) -> u32,
) {
    let Some(primary) = record.deployments.first() else {
        return;
    };
    let breaker = record
        .service
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.deployment_circuit_breaker.clone())
        .unwrap_or_default();
    let desired = record.service.desired_count.unwrap_or(0).max(0) as u32;
    let failures = failed_of(primary.id());
    let stop_requested = primary.status == ServiceDeploymentStatus::RollbackRequested;
    let tripped = breaker.enable == Some(true)
        && primary.rollout_state() == "IN_PROGRESS"
        && failures
            >= service_planner::circuit_breaker_threshold(
                desired,
                threshold_of(breaker.threshold_configuration.as_ref()),
            );
    let primary_id = primary.id().to_string();
    {
        let d = &mut record.deployments[0];
        d.deployment.failed_tasks = Some(failures as i32);
    }
    if !tripped && !stop_requested {
        return;
    }
    let name = record.name.clone();
    let rollback = stop_requested || breaker.rollback == Some(true);
    {
        let d = &mut record.deployments[0];
        d.deployment.rollout_state = Some("FAILED".into());
        d.deployment.rollout_state_reason = Some(if stop_requested {
            "Service deployment stopped by user.".into()
        } else {
            "ECS deployment circuit breaker: tasks failed to start.".into()
        });
        d.deployment.updated_at = Some(epoch_now());
        d.finished_at = Some(epoch_now());
        d.status = if rollback {
            ServiceDeploymentStatus::RollbackInProgress
        } else {
            ServiceDeploymentStatus::Stopped
        };
    }
    if tripped {
        record.event(format!(
            "(service {name}) (deployment {primary_id}) deployment failed: tasks failed to start."
        ));
    }
    if !rollback {
        return;
    }
    // Roll back to the newest deployment that completed, else to the one the
    // failed deployment replaced (it may have been superseded before it
    // settled, and its tasks still run).
    let Some(good) = record
        .deployments
        .iter()
        .chain(record.past_deployments.iter())
        .skip(1)
        .find(|d| d.rollout_state() == "COMPLETED")
        .or_else(|| record.deployments.get(1))
        .cloned()
    else {
        return;
    };
    let mut back = good;
    let new_id = new_deployment_id();
    let now = epoch_now();
    back.deployment.id = Some(new_id.clone());
    back.deployment.status = Some("PRIMARY".into());
    back.deployment.rollout_state = Some("IN_PROGRESS".into());
    back.deployment.rollout_state_reason = Some(format!(
        "ECS deployment circuit breaker: rolling back to deploymentId {}.",
        primary_id
    ));
    back.deployment.created_at = Some(now);
    back.deployment.updated_at = Some(now);
    back.deployment.desired_count = Some(desired as i32);
    back.deployment.failed_tasks = Some(0);
    back.status = ServiceDeploymentStatus::InProgress;
    back.started_at = now;
    back.finished_at = None;
    back.rollback_of = Some(primary_id.clone());
    back.source_revision_arn = Some(record.deployments[0].service_revision_arn.clone());
    back.service_deployment_arn = format!(
        "arn:aws:ecs:{}:{}:service-deployment/{}/{}/{}",
        state.region,
        state.account,
        record.cluster,
        name,
        &uuid::Uuid::new_v4().simple().to_string()[..22]
    );
    for d in record.deployments.iter_mut() {
        d.deployment.status = Some("ACTIVE".into());
    }
    record.event(format!(
        "(service {name}) rolling back to deployment {new_id}."
    ));
    record.deployments.insert(0, back);
    record.steady = false;
}

fn apply_stops(state: &mut RegionState, record: &mut ServiceRecord, plan: &Plan) {
    let mut stopped = vec![];
    let mut draining = 0;
    let plane = state.settings.load_balancing.clone();
    for (arn, why) in &plan.stop {
        let lb = state
            .tasks
            .get(arn)
            .map(|t| balancers::health_of(t, true, plane.as_deref()));
        let reason = match why {
            StopReason::Unhealthy => match lb {
                Some(LbHealth::Unhealthy {
                    target,
                    description,
                }) => {
                    record.event(balancers::unhealthy_event(
                        &record.name,
                        &target,
                        &description,
                        plane.as_deref(),
                    ));
                    balancers::unhealthy_reason(&target.target_group_arn)
                }
                _ => UNHEALTHY_REASON.to_string(),
            },
            StopReason::ScaleIn | StopReason::Replaced => {
                format!(
                    "Scaling activity initiated by (deployment {})",
                    record.primary().map(|d| d.id()).unwrap_or("")
                )
            }
        };
        if let Some(t) = state.tasks.get_mut(arn) {
            if t.want_stopped(StopCode::ServiceSchedulerInitiated, reason) {
                if !t.lb_targets.is_empty() {
                    draining += 1;
                }
                state.effects.push(Effect::Stop {
                    task_arn: arn.clone(),
                });
                stopped.push(arn.clone());
            }
        }
    }
    if !stopped.is_empty() {
        let list: Vec<String> = stopped
            .iter()
            .map(|a| format!("(task {})", short_id(a)))
            .collect();
        record.event(format!(
            "(service {}) has stopped {} running tasks: {}.",
            record.name,
            stopped.len(),
            list.join(" ")
        ));
        record.steady = false;
    }
    if draining > 0 {
        record.event(format!(
            "(service {}) has begun draining connections on {draining} tasks.",
            record.name
        ));
    }
}

/// Starts `count` tasks of the primary deployment. False when some could
/// not be placed (the scheduler tries again later).
fn start_tasks(
    state: &mut RegionState,
    record: &mut ServiceRecord,
    count: u32,
    daemon_instances: Option<&[String]>,
    views: &[TaskView],
) -> bool {
    let Some(primary) = record.primary().cloned() else {
        return true;
    };
    let s = &record.service;
    let propagate = s.propagate_tags.as_deref() == Some("SERVICE");
    let tags = if propagate {
        Some(state.tags_of(s.service_arn.as_deref().unwrap_or("")))
    } else {
        None
    };
    let request = |n: u32| RunTaskRequest {
        cluster: Some(record.cluster.clone()),
        task_definition: primary.definition.task_definition_arn.clone(),
        count: Some(n as i32),
        launch_type: primary.deployment.launch_type.clone(),
        capacity_provider_strategy: primary.deployment.capacity_provider_strategy.clone(),
        network_configuration: primary.deployment.network_configuration.clone(),
        group: Some(record.group()),
        started_by: primary.deployment.id.clone(),
        placement_constraints: s.placement_constraints.clone().filter(|c| !c.is_empty()),
        placement_strategy: s.placement_strategy.clone().filter(|c| !c.is_empty()),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags,
        propagate_tags: s.propagate_tags.clone().filter(|p| p == "TASK_DEFINITION"),
        tags: tags.clone().filter(|t| !t.is_empty()),
        ..Default::default()
    };
    let mut started: Vec<String> = vec![];
    let mut problems: Vec<String> = vec![];
    match daemon_instances {
        Some(instances) => {
            // One task on each instance that has none of this service's yet.
            let covered: Vec<String> = views
                .iter()
                .filter(|v| v.alive)
                .filter_map(|v| {
                    state
                        .tasks
                        .get(&v.arn)
                        .and_then(|t| t.task.container_instance_arn.clone())
                })
                .collect();
            let missing: Vec<String> = instances
                .iter()
                .filter(|i| !covered.contains(i))
                .cloned()
                .collect();
            for chunk in missing.chunks(10) {
                let target = Target::Instances(chunk.to_vec());
                let result = launch(
                    state,
                    RunTaskRequest {
                        count: Some(1),
                        ..request(1)
                    },
                    Ok(primary.network.clone()),
                    target,
                    Origin::Service,
                );
                tally(result, &mut started, &mut problems);
            }
        }
        None => {
            let mut left = count;
            while left > 0 {
                let n = left.min(10);
                left -= n;
                if !tally(
                    launch(
                        state,
                        request(n),
                        Ok(primary.network.clone()),
                        Target::Placement,
                        Origin::Service,
                    ),
                    &mut started,
                    &mut problems,
                ) {
                    break;
                }
            }
        }
    }
    if !started.is_empty() {
        let list: Vec<String> = started
            .iter()
            .map(|a| format!("(task {})", short_id(a)))
            .collect();
        record.event(format!(
            "(service {}) has started {} tasks: {}.",
            record.name,
            started.len(),
            list.join(" ")
        ));
        record.steady = false;
    }
    let all_placed = problems.is_empty();
    if let Some(problem) = problems.first() {
        record.event(format!(
            "(service {}) was unable to place a task because no container instance met all of its requirements. Reason: {problem}",
            record.name
        ));
    }
    all_placed
}

/// After the plan: drained deployments leave, a primary that reached its
/// count completes, a DRAINING service with no tasks becomes INACTIVE, and
/// a service at rest says it has reached a steady state.
fn settle_deployments(
    record: &mut ServiceRecord,
    views: &[TaskView],
    plan: &Plan,
    desired: u32,
    all_stopped: bool,
    settled: bool,
) {
    let stopping: Vec<&str> = plan.stop.iter().map(|(a, _)| a.as_str()).collect();
    let alive_of = |d: &str| {
        views
            .iter()
            .filter(|v| v.alive && v.deployment == d && !stopping.contains(&v.arn.as_str()))
            .count() as u32
    };
    let healthy_of = |d: &str| {
        views
            .iter()
            .filter(|v| {
                v.alive && v.healthy && v.deployment == d && !stopping.contains(&v.arn.as_str())
            })
            .count() as u32
    };
    let name = record.name.clone();
    let now = epoch_now();

    // Older deployments with nothing left alive are done.
    let mut keep = vec![];
    for (i, mut d) in std::mem::take(&mut record.deployments)
        .into_iter()
        .enumerate()
    {
        if i > 0 && alive_of(d.id()) == 0 {
            d.deployment.status = Some("INACTIVE".into());
            if d.finished_at.is_none() {
                d.finished_at = Some(now);
            }
            if d.status == ServiceDeploymentStatus::InProgress {
                d.status = ServiceDeploymentStatus::Stopped;
            }
            record.past_deployments.insert(0, d);
        } else {
            keep.push(d);
        }
    }
    record.deployments = keep;

    let only_primary = record.deployments.len() == 1;
    let Some(primary) = record.deployments.first_mut() else {
        return;
    };
    let primary_id = primary.id().to_string();
    let at_count = settled
        && plan.start == 0
        && alive_of(&primary_id) == desired
        && healthy_of(&primary_id) == desired;
    if only_primary && at_count && primary.rollout_state() == "IN_PROGRESS" {
        primary.deployment.rollout_state = Some("COMPLETED".into());
        primary.deployment.rollout_state_reason =
            Some(format!("ECS deployment {primary_id} completed."));
        primary.deployment.updated_at = Some(now);
        primary.finished_at = Some(now);
        let rolled_back = primary.rollback_of.clone();
        primary.status = ServiceDeploymentStatus::Successful;
        record.event(format!(
            "(service {name}) (deployment {primary_id}) deployment completed."
        ));
        if let Some(failed) = rolled_back {
            if let Some(f) = record
                .past_deployments
                .iter_mut()
                .find(|d| d.id() == failed)
            {
                f.status = ServiceDeploymentStatus::RollbackSuccessful;
            }
        }
    }
    if record.status() == "DRAINING" && all_stopped {
        record.service.status = Some("INACTIVE".into());
        return;
    }
    let rollout_done = record
        .primary()
        .is_some_and(|d| d.rollout_state() != "IN_PROGRESS");
    if only_primary && at_count && rollout_done && !record.steady && record.status() == "ACTIVE" {
        record.steady = true;
        record.event(format!("(service {name}) has reached a steady state."));
    }
}

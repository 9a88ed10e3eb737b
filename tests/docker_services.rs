//! Services end to end on the machine's real Docker engine, through the real
//! aws-sdk-ecs client: a service keeps its desired count of real containers,
//! replaces one killed with `docker kill`, rolls to a new revision without
//! dropping below its healthy floor, trips its circuit breaker on a revision
//! that crashes and rolls back, runs a DAEMON task on every virtual container
//! instance, places REPLICA tasks by spread and binpack, and drains to
//! INACTIVE when deleted.
//!
//! Each test starts its own ecsbox server; its `EngineGuard` removes every
//! container and network of that server when the test ends, failed or not.
//! Every container here traps SIGTERM and exits at once (or has a 2 s
//! stopTimeout), so replacing or stopping tasks never waits out 30 s.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder;
use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration, DesiredStatus,
    HealthCheck, HealthStatus, KeyValuePair, LaunchType, PlacementStrategy, PlacementStrategyType,
    SchedulingStrategy, Service, Tag, Task,
};
use common::code;
use docker_common::*;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// PID 1 is a shell that exits 0 on SIGTERM at once (`wait` returns when the
/// signal arrives), so a stopped task never waits for its SIGKILL.
const SERVE: &str = "trap 'exit 0' TERM; sleep 3600 & wait";

/// The EC2 clusters of these tests get three virtual container instances
/// from this cluster tag (ecsbox's own; zones a, b and c in turn).
const INSTANCES_TAG: &str = "ecsbox:container-instances";

// ---- helpers -------------------------------------------------------------------------

/// The serving container, with a 2 s stopTimeout as a second safety net.
fn serving(env: &str) -> ContainerDefinition {
    sh("app", SERVE)
        .stop_timeout(2)
        .environment(KeyValuePair::builder().name("REVISION").value(env).build())
        .build()
}

/// ECS's health check with its shortest interval (5 s); `true` passes.
fn healthy_check() -> HealthCheck {
    HealthCheck::builder()
        .command("CMD-SHELL")
        .command("true")
        .interval(5)
        .timeout(2)
        .retries(1)
        .build()
        .unwrap()
}

/// A FARGATE/awsvpc REPLICA service of `family` in cluster `c`, not sent yet.
fn fargate_service(
    s: &DockerServer,
    name: &str,
    family: &str,
    desired: i32,
) -> CreateServiceFluentBuilder {
    s.ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(family)
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
}

/// A cluster with three virtual container instances (one per zone).
async fn ec2_cluster(s: &DockerServer, name: &str) -> Vec<String> {
    s.ecs
        .create_cluster()
        .cluster_name(name)
        .tags(Tag::builder().key(INSTANCES_TAG).value("3").build())
        .send()
        .await
        .unwrap();
    let listed = s
        .ecs
        .list_container_instances()
        .cluster(name)
        .send()
        .await
        .unwrap();
    let instances = listed.container_instance_arns().to_vec();
    assert_eq!(
        instances.len(),
        3,
        "the tag {INSTANCES_TAG}=3 gives three instances: {instances:?}"
    );
    instances
}

async fn describe_service(s: &DockerServer, cluster: &str, name: &str) -> Service {
    let out = s
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .unwrap();
    out.services()
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("service {name} not found: {:?}", out.failures()))
}

/// Describes the service every 100 ms until `done` holds; panics with it after `DEADLINE`.
async fn wait_service(
    s: &DockerServer,
    cluster: &str,
    name: &str,
    what: &str,
    done: impl Fn(&Service) -> bool,
) -> Service {
    wait_service_within(s, cluster, name, what, DEADLINE, done).await
}

async fn wait_service_within(
    s: &DockerServer,
    cluster: &str,
    name: &str,
    what: &str,
    limit: Duration,
    done: impl Fn(&Service) -> bool,
) -> Service {
    let deadline = Instant::now() + limit;
    loop {
        let svc = describe_service(s, cluster, name).await;
        if done(&svc) {
            return svc;
        }
        assert!(
            Instant::now() < deadline,
            "service {name} never {what} within {limit:?}: {svc:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The service's tasks whose desired status is RUNNING, as DescribeTasks shows them.
async fn service_tasks(s: &DockerServer, cluster: &str, name: &str) -> Vec<Task> {
    let listed = s
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(name)
        .send()
        .await
        .unwrap();
    let arns = listed.task_arns().to_vec();
    if arns.is_empty() {
        return vec![];
    }
    let out = s
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap();
    out.tasks().to_vec()
}

fn rollout(svc: &Service) -> Option<&str> {
    svc.deployments()
        .first()
        .and_then(|d| d.rollout_state())
        .map(|r| r.as_str())
}

/// One deployment, COMPLETED, running what is desired: the service at rest.
fn settled(svc: &Service) -> bool {
    svc.deployments().len() == 1
        && rollout(svc) == Some("COMPLETED")
        && svc.running_count() == svc.desired_count()
}

fn events(svc: &Service) -> Vec<&str> {
    svc.events().iter().filter_map(|e| e.message()).collect()
}

fn short_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap()
}

fn is_running(t: &Task) -> bool {
    t.last_status() == Some("RUNNING")
}

fn revision_of(t: &Task) -> &str {
    t.task_definition_arn().unwrap_or("")
}

// ---- 1, 2: desired count, services-stable, replacement of a killed container ----------

#[tokio::test]
async fn a_three_task_service_becomes_stable_and_replaces_a_killed_container() {
    let s = DockerServer::start().await;
    s.register("web", vec![serving("1")]).await;
    let created = fargate_service(&s, "web", "web", 3)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(created.status(), Some("ACTIVE"));
    assert_eq!((created.desired_count(), created.running_count()), (3, 0));

    // `aws ecs wait services-stable`, as the SDK has it: one deployment and
    // runningCount == desiredCount (its first poll comes before any task runs).
    let stable = s
        .ecs
        .wait_until_services_stable()
        .cluster(CLUSTER)
        .services("web")
        .wait(DEADLINE)
        .await;
    let stable = stable
        .expect("services-stable waiter")
        .into_result()
        .expect("DescribeServices");
    let svc = &stable.services()[0];
    assert_eq!(
        (
            svc.running_count(),
            svc.pending_count(),
            svc.deployments().len()
        ),
        (3, 0, 1),
        "{svc:#?}"
    );

    let tasks = service_tasks(&s, CLUSTER, "web").await;
    assert_eq!(tasks.len(), 3, "{tasks:#?}");
    let deployment_id = svc.deployments()[0].id().unwrap();
    for t in &tasks {
        assert!(is_running(t), "{t:#?}");
        assert_eq!(
            t.group(),
            Some("service:web"),
            "ECS ties a service's tasks by group"
        );
        assert_eq!(
            t.started_by(),
            Some(deployment_id),
            "and by startedBy, the deployment id"
        );
        let info = s.inspect(&runtime_id(t, "app")).await;
        assert!(!info.status.is_terminal(), "its container runs: {info:#?}");
    }
    let ips: BTreeSet<String> = tasks.iter().map(eni_ip).collect();
    assert_eq!(
        ips.len(),
        3,
        "each awsvpc task has its own address: {ips:?}"
    );
    let svc = wait_service(&s, CLUSTER, "web", "said it is steady", |s| {
        events(s).contains(&"(service web) has reached a steady state.")
    })
    .await;
    let started: Vec<&str> = events(&svc)
        .into_iter()
        .filter(|e| e.starts_with("(service web) has started 3 tasks: (task "))
        .collect();
    assert_eq!(started.len(), 1, "{:#?}", events(&svc));
    for t in &tasks {
        assert!(
            started[0].contains(&format!("(task {})", short_id(t.task_arn().unwrap()))),
            "{started:?}"
        );
    }

    // `docker kill` one container: its task stops and the service replaces it.
    let victim = &tasks[0];
    let out = docker_cli(&["kill", &runtime_id(victim, "app")]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let victim_arn = victim.task_arn().unwrap();
    let dead = s.wait_status(victim_arn, "STOPPED").await;
    assert_eq!(
        dead.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited"),
        "{dead:#?}"
    );

    let svc = wait_service(&s, CLUSTER, "web", "back to 3 running", |s| {
        s.running_count() == 3
            && events(s)
                .iter()
                .any(|e| e.starts_with("(service web) has started 1 tasks: "))
    })
    .await;
    let now = service_tasks(&s, CLUSTER, "web").await;
    let running: Vec<&Task> = now.iter().filter(|t| is_running(t)).collect();
    assert_eq!(running.len(), 3, "{now:#?}");
    assert!(
        running.iter().all(|t| t.task_arn() != Some(victim_arn)),
        "the killed task is not counted"
    );
    let replacement = running
        .iter()
        .find(|t| !tasks.iter().any(|old| old.task_arn() == t.task_arn()))
        .expect("a new task replaced the killed one");
    let wanted = format!(
        "(service web) has started 1 tasks: (task {}).",
        short_id(replacement.task_arn().unwrap())
    );
    assert!(
        events(&svc).contains(&wanted.as_str()),
        "no {wanted:?} in {:#?}",
        events(&svc)
    );
    assert_eq!(
        svc.deployments().len(),
        1,
        "a replacement is no new deployment"
    );
}

// ---- 3: a rolling update within min 100 / max 200 -----------------------------------------

/// Counts the tasks that serve: desired RUNNING, RUNNING and HEALTHY.
fn healthy_serving(tasks: &[Task]) -> usize {
    tasks
        .iter()
        .filter(|t| {
            t.desired_status() == Some("RUNNING")
                && is_running(t)
                && t.health_status() == Some(&HealthStatus::Healthy)
        })
        .count()
}

#[tokio::test]
async fn a_rolling_update_never_drops_below_three_healthy_tasks() {
    let s = DockerServer::start().await;
    let with_check = |rev: &str| {
        let mut c = serving(rev);
        c.health_check = Some(healthy_check());
        c
    };
    s.register("roll", vec![with_check("1")]).await;
    let config = DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(200)
        .build();
    fargate_service(&s, "roll", "roll", 3)
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    // With health checks, a task counts toward the rollout once HEALTHY
    // (the first check runs one interval, 5 s, after the start).
    let first = wait_service(&s, CLUSTER, "roll", "completed with 3 running", settled).await;
    let v1 = first.task_definition().unwrap().to_string();
    assert_eq!(
        healthy_serving(&service_tasks(&s, CLUSTER, "roll").await),
        3
    );

    s.register("roll", vec![with_check("2")]).await;
    let updated = s
        .ecs
        .update_service()
        .cluster(CLUSTER)
        .service("roll")
        .task_definition("roll")
        .send()
        .await
        .unwrap();
    let updated = updated.service.unwrap();
    let v2 = updated.task_definition().unwrap().to_string();
    assert_ne!(v1, v2, "the family resolves to its latest revision");
    assert_eq!(updated.deployments().len(), 2, "{updated:#?}");
    assert_eq!(updated.deployments()[0].status(), Some("PRIMARY"));
    assert_eq!(
        updated.deployments()[0].rollout_state().map(|r| r.as_str()),
        Some("IN_PROGRESS")
    );
    assert_eq!(updated.deployments()[1].status(), Some("ACTIVE"));

    // Sample every ~100 ms until the rollout completes: never fewer than
    // desired (min 100%) serving, never more than 6 alive (max 200%).
    let deadline = Instant::now() + DEADLINE;
    let mut samples = 0;
    let mut peak_alive = 0;
    let done = loop {
        let tasks = service_tasks(&s, CLUSTER, "roll").await;
        let healthy = healthy_serving(&tasks);
        assert!(
            healthy >= 3,
            "only {healthy} healthy serving tasks mid-rollout (sample {samples}): {tasks:#?}"
        );
        peak_alive = peak_alive.max(tasks.len());
        assert!(
            tasks.len() <= 6,
            "more than maximumPercent allows: {tasks:#?}"
        );
        let svc = describe_service(&s, CLUSTER, "roll").await;
        assert!(
            svc.running_count() >= 3,
            "runningCount {} mid-rollout",
            svc.running_count()
        );
        samples += 1;
        if settled(&svc) && svc.task_definition() == Some(v2.as_str()) {
            break svc;
        }
        assert!(
            Instant::now() < deadline,
            "the rollout never completed: {svc:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        samples > 10,
        "the rollout was sampled throughout ({samples} samples)"
    );
    assert!(
        peak_alive > 3,
        "new tasks started before old ones stopped (max 200%)"
    );

    assert_eq!(done.deployments()[0].task_definition(), Some(v2.as_str()));
    let tasks = service_tasks(&s, CLUSTER, "roll").await;
    assert_eq!(tasks.len(), 3, "{tasks:#?}");
    assert!(
        tasks.iter().all(|t| revision_of(t) == v2),
        "every task runs the new revision: {tasks:#?}"
    );
    assert_eq!(healthy_serving(&tasks), 3);
    let said = events(&done);
    // "(service roll) has stopped N running tasks: (task ...) ...": the 3 old ones in all.
    let stopped: usize = said
        .iter()
        .filter_map(|e| e.strip_prefix("(service roll) has stopped "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(stopped, 3, "{said:#?}");
    assert!(
        said.iter().any(|e| e.ends_with("deployment completed.")),
        "{said:#?}"
    );
}

// ---- 4: the circuit breaker -----------------------------------------------------------

#[tokio::test]
async fn a_revision_that_exits_at_once_trips_the_circuit_breaker_and_rolls_back() {
    let s = DockerServer::start().await;
    s.register("fragile", vec![serving("good")]).await;
    let breaker = DeploymentCircuitBreaker::builder()
        .enable(true)
        .rollback(true)
        .build();
    let config = DeploymentConfiguration::builder()
        .deployment_circuit_breaker(breaker)
        .build();
    fargate_service(&s, "fragile", "fragile", 2)
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    let first = wait_service(&s, CLUSTER, "fragile", "completed with 2 running", settled).await;
    let good = first.task_definition().unwrap().to_string();

    s.register("fragile", vec![sh("app", "exit 1").build()])
        .await;
    let updated = s
        .ecs
        .update_service()
        .cluster(CLUSTER)
        .service("fragile")
        .task_definition("fragile")
        .send()
        .await
        .unwrap();
    let updated = updated.service.unwrap();
    let bad = updated.task_definition().unwrap().to_string();
    let failed_id = updated.deployments()[0].id().unwrap().to_string();

    // ECS: the default threshold for 2 desired tasks is 3 failed tasks
    // (half the desired count, at least 3); then the deployment FAILS and
    // the last COMPLETED one is deployed again.
    let done = wait_service(&s, CLUSTER, "fragile", "rolled back and completed", |svc| {
        settled(svc)
            && svc.task_definition() == Some(good.as_str())
            && events(svc).iter().any(|e| e.contains("deployment failed"))
    })
    .await;
    let wanted = format!(
        "(service fragile) (deployment {failed_id}) deployment failed: tasks failed to start."
    );
    assert!(
        events(&done).contains(&wanted.as_str()),
        "no {wanted:?} in {:#?}",
        events(&done)
    );
    assert!(
        events(&done)
            .iter()
            .any(|e| e.starts_with("(service fragile) rolling back to deployment ")),
        "{:#?}",
        events(&done)
    );
    assert_ne!(done.deployments()[0].id(), Some(failed_id.as_str()));
    assert_eq!(done.running_count(), 2);
    let tasks = service_tasks(&s, CLUSTER, "fragile").await;
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    assert!(
        tasks
            .iter()
            .all(|t| is_running(t) && revision_of(t) == good),
        "{tasks:#?}"
    );

    // The failed revision's tasks really ran and exited 1.
    let stopped = s
        .ecs
        .list_tasks()
        .cluster(CLUSTER)
        .service_name("fragile")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    let stopped = s
        .ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .unwrap();
    // (Others, still starting when the breaker tripped, were stopped by the scheduler.)
    let crashed: Vec<&Task> = stopped
        .tasks()
        .iter()
        .filter(|t| {
            revision_of(t) == bad
                && t.stop_code().map(|c| c.as_str()) == Some("EssentialContainerExited")
        })
        .collect();
    assert!(
        crashed.len() >= 3,
        "the threshold is 3 failed tasks: {:#?}",
        stopped.tasks()
    );
    for t in &crashed {
        assert_eq!(container(t, "app").exit_code(), Some(1), "{t:#?}");
    }

    // The service deployment history. AWS creates a service deployment when
    // a service is created or updated, not for a rollback, and creates no
    // service revision for it either: the failed service deployment itself
    // rolls back (ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL) and names
    // the revision it went back to in `rollback` (developer guide, "View
    // service history using Amazon ECS service deployments"; API `Rollback`).
    let history = s
        .ecs
        .list_service_deployments()
        .cluster(CLUSTER)
        .service("fragile")
        .send()
        .await
        .unwrap();
    let arns: Vec<String> = history
        .service_deployments()
        .iter()
        .map(|b| b.service_deployment_arn().unwrap().to_string())
        .collect();
    let described = s
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns))
        .send()
        .await
        .unwrap();
    let target = |d: &aws_sdk_ecs::types::ServiceDeployment| {
        d.target_service_revision()
            .unwrap()
            .arn()
            .unwrap()
            .to_string()
    };
    let revisions: Vec<String> = described.service_deployments().iter().map(target).collect();
    let revs = s
        .ecs
        .describe_service_revisions()
        .set_service_revision_arns(Some(revisions))
        .send()
        .await
        .unwrap();
    let td_of: HashMap<String, String> = revs
        .service_revisions()
        .iter()
        .map(|r| {
            (
                r.service_revision_arn().unwrap().to_string(),
                r.task_definition().unwrap().to_string(),
            )
        })
        .collect();
    let of = |td: &str| -> Vec<&aws_sdk_ecs::types::ServiceDeployment> {
        described
            .service_deployments()
            .iter()
            .filter(|d| td_of[&target(d)] == td)
            .collect()
    };
    let [failed] = of(&bad)[..] else {
        panic!("one service deployment of the bad revision: {described:#?}")
    };
    let good_revision = target(of(&good)[0]);
    assert_eq!(
        failed.status().map(|s| s.as_str()),
        Some("ROLLBACK_SUCCESSFUL"),
        "{failed:#?}"
    );
    let rollback = failed
        .rollback()
        .unwrap_or_else(|| panic!("the failed deployment tells its rollback: {failed:#?}"));
    assert_eq!(
        rollback.service_revision_arn(),
        Some(good_revision.as_str()),
        "{failed:#?}"
    );
    let breaker = failed
        .deployment_circuit_breaker()
        .unwrap_or_else(|| panic!("and its circuit breaker: {failed:#?}"));
    assert_eq!(
        breaker.status().map(|s| s.as_str()),
        Some("TRIGGERED"),
        "{failed:#?}"
    );
    assert_eq!(breaker.threshold(), 3, "{failed:#?}");
    assert!(breaker.failure_count() >= 3, "{failed:#?}");
    assert_eq!(
        of(&good).len(),
        1,
        "the rollback is no service deployment of its own: {described:#?}"
    );
}

/// Every task the service ever launched, running or stopped.
async fn launched(s: &DockerServer, cluster: &str, name: &str) -> usize {
    let stopped = s
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(name)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    stopped.task_arns().len() + service_tasks(s, cluster, name).await.len()
}

/// Without rollback, the tripped deployment stays PRIMARY, FAILED, and
/// launches no more tasks (API `Deployment.rolloutState`).
#[tokio::test]
async fn without_rollback_a_tripped_deployment_stays_failed_and_starts_nothing_more() {
    let s = DockerServer::start().await;
    s.register("broken", vec![sh("app", "exit 1").build()])
        .await;
    let breaker = DeploymentCircuitBreaker::builder()
        .enable(true)
        .rollback(false)
        .build();
    let config = DeploymentConfiguration::builder()
        .deployment_circuit_breaker(breaker)
        .build();
    fargate_service(&s, "broken", "broken", 1)
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    // Three failures take a few seconds; 30 s is plenty.
    let limit = Duration::from_secs(30);
    let svc = wait_service_within(&s, CLUSTER, "broken", "FAILED", limit, |s| {
        rollout(s) == Some("FAILED")
    })
    .await;
    let [deployment] = svc.deployments() else {
        panic!("one deployment: {svc:#?}")
    };
    assert_eq!(deployment.status(), Some("PRIMARY"));
    assert_eq!(
        deployment.rollout_state_reason(),
        Some("ECS deployment circuit breaker: tasks failed to start.")
    );
    assert!(deployment.failed_tasks() >= 3, "{deployment:#?}");
    let id = deployment.id().unwrap();
    let wanted =
        format!("(service broken) (deployment {id}) deployment failed: tasks failed to start.");
    assert!(
        events(&svc).contains(&wanted.as_str()),
        "no {wanted:?} in {:#?}",
        events(&svc)
    );

    let before = launched(&s, CLUSTER, "broken").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        launched(&s, CLUSTER, "broken").await,
        before,
        "a FAILED deployment launches no new tasks"
    );
    let svc = describe_service(&s, CLUSTER, "broken").await;
    assert_eq!((rollout(&svc), svc.running_count()), (Some("FAILED"), 0));
}

// ---- 5: DAEMON -----------------------------------------------------------------------

#[tokio::test]
async fn a_daemon_service_runs_one_task_on_each_container_instance() {
    let s = DockerServer::start().await;
    let instances = ec2_cluster(&s, "fleet").await;
    let mut agent = serving("daemon");
    agent.memory = Some(32);
    s.register_bridge("agent", vec![agent]).await;
    s.ecs
        .create_service()
        .cluster("fleet")
        .service_name("agent")
        .task_definition("agent")
        .launch_type(LaunchType::Ec2)
        .scheduling_strategy(SchedulingStrategy::Daemon)
        .send()
        .await
        .unwrap();
    let svc = wait_service(&s, "fleet", "agent", "running on 3 instances", |s| {
        s.running_count() == 3
    })
    .await;
    let tasks = service_tasks(&s, "fleet", "agent").await;
    let placed: BTreeSet<&str> = tasks
        .iter()
        .filter_map(|t| t.container_instance_arn())
        .collect();
    assert_eq!(tasks.len(), 3, "exactly one task per instance: {tasks:#?}");
    assert_eq!(
        placed,
        instances.iter().map(String::as_str).collect(),
        "one on each instance"
    );
    assert!(tasks
        .iter()
        .all(|t| t.launch_type() == Some(&LaunchType::Ec2)));

    // AWS sets a DAEMON service's desiredCount to the number of instances
    // that should run it, so `services-stable` (runningCount ==
    // desiredCount, one deployment) holds for a settled daemon too.
    assert_eq!(svc.desired_count(), 3, "{svc:#?}");
    let svc = wait_service(&s, "fleet", "agent", "settled", settled).await;
    assert_eq!(svc.scheduling_strategy(), Some(&SchedulingStrategy::Daemon));
    // And it starts nothing more.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(service_tasks(&s, "fleet", "agent").await.len(), 3);
}

// ---- 6: spread and binpack ----------------------------------------------------------

/// The zone of each of a cluster's container instances.
async fn zones(s: &DockerServer, cluster: &str, instances: &[String]) -> HashMap<String, String> {
    let out = s
        .ecs
        .describe_container_instances()
        .cluster(cluster)
        .set_container_instances(Some(instances.to_vec()))
        .send()
        .await
        .unwrap();
    out.container_instances()
        .iter()
        .map(|ci| {
            let zone = ci
                .attributes()
                .iter()
                .find(|a| a.name() == "ecs.availability-zone")
                .and_then(|a| a.value())
                .unwrap_or("");
            (
                ci.container_instance_arn().unwrap().to_string(),
                zone.to_string(),
            )
        })
        .collect()
}

async fn placed_service(s: &DockerServer, cluster: &str, strategy: PlacementStrategy) -> Vec<Task> {
    s.ecs
        .create_service()
        .cluster(cluster)
        .service_name("placed")
        .task_definition("placed")
        .desired_count(3)
        .launch_type(LaunchType::Ec2)
        .placement_strategy(strategy)
        .send()
        .await
        .unwrap();
    wait_service(s, cluster, "placed", "3 running", |s| {
        s.running_count() == 3
    })
    .await;
    service_tasks(s, cluster, "placed").await
}

#[tokio::test]
async fn spread_and_binpack_place_a_services_tasks_as_ecs_does() {
    let s = DockerServer::start().await;
    let mut app = serving("placed");
    app.memory = Some(64);
    s.register_bridge("placed", vec![app]).await;

    let spread_instances = ec2_cluster(&s, "spread").await;
    let zone_of = zones(&s, "spread", &spread_instances).await;
    assert_eq!(
        zone_of.values().collect::<BTreeSet<_>>().len(),
        3,
        "one instance per zone: {zone_of:?}"
    );
    let spread = PlacementStrategy::builder()
        .r#type(PlacementStrategyType::Spread)
        .field("attribute:ecs.availability-zone")
        .build();
    let tasks = placed_service(&s, "spread", spread).await;
    let used: BTreeSet<&str> = tasks
        .iter()
        .map(|t| zone_of[t.container_instance_arn().unwrap()].as_str())
        .collect();
    assert_eq!(
        used.len(),
        3,
        "spread over zones puts 3 tasks in 3 zones: {tasks:#?}"
    );
    for t in &tasks {
        assert_eq!(
            t.availability_zone(),
            Some(zone_of[t.container_instance_arn().unwrap()].as_str()),
            "{t:#?}"
        );
    }

    let binpack_instances = ec2_cluster(&s, "binpack").await;
    let binpack = PlacementStrategy::builder()
        .r#type(PlacementStrategyType::Binpack)
        .field("memory")
        .build();
    let tasks = placed_service(&s, "binpack", binpack).await;
    let used: BTreeSet<&str> = tasks
        .iter()
        .map(|t| t.container_instance_arn().unwrap())
        .collect();
    assert_eq!(
        used.len(),
        1,
        "binpack on memory fills one instance first (3 x 64 MiB fit on one): {tasks:#?}"
    );
    assert!(binpack_instances.iter().any(|i| used.contains(i.as_str())));
}

// ---- 7: deletion -------------------------------------------------------------------------

/// Waits until none of the tasks has a Docker container left (the server
/// runs with `--task-cleanup-delay 0`).
async fn containers_gone(s: &DockerServer, arns: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for arn in arns {
        loop {
            let left = s.task_containers(arn).await;
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containers of {arn} never removed: {left:#?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn arns_of(tasks: &[Task]) -> Vec<String> {
    tasks
        .iter()
        .map(|t| t.task_arn().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn delete_service_refuses_while_scaled_then_drains_to_inactive_and_removes_containers() {
    let s = DockerServer::start_with(&["--task-cleanup-delay", "0"]).await;
    s.register("doomed", vec![serving("1")]).await;
    fargate_service(&s, "scaled", "doomed", 2)
        .send()
        .await
        .unwrap();
    fargate_service(&s, "forced", "doomed", 2)
        .send()
        .await
        .unwrap();
    wait_service(&s, CLUSTER, "scaled", "2 running", |s| {
        s.running_count() == 2
    })
    .await;
    wait_service(&s, CLUSTER, "forced", "2 running", |s| {
        s.running_count() == 2
    })
    .await;
    let scaled_tasks = arns_of(&service_tasks(&s, CLUSTER, "scaled").await);
    let forced_tasks = arns_of(&service_tasks(&s, CLUSTER, "forced").await);

    // AWS: "The service cannot be stopped while it is scaled above 0."
    let err = s
        .ecs
        .delete_service()
        .cluster(CLUSTER)
        .service("scaled")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "{err:?}");
    let still = describe_service(&s, CLUSTER, "scaled").await;
    assert_eq!(
        (still.status(), still.running_count()),
        (Some("ACTIVE"), 2),
        "a refused delete changes nothing"
    );

    // Scaled to 0 first, it deletes without force.
    s.ecs
        .update_service()
        .cluster(CLUSTER)
        .service("scaled")
        .desired_count(0)
        .send()
        .await
        .unwrap();
    wait_service(&s, CLUSTER, "scaled", "scaled to 0", |s| {
        s.running_count() == 0 && s.pending_count() == 0
    })
    .await;
    let deleted = s
        .ecs
        .delete_service()
        .cluster(CLUSTER)
        .service("scaled")
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(deleted.status(), Some("DRAINING"));

    // With force it deletes at once, tasks and all.
    let deleted = s
        .ecs
        .delete_service()
        .cluster(CLUSTER)
        .service("forced")
        .force(true)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(deleted.status(), Some("DRAINING"));
    assert_eq!(deleted.desired_count(), 0);

    // `aws ecs wait services-inactive`, as the SDK has it.
    // One waiter per service: ServicesInactive succeeds when any service it
    // asks about is INACTIVE (waiters-2.json: anyStringEquals).
    for name in ["scaled", "forced"] {
        let inactive = s
            .ecs
            .wait_until_services_inactive()
            .cluster(CLUSTER)
            .services(name)
            .wait(DEADLINE)
            .await;
        let inactive = inactive
            .expect("services-inactive waiter")
            .into_result()
            .expect("DescribeServices");
        assert_eq!(
            inactive.services()[0].status(),
            Some("INACTIVE"),
            "{inactive:#?}"
        );
    }

    for arn in scaled_tasks.iter().chain(&forced_tasks) {
        let t = s.describe(arn).await;
        assert_eq!(t.last_status(), Some("STOPPED"), "{t:#?}");
        assert_eq!(
            t.stop_code().map(|c| c.as_str()),
            Some("ServiceSchedulerInitiated"),
            "{t:#?}"
        );
    }
    containers_gone(&s, &scaled_tasks).await;
    containers_gone(&s, &forced_tasks).await;
    let listed = s.ecs.list_services().cluster(CLUSTER).send().await.unwrap();
    assert!(
        listed.service_arns().is_empty(),
        "INACTIVE services are not listed: {listed:?}"
    );
    // An INACTIVE service is still described, but no longer updated.
    let err = s
        .ecs
        .update_service()
        .cluster(CLUSTER)
        .service("forced")
        .desired_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotActiveException", "{err:?}");
}

// ---- 8: the deployment history ---------------------------------------------------------

#[tokio::test]
async fn the_deployment_history_answers_consistently_after_an_update() {
    let s = DockerServer::start().await;
    s.register("api", vec![serving("1")]).await;
    let created = fargate_service(&s, "api", "api", 1)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    let service_arn = created.service_arn().unwrap().to_string();
    let cluster_arn = created.cluster_arn().unwrap().to_string();
    let first = wait_service(&s, CLUSTER, "api", "completed", settled).await;
    let v1 = first.task_definition().unwrap().to_string();
    s.register("api", vec![serving("2")]).await;
    s.ecs
        .update_service()
        .cluster(CLUSTER)
        .service("api")
        .task_definition("api")
        .send()
        .await
        .unwrap();
    let done = wait_service(&s, CLUSTER, "api", "completed on revision 2", |s| {
        settled(s) && s.task_definition() != Some(v1.as_str())
    })
    .await;
    let v2 = done.task_definition().unwrap().to_string();

    let listed = s.ecs.list_services().cluster(CLUSTER).send().await.unwrap();
    assert_eq!(listed.service_arns(), std::slice::from_ref(&service_arn));
    let described = s
        .ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("api")
        .services("ghost")
        .send()
        .await
        .unwrap();
    assert_eq!(described.services().len(), 1);
    assert_eq!(
        described.services()[0].service_arn(),
        Some(service_arn.as_str())
    );
    let [missing] = described.failures() else {
        panic!("one failure: {described:?}")
    };
    assert_eq!(missing.reason(), Some("MISSING"));
    // AWS names a missing service without its cluster:
    // arn:aws:ecs:REGION:ACCOUNT:service/NAME (see messages::aws::MISSING).
    assert_eq!(
        missing.arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:service/ghost")
    );

    let history = s
        .ecs
        .list_service_deployments()
        .cluster(CLUSTER)
        .service("api")
        .send()
        .await
        .unwrap();
    let briefs = history.service_deployments();
    assert_eq!(briefs.len(), 2, "{briefs:#?}");
    for b in briefs {
        assert_eq!(b.service_arn(), Some(service_arn.as_str()));
        assert_eq!(b.cluster_arn(), Some(cluster_arn.as_str()));
        assert_eq!(b.status().map(|s| s.as_str()), Some("SUCCESSFUL"), "{b:#?}");
        assert!(b.finished_at().is_some(), "{b:#?}");
    }
    let mut arns: Vec<String> = briefs
        .iter()
        .map(|b| b.service_deployment_arn().unwrap().to_string())
        .collect();
    let bogus =
        service_arn.replace(":service/", ":service-deployment/") + "/0000000000000000000000";
    arns.push(bogus.clone());
    let deployments = s
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns))
        .send()
        .await
        .unwrap();
    assert_eq!(
        deployments.service_deployments().len(),
        2,
        "{deployments:#?}"
    );
    assert_eq!(deployments.failures().len(), 1);
    assert_eq!(
        (
            deployments.failures()[0].arn(),
            deployments.failures()[0].reason()
        ),
        (Some(bogus.as_str()), Some("MISSING"))
    );

    let targets: Vec<String> = deployments
        .service_deployments()
        .iter()
        .map(|d| {
            d.target_service_revision()
                .unwrap()
                .arn()
                .unwrap()
                .to_string()
        })
        .collect();
    for d in deployments.service_deployments() {
        let brief = briefs
            .iter()
            .find(|b| b.service_deployment_arn() == d.service_deployment_arn())
            .unwrap();
        assert_eq!(
            d.target_service_revision().unwrap().arn(),
            brief.target_service_revision_arn(),
            "List and Describe agree"
        );
        assert_eq!(d.status(), brief.status());
    }
    let revisions = s
        .ecs
        .describe_service_revisions()
        .set_service_revision_arns(Some(targets.clone()))
        .send()
        .await
        .unwrap();
    assert!(revisions.failures().is_empty(), "{revisions:#?}");
    let td_of: HashMap<&str, &str> = revisions
        .service_revisions()
        .iter()
        .map(|r| {
            (
                r.service_revision_arn().unwrap(),
                r.task_definition().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        td_of.values().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([v1.as_str(), v2.as_str()])
    );
    for r in revisions.service_revisions() {
        assert_eq!(r.service_arn(), Some(service_arn.as_str()));
        assert_eq!(r.cluster_arn(), Some(cluster_arn.as_str()));
        assert_eq!(r.container_images()[0].image(), Some(BUSYBOX));
        assert_eq!(r.launch_type(), Some(&LaunchType::Fargate));
    }
    // The update's deployment came from revision 1's and targets revision 2.
    let update = deployments
        .service_deployments()
        .iter()
        .find(|d| td_of[d.target_service_revision().unwrap().arn().unwrap()] == v2)
        .expect("the update's deployment");
    let source: Vec<&str> = update
        .source_service_revisions()
        .iter()
        .filter_map(|r| r.arn())
        .collect();
    assert_eq!(source.len(), 1, "{update:#?}");
    assert_eq!(td_of[source[0]], v1, "{update:#?}");
    assert_eq!(
        update
            .target_service_revision()
            .unwrap()
            .requested_task_count(),
        1
    );
}

//! Services through the real aws-sdk-ecs client, on the in-memory fake
//! runtime: desired count, replacement, rolling deployments within their
//! bounds, the circuit breaker, events, deletion.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration,
    LaunchType, NetworkConfiguration, NetworkMode, Service,
};
use common::{code, TestServer};
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    server: TestServer,
    fake: Arc<FakeRuntime>,
    ecs: aws_sdk_ecs::Client,
}

async fn setup() -> Setup {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    fake.add_image("app:2");
    let server = TestServer::start_on(Config::for_tests(), fake.clone()).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    Setup { server, fake, ecs }
}

async fn register(ecs: &aws_sdk_ecs::Client, image: &str) -> String {
    ecs.register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap()
}

fn awsvpc() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0123abcd")
                .build()
                .unwrap(),
        )
        .build()
}

async fn describe(ecs: &aws_sdk_ecs::Client, name: &str) -> Service {
    ecs.describe_services()
        .cluster("c")
        .services(name)
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

async fn wait_for(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    what: &str,
    done: impl Fn(&Service) -> bool,
) -> Service {
    for _ in 0..400 {
        let s = describe(ecs, name).await;
        if done(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "service never reached: {what}: {:#?}",
        describe(ecs, name).await
    );
}

async fn running_task_ids(ecs: &aws_sdk_ecs::Client, name: &str) -> Vec<String> {
    let arns = ecs
        .list_tasks()
        .cluster("c")
        .service_name(name)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return vec![];
    }
    let d = ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap();
    d.tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .filter_map(|t| t.containers()[0].runtime_id().map(String::from))
        .collect()
}

#[tokio::test]
async fn a_service_holds_its_desired_count_and_replaces_a_dead_task() {
    let s = setup().await;
    register(&s.ecs, "app:1").await;
    let created = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(3)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    let svc = created.service.unwrap();
    assert_eq!(svc.status(), Some("ACTIVE"));
    assert_eq!(svc.deployments().len(), 1);
    assert_eq!(svc.deployments()[0].status(), Some("PRIMARY"));
    let svc = wait_for(&s.ecs, "web", "3 running and steady", |s| {
        s.running_count() == 3
            && s.events().iter().any(|e| {
                e.message()
                    .unwrap_or("")
                    .ends_with("has reached a steady state.")
            })
    })
    .await;
    assert_eq!(
        svc.deployments()[0].rollout_state().map(|r| r.as_str()),
        Some("COMPLETED")
    );
    assert!(svc.events().iter().any(|e| e
        .message()
        .unwrap()
        .starts_with("(service web) has started 3 tasks: (task ")));
    // Newest first: the steady state comes after the starts.
    assert!(svc.events()[0].message().unwrap().contains("steady state"));

    // A container dies: the task stops and the service starts a replacement.
    let ids = running_task_ids(&s.ecs, "web").await;
    s.fake.exit(&ids[0], 1);
    wait_for(&s.ecs, "web", "a replacement", |s| {
        s.events().iter().any(|e| {
            e.message()
                .unwrap_or("")
                .starts_with("(service web) has started 1 tasks")
        })
    })
    .await;
    wait_for(&s.ecs, "web", "back to 3 running", |s| {
        s.running_count() == 3
    })
    .await;
    let c = s
        .ecs
        .describe_clusters()
        .clusters("c")
        .send()
        .await
        .unwrap();
    assert_eq!(c.clusters()[0].active_services_count(), 1);
}

#[tokio::test]
async fn a_rolling_update_keeps_min_healthy_and_completes() {
    let s = setup().await;
    register(&s.ecs, "app:1").await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(3)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(100)
                .maximum_percent(200)
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_for(&s.ecs, "web", "3 running", |s| s.running_count() == 3).await;
    let v2 = register(&s.ecs, "app:2").await;
    let updated = s
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(&v2)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(updated.deployments().len(), 2);
    assert_eq!(
        updated.deployments()[0].task_definition(),
        Some(v2.as_str())
    );
    // Sample while it rolls: never fewer than 3 running.
    let mut done = false;
    for _ in 0..400 {
        let svc = describe(&s.ecs, "web").await;
        assert!(
            svc.running_count() >= 3,
            "running dropped to {}",
            svc.running_count()
        );
        if svc.deployments().len() == 1
            && svc.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
        {
            assert_eq!(svc.task_definition(), Some(v2.as_str()));
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(done, "the deployment never completed");
    let deployments = s
        .ecs
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .send()
        .await
        .unwrap();
    assert_eq!(deployments.service_deployments().len(), 2);
    let arns: Vec<String> = deployments
        .service_deployments()
        .iter()
        .filter_map(|d| d.service_deployment_arn().map(String::from))
        .collect();
    let described = s
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns))
        .send()
        .await
        .unwrap();
    assert_eq!(described.service_deployments().len(), 2);
    let revision = described.service_deployments()[0]
        .target_service_revision()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let rev = s
        .ecs
        .describe_service_revisions()
        .service_revision_arns(revision)
        .send()
        .await
        .unwrap();
    assert_eq!(rev.service_revisions().len(), 1);
}

#[tokio::test]
async fn the_circuit_breaker_rolls_back_a_revision_that_crashes() {
    let s = setup().await;
    register(&s.ecs, "app:1").await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let first = wait_for(&s.ecs, "web", "2 running, completed", |s| {
        s.running_count() == 2
            && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
    })
    .await;
    let good_td = first.task_definition().unwrap().to_string();
    // Revision 2's image does not exist: every task fails to start.
    let bad = register(&s.ecs, "missing:1").await;
    s.ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(&bad)
        .send()
        .await
        .unwrap();
    let svc = wait_for(&s.ecs, "web", "rolled back and completed", |s| {
        s.events().iter().any(|e| {
            e.message()
                .unwrap_or("")
                .contains("deployment failed: tasks failed to start")
        }) && s.deployments().len() == 1
            && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
    })
    .await;
    assert_eq!(svc.task_definition(), Some(good_td.as_str()));
    assert_eq!(svc.running_count(), 2);
    assert!(svc.events().iter().any(|e| e
        .message()
        .unwrap_or("")
        .contains("rolling back to deployment")));
}

#[tokio::test]
async fn delete_refuses_while_scaled_unless_forced_then_drains_to_inactive() {
    let s = setup().await;
    register(&s.ecs, "app:1").await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    wait_for(&s.ecs, "web", "2 running", |s| s.running_count() == 2).await;
    let err = s
        .ecs
        .delete_service()
        .cluster("c")
        .service("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = s
        .ecs
        .delete_cluster()
        .cluster("c")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterContainsServicesException");
    let deleted = s
        .ecs
        .delete_service()
        .cluster("c")
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(deleted.status(), Some("DRAINING"));
    wait_for(&s.ecs, "web", "INACTIVE", |s| {
        s.status() == Some("INACTIVE")
    })
    .await;
    assert!(s
        .ecs
        .list_services()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .service_arns()
        .is_empty());
    let err = s
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .desired_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotActiveException");
}

#[tokio::test]
async fn create_service_checks_what_aws_checks() {
    let s = setup().await;
    register(&s.ecs, "app:1").await;
    let err = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidParameterException",
        "awsvpc needs a network configuration"
    );
    let err = s
        .ecs
        .create_service()
        .cluster("nope")
        .service_name("web")
        .task_definition("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let err = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    let err = s
        .ecs
        .update_service()
        .cluster("c")
        .service("ghost")
        .desired_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotFoundException");
    let d = s
        .ecs
        .describe_services()
        .cluster("c")
        .services("ghost")
        .send()
        .await
        .unwrap();
    assert_eq!(d.failures()[0].reason(), Some("MISSING"));
    // AWS's failure arn has no cluster in it: "arn:aws:ecs:us-east-2:***:
    // service/pawebapp-service is MISSING"
    // (aws-actions/amazon-ecs-deploy-task-definition#312).
    assert_eq!(
        d.failures()[0].arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:service/ghost")
    );
    // Cloud-CV/EvalAI#2419: CreateService of a definition that does not exist.
    let err = s
        .ecs
        .create_service()
        .cluster("c")
        .service_name("nodef")
        .task_definition("nodef:1")
        .desired_count(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    assert_eq!(common::message(&err), "TaskDefinition not found.");
    // A second create of the same name without a matching clientToken clashes.
    let make = || {
        s.ecs
            .create_service()
            .cluster("c")
            .service_name("web")
            .task_definition("web")
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc())
            .client_token("tok-1")
    };
    make().send().await.unwrap();
    make().send().await.unwrap();
    let err = make().client_token("tok-2").send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

async fn ec2_setup(instances: &str) -> Setup {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(Config::for_tests(), fake.clone()).await;
    let ecs = server.client();
    ecs.create_cluster()
        .cluster_name("c")
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("ecsbox:container-instances")
                .value(instances)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("daemon")
        .container_definitions(
            ContainerDefinition::builder()
                .name("agent")
                .image("app:1")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    Setup { server, fake, ecs }
}

async fn instances_of_running_tasks(ecs: &aws_sdk_ecs::Client, name: &str) -> Vec<String> {
    let arns = ecs
        .list_tasks()
        .cluster("c")
        .service_name(name)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return vec![];
    }
    let d = ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap();
    let mut v: Vec<String> = d
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .filter_map(|t| t.container_instance_arn().map(String::from))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_daemon_service_runs_one_task_per_instance() {
    let s = ec2_setup("3").await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("agents")
        .task_definition("daemon")
        .scheduling_strategy(aws_sdk_ecs::types::SchedulingStrategy::Daemon)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    wait_for(&s.ecs, "agents", "3 running", |s| s.running_count() == 3).await;
    let mut on = instances_of_running_tasks(&s.ecs, "agents").await;
    on.dedup();
    assert_eq!(on.len(), 3, "one task on each instance: {on:?}");
    // A desired count makes no sense for DAEMON, as AWS says.
    let err = s
        .ecs
        .update_service()
        .cluster("c")
        .service("agents")
        .desired_count(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let _ = &s.fake;
}

#[tokio::test]
async fn tasks_on_a_draining_instance_are_replaced_elsewhere() {
    let s = ec2_setup("3").await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("daemon")
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .placement_constraints(
            aws_sdk_ecs::types::PlacementConstraint::builder()
                .r#type(aws_sdk_ecs::types::PlacementConstraintType::DistinctInstance)
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_for(&s.ecs, "web", "2 running", |s| s.running_count() == 2).await;
    let before = instances_of_running_tasks(&s.ecs, "web").await;
    let drained = before[0].clone();
    s.ecs
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&drained)
        .status(aws_sdk_ecs::types::ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    for _ in 0..400 {
        let now = instances_of_running_tasks(&s.ecs, "web").await;
        if now.len() == 2 && !now.contains(&drained) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "tasks were not moved off the draining instance: {:?}",
        instances_of_running_tasks(&s.ecs, "web").await
    );
}

/// A revision rolled out before the previous one settled still rolls back
/// to it: it is the one the failed deployment replaced.
#[tokio::test]
async fn the_circuit_breaker_rolls_back_to_an_unsettled_previous_revision() {
    let s = setup().await;
    let good = register(&s.ecs, "app:1").await;
    s.ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_for(&s.ecs, "web", "2 running", |s| s.running_count() == 2).await;
    let bad = register(&s.ecs, "missing:1").await;
    s.ecs
        .update_service()
        .cluster("c")
        .service("web")
        .task_definition(&bad)
        .send()
        .await
        .unwrap();
    let svc = wait_for(&s.ecs, "web", "rolled back", |s| {
        s.task_definition() == Some(good.as_str())
            && s.events().iter().any(|e| {
                e.message()
                    .unwrap_or("")
                    .contains("rolling back to deployment")
            })
    })
    .await;
    assert_eq!(svc.deployments()[0].task_definition(), Some(good.as_str()));
}

// ---- the network a service names, looked up in EC2 ----

fn awsvpc_in(subnet: &str, groups: &[&str]) -> NetworkConfiguration {
    let mut c = AwsVpcConfiguration::builder().subnets(subnet);
    for g in groups {
        c = c.security_groups(*g);
    }
    NetworkConfiguration::builder()
        .awsvpc_configuration(c.build().unwrap())
        .build()
}

async fn create_in(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    network: NetworkConfiguration,
) -> Result<Service, String> {
    ecs.create_service()
        .cluster("c")
        .service_name(name)
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network)
        .send()
        .await
        .map(|out| out.service.unwrap())
        .map_err(|e| format!("{}: {}", code(&e), common::message(&e)))
}

/// ECS's wrapping of EC2's error up to the request id (sources in
/// tests/tasks.rs, `assert_wrapped_ec2_error`).
fn assert_wrapped(got: &str, prefix: &str) {
    assert!(
        got.starts_with(prefix),
        "{got}\nwanted it to start with\n{prefix}"
    );
    assert!(got.ends_with("; Proxy: null)"), "{got}");
}

#[tokio::test]
async fn create_and_update_service_refuse_malformed_subnet_and_security_group_ids() {
    let s = setup().await;
    register(&s.ecs, "app:1").await;
    let err = create_in(&s.ecs, "web", awsvpc_in("subnet-xyz", &[]))
        .await
        .unwrap_err();
    assert_wrapped(
        &err,
        "InvalidParameterException: Error retrieving subnet information for [subnet-xyz]: The subnet ID 'subnet-xyz' is malformed (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.Malformed; Request ID: ",
    );
    let err = create_in(&s.ecs, "web", awsvpc_in("subnet-0123abcd", &["sg-xyz"]))
        .await
        .unwrap_err();
    assert_wrapped(
        &err,
        "InvalidParameterException: Error retrieving security group information for [sg-xyz]: Invalid id: \"sg-xyz\" (expecting \"sg-...\") (Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroupId.Malformed; Request ID: ",
    );
    let listed = s.ecs.list_services().cluster("c").send().await.unwrap();
    assert!(listed.service_arns().is_empty(), "{listed:?}");

    create_in(&s.ecs, "web", awsvpc()).await.unwrap();
    let err = s
        .ecs
        .update_service()
        .cluster("c")
        .service("web")
        .network_configuration(awsvpc_in("subnet-local", &[]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(common::message(&err).starts_with("Error retrieving subnet information for [subnet-local]: The subnet ID 'subnet-local' is malformed"), "{err:?}");
    assert_eq!(describe(&s.ecs, "web").await.deployments().len(), 1);
}

#[tokio::test]
async fn a_services_tasks_go_in_its_known_subnets_zone() {
    let s = setup().await;
    register(&s.ecs, "app:1").await;
    let r = s.server.ec2_raw("Action=DescribeSubnets&Filter.1.Name=availability-zone&Filter.1.Value.1=us-east-1c&Filter.2.Name=default-for-az&Filter.2.Value.1=true").await;
    let subnet = common::xml_elements(&r.body, "subnetId")[0].clone();
    create_in(&s.ecs, "web", awsvpc_in(&subnet, &[]))
        .await
        .unwrap();
    wait_for(&s.ecs, "web", "1 running", |s| s.running_count() == 1).await;
    let arns = s
        .ecs
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    let task = s
        .ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    assert_eq!(task.availability_zone(), Some("us-east-1c"));
    // A new deployment that leaves the network alone keeps it.
    s.ecs
        .update_service()
        .cluster("c")
        .service("web")
        .force_new_deployment(true)
        .send()
        .await
        .unwrap();
    wait_for(&s.ecs, "web", "the new deployment alone", |s| {
        s.deployments().len() == 1 && s.running_count() == 1
    })
    .await;
    let arns = s
        .ecs
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    let tasks = s
        .ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap();
    assert!(
        tasks
            .tasks()
            .iter()
            .all(|t| t.availability_zone() == Some("us-east-1c")),
        "{tasks:?}"
    );
}

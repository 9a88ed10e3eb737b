//! Tasks through the real aws-sdk-ecs client, on the in-memory fake runtime:
//! the lifecycle, stop reasons, filters and the checks RunTask makes.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, ContainerOverride, DesiredStatus, LaunchType,
    NetworkConfiguration, NetworkMode, TaskOverride,
};
use common::{code, xml_elements, TestServer};
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
    let server = TestServer::start_on(Config::for_tests(), fake.clone()).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    Setup { server, fake, ecs }
}

async fn register(ecs: &aws_sdk_ecs::Client, family: &str, image: &str) {
    ecs.register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .essential(true)
                .build(),
        )
        .container_definitions(
            ContainerDefinition::builder()
                .name("sidecar")
                .image(image)
                .essential(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
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

async fn run(ecs: &aws_sdk_ecs::Client, family: &str) -> String {
    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition(family)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .started_by("tester")
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty());
    let task = &out.tasks()[0];
    assert_eq!(task.last_status(), Some("PROVISIONING"));
    assert_eq!(task.desired_status(), Some("RUNNING"));
    task.task_arn().unwrap().to_string()
}

/// Describes the task until `done` holds (the lifecycle is asynchronous, as in AWS).
async fn wait_for(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
    done: impl Fn(&aws_sdk_ecs::types::Task) -> bool,
) -> aws_sdk_ecs::types::Task {
    for _ in 0..200 {
        let d = ecs
            .describe_tasks()
            .cluster("c")
            .tasks(arn)
            .send()
            .await
            .unwrap();
        let t = d.tasks()[0].clone();
        if done(&t) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = ecs
        .describe_tasks()
        .cluster("c")
        .tasks(arn)
        .send()
        .await
        .unwrap();
    panic!("task never reached the expected state: {:#?}", d.tasks()[0]);
}

fn status(t: &aws_sdk_ecs::types::Task) -> &str {
    t.last_status().unwrap_or("")
}

#[tokio::test]
async fn a_task_runs_and_reports_its_containers_and_eni() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    let arn = run(&s.ecs, "web").await;
    assert!(
        arn.starts_with("arn:aws:ecs:us-east-1:000000000000:task/c/"),
        "{arn}"
    );
    let t = wait_for(&s.ecs, &arn, |t| status(t) == "RUNNING").await;
    assert!(
        t.started_at().is_some() && t.pull_started_at().is_some() && t.pull_stopped_at().is_some()
    );
    assert_eq!(t.connectivity().map(|c| c.as_str()), Some("CONNECTED"));
    for c in t.containers() {
        assert_eq!(c.last_status(), Some("RUNNING"), "{c:?}");
        assert!(c.runtime_id().is_some());
    }
    let eni = &t.attachments()[0];
    assert_eq!(eni.r#type(), Some("ElasticNetworkInterface"));
    assert_eq!(eni.status(), Some("ATTACHED"));
    let ip = eni
        .details()
        .iter()
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .unwrap();
    assert!(!ip.is_empty());
    assert_eq!(
        t.containers()[0].network_interfaces()[0].private_ipv4_address(),
        Some(ip)
    );
    // The cluster counts it.
    let c = s
        .ecs
        .describe_clusters()
        .clusters("c")
        .send()
        .await
        .unwrap();
    assert_eq!(c.clusters()[0].running_tasks_count(), 1);
    // And it cannot be deleted while the task is there.
    let err = s
        .ecs
        .delete_cluster()
        .cluster("c")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterContainsTasksException");
}

#[tokio::test]
async fn an_essential_container_exiting_stops_the_task() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    let arn = run(&s.ecs, "web").await;
    let t = wait_for(&s.ecs, &arn, |t| status(t) == "RUNNING").await;
    let sidecar = t
        .containers()
        .iter()
        .find(|c| c.name() == Some("sidecar"))
        .unwrap()
        .runtime_id()
        .unwrap()
        .to_string();
    // A non-essential container exiting leaves the task running.
    s.fake.exit(&sidecar, 0);
    let t = wait_for(&s.ecs, &arn, |t| {
        t.containers()
            .iter()
            .any(|c| c.name() == Some("sidecar") && c.last_status() == Some("STOPPED"))
    })
    .await;
    assert_eq!(status(&t), "RUNNING");
    let app = t
        .containers()
        .iter()
        .find(|c| c.name() == Some("app"))
        .unwrap()
        .runtime_id()
        .unwrap()
        .to_string();
    s.fake.exit(&app, 3);
    let t = wait_for(&s.ecs, &arn, |t| status(t) == "STOPPED").await;
    assert_eq!(
        t.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited")
    );
    assert_eq!(
        t.stopped_reason(),
        Some("Essential container in task exited")
    );
    let app = t
        .containers()
        .iter()
        .find(|c| c.name() == Some("app"))
        .unwrap();
    assert_eq!(app.exit_code(), Some(3));
    assert!(
        t.stopped_at().is_some() && t.execution_stopped_at().is_some() && t.stopping_at().is_some()
    );
    assert_eq!(t.desired_status(), Some("STOPPED"));
}

#[tokio::test]
async fn stop_task_stops_it_with_the_reason() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    let arn = run(&s.ecs, "web").await;
    wait_for(&s.ecs, &arn, |t| status(t) == "RUNNING").await;
    let stopped = s
        .ecs
        .stop_task()
        .cluster("c")
        .task(&arn)
        .reason("done testing")
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.task().unwrap().desired_status(), Some("STOPPED"));
    let t = wait_for(&s.ecs, &arn, |t| status(t) == "STOPPED").await;
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(t.stopped_reason(), Some("done testing"));
    let c = s
        .ecs
        .describe_clusters()
        .clusters("c")
        .send()
        .await
        .unwrap();
    assert_eq!(c.clusters()[0].running_tasks_count(), 0);
    let err = s
        .ecs
        .stop_task()
        .cluster("c")
        .task("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn a_missing_image_fails_the_task_as_aws_does() {
    let s = setup().await;
    register(&s.ecs, "ghost", "nowhere/none:1").await;
    let arn = run(&s.ecs, "ghost").await;
    let t = wait_for(&s.ecs, &arn, |t| status(t) == "STOPPED").await;
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    assert!(
        t.stopped_reason()
            .unwrap()
            .starts_with("CannotPullContainerError:"),
        "{:?}",
        t.stopped_reason()
    );
}

#[tokio::test]
async fn list_tasks_filters() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    register(&s.ecs, "api", "app:1").await;
    let web = run(&s.ecs, "web").await;
    let api = run(&s.ecs, "api").await;
    wait_for(&s.ecs, &web, |t| status(t) == "RUNNING").await;
    s.ecs
        .stop_task()
        .cluster("c")
        .task(&api)
        .send()
        .await
        .unwrap();
    wait_for(&s.ecs, &api, |t| status(t) == "STOPPED").await;

    let running = s.ecs.list_tasks().cluster("c").send().await.unwrap();
    assert_eq!(running.task_arns(), std::slice::from_ref(&web));
    let stopped = s
        .ecs
        .list_tasks()
        .cluster("c")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.task_arns(), std::slice::from_ref(&api));
    let by_family = s
        .ecs
        .list_tasks()
        .cluster("c")
        .family("api")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(by_family.task_arns().len(), 1);
    let by_starter = s
        .ecs
        .list_tasks()
        .cluster("c")
        .started_by("someone-else")
        .send()
        .await
        .unwrap();
    assert!(by_starter.task_arns().is_empty());
    let err = s.ecs.list_tasks().cluster("nope").send().await.unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let described = s
        .ecs
        .describe_tasks()
        .cluster("c")
        .tasks(&web)
        .tasks("ffffffffffffffffffffffffffffffff")
        .send()
        .await
        .unwrap();
    assert_eq!(described.tasks().len(), 1);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
}

#[tokio::test]
async fn run_task_checks_what_aws_checks() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    // awsvpc without a network configuration.
    let err = s
        .ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // EC2 on a cluster without container instances.
    s.ecs
        .register_task_definition()
        .family("bridge")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let err = s
        .ecs
        .run_task()
        .cluster("c")
        .task_definition("bridge")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(format!("{:?}", err).contains("No Container Instances were found in your cluster."));
    // An override for a container the definition does not have.
    let err = s
        .ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .overrides(
            TaskOverride::builder()
                .container_overrides(ContainerOverride::builder().name("ghost").build())
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // Unknown task definition, unknown cluster, bad count.
    let err = s
        .ecs
        .run_task()
        .cluster("c")
        .task_definition("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    let err = s
        .ecs
        .run_task()
        .cluster("nope")
        .task_definition("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let err = s
        .ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    // None of it created a task.
    let all = s.ecs.list_tasks().cluster("c").send().await.unwrap();
    assert!(all.task_arns().is_empty());
    let _ = &s.server;
}

#[tokio::test]
async fn reset_forgets_tasks_and_removes_their_containers() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    let arn = run(&s.ecs, "web").await;
    wait_for(&s.ecs, &arn, |t| status(t) == "RUNNING").await;
    assert!(!s.fake.container_ids().is_empty());
    let r = s.server.raw("POST", "/_ecsbox/reset", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(
        s.fake.container_ids().is_empty(),
        "{:?}",
        s.fake.container_ids()
    );
}

// ---- the network an awsvpc task names, looked up in EC2 ----

fn awsvpc_in(subnets: &[&str], groups: &[&str]) -> NetworkConfiguration {
    let mut c = AwsVpcConfiguration::builder();
    for s in subnets {
        c = c.subnets(*s);
    }
    for g in groups {
        c = c.security_groups(*g);
    }
    NetworkConfiguration::builder()
        .awsvpc_configuration(c.build().unwrap())
        .build()
}

async fn run_in(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    network: NetworkConfiguration,
) -> Result<aws_sdk_ecs::types::Task, String> {
    ecs.run_task()
        .cluster(cluster)
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .network_configuration(network)
        .send()
        .await
        .map(|out| out.tasks()[0].clone())
        .map_err(|e| format!("{}: {}", code(&e), common::message(&e)))
}

/// The first of the default subnets in `zone`, and its VPC.
async fn default_subnet(server: &TestServer, zone: &str) -> (String, String) {
    let r = server
        .ec2_raw(&format!("Action=DescribeSubnets&Filter.1.Name=availability-zone&Filter.1.Value.1={zone}&Filter.2.Name=default-for-az&Filter.2.Value.1=true"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        xml_elements(&r.body, "subnetId")[0].clone(),
        xml_elements(&r.body, "vpcId")[0].clone(),
    )
}

/// The ECS message that wraps an EC2 error, as public reports of RunTask
/// and CreateService failures quote it ("Error retrieving subnet information
/// for [...]: ..." in hashicorp/terraform#27915 and
/// eddmann/serverless-fargate#20; EC2's "(Service: AmazonEC2; Status Code:
/// 400; Error Code: InvalidGroupId.Malformed; Request ID: ...; Proxy: null)"
/// in aws/aws-cdk#20800): everything but the request id, which is new each
/// time.
fn assert_wrapped_ec2_error(got: &str, what: &str, ids: &str, ec2_message: &str, ec2_code: &str) {
    let prefix = format!(
        "InvalidParameterException: Error retrieving {what} information for [{ids}]: {ec2_message} (Service: AmazonEC2; Status Code: 400; Error Code: {ec2_code}; Request ID: "
    );
    assert!(
        got.starts_with(&prefix),
        "{got}\nwanted it to start with\n{prefix}"
    );
    let request_id = got[prefix.len()..]
        .strip_suffix("; Proxy: null)")
        .unwrap_or_else(|| panic!("{got}"));
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "{got}");
}

#[tokio::test]
async fn run_task_refuses_malformed_subnet_and_security_group_ids_in_ec2s_words() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    let err = run_in(&s.ecs, "c", awsvpc_in(&["subnet-xyz"], &[]))
        .await
        .unwrap_err();
    assert_wrapped_ec2_error(
        &err,
        "subnet",
        "subnet-xyz",
        "The subnet ID 'subnet-xyz' is malformed",
        "InvalidSubnetID.Malformed",
    );
    // The list is the request's; EC2 names the first malformed id.
    let err = run_in(
        &s.ecs,
        "c",
        awsvpc_in(&["subnet-0123abcd", "subnet-local"], &[]),
    )
    .await
    .unwrap_err();
    assert_wrapped_ec2_error(
        &err,
        "subnet",
        "subnet-0123abcd, subnet-local",
        "The subnet ID 'subnet-local' is malformed",
        "InvalidSubnetID.Malformed",
    );
    let err = run_in(&s.ecs, "c", awsvpc_in(&["subnet-0123abcd"], &["sg-xyz"]))
        .await
        .unwrap_err();
    assert_wrapped_ec2_error(
        &err,
        "security group",
        "sg-xyz",
        "Invalid id: \"sg-xyz\" (expecting \"sg-...\")",
        "InvalidGroupId.Malformed",
    );
    // A missing cluster is reported first, as ECS checks it first.
    let err = run_in(&s.ecs, "nope", awsvpc_in(&["subnet-xyz"], &[]))
        .await
        .unwrap_err();
    assert!(err.starts_with("ClusterNotFoundException"), "{err}");
    // Nothing was launched.
    assert!(s
        .ecs
        .list_tasks()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .task_arns()
        .is_empty());
}

#[tokio::test]
async fn a_task_in_a_known_subnet_gets_its_zone_and_its_eni_the_subnets_vpc_and_default_group() {
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    let (subnet, vpc) = default_subnet(&s.server, "us-east-1b").await;
    let task = run_in(&s.ecs, "c", awsvpc_in(&[&subnet], &[]))
        .await
        .unwrap();
    assert_eq!(task.availability_zone(), Some("us-east-1b"));
    let arn = task.task_arn().unwrap().to_string();
    let t = wait_for(&s.ecs, &arn, |t| status(t) == "RUNNING").await;
    let eni = &t.attachments()[0];
    let detail = |k: &str| {
        eni.details()
            .iter()
            .find(|d| d.name() == Some(k))
            .and_then(|d| d.value())
            .unwrap()
            .to_string()
    };
    assert_eq!(detail("subnetId"), subnet);

    let r = s
        .server
        .ec2_raw(&format!(
            "Action=DescribeNetworkInterfaces&NetworkInterfaceId.1={}",
            detail("networkInterfaceId")
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(xml_elements(&r.body, "vpcId"), vec![vpc.clone()]);
    assert_eq!(
        xml_elements(&r.body, "availabilityZone"),
        vec!["us-east-1b".to_string()]
    );
    // No groups given: the VPC's default group, as AWS does.
    let groups = s.server.ec2_raw(&format!("Action=DescribeSecurityGroups&Filter.1.Name=vpc-id&Filter.1.Value.1={vpc}&Filter.2.Name=group-name&Filter.2.Value.1=default")).await;
    let default_group = xml_elements(&groups.body, "groupId")[0].clone();
    assert_eq!(xml_elements(&r.body, "groupId"), vec![default_group]);
    assert_eq!(
        xml_elements(&r.body, "groupName"),
        vec!["default".to_string()]
    );
}

#[tokio::test]
async fn a_well_formed_id_ecsbox_does_not_know_is_accepted_and_its_groups_reported() {
    // Scripts written for AWS carry the user's real ids: they run here too.
    let s = setup().await;
    register(&s.ecs, "web", "app:1").await;
    let task = run_in(
        &s.ecs,
        "c",
        awsvpc_in(
            &["subnet-0123456789abcdef0"],
            &["sg-0123abcd", "sg-0123456789abcdef0"],
        ),
    )
    .await
    .unwrap();
    assert_eq!(task.availability_zone(), Some("us-east-1a"));
    let arn = task.task_arn().unwrap().to_string();
    wait_for(&s.ecs, &arn, |t| status(t) == "RUNNING").await;
    let r = s.server.ec2_raw("Action=DescribeNetworkInterfaces&Filter.1.Name=subnet-id&Filter.1.Value.1=subnet-0123456789abcdef0").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        xml_elements(&r.body, "groupId"),
        vec![
            "sg-0123abcd".to_string(),
            "sg-0123456789abcdef0".to_string()
        ]
    );
    // Shown in the default VPC, in the task's zone.
    let (_, default_vpc) = default_subnet(&s.server, "us-east-1a").await;
    assert_eq!(xml_elements(&r.body, "vpcId"), vec![default_vpc]);
    assert_eq!(
        xml_elements(&r.body, "availabilityZone"),
        vec!["us-east-1a".to_string()]
    );
}

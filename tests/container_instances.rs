//! Container instances through the real aws-sdk-ecs client, on the fake
//! runtime: registration as the agent does it, describe/list/deregister,
//! draining, custom attributes, the virtual instances a cluster can be
//! given, and EC2 tasks placed on them (resources taken and given back),
//! StartTask included.
mod common;

use aws_sdk_ecs::types::{
    Attribute, ContainerDefinition, ContainerInstanceField, ContainerInstanceStatus, Resource, Tag,
    TargetType, VersionInfo,
};
use common::{code, TestServer};
use ecsbox::config::Config;
use ecsbox::runtime::fake::FakeRuntime;
use std::sync::Arc;
use std::time::Duration;

type Ecs = aws_sdk_ecs::Client;

async fn server(container_instances: u32) -> (TestServer, Ecs) {
    let fake = Arc::new(FakeRuntime::new());
    fake.add_image("app:1");
    let mut config = Config::for_tests();
    config.container_instances = container_instances;
    let server = TestServer::start_on(config, fake).await;
    let ecs = server.client();
    (server, ecs)
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// A cluster with `n` virtual instances of `instance_type`.
async fn virtual_cluster(ecs: &Ecs, name: &str, n: u32, instance_type: &str) {
    ecs.create_cluster()
        .cluster_name(name)
        .tags(tag("ecsbox:container-instances", &n.to_string()))
        .tags(tag("ecsbox:instance-type", instance_type))
        .send()
        .await
        .unwrap();
}

fn integer(name: &str, v: i32) -> Resource {
    Resource::builder()
        .name(name)
        .r#type("INTEGER")
        .integer_value(v)
        .build()
}

fn ports(name: &str, ports: &[&str]) -> Resource {
    let mut b = Resource::builder().name(name).r#type("STRINGSET");
    for p in ports {
        b = b.string_set_value(*p);
    }
    b.build()
}

/// Registers an instance as the ECS agent does.
async fn register_agent(
    ecs: &Ecs,
    cluster: &str,
    ec2_id: &str,
    az: &str,
) -> aws_sdk_ecs::types::ContainerInstance {
    let document = format!(
        r#"{{"instanceId":"{ec2_id}","instanceType":"t3.small","availabilityZone":"{az}","region":"us-east-1"}}"#
    );
    ecs.register_container_instance()
        .cluster(cluster)
        .instance_identity_document(document)
        .total_resources(integer("CPU", 2048))
        .total_resources(integer("MEMORY", 1900))
        .total_resources(ports("PORTS", &["22", "2376", "2375", "51678", "51679"]))
        .total_resources(ports("PORTS_UDP", &[]))
        .version_info(
            VersionInfo::builder()
                .agent_version("1.82.1")
                .agent_hash("abc")
                .docker_version("DockerVersion: 20.10.25")
                .build(),
        )
        .attributes(
            Attribute::builder()
                .name("stack")
                .value("prod")
                .build()
                .unwrap(),
        )
        .tags(tag("team", "infra"))
        .send()
        .await
        .unwrap()
        .container_instance
        .unwrap()
}

fn resource(list: &[Resource], name: &str) -> Resource {
    list.iter()
        .find(|r| r.name() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {list:?}"))
        .clone()
}

fn attribute<'a>(
    i: &'a aws_sdk_ecs::types::ContainerInstance,
    name: &str,
) -> Option<&'a Attribute> {
    i.attributes().iter().find(|a| a.name() == name)
}

fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

async fn describe_one(
    ecs: &Ecs,
    cluster: &str,
    instance: &str,
) -> aws_sdk_ecs::types::ContainerInstance {
    ecs.describe_container_instances()
        .cluster(cluster)
        .container_instances(instance)
        .send()
        .await
        .unwrap()
        .container_instances()[0]
        .clone()
}

async fn register_bridge(ecs: &Ecs, family: &str, memory: i32, host_port: Option<i32>) {
    let mut c = ContainerDefinition::builder()
        .name("app")
        .image("app:1")
        .memory(memory)
        .cpu(128);
    if let Some(port) = host_port {
        c = c.port_mappings(
            aws_sdk_ecs::types::PortMapping::builder()
                .container_port(80)
                .host_port(port)
                .build(),
        );
    }
    ecs.register_task_definition()
        .family(family)
        .container_definitions(c.build())
        .send()
        .await
        .unwrap();
}

async fn wait_status(
    ecs: &Ecs,
    cluster: &str,
    arn: &str,
    status: &str,
) -> aws_sdk_ecs::types::Task {
    for _ in 0..300 {
        let t = ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(arn)
            .send()
            .await
            .unwrap()
            .tasks()[0]
            .clone();
        if t.last_status() == Some(status) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {arn} never reached {status}");
}

#[tokio::test]
async fn an_agent_registers_and_the_instance_is_described_as_aws_does() {
    let (_s, ecs) = server(0).await;
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let i = register_agent(&ecs, "c", "i-0123456789abcdef0", "us-east-1b").await;
    let arn = i.container_instance_arn().unwrap().to_string();
    assert!(
        arn.starts_with("arn:aws:ecs:us-east-1:000000000000:container-instance/c/"),
        "{arn}"
    );
    assert_eq!(i.ec2_instance_id(), Some("i-0123456789abcdef0"));
    assert_eq!(i.status(), Some("ACTIVE"));
    assert!(i.agent_connected());
    assert_eq!((i.running_tasks_count(), i.pending_tasks_count()), (0, 0));
    assert_eq!(
        resource(i.registered_resources(), "CPU").integer_value(),
        2048
    );
    assert_eq!(
        resource(i.remaining_resources(), "MEMORY").integer_value(),
        1900
    );
    assert_eq!(
        resource(i.registered_resources(), "PORTS")
            .string_set_value()
            .len(),
        5
    );
    assert_eq!(i.version_info().unwrap().agent_version(), Some("1.82.1"));
    // The agent's standard attributes, what ECS adds, and the agent's own.
    assert_eq!(
        attribute(&i, "ecs.os-type").and_then(|a| a.value()),
        Some("linux")
    );
    assert_eq!(
        attribute(&i, "ecs.instance-type").and_then(|a| a.value()),
        Some("t3.small")
    );
    assert_eq!(
        attribute(&i, "ecs.availability-zone").and_then(|a| a.value()),
        Some("us-east-1b")
    );
    assert!(attribute(&i, "com.amazonaws.ecs.capability.docker-remote-api.1.44").is_some());
    assert_eq!(attribute(&i, "stack").and_then(|a| a.value()), Some("prod"));
    assert_eq!(i.tags()[0].key(), Some("team"));

    // The agent registering again after a restart gets its instance back.
    let again = register_agent(&ecs, "c", "i-0123456789abcdef0", "us-east-1b").await;
    assert_eq!(again.container_instance_arn(), Some(arn.as_str()));
    // Without an identity document ECS still gives it an EC2 instance id.
    let bare = ecs
        .register_container_instance()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .container_instance
        .unwrap();
    let ec2 = bare.ec2_instance_id().unwrap();
    assert!(
        ec2.starts_with("i-") && ec2.len() == 19 && ec2[2..].chars().all(|c| c.is_ascii_hexdigit()),
        "{ec2}"
    );

    // Describe: by ID or ARN, TAGS and health when asked, unknown ones MISSING.
    let d = ecs
        .describe_container_instances()
        .cluster("c")
        .container_instances(id_of(&arn))
        .container_instances("ffffffffffffffffffffffffffffffff")
        .include(ContainerInstanceField::Tags)
        .include(ContainerInstanceField::ContainerInstanceHealth)
        .send()
        .await
        .unwrap();
    assert_eq!(d.container_instances().len(), 1);
    assert_eq!(d.container_instances()[0].tags().len(), 1);
    assert_eq!(
        d.container_instances()[0]
            .health_status()
            .unwrap()
            .overall_status()
            .map(|s| s.as_str()),
        Some("OK")
    );
    assert_eq!(d.failures()[0].reason(), Some("MISSING"));
    assert!(d.failures()[0]
        .arn()
        .unwrap()
        .ends_with("container-instance/c/ffffffffffffffffffffffffffffffff"));
    let plain = describe_one(&ecs, "c", &arn).await;
    assert!(plain.tags().is_empty(), "tags only when asked for");

    // The cluster counts its instances, and cannot be deleted with them.
    let cluster = ecs.describe_clusters().clusters("c").send().await.unwrap();
    assert_eq!(
        cluster.clusters()[0].registered_container_instances_count(),
        2
    );
    let err = ecs.delete_cluster().cluster("c").send().await.unwrap_err();
    assert_eq!(code(&err), "ClusterContainsContainerInstancesException");

    let err = ecs
        .register_container_instance()
        .cluster("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}

#[tokio::test]
async fn list_filters_pages_and_deregister() {
    let (_s, ecs) = server(0).await;
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let a = register_agent(&ecs, "c", "i-0000000000000000a", "us-east-1a")
        .await
        .container_instance_arn
        .unwrap();
    let b = register_agent(&ecs, "c", "i-0000000000000000b", "us-east-1b")
        .await
        .container_instance_arn
        .unwrap();

    let all = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap();
    assert_eq!(all.container_instance_arns().len(), 2);
    let by_id = ecs
        .list_container_instances()
        .cluster("c")
        .filter("ec2InstanceId == i-0000000000000000b")
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.container_instance_arns(), std::slice::from_ref(&b));
    let by_zone = ecs
        .list_container_instances()
        .cluster("c")
        .filter("attribute:ecs.availability-zone in [us-east-1a, us-east-1c] and attribute:ecs.instance-type =~ t3.*")
        .send()
        .await
        .unwrap();
    assert_eq!(by_zone.container_instance_arns(), std::slice::from_ref(&a));
    let err = ecs
        .list_container_instances()
        .cluster("c")
        .filter("attribute:ecs.instance-type = t3.small")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let first = ecs
        .list_container_instances()
        .cluster("c")
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.container_instance_arns().len(), 1);
    let second = ecs
        .list_container_instances()
        .cluster("c")
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.container_instance_arns().len(), 1);
    assert_ne!(
        first.container_instance_arns(),
        second.container_instance_arns()
    );
    assert!(second.next_token().is_none());

    let gone = ecs
        .deregister_container_instance()
        .cluster("c")
        .container_instance(id_of(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(
        gone.container_instance().unwrap().status(),
        Some("INACTIVE")
    );
    let left = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap();
    assert_eq!(left.container_instance_arns(), std::slice::from_ref(&b));
    // Still describable, as in AWS.
    assert_eq!(describe_one(&ecs, "c", &a).await.status(), Some("INACTIVE"));
    let err = ecs
        .deregister_container_instance()
        .cluster("c")
        .container_instance(&a)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let c = ecs.describe_clusters().clusters("c").send().await.unwrap();
    assert_eq!(c.clusters()[0].registered_container_instances_count(), 1);
}

#[tokio::test]
async fn draining_changes_status_and_keeps_standalone_tasks() {
    let (_s, ecs) = server(0).await;
    virtual_cluster(&ecs, "c", 2, "m5.large").await;
    let arns = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .container_instance_arns()
        .to_vec();
    register_bridge(&ecs, "web", 128, None).await;
    let task = ecs
        .start_task()
        .cluster("c")
        .task_definition("web")
        .container_instances(&arns[0])
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    let task_arn = task.task_arn().unwrap().to_string();
    wait_status(&ecs, "c", &task_arn, "RUNNING").await;

    let out = ecs
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&arns[0])
        .container_instances("ffffffffffffffffffffffffffffffff")
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    assert_eq!(out.container_instances()[0].status(), Some("DRAINING"));
    assert_eq!(out.failures()[0].reason(), Some("MISSING"));
    let draining = ecs
        .list_container_instances()
        .cluster("c")
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    assert_eq!(
        draining.container_instance_arns(),
        std::slice::from_ref(&arns[0])
    );
    // "Any PENDING or RUNNING tasks that do not belong to a service aren't
    // affected" (UpdateContainerInstancesState, API reference).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = ecs
        .describe_tasks()
        .cluster("c")
        .tasks(&task_arn)
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    assert_eq!(
        (t.last_status(), t.desired_status()),
        (Some("RUNNING"), Some("RUNNING"))
    );
    // New tasks are not placed on a DRAINING instance.
    let run = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .count(3)
        .send()
        .await
        .unwrap();
    assert!(run
        .tasks()
        .iter()
        .all(|t| t.container_instance_arn() == Some(arns[1].as_str())));

    // Only ACTIVE and DRAINING can be set; at most 10 instances.
    let err = ecs
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&arns[0])
        .status(ContainerInstanceStatus::Registering)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let mut eleven = ecs
        .update_container_instances_state()
        .cluster("c")
        .status(ContainerInstanceStatus::Active);
    for _ in 0..11 {
        eleven = eleven.container_instances(&arns[0]);
    }
    assert_eq!(
        code(&eleven.send().await.unwrap_err()),
        "InvalidParameterException"
    );
    let back = ecs
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&arns[0])
        .status(ContainerInstanceStatus::Active)
        .send()
        .await
        .unwrap();
    assert_eq!(back.container_instances()[0].status(), Some("ACTIVE"));

    // Deregistering refuses while tasks are on the instance, unless forced.
    let err = ecs
        .deregister_container_instance()
        .cluster("c")
        .container_instance(&arns[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(format!("{err:?}").contains("Found running tasks on the instance."));
    let forced = ecs
        .deregister_container_instance()
        .cluster("c")
        .container_instance(&arns[0])
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forced.container_instance().unwrap().status(),
        Some("INACTIVE")
    );
}

#[tokio::test]
async fn custom_attributes_show_on_the_instance_and_go_with_it() {
    let (_s, ecs) = server(0).await;
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let arn = register_agent(&ecs, "c", "i-0123456789abcdef0", "us-east-1a")
        .await
        .container_instance_arn
        .unwrap();
    let id = id_of(&arn).to_string();
    ecs.put_attributes()
        .cluster("c")
        .attributes(
            Attribute::builder()
                .name("gpu")
                .value("none")
                .target_type(TargetType::ContainerInstance)
                .target_id(&id)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let i = describe_one(&ecs, "c", &arn).await;
    assert_eq!(attribute(&i, "gpu").and_then(|a| a.value()), Some("none"));
    let listed = ecs
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .attribute_name("gpu")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.attributes().len(), 1);
    let filtered = ecs
        .list_container_instances()
        .cluster("c")
        .filter("attribute:gpu == none")
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.container_instance_arns().len(), 1);

    ecs.deregister_container_instance()
        .cluster("c")
        .container_instance(&arn)
        .send()
        .await
        .unwrap();
    let listed = ecs
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .send()
        .await
        .unwrap();
    assert!(
        listed.attributes().is_empty(),
        "attributes go with the instance"
    );
    let err = ecs
        .put_attributes()
        .cluster("c")
        .attributes(
            Attribute::builder()
                .name("gpu")
                .target_type(TargetType::ContainerInstance)
                .target_id(&id)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TargetNotFoundException");
}

#[tokio::test]
async fn a_cluster_tag_gives_it_virtual_instances() {
    let (_s, ecs) = server(0).await;
    virtual_cluster(&ecs, "v", 3, "t3.medium").await;
    let arns = ecs
        .list_container_instances()
        .cluster("v")
        .send()
        .await
        .unwrap()
        .container_instance_arns()
        .to_vec();
    assert_eq!(arns.len(), 3);
    let d = ecs
        .describe_container_instances()
        .cluster("v")
        .set_container_instances(Some(arns.clone()))
        .send()
        .await
        .unwrap();
    let mut zones: Vec<String> = d
        .container_instances()
        .iter()
        .map(|i| {
            attribute(i, "ecs.availability-zone")
                .and_then(|a| a.value())
                .unwrap()
                .to_string()
        })
        .collect();
    zones.sort();
    assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    for i in d.container_instances() {
        assert_eq!(
            attribute(i, "ecs.instance-type").and_then(|a| a.value()),
            Some("t3.medium")
        );
        assert_eq!(
            resource(i.registered_resources(), "CPU").integer_value(),
            2048
        );
        assert_eq!(
            resource(i.registered_resources(), "MEMORY").integer_value(),
            3840
        );
        let mut reserved = resource(i.registered_resources(), "PORTS")
            .string_set_value()
            .to_vec();
        reserved.sort();
        assert_eq!(reserved, ["22", "2375", "2376", "51678", "51679"]);
        assert!(i.ec2_instance_id().unwrap().starts_with("i-"));
    }
    // Virtual instances go with their cluster.
    ecs.delete_cluster().cluster("v").send().await.unwrap();

    // A tag that is not a count, or names an unknown type, creates nothing.
    let err = ecs
        .create_cluster()
        .cluster_name("bad")
        .tags(tag("ecsbox:container-instances", "lots"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .create_cluster()
        .cluster_name("bad")
        .tags(tag("ecsbox:container-instances", "1"))
        .tags(tag("ecsbox:instance-type", "x9.huge"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(ecs
        .list_clusters()
        .send()
        .await
        .unwrap()
        .cluster_arns()
        .is_empty());
}

#[tokio::test]
async fn the_option_gives_every_new_cluster_virtual_instances() {
    let (_s, ecs) = server(2).await;
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    let c = ecs.describe_clusters().clusters("c").send().await.unwrap();
    assert_eq!(c.clusters()[0].registered_container_instances_count(), 2);
    let i = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .container_instance_arns()[0]
        .clone();
    let i = describe_one(&ecs, "c", &i).await;
    assert_eq!(
        attribute(&i, "ecs.instance-type").and_then(|a| a.value()),
        Some("m5.large")
    );
    assert_eq!(
        resource(i.registered_resources(), "MEMORY").integer_value(),
        7680
    );
    // The tag says otherwise for its cluster: none, and then AWS's answer.
    ecs.create_cluster()
        .cluster_name("empty")
        .tags(tag("ecsbox:container-instances", "0"))
        .send()
        .await
        .unwrap();
    register_bridge(&ecs, "web", 64, None).await;
    let err = ecs
        .run_task()
        .cluster("empty")
        .task_definition("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(format!("{err:?}").contains("No Container Instances were found in your cluster."));
    let ok = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.tasks().len(), 1);
}

#[tokio::test]
async fn ec2_tasks_take_resources_until_they_stop() {
    let (_s, ecs) = server(0).await;
    // One t2.micro: 1024 CPU units, 960 MiB.
    virtual_cluster(&ecs, "c", 1, "t2.micro").await;
    let instance = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .container_instance_arns()[0]
        .clone();
    register_bridge(&ecs, "web", 400, Some(8080)).await;
    register_bridge(&ecs, "worker", 400, None).await;

    let out = ecs
        .run_task()
        .cluster("c")
        .task_definition("worker")
        .count(3)
        .send()
        .await
        .unwrap();
    assert_eq!(out.tasks().len(), 2);
    assert_eq!(out.failures().len(), 1);
    assert_eq!(out.failures()[0].reason(), Some("RESOURCE:MEMORY"));
    assert_eq!(out.failures()[0].arn(), Some(instance.as_str()));
    let t = &out.tasks()[0];
    assert_eq!(t.container_instance_arn(), Some(instance.as_str()));
    assert_eq!(t.availability_zone(), Some("us-east-1a"));
    assert_eq!(t.launch_type().map(|l| l.as_str()), Some("EC2"));
    let first = t.task_arn().unwrap().to_string();
    let running = wait_status(&ecs, "c", &first, "RUNNING").await;
    assert_eq!(running.container_instance_arn(), Some(instance.as_str()));

    let i = describe_one(&ecs, "c", &instance).await;
    assert_eq!(
        resource(i.remaining_resources(), "MEMORY").integer_value(),
        960 - 800
    );
    assert_eq!(
        resource(i.remaining_resources(), "CPU").integer_value(),
        1024 - 256
    );
    assert_eq!(i.running_tasks_count() + i.pending_tasks_count(), 2);
    let listed = ecs
        .list_tasks()
        .cluster("c")
        .container_instance(id_of(&instance))
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.task_arns().len(),
        2,
        "the containerInstance filter takes an ID too"
    );

    // Full: another task fails the same way, and nothing is created.
    let full = ecs
        .run_task()
        .cluster("c")
        .task_definition("worker")
        .send()
        .await
        .unwrap();
    assert!(full.tasks().is_empty());
    assert_eq!(full.failures()[0].reason(), Some("RESOURCE:MEMORY"));
    assert_eq!(
        ecs.list_tasks()
            .cluster("c")
            .send()
            .await
            .unwrap()
            .task_arns()
            .len(),
        2
    );

    // A stopped task gives its share back.
    ecs.stop_task()
        .cluster("c")
        .task(&first)
        .send()
        .await
        .unwrap();
    wait_status(&ecs, "c", &first, "STOPPED").await;
    let i = describe_one(&ecs, "c", &instance).await;
    assert_eq!(
        resource(i.remaining_resources(), "MEMORY").integer_value(),
        960 - 400
    );
    // The static host port is taken by the task that uses it.
    let web = ecs
        .run_task()
        .cluster("c")
        .task_definition("web")
        .send()
        .await
        .unwrap();
    assert_eq!(web.tasks().len(), 1, "{:?}", web.failures());
    let i = describe_one(&ecs, "c", &instance).await;
    assert!(resource(i.remaining_resources(), "PORTS")
        .string_set_value()
        .contains(&"8080".to_string()));
    assert_eq!(
        resource(i.remaining_resources(), "MEMORY").integer_value(),
        160
    );

    let err = ecs.delete_cluster().cluster("c").send().await.unwrap_err();
    assert_eq!(code(&err), "ClusterContainsTasksException");
}

#[tokio::test]
async fn start_task_runs_on_the_named_instances() {
    let (_s, ecs) = server(0).await;
    virtual_cluster(&ecs, "c", 2, "t2.micro").await;
    let arns = ecs
        .list_container_instances()
        .cluster("c")
        .send()
        .await
        .unwrap()
        .container_instance_arns()
        .to_vec();
    register_bridge(&ecs, "web", 600, None).await;
    let out = ecs
        .start_task()
        .cluster("c")
        .task_definition("web")
        .container_instances(id_of(&arns[0]))
        .container_instances(&arns[1])
        .container_instances("ffffffffffffffffffffffffffffffff")
        .started_by("me")
        .send()
        .await
        .unwrap();
    assert_eq!(out.tasks().len(), 2);
    let on: Vec<_> = out
        .tasks()
        .iter()
        .map(|t| t.container_instance_arn().unwrap().to_string())
        .collect();
    assert_eq!(on, arns);
    assert_eq!(out.tasks()[0].started_by(), Some("me"));
    assert_eq!(out.failures().len(), 1);
    assert_eq!(out.failures()[0].reason(), Some("MISSING"));
    wait_status(&ecs, "c", out.tasks()[0].task_arn().unwrap(), "RUNNING").await;
    // The same instance twice: the second task does not fit beside the first.
    let out = ecs
        .start_task()
        .cluster("c")
        .task_definition("web")
        .container_instances(&arns[0])
        .send()
        .await
        .unwrap();
    assert!(out.tasks().is_empty());
    assert_eq!(out.failures()[0].reason(), Some("RESOURCE:MEMORY"));
    assert_eq!(out.failures()[0].arn(), Some(arns[0].as_str()));

    let mut eleven = ecs.start_task().cluster("c").task_definition("web");
    for _ in 0..11 {
        eleven = eleven.container_instances(&arns[0]);
    }
    assert_eq!(
        code(&eleven.send().await.unwrap_err()),
        "InvalidParameterException"
    );
    let err = ecs
        .start_task()
        .cluster("nope")
        .task_definition("web")
        .container_instances(&arns[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}

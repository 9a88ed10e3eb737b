//! Task definitions through the real aws-sdk-ecs client: Register, Describe,
//! List, ListTaskDefinitionFamilies, Deregister, Delete, and the checks
//! RegisterTaskDefinition makes.
mod common;

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{
    Compatibility, ContainerCondition, ContainerDefinition, ContainerDependency, IpcMode,
    LogConfiguration, LogDriver, MountPoint, NetworkMode, PortMapping, SortOrder, Tag,
    TaskDefinitionFamilyStatus, TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
    Volume, VolumeFrom,
};
use aws_sdk_ecs::Client;
use common::{code, TestServer};
use serde_json::Value;

const ACCOUNT_ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/";

fn container(name: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder().name(name).image("busybox")
}

/// A container that satisfies every launch type's checks on its own.
fn plain(name: &str) -> ContainerDefinition {
    container(name).memory(128).build()
}

fn port(container_port: i32, host_port: Option<i32>) -> PortMapping {
    PortMapping::builder()
        .container_port(container_port)
        .set_host_port(host_port)
        .build()
}

fn fargate(ecs: &Client, family: &str) -> RegisterTaskDefinitionFluentBuilder {
    ecs.register_task_definition()
        .family(family)
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
}

fn message<E: aws_sdk_ecs::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_ecs::error::SdkError<E, R>,
) -> String {
    err.as_service_error()
        .and_then(|e| e.message())
        .unwrap_or("")
        .to_string()
}

async fn register_plain(ecs: &Client, family: &str) -> aws_sdk_ecs::types::TaskDefinition {
    let answer = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(plain("app"))
        .send()
        .await
        .unwrap();
    answer.task_definition.unwrap()
}

async fn active_arns(ecs: &Client) -> Vec<String> {
    ecs.list_task_definitions()
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .to_vec()
}

#[tokio::test]
async fn register_fills_what_ecs_fills_and_describe_finds_it_three_ways() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let registered = ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            container("app")
                .memory(256)
                .port_mappings(port(80, None))
                .build(),
        )
        .tags(Tag::builder().key("team").value("a").build())
        .send()
        .await
        .unwrap();
    assert_eq!(registered.tags()[0].key(), Some("team"));
    let td = registered.task_definition.unwrap();
    assert_eq!(
        td.task_definition_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:task-definition/web:1")
    );
    assert_eq!(td.revision(), 1);
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Active));
    assert_eq!(td.registered_by(), Some("arn:aws:iam::000000000000:root"));
    assert!(td.registered_at().is_some());
    // A bridge task runs on EC2 and ECS Anywhere; Fargate needs awsvpc.
    assert_eq!(
        td.compatibilities(),
        &[Compatibility::External, Compatibility::Ec2]
    );
    assert_eq!(
        td.network_mode(),
        None,
        "ECS does not invent a network mode that was not given"
    );
    // ECS's defaults for a container (as describe-task-definition shows them).
    let c = &td.container_definitions()[0];
    assert_eq!((c.cpu(), c.essential()), (0, Some(true)));
    assert!(
        c.environment.is_some()
            && c.mount_points.is_some()
            && c.volumes_from.is_some()
            && c.system_controls.is_some()
    );
    // Bridge mode: an omitted host port is 0, a dynamic port; the protocol is tcp.
    let pm = &c.port_mappings()[0];
    assert_eq!(
        (pm.host_port(), pm.protocol()),
        (Some(0), Some(&TransportProtocol::Tcp))
    );

    for reference in [
        "web",
        "web:1",
        "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
    ] {
        let found = ecs
            .describe_task_definition()
            .task_definition(reference)
            .send()
            .await
            .unwrap();
        assert_eq!(
            found.task_definition.unwrap(),
            td,
            "described by {reference}"
        );
        assert!(found.tags.is_none(), "tags only when asked for");
    }
    let with_tags = ecs
        .describe_task_definition()
        .task_definition("web")
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(with_tags.tags()[0].value(), Some("a"));
}

#[tokio::test]
async fn describe_of_what_does_not_exist_is_a_client_exception() {
    let server = TestServer::start().await;
    let ecs = server.client();
    register_plain(&ecs, "web").await;
    for reference in [
        "nope",
        "web:2",
        "arn:aws:ecs:eu-west-1:000000000000:task-definition/web:1",
    ] {
        let err = ecs
            .describe_task_definition()
            .task_definition(reference)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ClientException", "{reference}");
        assert_eq!(message(&err), "Unable to describe task definition.");
    }
    // Another region of the same account holds nothing.
    let elsewhere = server.client_as("AKIDTEST", "secret", "eu-west-1");
    let err = elsewhere
        .describe_task_definition()
        .task_definition("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
}

#[tokio::test]
async fn fargate_definitions_normalize_cpu_and_memory_and_complete_ports() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let td = fargate(&ecs, "api")
        .cpu("1 vCPU")
        .memory("2 GB")
        .container_definitions(
            container("app")
                .port_mappings(port(8080, None))
                .mount_points(
                    MountPoint::builder()
                        .source_volume("scratch")
                        .container_path("/scratch")
                        .build(),
                )
                .build(),
        )
        .volumes(Volume::builder().name("scratch").build())
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    // The ECS guide: "1 vCPU" and "2 GB" are stored as CPU units and MiB.
    assert_eq!((td.cpu(), td.memory()), (Some("1024"), Some("2048")));
    assert_eq!(
        td.compatibilities(),
        &[Compatibility::Ec2, Compatibility::Fargate]
    );
    assert_eq!(td.requires_compatibilities(), &[Compatibility::Fargate]);
    // In awsvpc mode the host port is the container port.
    assert_eq!(
        td.container_definitions()[0].port_mappings()[0].host_port(),
        Some(8080)
    );
    // A volume with no configuration is a task-scoped bind mount, shown as `"host": {}`.
    assert!(td.volumes()[0].host().is_some());
    let attributes: Vec<_> = td.requires_attributes().iter().map(|a| a.name()).collect();
    assert!(
        attributes.contains(&"ecs.capability.task-eni"),
        "{attributes:?}"
    );
}

#[tokio::test]
async fn revisions_count_per_family_and_never_repeat() {
    let server = TestServer::start().await;
    let ecs = server.client();
    assert_eq!(register_plain(&ecs, "a").await.revision(), 1);
    assert_eq!(register_plain(&ecs, "a").await.revision(), 2);
    assert_eq!(register_plain(&ecs, "b").await.revision(), 1);
    ecs.deregister_task_definition()
        .task_definition("a:2")
        .send()
        .await
        .unwrap();
    ecs.delete_task_definitions()
        .task_definitions("a:2")
        .send()
        .await
        .unwrap();
    // Revision 2 is gone, but its number is not given again.
    assert_eq!(register_plain(&ecs, "a").await.revision(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_registrations_get_revisions_1_to_50_once_each() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let ecs = ecs.clone();
            tokio::spawn(async move { register_plain(&ecs, "busy").await.revision() })
        })
        .collect();
    let mut revisions = Vec::new();
    for call in calls {
        revisions.push(call.await.unwrap());
    }
    revisions.sort();
    assert_eq!(revisions, (1..=50).collect::<Vec<_>>());
    assert_eq!(active_arns(&ecs).await.len(), 50);
}

// ---- every member round-trips ----

/// The member names a serde-derived shape declares (its JSON names), read
/// from its `Deserialize` impl: the model's list, without repeating it here.
mod serde_fields {
    use serde::de::{DeserializeOwned, Visitor};

    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }

    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            *self.0 = fields;
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    pub fn of<T: DeserializeOwned>() -> &'static [&'static str] {
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(Probe(&mut fields));
        assert!(!fields.is_empty(), "not a struct");
        fields
    }
}

/// Every member of shape `T` is set in at least one of `objects`.
fn assert_covers<T: serde::de::DeserializeOwned>(objects: &[&Value], what: &str) {
    for field in serde_fields::of::<T>() {
        assert!(
            objects.iter().any(|o| o.get(field).is_some()),
            "the fixture sets no {what}.{field}"
        );
    }
}

/// Everything in `expected` is in `actual`, equal; `actual` may hold more
/// (the defaults ECS adds).
fn assert_contains(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let got = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} did not come back"));
                assert_contains(v, got, &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{path} has another length");
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                assert_contains(ev, av, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(expected, actual, "{path} changed"),
    }
}

fn items<'a>(objects: &[&'a Value], member: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter_map(|o| o.get(member))
        .flat_map(|v| {
            v.as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_else(|| vec![v])
        })
        .collect()
}

#[test]
fn the_every_field_fixture_sets_every_member() {
    use ecsbox::model::shapes as m;
    let fixture: Value = serde_json::from_str(include_str!(
        "../fixtures/task-definitions/every-field.json"
    ))
    .unwrap();
    let top = [&fixture];
    assert_covers::<m::RegisterTaskDefinitionRequest>(&top, "request");
    let containers = items(&top, "containerDefinitions");
    assert_covers::<m::ContainerDefinition>(&containers, "containerDefinitions[]");
    let volumes = items(&top, "volumes");
    assert_covers::<m::Volume>(&volumes, "volumes[]");
    assert_covers::<m::PortMapping>(&items(&containers, "portMappings"), "portMappings[]");
    assert_covers::<m::LinuxParameters>(&items(&containers, "linuxParameters"), "linuxParameters");
    assert_covers::<m::HealthCheck>(&items(&containers, "healthCheck"), "healthCheck");
    assert_covers::<m::LogConfiguration>(
        &items(&containers, "logConfiguration"),
        "logConfiguration",
    );
    assert_covers::<m::ContainerRestartPolicy>(
        &items(&containers, "restartPolicy"),
        "restartPolicy",
    );
    assert_covers::<m::ResourceRequirement>(
        &items(&containers, "resourceRequirements"),
        "resourceRequirements[]",
    );
    assert_covers::<m::MountPoint>(&items(&containers, "mountPoints"), "mountPoints[]");
    assert_covers::<m::DockerVolumeConfiguration>(
        &items(&volumes, "dockerVolumeConfiguration"),
        "dockerVolumeConfiguration",
    );
    assert_covers::<m::EFSVolumeConfiguration>(
        &items(&volumes, "efsVolumeConfiguration"),
        "efsVolumeConfiguration",
    );
    assert_covers::<m::ProxyConfiguration>(
        &items(&top, "proxyConfiguration"),
        "proxyConfiguration",
    );
    assert_covers::<m::TrustedExecutionConfiguration>(
        &items(&top, "trustedExecutionConfiguration"),
        "trustedExecutionConfiguration",
    );
}

#[tokio::test]
async fn every_member_registered_comes_back_from_describe() {
    let server = TestServer::start().await;
    let fixture_text = include_str!("../fixtures/task-definitions/every-field.json");
    let mut fixture: Value = serde_json::from_str(fixture_text).unwrap();
    // ECS takes an APPMESH proxy in awsvpc only ("APPMESH proxy configuration
    // is only supported in networkMode=awsvpc", aws/aws-cdk#4476), and the
    // fixture's links, hostname and host ports need bridge: the proxy goes
    // through a definition of its own.
    let proxy = fixture
        .as_object_mut()
        .unwrap()
        .remove("proxyConfiguration")
        .unwrap();
    let registered = server
        .ecs_raw("RegisterTaskDefinition", &fixture.to_string())
        .await;
    assert_eq!(registered.status, 200, "{}", registered.body);
    let meshed = serde_json::json!({
        "family": "meshed",
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {"name": "app", "image": "app:1", "memory": 64},
            {"name": "sidecar", "image": "envoy:1", "memory": 64, "essential": false}
        ],
        "proxyConfiguration": proxy,
    });
    let meshed = server
        .ecs_raw("RegisterTaskDefinition", &meshed.to_string())
        .await;
    assert_eq!(meshed.status, 200, "{}", meshed.body);
    assert_eq!(meshed.json()["taskDefinition"]["proxyConfiguration"], proxy);

    let described = server
        .ecs_raw(
            "DescribeTaskDefinition",
            r#"{"taskDefinition": "every-field:1", "include": ["TAGS"]}"#,
        )
        .await;
    let described = described.json();
    let tags = fixture.as_object_mut().unwrap().remove("tags").unwrap();
    assert_eq!(described["tags"], tags);
    assert_contains(&fixture, &described["taskDefinition"], "taskDefinition");
    assert_eq!(
        registered.json()["taskDefinition"],
        described["taskDefinition"],
        "Register and Describe answer the same revision"
    );

    // The SDK reads the same answer.
    let ecs = server.client();
    let td = ecs
        .describe_task_definition()
        .task_definition("every-field")
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(td.container_definitions().len(), 2);
    assert_eq!(td.ipc_mode(), Some(&IpcMode::Task));
    assert_eq!(td.volumes().len(), 6);
}

// ---- what RegisterTaskDefinition refuses ----

type Case = (
    &'static str,
    fn(RegisterTaskDefinitionFluentBuilder) -> RegisterTaskDefinitionFluentBuilder,
    &'static str,
    &'static str,
);

/// Each case: what it breaks, how, the exception ECS answers, and a piece
/// of the message that tells the person what to fix.
fn refused_cases() -> Vec<Case> {
    vec![
        (
            "fargate in bridge mode",
            |b| b.network_mode(NetworkMode::Bridge).container_definitions(plain("a")),
            "ClientException",
            "Fargate only supports network mode 'awsvpc'",
        ),
        ("fargate without network mode", |b| b.set_network_mode(None).container_definitions(plain("a")), "ClientException", "'awsvpc'"),
        (
            "fargate without task cpu",
            |b| b.set_cpu(None).container_definitions(plain("a")),
            "ClientException",
            "Fargate requires that 'cpu' be defined at the task level.",
        ),
        (
            "fargate without task memory",
            |b| b.set_memory(None).container_definitions(plain("a")),
            "ClientException",
            "'memory' be defined at the task level",
        ),
        (
            "fargate pair not in the table",
            |b| b.memory("4096").container_definitions(plain("a")),
            "ClientException",
            "No Fargate configuration exists for given values: 256 CPU, 4096 memory",
        ),
        (
            "fargate cpu not in the table",
            |b| b.cpu("300").memory("1024").container_definitions(plain("a")),
            "ClientException",
            "Fargate supports 256, 512",
        ),
        ("privileged on fargate", |b| b.container_definitions(container("a").privileged(true).build()), "ClientException", "privileged"),
        (
            "ipcMode on fargate",
            |b| b.ipc_mode(IpcMode::Task).container_definitions(plain("a")),
            "ClientException",
            "do not support ipcMode",
        ),
        (
            "awslogs on fargate without an execution role",
            |b| {
                let logs = LogConfiguration::builder().log_driver(LogDriver::Awslogs).build().unwrap();
                b.container_definitions(container("a").log_configuration(logs).build())
            },
            "ClientException",
            "execution role ARN to support log driver awslogs",
        ),
        (
            "task cpu that is no number",
            |b| b.set_requires_compatibilities(None).cpu("lots").container_definitions(plain("a")),
            "ClientException",
            "Invalid 'cpu' setting for task",
        ),
        (
            "task memory in TB",
            |b| b.set_requires_compatibilities(None).memory("2 TB").container_definitions(plain("a")),
            "ClientException",
            "Invalid 'memory' setting for task",
        ),
        ("no containers", |b| b.set_container_definitions(Some(vec![])), "ClientException", "Container list cannot be empty."),
        (
            "eleven containers",
            |b| (0..11).fold(b, |b, i| b.container_definitions(plain(&format!("c{i}")))),
            "ClientException",
            "Too many containers",
        ),
        (
            "two containers of one name",
            |b| b.container_definitions(plain("a")).container_definitions(plain("a")),
            "ClientException",
            "Container names must be unique within a Task Definition",
        ),
        (
            "a container name with a space",
            |b| b.container_definitions(plain("my app")),
            "ClientException",
            "Container.name contains invalid characters",
        ),
        (
            "a container without a name",
            |b| b.container_definitions(ContainerDefinition::builder().image("busybox").build()),
            "ClientException",
            "Container.name should not be null or empty.",
        ),
        (
            "a container without an image",
            |b| b.container_definitions(ContainerDefinition::builder().name("a").build()),
            "ClientException",
            "Container.image should not be null or empty",
        ),
        (
            "no essential container",
            |b| b.container_definitions(container("a").essential(false).build()),
            "ClientException",
            "at least one essential container",
        ),
        (
            "container cpu above the task's",
            |b| b.container_definitions(container("a").cpu(512).build()),
            "ClientException",
            "The 'cpu' setting for container 'a' is greater than for the task",
        ),
        (
            "containers' cpu together above the task's",
            |b| b.container_definitions(container("a").cpu(200).build()).container_definitions(container("b").cpu(200).build()),
            "ClientException",
            "sum of the containers' 'cpu'",
        ),
        (
            "container memory above the task's",
            |b| b.container_definitions(container("a").memory(1024).build()),
            "ClientException",
            "The 'memory' setting for container 'a' is greater than for the task",
        ),
        (
            "no memory anywhere on EC2",
            |b| {
                b.set_requires_compatibilities(None)
                    .set_network_mode(None)
                    .set_cpu(None)
                    .set_memory(None)
                    .container_definitions(container("a").build())
            },
            "ClientException",
            "At least one of 'memory' or 'memoryReservation' must be specified",
        ),
        (
            "memoryReservation above memory",
            |b| b.container_definitions(container("a").memory(128).memory_reservation(256).build()),
            "ClientException",
            "'memoryReservation' (256 MiB) must be less than or equal to 'memory' (128 MiB)",
        ),
        (
            "awsvpc host port unlike the container port",
            |b| b.container_definitions(container("a").port_mappings(port(80, Some(8080))).build()),
            "ClientException",
            "When networkMode=awsvpc, the host ports and container ports in port mappings must match",
        ),
        (
            "host mode host port unlike the container port",
            |b| {
                b.set_requires_compatibilities(None)
                    .network_mode(NetworkMode::Host)
                    .container_definitions(container("a").port_mappings(port(80, Some(81))).build())
            },
            "ClientException",
            "When networkMode=host",
        ),
        (
            "port mappings with networkMode none",
            |b| {
                b.set_requires_compatibilities(None)
                    .network_mode(NetworkMode::None)
                    .container_definitions(container("a").port_mappings(port(80, None)).build())
            },
            "ClientException",
            "networkMode=none",
        ),
        (
            "a port mapping without a container port",
            |b| b.container_definitions(container("a").port_mappings(PortMapping::builder().host_port(80).build()).build()),
            "ClientException",
            "Invalid 'containerPort' setting for container 'a'",
        ),
        (
            "hostname in awsvpc mode",
            |b| b.container_definitions(container("a").hostname("box").build()),
            "ClientException",
            "hostname is not supported on container when networkMode=awsvpc",
        ),
        (
            "links in awsvpc mode",
            |b| b.container_definitions(container("a").links("b").build()).container_definitions(plain("b")),
            "ClientException",
            "links are not supported",
        ),
        (
            "a link to no container",
            |b| {
                b.set_requires_compatibilities(None)
                    .network_mode(NetworkMode::Bridge)
                    .container_definitions(container("a").links("ghost:g").build())
            },
            "ClientException",
            "Invalid link 'ghost:g'",
        ),
        (
            "dependsOn a container that is not there",
            |b| {
                let dep = ContainerDependency::builder().container_name("ghost").condition(ContainerCondition::Start).build().unwrap();
                b.container_definitions(container("a").depends_on(dep).build())
            },
            "ClientException",
            "depends on container 'ghost'",
        ),
        (
            "a mount point of an undeclared volume",
            |b| {
                b.container_definitions(
                    container("a").mount_points(MountPoint::builder().source_volume("data").container_path("/d").build()).build(),
                )
            },
            "ClientException",
            "mounts volume 'data', which is not declared",
        ),
        (
            "volumesFrom a container that is not there",
            |b| b.container_definitions(container("a").volumes_from(VolumeFrom::builder().source_container("ghost").build()).build()),
            "ClientException",
            "takes volumes from 'ghost'",
        ),
        (
            "EXTERNAL in awsvpc mode",
            |b| b.set_requires_compatibilities(None).requires_compatibilities(Compatibility::External).container_definitions(plain("a")),
            "ClientException",
            "EXTERNAL launch type does not support networkMode=awsvpc",
        ),
        (
            "a reserved tag key",
            |b| b.container_definitions(plain("a")).tags(Tag::builder().key("aws:owner").value("x").build()),
            "InvalidParameterException",
            "reserved",
        ),
    ]
}

#[tokio::test]
async fn invalid_definitions_are_refused_and_register_nothing() {
    let server = TestServer::start().await;
    let ecs = server.client();
    for (what, breaks, expected_code, expected_message) in refused_cases() {
        let err = breaks(fargate(&ecs, "app")).send().await.expect_err(what);
        assert_eq!(code(&err), expected_code, "{what}: {}", message(&err));
        assert!(
            message(&err).contains(expected_message),
            "{what}: {}",
            message(&err)
        );
    }
    let bad_family = ecs
        .register_task_definition()
        .family("my app")
        .container_definitions(plain("a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_family), "ClientException");
    assert!(
        message(&bad_family).contains("Family contains invalid characters"),
        "{}",
        message(&bad_family)
    );

    // Nothing was stored, and no revision number was used up.
    let families = ecs
        .list_task_definition_families()
        .status(TaskDefinitionFamilyStatus::All)
        .send()
        .await
        .unwrap();
    assert!(families.families().is_empty(), "{:?}", families.families());
    assert_eq!(
        fargate(&ecs, "app")
            .container_definitions(plain("a"))
            .send()
            .await
            .unwrap()
            .task_definition
            .unwrap()
            .revision(),
        1
    );
}

#[tokio::test]
async fn valid_port_mappings_per_network_mode_are_accepted() {
    let server = TestServer::start().await;
    let ecs = server.client();
    // bridge: a static host port, and hostPort 0 for a dynamic one.
    let bridge = ecs
        .register_task_definition()
        .family("bridge")
        .container_definitions(
            container("a")
                .memory(64)
                .port_mappings(port(80, Some(8080)))
                .port_mappings(port(81, Some(0)))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ports = bridge.task_definition.unwrap().container_definitions()[0]
        .port_mappings()
        .to_vec();
    assert_eq!(
        (ports[0].host_port(), ports[1].host_port()),
        (Some(8080), Some(0))
    );
    // awsvpc and host: the host port may repeat the container port.
    for mode in [NetworkMode::Awsvpc, NetworkMode::Host] {
        let td = ecs
            .register_task_definition()
            .family("same-port")
            .network_mode(mode.clone())
            .container_definitions(
                container("a")
                    .memory(64)
                    .port_mappings(port(80, Some(80)))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            td.task_definition.unwrap().container_definitions()[0].port_mappings()[0].host_port(),
            Some(80),
            "{mode:?}"
        );
    }
}

// ---- listing ----

#[tokio::test]
async fn list_task_definitions_filters_sorts_and_pages() {
    let server = TestServer::start().await;
    let ecs = server.client();
    for family in ["b", "a", "b", "a", "c"] {
        register_plain(&ecs, family).await;
    }
    ecs.deregister_task_definition()
        .task_definition("c:1")
        .send()
        .await
        .unwrap();
    let arn = |s: &str| format!("{ACCOUNT_ARN_PREFIX}{s}");

    assert_eq!(
        active_arns(&ecs).await,
        [arn("a:1"), arn("a:2"), arn("b:1"), arn("b:2")]
    );
    let desc = ecs
        .list_task_definitions()
        .sort(SortOrder::Desc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        desc.task_definition_arns(),
        [arn("b:2"), arn("b:1"), arn("a:2"), arn("a:1")]
    );
    // familyPrefix is the full family name (ECS API reference): "a" does not match "ab".
    register_plain(&ecs, "ab").await;
    let only_a = ecs
        .list_task_definitions()
        .family_prefix("a")
        .send()
        .await
        .unwrap();
    assert_eq!(only_a.task_definition_arns(), [arn("a:1"), arn("a:2")]);
    let inactive = ecs
        .list_task_definitions()
        .status(TaskDefinitionStatus::Inactive)
        .send()
        .await
        .unwrap();
    assert_eq!(inactive.task_definition_arns(), [arn("c:1")]);

    // Pages of two, ascending and descending, cover everything once.
    for sort in [SortOrder::Asc, SortOrder::Desc] {
        let mut seen = vec![];
        let mut token = None;
        loop {
            let page = ecs
                .list_task_definitions()
                .sort(sort.clone())
                .max_results(2)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            assert!(page.task_definition_arns().len() <= 2);
            seen.extend(page.task_definition_arns().to_vec());
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        let mut expected = vec![arn("a:1"), arn("a:2"), arn("ab:1"), arn("b:1"), arn("b:2")];
        if sort == SortOrder::Desc {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{sort:?}");
    }

    let err = ecs
        .list_task_definitions()
        .max_results(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .list_task_definitions()
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn list_task_definition_families_by_prefix_status_and_page() {
    let server = TestServer::start().await;
    let ecs = server.client();
    for family in ["web", "web", "worker", "api"] {
        register_plain(&ecs, family).await;
    }
    ecs.deregister_task_definition()
        .task_definition("web:1")
        .send()
        .await
        .unwrap();
    ecs.deregister_task_definition()
        .task_definition("api:1")
        .send()
        .await
        .unwrap();
    let families = |status: Option<TaskDefinitionFamilyStatus>, prefix: Option<&str>| {
        let ecs = ecs.clone();
        let prefix = prefix.map(String::from);
        async move {
            let answer = ecs
                .list_task_definition_families()
                .set_status(status)
                .set_family_prefix(prefix)
                .send()
                .await
                .unwrap();
            answer.families().to_vec()
        }
    };
    // By default both ACTIVE and INACTIVE families are listed (ECS API reference).
    assert_eq!(families(None, None).await, ["api", "web", "worker"]);
    // web keeps an ACTIVE revision (2), so it is ACTIVE; api has none left.
    assert_eq!(
        families(Some(TaskDefinitionFamilyStatus::Active), None).await,
        ["web", "worker"]
    );
    assert_eq!(
        families(Some(TaskDefinitionFamilyStatus::Inactive), None).await,
        ["api"]
    );
    assert_eq!(families(None, Some("w")).await, ["web", "worker"]);

    let first = ecs
        .list_task_definition_families()
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.families(), ["api", "web"]);
    let second = ecs
        .list_task_definition_families()
        .max_results(2)
        .set_next_token(first.next_token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.families(), ["worker"]);
    assert!(second.next_token.is_none());
}

// ---- deregistering and deleting ----

#[tokio::test]
async fn deregister_marks_a_revision_inactive_and_it_stays_describable() {
    let server = TestServer::start().await;
    let ecs = server.client();
    register_plain(&ecs, "web").await;
    register_plain(&ecs, "web").await;

    // A revision must be named, as in ECS.
    let err = ecs
        .deregister_task_definition()
        .task_definition("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    assert!(message(&err).contains("web:REVISION"), "{}", message(&err));
    let err = ecs
        .deregister_task_definition()
        .task_definition("web:9")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    assert_eq!(
        active_arns(&ecs).await.len(),
        2,
        "refused calls change nothing"
    );

    let gone = ecs
        .deregister_task_definition()
        .task_definition(format!("{ACCOUNT_ARN_PREFIX}web:2"))
        .send()
        .await
        .unwrap();
    let td = gone.task_definition.unwrap();
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Inactive));
    assert!(td.deregistered_at().is_some());
    // The family now means its latest ACTIVE revision, 1; 2 is still there by number.
    let latest = ecs
        .describe_task_definition()
        .task_definition("web")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.task_definition.unwrap().revision(), 1);
    let inactive = ecs
        .describe_task_definition()
        .task_definition("web:2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        inactive.task_definition.unwrap().status(),
        Some(&TaskDefinitionStatus::Inactive)
    );

    ecs.deregister_task_definition()
        .task_definition("web:1")
        .send()
        .await
        .unwrap();
    let err = ecs
        .describe_task_definition()
        .task_definition("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        "Unable to describe task definition.",
        "no ACTIVE revision left"
    );
}

#[tokio::test]
async fn delete_takes_only_inactive_revisions_and_reports_the_rest_as_failures() {
    let server = TestServer::start().await;
    let ecs = server.client();
    register_plain(&ecs, "web").await;
    register_plain(&ecs, "web").await;
    ecs.deregister_task_definition()
        .task_definition("web:1")
        .send()
        .await
        .unwrap();

    let answer = ecs
        .delete_task_definitions()
        .task_definitions("web:1")
        .task_definitions("web:2")
        .task_definitions("web:7")
        .task_definitions("web")
        .send()
        .await
        .unwrap();
    let deleted = answer.task_definitions();
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0].status(),
        Some(&TaskDefinitionStatus::DeleteInProgress)
    );
    assert!(deleted[0].delete_requested_at().is_some());
    let failures = answer.failures();
    assert_eq!(failures.len(), 3);
    assert_eq!(
        failures[0].arn(),
        Some(format!("{ACCOUNT_ARN_PREFIX}web:2").as_str())
    );
    assert!(
        failures[0].reason().unwrap().contains("ACTIVE status"),
        "{:?}",
        failures[0].reason()
    );
    assert!(
        failures[1].reason().unwrap().contains("does not exist"),
        "{:?}",
        failures[1].reason()
    );
    assert!(
        failures[2]
            .reason()
            .unwrap()
            .contains("revision must be specified"),
        "{:?}",
        failures[2].reason()
    );

    // Nothing references web:1, so it is gone; web:2 is untouched.
    let err = ecs
        .describe_task_definition()
        .task_definition("web:1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");
    let inactive = ecs
        .list_task_definitions()
        .status(TaskDefinitionStatus::Inactive)
        .send()
        .await
        .unwrap();
    assert!(inactive.task_definition_arns().is_empty());
    assert_eq!(
        active_arns(&ecs).await,
        [format!("{ACCOUNT_ARN_PREFIX}web:2")]
    );

    let too_many = (0..11).fold(ecs.delete_task_definitions(), |b, i| {
        b.task_definitions(format!("web:{i}"))
    });
    assert_eq!(
        code(&too_many.send().await.unwrap_err()),
        "InvalidParameterException"
    );
}

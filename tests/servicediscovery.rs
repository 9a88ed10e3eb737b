//! Cloud Map in process, on the fake runtime: namespaces and their
//! asynchronous operations, services, instances, DiscoverInstances with its
//! filters and health, AWS's errors (raw JSON 1.1 calls with target prefix
//! `Route53AutoNaming_v20170314`; boto3 speaks CBOR to it in
//! compat-tests/test_servicediscovery.py), and ECS registering a service's
//! tasks in the registry its `serviceRegistries` names.
mod common;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, NetworkConfiguration, NetworkMode, PortMapping,
    ServiceRegistry,
};
use common::{code, message, RawResponse, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn sd(s: &TestServer, op: &str, body: Value) -> RawResponse {
    s.aws_json(
        "servicediscovery",
        &format!("Route53AutoNaming_v20170314.{op}"),
        body,
    )
    .await
}

async fn ok(s: &TestServer, op: &str, body: Value) -> Value {
    let r = sd(s, op, body).await;
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    if r.body.is_empty() {
        return Value::Null;
    }
    r.json()
}

/// An error answer: its code and message. The status is the model's
/// (`NamespaceNotFound` 404, `DuplicateRequest` 409, `InvalidInput` 400...).
async fn fails(s: &TestServer, op: &str, body: Value) -> (String, String) {
    let r = sd(s, op, body).await;
    assert!((400..500).contains(&r.status), "{op}: {}", r.body);
    let v = r.json();
    (
        r.error_type(),
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// The namespace an operation created (its NAMESPACE target).
async fn namespace_of(s: &TestServer, op: &str) -> String {
    let v = ok(s, "GetOperation", json!({"OperationId": op})).await;
    v["Operation"]["Targets"]["NAMESPACE"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn private_namespace(s: &TestServer, name: &str) -> String {
    let v = ok(
        s,
        "CreatePrivateDnsNamespace",
        json!({"Name": name, "Vpc": "vpc-0123abcd"}),
    )
    .await;
    namespace_of(s, v["OperationId"].as_str().unwrap()).await
}

async fn dns_service(s: &TestServer, ns: &str, name: &str, records: Value, custom: bool) -> Value {
    let mut body = json!({
        "Name": name, "NamespaceId": ns,
        "DnsConfig": {"RoutingPolicy": "MULTIVALUE", "DnsRecords": records},
    });
    if custom {
        body["HealthCheckCustomConfig"] = json!({"FailureThreshold": 1});
    }
    ok(s, "CreateService", body).await["Service"].clone()
}

fn instance_ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["Instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["InstanceId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_namespace_is_created_asynchronously_and_deleted_once_empty() {
    let s = TestServer::start().await;
    let op = ok(
        &s,
        "CreateHttpNamespace",
        json!({"Name": "apps", "Description": "d", "Tags": [{"Key": "team", "Value": "a"}]}),
    )
    .await["OperationId"]
        .as_str()
        .unwrap()
        .to_string();
    // AWS reports SUBMITTED (then PENDING) before SUCCESS ("GetOperation":
    // "Status ... SUBMITTED: This is the initial state that occurs
    // immediately after you submit a request"); ecsbox's first look says
    // SUBMITTED, the next SUCCESS.
    let first = ok(&s, "GetOperation", json!({"OperationId": op})).await;
    assert_eq!(first["Operation"]["Status"], "SUBMITTED", "{first}");
    assert_eq!(first["Operation"]["Type"], "CREATE_NAMESPACE");
    let second = ok(&s, "GetOperation", json!({"OperationId": op})).await;
    assert_eq!(second["Operation"]["Status"], "SUCCESS", "{second}");
    let ns = second["Operation"]["Targets"]["NAMESPACE"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ns.starts_with("ns-"), "{ns}");

    let got = ok(&s, "GetNamespace", json!({"Id": ns})).await["Namespace"].clone();
    assert_eq!(got["Name"], "apps");
    assert_eq!(got["Type"], "HTTP");
    assert_eq!(got["Properties"]["HttpProperties"]["HttpName"], "apps");
    assert!(got["Arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:servicediscovery:us-east-1:"));
    let tags = ok(
        &s,
        "ListTagsForResource",
        json!({"ResourceARN": got["Arn"]}),
    )
    .await;
    assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "a"}]));

    // The same name again: NamespaceAlreadyExists.
    let (code, _) = fails(&s, "CreateHttpNamespace", json!({"Name": "apps"})).await;
    assert_eq!(code, "NamespaceAlreadyExists");
    // A retry with the same CreatorRequestId answers the first operation.
    let a = ok(
        &s,
        "CreatePrivateDnsNamespace",
        json!({"Name": "x.local", "Vpc": "vpc-1", "CreatorRequestId": "r1"}),
    )
    .await;
    let b = ok(
        &s,
        "CreatePrivateDnsNamespace",
        json!({"Name": "x.local", "Vpc": "vpc-1", "CreatorRequestId": "r1"}),
    )
    .await;
    assert_eq!(a["OperationId"], b["OperationId"]);
    let (code, _) = fails(
        &s,
        "CreatePrivateDnsNamespace",
        json!({"Name": "y.local", "Vpc": "vpc-1", "CreatorRequestId": "r1"}),
    )
    .await;
    assert_eq!(code, "DuplicateRequest");

    let listed = ok(
        &s,
        "ListNamespaces",
        json!({"Filters": [{"Name": "TYPE", "Values": ["DNS_PRIVATE"], "Condition": "EQ"}]}),
    )
    .await;
    let names: Vec<&str> = listed["Namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x.local"]);

    // Not empty: ResourceInUse; empty: deleted.
    let svc = ok(
        &s,
        "CreateService",
        json!({"Name": "api", "NamespaceId": ns}),
    )
    .await;
    let (code, _) = fails(&s, "DeleteNamespace", json!({"Id": ns})).await;
    assert_eq!(code, "ResourceInUse");
    ok(&s, "DeleteService", json!({"Id": svc["Service"]["Id"]})).await;
    let del = ok(&s, "DeleteNamespace", json!({"Id": ns})).await;
    assert!(del["OperationId"].is_string());
    let (code, _) = fails(&s, "GetNamespace", json!({"Id": ns})).await;
    assert_eq!(code, "NamespaceNotFound");
    let (code, _) = fails(&s, "GetOperation", json!({"OperationId": "nope"})).await;
    assert_eq!(code, "OperationNotFound");

    // ListOperations by type.
    let ops = ok(
        &s,
        "ListOperations",
        json!({"Filters": [{"Name": "TYPE", "Values": ["DELETE_NAMESPACE"], "Condition": "EQ"}]}),
    )
    .await;
    assert_eq!(ops["Operations"].as_array().unwrap().len(), 1, "{ops}");
}

#[tokio::test]
async fn services_check_their_dns_config_and_refuse_route53_health_checks() {
    let s = TestServer::start().await;
    let ns = private_namespace(&s, "app.local").await;
    let svc = dns_service(&s, &ns, "api", json!([{"Type": "A", "TTL": 10}]), false).await;
    assert_eq!(svc["Type"], "DNS_HTTP");
    assert_eq!(
        svc["DnsConfig"]["DnsRecords"],
        json!([{"Type": "A", "TTL": 10}])
    );
    let (code, _) = fails(
        &s,
        "CreateService",
        json!({"Name": "api", "NamespaceId": ns}),
    )
    .await;
    assert_eq!(code, "ServiceAlreadyExists");
    // CNAME only alone and only WEIGHTED (the DnsRecord reference).
    let (code, msg) = fails(
        &s,
        "CreateService",
        json!({"Name": "c", "NamespaceId": ns, "DnsConfig": {"RoutingPolicy": "MULTIVALUE",
               "DnsRecords": [{"Type": "CNAME", "TTL": 5}]}}),
    )
    .await;
    assert_eq!(code, "InvalidInput");
    assert!(msg.contains("WEIGHTED"), "{msg}");
    // Route 53 health checks are refused by name.
    let (code, msg) = fails(
        &s,
        "CreateService",
        json!({"Name": "h", "NamespaceId": ns,
               "HealthCheckConfig": {"Type": "HTTP", "ResourcePath": "/"}}),
    )
    .await;
    assert_eq!(code, "InvalidInput");
    assert!(msg.contains("HealthCheckConfig"), "{msg}");
    let (code, _) = fails(
        &s,
        "CreateService",
        json!({"Name": "z", "NamespaceId": "ns-doesnotexist0000"}),
    )
    .await;
    assert_eq!(code, "NamespaceNotFound");
    let (code, _) = fails(&s, "GetService", json!({"Id": "srv-doesnotexist000"})).await;
    assert_eq!(code, "ServiceNotFound");

    // An A record needs AWS_INSTANCE_IPV4.
    let (code, msg) = fails(
        &s,
        "RegisterInstance",
        json!({"ServiceId": svc["Id"], "InstanceId": "i1", "Attributes": {"x": "y"}}),
    )
    .await;
    assert_eq!(code, "InvalidInput");
    assert!(msg.contains("AWS_INSTANCE_IPV4"), "{msg}");

    // UpdateService changes TTLs; the operation reports UPDATE_SERVICE.
    let op = ok(
        &s,
        "UpdateService",
        json!({"Id": svc["Id"], "Service": {"Description": "new",
               "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 60}]}}}),
    )
    .await;
    let o = ok(
        &s,
        "GetOperation",
        json!({"OperationId": op["OperationId"]}),
    )
    .await;
    assert_eq!(o["Operation"]["Type"], "UPDATE_SERVICE");
    let got = ok(&s, "GetService", json!({"Id": svc["Id"]})).await;
    assert_eq!(got["Service"]["Description"], "new");
    assert_eq!(got["Service"]["DnsConfig"]["DnsRecords"][0]["TTL"], 60);
}

#[tokio::test]
async fn discover_instances_filters_by_attributes_and_health() {
    let s = TestServer::start().await;
    let ns = private_namespace(&s, "app.local").await;
    let svc = dns_service(
        &s,
        &ns,
        "api",
        json!([{"Type": "A", "TTL": 1}, {"Type": "SRV", "TTL": 1}]),
        true,
    )
    .await;
    let id = svc["Id"].as_str().unwrap();
    for (i, stage) in [("a", "blue"), ("b", "green"), ("c", "green")] {
        let op = ok(
            &s,
            "RegisterInstance",
            json!({"ServiceId": id, "InstanceId": i, "Attributes": {
                "AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "80", "stage": stage}}),
        )
        .await;
        let o = ok(
            &s,
            "GetOperation",
            json!({"OperationId": op["OperationId"]}),
        )
        .await;
        assert_eq!(o["Operation"]["Type"], "REGISTER_INSTANCE");
        assert_eq!(o["Operation"]["Targets"]["INSTANCE"], i);
    }
    let discover = |body: Value| {
        let mut b = json!({"NamespaceName": "app.local", "ServiceName": "api"});
        b.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        b
    };
    let all = ok(&s, "DiscoverInstances", discover(json!({}))).await;
    assert_eq!(instance_ids(&all), ["a", "b", "c"]);
    assert_eq!(all["Instances"][0]["HealthStatus"], "HEALTHY");
    assert_eq!(all["Instances"][0]["NamespaceName"], "app.local");
    let rev0 = all["InstancesRevision"].as_i64().unwrap();

    let green = ok(
        &s,
        "DiscoverInstances",
        discover(json!({"QueryParameters": {"stage": "green"}})),
    )
    .await;
    assert_eq!(instance_ids(&green), ["b", "c"]);
    // Optional parameters narrow only if something matches them.
    let blue = ok(
        &s,
        "DiscoverInstances",
        discover(json!({"OptionalParameters": {"stage": "blue"}})),
    )
    .await;
    assert_eq!(instance_ids(&blue), ["a"]);
    let red = ok(
        &s,
        "DiscoverInstances",
        discover(json!({"OptionalParameters": {"stage": "red"}})),
    )
    .await;
    assert_eq!(instance_ids(&red), ["a", "b", "c"]);

    // An unhealthy instance drops out of the default (healthy) answer.
    ok(
        &s,
        "UpdateInstanceCustomHealthStatus",
        json!({"ServiceId": id, "InstanceId": "b", "Status": "UNHEALTHY"}),
    )
    .await;
    let healthy = ok(&s, "DiscoverInstances", discover(json!({}))).await;
    assert_eq!(instance_ids(&healthy), ["a", "c"]);
    assert!(healthy["InstancesRevision"].as_i64().unwrap() > rev0);
    let unhealthy = ok(
        &s,
        "DiscoverInstances",
        discover(json!({"HealthStatus": "UNHEALTHY"})),
    )
    .await;
    assert_eq!(instance_ids(&unhealthy), ["b"]);
    let status = ok(&s, "GetInstancesHealthStatus", json!({"ServiceId": id})).await;
    assert_eq!(
        status["Status"],
        json!({"a": "HEALTHY", "b": "UNHEALTHY", "c": "HEALTHY"})
    );
    let rev = ok(
        &s,
        "DiscoverInstancesRevision",
        json!({"NamespaceName": "app.local", "ServiceName": "api"}),
    )
    .await;
    assert_eq!(rev["InstancesRevision"], healthy["InstancesRevision"]);

    // Errors: unknown names, a service with instances, no custom health.
    let (code, _) = fails(
        &s,
        "DiscoverInstances",
        json!({"NamespaceName": "nope.local", "ServiceName": "api"}),
    )
    .await;
    assert_eq!(code, "NamespaceNotFound");
    let (code, _) = fails(
        &s,
        "DiscoverInstances",
        json!({"NamespaceName": "app.local", "ServiceName": "nope"}),
    )
    .await;
    assert_eq!(code, "ServiceNotFound");
    let (code, _) = fails(&s, "DeleteService", json!({"Id": id})).await;
    assert_eq!(code, "ResourceInUse");
    let (code, _) = fails(
        &s,
        "GetInstance",
        json!({"ServiceId": id, "InstanceId": "zz"}),
    )
    .await;
    assert_eq!(code, "InstanceNotFound");
    let plain = dns_service(&s, &ns, "plain", json!([{"Type": "A", "TTL": 1}]), false).await;
    ok(
        &s,
        "RegisterInstance",
        json!({"ServiceId": plain["Id"], "InstanceId": "p", "Attributes": {"AWS_INSTANCE_IPV4": "10.0.0.9"}}),
    )
    .await;
    let (code, _) = fails(
        &s,
        "UpdateInstanceCustomHealthStatus",
        json!({"ServiceId": plain["Id"], "InstanceId": "p", "Status": "HEALTHY"}),
    )
    .await;
    assert_eq!(code, "CustomHealthNotFound");

    // Deregistering is an operation too, and the instance is gone.
    let op = ok(
        &s,
        "DeregisterInstance",
        json!({"ServiceId": id, "InstanceId": "a"}),
    )
    .await;
    let o = ok(
        &s,
        "GetOperation",
        json!({"OperationId": op["OperationId"]}),
    )
    .await;
    assert_eq!(o["Operation"]["Type"], "DEREGISTER_INSTANCE");
    let listed = ok(&s, "ListInstances", json!({"ServiceId": id})).await;
    assert_eq!(listed["Instances"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_request_that_breaks_the_model_is_invalid_input() {
    let s = TestServer::start().await;
    let (code, _) = fails(&s, "CreateHttpNamespace", json!({})).await;
    assert_eq!(code, "InvalidInput");
    // NamespaceNameHttp's pattern: not an ARN.
    let (code, _) = fails(
        &s,
        "CreateHttpNamespace",
        json!({"Name": "arn:aws:servicediscovery:x"}),
    )
    .await;
    assert_eq!(code, "InvalidInput");
    let ns = private_namespace(&s, "app.local").await;
    // ServiceName's pattern: DNS labels, 127 characters at most.
    for bad in ["-api", &"a.".repeat(64)] {
        let (code, _) = fails(&s, "CreateService", json!({"Name": bad, "NamespaceId": ns})).await;
        assert_eq!(code, "InvalidInput", "{bad}");
    }
    ok(
        &s,
        "CreateService",
        json!({"Name": "_http._tcp.api", "NamespaceId": ns}),
    )
    .await;
}

// ---- ECS registers a service's tasks ---------------------------------------

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

async fn ecs_setup() -> (TestServer, aws_sdk_ecs::Client) {
    let fake = std::sync::Arc::new(ecsbox::runtime::fake::FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(ecsbox::config::Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    (server, ecs)
}

async fn register_td(ecs: &aws_sdk_ecs::Client, mode: NetworkMode) -> String {
    ecs.register_task_definition()
        .family("web")
        .network_mode(mode)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .port_mappings(PortMapping::builder().container_port(80).build())
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

/// The DiscoverInstances answer once `done` holds (10 s at most).
async fn wait_discovered(s: &TestServer, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = ok(
            s,
            "DiscoverInstances",
            json!({"NamespaceName": "app.local", "ServiceName": "api"}),
        )
        .await;
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_service_registers_its_running_tasks_and_deregisters_them_when_they_stop() {
    let (s, ecs) = ecs_setup().await;
    let ns = private_namespace(&s, "app.local").await;
    let svc = dns_service(&s, &ns, "api", json!([{"Type": "A", "TTL": 1}]), true).await;
    let registry = svc["Arn"].as_str().unwrap().to_string();
    let td = register_td(&ecs, NetworkMode::Awsvpc).await;
    ecs.create_service()
        .cluster("c")
        .service_name("api")
        .task_definition(&td)
        .desired_count(2)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc())
        .service_registries(ServiceRegistry::builder().registry_arn(&registry).build())
        .send()
        .await
        .unwrap();
    let v = wait_discovered(&s, |v| v["Instances"].as_array().unwrap().len() == 2).await;
    // Each instance is a task (instance id = task id) with ECS's attributes.
    let tasks = ecs
        .list_tasks()
        .cluster("c")
        .service_name("api")
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    let described = ecs
        .describe_tasks()
        .cluster("c")
        .set_tasks(Some(tasks))
        .send()
        .await
        .unwrap();
    let mut expected: Vec<(String, String)> = described
        .tasks()
        .iter()
        .map(|t| {
            (
                t.task_arn()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                common::eni_ip(t),
            )
        })
        .collect();
    expected.sort();
    let mut got: Vec<(String, String)> = v["Instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["InstanceId"].as_str().unwrap().to_string(),
                i["Attributes"]["AWS_INSTANCE_IPV4"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected);
    let attrs = &v["Instances"][0]["Attributes"];
    assert_eq!(attrs["ECS_CLUSTER_NAME"], "c");
    assert_eq!(attrs["ECS_SERVICE_NAME"], "api");
    assert_eq!(attrs["ECS_TASK_DEFINITION_FAMILY"], "web");
    assert_eq!(attrs["REGION"], "us-east-1");
    assert!(attrs["AVAILABILITY_ZONE"].is_string(), "{attrs}");
    assert_eq!(attrs["AWS_INIT_HEALTH_STATUS"], "HEALTHY");

    // Leaving the registry (UpdateService with no serviceRegistries)
    // deregisters the tasks; naming it again registers them again.
    ecs.update_service()
        .cluster("c")
        .service("api")
        .set_service_registries(Some(vec![]))
        .send()
        .await
        .unwrap();
    wait_discovered(&s, |v| v["Instances"].as_array().unwrap().is_empty()).await;
    ecs.update_service()
        .cluster("c")
        .service("api")
        .service_registries(ServiceRegistry::builder().registry_arn(&registry).build())
        .send()
        .await
        .unwrap();
    wait_discovered(&s, |v| v["Instances"].as_array().unwrap().len() == 2).await;

    // Scaling to 0 deregisters every task.
    ecs.update_service()
        .cluster("c")
        .service("api")
        .desired_count(0)
        .send()
        .await
        .unwrap();
    wait_discovered(&s, |v| v["Instances"].as_array().unwrap().is_empty()).await;
}

#[tokio::test]
async fn create_service_checks_its_registries() {
    let (s, ecs) = ecs_setup().await;
    let ns = private_namespace(&s, "app.local").await;
    let a_only = dns_service(&s, &ns, "api", json!([{"Type": "A", "TTL": 1}]), false).await;
    let a_only = a_only["Arn"].as_str().unwrap().to_string();
    let awsvpc_td = register_td(&ecs, NetworkMode::Awsvpc).await;
    let bridge_td = register_td(&ecs, NetworkMode::Bridge).await;
    let create = |td: &str, registry: ServiceRegistry| {
        ecs.create_service()
            .cluster("c")
            .service_name("x")
            .task_definition(td)
            .desired_count(0)
            .network_configuration(awsvpc())
            .service_registries(registry)
            .send()
    };

    // A registry Cloud Map does not have.
    let missing = "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-missing00000000";
    let err = create(
        &awsvpc_td,
        ServiceRegistry::builder().registry_arn(missing).build(),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    assert!(message(&err).contains(missing), "{}", message(&err));

    // A port for a service without SRV records: AWS's words, quoted in
    // umotif-public/terraform-aws-ecs-fargate#25.
    let err = create(
        &awsvpc_td,
        ServiceRegistry::builder()
            .registry_arn(&a_only)
            .container_name("app")
            .container_port(80)
            .build(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        message(&err),
        "The values specified for serviceRegistries do not require a value for 'containerPort'. Remove the value and retry."
    );

    // Bridge tasks need containerName and containerPort: AWS's words,
    // quoted in techservicesillinois/terraform-aws-ecs-service#16.
    let err = ecs
        .create_service()
        .cluster("c")
        .service_name("b")
        .task_definition(&bridge_td)
        .desired_count(0)
        .service_registries(ServiceRegistry::builder().registry_arn(&a_only).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        format!("When specifying 'host' or 'bridge' for networkMode, values for 'containerName' and 'containerPort' must be specified from the task definition. Registry: {a_only}")
    );
}

"""AWS Cloud Map (servicediscovery) on the ecsbox port, through boto3 (which
speaks Smithy RPC v2 CBOR to it: the model's first protocol) and the aws CLI:
the namespace lifecycle with its asynchronous operations, services,
instances, DiscoverInstances with its filters and health, the errors, and an
ECS service's tasks registered in the registry its serviceRegistries names."""

import time

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws


# DiscoverInstances and DiscoverInstancesRevision carry the model's host
# prefix `data-`: against an endpoint URL such as http://127.0.0.1:4566 the
# SDK would connect to `data-127.0.0.1`, which does not resolve. Users turn
# the prefix off, as here (botocore's `inject_host_prefix`, or
# AWS_DISABLE_HOST_PREFIX_INJECTION=true for the CLI and every SDK).
NO_HOST_PREFIX = {"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}


@pytest.fixture
def sd(endpoint):
    return harness.aws_client(endpoint, "servicediscovery", inject_host_prefix=False)


def wait_operation(sd, op_id: str, within: float = 10) -> dict:
    """Polls GetOperation until SUCCESS, as AWS's own examples do; answers
    every status seen on the way."""
    deadline = time.monotonic() + within
    seen = []
    while True:
        op = sd.get_operation(OperationId=op_id)["Operation"]
        seen.append(op["Status"])
        if op["Status"] == "SUCCESS":
            op["seen"] = seen
            return op
        assert op["Status"] in ("SUBMITTED", "PENDING"), op
        assert time.monotonic() < deadline, seen
        time.sleep(0.02)


def private_namespace(sd, name: str) -> str:
    op = sd.create_private_dns_namespace(Name=name, Vpc="vpc-0123abcd")["OperationId"]
    return wait_operation(sd, op)["Targets"]["NAMESPACE"]


def test_namespace_lifecycle_with_its_operations(sd):
    op_id = sd.create_http_namespace(Name="apps", Description="d")["OperationId"]
    op = wait_operation(sd, op_id)
    # SUBMITTED first, then SUCCESS (GetOperation's Status in the Cloud Map
    # API reference).
    assert op["seen"][0] == "SUBMITTED" and op["seen"][-1] == "SUCCESS", op["seen"]
    assert op["Type"] == "CREATE_NAMESPACE"
    ns_id = op["Targets"]["NAMESPACE"]
    ns = sd.get_namespace(Id=ns_id)["Namespace"]
    assert (ns["Name"], ns["Type"], ns["Description"]) == ("apps", "HTTP", "d")
    assert ns["Properties"]["HttpProperties"]["HttpName"] == "apps"

    with raises_aws("NamespaceAlreadyExists"):
        sd.create_http_namespace(Name="apps")

    dns_id = private_namespace(sd, "app.local")
    listed = sd.list_namespaces(Filters=[{"Name": "TYPE", "Values": ["DNS_PRIVATE"], "Condition": "EQ"}])
    assert [n["Id"] for n in listed["Namespaces"]] == [dns_id]
    pages = sd.get_paginator("list_namespaces").paginate(PaginationConfig={"PageSize": 1})
    assert sorted(n["Name"] for p in pages for n in p["Namespaces"]) == ["app.local", "apps"]

    svc = sd.create_service(Name="api", NamespaceId=dns_id,
                            DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]})["Service"]
    with raises_aws("ResourceInUse"):
        sd.delete_namespace(Id=dns_id)
    sd.delete_service(Id=svc["Id"])
    wait_operation(sd, sd.delete_namespace(Id=dns_id)["OperationId"])
    with raises_aws("NamespaceNotFound"):
        sd.get_namespace(Id=dns_id)
    with raises_aws("OperationNotFound"):
        sd.get_operation(OperationId="nope")
    types = {o["Id"]: sd.get_operation(OperationId=o["Id"])["Operation"]["Type"]
             for o in sd.list_operations()["Operations"]}
    assert sorted(types.values()) == ["CREATE_NAMESPACE", "CREATE_NAMESPACE", "DELETE_NAMESPACE"]


def test_instances_and_discover_instances(sd):
    ns_id = private_namespace(sd, "app.local")
    svc = sd.create_service(Name="api", NamespaceId=ns_id, HealthCheckCustomConfig={"FailureThreshold": 1},
                            DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 1}, {"Type": "SRV", "TTL": 1}]})["Service"]
    assert svc["DnsConfig"]["RoutingPolicy"] == "MULTIVALUE"
    for iid, stage in (("a", "blue"), ("b", "green")):
        op = sd.register_instance(ServiceId=svc["Id"], InstanceId=iid,
                                  Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "8080", "stage": stage})
        assert wait_operation(sd, op["OperationId"])["Type"] == "REGISTER_INSTANCE"
    found = sd.discover_instances(NamespaceName="app.local", ServiceName="api")
    assert sorted(i["InstanceId"] for i in found["Instances"]) == ["a", "b"]
    assert all(i["HealthStatus"] == "HEALTHY" for i in found["Instances"])
    green = sd.discover_instances(NamespaceName="app.local", ServiceName="api", QueryParameters={"stage": "green"})
    assert [i["InstanceId"] for i in green["Instances"]] == ["b"]

    sd.update_instance_custom_health_status(ServiceId=svc["Id"], InstanceId="a", Status="UNHEALTHY")
    healthy = sd.discover_instances(NamespaceName="app.local", ServiceName="api", HealthStatus="HEALTHY")
    assert [i["InstanceId"] for i in healthy["Instances"]] == ["b"]
    every = sd.discover_instances(NamespaceName="app.local", ServiceName="api", HealthStatus="ALL")
    assert len(every["Instances"]) == 2
    assert sd.get_instances_health_status(ServiceId=svc["Id"])["Status"] == {"a": "UNHEALTHY", "b": "HEALTHY"}
    rev = sd.discover_instances_revision(NamespaceName="app.local", ServiceName="api")["InstancesRevision"]
    assert rev == healthy["InstancesRevision"]

    got = sd.get_instance(ServiceId=svc["Id"], InstanceId="b")["Instance"]
    assert got["Attributes"]["stage"] == "green"
    with raises_aws("InstanceNotFound"):
        sd.get_instance(ServiceId=svc["Id"], InstanceId="zz")
    with raises_aws("ServiceNotFound"):
        sd.discover_instances(NamespaceName="app.local", ServiceName="nope")
    with raises_aws("ResourceInUse"):
        sd.delete_service(Id=svc["Id"])
    with raises_aws("InvalidInput") as e:
        sd.register_instance(ServiceId=svc["Id"], InstanceId="c", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.3"})
    assert "AWS_INSTANCE_PORT" in e.value.response["Error"]["Message"]
    with raises_aws("InvalidInput") as e:
        sd.create_service(Name="r53", NamespaceId=ns_id, HealthCheckConfig={"Type": "HTTP", "ResourcePath": "/"})
    assert "HealthCheckConfig" in e.value.response["Error"]["Message"]

    for iid in ("a", "b"):
        sd.deregister_instance(ServiceId=svc["Id"], InstanceId=iid)
    assert sd.list_instances(ServiceId=svc["Id"])["Instances"] == []
    sd.delete_service(Id=svc["Id"])


def test_tags_on_namespaces_and_services(sd):
    op = sd.create_http_namespace(Name="apps", Tags=[{"Key": "team", "Value": "a"}])["OperationId"]
    ns = sd.get_namespace(Id=wait_operation(sd, op)["Targets"]["NAMESPACE"])["Namespace"]
    sd.tag_resource(ResourceARN=ns["Arn"], Tags=[{"Key": "env", "Value": "dev"}])
    tags = sd.list_tags_for_resource(ResourceARN=ns["Arn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}]
    sd.untag_resource(ResourceARN=ns["Arn"], TagKeys=["team"])
    assert sd.list_tags_for_resource(ResourceARN=ns["Arn"])["Tags"] == [{"Key": "env", "Value": "dev"}]
    with raises_aws("ResourceNotFoundException"):
        sd.list_tags_for_resource(ResourceARN=ns["Arn"] + "x")


def test_the_cli_discovers_instances_and_reports_errors(endpoint, aws, sd):
    ns_id = private_namespace(sd, "app.local")
    out = assert_cli_ok(aws("servicediscovery", "create-service", "--name", "api", "--namespace-id", ns_id,
                            "--dns-config", "RoutingPolicy=MULTIVALUE,DnsRecords=[{Type=A,TTL=5}]"))
    srv = out["Service"]["Id"]
    assert_cli_ok(aws("servicediscovery", "register-instance", "--service-id", srv, "--instance-id", "t1",
                      "--attributes", "AWS_INSTANCE_IPV4=10.1.0.5"))
    out = assert_cli_ok(aws("servicediscovery", "discover-instances", "--namespace-name", "app.local",
                            "--service-name", "api", extra_env=NO_HOST_PREFIX))
    assert [(i["InstanceId"], i["Attributes"]["AWS_INSTANCE_IPV4"]) for i in out["Instances"]] == [("t1", "10.1.0.5")]
    assert_cli_error(aws("servicediscovery", "get-namespace", "--id", "ns-doesnotexist0000"), "NamespaceNotFound")
    assert_cli_error(aws("servicediscovery", "create-private-dns-namespace", "--name", "app.local",
                         "--vpc", "vpc-1"), "NamespaceAlreadyExists")


def test_an_ecs_service_registers_its_tasks(ecs, sd):
    """The fake-free path: ecsbox's shared server runs real Docker tasks only
    when Docker is there, so this checks the registration contract ECS
    checks at CreateService (the Docker e2e lives in tests/docker_service_discovery.rs)."""
    ns_id = private_namespace(sd, "app.local")
    svc = sd.create_service(Name="api", NamespaceId=ns_id,
                            DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 1}]})["Service"]
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", networkMode="awsvpc", cpu="256", memory="512",
                                 requiresCompatibilities=["FARGATE"],
                                 containerDefinitions=[{"name": "app", "image": "app:1"}])
    net = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
    missing = svc["Arn"].replace(svc["Id"], "srv-missing00000000")
    with raises_aws("InvalidParameterException") as e:
        ecs.create_service(cluster="c", serviceName="x", taskDefinition="web", desiredCount=0,
                           launchType="FARGATE", networkConfiguration=net,
                           serviceRegistries=[{"registryArn": missing}])
    assert missing in e.value.response["Error"]["Message"]
    out = ecs.create_service(cluster="c", serviceName="api", taskDefinition="web", desiredCount=0,
                             launchType="FARGATE", networkConfiguration=net,
                             serviceRegistries=[{"registryArn": svc["Arn"]}])["service"]
    assert out["serviceRegistries"] == [{"registryArn": svc["Arn"]}]


def test_a_service_connect_service_through_boto3_and_the_cli(ecs, sd, aws):
    """serviceConnectConfiguration is checked, completed with ECS's defaults
    and shown on the deployment; its Cloud Map service is created; the
    namespace lists the service (tests/service_connect.rs has the rest)."""
    ns_id = private_namespace(sd, "sc.local")
    ns_arn = sd.get_namespace(Id=ns_id)["Namespace"]["Arn"]
    ecs.create_cluster(clusterName="sc")
    ecs.register_task_definition(family="api", networkMode="awsvpc", cpu="256", memory="512",
                                 requiresCompatibilities=["FARGATE"],
                                 containerDefinitions=[{"name": "app", "image": "app:1",
                                                        "portMappings": [{"name": "http", "containerPort": 80}]}])
    net = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
    with raises_aws("InvalidParameterException") as e:
        ecs.create_service(cluster="sc", serviceName="api", taskDefinition="api", desiredCount=0,
                           launchType="FARGATE", networkConfiguration=net,
                           serviceConnectConfiguration={"enabled": True, "namespace": "sc.local",
                                                        "services": [{"portName": "web"}]})
    assert "'web'" in e.value.response["Error"]["Message"]
    with raises_aws("NamespaceNotFoundException"):
        ecs.create_service(cluster="sc", serviceName="api", taskDefinition="api", desiredCount=0,
                           launchType="FARGATE", networkConfiguration=net,
                           serviceConnectConfiguration={"enabled": True, "namespace": "nope.local"})
    out = ecs.create_service(
        cluster="sc", serviceName="api", taskDefinition="api", desiredCount=0,
        launchType="FARGATE", networkConfiguration=net,
        serviceConnectConfiguration={"enabled": True, "namespace": "sc.local",
                                     "services": [{"portName": "http",
                                                   "clientAliases": [{"port": 8080, "dnsName": "api"}]}]})["service"]
    deployment = out["deployments"][0]
    assert deployment["serviceConnectConfiguration"] == {
        "enabled": True, "namespace": ns_arn,
        "services": [{"portName": "http", "discoveryName": "http",
                      "clientAliases": [{"port": 8080, "dnsName": "api"}]}]}
    [resource] = deployment["serviceConnectResources"]
    assert resource["discoveryName"] == "http"
    created = sd.get_service(Id=resource["discoveryArn"].rsplit("/", 1)[1])["Service"]
    assert created["Name"] == "http" and created["NamespaceId"] == ns_id
    listed = assert_cli_ok(aws("ecs", "list-services-by-namespace", "--namespace", "sc.local"))
    assert [a.rsplit("/", 1)[1] for a in listed["serviceArns"]] == ["api"]

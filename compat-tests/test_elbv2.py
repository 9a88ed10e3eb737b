"""Elastic Load Balancing v2 on the ecsbox port (query protocol), through
boto3 and the aws CLI: load balancers, target groups, listeners, rules,
targets, attributes, tags, the waiters (load_balancer_available,
target_deregistered, target_in_service) and AWS's errors.

AWS's words relied on, and where they are quoted:
- "Load balancers '[NAME]' not found": hashicorp/terraform-provider-aws#10669
- "Target group 'ARN' is currently in use by a listener or a rule":
  aws/copilot-cli#2593
- "One or more target groups not found": aws-samples/service-screener-v2#212
"""

import http.server
import json
import threading
import urllib.request

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

FAST = {"Delay": 1, "MaxAttempts": 5}


@pytest.fixture
def elbv2(endpoint):
    return harness.aws_client(endpoint, "elbv2")


@pytest.fixture
def network(endpoint):
    """(two subnet ids in two zones, the default VPC's id)."""
    ec2 = harness.aws_client(endpoint, "ec2")
    subnets = sorted(ec2.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
    return [s["SubnetId"] for s in subnets[:2]], subnets[0]["VpcId"]


def new_lb(elbv2, network, name="web", **kw):
    subnets, _ = network
    return elbv2.create_load_balancer(Name=name, Subnets=subnets, **kw)["LoadBalancers"][0]


def new_tg(elbv2, network, name="app", **kw):
    _, vpc = network
    args = dict(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
    args.update(kw)
    return elbv2.create_target_group(**args)["TargetGroups"][0]


def forward(tg_arn):
    return [{"Type": "forward", "TargetGroupArn": tg_arn}]


# ------------------------------------------------------------ load balancers

def test_load_balancer_available_waiter_sees_provisioning_then_active(elbv2, network):
    lb = new_lb(elbv2, network, Tags=[{"Key": "team", "Value": "web"}])
    assert lb["State"]["Code"] == "provisioning"
    assert lb["DNSName"].startswith("web-") and lb["DNSName"].endswith(".us-east-1.elb.localhost")
    assert lb["LoadBalancerArn"].startswith(
        f"arn:aws:elasticloadbalancing:us-east-1:{harness.DEFAULT_ACCOUNT}:loadbalancer/app/web/")
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == set(network[0])
    assert lb["CreatedTime"].year >= 2024
    elbv2.get_waiter("load_balancer_available").wait(Names=["web"], WaiterConfig=FAST)
    described = elbv2.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"]
    assert [d["State"]["Code"] for d in described] == ["active"]
    # The paginator pages with Marker and PageSize.
    for name in ["b", "c"]:
        new_lb(elbv2, network, name=name)
    pages = elbv2.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 2})
    assert sorted(lb["LoadBalancerName"] for p in pages for lb in p["LoadBalancers"]) == ["b", "c", "web"]


def test_unknown_names_and_duplicates_get_aws_errors(elbv2, network):
    new_lb(elbv2, network)
    with raises_aws("LoadBalancerNotFound") as e:
        elbv2.describe_load_balancers(Names=["missing"])
    assert e.value.response["Error"]["Message"] == "Load balancers '[missing]' not found"
    with raises_aws("DuplicateLoadBalancerName"):
        new_lb(elbv2, network, Scheme="internal")
    with raises_aws("ValidationError") as e:
        elbv2.create_load_balancer(Name="one-zone", Subnets=network[0][:1])
    assert "two different Availability Zones" in e.value.response["Error"]["Message"]
    # A waiter on a load balancer that never comes retries, then gives up.
    with pytest.raises(Exception, match="Max attempts exceeded"):
        elbv2.get_waiter("load_balancer_available").wait(Names=["never"], WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_deletion_protection_keeps_a_load_balancer(elbv2, network):
    lb = new_lb(elbv2, network)["LoadBalancerArn"]
    attrs = elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "true"},
        {"Key": "idle_timeout.timeout_seconds", "Value": "300"}])["Attributes"]
    assert {"Key": "idle_timeout.timeout_seconds", "Value": "300"} in attrs
    with raises_aws("OperationNotPermitted"):
        elbv2.delete_load_balancer(LoadBalancerArn=lb)
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "false"}])
    elbv2.delete_load_balancer(LoadBalancerArn=lb)
    with raises_aws("LoadBalancerNotFound"):
        elbv2.describe_load_balancers(LoadBalancerArns=[lb])
    with raises_aws("ValidationError") as e:
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=new_lb(elbv2, network, name="x")["LoadBalancerArn"],
                                              Attributes=[{"Key": "no.such.key", "Value": "1"}])
    assert e.value.response["Error"]["Message"] == "Load balancer attribute key 'no.such.key' is not recognized"


# ------------------------------------------------------ listeners and rules

def test_listener_rules_and_target_groups_fit_together(elbv2, network, endpoint):
    lb = new_lb(elbv2, network)["LoadBalancerArn"]
    blue = new_tg(elbv2, network, name="blue")["TargetGroupArn"]
    green = new_tg(elbv2, network, name="green")["TargetGroupArn"]
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8095,
                                     DefaultActions=forward(blue))["Listeners"][0]
    # A simple forward is described with its ForwardConfig too, as AWS does.
    action = listener["DefaultActions"][0]
    assert action["ForwardConfig"]["TargetGroups"] == [{"TargetGroupArn": blue, "Weight": 1}]
    weighted = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=5,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}},
                    {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["1"]}}],
        Actions=[{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": blue, "Weight": 90}, {"TargetGroupArn": green, "Weight": 10}],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300}}}])["Rules"][0]
    assert weighted["Priority"] == "5"
    elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=1,
                      Conditions=[{"Field": "path-pattern", "Values": ["/old/*"]}],
                      Actions=[{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_302"}}])
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["1", "5", "default"]
    assert rules[-1]["IsDefault"] is True and rules[-1]["Conditions"] == []
    # The old Values form gains its Config form.
    assert rules[0]["Conditions"][0]["PathPatternConfig"] == {"Values": ["/old/*"]}
    with raises_aws("PriorityInUse") as e:
        elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=5,
                          Conditions=[{"Field": "path-pattern", "Values": ["/x"]}], Actions=forward(blue))
    assert e.value.response["Error"]["Message"] == "Priority '5' is currently in use"
    # Both groups now name the load balancer; neither can be deleted.
    groups = elbv2.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"]
    assert sorted(g["TargetGroupName"] for g in groups) == ["blue", "green"]
    assert all(g["LoadBalancerArns"] == [lb] for g in groups)
    with raises_aws("ResourceInUse") as e:
        elbv2.delete_target_group(TargetGroupArn=green)
    assert e.value.response["Error"]["Message"] == f"Target group '{green}' is currently in use by a listener or a rule"
    elbv2.modify_rule(RuleArn=weighted["RuleArn"], Actions=forward(blue))
    elbv2.delete_target_group(TargetGroupArn=green)
    with raises_aws("DuplicateListener"):
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8095, DefaultActions=forward(blue))
    # Where the listener really listens.
    where = json.loads(urllib.request.urlopen(f"{endpoint}/_ecsbox/elbv2/listeners").read())
    assert [(w["listenerArn"], w["port"]) for w in where] == [(listener["ListenerArn"], 8095)]
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    assert json.loads(urllib.request.urlopen(f"{endpoint}/_ecsbox/elbv2/listeners").read()) == []


def test_actions_ecsbox_cannot_perform_are_refused_by_name(elbv2, network):
    lb = new_lb(elbv2, network)["LoadBalancerArn"]
    with raises_aws("InvalidLoadBalancerAction") as e:
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{
            "Type": "authenticate-cognito", "AuthenticateCognitoConfig": {
                "UserPoolArn": "arn:aws:cognito-idp:us-east-1:000000000000:userpool/x",
                "UserPoolClientId": "c", "UserPoolDomain": "d"}}])
    assert "authenticate-cognito" in e.value.response["Error"]["Message"]
    with raises_aws("ValidationError") as e:
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, DefaultActions=[
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert "certificate" in e.value.response["Error"]["Message"]


# ------------------------------------------------------------------- targets

def test_targets_register_report_health_and_deregister(elbv2, network):
    lb = new_lb(elbv2, network)["LoadBalancerArn"]
    tg = new_tg(elbv2, network)["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8096, DefaultActions=forward(tg))
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.3.4"}, {"Id": "172.31.3.5", "Port": 9000}])
    health = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
    assert sorted((h["Target"]["Id"], h["Target"]["Port"]) for h in health) == [("172.31.3.4", 8080), ("172.31.3.5", 9000)]
    assert {h["TargetHealth"]["State"] for h in health} <= {"initial", "healthy", "unhealthy"}
    with raises_aws("InvalidTarget"):
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "AvailabilityZone": "all"}])
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "172.31.3.4"}])
    elbv2.get_waiter("target_deregistered").wait(TargetGroupArn=tg, Targets=[{"Id": "172.31.3.4"}], WaiterConfig=FAST)
    gone = elbv2.describe_target_health(TargetGroupArn=tg, Targets=[{"Id": "172.31.3.4"}])["TargetHealthDescriptions"]
    assert gone[0]["TargetHealth"]["State"] == "unused"
    assert gone[0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
    with raises_aws("TargetGroupNotFound") as e:
        elbv2.describe_target_groups(TargetGroupArns=[tg.replace("/app/", "/nope/")])
    assert e.value.response["Error"]["Message"] == "One or more target groups not found"


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_target_in_service_waiter_sees_an_instance_target_become_healthy(start_ecsbox):
    """An instance target is an ECS container instance's ec2InstanceId; the
    plane reaches it on --lb-instance-address (127.0.0.1) at its port,
    where this test serves HTTP 200."""
    server = start_ecsbox("--container-instances", "1")
    ecs = harness.ecs_client(server.endpoint)
    ecs.create_cluster(clusterName="c")
    arn = ecs.list_container_instances(cluster="c")["containerInstanceArns"][0]
    instance = ecs.describe_container_instances(cluster="c", containerInstances=[arn])["containerInstances"][0]["ec2InstanceId"]
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    try:
        elbv2 = harness.aws_client(server.endpoint, "elbv2")
        ec2 = harness.aws_client(server.endpoint, "ec2")
        subnets = sorted(ec2.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
        lb = elbv2.create_load_balancer(Name="svc", Subnets=[s["SubnetId"] for s in subnets[:2]])["LoadBalancers"][0]
        tg = elbv2.create_target_group(Name="svc", Protocol="HTTP", Port=80, VpcId=subnets[0]["VpcId"],
                                       HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                                       HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8097, DefaultActions=forward(tg))
        target = {"Id": instance, "Port": backend.server_address[1]}
        elbv2.register_targets(TargetGroupArn=tg, Targets=[target])
        elbv2.get_waiter("target_in_service").wait(TargetGroupArn=tg, Targets=[target],
                                                    WaiterConfig={"Delay": 2, "MaxAttempts": 10})
    finally:
        backend.shutdown()


# ---------------------------------------------------------------- attributes

def test_target_group_attributes_round_trip_and_unknown_keys_are_refused(elbv2, network):
    tg = new_tg(elbv2, network)["TargetGroupArn"]
    attrs = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"]}
    assert attrs["deregistration_delay.timeout_seconds"] == "300"
    assert attrs["stickiness.enabled"] == "false"
    assert attrs["load_balancing.algorithm.type"] == "round_robin"
    elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "10"},
        {"Key": "stickiness.enabled", "Value": "true"},
        {"Key": "stickiness.type", "Value": "lb_cookie"},
        {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}])
    attrs = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"]}
    assert (attrs["deregistration_delay.timeout_seconds"], attrs["stickiness.enabled"]) == ("10", "true")
    with raises_aws("ValidationError") as e:
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "made.up", "Value": "1"}])
    assert e.value.response["Error"]["Message"] == "Target group attribute key 'made.up' is not recognized"
    with raises_aws("InvalidConfigurationRequest"):
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "load_balancing.algorithm.type", "Value": "weighted_random"}])


def test_operations_not_built_answer_their_name(elbv2):
    with raises_aws("InvalidAction") as e:
        elbv2.describe_trust_stores()
    assert "DescribeTrustStores" in e.value.response["Error"]["Message"]


# ----------------------------------------------------------------------- CLI

def test_cli_builds_a_load_balancer_and_waits_for_it(aws, network):
    subnets, vpc = network
    lb = assert_cli_ok(aws("elbv2", "create-load-balancer", "--name", "cli", "--subnets", *subnets,
                           "--tags", "Key=env,Value=dev"))["LoadBalancers"][0]
    assert_cli_ok(aws("elbv2", "wait", "load-balancer-available", "--load-balancer-arns", lb["LoadBalancerArn"]))
    tg = assert_cli_ok(aws("elbv2", "create-target-group", "--name", "cli-tg", "--protocol", "HTTP", "--port", "80",
                           "--vpc-id", vpc, "--target-type", "ip", "--health-check-path", "/health"))["TargetGroups"][0]
    assert tg["HealthCheckPath"] == "/health"
    listener = assert_cli_ok(aws("elbv2", "create-listener", "--load-balancer-arn", lb["LoadBalancerArn"],
                                 "--protocol", "HTTP", "--port", "8098",
                                 "--default-actions", f"Type=forward,TargetGroupArn={tg['TargetGroupArn']}"))["Listeners"][0]
    assert listener["Port"] == 8098
    described = assert_cli_ok(aws("elbv2", "describe-listeners", "--load-balancer-arn", lb["LoadBalancerArn"]))
    assert [l["ListenerArn"] for l in described["Listeners"]] == [listener["ListenerArn"]]
    assert_cli_ok(aws("elbv2", "register-targets", "--target-group-arn", tg["TargetGroupArn"],
                      "--targets", "Id=172.31.9.9"))
    health = assert_cli_ok(aws("elbv2", "describe-target-health", "--target-group-arn", tg["TargetGroupArn"]))
    assert [h["Target"]["Id"] for h in health["TargetHealthDescriptions"]] == ["172.31.9.9"]
    assert_cli_ok(aws("elbv2", "deregister-targets", "--target-group-arn", tg["TargetGroupArn"],
                      "--targets", "Id=172.31.9.9"))
    assert_cli_ok(aws("elbv2", "wait", "target-deregistered", "--target-group-arn", tg["TargetGroupArn"],
                      "--targets", "Id=172.31.9.9"))
    tags = assert_cli_ok(aws("elbv2", "describe-tags", "--resource-arns", lb["LoadBalancerArn"]))
    assert tags["TagDescriptions"][0]["Tags"] == [{"Key": "env", "Value": "dev"}]
    err = assert_cli_error(aws("elbv2", "delete-target-group", "--target-group-arn", tg["TargetGroupArn"]),
                           "ResourceInUse")
    assert "is currently in use by a listener or a rule" in err
    assert_cli_ok(aws("elbv2", "delete-load-balancer", "--load-balancer-arn", lb["LoadBalancerArn"]))
    assert_cli_ok(aws("elbv2", "delete-target-group", "--target-group-arn", tg["TargetGroupArn"]))
    assert_cli_error(aws("elbv2", "describe-load-balancers", "--names", "cli"), "LoadBalancerNotFound")

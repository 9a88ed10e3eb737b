"""Capacity providers through boto3 and the aws CLI: FARGATE and
FARGATE_SPOT always exist; Auto Scaling group providers are created,
described, updated, associated with clusters and deleted."""

import zlib

import pytest

from harness import assert_cli_error, assert_cli_ok, raises_aws

CP_ARN = "arn:aws:ecs:us-east-1:000000000000:capacity-provider/{}"


def asg_arn(name: str) -> str:
    return ("arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:"
            f"0d6f1e34-0000-4000-8000-{zlib.crc32(name.encode()):012d}:autoScalingGroupName/{name}")


def create(ecs, name: str, **asg) -> dict:
    provider = {"autoScalingGroupArn": asg_arn(name)}
    provider.update(asg)
    return ecs.create_capacity_provider(name=name, autoScalingGroupProvider=provider)["capacityProvider"]


def test_fargate_providers_always_exist(ecs):
    out = ecs.describe_capacity_providers()
    by_name = {cp["name"]: cp for cp in out["capacityProviders"]}
    for name in ("FARGATE", "FARGATE_SPOT"):
        assert by_name[name]["capacityProviderArn"] == CP_ARN.format(name)
        assert by_name[name]["status"] == "ACTIVE"
    assert out.get("failures", []) == []


def test_create_an_auto_scaling_group_provider(ecs):
    cp = ecs.create_capacity_provider(
        name="asg-one",
        autoScalingGroupProvider={
            "autoScalingGroupArn": asg_arn("asg-one"),
            "managedScaling": {"status": "ENABLED", "targetCapacity": 80, "minimumScalingStepSize": 2,
                               "maximumScalingStepSize": 50, "instanceWarmupPeriod": 120},
            "managedTerminationProtection": "ENABLED",
            "managedDraining": "DISABLED",
        },
        tags=[{"key": "team", "value": "infra"}],
    )["capacityProvider"]
    assert cp["capacityProviderArn"] == CP_ARN.format("asg-one")
    assert cp["name"] == "asg-one" and cp["status"] == "ACTIVE"
    asg = cp["autoScalingGroupProvider"]
    assert asg["autoScalingGroupArn"] == asg_arn("asg-one")
    assert asg["managedScaling"] == {"status": "ENABLED", "targetCapacity": 80, "minimumScalingStepSize": 2,
                                     "maximumScalingStepSize": 50, "instanceWarmupPeriod": 120}
    assert asg["managedTerminationProtection"] == "ENABLED"
    assert asg["managedDraining"] == "DISABLED"
    assert cp["tags"] == [{"key": "team", "value": "infra"}]


def test_create_fills_in_aws_defaults(ecs):
    asg = create(ecs, "defaults")["autoScalingGroupProvider"]
    assert asg["managedScaling"]["targetCapacity"] == 100
    assert asg["managedScaling"]["minimumScalingStepSize"] == 1
    assert asg["managedScaling"]["maximumScalingStepSize"] == 10000
    assert asg["managedTerminationProtection"] == "DISABLED"


@pytest.mark.parametrize("name", ["awsProvider", "ecs-provider", "fargate2", "FARGATE", "bad name", "x" * 256])
def test_create_refuses_a_reserved_or_invalid_name(ecs, name):
    with raises_aws("ClientException"):
        create(ecs, name)
    assert [cp["name"] for cp in ecs.describe_capacity_providers()["capacityProviders"]] == ["FARGATE", "FARGATE_SPOT"]


def test_create_refuses_an_existing_name(ecs):
    create(ecs, "dup")
    with raises_aws("ClientException") as e:
        ecs.create_capacity_provider(name="dup", autoScalingGroupProvider={"autoScalingGroupArn": asg_arn("other")})
    assert "already exists" in str(e.value)


def test_create_refuses_an_auto_scaling_group_already_in_use(ecs):
    create(ecs, "first")
    with raises_aws("ClientException") as e:
        ecs.create_capacity_provider(name="second", autoScalingGroupProvider={"autoScalingGroupArn": asg_arn("first")})
    assert "already being used" in str(e.value)


def test_managed_termination_protection_needs_managed_scaling(ecs):
    with raises_aws("ClientException"):
        create(ecs, "protected", managedTerminationProtection="ENABLED", managedScaling={"status": "DISABLED"})


def test_describe_by_name_and_arn_with_failures_and_tags(ecs):
    create(ecs, "d1")
    ecs.create_capacity_provider(name="d2", autoScalingGroupProvider={"autoScalingGroupArn": asg_arn("d2")},
                                 tags=[{"key": "k", "value": "v"}])
    out = ecs.describe_capacity_providers(capacityProviders=["d1", CP_ARN.format("d2"), "FARGATE", "nope"],
                                          include=["TAGS"])
    assert [cp["name"] for cp in out["capacityProviders"]] == ["d1", "d2", "FARGATE"]
    assert out["capacityProviders"][1]["tags"] == [{"key": "k", "value": "v"}]
    assert out["failures"] == [{"arn": CP_ARN.format("nope"), "reason": "MISSING"}]
    plain = ecs.describe_capacity_providers(capacityProviders=["d2"])["capacityProviders"][0]
    assert not plain.get("tags")


def test_describe_pages(ecs):
    for i in range(4):
        create(ecs, f"p{i}")
    first = ecs.describe_capacity_providers(maxResults=4)
    assert len(first["capacityProviders"]) == 4 and first["nextToken"]
    rest = ecs.describe_capacity_providers(maxResults=4, nextToken=first["nextToken"])
    names = [cp["name"] for cp in first["capacityProviders"] + rest["capacityProviders"]]
    assert names == ["FARGATE", "FARGATE_SPOT", "p0", "p1", "p2", "p3"]
    with raises_aws("InvalidParameterException"):
        ecs.describe_capacity_providers(maxResults=11)


def test_update_changes_only_what_is_given(ecs):
    create(ecs, "u", managedScaling={"status": "ENABLED", "targetCapacity": 50})
    cp = ecs.update_capacity_provider(name="u", autoScalingGroupProvider={
        "managedScaling": {"targetCapacity": 90}, "managedDraining": "DISABLED"})["capacityProvider"]
    asg = cp["autoScalingGroupProvider"]
    assert asg["managedScaling"]["targetCapacity"] == 90
    assert asg["managedScaling"]["status"] == "ENABLED"
    assert asg["managedDraining"] == "DISABLED"
    assert cp["updateStatus"] == "UPDATE_COMPLETE"
    again = ecs.describe_capacity_providers(capacityProviders=["u"])["capacityProviders"][0]
    assert again["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] == 90


@pytest.mark.parametrize("name", ["nope", "FARGATE"])
def test_update_refuses_unknown_and_reserved_providers(ecs, name):
    with raises_aws("InvalidParameterException"):
        ecs.update_capacity_provider(name=name, autoScalingGroupProvider={"managedDraining": "ENABLED"})


def test_delete_an_unassociated_provider(ecs):
    create(ecs, "gone")
    cp = ecs.delete_capacity_provider(capacityProvider="gone")["capacityProvider"]
    assert cp["name"] == "gone"
    assert cp["updateStatus"] in ("DELETE_IN_PROGRESS", "DELETE_COMPLETE")
    names = [c["name"] for c in ecs.describe_capacity_providers()["capacityProviders"]]
    assert "gone" not in names
    # Its Auto Scaling group is free for another provider.
    ecs.create_capacity_provider(name="reuse", autoScalingGroupProvider={"autoScalingGroupArn": asg_arn("gone")})


def test_delete_of_an_associated_provider_fails_until_the_cluster_lets_go(ecs):
    """AWS answers 200 with updateStatus DELETE_FAILED and the reason, and
    keeps the provider ACTIVE (as Terraform's provider and aws-nuke document)."""
    create(ecs, "held")
    ecs.create_cluster(clusterName="c", capacityProviders=["held"])
    cp = ecs.delete_capacity_provider(capacityProvider="held")["capacityProvider"]
    assert cp["status"] == "ACTIVE" and cp["updateStatus"] == "DELETE_FAILED"
    assert "c" in cp["updateStatusReason"]
    ecs.put_cluster_capacity_providers(cluster="c", capacityProviders=[], defaultCapacityProviderStrategy=[])
    cp = ecs.delete_capacity_provider(capacityProvider=CP_ARN.format("held"))["capacityProvider"]
    assert cp["updateStatus"] != "DELETE_FAILED"


@pytest.mark.parametrize("name", ["nope", "FARGATE_SPOT"])
def test_delete_refuses_unknown_and_reserved_providers(ecs, name):
    with raises_aws("InvalidParameterException"):
        ecs.delete_capacity_provider(capacityProvider=name)


def test_an_auto_scaling_group_provider_serves_one_cluster(ecs):
    create(ecs, "one")
    ecs.create_cluster(clusterName="a", capacityProviders=["one"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "one", "weight": 1}])
    ecs.create_cluster(clusterName="b")
    with raises_aws("ResourceInUseException"):
        ecs.put_cluster_capacity_providers(cluster="b", capacityProviders=["one"], defaultCapacityProviderStrategy=[])
    # Fargate providers are shared by every cluster.
    ecs.put_cluster_capacity_providers(cluster="b", capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[])


def test_a_strategy_cannot_mix_fargate_and_auto_scaling_providers(ecs):
    create(ecs, "mix")
    ecs.create_cluster(clusterName="m")
    with raises_aws("InvalidParameterException"):
        ecs.put_cluster_capacity_providers(
            cluster="m", capacityProviders=["FARGATE", "mix"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1},
                                             {"capacityProvider": "mix", "weight": 1}])


# ------------------------------------------------------------------ CLI

def test_cli_create_describe_update_delete(aws):
    arn = asg_arn("cli")
    out = assert_cli_ok(aws("ecs", "create-capacity-provider", "--name", "cli",
                            "--auto-scaling-group-provider",
                            f"autoScalingGroupArn={arn},managedScaling={{status=ENABLED,targetCapacity=75}},"
                            "managedTerminationProtection=DISABLED",
                            "--tags", "key=k,value=v"))
    assert out["capacityProvider"]["capacityProviderArn"] == CP_ARN.format("cli")
    out = assert_cli_ok(aws("ecs", "describe-capacity-providers", "--capacity-providers", "cli", "missing",
                            "--include", "TAGS"))
    assert out["capacityProviders"][0]["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] == 75
    assert out["capacityProviders"][0]["tags"] == [{"key": "k", "value": "v"}]
    assert out["failures"][0]["reason"] == "MISSING"
    out = assert_cli_ok(aws("ecs", "update-capacity-provider", "--name", "cli",
                            "--auto-scaling-group-provider", "managedScaling={targetCapacity=60}"))
    assert out["capacityProvider"]["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] == 60
    out = assert_cli_ok(aws("ecs", "delete-capacity-provider", "--capacity-provider", "cli"))
    assert out["capacityProvider"]["name"] == "cli"


def test_cli_errors(aws, ecs):
    create(ecs, "taken")
    r = aws("ecs", "create-capacity-provider", "--name", "taken",
            "--auto-scaling-group-provider", f"autoScalingGroupArn={asg_arn('fresh')}")
    assert_cli_error(r, "ClientException")
    r = aws("ecs", "create-capacity-provider", "--name", "ecs-reserved",
            "--auto-scaling-group-provider", f"autoScalingGroupArn={asg_arn('fresh')}")
    assert_cli_error(r, "ClientException")
    r = aws("ecs", "update-capacity-provider", "--name", "nope",
            "--auto-scaling-group-provider", "managedDraining=ENABLED")
    assert_cli_error(r, "InvalidParameterException")
    assert_cli_error(aws("ecs", "delete-capacity-provider", "--capacity-provider", "nope"), "InvalidParameterException")
    # DescribeCapacityProviders has no paginator: the CLI shows the token.
    first = assert_cli_ok(aws("ecs", "describe-capacity-providers", "--max-results", "2"))
    assert [cp["name"] for cp in first["capacityProviders"]] == ["FARGATE", "FARGATE_SPOT"]
    rest = assert_cli_ok(aws("ecs", "describe-capacity-providers", "--max-results", "2",
                             "--next-token", first["nextToken"]))
    assert [cp["name"] for cp in rest["capacityProviders"]] == ["taken"]

"""PutAttributes, DeleteAttributes and ListAttributes through boto3 and the
aws CLI. Custom attributes target container instances; none can be
registered yet, so every target is one ECS does not know."""

import pytest

from harness import assert_cli_error, assert_cli_ok, raises_aws

INSTANCE = "arn:aws:ecs:us-east-1:000000000000:container-instance/c/0123456789abcdef0123456789abcdef"


def attribute(name="stack", value="prod", target=INSTANCE, **kw) -> dict:
    a = {"name": name, "value": value, "targetId": target}
    a.update(kw)
    return a


def test_list_attributes_of_an_empty_cluster(ecs):
    ecs.create_cluster(clusterName="c")
    out = ecs.list_attributes(cluster="c", targetType="container-instance")
    assert out["attributes"] == []
    assert "nextToken" not in out


def test_put_on_an_unknown_container_instance(ecs):
    ecs.create_cluster(clusterName="c")
    with raises_aws("TargetNotFoundException"):
        ecs.put_attributes(cluster="c", attributes=[attribute()])
    with raises_aws("TargetNotFoundException"):
        ecs.put_attributes(cluster="c", attributes=[attribute(target="0123456789abcdef", targetType="container-instance")])
    assert ecs.list_attributes(cluster="c", targetType="container-instance")["attributes"] == []


def test_delete_on_an_unknown_container_instance(ecs):
    ecs.create_cluster(clusterName="c")
    with raises_aws("TargetNotFoundException"):
        ecs.delete_attributes(cluster="c", attributes=[attribute()])


@pytest.mark.parametrize("call", [
    lambda ecs: ecs.put_attributes(cluster="nope", attributes=[attribute()]),
    lambda ecs: ecs.delete_attributes(cluster="nope", attributes=[attribute()]),
    lambda ecs: ecs.list_attributes(cluster="nope", targetType="container-instance"),
], ids=["put", "delete", "list"])
def test_a_missing_cluster(ecs, call):
    with raises_aws("ClusterNotFoundException"):
        call(ecs)


@pytest.mark.parametrize("attrs", [
    [attribute(name="has space")],
    [attribute(name="n" * 129)],
    [attribute(value=" leading-space")],
    [attribute(value="v" * 129)],
    [attribute(target="0123456789abcdef")],  # a short id needs targetType
], ids=["name-space", "name-long", "value-space", "value-long", "short-id-without-type"])
def test_put_refuses_invalid_attributes(ecs, attrs):
    ecs.create_cluster(clusterName="c")
    with raises_aws("InvalidParameterException"):
        ecs.put_attributes(cluster="c", attributes=attrs)


def test_put_refuses_more_than_ten_attributes_at_once(ecs):
    ecs.create_cluster(clusterName="c")
    with raises_aws("AttributeLimitExceededException"):
        ecs.put_attributes(cluster="c", attributes=[attribute(name=f"a{i}") for i in range(11)])


def test_list_refuses_a_value_filter_without_a_name(ecs):
    ecs.create_cluster(clusterName="c")
    with raises_aws("InvalidParameterException"):
        ecs.list_attributes(cluster="c", targetType="container-instance", attributeValue="prod")


# ------------------------------------------------------------------ CLI

def test_cli(aws, ecs):
    ecs.create_cluster(clusterName="c")
    out = assert_cli_ok(aws("ecs", "list-attributes", "--cluster", "c", "--target-type", "container-instance"))
    assert out["attributes"] == []
    r = aws("ecs", "put-attributes", "--cluster", "c", "--attributes", f"name=stack,value=prod,targetId={INSTANCE}")
    assert_cli_error(r, "TargetNotFoundException")
    r = aws("ecs", "delete-attributes", "--cluster", "c", "--attributes", f"name=stack,targetId={INSTANCE}")
    assert_cli_error(r, "TargetNotFoundException")
    r = aws("ecs", "list-attributes", "--cluster", "nope", "--target-type", "container-instance")
    assert_cli_error(r, "ClusterNotFoundException")

"""TagResource, UntagResource and ListTagsForResource on every taggable
resource that exists so far (clusters, task definitions, capacity
providers), through boto3 and the aws CLI."""

import pytest

from examples import ec2
from harness import assert_cli_error, assert_cli_ok, raises_aws

CLUSTER = "arn:aws:ecs:us-east-1:000000000000:cluster/{}"
TASK_DEF = "arn:aws:ecs:us-east-1:000000000000:task-definition/{}"
PROVIDER = "arn:aws:ecs:us-east-1:000000000000:capacity-provider/{}"


def make_resources(ecs) -> dict[str, str]:
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(**ec2("td"))
    ecs.create_capacity_provider(name="cp", autoScalingGroupProvider={
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/cp"})
    return {"cluster": CLUSTER.format("c"), "task-definition": TASK_DEF.format("td:1"),
            "capacity-provider": PROVIDER.format("cp")}


def tags_of(ecs, arn) -> dict[str, str]:
    return {t["key"]: t["value"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]}


@pytest.mark.parametrize("kind", ["cluster", "task-definition", "capacity-provider"])
def test_tag_list_untag(ecs, kind):
    arn = make_resources(ecs)[kind]
    assert tags_of(ecs, arn) == {}
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}, {"key": "team", "value": "a"}])
    assert tags_of(ecs, arn) == {"env": "dev", "team": "a"}
    # Tagging a key again replaces its value; other keys stay.
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}])
    assert tags_of(ecs, arn) == {"env": "prod", "team": "a"}
    # Removing a key the resource does not have is no error.
    ecs.untag_resource(resourceArn=arn, tagKeys=["env", "never-set"])
    assert tags_of(ecs, arn) == {"team": "a"}


def test_tags_show_in_describe_with_include(ecs):
    arns = make_resources(ecs)
    for arn in arns.values():
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert ecs.describe_clusters(clusters=["c"], include=["TAGS"])["clusters"][0]["tags"] == [{"key": "k", "value": "v"}]
    assert ecs.describe_task_definition(taskDefinition="td:1", include=["TAGS"])["tags"] == [{"key": "k", "value": "v"}]
    cp = ecs.describe_capacity_providers(capacityProviders=["cp"], include=["TAGS"])["capacityProviders"][0]
    assert cp["tags"] == [{"key": "k", "value": "v"}]


def test_tags_given_at_creation_are_listed(ecs):
    ecs.create_cluster(clusterName="born-tagged", tags=[{"key": "a", "value": "1"}])
    assert tags_of(ecs, CLUSTER.format("born-tagged")) == {"a": "1"}


@pytest.mark.parametrize("tags", [
    [{"key": "aws:created-by", "value": "me"}],
    [{"key": "k" * 129, "value": "v"}],
    [{"key": "k", "value": "v" * 257}],
    [{"key": f"k{i}", "value": "v"} for i in range(51)],
], ids=["aws-prefix", "long-key", "long-value", "too-many"])
def test_tag_refuses_bad_tags_and_changes_nothing(ecs, tags):
    arn = make_resources(ecs)["cluster"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "keep", "value": "me"}])
    with raises_aws("InvalidParameterException"):
        ecs.tag_resource(resourceArn=arn, tags=tags)
    assert tags_of(ecs, arn) == {"keep": "me"}


def test_at_most_fifty_tags_in_all(ecs):
    arn = make_resources(ecs)["cluster"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
    with raises_aws("InvalidParameterException"):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": "v"}])
    assert len(tags_of(ecs, arn)) == 50


@pytest.mark.parametrize("arn, code", [
    (CLUSTER.format("nope"), "ClusterNotFoundException"),
    (TASK_DEF.format("nope:1"), "ClientException"),
    (PROVIDER.format("nope"), "ResourceNotFoundException"),
    ("arn:aws:ecs:us-east-1:123456789012:cluster/c", "ClusterNotFoundException"),
    ("arn:aws:ecs:eu-west-1:000000000000:cluster/c", "ClusterNotFoundException"),
    ("not-an-arn", "InvalidParameterException"),
    ("arn:aws:s3:::bucket", "InvalidParameterException"),
], ids=["cluster", "task-definition", "capacity-provider", "other-account", "other-region", "garbage", "other-service"])
def test_operations_on_resources_that_do_not_exist(ecs, arn, code):
    make_resources(ecs)
    with raises_aws(code):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    with raises_aws(code):
        ecs.list_tags_for_resource(resourceArn=arn)
    with raises_aws(code):
        ecs.untag_resource(resourceArn=arn, tagKeys=["k"])


def test_a_deleted_cluster_cannot_be_tagged(ecs):
    make_resources(ecs)
    ecs.delete_cluster(cluster="c")
    # Terraform's AWS provider recognises exactly this answer as "cluster gone".
    with raises_aws("InvalidParameterException") as e:
        ecs.tag_resource(resourceArn=CLUSTER.format("c"), tags=[{"key": "k", "value": "v"}])
    assert "The specified cluster is inactive" in str(e.value)


def test_tags_are_per_account(ecs_as):
    mine, theirs = ecs_as("111111111111"), ecs_as("222222222222")
    mine.create_cluster(clusterName="c", tags=[{"key": "owner", "value": "111"}])
    theirs.create_cluster(clusterName="c", tags=[{"key": "owner", "value": "222"}])
    assert tags_of(mine, "arn:aws:ecs:us-east-1:111111111111:cluster/c") == {"owner": "111"}
    assert tags_of(theirs, "arn:aws:ecs:us-east-1:222222222222:cluster/c") == {"owner": "222"}


# ------------------------------------------------------------------ CLI

def test_cli_tag_list_untag(aws, ecs):
    arns = make_resources(ecs)
    for arn in arns.values():
        assert_cli_ok(aws("ecs", "tag-resource", "--resource-arn", arn, "--tags", "key=env,value=dev", "key=x,value=y"))
        out = assert_cli_ok(aws("ecs", "list-tags-for-resource", "--resource-arn", arn))
        assert sorted(t["key"] for t in out["tags"]) == ["env", "x"]
        assert_cli_ok(aws("ecs", "untag-resource", "--resource-arn", arn, "--tag-keys", "x"))
        out = assert_cli_ok(aws("ecs", "list-tags-for-resource", "--resource-arn", arn))
        assert out["tags"] == [{"key": "env", "value": "dev"}]


def test_cli_errors(aws, ecs):
    make_resources(ecs)
    r = aws("ecs", "tag-resource", "--resource-arn", CLUSTER.format("nope"), "--tags", "key=k,value=v")
    assert_cli_error(r, "ClusterNotFoundException")
    r = aws("ecs", "tag-resource", "--resource-arn", CLUSTER.format("c"), "--tags", "key=aws:x,value=v")
    assert_cli_error(r, "InvalidParameterException")
    r = aws("ecs", "untag-resource", "--resource-arn", PROVIDER.format("nope"), "--tag-keys", "k")
    assert_cli_error(r, "ResourceNotFoundException")
    r = aws("ecs", "list-tags-for-resource", "--resource-arn", TASK_DEF.format("td:9"))
    assert_cli_error(r, "ClientException")

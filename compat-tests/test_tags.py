"""TagResource, UntagResource and ListTagsForResource on every taggable
resource (clusters, task definitions, capacity providers, services, tasks,
container instances), through boto3 and the aws CLI."""

import time

import pytest

import harness
from examples import ec2
from harness import assert_cli_error, assert_cli_ok, raises_aws

CLUSTER = "arn:aws:ecs:us-east-1:000000000000:cluster/{}"
TASK_DEF = "arn:aws:ecs:us-east-1:000000000000:task-definition/{}"
PROVIDER = "arn:aws:ecs:us-east-1:000000000000:capacity-provider/{}"
SERVICE = "arn:aws:ecs:us-east-1:000000000000:service/{}"
TASK = "arn:aws:ecs:us-east-1:000000000000:task/{}"
INSTANCE = "arn:aws:ecs:us-east-1:000000000000:container-instance/{}"


def make_resources(ecs) -> dict[str, str]:
    """One resource of each type that needs no container: the cluster has one
    virtual container instance, the service wants no task."""
    ecs.create_cluster(clusterName="c", tags=[{"key": "ecsbox:container-instances", "value": "1"}])
    ecs.untag_resource(resourceArn=CLUSTER.format("c"), tagKeys=["ecsbox:container-instances"])
    ecs.register_task_definition(**ec2("td"))
    ecs.create_capacity_provider(name="cp", autoScalingGroupProvider={
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/cp"})
    service = ecs.create_service(cluster="c", serviceName="svc", taskDefinition="td", desiredCount=0)
    [instance] = ecs.list_container_instances(cluster="c")["containerInstanceArns"]
    return {"cluster": CLUSTER.format("c"), "task-definition": TASK_DEF.format("td:1"),
            "capacity-provider": PROVIDER.format("cp"), "service": service["service"]["serviceArn"],
            "container-instance": instance}


KINDS = ["cluster", "task-definition", "capacity-provider", "service", "container-instance"]


def tags_of(ecs, arn) -> dict[str, str]:
    return {t["key"]: t["value"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]}


@pytest.mark.parametrize("kind", KINDS)
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
    svc = ecs.describe_services(cluster="c", services=["svc"], include=["TAGS"])["services"][0]
    assert svc["tags"] == [{"key": "k", "value": "v"}]
    ci = ecs.describe_container_instances(cluster="c", containerInstances=[arns["container-instance"]],
                                          include=["TAGS"])["containerInstances"][0]
    assert ci["tags"] == [{"key": "k", "value": "v"}]


def test_a_service_arn_from_create_service_is_taggable(ecs):
    """The issue's case: CreateService's ARN was not found by ListTagsForResource
    while DescribeServices with include TAGS showed the tags."""
    make_resources(ecs)
    arn = ecs.create_service(cluster="c", serviceName="born-tagged", taskDefinition="td", desiredCount=0,
                             tags=[{"key": "a", "value": "1"}])["service"]["serviceArn"]
    assert arn == SERVICE.format("c/born-tagged")
    assert tags_of(ecs, arn) == {"a": "1"}
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}])
    described = ecs.describe_services(cluster="c", services=["born-tagged"], include=["TAGS"])["services"][0]
    assert {t["key"]: t["value"] for t in described["tags"]} == {"a": "1", "b": "2"}


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
    (SERVICE.format("c/nope"), "ResourceNotFoundException"),
    (SERVICE.format("nope/svc"), "ClusterNotFoundException"),
    (TASK.format("c/0123456789abcdef0123456789abcdef"), "ResourceNotFoundException"),
    (INSTANCE.format("c/0123456789abcdef0123456789abcdef"), "ResourceNotFoundException"),
], ids=["cluster", "task-definition", "capacity-provider", "other-account", "other-region", "garbage", "other-service",
        "service", "service-cluster", "task", "container-instance"])
def test_operations_on_resources_that_do_not_exist(ecs, arn, code):
    make_resources(ecs)
    with raises_aws(code):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    with raises_aws(code):
        ecs.list_tags_for_resource(resourceArn=arn)
    with raises_aws(code):
        ecs.untag_resource(resourceArn=arn, tagKeys=["k"])


def test_an_arn_of_another_service_is_refused_in_aws_words(ecs):
    # boto/boto3#2774: ListTagsForResource given an ECR repository's ARN.
    with raises_aws("InvalidParameterException") as e:
        ecs.list_tags_for_resource(resourceArn="arn:aws:ecr:us-east-1:000000000000:repository/r")
    assert e.value.response["Error"]["Message"] == "The ARN provided is invalid."


@pytest.mark.parametrize("arn", [SERVICE.format("svc"), TASK.format("0123456789abcdef0123456789abcdef"),
                                 INSTANCE.format("0123456789abcdef0123456789abcdef")],
                         ids=["service", "task", "container-instance"])
def test_short_arns_are_refused_as_aws_refuses_them(ecs, arn):
    # AWS's answer for a short (pre-2018) service ARN, quoted in
    # boto/boto3#2473, pulumi/pulumi-aws#930 and
    # hashicorp/terraform-provider-aws#35867.
    make_resources(ecs)
    with raises_aws("InvalidParameterException") as e:
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert e.value.response["Error"]["Message"] == "Long arn format must be used for tagging operations"


def test_a_deleted_service_loses_its_tags(ecs):
    arn = make_resources(ecs)["service"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    delete_service(ecs, "c", "svc")
    with raises_aws("ResourceNotFoundException"):
        ecs.list_tags_for_resource(resourceArn=arn)


def delete_service(ecs, cluster: str, name: str) -> None:
    ecs.delete_service(cluster=cluster, service=name)
    deadline = time.monotonic() + 10
    while ecs.describe_services(cluster=cluster, services=[name])["services"][0]["status"] != "INACTIVE":
        assert time.monotonic() < deadline, f"the service {name} never became INACTIVE"
        time.sleep(0.05)


def test_a_deleted_cluster_cannot_be_tagged(ecs):
    make_resources(ecs)
    delete_service(ecs, "c", "svc")
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


# ------------------------------------------------- tasks (real containers)

NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def served_fargate(ecs, family: str, **kw) -> None:
    ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True, "command": SERVE}],
        **kw)


def one_task_of(ecs, service: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        arns = ecs.list_tasks(cluster="tagged", serviceName=service)["taskArns"]
        if arns:
            return arns[0]
        assert time.monotonic() < deadline, f"{service} never started a task"
        time.sleep(0.1)


@pytest.mark.usefixtures("busybox_image", "no_containers_left")
def test_a_service_task_shows_propagated_and_managed_tags(ecs):
    """propagateTags SERVICE and enableECSManagedTags: ListTagsForResource on the
    task shows the service's tags and ECS's aws:ecs:clusterName and
    aws:ecs:serviceName, as DescribeTasks with include TAGS does."""
    ecs.create_cluster(clusterName="tagged")
    served_fargate(ecs, "tagged-web", tags=[{"key": "from", "value": "td"}])
    ecs.create_service(cluster="tagged", serviceName="api", taskDefinition="tagged-web", desiredCount=1,
                       launchType="FARGATE", networkConfiguration=NETWORK, propagateTags="SERVICE",
                       enableECSManagedTags=True, tags=[{"key": "team", "value": "a"}])
    task = one_task_of(ecs, "api")
    expected = {"team": "a", "aws:ecs:clusterName": "tagged", "aws:ecs:serviceName": "api"}
    assert tags_of(ecs, task) == expected
    [described] = ecs.describe_tasks(cluster="tagged", tasks=[task], include=["TAGS"])["tasks"]
    assert {t["key"]: t["value"] for t in described["tags"]} == expected
    # The task's own tags change; ECS's own cannot be removed.
    ecs.tag_resource(resourceArn=task, tags=[{"key": "extra", "value": "1"}])
    with raises_aws("InvalidParameterException"):
        ecs.untag_resource(resourceArn=task, tagKeys=["aws:ecs:serviceName"])
    assert tags_of(ecs, task) == {**expected, "extra": "1"}
    ecs.delete_service(cluster="tagged", service="api", force=True)


@pytest.mark.usefixtures("busybox_image", "no_containers_left")
def test_run_task_propagates_task_definition_tags(ecs):
    ecs.create_cluster(clusterName="tagged")
    served_fargate(ecs, "tagged-web", tags=[{"key": "from", "value": "td"}])
    [task] = ecs.run_task(cluster="tagged", taskDefinition="tagged-web", launchType="FARGATE",
                          networkConfiguration=NETWORK, propagateTags="TASK_DEFINITION", enableECSManagedTags=True,
                          tags=[{"key": "own", "value": "1"}])["tasks"]
    assert tags_of(ecs, task["taskArn"]) == {"own": "1", "from": "td", "aws:ecs:clusterName": "tagged"}
    ecs.stop_task(cluster="tagged", task=task["taskArn"])


def test_cli_tags_a_service(aws, ecs):
    arn = make_resources(ecs)["service"]
    assert_cli_ok(aws("ecs", "tag-resource", "--resource-arn", arn, "--tags", "key=env,value=dev"))
    out = assert_cli_ok(aws("ecs", "list-tags-for-resource", "--resource-arn", arn))
    assert out["tags"] == [{"key": "env", "value": "dev"}]
    r = aws("ecs", "list-tags-for-resource", "--resource-arn", SERVICE.format("svc"))
    assert_cli_error(r, "InvalidParameterException")

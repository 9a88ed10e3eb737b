"""Task sets and the EXTERNAL deployment controller through boto3, on the
real Docker engine: a blue/green switch as an external controller drives
it (CreateTaskSet, UpdateServicePrimaryTaskSet, UpdateTaskSet, DeleteTaskSet),
each set running its share of the service's desired count in real
containers, DescribeServices' `taskSets`, and AWS's errors.

boto3's `services_stable` waiter does not apply to an EXTERNAL service: its
success test is `length(deployments) == 1 && runningCount == desiredCount`,
and such a service has no deployments, only task sets (whose own
`stabilityStatus` says when each is steady). The tests poll that instead.
"""

from __future__ import annotations

import time

import pytest

import harness
from harness import raises_aws

pytestmark = pytest.mark.usefixtures("busybox_image", "no_containers_left")

CLUSTER = "task-sets"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
# PID 1 exits at once on SIGTERM, so stopped tasks never wait for a SIGKILL.
SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def register(ecs, colour: str) -> str:
    out = ecs.register_task_definition(
        family=f"web-{colour}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True, "command": SERVE,
                               "environment": [{"name": "COLOUR", "value": colour}]}])
    return out["taskDefinition"]["taskDefinitionArn"]


@pytest.fixture
def service(ecs) -> str:
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.create_service(cluster=CLUSTER, serviceName="web", desiredCount=3,
                       deploymentController={"type": "EXTERNAL"})
    return "web"


def task_set(ecs, ident: str) -> dict | None:
    found = ecs.describe_task_sets(cluster=CLUSTER, service="web", taskSets=[ident])["taskSets"]
    return found[0] if found else None


def wait_set(ecs, ident: str, what: str, done, within: float = 60) -> dict | None:
    deadline = time.monotonic() + within
    while True:
        ts = task_set(ecs, ident)
        if done(ts):
            return ts
        assert time.monotonic() < deadline, f"task set never reached: {what}: {ts}"
        time.sleep(0.3)


def steady_at(n: int):
    return lambda ts: ts is not None and ts["runningCount"] == n and ts["pendingCount"] == 0 \
        and ts["stabilityStatus"] == "STEADY_STATE"


def alive_tasks(ecs) -> list[dict]:
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName="web", desiredStatus="RUNNING")["taskArns"]
    return ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []


def test_a_blue_green_switch_with_task_sets(ecs, service):
    blue_td, green_td = register(ecs, "blue"), register(ecs, "green")
    described = ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]
    assert described["deploymentController"] == {"type": "EXTERNAL"}
    assert described["deployments"] == [] and described["taskSets"] == []

    blue = ecs.create_task_set(cluster=CLUSTER, service=service, taskDefinition=blue_td, launchType="FARGATE",
                               networkConfiguration=NETWORK, scale={"value": 100, "unit": "PERCENT"},
                               externalId="blue", tags=[{"key": "colour", "value": "blue"}])["taskSet"]
    # As AWS's CreateTaskSet example answers: ACTIVE, STABILIZING at first.
    assert blue["status"] == "ACTIVE" and blue["stabilityStatus"] == "STABILIZING"
    assert blue["computedDesiredCount"] == 3 and blue["externalId"] == "blue"
    assert blue["taskSetArn"].endswith(f":task-set/{CLUSTER}/web/{blue['id']}")
    ecs.update_service_primary_task_set(cluster=CLUSTER, service=service, primaryTaskSet=blue["taskSetArn"])
    wait_set(ecs, blue["id"], "blue at 3", steady_at(3))
    tasks = alive_tasks(ecs)
    assert len(tasks) == 3
    # A task set's tasks are the service's (group) and carry the set's id.
    assert {(t["group"], t["startedBy"]) for t in tasks} == {("service:web", blue["id"])}

    # Green at 34% of 3 = 1.02: rounded up to 2 ("The result is always rounded
    # up." -- TaskSet.computedDesiredCount, AWS's API reference).
    green = ecs.create_task_set(cluster=CLUSTER, service=service, taskDefinition=green_td, launchType="FARGATE",
                                networkConfiguration=NETWORK, scale={"value": 34, "unit": "PERCENT"})["taskSet"]
    assert green["computedDesiredCount"] == 2
    wait_set(ecs, green["id"], "green at 2", steady_at(2))

    primary = ecs.update_service_primary_task_set(cluster=CLUSTER, service=service,
                                                  primaryTaskSet=green["id"])["taskSet"]
    assert primary["status"] == "PRIMARY"
    described = ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]
    by_id = {t["id"]: t for t in described["taskSets"]}
    assert by_id[blue["id"]]["status"] == "ACTIVE" and by_id[green["id"]]["status"] == "PRIMARY"
    # The service shows its primary set's task definition (AWS's developer guide).
    assert described["taskDefinition"] == green_td
    assert described["runningCount"] == 5 and described["desiredCount"] == 3

    # Green takes all, blue goes to 0 and is deleted.
    ecs.update_task_set(cluster=CLUSTER, service=service, taskSet=green["id"], scale={"value": 100, "unit": "PERCENT"})
    ecs.update_task_set(cluster=CLUSTER, service=service, taskSet=blue["id"], scale={"value": 0, "unit": "PERCENT"})
    wait_set(ecs, green["id"], "green at 3", steady_at(3))
    wait_set(ecs, blue["id"], "blue at 0", steady_at(0))
    gone = ecs.delete_task_set(cluster=CLUSTER, service=service, taskSet=blue["taskSetArn"])["taskSet"]
    assert gone["status"] == "DRAINING"
    wait_set(ecs, blue["id"], "blue removed", lambda ts: ts is None)
    missing = ecs.describe_task_sets(cluster=CLUSTER, service=service, taskSets=[blue["id"]])
    assert missing["failures"] == [{"arn": blue["id"], "reason": "MISSING"}]
    tasks = alive_tasks(ecs)
    assert {t["startedBy"] for t in tasks} == {green["id"]} and len(tasks) == 3

    # The service's desired count moves the sets' counts.
    ecs.update_service(cluster=CLUSTER, service=service, desiredCount=1)
    wait_set(ecs, green["id"], "green at 1", steady_at(1))

    # Deleted with force, the set's tasks stop; so do the service's.
    ecs.delete_task_set(cluster=CLUSTER, service=service, taskSet=green["id"], force=True)
    ecs.update_service(cluster=CLUSTER, service=service, desiredCount=0)
    ecs.delete_service(cluster=CLUSTER, service=service)
    deadline = time.monotonic() + 60
    while alive_tasks(ecs):
        assert time.monotonic() < deadline, "tasks of a deleted task set kept running"
        time.sleep(0.3)


def test_tags_and_defaults_of_a_task_set(ecs, service):
    td = register(ecs, "blue")
    ts = ecs.create_task_set(cluster=CLUSTER, service=service, taskDefinition=td, launchType="FARGATE",
                             networkConfiguration=NETWORK, tags=[{"key": "team", "value": "a"}])["taskSet"]
    # No scale given: 0%, as AWS's own CreateTaskSet example answers.
    assert ts["scale"] == {"value": 0.0, "unit": "PERCENT"} and ts["computedDesiredCount"] == 0
    assert ts["launchType"] == "FARGATE" and ts["platformVersion"] == "LATEST"
    assert ts["loadBalancers"] == [] and ts["serviceRegistries"] == []
    plain = ecs.describe_task_sets(cluster=CLUSTER, service=service)["taskSets"]
    assert len(plain) == 1 and not plain[0].get("tags")
    tagged = ecs.describe_task_sets(cluster=CLUSTER, service=service, include=["TAGS"])["taskSets"]
    assert tagged[0]["tags"] == [{"key": "team", "value": "a"}]


def test_task_set_errors_as_aws_answers_them(ecs, service):
    td = register(ecs, "blue")
    ecs.create_service(cluster=CLUSTER, serviceName="rolling", taskDefinition=td, desiredCount=0,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    # AWS's words, quoted in hashicorp/terraform-provider-aws#30347.
    with raises_aws("InvalidParameterException") as e:
        ecs.create_task_set(cluster=CLUSTER, service="rolling", taskDefinition=td)
    assert e.value.response["Error"]["Message"] == (
        "Amazon ECS only supports task set management on services configured to use external deployment "
        "controllers.")
    with raises_aws("ServiceNotFoundException"):
        ecs.create_task_set(cluster=CLUSTER, service="ghost", taskDefinition=td)
    with raises_aws("ClusterNotFoundException"):
        ecs.describe_task_sets(cluster="nope", service=service)
    with raises_aws("TaskSetNotFoundException"):
        ecs.update_task_set(cluster=CLUSTER, service=service, taskSet="ecs-svc/1234567890123456789",
                            scale={"value": 50, "unit": "PERCENT"})
    with raises_aws("InvalidParameterException"):
        ecs.create_task_set(cluster=CLUSTER, service=service, taskDefinition=td, launchType="FARGATE",
                            networkConfiguration=NETWORK, scale={"value": 101, "unit": "PERCENT"})
    ts = ecs.create_task_set(cluster=CLUSTER, service=service, taskDefinition=td, launchType="FARGATE",
                             networkConfiguration=NETWORK, scale={"value": 10, "unit": "PERCENT"})["taskSet"]
    # Not scaled to 0: only force deletes it (AWS's DeleteTaskSet reference).
    with raises_aws("InvalidParameterException"):
        ecs.delete_task_set(cluster=CLUSTER, service=service, taskSet=ts["id"])
    # UpdateService takes only what AWS lets an EXTERNAL service change.
    with raises_aws("InvalidParameterException"):
        ecs.update_service(cluster=CLUSTER, service=service, taskDefinition=td)
    ecs.update_service(cluster=CLUSTER, service=service, desiredCount=0, healthCheckGracePeriodSeconds=10)
    # CreateService: AWS's words (terraform-aws-modules/terraform-aws-ecs#278, aws-cdk#26335).
    with raises_aws("InvalidParameterException") as e:
        ecs.create_service(cluster=CLUSTER, serviceName="other", taskDefinition=td,
                           deploymentController={"type": "EXTERNAL"})
    assert e.value.response["Error"]["Message"] == "TaskDefinition must be blank."
    with raises_aws("InvalidParameterException") as e:
        ecs.create_service(cluster=CLUSTER, serviceName="other", networkConfiguration=NETWORK,
                           deploymentController={"type": "EXTERNAL"})
    assert e.value.response["Error"]["Message"] == "NetworkConfiguration must be null."
    # CODE_DEPLOY would need AWS CodeDeploy, which ecsbox does not serve: said so.
    with raises_aws("UnsupportedFeatureException") as e:
        ecs.create_service(cluster=CLUSTER, serviceName="other", taskDefinition=td, launchType="FARGATE",
                           networkConfiguration=NETWORK, deploymentController={"type": "CODE_DEPLOY"})
    assert "CodeDeploy" in e.value.response["Error"]["Message"]
    # A deleted service takes no new task set.
    ecs.delete_service(cluster=CLUSTER, service=service, force=True)
    with raises_aws("ServiceNotActiveException"):
        ecs.create_task_set(cluster=CLUSTER, service=service, taskDefinition=td)

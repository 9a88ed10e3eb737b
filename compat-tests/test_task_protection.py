"""Task scale-in protection (UpdateTaskProtection, GetTaskProtection) through
boto3 and the aws CLI, on the real Docker engine: a protected task of a
service survives scale-in until its protection is removed. Expiry by time is
tested in Rust (tests/task_protection.rs), where ecsbox's clock can be moved
instead of waiting minutes. And DiscoverPollEndpoint, the agent's call.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

CLUSTER = "protection"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
# PID 1 exits at once on SIGTERM, so stopped tasks never wait for a SIGKILL.
SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
UNKNOWN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def service(ecs) -> list[str]:
    """A service of two running tasks; answers their ARNs."""
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="protected", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True, "command": SERVE}])
    ecs.create_service(cluster=CLUSTER, serviceName="api", taskDefinition="protected", desiredCount=2,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    tasks = wait_for_tasks(ecs, lambda t: len(t) == 2)
    yield tasks
    ecs.delete_service(cluster=CLUSTER, service="api", force=True)


def live_tasks(ecs) -> list[str]:
    return sorted(ecs.list_tasks(cluster=CLUSTER, serviceName="api")["taskArns"])


def wait_for_tasks(ecs, done, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        tasks = live_tasks(ecs)
        if done(tasks):
            return tasks
        assert time.monotonic() < deadline, f"tasks never as wanted: {tasks}"
        time.sleep(0.1)


@pytest.mark.usefixtures("busybox_image", "no_containers_left")
def test_a_protected_task_survives_scale_in_until_protection_is_removed(ecs, service):
    kept, other = service
    before = datetime.now(timezone.utc)
    out = ecs.update_task_protection(cluster=CLUSTER, tasks=[kept], protectionEnabled=True)
    [p] = out["protectedTasks"]
    assert p["taskArn"] == kept and p["protectionEnabled"] is True
    # 120 minutes unless told (the UpdateTaskProtection API reference).
    assert abs(p["expirationDate"] - (before + timedelta(minutes=120))) < timedelta(seconds=10)
    assert out["failures"] == []

    ecs.update_service(cluster=CLUSTER, service="api", desiredCount=0)
    assert wait_for_tasks(ecs, lambda t: other not in t) == [kept]
    time.sleep(1)  # the scheduler has looked again and still keeps it
    assert live_tasks(ecs) == [kept]
    got = ecs.get_task_protection(cluster=CLUSTER, tasks=[kept])["protectedTasks"]
    assert got[0]["protectionEnabled"] is True

    out = ecs.update_task_protection(cluster=CLUSTER, tasks=[kept], protectionEnabled=False)
    # Unprotected: taskArn and protectionEnabled false, no expirationDate, as
    # in the AWS CLI's get-task-protection example.
    assert out["protectedTasks"] == [{"taskArn": kept, "protectionEnabled": False}]
    wait_for_tasks(ecs, lambda t: t == [])


@pytest.mark.usefixtures("busybox_image", "no_containers_left")
def test_failures_name_missing_and_standalone_tasks(ecs, service):
    [standalone] = ecs.run_task(cluster=CLUSTER, taskDefinition="protected", launchType="FARGATE",
                                networkConfiguration=NETWORK)["tasks"]
    out = ecs.update_task_protection(cluster=CLUSTER, tasks=[UNKNOWN, standalone["taskArn"], service[0]],
                                     protectionEnabled=True, expiresInMinutes=5)
    assert [p["taskArn"] for p in out["protectedTasks"]] == [service[0]]
    # "Invoking this operation for a standalone task will result in an
    # TASK_NOT_VALID failure" (the UpdateTaskProtection API reference).
    assert [(f["arn"].rsplit("/", 1)[-1], f["reason"]) for f in out["failures"]] == [
        (UNKNOWN, "MISSING"), (standalone["taskArn"].rsplit("/", 1)[-1], "TASK_NOT_VALID")]
    ecs.stop_task(cluster=CLUSTER, task=standalone["taskArn"])


@pytest.mark.parametrize("minutes", [0, 2881])
def test_expiry_must_be_between_one_minute_and_two_days(ecs, minutes):
    ecs.create_cluster(clusterName=CLUSTER)
    with raises_aws("InvalidParameterException"):
        ecs.update_task_protection(cluster=CLUSTER, tasks=[UNKNOWN], protectionEnabled=True,
                                   expiresInMinutes=minutes)


def test_an_unknown_cluster_is_not_found(ecs):
    with raises_aws("ClusterNotFoundException"):
        ecs.get_task_protection(cluster="nope", tasks=[UNKNOWN])
    with raises_aws("ClusterNotFoundException"):
        ecs.update_task_protection(cluster="nope", tasks=[UNKNOWN], protectionEnabled=True)


def test_cli_task_protection(aws, ecs):
    ecs.create_cluster(clusterName=CLUSTER)
    out = assert_cli_ok(aws("ecs", "get-task-protection", "--cluster", CLUSTER, "--tasks", UNKNOWN))
    assert out["protectedTasks"] == [] and out["failures"][0]["reason"] == "MISSING"
    r = aws("ecs", "update-task-protection", "--cluster", CLUSTER, "--tasks", UNKNOWN, "--protection-enabled",
            "--expires-in-minutes", "3000")
    assert_cli_error(r, "InvalidParameterException")


def test_discover_poll_endpoint_names_ecsbox(ecs, endpoint, aws):
    out = ecs.discover_poll_endpoint(cluster="default")
    for key in ("endpoint", "telemetryEndpoint", "serviceConnectEndpoint"):
        assert out[key] == endpoint + "/", out
    out = assert_cli_ok(aws("ecs", "discover-poll-endpoint"))
    assert out["endpoint"] == endpoint + "/"

"""Services through the aws CLI, on the real Docker engine: create-service,
the CLI's own waiters (`aws ecs wait services-stable` / `services-inactive`,
from botocore's ecs waiters-2.json), update-service --force-new-deployment,
delete-service --force, and the errors as the CLI prints them.

The CLI's service waiters poll every 15 s (not configurable in CLI v1) and
poll once before the first sleep, so each wait here costs one sleep: the
suite waits three times. Setup that is not under test (registering the task
definition) goes through boto3.
"""

import time

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok

pytestmark = pytest.mark.usefixtures("busybox_image", "no_containers_left")

CLUSTER = "services-cli"
SUBNETS = "awsvpcConfiguration={subnets=[subnet-0123abcd]}"
# PID 1 exits at once on SIGTERM, so draining never waits for a SIGKILL.
SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


@pytest.fixture
def cluster(ecs) -> str:
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True, "command": SERVE}],
    )
    return CLUSTER


def describe(aws, name: str = "web") -> dict:
    out = assert_cli_ok(aws("ecs", "describe-services", "--cluster", CLUSTER, "--services", name))
    assert out["failures"] == [], out
    [service] = out["services"]
    return service


def describe_completed(aws, ecs, within: float = 10) -> dict:
    """describe-services once the one deployment's rollout has COMPLETED.

    ServicesStable (waiters-2.json) looks at the deployment count and
    runningCount only, never at rolloutState, and in AWS a rollout completes
    some time after its tasks run; here it completes once the newest task
    has run for half a second. So the CLI's waiter may return first.
    """
    deadline = time.monotonic() + within
    while True:
        [service] = ecs.describe_services(cluster=CLUSTER, services=["web"])["services"]
        deployments = service["deployments"]
        if len(deployments) == 1 and deployments[0]["rolloutState"] != "IN_PROGRESS":
            return describe(aws)
        assert time.monotonic() < deadline, f"the rollout did not complete within {within} s: {deployments}"
        time.sleep(0.2)


def running_tasks(ecs, name: str = "web") -> list[dict]:
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=name)["taskArns"]
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["lastStatus"] == "RUNNING"]


def test_create_wait_redeploy_and_delete_through_the_cli(aws, ecs, ecsbox, cluster):
    out = assert_cli_ok(aws("ecs", "create-service", "--cluster", cluster, "--service-name", "web",
                            "--task-definition", "web", "--desired-count", "2", "--launch-type", "FARGATE",
                            "--network-configuration", SUBNETS))
    service = out["service"]
    assert service["serviceArn"] == f"arn:aws:ecs:us-east-1:000000000000:service/{CLUSTER}/web"
    assert (service["status"], service["desiredCount"], service["runningCount"]) == ("ACTIVE", 2, 0)
    [first] = service["deployments"]
    assert (first["status"], first["rolloutState"]) == ("PRIMARY", "IN_PROGRESS")

    assert_cli_ok(aws("ecs", "wait", "services-stable", "--cluster", cluster, "--services", "web"))
    service = describe_completed(aws, ecs)
    assert (service["runningCount"], service["pendingCount"]) == (2, 0)
    [deployment] = service["deployments"]
    assert deployment["id"] == first["id"] and deployment["rolloutState"] == "COMPLETED"
    old_tasks = {t["taskArn"] for t in running_tasks(ecs)}
    assert len(old_tasks) == 2

    out = assert_cli_ok(aws("ecs", "update-service", "--cluster", cluster, "--service", "web",
                            "--force-new-deployment"))
    new, old = out["service"]["deployments"]
    assert (new["status"], new["rolloutState"], old["status"]) == ("PRIMARY", "IN_PROGRESS", "ACTIVE")
    assert old["id"] == first["id"] and new["id"] != first["id"]
    assert new["taskDefinition"] == old["taskDefinition"], "a forced deployment keeps the revision"

    # services-stable holds only once the old deployment is gone.
    assert_cli_ok(aws("ecs", "wait", "services-stable", "--cluster", cluster, "--services", "web"))
    service = describe_completed(aws, ecs)
    [deployment] = service["deployments"]
    assert (deployment["id"], deployment["rolloutState"]) == (new["id"], "COMPLETED")
    tasks = running_tasks(ecs)
    assert len(tasks) == 2 and service["runningCount"] == 2
    assert {t["startedBy"] for t in tasks} == {new["id"]}, "every task is the new deployment's"
    assert not old_tasks & {t["taskArn"] for t in tasks}, "the old tasks were replaced"

    out = assert_cli_ok(aws("ecs", "delete-service", "--cluster", cluster, "--service", "web", "--force"))
    assert (out["service"]["status"], out["service"]["desiredCount"]) == ("DRAINING", 0)
    assert_cli_ok(aws("ecs", "wait", "services-inactive", "--cluster", cluster, "--services", "web"))
    assert describe(aws)["status"] == "INACTIVE"
    assert assert_cli_ok(aws("ecs", "list-services", "--cluster", cluster))["serviceArns"] == []
    assert running_tasks(ecs) == []
    # The tasks' containers stopped (they are removed after the cleanup delay).
    left = harness.task_containers(ecsbox)
    assert not [line for line in left if line.split(" ", 2)[2].startswith("Up")], left


def test_service_errors_as_the_cli_prints_them(aws, ecs, ecsbox, cluster):
    r = aws("ecs", "create-service", "--cluster", "no-such-cluster", "--service-name", "web",
            "--task-definition", "web", "--desired-count", "1", "--launch-type", "FARGATE",
            "--network-configuration", SUBNETS)
    assert_cli_error(r, "ClusterNotFoundException")

    r = aws("ecs", "create-service", "--cluster", cluster, "--service-name", "web", "--task-definition", "web",
            "--desired-count", "1", "--launch-type", "FARGATE")
    err = assert_cli_error(r, "InvalidParameterException")
    assert "Network Configuration must be provided when networkMode 'awsvpc' is specified." in err

    for args in (["update-service", "--service", "ghost", "--desired-count", "1"],
                 ["delete-service", "--service", "ghost", "--force"]):
        assert_cli_error(aws("ecs", *args, "--cluster", cluster), "ServiceNotFoundException")

    out = assert_cli_ok(aws("ecs", "describe-services", "--cluster", cluster, "--services", "ghost"))
    assert out["services"] == []
    # AWS's failure arn has no cluster in it (aws-actions/amazon-ecs-deploy-task-definition#312).
    assert out["failures"] == [{"arn": "arn:aws:ecs:us-east-1:000000000000:service/ghost",
                                "reason": "MISSING"}]
    # ServicesStable's first acceptor: a MISSING service fails the wait at once.
    r = aws("ecs", "wait", "services-stable", "--cluster", cluster, "--services", "ghost", timeout=30)
    assert r.code != 0, r
    assert "Waiter ServicesStable failed" in r.err and "MISSING" in r.err, r.err

    # Refused requests leave nothing behind.
    assert assert_cli_ok(aws("ecs", "list-services", "--cluster", cluster))["serviceArns"] == []
    assert harness.owned_containers(ecsbox) == []

"""Tasks through the aws CLI, on the real Docker engine: run-task, the
CLI's own waiters (`aws ecs wait tasks-running` / `tasks-stopped`, from
botocore's ecs waiters-2.json), describe-tasks, stop-task and list-tasks,
and RunTask's errors as the CLI prints them.

The CLI's waiters poll every 6 s (not configurable in CLI v1), so each test
waits at most a couple of times; setup that is not under test (registering
task definitions, waiting for a state the test then checks with the CLI)
goes through boto3.
"""

import json

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok

pytestmark = pytest.mark.usefixtures("busybox_image", "no_containers_left")

CLUSTER = "tasks-cli"
SUBNETS = "awsvpcConfiguration={subnets=[subnet-0123abcd]}"
WEB_FIXTURE = harness.REPO / "fixtures" / "task-definitions" / "web.json"


@pytest.fixture
def cluster(ecs) -> str:
    ecs.create_cluster(clusterName=CLUSTER)
    return CLUSTER


def fargate_task_definition(ecs, family: str, command: list[str], image: str = harness.BUSYBOX_IMAGE) -> None:
    ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": image, "essential": True, "command": command}],
    )


def run_fargate(aws, family: str, count: int = 1) -> list[str]:
    """`aws ecs run-task` on Fargate; the new tasks' ARNs."""
    out = assert_cli_ok(aws("ecs", "run-task", "--cluster", CLUSTER, "--task-definition", family,
                            "--launch-type", "FARGATE", "--count", str(count),
                            "--network-configuration", SUBNETS))
    assert out["failures"] == []
    return [t["taskArn"] for t in out["tasks"]]


def describe(aws, *arns: str) -> list[dict]:
    return assert_cli_ok(aws("ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", *arns))["tasks"]


def wait_stopped_quietly(ecs, *arns: str) -> None:
    """Setup, not under test: boto3's waiter with a 1 s delay."""
    ecs.get_waiter("tasks_stopped").wait(cluster=CLUSTER, tasks=list(arns), WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def test_the_web_fixture_runs_answers_and_stops(aws, cluster):
    """The README's walk-through, with the fixture file as it is."""
    out = assert_cli_ok(aws("ecs", "register-task-definition", "--cli-input-json", f"file://{WEB_FIXTURE}"))
    assert out["taskDefinition"]["family"] == "web"
    [arn] = run_fargate(aws, "web")

    assert_cli_ok(aws("ecs", "wait", "tasks-running", "--cluster", cluster, "--tasks", arn))
    [task] = describe(aws, arn)
    assert task["lastStatus"] == "RUNNING" and task["desiredStatus"] == "RUNNING"
    assert task["launchType"] == "FARGATE"
    [container] = task["containers"]
    assert container["lastStatus"] == "RUNNING" and container["runtimeId"]
    ip = harness.eni_detail(task, "privateIPv4Address")
    assert ip, task["attachments"]
    assert harness.eni_detail(task, "subnetId") == "subnet-0123abcd"
    assert container["networkInterfaces"][0]["privateIpv4Address"] == ip
    status, body = harness.http_get(ip, 8080)
    assert (status, body) == (200, b"hello from ecsbox\n")

    out = assert_cli_ok(aws("ecs", "stop-task", "--cluster", cluster, "--task", arn, "--reason", "done with it"))
    assert out["task"]["desiredStatus"] == "STOPPED"
    # The fixture's `exec httpd` is PID 1 and ignores SIGTERM, so the task
    # only stops when SIGKILL follows after the default stopTimeout (30 s),
    # as on Fargate: this wait is the slowest of the suite.
    assert_cli_ok(aws("ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", arn))
    [task] = describe(aws, arn)
    assert task["lastStatus"] == "STOPPED"
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "done with it"
    for stamp in ("startedAt", "stoppingAt", "stoppedAt", "executionStoppedAt"):
        assert isinstance(task.get(stamp), (int, float)), stamp
    assert task["containers"][0]["lastStatus"] == "STOPPED"


def test_an_exit_code_comes_back(aws, ecs, cluster):
    fargate_task_definition(ecs, "exit3", ["sh", "-c", "exit 3"])
    [arn] = run_fargate(aws, "exit3")
    assert_cli_ok(aws("ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", arn))
    [task] = describe(aws, arn)
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["desiredStatus"] == "STOPPED"
    [container] = task["containers"]
    assert container["lastStatus"] == "STOPPED"
    assert container["exitCode"] == 3


def test_a_missing_image_stops_the_task(aws, ecs, cluster):
    fargate_task_definition(ecs, "ghost", ["true"], image="ecsbox-test/no-such-image:latest")
    [arn] = run_fargate(aws, "ghost")
    assert_cli_ok(aws("ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", arn))
    [task] = describe(aws, arn)
    # AWS: stopCode TaskFailedToStart, stoppedReason "CannotPullContainerError: ...".
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError: "), task["stoppedReason"]
    assert "ecsbox-test/no-such-image:latest" in task["stoppedReason"]
    [container] = task["containers"]
    assert container["lastStatus"] == "STOPPED"
    assert "exitCode" not in container  # it never ran


def test_waiting_for_running_fails_on_a_stopped_task(aws, ecs, cluster):
    """TasksRunning's first acceptor: any task STOPPED is a terminal failure
    (and a MISSING one too), not a wait until the 100th attempt."""
    fargate_task_definition(ecs, "quitter", ["sh", "-c", "exit 1"])
    [arn] = run_fargate(aws, "quitter")
    # Stopped before the CLI waiter's first poll, so it cannot see it RUNNING.
    wait_stopped_quietly(ecs, arn)
    r = aws("ecs", "wait", "tasks-running", "--cluster", cluster, "--tasks", arn, timeout=30)
    assert r.code != 0, r
    assert "Waiter TasksRunning failed" in r.err and '"STOPPED"' in r.err, r.err

    r = aws("ecs", "wait", "tasks-running", "--cluster", cluster, "--tasks", "0123456789abcdef0123456789abcdef", timeout=30)
    assert r.code != 0, r
    assert "Waiter TasksRunning failed" in r.err and '"MISSING"' in r.err, r.err


def test_list_tasks_by_desired_status_and_family(aws, ecs, cluster):
    fargate_task_definition(ecs, "oneshot", ["true"])
    fargate_task_definition(ecs, "sleeper", ["sleep", "600"])
    # The sleeper first, on its own: tasks launched together are
    # test_tasks_boto3's subject; here only the listing is.
    [sleeping] = run_fargate(aws, "sleeper")
    done = run_fargate(aws, "oneshot", count=2)
    wait_stopped_quietly(ecs, *done)

    def listed(*args: str) -> list[str]:
        return sorted(assert_cli_ok(aws("ecs", "list-tasks", "--cluster", cluster, *args))["taskArns"])

    # Without --desired-status, ListTasks lists tasks whose desired status is RUNNING.
    assert listed() == [sleeping]
    assert listed("--desired-status", "STOPPED") == sorted(done)
    assert listed("--desired-status", "STOPPED", "--family", "oneshot") == sorted(done)
    assert listed("--family", "oneshot") == []
    assert listed("--family", "sleeper") == [sleeping]
    assert listed("--desired-status", "STOPPED", "--family", "sleeper") == []


def test_run_task_errors(aws, ecs, ecsbox, cluster):
    fargate_task_definition(ecs, "vpc", ["true"])
    ecs.register_task_definition(family="bridged", networkMode="bridge", requiresCompatibilities=["EC2"],
                                 containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "memory": 32}])

    r = aws("ecs", "run-task", "--cluster", cluster, "--task-definition", "vpc", "--launch-type", "FARGATE")
    err = assert_cli_error(r, "InvalidParameterException")
    assert "Network Configuration must be provided when networkMode 'awsvpc' is specified." in err

    # A cluster without container instances cannot take EC2 tasks; this is
    # AWS's message for it.
    r = aws("ecs", "run-task", "--cluster", cluster, "--task-definition", "bridged", "--launch-type", "EC2")
    err = assert_cli_error(r, "InvalidParameterException")
    assert "No Container Instances were found in your cluster." in err

    r = aws("ecs", "run-task", "--cluster", "no-such-cluster", "--task-definition", "vpc", "--launch-type", "FARGATE",
            "--network-configuration", SUBNETS)
    assert_cli_error(r, "ClusterNotFoundException")

    # Refused requests leave nothing behind: no task, no container.
    for status in ("RUNNING", "STOPPED"):
        out = assert_cli_ok(aws("ecs", "list-tasks", "--cluster", cluster, "--desired-status", status))
        assert out["taskArns"] == []
    assert harness.owned_containers(ecsbox) == []

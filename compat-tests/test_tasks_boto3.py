"""Tasks through boto3, on the real Docker engine: the task lifecycle with
boto3's waiters (`tasks_running`, `tasks_stopped`; a 1 s delay instead of
the model's 6 s keeps the suite fast), several tasks at once, overrides,
cluster counts and DeleteCluster while tasks run, and EC2 tasks on the
virtual container instances of a cluster tagged `ecsbox:container-instances`.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import WaiterError

import harness
from harness import raises_aws

pytestmark = pytest.mark.usefixtures("busybox_image", "no_containers_left")

CLUSTER = "tasks-boto3"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
PAGE = "hello from boto3"
# A web server that stops at once on SIGTERM: the shell (PID 1) traps it,
# so StopTask does not wait out the 30 s stopTimeout for a SIGKILL.
WEB_COMMAND = ["sh", "-c", f"mkdir -p /www; echo '{PAGE}' > /www/index.html; trap 'exit 0' TERM; "
                           "httpd -f -p 8080 -h /www & wait"]


def container(**kw) -> dict:
    c = {"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True}
    c.update(kw)
    return c


def fargate(ecs, family: str, **container_kw) -> None:
    ecs.register_task_definition(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512", containerDefinitions=[container(**container_kw)])


def web(ecs, family: str = "web") -> None:
    fargate(ecs, family, command=WEB_COMMAND, portMappings=[{"containerPort": 8080, "protocol": "tcp"}])


@pytest.fixture
def cluster(ecs) -> str:
    ecs.create_cluster(clusterName=CLUSTER)
    return CLUSTER


def run(ecs, family: str, count: int = 1, **kw) -> list[str]:
    kw.setdefault("launchType", "FARGATE")
    if kw["launchType"] == "FARGATE":
        kw.setdefault("networkConfiguration", NETWORK)
    out = ecs.run_task(cluster=kw.pop("cluster", CLUSTER), taskDefinition=family, count=count, **kw)
    assert out["failures"] == []
    assert len(out["tasks"]) == count
    return [t["taskArn"] for t in out["tasks"]]


def describe(ecs, *arns: str, cluster: str = CLUSTER) -> list[dict]:
    return ecs.describe_tasks(cluster=cluster, tasks=list(arns))["tasks"]


def wait(ecs, waiter: str, *arns: str, cluster: str = CLUSTER) -> None:
    """boto3's waiter with a 1 s delay; a failed wait shows how the tasks ended."""
    try:
        ecs.get_waiter(waiter).wait(cluster=cluster, tasks=list(arns), WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    except WaiterError as e:
        seen = [{k: t.get(k) for k in ("taskArn", "lastStatus", "stopCode", "stoppedReason")} for t in describe(ecs, *arns, cluster=cluster)]
        raise AssertionError(f"{waiter} failed ({e}); tasks: {json.dumps(seen, indent=1)}") from None


def cluster_counts(ecs, name: str = CLUSTER) -> tuple[int, int]:
    [c] = ecs.describe_clusters(clusters=[name])["clusters"]
    return c["runningTasksCount"], c["pendingTasksCount"]


def test_lifecycle_with_waiters(ecs, cluster):
    web(ecs)
    [arn] = run(ecs, "web", startedBy="compat")
    [task] = describe(ecs, arn)
    assert task["desiredStatus"] == "RUNNING"
    assert task["lastStatus"] in ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")

    wait(ecs, "tasks_running", arn)
    [task] = describe(ecs, arn)
    assert task["lastStatus"] == "RUNNING" and task["connectivity"] == "CONNECTED"
    assert task["startedBy"] == "compat"
    for stamp in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt"):
        assert stamp in task, stamp
    ip = harness.eni_detail(task, "privateIPv4Address")
    assert ip and harness.eni_detail(task, "macAddress"), task["attachments"]
    assert harness.http_get(ip, 8080) == (200, f"{PAGE}\n".encode())

    stopping = ecs.stop_task(cluster=cluster, task=arn, reason="test over")["task"]
    assert stopping["desiredStatus"] == "STOPPED"
    wait(ecs, "tasks_stopped", arn)
    [task] = describe(ecs, arn)
    assert (task["lastStatus"], task["stopCode"], task["stoppedReason"]) == ("STOPPED", "UserInitiated", "test over")
    assert task["startedAt"] <= task["stoppingAt"] <= task["stoppedAt"]
    [c] = task["containers"]
    # The shell traps SIGTERM and exits 0: no SIGKILL was needed.
    assert (c["lastStatus"], c["exitCode"]) == ("STOPPED", 0)
    [eni] = task["attachments"]
    assert eni["status"] == "DELETED"


def test_an_exit_code_and_the_running_waiter_failing(ecs, cluster):
    fargate(ecs, "exit3", command=["sh", "-c", "exit 3"])
    [arn] = run(ecs, "exit3")
    wait(ecs, "tasks_stopped", arn)
    [task] = describe(ecs, arn)
    assert (task["stopCode"], task["stoppedReason"]) == ("EssentialContainerExited", "Essential container in task exited")
    assert task["containers"][0]["exitCode"] == 3
    # TasksRunning fails as soon as a task is STOPPED (waiters-2.json's first acceptor).
    with pytest.raises(WaiterError, match="terminal failure state"):
        ecs.get_waiter("tasks_running").wait(cluster=cluster, tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 5})


def test_count_three_gives_three_running_tasks_with_their_own_addresses(ecs, cluster):
    """Three tasks launched at once (the first of this server since the
    reset, so they also set up the awsvpc network together)."""
    web(ecs)
    arns = run(ecs, "web", count=3)
    assert len(set(arns)) == 3
    wait(ecs, "tasks_running", *arns)
    tasks = describe(ecs, *arns)
    assert [t["lastStatus"] for t in tasks] == ["RUNNING"] * 3
    ips = {harness.eni_detail(t, "privateIPv4Address") for t in tasks}
    assert len(ips) == 3 and None not in ips, ips
    for ip in ips:
        assert harness.http_get(ip, 8080) == (200, f"{PAGE}\n".encode())
    assert sorted(ecs.list_tasks(cluster=cluster, family="web")["taskArns"]) == sorted(arns)


def test_overrides_change_command_and_environment(ecs, cluster):
    fargate(ecs, "say", command=["sh", "-c", "echo from the definition"],
            environment=[{"name": "GREETING", "value": "from-definition"}, {"name": "OTHER", "value": "kept"}])
    overrides = {"containerOverrides": [{
        "name": "app",
        "command": ["sh", "-c", 'echo "greeting=$GREETING other=$OTHER extra=$EXTRA"'],
        "environment": [{"name": "GREETING", "value": "from-override"}, {"name": "EXTRA", "value": "added"}],
    }]}
    [arn] = run(ecs, "say", overrides=overrides)
    wait(ecs, "tasks_stopped", arn)
    [task] = describe(ecs, arn)
    assert task["overrides"]["containerOverrides"] == overrides["containerOverrides"]
    [c] = task["containers"]
    assert c["exitCode"] == 0
    # The stopped task's container stays (for --task-cleanup-delay): its output is the proof.
    assert harness.docker_logs(c["runtimeId"]) == "greeting=from-override other=kept extra=added\n"


def test_running_tasks_count_follows_live_tasks(ecs, cluster):
    web(ecs)
    assert cluster_counts(ecs) == (0, 0)
    [first] = run(ecs, "web")
    wait(ecs, "tasks_running", first)
    assert cluster_counts(ecs) == (1, 0)
    [second] = run(ecs, "web")
    wait(ecs, "tasks_running", second)
    assert cluster_counts(ecs) == (2, 0)
    [c] = ecs.describe_clusters(clusters=[cluster], include=["STATISTICS"])["clusters"]
    assert {s["name"]: s["value"] for s in c["statistics"]}["runningFargateTasksCount"] == "2"
    ecs.stop_task(cluster=cluster, task=first)
    wait(ecs, "tasks_stopped", first)
    assert cluster_counts(ecs) == (1, 0)


def test_delete_cluster_refuses_while_a_task_runs(ecs, cluster):
    web(ecs)
    [arn] = run(ecs, "web")
    wait(ecs, "tasks_running", arn)
    with raises_aws("ClusterContainsTasksException") as e:
        ecs.delete_cluster(cluster=cluster)
    assert "Tasks are active" in str(e.value)
    [c] = ecs.describe_clusters(clusters=[cluster])["clusters"]
    assert c["status"] == "ACTIVE"

    ecs.stop_task(cluster=cluster, task=arn)
    wait(ecs, "tasks_stopped", arn)
    # Stopped tasks do not hold the cluster.
    assert ecs.delete_cluster(cluster=cluster)["cluster"]["status"] == "INACTIVE"


def test_ec2_bridge_task_gets_a_dynamic_host_port(ecs):
    """EC2 on ecsbox's virtual container instances: a bridge-mode port
    mapping with hostPort 0 is published on a port Docker picks, reported
    in networkBindings as the ECS agent reports it."""
    ecs.create_cluster(clusterName="ec2", tags=[{"key": "ecsbox:container-instances", "value": "2"}])
    instances = ecs.list_container_instances(cluster="ec2")["containerInstanceArns"]
    assert len(instances) == 2, "the cluster tag ecsbox:container-instances=2 gives two virtual instances"
    ecs.register_task_definition(family="bridged", networkMode="bridge", requiresCompatibilities=["EC2"],
                                 containerDefinitions=[container(memory=64, command=WEB_COMMAND, portMappings=[
                                     {"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}])])
    [arn] = run(ecs, "bridged", cluster="ec2", launchType="EC2")
    wait(ecs, "tasks_running", arn, cluster="ec2")
    [task] = describe(ecs, arn, cluster="ec2")
    assert task["launchType"] == "EC2"
    assert task["containerInstanceArn"] in instances
    bindings = [b for b in task["containers"][0]["networkBindings"] if b["containerPort"] == 8080]
    # One binding per address family Docker published on (0.0.0.0, and ::
    # where the engine has IPv6); Docker may pick a different port for each.
    assert all(b["protocol"] == "tcp" and b["hostPort"] not in (0, 8080) for b in bindings), bindings
    [ipv4] = [b for b in bindings if b["bindIP"] == "0.0.0.0"]
    assert harness.http_get("127.0.0.1", ipv4["hostPort"]) == (200, f"{PAGE}\n".encode())

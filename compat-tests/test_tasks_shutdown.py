"""What a SIGTERM'd ecsbox leaves on the Docker engine, through the real
binary: by default nothing it owns (task containers, warm namespace holders,
its awsvpc network); with --keep-containers the tasks' containers stay
running and only the warm holders (which belong to no task) go; the next
start under the same instance id removes what the kept run left.
"""

import subprocess
import time

import pytest

import harness

pytestmark = pytest.mark.usefixtures("busybox_image")


def docker(*args: str) -> str:
    p = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"docker {' '.join(args)}: {p.stderr}"
    return p.stdout


def owned_networks(instance: str) -> list[str]:
    return docker("network", "ls", "-q", "--filter", f"label=ecsbox.owner={instance}").split()


def remove_owned(instance: str) -> None:
    """What a kept run left: removed by the test, failed or not."""
    ids = docker("ps", "-aq", "--filter", f"label=ecsbox.owner={instance}").split()
    if ids:
        docker("rm", "-f", *ids)
    for network in owned_networks(instance):
        docker("network", "rm", network)


def run_one_awsvpc_task(server) -> str:
    """Starts one awsvpc task and waits until it runs and the server's warm
    namespace pool (default 2) has filled; the task's ARN."""
    ecs = harness.ecs_client(server.endpoint)
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="kept", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "command": ["sleep", "300"]}],
    )
    arn = ecs.run_task(cluster="c", taskDefinition="kept", launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}})["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(cluster="c", tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    deadline = time.monotonic() + 30
    while len(warm_holders(server)) < 2:
        assert time.monotonic() < deadline, f"the warm pool never filled: {harness.owned_containers(server)}"
        time.sleep(0.1)
    return arn


def warm_holders(server) -> list[str]:
    return [line for line in harness.owned_containers(server)
            if line.split(" ", 2)[1].startswith(harness.WARM_HOLDER_PREFIX)]


def test_sigterm_removes_everything_the_instance_owns(start_ecsbox):
    server = start_ecsbox()
    instance = harness.instance_id(server)
    try:
        run_one_awsvpc_task(server)
        assert owned_networks(instance), "the awsvpc network exists while tasks run"
        assert server.stop() == 0, server.log_tail()
        assert harness.owned_containers(server) == []
        assert owned_networks(instance) == []
    finally:
        remove_owned(instance)


def test_keep_containers_keeps_the_tasks_and_the_next_start_removes_them(start_ecsbox):
    server = start_ecsbox("--keep-containers")
    instance = harness.instance_id(server)
    try:
        arn = run_one_awsvpc_task(server)
        assert server.stop() == 0, server.log_tail()
        left = harness.owned_containers(server)
        assert warm_holders(server) == [], left
        task_ids = docker("ps", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={arn}").split()
        running = docker("ps", "-q", "--filter", f"label=ecsbox.owner={instance}").split()
        assert task_ids and sorted(task_ids) == sorted(running), left

        # State is in memory: the next run under the same id cannot describe
        # those tasks, so it removes their containers when it starts.
        again = start_ecsbox(env={"ECSBOX_INSTANCE_ID": instance})
        assert harness.ecs_client(again.endpoint).list_clusters()["clusterArns"] == []
        deadline = time.monotonic() + 30
        while harness.owned_containers(again):
            assert time.monotonic() < deadline, f"leftovers not removed: {harness.owned_containers(again)}"
            time.sleep(0.2)
    finally:
        remove_owned(instance)

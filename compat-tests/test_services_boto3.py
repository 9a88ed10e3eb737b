"""Services through boto3, on the real Docker engine: boto3's waiters
(`services_stable`, `services_inactive`; a 1 s delay instead of the model's
15 s keeps the suite fast), replacement of a container killed with
`docker kill`, a rolling update sampled throughout, the circuit breaker's
rollback, a DAEMON service on a cluster's virtual container instances, and
DeleteService with and without force.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from botocore.exceptions import WaiterError

import harness
from harness import raises_aws

pytestmark = pytest.mark.usefixtures("busybox_image", "no_containers_left")

CLUSTER = "services-boto3"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
# PID 1 exits at once on SIGTERM, so replaced tasks never wait for a SIGKILL.
SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def container(revision: str, **kw) -> dict:
    c = {"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True, "command": SERVE,
         "environment": [{"name": "REVISION", "value": revision}]}
    c.update(kw)
    return c


def fargate(ecs, family: str, revision: str = "1", **container_kw) -> str:
    out = ecs.register_task_definition(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                       cpu="256", memory="512",
                                       containerDefinitions=[container(revision, **container_kw)])
    return out["taskDefinition"]["taskDefinitionArn"]


@pytest.fixture
def cluster(ecs) -> str:
    ecs.create_cluster(clusterName=CLUSTER)
    return CLUSTER


def create(ecs, name: str, family: str, desired: int, cluster: str = CLUSTER, **kw) -> dict:
    kw.setdefault("launchType", "FARGATE")
    if kw["launchType"] == "FARGATE":
        kw.setdefault("networkConfiguration", NETWORK)
    return ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=desired,
                              **kw)["service"]


def describe(ecs, name: str, cluster: str = CLUSTER) -> dict:
    [service] = ecs.describe_services(cluster=cluster, services=[name])["services"]
    return service


def tasks_of(ecs, name: str, cluster: str = CLUSTER, desired: str = "RUNNING") -> list[dict]:
    arns = ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus=desired)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def wait(ecs, waiter: str, *names: str, cluster: str = CLUSTER) -> None:
    """boto3's waiter with a 1 s delay; a failed wait shows the services."""
    try:
        ecs.get_waiter(waiter).wait(cluster=cluster, services=list(names), WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    except WaiterError as e:
        seen = [{k: s.get(k) for k in ("serviceName", "status", "desiredCount", "runningCount", "deployments", "events")}
                for s in ecs.describe_services(cluster=cluster, services=list(names))["services"]]
        raise AssertionError(f"{waiter} failed ({e}); services: {json.dumps(seen, indent=1, default=str)}") from None


def wait_until(ecs, name: str, what: str, done, cluster: str = CLUSTER, within: float = 60) -> dict:
    deadline = time.monotonic() + within
    while True:
        service = describe(ecs, name, cluster)
        if done(service):
            return service
        assert time.monotonic() < deadline, f"{name} never {what}: {json.dumps(service, indent=1, default=str)}"
        time.sleep(0.1)


def messages(service: dict) -> list[str]:
    return [e["message"] for e in service["events"]]


def short_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def settled(service: dict) -> bool:
    deployments = service["deployments"]
    return (len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"
            and service["runningCount"] == service["desiredCount"])


def test_three_tasks_become_stable_and_a_killed_container_is_replaced(ecs, cluster):
    fargate(ecs, "web")
    create(ecs, "web", "web", 3)
    wait(ecs, "services_stable", "web")
    service = describe(ecs, "web")
    assert (service["runningCount"], service["pendingCount"], len(service["deployments"])) == (3, 0, 1)
    tasks = tasks_of(ecs, "web")
    assert [t["lastStatus"] for t in tasks] == ["RUNNING"] * 3
    assert {t["group"] for t in tasks} == {"service:web"}

    victim = tasks[0]
    p = subprocess.run(["docker", "kill", victim["containers"][0]["runtimeId"]], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    before = {t["taskArn"] for t in tasks}
    service = wait_until(ecs, "web", "replaced the killed task", lambda s: s["runningCount"] == 3 and any(
        m.startswith("(service web) has started 1 tasks: ") for m in messages(s)))
    running = [t for t in tasks_of(ecs, "web") if t["lastStatus"] == "RUNNING"]
    assert len(running) == 3 and victim["taskArn"] not in {t["taskArn"] for t in running}
    [replacement] = [t for t in running if t["taskArn"] not in before]
    assert f"(service web) has started 1 tasks: (task {short_id(replacement['taskArn'])})." in messages(service)
    [dead] = ecs.describe_tasks(cluster=cluster, tasks=[victim["taskArn"]])["tasks"]
    assert (dead["lastStatus"], dead["stopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert dead["containers"][0]["exitCode"] == 137, "SIGKILL"


def test_a_rolling_update_keeps_three_running_and_completes(ecs, cluster):
    v1 = fargate(ecs, "roll", "1")
    create(ecs, "roll", "roll", 3, deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200})
    wait(ecs, "services_stable", "roll")
    v2 = fargate(ecs, "roll", "2")
    updated = ecs.update_service(cluster=cluster, service="roll", taskDefinition=v2)["service"]
    assert [d["status"] for d in updated["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert [d["taskDefinition"] for d in updated["deployments"]] == [v2, v1]

    # Sampled every ~100 ms: never fewer than 3 serving (min 100%), never
    # more than 6 alive (max 200%), until the new revision completes.
    deadline = time.monotonic() + 60
    samples = 0
    while True:
        tasks = tasks_of(ecs, "roll")
        serving = [t for t in tasks if t["lastStatus"] == "RUNNING"]
        assert len(serving) >= 3, f"only {len(serving)} running mid-rollout: {[t['lastStatus'] for t in tasks]}"
        assert len(tasks) <= 6, len(tasks)
        service = describe(ecs, "roll")
        assert service["runningCount"] >= 3, service["runningCount"]
        samples += 1
        if settled(service) and service["taskDefinition"] == v2:
            break
        assert time.monotonic() < deadline, json.dumps(service, indent=1, default=str)
        time.sleep(0.1)
    assert samples > 3, samples
    tasks = tasks_of(ecs, "roll")
    assert len(tasks) == 3 and {t["taskDefinitionArn"] for t in tasks} == {v2}
    assert any(m.endswith("deployment completed.") for m in messages(service)), messages(service)


def test_the_circuit_breaker_rolls_back_a_revision_that_exits_at_once(ecs, cluster):
    good = fargate(ecs, "fragile", "good")
    create(ecs, "fragile", "fragile", 2,
           deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    wait(ecs, "services_stable", "fragile")
    bad = fargate(ecs, "fragile", "bad", command=["sh", "-c", "exit 1"])
    updated = ecs.update_service(cluster=cluster, service="fragile", taskDefinition=bad)["service"]
    failed_id = updated["deployments"][0]["id"]

    service = wait_until(ecs, "fragile", "rolled back", lambda s: settled(s) and s["taskDefinition"] == good
                         and any("deployment failed" in m for m in messages(s)))
    assert (f"(service fragile) (deployment {failed_id}) deployment failed: tasks failed to start."
            in messages(service)), messages(service)
    assert any(m.startswith("(service fragile) rolling back to deployment ") for m in messages(service))
    tasks = tasks_of(ecs, "fragile")
    assert [(t["lastStatus"], t["taskDefinitionArn"]) for t in tasks] == [("RUNNING", good)] * 2
    # The bad revision's tasks ran and exited 1 (others, still starting when
    # the breaker tripped, were stopped by the scheduler).
    crashed = [t for t in tasks_of(ecs, "fragile", desired="STOPPED")
               if t["taskDefinitionArn"] == bad and t["stopCode"] == "EssentialContainerExited"]
    assert len(crashed) >= 3, "the default threshold for 2 tasks is 3 failures"
    assert {t["containers"][0].get("exitCode") for t in crashed} == {1}

    # AWS makes no new service deployment for a rollback: the failed one
    # rolls back itself and ends ROLLBACK_SUCCESSFUL.
    history = ecs.list_service_deployments(cluster=cluster, service="fragile")["serviceDeployments"]
    assert sorted(d["status"] for d in history) == ["ROLLBACK_SUCCESSFUL", "SUCCESSFUL"], history


def test_a_daemon_service_runs_one_task_per_virtual_instance(ecs):
    ecs.create_cluster(clusterName="fleet", tags=[{"key": "ecsbox:container-instances", "value": "3"}])
    instances = ecs.list_container_instances(cluster="fleet")["containerInstanceArns"]
    assert len(instances) == 3
    ecs.register_task_definition(family="agent", networkMode="bridge", requiresCompatibilities=["EC2"],
                                 containerDefinitions=[container("daemon", memory=32)])
    service = ecs.create_service(cluster="fleet", serviceName="agent", taskDefinition="agent", launchType="EC2",
                                 schedulingStrategy="DAEMON")["service"]
    assert service["schedulingStrategy"] == "DAEMON"
    # AWS keeps a DAEMON service's desiredCount at its number of instances,
    # so services_stable (runningCount == desiredCount) works for it too.
    wait(ecs, "services_stable", "agent", cluster="fleet")
    service = describe(ecs, "agent", cluster="fleet")
    assert (service["desiredCount"], service["runningCount"]) == (3, 3)
    tasks = tasks_of(ecs, "agent", cluster="fleet")
    assert sorted(t["containerInstanceArn"] for t in tasks) == sorted(instances), "one task on each instance"


def test_delete_refuses_while_scaled_and_drains_to_inactive(ecs, ecsbox, cluster):
    fargate(ecs, "doomed")
    create(ecs, "scaled", "doomed", 1)
    create(ecs, "forced", "doomed", 1)
    wait(ecs, "services_stable", "scaled", "forced")
    doomed = [t["taskArn"] for name in ("scaled", "forced") for t in tasks_of(ecs, name)]

    with raises_aws("InvalidParameterException"):
        ecs.delete_service(cluster=cluster, service="scaled")
    assert describe(ecs, "scaled")["status"] == "ACTIVE"
    ecs.update_service(cluster=cluster, service="scaled", desiredCount=0)
    wait(ecs, "services_stable", "scaled")
    assert ecs.delete_service(cluster=cluster, service="scaled")["service"]["status"] == "DRAINING"
    assert ecs.delete_service(cluster=cluster, service="forced", force=True)["service"]["status"] == "DRAINING"

    # One waiter per service: ServicesInactive succeeds when any service it
    # asks about is INACTIVE (waiters-2.json: anyStringEquals).
    wait(ecs, "services_inactive", "scaled")
    wait(ecs, "services_inactive", "forced")
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []
    stopped = ecs.describe_tasks(cluster=cluster, tasks=doomed)["tasks"]
    assert {(t["lastStatus"], t["stopCode"]) for t in stopped} == {("STOPPED", "ServiceSchedulerInitiated")}
    left = harness.task_containers(ecsbox)
    assert not [line for line in left if line.split(" ", 2)[2].startswith("Up")], left
    # An INACTIVE service is still described, but no longer updated.
    with raises_aws("ServiceNotActiveException"):
        ecs.update_service(cluster=cluster, service="forced", desiredCount=1)

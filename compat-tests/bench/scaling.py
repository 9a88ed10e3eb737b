#!/usr/bin/env python3
"""Scaling benchmark: from sustained CPU load in a service's task to the
scale-out's new task RUNNING, on real time and the real Docker engine.

    python3 compat-tests/bench/scaling.py

ecsbox runs with `--metrics-period 1` (the shortest period its README
documents), so the AWS/ECS metrics are sampled from `docker stats` every
second. A one-task FARGATE service has a target tracking policy at 50%
ECSServiceAverageCPUUtilization. Its task idles until the benchmark
creates /burn in its container (`docker exec`), then burns its quarter
vCPU. The time measured is from that moment to a second task of the
service RUNNING; it is compared with one evaluation window of the policy's
AlarmHigh (Period x EvaluationPeriods: 60 s x 3, as AWS creates it), which
the scale-out cannot beat: the ratio is at least 1, and the target is at
most 1.5. Nothing is compared with a peer (none runs ECS tasks locally).

It takes about four real minutes, prints numbers and never fails on timing.
Environment: ECSBOX_BIN (use this binary, skip `cargo build --release`).
The test image ecsbox-test/busybox:latest is built by
scripts/build-test-images.sh when missing. Everything the run creates is
removed at the end (containers and networks labelled with its instance id).
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import control_plane as cp  # noqa: E402  (the server wrapper and the venv are shared)

IMAGE = "ecsbox-test/busybox:latest"
TARGET_RATIO = 1.5
WAIT_LIMIT_S = 600
# Idles (polling for the file each second) until /burn exists, then
# burns; PID 1 exits at once on SIGTERM.
SCRIPT = "trap 'exit 0' TERM; until [ -e /burn ]; do sleep 1; done; while :; do :; done"


def log(msg):
    print(msg, flush=True)


def ensure_venv():
    """Runs this script inside compat-tests/bench/.venv (control_plane's,
    with moto and so boto3), creating it first when it is missing."""
    venv_python = cp.VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == cp.VENV.resolve():
        return
    if not venv_python.exists():
        log(f"setting up {cp.VENV} ({cp.REQUIREMENTS.name})")
        cp.run_checked([sys.executable, "-m", "venv", str(cp.VENV)])
        cp.run_checked([str(venv_python), "-m", "pip", "install", "-q", "-r", str(cp.REQUIREMENTS)])
    os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])


def docker(*args, check=True):
    out = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise cp.Broken(f"docker {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def ensure_image():
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode != 0:
        cp.run_checked(["bash", str(cp.REPO / "scripts" / "build-test-images.sh")])


def clients(port):
    import boto3
    kw = dict(endpoint_url=f"http://{cp.HOST}:{port}", region_name=cp.REGION,
              aws_access_key_id="AKIDBENCH", aws_secret_access_key="secret")
    return boto3.client("ecs", **kw), boto3.client("application-autoscaling", **kw), \
        boto3.client("cloudwatch", **kw)


def running_tasks(ecs):
    arns = ecs.list_tasks(cluster="bench", serviceName="cpu")["taskArns"]
    if not arns:
        return []
    tasks = ecs.describe_tasks(cluster="bench", tasks=arns)["tasks"]
    return [t["taskArn"] for t in tasks if t["lastStatus"] == "RUNNING"]


def wait(what, check, limit=WAIT_LIMIT_S, every=0.05):
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise cp.Broken(f"{what}: not within {limit} s")
        time.sleep(every)


def measure(port):
    ecs, aas, cw = clients(port)
    ecs.create_cluster(clusterName="bench")
    ecs.register_task_definition(
        family="cpu", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": IMAGE, "essential": True,
                               "command": ["sh", "-c", SCRIPT]}])
    ecs.create_service(
        cluster="bench", serviceName="cpu", taskDefinition="cpu", desiredCount=1, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0e2a7bcd"]}})
    first = wait("the first task RUNNING", lambda: running_tasks(ecs))[0]
    resource = "service/bench/cpu"
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource,
                                 ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=3)
    policy = aas.put_scaling_policy(
        PolicyName="cpu50", ServiceNamespace="ecs", ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    high = [a["AlarmName"] for a in policy["Alarms"] if "AlarmHigh" in a["AlarmName"]]
    alarm = cw.describe_alarms(AlarmNames=high)["MetricAlarms"][0]
    window = alarm["Period"] * alarm["EvaluationPeriods"]
    log(f"  alarm {alarm['AlarmName']}: {alarm['EvaluationPeriods']} x {alarm['Period']} s "
        f"above {alarm['Threshold']:.0f}% -> one evaluation window is {window} s")

    container = wait("the task's container", lambda: docker(
        "ps", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={first}",
        "--filter", "label=com.amazonaws.ecs.container-name=app"))
    docker("exec", container, "touch", "/burn")
    loaded = time.monotonic()
    log("  load on: the task burns its quarter vCPU")
    second = wait("a second task RUNNING", lambda: [t for t in running_tasks(ecs) if t != first], every=0.1)
    took = time.monotonic() - loaded
    service = ecs.describe_services(cluster="bench", services=["cpu"])["services"][0]
    log(f"  scaled out to desiredCount {service['desiredCount']}; new task {second[0].rsplit('/', 1)[1]} "
        f"RUNNING {took:.1f} s after the load began")
    ecs.delete_service(cluster="bench", service="cpu", force=True)
    return took, window


def cleanup(owner):
    for cid in docker("ps", "-aq", "--filter", f"label=ecsbox.owner={owner}", check=False).split():
        docker("rm", "-f", cid, check=False)
    for nid in docker("network", "ls", "-q", "--filter", f"label=ecsbox.owner={owner}", check=False).split():
        docker("network", "rm", nid, check=False)


def main():
    ensure_venv()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = cp.ensure_ecsbox()
    ensure_image()
    owner = f"bench-scaling-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="ecsbox-bench-scaling-") as tmp:
        server = cp.Server("ecsbox", lambda port: [
            str(binary), "--listen", f"{cp.HOST}:{port}", "--registry-listen", f"{cp.HOST}:0",
            "--instance-id", owner, "--metrics-period", "1"], Path(tmp))
        log(f"machine: {cp.machine_line()}")
        log(f"ecsbox {binary} --metrics-period 1 (instance id {owner})")
        try:
            server.start()
            took, window = measure(server.port)
        finally:
            server.stop()
            cleanup(owner)
    ratio = took / window
    log("\nmetric                                   ecsbox     target")
    log(f"load -> scale-out task RUNNING (s)       {took:8.1f}")
    log(f"one evaluation window (s)                {window:8d}")
    log(f"ratio                                    {ratio:8.2f}     <= {TARGET_RATIO}  "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT MET'}")


if __name__ == "__main__":
    try:
        main()
    except cp.Broken as err:
        log(f"benchmark broken: {err}")
        sys.exit(1)

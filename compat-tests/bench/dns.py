#!/usr/bin/env python3
"""DNS benchmark: Cloud Map names inside a task, on the real Docker engine.

    python3 compat-tests/bench/dns.py

1. Answer latency from inside a task. A probe task (awsvpc, on ecsbox's
   network) idles; the measuring loop runs in its network namespace
   (`nsenter -n`, so its packets go where the task's go) and sends
   BENCH_QUERIES (10,000) sequential UDP queries to each of:
     - Docker's embedded resolver (127.0.0.11) for the probe's own
       container name, which Docker answers itself: the baseline;
     - ecsbox's DNS server (GET /_ecsbox/dns) for `api.bench.local`, a
       Cloud Map name: the ratio to the baseline is the target (<= 1.5);
     - Docker's embedded resolver for `api.bench.local`, the path a task's
       own lookups take on ecsbox's awsvpc network (Docker asks ecsbox):
       printed for information.
2. From a task's RUNNING to its name resolving: a service with
   `serviceRegistries` scales 0 -> 1 BENCH_STARTS times; the time from the
   task's `startedAt` (ecsbox's clock, which is real time here) to the
   first answer from ecsbox's DNS server that holds its IP, polled every
   2 ms from the host (target <= 1 s).

Prints numbers and never fails on timing. Environment: ECSBOX_BIN (use
this binary, skip `cargo build --release`), BENCH_QUERIES, BENCH_STARTS.
Needs root (nsenter, and ecsbox's port 53). Everything the run creates is
removed at the end (containers and networks labelled with its instance id).
"""

import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import control_plane as cp  # noqa: E402  (the server wrapper and the venv are shared)
import scaling  # noqa: E402  (docker, the test image, waiting, cleanup)

QUERIES = int(os.environ.get("BENCH_QUERIES", "10000"))
STARTS = int(os.environ.get("BENCH_STARTS", "5"))
LATENCY_RATIO_TARGET = 1.5
RESOLVE_TARGET_S = 1.0
NAMESPACE = "bench.local"
SUBNETS = {"subnets": ["subnet-0e2a7bcd"]}

# Runs inside the probe's network namespace: sequential queries to one
# server, each timed; prints JSON {"p50": us, "p99": us, "answered": n}.
MEASURE = r"""
import json, random, socket, struct, sys, time
server, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((server, 53))
s.settimeout(2)
times, answered = [], 0
for i in range(n + 200):
    ident = random.getrandbits(16)
    msg = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q
    t0 = time.perf_counter_ns()
    s.send(msg)
    while True:
        reply = s.recv(4096)
        if reply[:2] == msg[:2]:
            break
    t1 = time.perf_counter_ns()
    if i >= 200:  # the first 200 warm up
        times.append((t1 - t0) / 1000)
        answered += struct.unpack(">H", reply[6:8])[0] > 0 and (reply[3] & 0x0F) == 0
times.sort()
print(json.dumps({"p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99)], "answered": answered}))
"""


def log(msg):
    print(msg, flush=True)


def query(name):
    ident = random.getrandbits(16)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return ident, struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", 1, 1)


def answers_ip(sock, name, ip):
    """Whether ecsbox's DNS answers `name` with `ip` (its 4 bytes in the answer)."""
    ident, msg = query(name)
    sock.send(msg)
    try:
        reply = sock.recv(4096)
    except OSError:
        return False
    packed = bytes(int(p) for p in ip.split("."))
    # Past the question, which the answer repeats.
    return reply[:2] == msg[:2] and packed in reply[len(msg):]


def clients(port):
    import boto3
    kw = dict(endpoint_url=f"http://{cp.HOST}:{port}", region_name=cp.REGION,
              aws_access_key_id="AKIDBENCH", aws_secret_access_key="secret")
    return boto3.client("ecs", **kw), boto3.client("servicediscovery", **kw)


def dns_address(port):
    import urllib.request
    with urllib.request.urlopen(f"http://{cp.HOST}:{port}/_ecsbox/dns") as r:
        address = json.load(r)["address"]
    if not address:
        raise cp.Broken("ecsbox's DNS server is off (GET /_ecsbox/dns): run as root")
    return address.rsplit(":", 1)[0]


def eni_ip(task):
    for a in task.get("attachments", []):
        for d in a.get("details", []):
            if d["name"] == "privateIPv4Address":
                return d["value"]
    return None


def setup(ecs, sd):
    ecs.create_cluster(clusterName="bench")
    op = sd.create_private_dns_namespace(Name=NAMESPACE, Vpc="vpc-0123abcd")
    ns = sd.get_operation(OperationId=op["OperationId"])["Operation"]["Targets"]["NAMESPACE"]
    registry = sd.create_service(Name="api", NamespaceId=ns,
                                 DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 1}]})["Service"]["Arn"]
    for family, script in [("probe", "trap 'exit 0' TERM; sleep 3600 & wait"),
                           ("api", "trap 'exit 0' TERM; sleep 3600 & wait")]:
        ecs.register_task_definition(
            family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": family, "image": scaling.IMAGE, "essential": True,
                                   "command": ["sh", "-c", script], "stopTimeout": 2}])
    ecs.create_service(cluster="bench", serviceName="api", taskDefinition="api", desiredCount=0,
                       launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": SUBNETS},
                       serviceRegistries=[{"registryArn": registry}])


def running(ecs, service):
    arns = ecs.list_tasks(cluster="bench", serviceName=service)["taskArns"]
    tasks = ecs.describe_tasks(cluster="bench", tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["lastStatus"] == "RUNNING"]


def measure_resolution(ecs, dns_ip):
    """Seconds from each new task's startedAt to its IP in ecsbox's answer."""
    import socket
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((dns_ip, 53))
    sock.settimeout(1)
    name = f"api.{NAMESPACE}"
    delays = []
    for _ in range(STARTS):
        ecs.update_service(cluster="bench", service="api", desiredCount=1)
        # The IP is known once the task has its ENI (PROVISIONING); poll for
        # it, then for the answer, timestamping the answer on arrival.
        task = scaling.wait("the api task's IP", lambda: next(
            (t for t in running(ecs, "api") + pending(ecs) if eni_ip(t)), None), every=0.002)
        ip = eni_ip(task)
        scaling.wait("the name resolving", lambda: answers_ip(sock, name, ip), every=0.002)
        resolved = time.time()
        started = scaling.wait("startedAt", lambda: next(
            (t.get("startedAt") for t in running(ecs, "api") if eni_ip(t) == ip), None))
        started = started.timestamp() if hasattr(started, "timestamp") else float(started)
        delays.append(resolved - started)
        ecs.update_service(cluster="bench", service="api", desiredCount=0)
        scaling.wait("the api task gone", lambda: not ecs.list_tasks(cluster="bench", serviceName="api")["taskArns"])
        scaling.wait("the name emptied", lambda: not answers_ip(sock, name, ip), every=0.01)
    return delays


def pending(ecs):
    arns = ecs.list_tasks(cluster="bench", serviceName="api")["taskArns"]
    return ecs.describe_tasks(cluster="bench", tasks=arns)["tasks"] if arns else []


def measure_latency(ecs, dns_ip):
    ecs.update_service(cluster="bench", service="api", desiredCount=1)
    scaling.wait("the api task RUNNING", lambda: running(ecs, "api"))
    probe = ecs.run_task(cluster="bench", taskDefinition="probe", launchType="FARGATE",
                         networkConfiguration={"awsvpcConfiguration": SUBNETS})["tasks"][0]["taskArn"]
    scaling.wait("the probe RUNNING", lambda: [t for t in running_all(ecs) if t["taskArn"] == probe])
    container = scaling.wait("the probe's container", lambda: scaling.docker(
        "ps", "-q", "--filter", f"label=com.amazonaws.ecs.task-arn={probe}"))
    pid = scaling.docker("inspect", "-f", "{{.State.Pid}}", container)
    own_name = scaling.docker("inspect", "-f", "{{.Name}}", container).lstrip("/")
    results = {}
    for label, server, name in [
        ("Docker's resolver, a container name", "127.0.0.11", own_name),
        ("ecsbox's DNS, a Cloud Map name", dns_ip, f"api.{NAMESPACE}"),
        ("Docker's resolver -> ecsbox's, a Cloud Map name", "127.0.0.11", f"api.{NAMESPACE}"),
    ]:
        out = subprocess.run(["nsenter", "-t", pid, "-n", sys.executable, "-c", MEASURE, server, name, str(QUERIES)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise cp.Broken(f"measuring {label}: {out.stderr.strip()}")
        r = json.loads(out.stdout)
        if r["answered"] < QUERIES:
            raise cp.Broken(f"{label}: only {r['answered']} of {QUERIES} queries answered with records")
        results[label] = r
        log(f"  {label:<50} p50 {r['p50']:7.0f} us   p99 {r['p99']:7.0f} us")
    ecs.update_service(cluster="bench", service="api", desiredCount=0)
    ecs.stop_task(cluster="bench", task=probe)
    return results


def running_all(ecs):
    arns = ecs.list_tasks(cluster="bench")["taskArns"]
    tasks = ecs.describe_tasks(cluster="bench", tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["lastStatus"] == "RUNNING"]


def main():
    cp.ensure_venv()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = cp.ensure_ecsbox()
    scaling.ensure_image()
    owner = f"bench-dns-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="ecsbox-bench-dns-") as tmp:
        server = cp.Server("ecsbox", lambda port: [
            str(binary), "--listen", f"{cp.HOST}:{port}", "--registry-listen", f"{cp.HOST}:0",
            "--instance-id", owner], Path(tmp))
        log(f"machine: {cp.machine_line()}")
        log(f"ecsbox {binary} (instance id {owner}); {QUERIES} queries per server, {STARTS} task starts")
        try:
            server.start()
            ecs, sd = clients(server.port)
            dns_ip = dns_address(server.port)
            log(f"ecsbox's DNS server: {dns_ip}:53")
            setup(ecs, sd)
            latency = measure_latency(ecs, dns_ip)
            delays = measure_resolution(ecs, dns_ip)
        finally:
            server.stop()
            scaling.cleanup(owner)
    base = latency["Docker's resolver, a container name"]
    ours = latency["ecsbox's DNS, a Cloud Map name"]
    ratio50, ratio99 = ours["p50"] / base["p50"], ours["p99"] / base["p99"]
    delays.sort()
    worst = delays[-1]
    log("\nmetric                                          value      target")
    log(f"answer latency p50, ecsbox / Docker's resolver  {ratio50:6.2f}x    <= {LATENCY_RATIO_TARGET}  "
        f"{'met' if ratio50 <= LATENCY_RATIO_TARGET else 'NOT MET'}")
    log(f"answer latency p99, ecsbox / Docker's resolver  {ratio99:6.2f}x    <= {LATENCY_RATIO_TARGET}  "
        f"{'met' if ratio99 <= LATENCY_RATIO_TARGET else 'NOT MET'}")
    log(f"RUNNING -> name resolves, median (s)            {delays[len(delays) // 2]:6.3f}")
    log(f"RUNNING -> name resolves, worst of {STARTS} (s)       {worst:6.3f}     <= {RESOLVE_TARGET_S}  "
        f"{'met' if worst <= RESOLVE_TARGET_S else 'NOT MET'}")


if __name__ == "__main__":
    try:
        main()
    except cp.Broken as err:
        log(f"benchmark broken: {err}")
        sys.exit(1)

#!/usr/bin/env python3
"""Service Connect benchmark: the proxy behind a client alias against a
direct connection to a task, in the same run (issue 12, "Performance":
throughput >= 0.8x direct, added p99 <= 1 ms).

    ECSBOX_BIN=target/release/ecsbox python3 compat-tests/bench/service_connect.py

Sets up, on the local Docker engine, through ecsbox's own APIs (boto3): a
cluster, a Cloud Map HTTP namespace, and a FARGATE/awsvpc service of 3 tasks
running ecsbox-bench/backend:1 (the keep-alive HTTP/1.1 server lb.py uses)
with a serviceConnectConfiguration whose client alias is api:8080. ecsbox
serves the alias on an address of the host's loopback (GET
/_ecsbox/service-connect), the address a task's /etc/hosts maps `api` to;
wrk runs on the host against it and against one task directly:
  1. wrk -t2 -c64 -d10s --latency, direct and through the alias, the order
     rotated over 3 rounds; medians of requests/s, p50, p99; the alias's
     requests/s over direct's and the p99 it adds (paired per round).
  2. the same at 1 connection: the latency the proxy adds without queueing.
  2b. the 64 connections at a fixed rate below saturation (20 ms between a
     connection's requests): the latency the proxy adds when the 2 cores
     are not the bottleneck.
The alias spreads the 64 connections over the 3 tasks (a connection goes to
the next task); direct sends all of them to one task, as lb.py's direct
runs do.

It prints numbers and ratios; it never fails on timing. Everything it made is
removed at the end, also on error or Ctrl-C (lb.py's cleanup: POST
/_ecsbox/reset, ecsbox stopped, containers of this run's labels and its
awsvpc network removed). Traffic goes to the alias's link-local address on
this host and the task IPs on the local Docker engine's network only.

Environment: ECSBOX_BIN (use this binary, skip `cargo build --release`),
BENCH_DURATION (seconds per 64-connection wrk run, default 10),
BENCH_ROUNDS (default 3).
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
import control_plane as cp  # noqa: E402
import lb  # noqa: E402  (backend image, wrk runs, table, cleanup)
from control_plane import Broken, log  # noqa: E402

# This run's names, also where lb's helpers (backend_pids, cleanup,
# ecsbox_server) read them.
RUN_ID = f"bench-sc-{os.getpid()}-{uuid.uuid4().hex[:6]}"
lb.RUN_ID = RUN_ID
lb.AWSVPC_NETWORK = f"ecsbox-awsvpc-{RUN_ID}"

CLUSTER = "bench-sc"
NAMESPACE = "bench.local"
ALIAS = ("api", 8080)
TASKS = lb.TASKS
SETUP_TIMEOUT_S = 120.0

TARGETS = {
    "rps64": ("alias >= 0.8x direct", lambda sc, d: sc >= 0.8 * d),
    "added_p99_64": ("<= 1 ms", lambda sc, d: sc <= 1.0),
    "added_p99_paced": ("<= 1 ms", lambda sc, d: sc <= 1.0),
}


def discovery_client(port):
    import boto3
    from botocore.config import Config

    return boto3.session.Session(aws_access_key_id=cp.ACCESS_KEY, aws_secret_access_key=cp.SECRET_KEY,
                                 region_name=cp.REGION).client(
        "servicediscovery", endpoint_url=f"http://{cp.HOST}:{port}",
        config=Config(retries={"total_max_attempts": 1}, inject_host_prefix=False))


def setup(box, sd):
    """The namespace and the 3-task service with the alias; answers (task
    IPs, the alias's (host, port))."""
    lb.api("ecs", box.ecs.create_cluster, clusterName=CLUSTER)
    subnets = lb.api("default subnets", box.ec2.describe_subnets,
                     Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    lb.api("namespace", sd.create_http_namespace, Name=NAMESPACE)
    lb.api("task definition", box.ecs.register_task_definition,
           family="bench-sc-api", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
           cpu=lb.TASK_CPU, memory=lb.TASK_MEMORY,
           containerDefinitions=[{
               "name": lb.CONTAINER, "image": lb.IMAGE, "essential": True, "cpu": int(lb.TASK_CPU),
               "portMappings": [{"name": "http", "containerPort": lb.CONTAINER_PORT, "appProtocol": "http"}],
               "environment": [{"name": "BACKEND_TAG", "value": "api"}],
           }])
    lb.api("service", box.ecs.create_service, cluster=CLUSTER, serviceName="api", taskDefinition="bench-sc-api",
           desiredCount=TASKS, launchType="FARGATE",
           networkConfiguration={"awsvpcConfiguration": {"subnets": [s["SubnetId"] for s in subnets[:2]]}},
           serviceConnectConfiguration={"enabled": True, "namespace": NAMESPACE, "services": [{
               "portName": "http", "discoveryName": "api",
               "clientAliases": [{"dnsName": ALIAS[0], "port": ALIAS[1]}]}]})
    started = time.perf_counter()
    ips, endpoint, instances = [], None, []
    while time.perf_counter() - started < SETUP_TIMEOUT_S:
        arns = lb.api("tasks", box.ecs.list_tasks, cluster=CLUSTER, serviceName="api")["taskArns"]
        tasks = lb.api("tasks", box.ecs.describe_tasks, cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
        ips = sorted(ip for ip in (lb.task_ip(t) for t in tasks if t["lastStatus"] == "RUNNING") if ip)
        served = lb.http_get_json(box.server.port, "/_ecsbox/service-connect")
        if not served.get("available"):
            raise Broken(f"ecsbox cannot serve Service Connect here: {served.get('unavailableBecause')}")
        endpoint = next((e for e in served["endpoints"] if e["dnsName"] == ALIAS[0]), None)
        instances = lb.api("instances", sd.discover_instances, NamespaceName=NAMESPACE,
                           ServiceName="api")["Instances"]
        if len(ips) == TASKS and endpoint and len(instances) == TASKS:
            host, _, port = endpoint["address"].rpartition(":")
            log(f"  {TASKS} tasks RUNNING and registered after {time.perf_counter() - started:.1f} s: "
                f"{', '.join(ips)}; alias {ALIAS[0]}:{ALIAS[1]} served on {host}:{port}")
            return ips, (host, int(port))
        time.sleep(lb.POLL_S)
    raise Broken(f"service not ready {SETUP_TIMEOUT_S:.0f} s after it was created: task IPs {ips}, "
                 f"endpoint {endpoint}, Cloud Map instances {len(instances)}")


def report(tp):
    d64, s64 = tp[("direct", lb.WRK_CONNECTIONS)], tp[("alias", lb.WRK_CONNECTIONS)]
    d1, s1 = tp[("direct", 1)], tp[("alias", 1)]
    dp, sp = tp[("direct", lb.PACED)], tp[("alias", lb.PACED)]
    rows = [
        (f"requests/s, {lb.WRK_CONNECTIONS} conns (median of {lb.ROUNDS})", "req/s", s64["rps"], d64["rps"], "rps64"),
        (f"p50, {lb.WRK_CONNECTIONS} conns", "ms", s64["p50_ms"], d64["p50_ms"], None),
        (f"p99, {lb.WRK_CONNECTIONS} conns", "ms", s64["p99_ms"], d64["p99_ms"], None),
        (f"added p99 over direct, {lb.WRK_CONNECTIONS} conns", "ms", s64["added_p99_ms"], None, "added_p99_64"),
        (f"proxy CPU per request, {lb.WRK_CONNECTIONS} conns", "us", s64["proxy_us"], None, None),
        ("requests/s, 1 conn", "req/s", s1["rps"], d1["rps"], None),
        ("p50, 1 conn", "ms", s1["p50_ms"], d1["p50_ms"], None),
        ("p99, 1 conn", "ms", s1["p99_ms"], d1["p99_ms"], None),
        ("added p99 over direct, 1 conn", "ms", s1["added_p99_ms"], None, None),
        (f"requests/s, {lb.WRK_CONNECTIONS} conns paced", "req/s", sp["rps"], dp["rps"], None),
        (f"p99, {lb.WRK_CONNECTIONS} conns paced", "ms", sp["p99_ms"], dp["p99_ms"], None),
        (f"added p99 over direct, {lb.WRK_CONNECTIONS} conns paced", "ms", sp["added_p99_ms"], None,
         "added_p99_paced"),
        ("wrk errors, all runs", "count", s64["errors"] + s1["errors"] + sp["errors"],
         d64["errors"] + d1["errors"] + dp["errors"], None),
    ]
    header = ("metric", "unit", "alias", "direct", "alias/direct", "target", "")
    table = [header]
    for label, unit, sc, d, key in rows:
        ratio = f"{sc / d:.2f}" if d and unit == "req/s" else "-"
        target, test = TARGETS.get(key, ("", None))
        verdict = ("met" if test(sc, d) else "NOT MET") if test else ""
        table.append((label, unit, lb.fmt(sc, unit), lb.fmt(d, unit), ratio, target, verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    left = (0, 1, 5, 6)
    log("")
    for i, row in enumerate(table):
        log("| " + " | ".join(c.ljust(w) if j in left else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths)))
            + " |")
        if i == 0:
            log("|" + "|".join("-" * (w + 2) if j in left else "-" * (w + 1) + ":" for j, w in enumerate(widths))
                + "|")
    log("")
    log("Notes:")
    log(f"- 'added' rows: the alias's p99 minus direct's, paired per round, median over rounds. At "
        f"{lb.WRK_CONNECTIONS} connections the p99 includes queueing for the {cp.CORES} cores that wrk, ecsbox and "
        f"the {TASKS} backends share; the paced rows ({lb.PACED_DELAY_MS} ms between a connection's requests) "
        f"show the latency the proxy adds when the cores are not the bottleneck.")
    log(f"- Machine during the {lb.WRK_CONNECTIONS}-connection runs (median): alias {s64['busy_cores']:.2f} cores "
        f"busy (wrk {s64['wrk_cores']:.2f}), direct {d64['busy_cores']:.2f} (wrk {d64['wrk_cores']:.2f}); "
        f"backends' CPU per request: alias {s64['backends_us']:.1f} us, direct {d64['backends_us']:.1f} us.")


def main():
    lb.ensure_venv()  # the compat tests' venv: the pinned boto3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks clean up
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise Broken("the Docker engine is not reachable (docker info failed)")
    wrk = cp.ensure_wrk()
    lb.ensure_backend_image()
    binary = cp.ensure_ecsbox()
    with tempfile.TemporaryDirectory(prefix="ecsbox-bench-sc-") as tmp:
        workdir = Path(tmp)
        server = lb.ecsbox_server(binary, workdir)
        try:
            log(f"machine: {cp.machine_line()}; Docker {lb.docker('version', '--format', '{{.Server.Version}}')}; "
                f"{lb.load_line()}")
            log(f"ecsbox {binary} --instance-id {RUN_ID} --sigv4 off; image {lb.IMAGE}")
            server.start()
            cp.wait_for_engine_handshake(server)
            box = lb.Ecsbox(server)
            sd = discovery_client(server.port)
            log(f"\nsetup: namespace {NAMESPACE}, a {TASKS}-task service with the client alias "
                f"{ALIAS[0]}:{ALIAS[1]}")
            ips, alias = setup(box, sd)
            status, tag = lb.probe(alias)
            if (status, tag) != (200, "api"):
                raise Broken(f"GET / through the alias answered {status} from {tag!r}, not 200 from api")
            pids = lb.backend_pids()
            backends_cpu = lambda: sum(cp.proc_cpu_seconds(p) for p in pids)  # noqa: E731
            peers = [lb.Peer("direct", (ips[0], lb.CONTAINER_PORT), lambda: 0.0),
                     lb.Peer("alias", alias, server.cpu_seconds)]
            tp = lb.throughput_phase(wrk, workdir, peers, backends_cpu)
            report(tp)
            log(f"- At the end: {lb.load_line()}.")
        finally:
            lb.cleanup(server, None)


if __name__ == "__main__":
    try:
        main()
    except Broken as e:
        print(f"\nbenchmark broken: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted; everything removed", file=sys.stderr)
        sys.exit(130)

#!/usr/bin/env python3
"""Soak benchmark: 200 clients for 60 s against one ecsbox, mixing reads,
writes and task starts on the local Docker engine.

    python3 compat-tests/bench/soak.py

Each client is a thread with a keep-alive connection that, until the time is
up, picks its next call at random:
  - reads (70%): DescribeClusters, ListTaskDefinitions, ListTasks,
    DescribeTaskDefinition;
  - writes (25%), in pairs that leave nothing behind: TagResource then
    UntagResource on the cluster, CreateCluster then DeleteCluster of a
    cluster of its own, RegisterTaskDefinition then DeregisterTaskDefinition
    and DeleteTaskDefinitions of that revision;
  - task starts (5%): RunTask of one FARGATE/awsvpc busybox task, stopped
    (StopTask) by the same client a few seconds later; at most
    LIVE_TASKS tasks are alive at once (a task start over it is a read).

It prints the calls made and their status codes per operation (the target:
0 answers of 5xx), the tasks started and RUNNING, and ecsbox's RSS: the
baseline (after a warm-up that made the awsvpc network and one task), at the
end of the load, and after the load's traces are gone (every task stopped
and removed, ecsbox's clock moved past the hour a STOPPED task stays
describable, a few seconds to settle). The target: the last within 10% of
the baseline. It never fails on a number; exit status 0 unless something is
broken. Everything it created is removed at the end (reset, ecsbox stopped,
containers and networks of this run's instance id).

Environment: ECSBOX_BIN (use this binary, skip `cargo build --release`),
SOAK_CLIENTS (default 200), SOAK_DURATION (seconds, default 60), SOAK_SETTLE
(seconds before each RSS reading, default 5).
"""

import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import control_plane as cp  # noqa: E402  (stdlib only: signing, keep-alive client, server process)
import tasks as tb  # noqa: E402  (image, docker helpers)
from control_plane import Broken, log  # noqa: E402

CLIENTS = int(os.environ.get("SOAK_CLIENTS", "200"))
DURATION_S = float(os.environ.get("SOAK_DURATION", "60"))
LIVE_TASKS = 8
TASK_LIFETIME_S = 3.0
SETTLE_S = float(os.environ.get("SOAK_SETTLE", "5"))
RUN_ID = f"bench-soak-{os.getpid()}-{uuid.uuid4().hex[:6]}"
CLUSTER = "soak"
FAMILY = "soak-sleep"
TASK_DEFINITION = {
    "family": FAMILY,
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    # A shell that exits on SIGTERM, so StopTask does not wait out a timeout.
    "containerDefinitions": [{
        "name": "app", "image": tb.IMAGE, "essential": True, "stopTimeout": 2,
        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
    }],
}
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
WRITE_TD = {"containerDefinitions": [{"name": "w", "image": tb.IMAGE, "memory": 64}]}


class Tally:
    """Status codes per operation, and the tasks, shared by the clients."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes = defaultdict(Counter)
        self.errors = Counter()  # connection errors, per operation
        self.samples = defaultdict(list)  # 5xx and unexpected 4xx bodies, a few per operation
        self.live = threading.BoundedSemaphore(LIVE_TASKS)
        self.started = []  # every task ARN RunTask answered

    def record(self, op, status, answer):
        with self.lock:
            self.codes[op][status] += 1
            if status != 200 and len(self.samples[op]) < 3:
                self.samples[op].append((status, str(answer)[:200]))


def call(client, tally, op, payload):
    try:
        status, answer, _ = client.call(op, payload)
    except OSError as e:
        with tally.lock:
            tally.errors[op] += 1
            if len(tally.samples[op]) < 3:
                tally.samples[op].append(("connection", str(e)[:200]))
        # A fresh connection for the next call.
        client.conn.close()
        return None
    tally.record(op, status, answer)
    return answer if status == 200 else None


def client_loop(n, port, deadline, tally, cluster_arn, td_revision):
    rng = random.Random(n)
    client = cp.Client(port, timeout=30)
    mine = []  # (arn, started at)
    own_cluster = f"soak-client-{n}"
    try:
        while time.monotonic() < deadline:
            # Stop this client's tasks that have lived their time.
            now = time.monotonic()
            for arn, at in [t for t in mine if now - t[1] >= TASK_LIFETIME_S]:
                call(client, tally, "StopTask", {"cluster": CLUSTER, "task": arn, "reason": "soak"})
                mine.remove((arn, at))
                tally.live.release()
            roll = rng.random()
            if roll < 0.05 and tally.live.acquire(blocking=False):
                answer = call(client, tally, "RunTask", {
                    "cluster": CLUSTER, "taskDefinition": FAMILY, "launchType": "FARGATE",
                    "networkConfiguration": NETWORK,
                })
                arns = [t["taskArn"] for t in (answer or {}).get("tasks", [])]
                if arns:
                    mine.append((arns[0], time.monotonic()))
                    with tally.lock:
                        tally.started.append(arns[0])
                else:
                    tally.live.release()
            elif roll < 0.30:
                kind = rng.randrange(3)
                if kind == 0:
                    call(client, tally, "TagResource", {"resourceArn": cluster_arn, "tags": [{"key": f"k{n}", "value": "v"}]})
                    call(client, tally, "UntagResource", {"resourceArn": cluster_arn, "tagKeys": [f"k{n}"]})
                elif kind == 1:
                    call(client, tally, "CreateCluster", {"clusterName": own_cluster})
                    call(client, tally, "DeleteCluster", {"cluster": own_cluster})
                else:
                    answer = call(client, tally, "RegisterTaskDefinition", {"family": f"soak-w-{n}", **WRITE_TD})
                    if answer:
                        arn = answer["taskDefinition"]["taskDefinitionArn"]
                        call(client, tally, "DeregisterTaskDefinition", {"taskDefinition": arn})
                        call(client, tally, "DeleteTaskDefinitions", {"taskDefinitions": [arn]})
            else:
                kind = rng.randrange(4)
                if kind == 0:
                    call(client, tally, "DescribeClusters", {"clusters": [CLUSTER]})
                elif kind == 1:
                    call(client, tally, "ListTaskDefinitions", {"maxResults": 10})
                elif kind == 2:
                    call(client, tally, "ListTasks", {"cluster": CLUSTER})
                else:
                    call(client, tally, "DescribeTaskDefinition", {"taskDefinition": f"{FAMILY}:{td_revision}"})
    finally:
        for arn, _ in mine:
            call(client, tally, "StopTask", {"cluster": CLUSTER, "task": arn, "reason": "soak over"})
            tally.live.release()
        client.close()


def wait_all_stopped(client, arns, limit_s=120):
    pending = set(arns)
    deadline = time.monotonic() + limit_s
    while pending:
        batch = sorted(pending)[:100]
        answer = client.must("DescribeTasks", {"cluster": CLUSTER, "tasks": batch})
        pending -= {t["taskArn"] for t in answer["tasks"] if t["lastStatus"] == "STOPPED"}
        pending -= {f["arn"] for f in answer.get("failures", [])}  # already forgotten
        if pending and time.monotonic() > deadline:
            raise Broken(f"{len(pending)} tasks not STOPPED {limit_s} s after the load")
        time.sleep(0.2)


def wait_running(client, arn, limit_s=60):
    deadline = time.monotonic() + limit_s
    while True:
        task = client.must("DescribeTasks", {"cluster": CLUSTER, "tasks": [arn]})["tasks"][0]
        if task["lastStatus"] == "RUNNING":
            return
        if task["lastStatus"] == "STOPPED" or time.monotonic() > deadline:
            raise Broken(f"the warm-up task did not run: {task.get('lastStatus')} {task.get('stoppedReason')}")
        time.sleep(0.05)


def running_seen(client, arns):
    """How many of the tasks ever reached RUNNING (startedAt set)."""
    seen = 0
    for i in range(0, len(arns), 100):
        answer = client.must("DescribeTasks", {"cluster": CLUSTER, "tasks": arns[i:i + 100]})
        seen += sum(1 for t in answer["tasks"] if t.get("startedAt"))
    return seen


def owned_containers():
    """The run's task containers (the warm namespace holders stay, as they
    would between tasks)."""
    return tb.docker("ps", "-aq", "--filter", f"label={tb.OWNER_LABEL}={RUN_ID}",
                     "--filter", f"label={tb.TASK_ARN_LABEL}", check=False).split()


def wait_containers_gone(limit_s=60):
    deadline = time.monotonic() + limit_s
    while owned_containers():
        if time.monotonic() > deadline:
            raise Broken(f"{len(owned_containers())} containers of the run left {limit_s} s after every task stopped")
        time.sleep(0.2)


def advance_clock(port, seconds):
    import http.client
    import json
    conn = http.client.HTTPConnection(cp.HOST, port, timeout=30)
    try:
        conn.request("POST", "/_ecsbox/clock/advance", body=json.dumps({"seconds": seconds}).encode())
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise Broken(f"/_ecsbox/clock/advance answered HTTP {resp.status}")
    finally:
        conn.close()


def report(tally, elapsed, rss):
    total = sum(sum(c.values()) for c in tally.codes.values())
    fives = sum(n for c in tally.codes.values() for s, n in c.items() if s >= 500)
    conn_errors = sum(tally.errors.values())
    log(f"\n{CLIENTS} clients for {elapsed:.1f} s: {total:,} calls ({total / elapsed:,.0f}/s), "
        f"5xx: {fives}, connection errors: {conn_errors}")
    log("| operation | calls | 200 | 4xx | 5xx | connection errors |")
    log("|---|---:|---:|---:|---:|---:|")
    for op in sorted(set(tally.codes) | set(tally.errors)):
        c = tally.codes[op]
        four = sum(n for s, n in c.items() if 400 <= s < 500)
        five = sum(n for s, n in c.items() if s >= 500)
        log(f"| {op} | {sum(c.values()):,} | {c[200]:,} | {four:,} | {five:,} | {tally.errors[op]:,} |")
    for op, samples in sorted(tally.samples.items()):
        for status, body in samples:
            log(f"  {op} {status}: {body}")
    base, loaded, after = rss
    log(f"\nRSS: baseline {base:.1f} MiB, end of the load {loaded:.1f} MiB, after it (tasks gone, clock past "
        f"the hour, {SETTLE_S:.0f} s settled) {after:.1f} MiB = {100 * (after - base) / base:+.1f}% of the baseline")
    log(f"| target | value | |\n|---|---:|---|\n| 0 5xx | {fives} | {'met' if fives == 0 else 'NOT MET'} |\n"
        f"| memory back within 10% of its baseline | {100 * (after - base) / base:+.1f}% | "
        f"{'met' if after <= base * 1.10 else 'NOT MET'} |")


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if tb.subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise Broken("the Docker engine is not reachable (docker info failed)")
    tb.ensure_image()
    binary = cp.ensure_ecsbox()
    with tempfile.TemporaryDirectory(prefix="ecsbox-bench-soak-") as tmp:
        server = cp.Server("ecsbox", lambda port: [
            str(binary), "--listen", f"{cp.HOST}:{port}", "--registry-listen", f"{cp.HOST}:0",
            "--instance-id", RUN_ID, "--sigv4", "off", "--task-cleanup-delay", "1",
        ], Path(tmp))
        try:
            log(f"machine: {cp.machine_line()}; {tb.load_line()}")
            log(f"ecsbox {binary} --instance-id {RUN_ID}; {CLIENTS} clients, {DURATION_S:.0f} s, "
                f"at most {LIVE_TASKS} live tasks of {tb.IMAGE}")
            server.start()
            cp.wait_for_engine_handshake(server)
            client = cp.Client(server.port, timeout=30)
            cluster_arn = client.must("CreateCluster", {"clusterName": CLUSTER})["cluster"]["clusterArn"]
            td_revision = client.must("RegisterTaskDefinition", TASK_DEFINITION)["taskDefinition"]["revision"]
            # Warm-up: one task (creates the awsvpc network), one of each call.
            warm = client.must("RunTask", {"cluster": CLUSTER, "taskDefinition": FAMILY, "launchType": "FARGATE",
                                           "networkConfiguration": NETWORK})["tasks"][0]["taskArn"]
            wait_running(client, warm)
            client.must("StopTask", {"cluster": CLUSTER, "task": warm})
            wait_all_stopped(client, [warm])
            warm_tally = Tally()
            client_loop(-1, server.port, time.monotonic() + 2, warm_tally, cluster_arn, td_revision)
            wait_containers_gone()
            advance_clock(server.port, 3700)
            time.sleep(SETTLE_S)
            baseline = server.rss_mib()

            log(f"\nload: {CLIENTS} clients for {DURATION_S:.0f} s")
            tally = Tally()
            deadline = time.monotonic() + DURATION_S
            started = time.monotonic()
            threads = [threading.Thread(target=client_loop, args=(n, server.port, deadline, tally, cluster_arn, td_revision),
                                        daemon=True) for n in range(CLIENTS)]
            for t in threads:
                t.start()
            peak = 0.0
            while any(t.is_alive() for t in threads):
                peak = max(peak, server.rss_mib())
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            loaded = server.rss_mib()
            log(f"  peak RSS during the load {peak:.1f} MiB; {len(tally.started)} tasks started, "
                f"{running_seen(client, tally.started)} of them reached RUNNING")
            wait_all_stopped(client, tally.started)
            wait_containers_gone()
            advance_clock(server.port, 3700)
            # A describe after the hour: the stopped tasks are forgotten
            # (ecsbox forgets expired tasks when a call reads the region),
            # then the settling time, so the memory they held counts as freed.
            client.must("ListTasks", {"cluster": CLUSTER})
            time.sleep(SETTLE_S)
            after = server.rss_mib()
            client.close()
            report(tally, elapsed, (baseline, loaded, after))
        finally:
            if server.proc is not None and server.proc.poll() is None:
                try:
                    cp.reset(server.port)
                except (OSError, Broken) as e:
                    log(f"cleanup: reset failed ({e}); removing by label instead")
            server.stop()
            tb.remove_containers(f"{tb.OWNER_LABEL}={RUN_ID}")
            tb.remove_network(f"ecsbox-awsvpc-{RUN_ID}")


if __name__ == "__main__":
    try:
        main()
    except Broken as e:
        print(f"\nbenchmark broken: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted; everything removed", file=sys.stderr)
        sys.exit(130)

#!/usr/bin/env python3
"""Services benchmark: ecsbox's service scheduler against Docker doing the
same container starts and stops, in the same run (issue 4, "Performance").

    python3 compat-tests/bench/services.py

Measures, on the local Docker engine, with ecsbox-test/busybox:latest running
a shell loop that exits at once on SIGTERM (built by
scripts/build-test-images.sh when missing):
  1. replacement: a 1-task FARGATE/awsvpc service; its app container is
     killed (SIGKILL on the engine socket, as `docker kill`); time until
     DescribeTasks says the replacement task is RUNNING, polled every 5 ms on
     a keep-alive connection. Against Docker's time for the same start: a
     `docker run -d` of the namespace holder (ecsbox/pause:1 on a user
     network) plus a `docker run -d --network container:<holder>` of the app,
     with the limits ecsbox puts on it. Median of 5, rounds rotated.
  2. rollout: a 10-task service (minimumHealthyPercent 100, maximumPercent
     200) updated to a new revision; time until the new deployment is
     COMPLETED with 10 new tasks RUNNING and the 10 old ones STOPPED. Against
     Docker's time for the same work: 10 holder+app pairs started
     concurrently, then the 10 old app containers stopped concurrently with
     `docker stop -t 2`. For reference, also Docker doing that work in the
     order ecsbox does (each old pair stopped as soon as one new pair is up,
     holder included). Median of 3, rounds rotated.
For each, ecsbox's time is broken into phases: the tasks' own timestamps
(createdAt, pullStartedAt, startedAt, stoppingAt, stoppedAt) and the engine's
create/start/die events, in ms after the measured call.

It prints numbers and ratios; it never fails on timing. Exit status is 0
unless something is broken (build, image, a server that does not start, a
service that never becomes stable). Everything it created is removed at the
end, also on error or Ctrl-C: POST /_ecsbox/reset, ecsbox stopped, then
`docker rm -f` of every container carrying this run's labels and its networks.
Traffic goes to 127.0.0.1 and the local Docker engine only.

Environment: ECSBOX_BIN (use this binary, skip `cargo build --release`).
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import control_plane as cp  # noqa: E402  (stdlib only: signing, keep-alive client, server process, table format)
from control_plane import Broken, log  # noqa: E402

IMAGE = "ecsbox-test/busybox:latest"
PAUSE_IMAGE = "ecsbox/pause:1"  # ecsbox's namespace holder image (runtime::pause), made by ecsbox at first use
# `wait` returns as soon as the trapped TERM arrives, so the container stops
# at once; a foreground `sleep 1` would delay the trap by up to a second.
APP_COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]
RUN_ID = f"bench-svc-{os.getpid()}-{uuid.uuid4().hex[:6]}"  # ecsbox's instance id and this run's label value
OWNER_LABEL = "ecsbox.owner"  # what ecsbox puts on everything it creates
BENCH_LABEL = "ecsbox-bench.run"  # what this script puts on its own docker containers and network
TASK_ARN_LABEL = "com.amazonaws.ecs.task-arn"
ROLE_LABEL = "ecsbox.role"
HOLDER_NETWORK = f"ecsbox-bench-{RUN_ID}"  # the docker baseline's holders join it, as ecsbox's join its awsvpc network
AWSVPC_NETWORK = f"ecsbox-awsvpc-{RUN_ID}"  # controllers::tasks::awsvpc_network_name
CLEANUP_DELAY_S = 5  # --task-cleanup-delay: stopped tasks' containers go 5 s after STOPPED

CLUSTER = "bench-services"
FAMILY = "bench-svc"
REPLACE_SERVICE = "replace"
ROLLOUT_SERVICE = "rollout"
ROLLOUT_TASKS = 10
NETWORK_CONFIGURATION = {"awsvpcConfiguration": {"subnets": ["subnet-0123abcd"]}}
DEPLOYMENT_CONFIGURATION = {"minimumHealthyPercent": 100, "maximumPercent": 200}
# What ecsbox's container spec puts on the app container of a FARGATE task of
# cpu 256 / memory 512 (controllers::container_spec): cpu shares (the agent's
# minimum of 2), the task cpu as a cap, the task memory as a limit. The docker
# baseline gets the same, so both start the same container.
APP_LIMITS = ["--cpu-shares", "2", "--cpus", "0.25", "--memory", "512m"]

REPLACE_RUNS = 5
ROLLOUT_RUNS = 3
POLL_S = 0.005  # replacement: DescribeTasks / ListTasks interval
ROLLOUT_POLL_S = 0.01  # rollout: DescribeServices + DescribeTasks of the old tasks
STABLE_TIMEOUT_S = 120.0
REPLACE_TIMEOUT_S = 60.0
ROLLOUT_TIMEOUT_S = 180.0
CLEANUP_TIMEOUT_S = CLEANUP_DELAY_S + 30.0
SETTLE_S = 1.0  # after a cleanup, so the engine's teardown does not overlap the next start

TARGETS = {
    "replace": ("<= docker + 1000 ms", lambda e, d: e <= d + 1000),
    "rollout": ("<= 1.3x docker", lambda e, d: e <= 1.3 * d),
}


# --------------------------------------------------------------------------
# Setup: image, binary, server
# --------------------------------------------------------------------------


def docker(*args, check=True):
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise Broken(f"`docker {' '.join(args)}` exited with {result.returncode}: {result.stderr.strip()}")
    return result.stdout.strip()


def ensure_image():
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0:
        return
    log(f"building {IMAGE} (scripts/build-test-images.sh)")
    cp.run_checked([str(cp.REPO / "scripts" / "build-test-images.sh")])


def ecsbox_server(binary, logdir):
    args = ["--instance-id", RUN_ID, "--task-cleanup-delay", str(CLEANUP_DELAY_S), "--sigv4", "off"]
    return cp.Server("ecsbox", lambda port: [str(binary), "--listen", f"{cp.HOST}:{port}", "--registry-listen", f"{cp.HOST}:0", *args], logdir)


# --------------------------------------------------------------------------
# The engine: its socket (to kill a container as `docker kill` does, without
# a CLI's start in the measurement) and its events (its own clock)
# --------------------------------------------------------------------------


def docker_socket():
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return host[len("unix://"):] if host.startswith("unix://") else None


def kill_container(container_id):
    """SIGKILL, as `docker kill`: on the engine socket when there is one (a
    few ms), else through the CLI (which adds its own start to the time)."""
    path = docker_socket()
    if path is None:
        docker("kill", container_id)
        return
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall(f"POST /containers/{container_id}/kill HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n"
                     f"Connection: close\r\n\r\n".encode())
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    if b" 204 " not in status:
        raise Broken(f"the engine answered {status!r} to killing {container_id}")


class EngineEvents:
    """`docker events` for this run's containers, kept while the benchmark
    runs: when each container was created, started, died and was destroyed,
    by the engine's clock, for ecsbox's containers and the baseline's alike."""

    ACTIONS = ("create", "start", "die", "destroy")

    def __init__(self):
        self.by_id = {}  # container id -> {"labels": {...}, action: epoch s}
        self.lock = threading.Lock()
        filters = [a for action in self.ACTIONS for a in ("--filter", f"event={action}")]
        self.proc = subprocess.Popen(
            ["docker", "events", "--format", "{{json .}}", "--filter", "type=container", *filters],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            labels = ev.get("Actor", {}).get("Attributes", {})
            if labels.get(OWNER_LABEL) != RUN_ID and labels.get(BENCH_LABEL) != RUN_ID:
                continue  # other users of the engine
            with self.lock:
                entry = self.by_id.setdefault(ev["id"], {"labels": labels})
                entry.setdefault(ev["Action"], ev["timeNano"] / 1e9)  # the first of each (a restart would repeat)

    def get(self, container_id, action):
        with self.lock:
            return self.by_id.get(container_id, {}).get(action)

    def holder_of(self, task_arn):
        with self.lock:
            for cid, e in self.by_id.items():
                if e["labels"].get(TASK_ARN_LABEL) == task_arn and e["labels"].get(ROLE_LABEL) == "namespace-holder":
                    return cid
        return None

    def ids_of_task(self, task_arn):
        with self.lock:
            return [cid for cid, e in self.by_id.items() if e["labels"].get(TASK_ARN_LABEL) == task_arn]

    def wait_destroyed(self, ids, timeout):
        """True once every container in ids was destroyed, False on timeout."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(self.get(i, "destroy") for i in ids):
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)


def remove_containers(label_filter):
    ids = docker("ps", "-aq", "--filter", f"label={label_filter}", check=False).split()
    if ids:
        docker("rm", "-f", *ids, check=False)


# --------------------------------------------------------------------------
# ecsbox: services, tasks, polling
# --------------------------------------------------------------------------


def task_definition(revision_tag):
    """The service's task definition; `revision_tag` only makes a new
    revision (an environment variable), the container is the same."""
    return {
        "family": FAMILY,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app", "image": IMAGE, "essential": True, "command": APP_COMMAND,
            "environment": [{"name": "REVISION_TAG", "value": revision_tag}],
        }],
    }


def register(client, revision_tag):
    return client.must("RegisterTaskDefinition", task_definition(revision_tag))["taskDefinition"]["taskDefinitionArn"]


def create_service(client, name, desired, definition_arn):
    client.must("CreateService", {
        "cluster": CLUSTER, "serviceName": name, "taskDefinition": definition_arn, "desiredCount": desired,
        "launchType": "FARGATE", "networkConfiguration": NETWORK_CONFIGURATION,
        "deploymentConfiguration": DEPLOYMENT_CONFIGURATION,
    })


def describe_service(client, name):
    answer = client.must("DescribeServices", {"cluster": CLUSTER, "services": [name]})
    if answer.get("failures") or not answer.get("services"):
        raise Broken(f"DescribeServices {name}: {answer.get('failures')}")
    return answer["services"][0]


def describe_tasks(client, arns):
    if not arns:
        return []
    answer = client.must("DescribeTasks", {"cluster": CLUSTER, "tasks": list(arns)})
    if answer.get("failures"):
        raise Broken(f"DescribeTasks failures: {answer['failures']}")
    return answer["tasks"]


def service_task_arns(client, name):
    answer = client.must("ListTasks", {"cluster": CLUSTER, "serviceName": name, "desiredStatus": "RUNNING"})
    return answer.get("taskArns", [])


def is_stable(service, desired):
    deployments = service.get("deployments", [])
    return (len(deployments) == 1 and deployments[0].get("rolloutState") == "COMPLETED"
            and service.get("runningCount") == desired and service.get("pendingCount") == 0)


def wait_stable(client, name, desired):
    """Waits (untimed) until the service runs its desired count with one
    COMPLETED deployment; returns its running tasks."""
    deadline = time.perf_counter() + STABLE_TIMEOUT_S
    while not is_stable(describe_service(client, name), desired):
        if time.perf_counter() > deadline:
            raise Broken(f"service {name} not stable after {STABLE_TIMEOUT_S:.0f} s: {describe_service(client, name)}")
        time.sleep(0.05)
    arns = service_task_arns(client, name)
    if len(arns) != desired:
        raise Broken(f"service {name} is stable with {len(arns)} tasks, not {desired}")
    return describe_tasks(client, arns)


def container_ids_of(task):
    return [c["runtimeId"] for c in task.get("containers", []) if c.get("runtimeId")]


def wait_task_containers_removed(events, task_arns):
    """The containers of stopped tasks are removed CLEANUP_DELAY_S after
    STOPPED; waiting for that keeps their removal out of the next measurement."""
    ids = [cid for arn in task_arns for cid in events.ids_of_task(arn)]
    if not events.wait_destroyed(ids, CLEANUP_TIMEOUT_S):
        log(f"  note: some stopped tasks' containers were still there {CLEANUP_TIMEOUT_S:.0f} s later")


def ms_after(t0_wall, epoch):
    return None if epoch is None else (epoch - t0_wall) * 1000


def first_last(values):
    values = [v for v in values if v is not None]
    return (min(values), max(values)) if values else (None, None)


# --------------------------------------------------------------------------
# Docker: the same starts and stops, through the CLI
# --------------------------------------------------------------------------


def docker_run(*args):
    result = subprocess.run(["docker", "run", "-d", "--label", f"{BENCH_LABEL}={RUN_ID}", *args],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise Broken(f"`docker run -d {' '.join(args)}` exited with {result.returncode}: {result.stderr.strip()}")
    return result.stdout.strip()


def docker_pair(t0):
    """What ecsbox's awsvpc task start is: a namespace holder on a user
    network, then the app container in its namespace. Returns the ids and
    when (perf_counter - t0) each `docker run -d` returned."""
    holder = docker_run("--network", HOLDER_NETWORK, PAUSE_IMAGE)
    holder_done = time.perf_counter() - t0
    app = docker_run("--network", f"container:{holder}", *APP_LIMITS, IMAGE, *APP_COMMAND)
    return {"holder": holder, "app": app, "holder_s": holder_done, "app_s": time.perf_counter() - t0}


def docker_stop(container_id):
    docker("stop", "-t", "2", container_id)


# --------------------------------------------------------------------------
# 1. Replacement after docker kill
# --------------------------------------------------------------------------


def ecsbox_replacement(client, events):
    """Kills the service's one app container and polls (every POLL_S, one
    keep-alive connection) until its replacement is RUNNING."""
    (old,) = wait_stable(client, REPLACE_SERVICE, 1)
    old_arn, old_app = old["taskArn"], container_ids_of(old)[0]
    busy0, t0_wall, t0 = cp.machine_busy_seconds(), time.time(), time.perf_counter()
    kill_container(old_app)
    killed = time.perf_counter() - t0
    new_arn, listed, deadline = None, None, t0 + REPLACE_TIMEOUT_S
    next_poll = time.perf_counter()
    while True:
        if new_arn is None:
            fresh = [a for a in service_task_arns(client, REPLACE_SERVICE) if a != old_arn]
            if fresh:
                new_arn, listed = fresh[0], time.perf_counter() - t0
        if new_arn is not None:
            (task,) = describe_tasks(client, [new_arn])
            if task["lastStatus"] == "RUNNING":
                running = time.perf_counter() - t0
                break
            if task.get("desiredStatus") == "STOPPED":
                raise Broken(f"replacement task {new_arn} stopped before RUNNING: {task.get('stoppedReason')}")
        if time.perf_counter() > deadline:
            raise Broken(f"no replacement RUNNING {REPLACE_TIMEOUT_S:.0f} s after the kill")
        next_poll += POLL_S
        time.sleep(max(0.0, next_poll - time.perf_counter()))
    busy = (cp.machine_busy_seconds() - busy0) / running
    (old_after,) = describe_tasks(client, [old_arn])
    return {"t0_wall": t0_wall, "killed_s": killed, "listed_s": listed, "running_s": running, "busy_cores": busy,
            "old": old_after, "old_app": old_app, "new": task}


def replacement_phases(run, events):
    """Milestones of one replacement, in ms after the kill was sent."""
    t0, old, new = run["t0_wall"], run["old"], run["new"]
    holder = events.holder_of(new["taskArn"])
    (app,) = container_ids_of(new) or [None]
    return {
        "kill answered by the engine (client)": run["killed_s"] * 1000,
        "old app died (engine event)": ms_after(t0, events.get(run["old_app"], "die")),
        "old task stoppingAt (ecsbox saw the exit)": ms_after(t0, old.get("stoppingAt")),
        "new task createdAt (scheduler started it)": ms_after(t0, new.get("createdAt")),
        "new task listed by ListTasks (client)": run["listed_s"] * 1000,
        "holder created (engine event)": ms_after(t0, holder and events.get(holder, "create")),
        "holder started (engine event)": ms_after(t0, holder and events.get(holder, "start")),
        "pullStartedAt": ms_after(t0, new.get("pullStartedAt")),
        "pullStoppedAt": ms_after(t0, new.get("pullStoppedAt")),
        "app created (engine event)": ms_after(t0, app and events.get(app, "create")),
        "app started (engine event)": ms_after(t0, app and events.get(app, "start")),
        "new task startedAt (RUNNING recorded)": ms_after(t0, new.get("startedAt")),
        "RUNNING seen by DescribeTasks poll": run["running_s"] * 1000,
        "old task stoppedAt (STOPPED recorded)": ms_after(t0, old.get("stoppedAt")),
    }


def docker_replacement():
    busy0, t0_wall, t0 = cp.machine_busy_seconds(), time.time(), time.perf_counter()
    pair = docker_pair(t0)
    busy = (cp.machine_busy_seconds() - busy0) / pair["app_s"]
    docker("rm", "-f", pair["holder"], pair["app"])
    return {"t0_wall": t0_wall, "running_s": pair["app_s"], "busy_cores": busy, **pair}


def docker_pair_phases(run, events):
    t0 = run["t0_wall"]
    return {
        "holder created (engine event)": ms_after(t0, events.get(run["holder"], "create")),
        "holder started (engine event)": ms_after(t0, events.get(run["holder"], "start")),
        "holder's docker run -d returned": run["holder_s"] * 1000,
        "app created (engine event)": ms_after(t0, events.get(run["app"], "create")),
        "app started (engine event)": ms_after(t0, events.get(run["app"], "start")),
        "app's docker run -d returned": run["app_s"] * 1000,
    }


def replacement_phase(client, events, definition_arn):
    create_service(client, REPLACE_SERVICE, 1, definition_arn)
    wait_stable(client, REPLACE_SERVICE, 1)
    runs = {"ecsbox": [], "docker": []}
    for i in range(REPLACE_RUNS):
        for kind in (["ecsbox", "docker"] if i % 2 == 0 else ["docker", "ecsbox"]):
            if kind == "ecsbox":
                r = ecsbox_replacement(client, events)
                wait_task_containers_removed(events, [r["old"]["taskArn"]])
                log(f"  round {i + 1} ecsbox: replacement RUNNING seen {r['running_s'] * 1000:.1f} ms after the kill "
                    f"(listed after {r['listed_s'] * 1000:.1f} ms); machine {r['busy_cores']:.2f} cores busy")
            else:
                r = docker_replacement()
                log(f"  round {i + 1} docker: holder + app `docker run -d` returned after {r['running_s'] * 1000:.1f} ms "
                    f"(holder {r['holder_s'] * 1000:.1f} ms); machine {r['busy_cores']:.2f} cores busy")
            runs[kind].append(r)
            time.sleep(SETTLE_S)
    # Scale to 0 and wait for the last task's removal: the rollout starts clean.
    last = service_task_arns(client, REPLACE_SERVICE)
    client.must("UpdateService", {"cluster": CLUSTER, "service": REPLACE_SERVICE, "desiredCount": 0})
    wait_stable(client, REPLACE_SERVICE, 0)
    wait_task_containers_removed(events, last)
    return runs


# --------------------------------------------------------------------------
# 2. Rollout of a 10-task service
# --------------------------------------------------------------------------


class RolloutWatch:
    """What the rollout's poll has seen, and when (s after UpdateService was sent)."""

    def __init__(self, old_arns):
        self.pending_old = set(old_arns)
        self.first = {}
        self.min_running = None
        self.max_alive = 0

    def mark(self, name, at):
        self.first.setdefault(name, at)

    def observe(self, service, primary_id, old_tasks, at):
        primary = next((d for d in service["deployments"] if d["id"] == primary_id), {})
        new_running = primary.get("runningCount", 0)
        if new_running >= 1:
            self.mark("first new RUNNING seen", at)
        if new_running == ROLLOUT_TASKS:
            self.mark("all new RUNNING seen", at)
        if primary.get("rolloutState") == "COMPLETED" and len(service["deployments"]) == 1:
            self.mark("COMPLETED seen", at)
        stopped = {t["taskArn"] for t in old_tasks if t["lastStatus"] == "STOPPED"}
        if stopped:
            self.mark("first old STOPPED seen", at)
        self.pending_old -= stopped
        if not self.pending_old:
            self.mark("all old STOPPED seen", at)
        running = service.get("runningCount", 0)
        self.min_running = running if self.min_running is None else min(self.min_running, running)
        self.max_alive = max(self.max_alive, running + service.get("pendingCount", 0))

    def done(self):
        return "COMPLETED seen" in self.first and "all new RUNNING seen" in self.first and not self.pending_old


def ecsbox_rollout(client, events, cpu_of_ecsbox, revision_tag):
    old = wait_stable(client, ROLLOUT_SERVICE, ROLLOUT_TASKS)
    definition_arn = register(client, revision_tag)
    watch = RolloutWatch([t["taskArn"] for t in old])
    cpu0, busy0 = cpu_of_ecsbox(), cp.machine_busy_seconds()
    t0_wall, t0 = time.time(), time.perf_counter()
    answer = client.must("UpdateService", {
        "cluster": CLUSTER, "service": ROLLOUT_SERVICE, "taskDefinition": definition_arn,
        "deploymentConfiguration": DEPLOYMENT_CONFIGURATION,
    })
    answered = time.perf_counter() - t0
    primary_id = answer["service"]["deployments"][0]["id"]
    deadline, next_poll = t0 + ROLLOUT_TIMEOUT_S, time.perf_counter()
    while not watch.done():
        service = describe_service(client, ROLLOUT_SERVICE)
        old_tasks = describe_tasks(client, sorted(watch.pending_old))
        watch.observe(service, primary_id, old_tasks, time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            raise Broken(f"rollout not done {ROLLOUT_TIMEOUT_S:.0f} s after UpdateService: seen {watch.first}, "
                         f"{len(watch.pending_old)} old tasks not STOPPED")
        next_poll += ROLLOUT_POLL_S
        time.sleep(max(0.0, next_poll - time.perf_counter()))
    wall = time.perf_counter() - t0
    new_tasks = describe_tasks(client, service_task_arns(client, ROLLOUT_SERVICE))
    return {"t0_wall": t0_wall, "answered_s": answered, "done_s": wall, "seen": watch.first,
            "min_running": watch.min_running, "max_alive": watch.max_alive,
            "old": describe_tasks(client, [t["taskArn"] for t in old]), "new": new_tasks,
            "ecsbox_cpu": cpu_of_ecsbox() - cpu0, "busy_cores": (cp.machine_busy_seconds() - busy0) / wall}


def rollout_phases(run, events):
    """Milestones of one rollout, in ms after UpdateService was sent: first
    and last of each kind of event over the 10 new and the 10 old tasks."""
    t0, new, old = run["t0_wall"], run["new"], run["old"]
    new_apps = [i for t in new for i in container_ids_of(t)]
    old_apps = [i for t in old for i in container_ids_of(t)]

    def span(label, values):
        first, last = first_last(values)
        return {f"{label}, first": first, f"{label}, last": last}

    milestones = {"UpdateService answered (client)": run["answered_s"] * 1000}
    milestones.update(span("new task createdAt", [ms_after(t0, t.get("createdAt")) for t in new]))
    milestones.update(span("new holder started (engine event)",
                           [ms_after(t0, events.get(events.holder_of(t["taskArn"]), "start")) for t in new]))
    milestones.update(span("new app started (engine event)", [ms_after(t0, events.get(i, "start")) for i in new_apps]))
    milestones.update(span("new task startedAt", [ms_after(t0, t.get("startedAt")) for t in new]))
    milestones.update(span("old task stoppingAt", [ms_after(t0, t.get("stoppingAt")) for t in old]))
    milestones.update(span("old app died (engine event)", [ms_after(t0, events.get(i, "die")) for i in old_apps]))
    milestones.update(span("old task stoppedAt", [ms_after(t0, t.get("stoppedAt")) for t in old]))
    for name, at in run["seen"].items():
        milestones[f"{name} (poll)"] = at * 1000
    return milestones


def docker_rollout(overlapped=False):
    """10 old pairs started beforehand (untimed); then, timed: 10 new pairs
    started concurrently, then the 10 old apps stopped concurrently. With
    `overlapped`, each old pair is stopped as soon as one new pair is up
    (its app with `docker stop -t 2`, its holder SIGKILLed on the engine
    socket), the order a min 100 % rollout allows and ecsbox follows."""
    with ThreadPoolExecutor(ROLLOUT_TASKS) as pool:
        old = list(pool.map(lambda _: docker_pair(time.perf_counter()), range(ROLLOUT_TASKS)))
        time.sleep(SETTLE_S)
        busy0, t0_wall, t0 = cp.machine_busy_seconds(), time.time(), time.perf_counter()
        if overlapped:
            new = list(pool.map(lambda p: replace_pair(p, t0), old))
            started = max(p["app_s"] for p in new)
        else:
            new = list(pool.map(lambda _: docker_pair(t0), range(ROLLOUT_TASKS)))
            started = time.perf_counter() - t0
            list(pool.map(lambda p: docker_stop(p["app"]), old))
        done = time.perf_counter() - t0
        busy = (cp.machine_busy_seconds() - busy0) / done
    remove_containers(f"{BENCH_LABEL}={RUN_ID}")
    return {"t0_wall": t0_wall, "started_s": started, "done_s": done, "old": old, "new": new, "busy_cores": busy}


def replace_pair(old, t0):
    new = docker_pair(t0)
    docker_stop(old["app"])
    kill_container(old["holder"])
    return new


def docker_rollout_phases(run, events):
    t0 = run["t0_wall"]

    def span(label, values):
        first, last = first_last(values)
        return {f"{label}, first": first, f"{label}, last": last}

    milestones = {}
    milestones.update(span("new holder started (engine event)", [ms_after(t0, events.get(p["holder"], "start")) for p in run["new"]]))
    milestones.update(span("new app started (engine event)", [ms_after(t0, events.get(p["app"], "start")) for p in run["new"]]))
    milestones["all 10 pairs' docker run -d returned"] = run["started_s"] * 1000
    milestones.update(span("old app died (engine event)", [ms_after(t0, events.get(p["app"], "die")) for p in run["old"]]))
    milestones["all 10 old stopped (client)"] = run["done_s"] * 1000
    return milestones


def rollout_phase(client, events, cpu_of_ecsbox, definition_arn):
    create_service(client, ROLLOUT_SERVICE, ROLLOUT_TASKS, definition_arn)
    wait_stable(client, ROLLOUT_SERVICE, ROLLOUT_TASKS)
    kinds = ["ecsbox", "docker", "docker-overlapped"]
    runs = {k: [] for k in kinds}
    for i in range(ROLLOUT_RUNS):
        for kind in kinds[i % 3:] + kinds[:i % 3]:
            if kind == "ecsbox":
                r = ecsbox_rollout(client, events, cpu_of_ecsbox, f"rollout-{i + 1}")
                wait_task_containers_removed(events, [t["taskArn"] for t in r["old"]])
                seen = r["seen"]
                log(f"  round {i + 1} ecsbox: done after {r['done_s'] * 1000:.0f} ms (all new RUNNING "
                    f"{seen['all new RUNNING seen'] * 1000:.0f} ms, COMPLETED {seen['COMPLETED seen'] * 1000:.0f} ms, "
                    f"all old STOPPED {seen['all old STOPPED seen'] * 1000:.0f} ms); runningCount stayed within "
                    f"{r['min_running']}..{r['max_alive']}; ecsbox CPU {r['ecsbox_cpu']:.2f} s, "
                    f"machine {r['busy_cores']:.2f} cores busy")
            else:
                r = docker_rollout(overlapped=kind == "docker-overlapped")
                log(f"  round {i + 1} {kind}: 10 pairs started after {r['started_s'] * 1000:.0f} ms, "
                    f"10 old stopped after {r['done_s'] * 1000:.0f} ms; machine {r['busy_cores']:.2f} cores busy")
            runs[kind].append(r)
            time.sleep(SETTLE_S)
    return runs


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def median_milestones(per_run):
    out = {}
    for k in per_run[0]:
        values = [p[k] for p in per_run if p.get(k) is not None]
        out[k] = statistics.median(values) if values else None
    return out


def print_milestones(title, milestones):
    """Median milestones in time order, each with its gap to the one before."""
    log(f"\n{title}")
    width = max(len(k) for k in milestones)
    previous = 0.0
    for name, at in sorted(milestones.items(), key=lambda kv: (kv[1] is None, kv[1] or 0)):
        if at is None:
            log(f"  {name.ljust(width)}  {'-':>8}")
            continue
        log(f"  {name.ljust(width)}  {at:8.1f} ms  (+{at - previous:6.1f})")
        previous = at


def print_table(rows):
    header = ("metric", "unit", "ecsbox", "docker", "ecsbox/docker", "target", "")
    table = [header]
    for label, unit, e, d, target_key in rows:
        ratio = e / d if d else None
        target, test = TARGETS.get(target_key, ("(for reference)", None))
        verdict = ("met" if test(e, d) else "NOT MET") if test else ""
        table.append((label, unit, cp.fmt(e), cp.fmt(d), f"{ratio:.2f}" if ratio is not None else "-", target, verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    left = (0, 1, 5, 6)
    for i, row in enumerate(table):
        log("| " + " | ".join(c.ljust(w) if j in left else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))) + " |")
        if i == 0:
            log("|" + "|".join("-" * (w + 2) if j in left else "-" * (w + 1) + ":" for j, w in enumerate(widths)) + "|")


def med(runs, key):
    return statistics.median(r[key] for r in runs) * 1000


def report(replace, rollout, events):
    print_milestones(f"ecsbox replacement: milestones after the kill was sent (median of {REPLACE_RUNS})",
                     median_milestones([replacement_phases(r, events) for r in replace["ecsbox"]]))
    print_milestones(f"docker, the same start: milestones after the first CLI was spawned (median of {REPLACE_RUNS})",
                     median_milestones([docker_pair_phases(r, events) for r in replace["docker"]]))
    print_milestones(f"ecsbox rollout of {ROLLOUT_TASKS} tasks: milestones after UpdateService was sent "
                     f"(median of {ROLLOUT_RUNS})",
                     median_milestones([rollout_phases(r, events) for r in rollout["ecsbox"]]))
    print_milestones(f"docker, the same starts, then the stops: milestones after the first CLIs were spawned "
                     f"(median of {ROLLOUT_RUNS})",
                     median_milestones([docker_rollout_phases(r, events) for r in rollout["docker"]]))
    print_milestones(f"docker, each old pair stopped as a new one is up: milestones after the first CLIs were spawned "
                     f"(median of {ROLLOUT_RUNS})",
                     median_milestones([docker_rollout_phases(r, events) for r in rollout["docker-overlapped"]]))
    e_roll = rollout["ecsbox"]
    log(f"\necsbox during a rollout (median of {ROLLOUT_RUNS}): CPU {statistics.median(r['ecsbox_cpu'] for r in e_roll):.2f} s, "
        f"machine {statistics.median(r['busy_cores'] for r in e_roll):.2f} cores busy (docker rounds: "
        f"{statistics.median(r['busy_cores'] for r in rollout['docker']):.2f}); service runningCount seen "
        f"{min(r['min_running'] for r in e_roll)}..{max(r['max_alive'] for r in e_roll)} (running..running+pending)")
    log("")
    seen = lambda r, k: r["seen"][k]  # noqa: E731
    print_table([
        (f"kill -> replacement RUNNING, 1 task (median of {REPLACE_RUNS})", "ms",
         med(replace["ecsbox"], "running_s"), med(replace["docker"], "running_s"), "replace"),
        ("  per-round difference ecsbox - docker (median)", "ms",
         statistics.median((e["running_s"] - d["running_s"]) * 1000 for e, d in zip(replace["ecsbox"], replace["docker"])),
         None, None),
        ("  same, kill -> new task createdAt (server-side)", "ms",
         statistics.median(replacement_phases(r, events)["new task createdAt (scheduler started it)"] for r in replace["ecsbox"]),
         None, None),
        (f"{ROLLOUT_TASKS}-task rollout -> COMPLETED, old STOPPED (median of {ROLLOUT_RUNS})", "ms",
         med(e_roll, "done_s"), med(rollout["docker"], "done_s"), "rollout"),
        ("  per-round ratio ecsbox / docker (median)", "x",
         statistics.median(e["done_s"] / d["done_s"] for e, d in zip(e_roll, rollout["docker"])), None, None),
        (f"  same, until all {ROLLOUT_TASKS} new RUNNING", "ms",
         statistics.median(seen(r, "all new RUNNING seen") for r in e_roll) * 1000, med(rollout["docker"], "started_s"), None),
        ("  same, against docker stopping each old pair as a new one is up", "ms",
         med(e_roll, "done_s"), med(rollout["docker-overlapped"], "done_s"), None),
        (f"  same, until all {ROLLOUT_TASKS} new RUNNING, against that", "ms",
         statistics.median(seen(r, "all new RUNNING seen") for r in e_roll) * 1000,
         med(rollout["docker-overlapped"], "started_s"), None),
    ])
    log("")
    log("Notes:")
    log("- An awsvpc task start is two container starts: a namespace holder on a user network, then the app in its "
        "namespace with the task's limits. Docker's column makes exactly those with `docker run -d` (holder on a user "
        f"network, app with --network container:<holder> {' '.join(APP_LIMITS)}); its time ends when the second CLI "
        "returns and includes both CLIs' own starts (a Go binary, spawned per run).")
    log(f"- The kill is a SIGKILL sent on the engine socket (what `docker kill` sends, without the CLI's start); "
        f"ecsbox's time ends when a poll (ListTasks until the new task appears, then DescribeTasks, every "
        f"{POLL_S * 1000:.0f} ms on one keep-alive connection) first sees it RUNNING. The per-round difference pairs "
        "each replacement with the docker start measured next to it, which cancels slow swings in the machine's load.")
    log(f"- Rollout: minimumHealthyPercent 100, maximumPercent 200, so ecsbox starts all {ROLLOUT_TASKS} new tasks at "
        f"once and stops old ones as new ones run. Docker's column starts {ROLLOUT_TASKS} pairs concurrently, then stops "
        f"the {ROLLOUT_TASKS} old app containers concurrently (`docker stop -t 2`, they exit on SIGTERM at once); ecsbox "
        "also SIGKILLs each old task's holder, which docker's column leaves out. The 'each old pair stopped as a new one "
        "is up' rows are for reference: the same work in the order ecsbox does it (stops overlap the remaining starts), "
        "holders included. Polled every "
        f"{ROLLOUT_POLL_S * 1000:.0f} ms (DescribeServices + DescribeTasks of the old tasks not yet STOPPED).")
    log(f"- Stopped tasks' containers are removed {CLEANUP_DELAY_S} s after STOPPED (--task-cleanup-delay); each "
        "round waits for that before the next, so removals do not overlap a measurement.")
    log(f"- {cp.CORES} cores are shared by ecsbox, dockerd, containerd, the Docker CLIs, this script and any other "
        "work on the machine ('cores busy' counts all of it).")


# --------------------------------------------------------------------------


def load_line():
    """Other work on the machine moves every number here; say how much there was."""
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cleanup(server):
    """Everything this run created, whatever happened: ecsbox's state and
    containers (reset), ecsbox itself, then any container or network left
    with this run's labels."""
    if server.proc is not None and server.proc.poll() is None:
        try:
            cp.reset(server.port)
        except (OSError, Broken) as e:
            log(f"cleanup: reset failed ({e}); removing by label instead")
    server.stop()
    remove_containers(f"{OWNER_LABEL}={RUN_ID}")
    remove_containers(f"{BENCH_LABEL}={RUN_ID}")
    for network in (HOLDER_NETWORK, AWSVPC_NETWORK):
        if docker("network", "ls", "-q", "--filter", f"name=^{network}$", check=False):
            docker("network", "rm", network, check=False)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks clean up
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise Broken("the Docker engine is not reachable (docker info failed)")
    ensure_image()
    binary = cp.ensure_ecsbox()
    with tempfile.TemporaryDirectory(prefix="ecsbox-bench-services-") as tmp:
        server = ecsbox_server(binary, Path(tmp))
        events = EngineEvents()
        try:
            log(f"machine: {cp.machine_line()}; Docker {docker('version', '--format', '{{.Server.Version}}')}; "
                f"{load_line()}")
            log(f"ecsbox {binary} --instance-id {RUN_ID} --task-cleanup-delay {CLEANUP_DELAY_S} --sigv4 off; "
                f"image {IMAGE}, command {APP_COMMAND}")
            docker("network", "create", "--label", f"{BENCH_LABEL}={RUN_ID}", HOLDER_NETWORK)
            server.start()
            cp.wait_for_engine_handshake(server)
            client = cp.Client(server.port)
            client.must("CreateCluster", {"clusterName": CLUSTER})
            definition_arn = register(client, "initial")

            log(f"\n1. replacement after a kill: 1-task service against holder + app `docker run -d` ({REPLACE_RUNS} rounds)")
            replace = replacement_phase(client, events, definition_arn)
            log(f"\n2. rollout of a {ROLLOUT_TASKS}-task service (min 100 / max 200) against {ROLLOUT_TASKS} pairs "
                f"started and {ROLLOUT_TASKS} stopped with docker ({ROLLOUT_RUNS} rounds)")
            rollout = rollout_phase(client, events, server.cpu_seconds, definition_arn)
            client.close()
            time.sleep(0.5)  # the last engine events
            report(replace, rollout, events)
            log(f"- At the end: {load_line()}.")
        finally:
            cleanup(server)
            events.stop()


if __name__ == "__main__":
    try:
        main()
    except Broken as e:
        print(f"\nbenchmark broken: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted; everything removed", file=sys.stderr)
        sys.exit(130)

#!/usr/bin/env python3
"""Registry benchmark: `docker push` and `docker pull` of a ~100 MB image
(several layers) through ecsbox's registry (ECR) and through Debian's
`docker-registry` package (the CNCF distribution registry), on this machine,
in the same run.

    python3 compat-tests/bench/registry.py

For each registry, ROUNDS rounds, alternating: start the registry afresh
(new port, empty storage, so no layer is already there or mountable),
push the image, then remove it from the engine and pull it back; the times are
the wall time of the docker CLI command. During ecsbox's push and pull its
RSS is sampled every 10 ms: the peak above its idle RSS says whether blobs
stream (the target: <= 64 MiB above idle for a 100 MB image).

It prints numbers and ratios; it never fails on timing. Traffic goes to
127.0.0.1 only (the Docker engine pushes to localhost:PORT). It installs
docker-registry with apt-get when missing, builds the image from the local
test image (scripts/build-test-images.sh; no registry on the internet is
used), and removes its images, its registries and its temporary Docker
config at the end, also on error.

Environment: ECSBOX_BIN (use this binary, skip `cargo build --release`),
BENCH_ROUNDS (default 3).
"""

import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import control_plane as cp  # noqa: E402  (signing, server process, RSS)
from control_plane import Broken, log  # noqa: E402

HOST = cp.HOST
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
LAYERS = 4
LAYER_MIB = 25
BASE_IMAGE = "ecsbox-test/busybox:latest"
SOURCE_IMAGE = "ecsbox-bench/registry-source:1"
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921"


def docker(*args, env=None, check=True, capture=False):
    result = subprocess.run(["docker", *args], env=env, capture_output=capture, text=True)
    if check and result.returncode != 0:
        raise Broken(f"`docker {' '.join(args)}` exited with {result.returncode}: {result.stderr if capture else ''}")
    return result


def timed_docker(*args, env=None):
    started = time.perf_counter()
    docker(*args, env=env, capture=True)
    return time.perf_counter() - started


def ensure_docker_registry():
    if shutil.which("docker-registry"):
        return shutil.which("docker-registry")
    log("installing docker-registry (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cp.run_checked(["apt-get", "update", "-qq"])
    cp.run_checked(["apt-get", "install", "-y", "-qq", "docker-registry"], env=env)
    if not shutil.which("docker-registry"):
        raise Broken("docker-registry is still not on PATH after apt-get install docker-registry")
    return shutil.which("docker-registry")


def build_source_image(workdir):
    """The image pushed: the local busybox test image plus LAYERS layers of
    LAYER_MIB MiB of random bytes each (random: gzip cannot shrink them)."""
    if docker("image", "inspect", BASE_IMAGE, check=False, capture=True).returncode != 0:
        cp.run_checked(["bash", str(cp.REPO / "scripts" / "build-test-images.sh")])
    context = workdir / "image"
    context.mkdir()
    lines = [f"FROM {BASE_IMAGE}"]
    for i in range(LAYERS):
        (context / f"layer{i}.bin").write_bytes(os.urandom(LAYER_MIB * 1024 * 1024))
        lines.append(f"COPY layer{i}.bin /data/layer{i}.bin")
    (context / "Dockerfile").write_text("\n".join(lines) + "\n")
    docker("build", "-q", "-t", SOURCE_IMAGE, str(context), capture=True)
    size = json.loads(docker("image", "inspect", SOURCE_IMAGE, capture=True).stdout)[0]["Size"]
    return size


class Registry:
    """One registry under test: started fresh, with a repository to push to
    and a Docker config logged in to it."""

    def __init__(self, name, workdir):
        self.name = name
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.docker_env = None
        self.rss_pid = None

    def reference(self, repository):
        return f"localhost:{self.port}/{repository}:1"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


class DistributionRegistry(Registry):
    def __init__(self, binary, workdir):
        super().__init__("docker-registry", workdir)
        self.binary = binary

    def start(self):
        self.port = cp.free_port()
        root = Path(tempfile.mkdtemp(prefix="storage-", dir=self.workdir))
        config = self.workdir / "distribution.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {HOST}:{self.port}\n"
        )
        log_file = open(self.workdir / "distribution.log", "ab")
        self.proc = subprocess.Popen([self.binary, "serve", str(config)], stdout=log_file, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc, self.name)
        self.docker_env = {**os.environ, "DOCKER_CONFIG": str(self.workdir / "docker-config-distribution")}
        self.rss_pid = self.proc.pid

    def prepare(self, repository):
        pass  # the distribution registry makes repositories on push


class EcsboxRegistry(Registry):
    def __init__(self, binary, workdir):
        super().__init__("ecsbox", workdir)
        self.binary = binary
        self.api_port = None

    def start(self):
        self.api_port = cp.free_port()
        self.port = cp.free_port()
        log_file = open(self.workdir / "ecsbox.log", "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "--listen", f"{HOST}:{self.api_port}", "--registry-listen", f"{HOST}:{self.port}",
             "--instance-id", f"bench-registry-{os.getpid()}"],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port(self.api_port, self.proc, self.name)
        wait_for_port(self.port, self.proc, self.name)
        self.rss_pid = self.proc.pid
        config_dir = self.workdir / "docker-config-ecsbox"
        config_dir.mkdir(exist_ok=True)
        self.docker_env = {**os.environ, "DOCKER_CONFIG": str(config_dir)}
        token = self.ecr("GetAuthorizationToken", {})["authorizationData"][0]
        user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
        login = subprocess.run(
            ["docker", "login", "-u", user, "--password-stdin", token["proxyEndpoint"]],
            input=password, text=True, capture_output=True, env=self.docker_env,
        )
        if login.returncode != 0:
            raise Broken(f"docker login to ecsbox failed: {login.stderr}")
        endpoint = token["proxyEndpoint"].removeprefix("http://")
        if endpoint != f"localhost:{self.port}":
            raise Broken(f"proxyEndpoint {endpoint} is not the registry this benchmark started")

    def ecr(self, operation, payload):
        body = cp.encode(payload)
        headers = cp.sign({"content-type": cp.CONTENT_TYPE, "x-amz-target": f"{ECR_TARGET}.{operation}"},
                          self.api_port, "ecr", body)
        client = cp.Client(self.api_port)
        try:
            status, data, _ = client.send(body, headers)
        finally:
            client.close()
        if status != 200:
            raise Broken(f"ECR {operation} answered HTTP {status}: {data[:300]!r}")
        return json.loads(data)

    def prepare(self, repository):
        self.ecr("CreateRepository", {"repositoryName": repository})


def wait_for_port(port, proc, name, timeout=60.0):
    import socket

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise Broken(f"{name} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.01)
    raise Broken(f"{name} did not listen on {port} within {timeout:.0f} s")


class RssSampler:
    """Samples one process's RSS every 10 ms while running; peak in MiB."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.running = False
        self.thread = None

    def __enter__(self):
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while self.running:
            self.peak = max(self.peak, cp.proc_rss_kib(self.pid))
            time.sleep(0.01)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    def peak_mib(self):
        return self.peak / 1024


def round_trip(registry, repository):
    """Push, then pull back with no layer of the image left on the engine.
    Returns (push s, pull s, peak RSS MiB during both)."""
    registry.prepare(repository)
    reference = registry.reference(repository)
    docker("tag", SOURCE_IMAGE, reference)
    with RssSampler(registry.rss_pid) as rss:
        push = timed_docker("push", reference, env=registry.docker_env)
        # Both names gone, so that every layer is downloaded again.
        docker("rmi", reference, capture=True)
        docker("rmi", SOURCE_IMAGE, capture=True)
        pull = timed_docker("pull", reference, env=registry.docker_env)
    docker("tag", reference, SOURCE_IMAGE)
    docker("rmi", reference, capture=True)
    return push, pull, rss.peak_mib()


def main():
    distribution_bin = ensure_docker_registry()
    ecsbox_bin = cp.ensure_ecsbox()
    workdir = Path(tempfile.mkdtemp(prefix="ecsbox-bench-registry-"))
    registries = [EcsboxRegistry(ecsbox_bin, workdir), DistributionRegistry(distribution_bin, workdir)]
    try:
        size = build_source_image(workdir)
        log(f"image: {size / 1e6:.0f} MB ({LAYERS} layers of {LAYER_MIB} MiB random bytes on {BASE_IMAGE}); "
            f"{ROUNDS} rounds each, alternating")
        results = {r.name: {"push": [], "pull": [], "peak": [], "idle": []} for r in registries}
        for i in range(ROUNDS):
            for r in registries if i % 2 == 0 else reversed(registries):
                r.start()
                time.sleep(0.3)
                idle = cp.proc_rss_kib(r.rss_pid) / 1024
                push, pull, peak = round_trip(r, f"bench{i}")
                r.stop()
                for key, value in [("push", push), ("pull", pull), ("peak", peak), ("idle", idle)]:
                    results[r.name][key].append(value)
                log(f"  round {i + 1} {r.name:16} push {push:6.2f} s  pull {pull:6.2f} s  "
                    f"RSS idle {idle:5.1f} MiB, peak {peak:6.1f} MiB")
        print_results(results)
    finally:
        for r in registries:
            r.stop()
        for name in [SOURCE_IMAGE]:
            docker("rmi", "-f", name, check=False, capture=True)
        shutil.rmtree(workdir, ignore_errors=True)


def print_results(results):
    e, d = results["ecsbox"], results["docker-registry"]
    idle = {"ecsbox": max(e["idle"]), "docker-registry": max(d["idle"])}
    med = statistics.median
    log("")
    log(f"{'':28}{'ecsbox':>12}{'docker-registry':>18}{'ratio':>10}")
    log(f"{'push, median (s)':28}{med(e['push']):12.2f}{med(d['push']):18.2f}{med(e['push']) / med(d['push']):10.2f}")
    log(f"{'pull, median (s)':28}{med(e['pull']):12.2f}{med(d['pull']):18.2f}{med(e['pull']) / med(d['pull']):10.2f}")
    log(f"{'idle RSS (MiB)':28}{idle['ecsbox']:12.1f}{idle['docker-registry']:18.1f}")
    e_peak, d_peak = max(e["peak"]), max(d["peak"])
    above = {name: max(p - i for p, i in zip(results[name]["peak"], results[name]["idle"])) for name in results}
    log(f"{'peak RSS, push+pull (MiB)':28}{e_peak:12.1f}{d_peak:18.1f}")
    log(f"{'peak above idle (MiB)':28}{above['ecsbox']:12.1f}{above['docker-registry']:18.1f}")
    log("")
    log("targets: push and pull ratio <= 1.2 each; ecsbox peak above idle <= 64 MiB (lower is better everywhere)")


if __name__ == "__main__":
    try:
        main()
    except Broken as e:
        print(f"benchmark broken: {e}", file=sys.stderr)
        sys.exit(1)

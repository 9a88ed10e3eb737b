#!/usr/bin/env python3
"""Control-plane benchmark: ecsbox against moto's server, in the same run.

    python3 compat-tests/bench/control_plane.py

Measures, for both servers, on 127.0.0.1 only:
  1. start time: process spawn -> first answered ListClusters (median of 5)
  2. idle RSS after start and one request
  3. wrk -t2 -c16 -d10s --latency on DescribeClusters and RegisterTaskDefinition:
     requests/s, p50, p99, and the CPU time of wrk and of the server
  4. ListTaskDefinitions over 5,000 revisions (50 families), paged by 100:
     per-page latency measured by a keep-alive Python client; and the RSS
     those 5,000 revisions took (RSS after registering them minus before,
     over 5,000: KiB per task definition)

It prints numbers and ratios; it never fails on timing. Exit status is 0
unless something is broken (build, install, a server that does not start or
answers an error to a measured request). Both servers are stopped at the end,
also on error or Ctrl-C.

Environment: ECSBOX_BIN (use this binary, skip `cargo build --release`),
BENCH_DURATION (seconds per wrk run, default 10).
"""

import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV = HERE / ".venv"
REQUIREMENTS = HERE / "requirements.txt"

HOST = "127.0.0.1"  # the only address this script ever sends traffic to
REGION = "us-east-1"
ACCESS_KEY = "AKIDBENCHMARK"
SECRET_KEY = "benchmark-secret"
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113"
CONTENT_TYPE = "application/x-amz-json-1.1"

STARTS = 5
START_TIMEOUT_S = 60.0
WRK_THREADS = 2
WRK_CONNECTIONS = 16
WRK_DURATION_S = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP_S = 2
FAMILIES = 50
REVISIONS_PER_FAMILY = 100  # 50 x 100 = 5,000 revisions
PAGE_SIZE = 100
LIST_PASSES = 5  # measured passes over all pages, after one warm-up pass
CLIENT_FLOOR_SAMPLES = 200
CPU_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1

DESCRIBE_BODY = {"clusters": ["bench"]}
REGISTER_BODY = {
    "family": "bench-register",
    "containerDefinitions": [
        {"name": "app", "image": "busybox:latest", "memory": 128, "essential": True, "command": ["sleep", "3600"]}
    ],
}

# The targets: (row key, description, test on (ecsbox, moto, ratio)).
# A query-protocol row (issue 10): EC2 DescribeSubnets of the default VPC's
# subnets, as botocore's ec2 serializer sends it; operation -> signing name.
DESCRIBE_SUBNETS_FORM = b"Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=default-for-az&Filter.1.Value.1=true"
QUERY_CALLS = {"DescribeSubnets": "ec2"}

TARGETS = {
    "subnets_rps": (">= 100x moto", lambda e, m, r: r is not None and r >= 100),
    "subnets_p99_ms": ("<= 5 ms", lambda e, m, r: e <= 5),
    "start_ms": ("<= 20 ms", lambda e, m, r: e <= 20),
    "rss_mib": ("<= 15 MiB", lambda e, m, r: e <= 15),
    "describe_rps": (">= 100x moto", lambda e, m, r: r is not None and r >= 100),
    "describe_p99_ms": ("<= 5 ms", lambda e, m, r: e <= 5),
    "register_rps": (">= 100x moto", lambda e, m, r: r is not None and r >= 100),
    "register_p99_ms": ("<= 5 ms", lambda e, m, r: e <= 5),
    "list_page_max_ms": ("< 1 ms each", lambda e, m, r: e < 1),
    "list_server_max_ms": ("< 1 ms each", lambda e, m, r: e < 1),
    "td_rss_kib": ("<= 2 KiB", lambda e, m, r: e <= 2),
}


class Broken(Exception):
    """Something other than timing went wrong: the benchmark cannot say anything."""


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Setup: venv with moto, wrk, the ecsbox binary
# --------------------------------------------------------------------------


def ensure_venv():
    """Re-executes this script inside compat-tests/bench/.venv, creating it and
    installing requirements.txt first when it is missing or out of date."""
    venv_python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    stamp = VENV / ".requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not venv_python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        log(f"setting up {VENV.relative_to(REPO)} ({REQUIREMENTS.name})")
        run_checked([sys.executable, "-m", "venv", str(VENV)])
        run_checked([str(venv_python), "-m", "pip", "install", "-q", "--upgrade", "pip"])
        run_checked([str(venv_python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)])
        stamp.write_text(wanted)
    # The script being run (this module's importers share this function).
    os.execv(str(venv_python), [str(venv_python), str(Path(sys.argv[0]).resolve()), *sys.argv[1:]])


def ensure_wrk():
    if shutil.which("wrk"):
        return shutil.which("wrk")
    log("installing wrk (apt-get)")
    run_checked(["apt-get", "update", "-qq"])
    run_checked(["apt-get", "install", "-y", "-qq", "wrk"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("wrk"):
        raise Broken("wrk is still not on PATH after apt-get install wrk")
    return shutil.which("wrk")


def ensure_ecsbox():
    if os.environ.get("ECSBOX_BIN"):
        binary = Path(os.environ["ECSBOX_BIN"]).resolve()
    else:
        log("building ecsbox (cargo build --release)")
        run_checked(["cargo", "build", "--release", "--quiet"], cwd=REPO)
        binary = REPO / "target" / "release" / "ecsbox"
    if not binary.is_file():
        raise Broken(f"no ecsbox binary at {binary}")
    return binary


def run_checked(cmd, **kwargs):
    result = subprocess.run(cmd, **kwargs)
    if result.returncode != 0:
        raise Broken(f"`{' '.join(map(str, cmd))}` exited with {result.returncode}")


# --------------------------------------------------------------------------
# Requests: SigV4 headers and a keep-alive client
# --------------------------------------------------------------------------


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_headers(port, operation, body, when=None):
    """Headers of an AWS JSON 1.1 ECS call with a real SigV4 signature, so the
    request would pass ecsbox's strict mode too. In lenient mode ecsbox checks
    the shape, the `ecs` scope and the date (within 15 minutes); moto ignores it."""
    return sign({"content-type": CONTENT_TYPE, "x-amz-target": f"{TARGET_PREFIX}.{operation}"}, port, "ecs", body, when)


def signed_form_headers(port, service, body, when=None):
    """Headers of a query-protocol call (a form, as botocore sends STS, EC2,
    ELBv2), signed for `service` the same way."""
    return sign({"content-type": "application/x-www-form-urlencoded; charset=utf-8"}, port, service, body, when)


def sign(extra, port, service, body, when=None):
    when = when or time.gmtime()
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", when)
    day = amz_date[:8]
    headers = {"host": f"{HOST}:{port}", "x-amz-date": amz_date, **extra}
    names = ";".join(sorted(headers))
    canonical = "\n".join(
        ["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", names, hashlib.sha256(body).hexdigest()]
    )
    scope = f"{day}/{REGION}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + SECRET_KEY).encode(), day), REGION), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, SignedHeaders={names}, Signature={signature}"
    )
    return headers


def encode(payload):
    return json.dumps(payload, separators=(",", ":")).encode()


class Client:
    """One HTTP/1.1 connection, kept alive where the server allows it
    (http.client reconnects by itself when the server closes)."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.server_closed = False  # whether the server closed the connection after its last answer

    def send(self, body, headers):
        """Sends pre-signed bytes; returns (status, parsed body, seconds)."""
        started = time.perf_counter()
        self.conn.request("POST", "/", body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        self.server_closed = resp.will_close
        return resp.status, data, time.perf_counter() - started

    def call(self, operation, payload):
        body = encode(payload)
        status, data, elapsed = self.send(body, signed_headers(self.port, operation, body))
        return status, parse_json(data), elapsed

    def must(self, operation, payload):
        status, answer, _ = self.call(operation, payload)
        if status != 200:
            raise Broken(f"{operation} answered HTTP {status}: {answer}")
        return answer

    def close(self):
        self.conn.close()


def parse_json(data):
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return {"raw": data[:200].decode(errors="replace")}


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """A server process this script started; stop() ends it by its id."""

    def __init__(self, name, command_for_port, logdir):
        self.name = name
        self.command_for_port = command_for_port
        self.logdir = logdir
        self.proc = None
        self.port = None
        self.starts = 0
        self.extra_env = {}
        self.log_path = None

    def start(self):
        """Spawns the server and polls ListClusters until it answers 200.
        Returns the seconds from spawn to that first answer."""
        self.port = free_port()
        body = encode({})
        headers = signed_headers(self.port, "ListClusters", body)
        self.starts += 1
        self.log_path = self.logdir / f"{self.name}-{self.starts}.log"
        env = {**os.environ, "NO_COLOR": "1", **self.extra_env}
        with open(self.log_path, "wb") as logfile:
            started = time.perf_counter()
            self.proc = subprocess.Popen(
                self.command_for_port(self.port), stdout=logfile, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,
            )
        while True:
            if try_request(self.port, body, headers):
                return time.perf_counter() - started
            if self.proc.poll() is not None:
                raise Broken(f"{self.name} exited with {self.proc.returncode} before answering:\n{self.log_tail()}")
            if time.perf_counter() - started > START_TIMEOUT_S:
                raise Broken(f"{self.name} did not answer within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")
            time.sleep(0.0005)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: only what we spawned
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    def log_tail(self, lines=20):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def rss_mib(self):
        return sum(proc_rss_kib(pid) for pid in process_tree(self.proc.pid)) / 1024

    def cpu_seconds(self):
        return sum(proc_cpu_seconds(pid) for pid in process_tree(self.proc.pid))


def try_request(port, body, headers):
    """One fresh-connection request; True when it answered 200."""
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status == 200
        finally:
            conn.close()
    except OSError:
        return False


def ecsbox_server(binary, logdir):
    # Defaults otherwise (lenient SigV4), as a user would run it.
    # The registry on a free port, so a developer's ecsbox on 4510 does not stop it.
    return Server("ecsbox", lambda port: [str(binary), "--listen", f"{HOST}:{port}", "--registry-listen", f"{HOST}:0"], logdir)


def moto_server(logdir):
    moto = str(VENV / "bin" / "moto_server")
    return Server("moto", lambda port: [moto, "-H", HOST, "-p", str(port)], logdir)


# --------------------------------------------------------------------------
# /proc readings
# --------------------------------------------------------------------------


def process_tree(pid):
    """pid and its descendants (moto or ecsbox might fork; neither should)."""
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            children = []
        for child in map(int, children):
            pids.append(child)
            frontier.append(child)
    return pids


def proc_rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_seconds(pid):
    """utime + stime of the process (all its threads)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CPU_TICKS


def machine_busy_seconds():
    """CPU seconds all cores spent not idle, machine-wide (other agents included)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CPU_TICKS


# --------------------------------------------------------------------------
# 1 + 2: start time and idle RSS
# --------------------------------------------------------------------------


def measure_start(server):
    """Median start time over STARTS spawns, and the median idle RSS read
    after the first answer and one more request, half a second later."""
    times, rss = [], []
    for _ in range(STARTS):
        try:
            times.append(server.start())
            Client(server.port).must("ListClusters", {})
            time.sleep(0.5)
            rss.append(server.rss_mib())
        finally:
            server.stop()
    log(f"  {server.name}: start {', '.join(f'{t * 1000:.1f}' for t in times)} ms; idle RSS {', '.join(f'{r:.1f}' for r in rss)} MiB")
    return statistics.median(times) * 1000, statistics.median(rss)


# --------------------------------------------------------------------------
# 3: throughput and latency with wrk
# --------------------------------------------------------------------------

LUA_TEMPLATE = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d,\\"max_us\\":%d," ..
    "\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_script(port, operation, payload, path):
    """Writes the Lua script: the body and headers are fixed, so the SigV4
    header is computed once here (valid for 15 minutes, longer than a run).
    A `payload` that is bytes is a query-protocol form (see QUERY_CALLS)."""
    if isinstance(payload, bytes):
        body = payload
        headers = signed_form_headers(port, QUERY_CALLS[operation], body)
    else:
        body = encode(payload)
        headers = signed_headers(port, operation, body)
    del headers["host"]  # wrk sends Host itself, the same value that was signed
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    path.write_text(LUA_TEMPLATE.format(body=body.decode(), headers=lines))
    return body, headers


def run_wrk(wrk, server, script, seconds):
    """Runs wrk against the server; returns its summary plus the CPU seconds
    of wrk, of the server and of everything else on the machine meanwhile."""
    cmd = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script),
           f"http://{HOST}:{server.port}/"]
    server_cpu0, busy0, t0 = server.cpu_seconds(), machine_busy_seconds(), time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # wait4 gives wrk's own CPU time
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        server_cpu, busy = server.cpu_seconds() - server_cpu0, machine_busy_seconds() - busy0
        out.seek(0)
        text = out.read().decode(errors="replace")
    summary = next((json.loads(l[len("BENCH_JSON "):]) for l in text.splitlines() if l.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or summary is None:
        raise Broken(f"wrk failed (exit {proc.returncode}):\n{text}")
    wrk_cpu = usage.ru_utime + usage.ru_stime
    summary.update(wall=wall, wrk_cpu=wrk_cpu, server_cpu=server_cpu, other_cpu=max(0.0, busy - wrk_cpu - server_cpu))
    return summary


def verdict_on_load_generator(s):
    """Says whether wrk, sharing the cores with the server, held it back, and
    whether other work on the machine took cores during the run."""
    wall = s["wall"]
    wrk_cores, server_cores, other_cores = s["wrk_cpu"] / wall, s["server_cpu"] / wall, s["other_cpu"] / wall
    busy = wrk_cores + server_cores + other_cores
    if busy < CORES * 0.85:
        verdict = f"machine not saturated ({busy:.2f} of {CORES} cores busy): wrk was not the bottleneck"
    elif wrk_cores >= 0.5 * server_cores:
        verdict = (f"WRK WAS A BOTTLENECK: the {CORES} cores were saturated and wrk took {wrk_cores:.2f} cores "
                   f"against the server's {server_cores:.2f}; the server's req/s is a lower bound")
    else:
        verdict = f"cores saturated, mostly by the server ({server_cores:.2f} cores; wrk {wrk_cores:.2f})"
    if other_cores >= 0.25:
        verdict += f"; other processes took {other_cores:.2f} cores meanwhile, so the server got less than usual"
    return verdict


def measure_throughput(wrk, server, operation, payload, workdir):
    script = workdir / f"{server.name}-{operation}.lua"
    body, headers = wrk_script(server.port, operation, payload, script)
    status, data, _ = Client(server.port).send(body, {**headers, "host": f"{HOST}:{server.port}"})
    if status != 200:
        raise Broken(f"{server.name} {operation} answered HTTP {status}: {parse_json(data)}")
    run_wrk(wrk, server, script, WARMUP_S)
    s = run_wrk(wrk, server, script, WRK_DURATION_S)
    s["rps"] = s["requests"] / (s["duration_us"] / 1e6)
    s["errors"] = sum(s[k] for k in ("connect", "read", "write", "status", "timeout"))
    s["server_cpu_us_per_req"] = s["server_cpu"] / max(1, s["requests"]) * 1e6
    s["verdict"] = verdict_on_load_generator(s)
    log(f"  {server.name} {operation}: {s['rps']:.0f} req/s, p50 {s['p50_us'] / 1000:.2f} ms, "
        f"p99 {s['p99_us'] / 1000:.2f} ms, max {s['max_us'] / 1000:.1f} ms, errors {s['errors']} "
        f"(non-2xx {s['status']}, connect {s['connect']}, read {s['read']}, timeout {s['timeout']})")
    log(f"      CPU over {s['wall']:.1f} s: wrk {s['wrk_cpu']:.2f} s, {server.name} {s['server_cpu']:.2f} s "
        f"({s['server_cpu_us_per_req']:.0f} us/request), everything else {s['other_cpu']:.2f} s -> {s['verdict']}")
    if s["status"]:
        raise Broken(f"{server.name} answered {s['status']} non-2xx responses to {operation} under load")
    return s


def throughput_phase(wrk, server, workdir):
    """Returns the wrk results per operation, and whether the server closes
    the connection after each answer (then every request pays a TCP connect)."""
    server.start()
    try:
        client = Client(server.port)
        client.must("CreateCluster", {"clusterName": "bench"})
        results = {op: measure_throughput(wrk, server, op, payload, workdir)
                   for op, payload in (("DescribeClusters", DESCRIBE_BODY), ("RegisterTaskDefinition", REGISTER_BODY),
                                       ("DescribeSubnets", DESCRIBE_SUBNETS_FORM))}
        return results, client.server_closed
    finally:
        server.stop()


# --------------------------------------------------------------------------
# 4: ListTaskDefinitions over 5,000 revisions
# --------------------------------------------------------------------------


def register_revisions(client):
    for _ in range(REVISIONS_PER_FAMILY):
        for fam in range(FAMILIES):
            payload = dict(REGISTER_BODY, family=f"bench-family-{fam:02d}")
            client.must("RegisterTaskDefinition", payload)


def list_all_pages(client):
    """One pass over every page; returns (per-page seconds, ARNs seen).
    Each request is signed before its clock starts."""
    times, arns, token = [], 0, None
    while True:
        payload = {"maxResults": PAGE_SIZE, **({"nextToken": token} if token else {})}
        body = encode(payload)
        headers = signed_headers(client.port, "ListTaskDefinitions", body)
        status, data, elapsed = client.send(body, headers)
        if status != 200:
            raise Broken(f"ListTaskDefinitions answered HTTP {status}: {parse_json(data)}")
        answer = json.loads(data)
        times.append(elapsed)
        arns += len(answer.get("taskDefinitionArns", []))
        token = answer.get("nextToken")
        if not token:
            return times, arns


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def client_floor(client):
    """Median round trip of a ListClusters answering an empty list: the
    fixed cost of the Python client plus the server's cheapest path."""
    body = encode({})
    headers = signed_headers(client.port, "ListClusters", body)
    return statistics.median(client.send(body, headers)[2] for _ in range(CLIENT_FLOOR_SAMPLES))


# ecsbox logs every API call at debug level with the time it spent on it
# (src/server.rs: "api call" operation=... latency_us=...).
SERVER_LATENCY_LINE = re.compile(r'api call.*operation="?ListTaskDefinitions"?.*latency_us=(\d+)')


def server_side_list_latencies(server, skip):
    """ecsbox's own per-call latencies of ListTaskDefinitions, from its debug
    log, without the first `skip` (the warm-up pass); [] for moto, or if the
    log line changed."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", server.log_path.read_text(errors="replace"))
    return [int(m.group(1)) / 1000 for m in SERVER_LATENCY_LINE.finditer(text)][skip:]


def list_phase(server):
    if server.name == "ecsbox":
        # Debug logging costs a little per call; it is on only in this phase,
        # never while wrk measures throughput.
        server.extra_env = {"RUST_LOG": "ecsbox=debug"}
    server.start()
    try:
        client = Client(server.port)
        client_floor(client)  # both servers past their first requests' allocations
        rss_before = server.rss_mib()
        started = time.perf_counter()
        register_revisions(client)
        register_s = time.perf_counter() - started
        rss_after = server.rss_mib()
        list_all_pages(client)  # warm-up pass
        passes = [list_all_pages(client) for _ in range(LIST_PASSES)]
        pages = [t for times, _ in passes for t in times]
        result = {
            "register_s": register_s,
            "pages_per_pass": len(passes[0][0]),
            "arns": passes[0][1],
            "page_median_ms": statistics.median(pages) * 1000,
            "page_p90_ms": quantile(pages, 0.9) * 1000,
            "page_max_ms": max(pages) * 1000,
            "pass_ms": statistics.median(sum(times) for times, _ in passes) * 1000,
            "floor_ms": client_floor(client) * 1000,
            "td_rss_kib": (rss_after - rss_before) * 1024 / (FAMILIES * REVISIONS_PER_FAMILY),
        }
        client.close()
    finally:
        server.stop()
        server.extra_env = {}
    inside = server_side_list_latencies(server, skip=result["pages_per_pass"])
    result["server_side"] = {"median": statistics.median(inside), "p90": quantile(inside, 0.9), "max": max(inside),
                             "count": len(inside)} if inside else None
    log(f"  {server.name}: registered {FAMILIES * REVISIONS_PER_FAMILY} revisions in {result['register_s']:.1f} s; "
        f"a pass = {result['pages_per_pass']} pages, {result['arns']} ARNs; "
        f"RSS {rss_before:.1f} -> {rss_after:.1f} MiB ({result['td_rss_kib']:.2f} KiB per task definition)")
    log(f"      client-side page: median {result['page_median_ms']:.3f} ms, p90 {result['page_p90_ms']:.3f} ms, "
        f"max {result['page_max_ms']:.3f} ms; whole listing {result['pass_ms']:.1f} ms; "
        f"client floor (empty ListClusters) {result['floor_ms']:.3f} ms")
    if result["server_side"]:
        ss = result["server_side"]
        log(f"      server-side page ({server.name}'s debug log, {ss['count']} pages): median {ss['median']:.3f} ms, "
            f"p90 {ss['p90']:.3f} ms, max {ss['max']:.3f} ms")
    if result["pages_per_pass"] == 1 and result["arns"] > PAGE_SIZE:
        log(f"  note: {server.name} ignored maxResults={PAGE_SIZE} and answered all {result['arns']} ARNs in one page")
    return result


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def rows(results):
    e, m = results["ecsbox"], results["moto"]
    d, r, q = "DescribeClusters", "RegisterTaskDefinition", "DescribeSubnets"
    return [
        ("start_ms", "start to first answer (median of 5)", "ms", e["start_ms"], m["start_ms"]),
        ("rss_mib", "idle RSS", "MiB", e["rss_mib"], m["rss_mib"]),
        ("describe_rps", f"{d} throughput, 16 conns", "req/s", e["tp"][d]["rps"], m["tp"][d]["rps"]),
        ("describe_p50_ms", f"{d} p50", "ms", e["tp"][d]["p50_us"] / 1000, m["tp"][d]["p50_us"] / 1000),
        ("describe_p99_ms", f"{d} p99", "ms", e["tp"][d]["p99_us"] / 1000, m["tp"][d]["p99_us"] / 1000),
        ("describe_cpu_us", f"{d} server CPU per request", "us", e["tp"][d]["server_cpu_us_per_req"], m["tp"][d]["server_cpu_us_per_req"]),
        ("register_rps", f"{r} throughput, 16 conns", "req/s", e["tp"][r]["rps"], m["tp"][r]["rps"]),
        ("register_p50_ms", f"{r} p50", "ms", e["tp"][r]["p50_us"] / 1000, m["tp"][r]["p50_us"] / 1000),
        ("register_p99_ms", f"{r} p99", "ms", e["tp"][r]["p99_us"] / 1000, m["tp"][r]["p99_us"] / 1000),
        ("register_cpu_us", f"{r} server CPU per request", "us", e["tp"][r]["server_cpu_us_per_req"], m["tp"][r]["server_cpu_us_per_req"]),
        ("subnets_rps", f"{q} (ec2 query) throughput, 16 conns", "req/s", e["tp"][q]["rps"], m["tp"][q]["rps"]),
        ("subnets_p50_ms", f"{q} p50", "ms", e["tp"][q]["p50_us"] / 1000, m["tp"][q]["p50_us"] / 1000),
        ("subnets_p99_ms", f"{q} p99", "ms", e["tp"][q]["p99_us"] / 1000, m["tp"][q]["p99_us"] / 1000),
        ("subnets_cpu_us", f"{q} server CPU per request", "us", e["tp"][q]["server_cpu_us_per_req"], m["tp"][q]["server_cpu_us_per_req"]),
        ("list_page_median_ms", "ListTaskDefinitions page, median", "ms", e["list"]["page_median_ms"], m["list"]["page_median_ms"]),
        ("list_page_max_ms", "ListTaskDefinitions page, max", "ms", e["list"]["page_max_ms"], m["list"]["page_max_ms"]),
        ("list_pass_ms", "ListTaskDefinitions, all 5,000", "ms", e["list"]["pass_ms"], m["list"]["pass_ms"]),
        ("td_rss_kib", "RSS per registered task definition (5,000)", "KiB", e["list"]["td_rss_kib"], m["list"]["td_rss_kib"]),
    ] + [
        (f"list_server_{k}_ms", f"ListTaskDefinitions page, {k}, server-side", "ms",
         e["list"]["server_side"][k], (m["list"]["server_side"] or {}).get(k))
        for k in ("median", "max") if e["list"]["server_side"]
    ]


def fmt(value):
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def print_table(results):
    header = ("metric", "unit", "ecsbox", "moto", "ecsbox/moto", "target", "")
    table = [header]
    for key, label, unit, e, m in rows(results):
        ratio = e / m if e is not None and m else None
        target, test = TARGETS.get(key, ("", None))
        verdict = ("met" if test(e, m, ratio) else "NOT MET") if test and e is not None else ""
        table.append((label, unit, fmt(e), fmt(m), f"{ratio:.3g}" if ratio is not None else "-", target, verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        cells = [c.ljust(w) if j in (0, 1, 5, 6) else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))]
        log("| " + " | ".join(cells) + " |")
        if i == 0:
            log("|" + "|".join(("-" * (w + 2)) if j in (0, 1, 5, 6) else ("-" * (w + 1) + ":") for j, w in enumerate(widths)) + "|")


def print_notes(results):
    log("")
    log("Notes:")
    for name in ("ecsbox", "moto"):
        for op, s in results[name]["tp"].items():
            log(f"- {name} {op}: wrk CPU {s['wrk_cpu']:.2f} s, server CPU {s['server_cpu']:.2f} s, "
                f"other processes {s['other_cpu']:.2f} s over {s['wall']:.1f} s: {s['verdict']}")
    for op in results["ecsbox"]["tp"]:
        e_cpu, m_cpu = (results[n]["tp"][op]["server_cpu_us_per_req"] for n in ("ecsbox", "moto"))
        log(f"- {op}: ecsbox spends {m_cpu / e_cpu:.0f}x less server CPU per request than moto; "
            f"with a load generator that cost nothing, that is the throughput ratio to expect.")
    e, m = results["ecsbox"]["list"], results["moto"]["list"]
    log(f"- ListTaskDefinitions 'server-side' rows come from ecsbox's debug log (from the request body read to the "
        f"answer encoded); moto has no such log. The other ListTaskDefinitions rows are round trips measured by a "
        f"keep-alive Python http.client connection and include the client's own overhead: its floor "
        f"(an empty ListClusters) was {e['floor_ms']:.3f} ms on ecsbox and {m['floor_ms']:.3f} ms on moto.")
    log(f"- ListTaskDefinitions pages per pass: ecsbox {e['pages_per_pass']} ({e['arns']} ARNs), "
        f"moto {m['pages_per_pass']} ({m['arns']} ARNs)"
        + ("; moto ignores maxResults, so compare the whole-listing row rather than the per-page rows."
           if m["pages_per_pass"] == 1 else "."))
    for name in ("ecsbox", "moto"):
        if results[name]["closes"]:
            log(f"- {name} closes the connection after every answer (no keep-alive), so each of its requests, "
                f"under wrk and in the Python client, includes a TCP connect: that is how any client meets it.")
    log("- ecsbox's start time includes what it does before serving, e.g. its handshake with the Docker engine "
        "(see the machine line for whether one was reachable).")
    log(f"- {CORES} cores are shared by wrk, the server and any other work on the machine; "
        f"'other processes' above is what the rest of the machine used meanwhile.")


def machine_line():
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), "unknown CPU")
    return f"{CORES} x {model}, Linux {os.uname().release}, Python {sys.version.split()[0]}"


def docker_line():
    """ecsbox talks to the Docker engine while it starts, so its start time
    depends on whether one is reachable; say which case this run measured."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return f"DOCKER_HOST={host} (not probed)"
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(host[len("unix://"):])
        return f"Docker engine reachable at {host}"
    except OSError:
        return f"no Docker engine at {host}"


# --------------------------------------------------------------------------


def main():
    ensure_venv()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop the servers
    wrk = ensure_wrk()
    binary = ensure_ecsbox()
    with tempfile.TemporaryDirectory(prefix="ecsbox-bench-") as tmp:
        workdir = Path(tmp)
        servers = [ecsbox_server(binary, workdir), moto_server(workdir)]
        log(f"machine: {machine_line()}; {docker_line()}")
        log(f"peers: ecsbox {binary}; moto[server] {version('moto')} ({VENV / 'bin' / 'moto_server'})")
        log(f"load: {Path(wrk).name} -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{WRK_DURATION_S}s --latency, "
            f"after a {WARMUP_S} s warm-up; all traffic to {HOST}")
        results = {s.name: {} for s in servers}
        try:
            log("\n1+2. start time and idle RSS")
            for s in servers:
                results[s.name]["start_ms"], results[s.name]["rss_mib"] = measure_start(s)
            log("\n3. throughput and latency (wrk)")
            for s in servers:
                results[s.name]["tp"], results[s.name]["closes"] = throughput_phase(wrk, s, workdir)
            log(f"\n4. ListTaskDefinitions over {FAMILIES * REVISIONS_PER_FAMILY:,} revisions ({FAMILIES} families), maxResults {PAGE_SIZE}")
            for s in servers:
                results[s.name]["list"] = list_phase(s)
        finally:
            for s in servers:
                s.stop()
        log("")
        print_table(results)
        print_notes(results)



# ---- shared by the task and service benchmarks ----
def wait_for_engine_handshake(server, timeout=30.0):
    """ecsbox answers before its engine handshake ends; its startup line is
    printed once the handshake is done. Measuring before it would time the
    handshake, not a task start."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        text = server.log_path.read_text(errors="replace")
        if "listening on" in text:
            if "engine: Docker" not in text:
                raise Broken(f"ecsbox found no Docker engine:\n{server.log_tail()}")
            return
        time.sleep(0.01)
    raise Broken(f"ecsbox printed no startup line within {timeout:.0f} s:\n{server.log_tail()}")


def reset(port):
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request("POST", "/_ecsbox/reset", body=b"")
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise Broken(f"/_ecsbox/reset answered HTTP {resp.status}")
    finally:
        conn.close()


if __name__ == "__main__":
    try:
        main()
    except Broken as e:
        print(f"\nbenchmark broken: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        sys.exit(130)

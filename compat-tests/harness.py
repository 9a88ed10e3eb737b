"""The pieces the compat tests are built from: the ecsbox process, clients
that point at it (boto3, the aws CLI, raw signed HTTP), and assertions on
AWS-shaped errors. conftest.py turns them into fixtures.

Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import itertools
import datetime
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import http.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from unittest import mock

import boto3
import botocore.session
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
import pytest

REPO = Path(__file__).resolve().parent.parent
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113"
JSON_11 = "application/x-amz-json-1.1"

# The keys the `ecs` fixture signs with: not 12 digits, so the default account.
DEFAULT_AKID = "AKIDTEST"
DEFAULT_SECRET = "secret"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

STARTUP_LINE = re.compile(r"^ecsbox \S+ listening on (http://127\.0\.0\.1:(\d+)) ")


def ecsbox_binary() -> Path:
    """The binary under test: $ECSBOX_BIN, else cargo's debug build."""
    if os.environ.get("ECSBOX_BIN"):
        return Path(os.environ["ECSBOX_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return target / "debug" / "ecsbox"


def isolated_environ() -> dict[str, str]:
    """The environment for clients and servers: none of the developer's AWS
    profile, config or credentials, and none of their ECSBOX_* settings, so a
    run here behaves as it does in CI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECSBOX_"))}
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


class StartupError(RuntimeError):
    pass


@dataclass
class EcsboxProcess:
    """One running ecsbox on a free loopback port. `stop()` sends SIGTERM and
    returns the exit code; stderr (the log) goes to a file shown on failure."""

    args: list[str]
    env: dict[str, str]
    proc: subprocess.Popen = field(init=False)
    endpoint: str = field(init=False)
    port: int = field(init=False)
    startup_line: str = field(init=False)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        binary = ecsbox_binary()
        if not binary.exists():
            raise StartupError(f"{binary} does not exist: run `cargo build` first, or set ECSBOX_BIN")
        fd, log = tempfile.mkstemp(prefix="ecsbox-compat-", suffix=".log")
        self.log_path = Path(log)
        with os.fdopen(fd, "wb") as log_file:
            self.proc = subprocess.Popen(
                [str(binary), *self.args],
                stdout=subprocess.PIPE,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                env=self.env,
            )
        try:
            self.startup_line = self._read_startup_line(timeout=15)
            m = STARTUP_LINE.match(self.startup_line)
            if not m:
                raise StartupError(f"unexpected startup line: {self.startup_line!r}")
        except BaseException:
            # The error carries the log's tail; the process and file go.
            self.kill()
            self.cleanup()
            raise
        self.endpoint, self.port = m.group(1), int(m.group(2))

    def _read_startup_line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StartupError(f"no startup line within {timeout}s; log:\n{self.log_tail()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    raise StartupError(f"ecsbox exited ({self.proc.wait()}) before listening; log:\n{self.log_tail()}")
                buf += chunk
        return buf.split(b"\n", 1)[0].decode()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then wait: the exit code (None-safe: a kill after the timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"ecsbox did not exit within {timeout}s of SIGTERM; log:\n{self.log_tail()}")
        self.proc.stdout.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def cleanup(self) -> None:
        with contextlib.suppress(OSError):
            self.log_path.unlink()


def start_ecsbox(*args: str, env: dict[str, str] | None = None, listen: bool = True) -> EcsboxProcess:
    """Starts ecsbox with `args` on 127.0.0.1:0 (unless `listen` is False,
    for tests that set the address another way) and extra `env`."""
    full_env = isolated_environ()
    # Each test server owns its containers under its own instance id, so
    # servers running side by side (or a developer's ecsbox) never remove
    # each other's containers.
    full_env.setdefault("ECSBOX_INSTANCE_ID", f"compat-{os.getpid()}-{next(_instance_numbers)}")
    # And its own registry port (ECR), so servers side by side do not collide.
    full_env.setdefault("ECSBOX_REGISTRY_LISTEN", "127.0.0.1:0")
    full_env.update(env or {})
    argv = (["--listen", "127.0.0.1:0"] if listen else []) + list(args)
    return EcsboxProcess(argv, full_env)


_instance_numbers = itertools.count(1)


# ---------------------------------------------------------------- clients

def boto_config(**kw: Any) -> Config:
    # One attempt: a retried 5xx would hide exactly what these tests look for.
    return Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30, **kw)


def ecs_client(endpoint: str, akid: str = DEFAULT_AKID, region: str = DEFAULT_REGION,
               secret: str = DEFAULT_SECRET, unsigned: bool = False, **config_kw: Any):
    session = boto3.session.Session(aws_access_key_id=akid, aws_secret_access_key=secret, region_name=region)
    if unsigned:
        config_kw["signature_version"] = UNSIGNED
    config = boto_config(**config_kw)
    return session.client("ecs", endpoint_url=endpoint, config=config)


def aws_client(endpoint: str, service: str, akid: str = DEFAULT_AKID, region: str = DEFAULT_REGION,
               secret: str = DEFAULT_SECRET, session_token: str | None = None, **config_kw: Any):
    """A boto3 client of any service ecsbox serves (sts, ec2, logs, ...),
    or of one it does not (the error must still parse)."""
    session = boto3.session.Session(aws_access_key_id=akid, aws_secret_access_key=secret,
                                    aws_session_token=session_token, region_name=region)
    return session.client(service, endpoint_url=endpoint, config=boto_config(**config_kw))


class CliResult(NamedTuple):
    """What `aws ...` did: exit code, stdout parsed as JSON (or the raw text
    when it is not JSON; None when empty), and stderr."""

    code: int
    out: Any
    err: str


def run_cli(endpoint: str, *args: str, akid: str = DEFAULT_AKID, secret: str = DEFAULT_SECRET,
            region: str = DEFAULT_REGION, timeout: float = 120,
            extra_env: dict[str, str] | None = None) -> CliResult:
    """Runs the aws CLI (v1, from the venv's awscli package) against `endpoint`;
    `extra_env` adds settings a user would export (AWS_DISABLE_HOST_PREFIX_INJECTION)."""
    env = isolated_environ()
    env.update(AWS_ACCESS_KEY_ID=akid, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=region,
               AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, "--output", "json", *args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    out: Any = p.stdout
    if p.stdout.strip():
        try:
            out = json.loads(p.stdout)
        except json.JSONDecodeError:
            pass
    else:
        out = None
    return CliResult(p.returncode, out, p.stderr)


def cli_error_code(result: CliResult) -> str | None:
    """The exception name in the CLI's `An error occurred (Code) when calling ...`."""
    m = re.search(r"An error occurred \(([A-Za-z.]+)\)", result.err)  # EC2's codes have dots
    return m.group(1) if m else None


def assert_cli_error(result: CliResult, code: str) -> str:
    """The CLI failed with AWS exception `code`; returns stderr."""
    assert result.code != 0, f"expected {code}, the CLI succeeded: {result.out}"
    assert cli_error_code(result) == code, f"expected {code}, got: {result.err}"
    return result.err


def assert_cli_ok(result: CliResult) -> Any:
    assert result.code == 0, f"aws failed ({result.code}): {result.err}"
    return result.out


# ------------------------------------------------------- raw HTTP requests

@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_type(self) -> str | None:
        """`__type` of an error body, without any `namespace#` prefix."""
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            return self.json()["__type"].split("#")[-1]
        return None


def http_request(endpoint: str, method: str, path: str, body: bytes = b"",
                 headers: dict[str, str] | None = None, timeout: float = 30) -> RawResponse:
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def signed_headers(endpoint: str, body: bytes, headers: dict[str, str], *, akid: str = DEFAULT_AKID,
                   secret: str = DEFAULT_SECRET, region: str = DEFAULT_REGION, service: str = "ecs",
                   signed_at: datetime.datetime | None = None) -> dict[str, str]:
    """`headers` plus a real SigV4 signature (botocore's signer) for a POST /,
    made at `signed_at` (naive UTC; default now)."""
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=dict(headers))
    signer = SigV4Auth(Credentials(akid, secret), service, region)
    if signed_at is None:
        signer.add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
            signer.add_auth(req)
    return dict(req.headers.items())


def ecs_raw(endpoint: str, operation: str, body: bytes | str | dict = b"{}", *, sign: bool = True,
            target: str | None = None, extra_headers: dict[str, str] | None = None, **sign_kw: Any) -> RawResponse:
    """One AWS JSON 1.1 call to ECS without an SDK in the way."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    headers = {"Content-Type": JSON_11, "X-Amz-Target": target or f"{TARGET_PREFIX}.{operation}"}
    headers.update(extra_headers or {})
    if sign:
        headers = signed_headers(endpoint, body, headers, **sign_kw)
    return http_request(endpoint, "POST", "/", body, headers)


FORM = "application/x-www-form-urlencoded; charset=utf-8"


def form_raw(endpoint: str, params: dict[str, str] | list[tuple[str, str]], *, service: str = "sts",
             sign: bool = True, **sign_kw: Any) -> RawResponse:
    """One query- or ec2-protocol call (a POSTed form, as botocore sends it),
    signed for `service` (the scope routes a form to its service)."""
    import urllib.parse

    body = urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": FORM}
    if sign:
        headers = signed_headers(endpoint, body, headers, service=service, **sign_kw)
    return http_request(endpoint, "POST", "/", body, headers)


def xml_error(resp: RawResponse) -> tuple[str, str, str]:
    """(code, message, request id) of a query (`<ErrorResponse>`) or ec2
    (`<Response><Errors>`) error document; fails if it is not one."""
    import xml.etree.ElementTree as ET

    assert resp.status >= 400, f"expected an error, got {resp.status}: {resp.body[:300]!r}"
    assert resp.headers.get("content-type", "").startswith("text/xml"), resp.headers
    root = ET.fromstring(resp.body)
    tag = root.tag.split("}")[-1]
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if tag == "ErrorResponse":  # query
        error = root.find(f"{ns}Error")
        request_id = root.findtext(f"{ns}RequestId")
    else:
        assert tag == "Response", f"not an XML error document: {resp.body[:300]!r}"
        error = root.find("Errors/Error")
        request_id = root.findtext("RequestID")
    assert error is not None, resp.body
    code, message = error.findtext(f"{ns}Code") or error.findtext("Code"), error.findtext(f"{ns}Message") or error.findtext("Message")
    assert code and message, resp.body
    assert request_id and request_id == resp.headers.get("x-amzn-requestid"), (request_id, resp.headers)
    return code, message, request_id


def assert_aws_error(resp: RawResponse, code: str, status: int | None = None) -> str:
    """The answer is AWS's error shape for `code`: `__type` in the body, the
    same name in `x-amzn-ErrorType`, a request id. Returns the message."""
    assert resp.status != 200, f"expected {code}, got 200: {resp.body[:300]!r}"
    if status is not None:
        assert resp.status == status, f"{code}: status {resp.status}, expected {status}"
    assert resp.error_type == code, f"expected {code}, got {resp.status} {resp.body[:300]!r}"
    assert resp.headers.get("x-amzn-errortype", "").split(":")[0] == code, resp.headers
    assert resp.headers.get("x-amzn-requestid"), resp.headers
    body = resp.json()
    message = body.get("message") or body.get("Message") or ""
    assert message, f"{code} without a message: {body}"
    return message


# ------------------------------------------------------------------ errors

def error_code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


@contextlib.contextmanager
def raises_aws(code: str):
    """`with raises_aws("ClusterNotFoundException") as e:` -- the block raises
    a botocore ClientError with that code (and a message and a request id)."""
    with pytest.raises(ClientError) as info:
        yield info
    err = info.value
    assert error_code(err) == code, f"expected {code}, got {error_code(err)}: {err}"
    assert err.response["Error"].get("Message"), f"{code} without a message"
    assert err.response["ResponseMetadata"].get("RequestId"), "error without x-amzn-RequestId"


# ------------------------------------------------------------------ model

def pinned_model() -> dict:
    """The ECS service model codegen/ is generated from."""
    import gzip

    with gzip.open(REPO / "codegen" / "ecs-2014-11-13.service-2.json.gz") as f:
        return json.load(f)


def model_version_note() -> dict[str, str]:
    """codegen/MODEL_VERSION's `key: value` lines."""
    note = {}
    for line in (REPO / "codegen" / "MODEL_VERSION").read_text().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            note[k.strip()] = v.strip()
    return note


def installed_model():
    return botocore.session.get_session().get_service_model("ecs")


# ------------------------------------------------- tasks and Docker

# The image the task tests run: built locally by scripts/build-test-images.sh
# (FROM scratch plus a static busybox; no registry is reachable here).
BUSYBOX_IMAGE = "ecsbox-test/busybox:latest"


def build_test_images() -> None:
    """Runs scripts/build-test-images.sh (quick when the images exist)."""
    p = subprocess.run(["bash", str(REPO / "scripts" / "build-test-images.sh")], capture_output=True, text=True,
                       timeout=600, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"scripts/build-test-images.sh failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")


def instance_id(server: EcsboxProcess) -> str:
    """The ECSBOX_INSTANCE_ID a server runs under: its containers carry
    the label ecsbox.owner=<this>."""
    return server.env["ECSBOX_INSTANCE_ID"]


def owned_containers(server: EcsboxProcess) -> list[str]:
    """`docker ps -a` lines (id, name, status) of every container the server owns."""
    p = subprocess.run(["docker", "ps", "-a", "--filter", f"label=ecsbox.owner={instance_id(server)}",
                        "--format", "{{.ID}} {{.Names}} {{.Status}}"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"docker ps failed: {p.stderr}"
    return p.stdout.splitlines()


# Started network-namespace holders that ecsbox keeps ready for the next awsvpc
# task (--warm-task-namespaces). They belong to no task until one takes them,
# when they are renamed to the task's `internalecspause` container.
WARM_HOLDER_PREFIX = "ecsbox-warm-"


def task_containers(server: EcsboxProcess) -> list[str]:
    """`docker ps -a` lines of the containers the server owns for tasks: every
    owned container but the warm namespace holders no task has taken yet."""
    return [line for line in owned_containers(server) if not line.split(" ", 2)[1].startswith(WARM_HOLDER_PREFIX)]


def docker_logs(container_id: str) -> str:
    """What a container wrote to stdout and stderr."""
    p = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"docker logs {container_id} failed: {p.stderr}"
    return p.stdout + p.stderr


def eni_detail(task: dict, name: str) -> str | None:
    """A detail (privateIPv4Address, macAddress, ...) of a task's ENI attachment."""
    for attachment in task.get("attachments", []):
        if attachment.get("type") == "ElasticNetworkInterface":
            for detail in attachment.get("details", []):
                if detail.get("name") == name:
                    return detail.get("value")
    return None


def http_get(host: str, port: int, path: str = "/", within: float = 10) -> tuple[int, bytes]:
    """GET http://host:port/path; retries a refused or reset connection for
    `within` seconds (a container is RUNNING once started, its server may
    need a moment more to listen)."""
    deadline = time.monotonic() + within
    while True:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read()
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            conn.close()

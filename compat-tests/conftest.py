"""Fixtures: one ecsbox for the whole session (the built binary, on a free
port), reset before every test so tests are independent; boto3 clients and
the aws CLI pointed at it; and further ecsbox processes with other flags.
"""

from __future__ import annotations

from typing import Callable

import pytest

import harness
from harness import CliResult, EcsboxProcess


@pytest.fixture(scope="session")
def ecsbox():
    """The shared server, default flags. It must exit 0 on SIGTERM at the end."""
    server = harness.start_ecsbox()
    try:
        yield server
    finally:
        code = server.stop()
        log = server.log_tail()
        server.cleanup()
    assert code == 0, f"ecsbox exited {code} on SIGTERM; log:\n{log}"


@pytest.fixture(autouse=True)
def _reset_state(ecsbox: EcsboxProcess):
    """Every test starts from an empty emulator."""
    assert ecsbox.alive(), f"the shared ecsbox died; log:\n{ecsbox.log_tail()}"
    resp = harness.http_request(ecsbox.endpoint, "POST", "/_ecsbox/reset")
    assert resp.status == 200, resp
    yield


@pytest.fixture
def endpoint(ecsbox: EcsboxProcess) -> str:
    return ecsbox.endpoint


@pytest.fixture
def ecs(ecsbox: EcsboxProcess):
    """boto3 ECS client: us-east-1, access key AKIDTEST (default account)."""
    return harness.ecs_client(ecsbox.endpoint)


@pytest.fixture
def ecs_as(ecsbox: EcsboxProcess):
    """`ecs_as(akid, region, secret="secret", endpoint=None, unsigned=False,
    **botocore_config)`: a boto3 ECS client with other keys, region or server."""

    def make(akid: str = harness.DEFAULT_AKID, region: str = harness.DEFAULT_REGION,
             secret: str = harness.DEFAULT_SECRET, endpoint: str | None = None, unsigned: bool = False, **config):
        return harness.ecs_client(endpoint or ecsbox.endpoint, akid=akid, region=region, secret=secret,
                                  unsigned=unsigned, **config)

    return make


@pytest.fixture
def aws(ecsbox: EcsboxProcess) -> Callable[..., CliResult]:
    """`aws("ecs", "list-clusters", ...)` -> CliResult(code, json_or_text, stderr).
    Keyword arguments akid, secret, region and endpoint change who calls where."""

    def run(*args: str, endpoint: str | None = None, **kw) -> CliResult:
        return harness.run_cli(endpoint or ecsbox.endpoint, *args, **kw)

    return run


@pytest.fixture
def raw(ecsbox: EcsboxProcess):
    """`raw(operation, body, sign=True, **sigv4)` -> RawResponse: one JSON 1.1
    call with a real SigV4 signature, no SDK in between."""

    def call(operation: str, body=b"{}", endpoint: str | None = None, **kw) -> harness.RawResponse:
        return harness.ecs_raw(endpoint or ecsbox.endpoint, operation, body, **kw)

    return call


@pytest.fixture
def start_ecsbox():
    """`start_ecsbox("--sigv4", "strict", env={...})` starts another ecsbox for
    this test only; it is stopped afterwards and must exit 0."""
    started: list[EcsboxProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, listen: bool = True) -> EcsboxProcess:
        server = harness.start_ecsbox(*args, env=env, listen=listen)
        started.append(server)
        return server

    yield start
    failures = []
    for server in started:
        if server.proc.poll() is not None and server.proc.stdout.closed:
            server.cleanup()
            continue  # the test stopped it itself and checked the code
        code = server.stop()
        if code != 0:
            failures.append(f"{server.args}: exit {code}\n{server.log_tail()}")
        server.cleanup()
    assert not failures, "extra ecsbox did not exit 0 on SIGTERM:\n" + "\n".join(failures)


@pytest.fixture(scope="session")
def busybox_image() -> str:
    """The local test image (built by scripts/build-test-images.sh if absent)."""
    harness.build_test_images()
    return harness.BUSYBOX_IMAGE


@pytest.fixture(scope="module")
def no_containers_left(ecsbox: EcsboxProcess):
    """For modules that run tasks: after the module's last test, a reset
    removes every container the shared server owns, and `docker ps -a`
    shows none left under its instance id."""
    yield
    resp = harness.http_request(ecsbox.endpoint, "POST", "/_ecsbox/reset")
    assert resp.status == 200, resp
    left = harness.owned_containers(ecsbox)
    assert left == [], f"containers of ecsbox.owner={harness.instance_id(ecsbox)} left after reset: {left}"

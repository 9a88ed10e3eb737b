"""Every way users point their AWS tools at ecsbox, each with a test that
creates a cluster through it and reads it back:

- the aws CLI with --endpoint-url, with AWS_ENDPOINT_URL, with AWS_ENDPOINT_URL_ECS
- awslocal (PyPI awscli-local), which knows only localhost:4566
- boto3 with endpoint_url, and with AWS_ENDPOINT_URL_ECS

(The Rust SDK is covered by tests/*.rs and tests/testcontainers_example.rs.)
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import harness
from harness import assert_cli_ok

DEFAULT_PORT = 4566
ARN = "arn:aws:ecs:us-east-1:000000000000:cluster/{}"


def client_env(**extra: str) -> dict[str, str]:
    """The clients' environment: isolated from the developer's AWS setup,
    test keys, and the venv's bin/ first on PATH (awslocal runs `aws`)."""
    env = harness.isolated_environ()
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               AWS_MAX_ATTEMPTS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def aws(*args: str, env: dict[str, str]) -> harness.CliResult:
    """`aws ARGS` exactly as typed: no --endpoint-url added."""
    cmd = [sys.executable, "-m", "awscli", "--output", "json", *args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return harness.CliResult(p.returncode, _json_or_text(p.stdout), p.stderr)


def _json_or_text(out: str):
    try:
        return json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        return out


def create_and_list_with_cli(name: str, *endpoint_args: str, env: dict[str, str]) -> None:
    created = assert_cli_ok(aws(*endpoint_args, "ecs", "create-cluster", "--cluster-name", name, env=env))
    assert created["cluster"]["clusterArn"] == ARN.format(name)
    listed = assert_cli_ok(aws(*endpoint_args, "ecs", "list-clusters", env=env))
    assert listed["clusterArns"] == [ARN.format(name)]


# ----------------------------------------------------------------- aws CLI

def test_aws_cli_with_endpoint_url(endpoint):
    create_and_list_with_cli("flag", "--endpoint-url", endpoint, env=client_env())


def test_aws_cli_with_aws_endpoint_url(endpoint):
    # The CLI's environment setting for every service's endpoint.
    create_and_list_with_cli("env-global", env=client_env(AWS_ENDPOINT_URL=endpoint))


def test_aws_cli_with_aws_endpoint_url_ecs(endpoint):
    # The service-specific variable wins over the global one: the global one
    # here points at a port nothing listens on, so a CLI that ignored
    # AWS_ENDPOINT_URL_ECS would fail.
    env = client_env(AWS_ENDPOINT_URL_ECS=endpoint, AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    create_and_list_with_cli("env-ecs", env=env)


# ---------------------------------------------------------------- awslocal

def test_awslocal_on_the_default_port(start_ecsbox):
    if not port_is_free(DEFAULT_PORT):
        pytest.fail(
            f"127.0.0.1:{DEFAULT_PORT} is busy (another ecsbox, LocalStack or a `docker run -p 4566:4566`?). "
            "awslocal only talks to localhost:4566, so this test needs that port: stop whatever holds it and rerun."
        )
    server = start_ecsbox("--listen", f"127.0.0.1:{DEFAULT_PORT}", listen=False)
    assert server.port == DEFAULT_PORT
    awslocal = str(Path(sys.executable).parent / "awslocal")
    # awslocal sets keys and region itself when none are given; its
    # deprecation banner (it points at `lstk aws`) is noise here.
    env = client_env(DISABLE_DEPRECATION_NOTICE="1")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(var)

    def run(*args: str) -> harness.CliResult:
        p = subprocess.run([sys.executable, awslocal, "--output", "json", *args], env=env, capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
        return harness.CliResult(p.returncode, _json_or_text(p.stdout), p.stderr)

    created = assert_cli_ok(run("ecs", "create-cluster", "--cluster-name", "local"))
    assert created["cluster"]["clusterArn"] == ARN.format("local")
    listed = assert_cli_ok(run("ecs", "list-clusters"))
    assert listed["clusterArns"] == [ARN.format("local")]


# ------------------------------------------------------------------ boto3

def test_boto3_with_endpoint_url(endpoint):
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    ecs.create_cluster(clusterName="boto")
    assert ecs.list_clusters()["clusterArns"] == [ARN.format("boto")]


def test_boto3_with_aws_endpoint_url_ecs(endpoint, monkeypatch):
    # The same variable the CLI reads: code that builds its clients with no
    # endpoint_url at all reaches ecsbox unchanged.
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    for var, value in client_env(AWS_ENDPOINT_URL_ECS=endpoint).items():
        if var.startswith("AWS_"):
            monkeypatch.setenv(var, value)
    ecs = boto3.session.Session().client("ecs")
    ecs.create_cluster(clusterName="boto-env")
    assert ecs.list_clusters()["clusterArns"] == [ARN.format("boto-env")]


# ---------------------------------------------------------------- helpers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return False
            raise
    return True

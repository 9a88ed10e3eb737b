"""The server itself: startup, health, reset, request ids, signals, and
requests that are not HTTP at all."""

import os
import signal
import socket
import subprocess

import pytest

import harness
from harness import StartupError, http_request


def test_startup_line_names_the_free_port_it_picked(ecsbox):
    assert ecsbox.port > 0
    assert ecsbox.startup_line.startswith("ecsbox ")
    assert f"listening on http://127.0.0.1:{ecsbox.port} " in ecsbox.startup_line
    # The port is really ours: a health check on it answers.
    assert http_request(ecsbox.endpoint, "GET", "/_ecsbox/health").status == 200


def test_health_answers_version_and_services(ecsbox):
    resp = http_request(ecsbox.endpoint, "GET", "/_ecsbox/health")
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("application/json")
    health = resp.json()
    version = ecsbox.startup_line.split()[1]
    assert health["version"] == version
    assert "ecs" in health["services"]


def test_listen_address_from_environment(start_ecsbox):
    server = start_ecsbox(listen=False, env={"ECSBOX_LISTEN": "127.0.0.1:0"})
    assert server.port > 0
    assert http_request(server.endpoint, "GET", "/_ecsbox/health").status == 200


def test_a_port_in_use_is_a_startup_error_not_a_hang(ecsbox):
    with pytest.raises(StartupError, match="exited"):
        harness.start_ecsbox("--listen", f"127.0.0.1:{ecsbox.port}", listen=False)


@pytest.mark.parametrize("path", ["/_ecsbox/reset", "/moto-api/reset"])
def test_reset_clears_every_account_and_region(ecsbox, ecs, ecs_as, path):
    ecs.create_cluster(clusterName="a")
    other = ecs_as("123456789012", "eu-west-1")
    other.create_cluster(clusterName="b")
    resp = http_request(ecsbox.endpoint, "POST", path)
    assert resp.status == 200
    assert resp.headers.get("x-amzn-requestid")
    assert ecs.list_clusters()["clusterArns"] == []
    assert other.list_clusters()["clusterArns"] == []
    # Not a soft delete: the names are gone, not INACTIVE.
    failures = ecs.describe_clusters(clusters=["a"])["failures"]
    assert [f["reason"] for f in failures] == ["MISSING"]


def test_every_answer_carries_a_request_id(ecsbox, ecs, raw):
    answers = {
        "health": http_request(ecsbox.endpoint, "GET", "/_ecsbox/health"),
        "reset": http_request(ecsbox.endpoint, "POST", "/_ecsbox/reset"),
        "success": raw("ListClusters", {}),
        "service error": raw("DeleteCluster", {"cluster": "nope"}),
        "protocol error": raw("ListClusters", "{not json"),
        "unsigned": raw("ListClusters", {}, sign=False),
        "unknown path": http_request(ecsbox.endpoint, "GET", "/no/such/path"),
    }
    ids = {name: r.headers.get("x-amzn-requestid") for name, r in answers.items()}
    assert all(ids.values()), ids
    assert len(set(ids.values())) == len(ids), f"request ids repeat: {ids}"
    # boto3 reads the same header into ResponseMetadata.
    assert ecs.list_clusters()["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly(start_ecsbox, sig):
    server = start_ecsbox()
    harness.ecs_client(server.endpoint).create_cluster(clusterName="c")
    server.proc.send_signal(sig)
    assert server.proc.wait(timeout=15) == 0, server.log_tail()
    server.proc.stdout.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def _send_raw_bytes(ecsbox, data: bytes) -> bytes:
    """Writes `data` on a fresh connection and reads whatever comes back."""
    with socket.create_connection(("127.0.0.1", ecsbox.port), timeout=10) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError:
            # The server may drop the connection before reading it all.
            return b""


GARBAGE = {
    "random bytes": os.urandom(4096),
    "not http": b"HELLO WORLD\r\n\r\n",
    "bad request line": b"POST / HTTP/9.9\r\n\r\n",
    "huge header": b"POST / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (1 << 20) + b"\r\n\r\n",
    "lying content-length": b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 99999\r\n\r\n{}",
    "bad chunked body": b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    "header without colon": b"GET /_ecsbox/health HTTP/1.1\r\nhost x\r\n\r\n",
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_does_not_hurt_the_server_or_other_clients(ecsbox, ecs, kind):
    ecs.create_cluster(clusterName="survivor")
    answer = _send_raw_bytes(ecsbox, GARBAGE[kind])
    # Either no answer or an HTTP error status; never a success.
    if answer:
        assert answer.startswith(b"HTTP/1.1 4") or answer.startswith(b"HTTP/1.1 5"), answer[:200]
    assert ecsbox.alive(), ecsbox.log_tail()
    arns = ecs.list_clusters()["clusterArns"]
    assert arns == ["arn:aws:ecs:us-east-1:000000000000:cluster/survivor"]


def test_a_half_sent_request_does_not_block_others(ecsbox, ecs):
    """A client that opens a connection and stalls must not stop the server
    answering everyone else."""
    with socket.create_connection(("127.0.0.1", ecsbox.port), timeout=10) as stalled:
        stalled.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        ecs.create_cluster(clusterName="meanwhile")
        assert len(ecs.list_clusters()["clusterArns"]) == 1


def test_help_documents_every_option_and_its_variable(ecsbox):
    out = subprocess.run([str(harness.ecsbox_binary()), "--help"], capture_output=True, text=True,
                         timeout=30, env=harness.isolated_environ()).stdout
    for flag, var in [("--listen", "ECSBOX_LISTEN"), ("--sigv4", "ECSBOX_SIGV4"),
                      ("--credentials", "ECSBOX_CREDENTIALS"), ("--default-account", "ECSBOX_DEFAULT_ACCOUNT")]:
        assert flag in out and var in out, f"{flag} / {var} missing from --help:\n{out}"

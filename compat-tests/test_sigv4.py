"""SigV4 in its three modes (--sigv4 off|lenient|strict). The shared server
runs the default, lenient; strict and off get servers of their own.

ECS answers authentication failures with these exception names in `__type`
(JSON 1.1 protocol): MissingAuthenticationTokenException for an unsigned
request, IncompleteSignatureException for a malformed Authorization header,
InvalidSignatureException for a signature that does not match, a scope for
another service or a stale date ("Signature expired: ..."), and
UnrecognizedClientException ("The security token included in the request is
invalid.") for an access key it does not know.
"""

import datetime
import json

import pytest

import harness
from harness import assert_aws_error, assert_cli_error, assert_cli_ok, raises_aws

STRICT_KEY, STRICT_SECRET = "AKIDSTRICTEXAMPLE", "strict/secret+key"
ACCOUNT_KEY, ACCOUNT_SECRET = "123456789012", "account-secret"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


# ------------------------------------------------------------- lenient

def test_lenient_refuses_an_unsigned_request(ecs_as, raw, aws):
    with raises_aws("MissingAuthenticationTokenException"):
        ecs_as(unsigned=True).list_clusters()
    assert_aws_error(raw("ListClusters", {}, sign=False), "MissingAuthenticationTokenException")
    assert_cli_error(aws("--no-sign-request", "ecs", "list-clusters"), "MissingAuthenticationTokenException")


def test_lenient_accepts_any_key_and_secret(ecs_as, aws):
    ecs_as("AKIDANYTHING", secret="not-checked").create_cluster(clusterName="a")
    out = assert_cli_ok(aws("ecs", "list-clusters", akid="AKIDOTHER", secret="also-not-checked"))
    assert out["clusterArns"] == ["arn:aws:ecs:us-east-1:000000000000:cluster/a"]


def test_lenient_refuses_a_scope_for_another_service(raw):
    resp = raw("CreateCluster", {"clusterName": "x"}, service="logs")
    message = assert_aws_error(resp, "InvalidSignatureException")
    assert "ecs" in message, message
    assert raw("ListClusters", {}).json()["clusterArns"] == []


def test_lenient_refuses_a_stale_signature(raw):
    resp = raw("ListClusters", {}, signed_at=utc_now() - datetime.timedelta(minutes=20))
    message = assert_aws_error(resp, "InvalidSignatureException")
    assert "Signature expired" in message, message


def test_lenient_refuses_a_signature_from_the_future(raw):
    resp = raw("ListClusters", {}, signed_at=utc_now() + datetime.timedelta(minutes=20))
    assert_aws_error(resp, "InvalidSignatureException")


def test_lenient_allows_clock_skew_within_fifteen_minutes(raw):
    for minutes in (-10, 10):
        resp = raw("ListClusters", {}, signed_at=utc_now() + datetime.timedelta(minutes=minutes))
        assert resp.status == 200, (minutes, resp.body)


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNz",
    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/ecs/aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKIDTEST, SignedHeaders=host, Signature=" + "0" * 64,
])
def test_lenient_refuses_a_malformed_authorization_header(ecsbox, header):
    headers = {"Content-Type": harness.JSON_11, "X-Amz-Target": f"{harness.TARGET_PREFIX}.ListClusters",
               "X-Amz-Date": utc_now().strftime("%Y%m%dT%H%M%SZ"), "Authorization": header}
    resp = harness.http_request(ecsbox.endpoint, "POST", "/", b"{}", headers)
    assert_aws_error(resp, "IncompleteSignatureException")


# -------------------------------------------------------------- strict

@pytest.fixture
def strict(start_ecsbox):
    return start_ecsbox("--sigv4", "strict", "--credentials", f"{STRICT_KEY}:{STRICT_SECRET}",
                        "--credentials", f"{ACCOUNT_KEY}:{ACCOUNT_SECRET}")


def test_strict_accepts_the_right_key_with_boto3(strict, ecs_as):
    ecs = ecs_as(STRICT_KEY, secret=STRICT_SECRET, endpoint=strict.endpoint)
    created = ecs.create_cluster(clusterName="signed", tags=[{"key": "k", "value": "v with spaces/+="}])
    assert created["cluster"]["status"] == "ACTIVE"
    assert ecs.list_clusters()["clusterArns"] == ["arn:aws:ecs:us-east-1:000000000000:cluster/signed"]


def test_strict_accepts_the_right_key_with_the_cli(strict, aws):
    kw = dict(endpoint=strict.endpoint, akid=STRICT_KEY, secret=STRICT_SECRET)
    assert_cli_ok(aws("ecs", "create-cluster", "--cluster-name", "cli", **kw))
    out = assert_cli_ok(aws("ecs", "describe-clusters", "--clusters", "cli", "--include", "TAGS", **kw))
    assert out["clusters"][0]["clusterName"] == "cli"


def test_strict_key_with_an_account_id_owns_that_account(strict, ecs_as):
    ecs = ecs_as(ACCOUNT_KEY, region="eu-central-1", secret=ACCOUNT_SECRET, endpoint=strict.endpoint)
    arn = ecs.create_cluster(clusterName="mine")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:eu-central-1:123456789012:cluster/mine"


def test_strict_refuses_a_wrong_secret(strict, ecs_as, aws):
    with raises_aws("InvalidSignatureException"):
        ecs_as(STRICT_KEY, secret="wrong", endpoint=strict.endpoint).create_cluster(clusterName="x")
    r = aws("ecs", "create-cluster", "--cluster-name", "y", endpoint=strict.endpoint, akid=STRICT_KEY, secret="wrong")
    assert_cli_error(r, "InvalidSignatureException")
    good = ecs_as(STRICT_KEY, secret=STRICT_SECRET, endpoint=strict.endpoint)
    assert good.list_clusters()["clusterArns"] == []


def test_strict_refuses_an_unknown_key(strict, ecs_as, aws):
    with raises_aws("UnrecognizedClientException") as e:
        ecs_as("AKIDUNKNOWN", secret=STRICT_SECRET, endpoint=strict.endpoint).list_clusters()
    assert "security token included in the request is invalid" in str(e.value)
    r = aws("ecs", "list-clusters", endpoint=strict.endpoint, akid="AKIDUNKNOWN", secret="x")
    assert_cli_error(r, "UnrecognizedClientException")


def test_strict_refuses_an_unsigned_request(strict, ecs_as):
    with raises_aws("MissingAuthenticationTokenException"):
        ecs_as(unsigned=True, endpoint=strict.endpoint).list_clusters()


def _strict_call(strict, body: bytes, sign_body: bytes, target: str = "CreateCluster",
                 sign_target: str = "CreateCluster", **sign_kw) -> harness.RawResponse:
    """Signs (sign_body, sign_target) and sends (body, target)."""
    headers = {"Content-Type": harness.JSON_11, "X-Amz-Target": f"{harness.TARGET_PREFIX}.{sign_target}"}
    signed = harness.signed_headers(strict.endpoint, sign_body, headers, akid=STRICT_KEY,
                                    secret=STRICT_SECRET, **sign_kw)
    signed["X-Amz-Target"] = f"{harness.TARGET_PREFIX}.{target}"
    return harness.http_request(strict.endpoint, "POST", "/", body, signed)


def test_strict_verifies_a_raw_signature(strict):
    body = json.dumps({"clusterName": "raw"}).encode()
    resp = _strict_call(strict, body, body)
    assert resp.status == 200, resp.body


def test_strict_refuses_a_tampered_body(strict, ecs_as):
    signed_body = json.dumps({"clusterName": "harmless"}).encode()
    sent_body = json.dumps({"clusterName": "tampered"}).encode()
    assert_aws_error(_strict_call(strict, sent_body, signed_body), "InvalidSignatureException")
    good = ecs_as(STRICT_KEY, secret=STRICT_SECRET, endpoint=strict.endpoint)
    assert good.list_clusters()["clusterArns"] == []


def test_strict_refuses_a_tampered_signed_header(strict, ecs_as):
    body = json.dumps({"cluster": "a"}).encode()
    resp = _strict_call(strict, body, body, target="DeleteCluster", sign_target="DescribeClusters")
    assert_aws_error(resp, "InvalidSignatureException")


def test_strict_refuses_a_stale_but_correct_signature(strict):
    body = b"{}"
    resp = _strict_call(strict, body, body, target="ListClusters", sign_target="ListClusters",
                        signed_at=utc_now() - datetime.timedelta(minutes=30))
    message = assert_aws_error(resp, "InvalidSignatureException")
    assert "Signature expired" in message, message


def test_strict_keys_from_the_environment(start_ecsbox, ecs_as):
    server = start_ecsbox(env={"ECSBOX_SIGV4": "strict", "ECSBOX_CREDENTIALS": "AKIDONE:one,AKIDTWO:two"})
    for akid, secret in [("AKIDONE", "one"), ("AKIDTWO", "two")]:
        assert ecs_as(akid, secret=secret, endpoint=server.endpoint).list_clusters()["clusterArns"] == []
    with raises_aws("InvalidSignatureException"):
        ecs_as("AKIDONE", secret="two", endpoint=server.endpoint).list_clusters()


def test_a_credentials_entry_without_a_secret_is_a_startup_error(start_ecsbox):
    with pytest.raises(harness.StartupError, match="exited"):
        start_ecsbox("--sigv4", "strict", "--credentials", "NOSECRET")


# ----------------------------------------------------------------- off

def test_off_accepts_unsigned_requests(start_ecsbox, ecs_as, aws):
    server = start_ecsbox("--sigv4", "off")
    unsigned = ecs_as(unsigned=True, endpoint=server.endpoint)
    arn = unsigned.create_cluster(clusterName="open")["cluster"]["clusterArn"]
    # No scope to read them from: the default region and account.
    assert arn == "arn:aws:ecs:us-east-1:000000000000:cluster/open"
    out = assert_cli_ok(aws("--no-sign-request", "ecs", "list-clusters", endpoint=server.endpoint))
    assert out["clusterArns"] == [arn]


def test_off_still_reads_region_and_account_from_a_signature(start_ecsbox, ecs_as):
    server = start_ecsbox("--sigv4", "off")
    ecs = ecs_as("210987654321", region="ap-southeast-2", secret="anything", endpoint=server.endpoint)
    arn = ecs.create_cluster(clusterName="scoped")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:ap-southeast-2:210987654321:cluster/scoped"


def test_off_takes_its_default_region_from_configuration(start_ecsbox, ecs_as):
    server = start_ecsbox("--sigv4", "off", "--default-region", "eu-north-1")
    arn = ecs_as(unsigned=True, endpoint=server.endpoint).create_cluster(clusterName="c")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:eu-north-1:000000000000:cluster/c"

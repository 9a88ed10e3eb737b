"""AWS JSON 1.1 as ECS speaks it: targets, bodies, the error contract, and
every operation of the service model answering something AWS-shaped."""

import time

import botocore
import pytest

import harness
from harness import assert_aws_error


def test_an_empty_body_means_an_empty_object(raw):
    resp = raw("ListClusters", b"")
    assert resp.status == 200, resp.body
    assert resp.json() == {"clusterArns": []}


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"a string"', "{\"clusterName\": \"a\""])
def test_malformed_json_is_a_serialization_exception(raw, body):
    assert_aws_error(raw("CreateCluster", body), "SerializationException", 400)


@pytest.mark.parametrize("op, body", [
    ("CreateCluster", {"clusterName": 5}),
    ("CreateCluster", {"tags": {"key": "a"}}),
    ("ListClusters", {"maxResults": "ten"}),
    ("DescribeClusters", {"clusters": "not-a-list"}),
])
def test_a_member_of_the_wrong_type_is_a_serialization_exception(raw, op, body):
    assert_aws_error(raw(op, body), "SerializationException", 400)
    # Bad input changes nothing.
    assert raw("ListClusters", {}).json()["clusterArns"] == []


@pytest.mark.parametrize("target", [
    f"{harness.TARGET_PREFIX}.NoSuchOperation",
    "AmazonEC2ContainerServiceV20141113",
    "SomeOtherService_20200101.ListClusters",
])
def test_an_unknown_target_is_an_unknown_operation_exception(raw, target):
    assert_aws_error(raw("unused", {}, target=target), "UnknownOperationException")


def test_a_missing_target_is_an_unknown_operation_exception(ecsbox):
    body = b"{}"
    headers = harness.signed_headers(ecsbox.endpoint, body, {"Content-Type": harness.JSON_11})
    resp = harness.http_request(ecsbox.endpoint, "POST", "/", body, headers)
    assert_aws_error(resp, "UnknownOperationException")


@pytest.mark.parametrize("op, body, member", [
    ("RegisterTaskDefinition", {"containerDefinitions": [{"name": "a", "image": "busybox"}]}, "family"),
    ("DescribeTaskDefinition", {}, "taskDefinition"),
    ("DeleteCapacityProvider", {}, "capacityProvider"),
    ("PutClusterCapacityProviders", {"cluster": "c", "capacityProviders": []}, "defaultCapacityProviderStrategy"),
    ("TagResource", {"resourceArn": "arn:aws:ecs:us-east-1:000000000000:cluster/c"}, "tags"),
])
def test_a_missing_required_member_is_an_invalid_parameter_exception(raw, op, body, member):
    # boto3 and the CLI check required members before sending; other SDKs
    # (and raw callers) rely on the service, which names the member.
    message = assert_aws_error(raw(op, body), "InvalidParameterException", 400)
    assert member in message, message


def test_service_errors_use_the_model_status_and_both_error_headers(raw):
    resp = raw("DeleteCluster", {"cluster": "nope"})
    message = assert_aws_error(resp, "ClusterNotFoundException", 400)
    assert "not found" in message.lower()
    assert resp.headers["content-type"].startswith("application/x-amz-json-1.1")


def test_boto3_reads_errors_as_the_modeled_exception_class(ecs):
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.delete_cluster(cluster="nope")


# ----------------------------------------------- every operation routes

MODEL = harness.pinned_model()
OPERATIONS = sorted(MODEL["operations"])
# Sent by AWS's front end or by ecsbox for any operation, besides the
# exceptions the model lists per operation.
GENERIC_ERRORS = {"InvalidParameterException", "ClientException", "UnsupportedFeatureException",
                  "SerializationException"}


def test_the_pinned_model_is_the_one_the_installed_botocore_ships():
    note = harness.model_version_note()
    assert len(OPERATIONS) == int(note["operations in this model"])
    # requirements.txt pins botocore to the model's version so that boto3
    # knows exactly the operations ecsbox routes; bump them together.
    assert botocore.__version__ == note["botocore version"], (
        f"installed botocore {botocore.__version__}, model from {note['botocore version']}"
    )
    assert sorted(harness.installed_model().operation_names) == OPERATIONS


def _output_members(op: str) -> set[str]:
    output = MODEL["operations"][op].get("output")
    return set(MODEL["shapes"][output["shape"]].get("members", {})) if output else set()


@pytest.mark.parametrize("op", OPERATIONS)
def test_every_model_operation_answers_aws_shaped(raw, op):
    resp = raw(op, {})
    assert resp.headers.get("x-amzn-requestid"), f"{op}: no request id"
    assert resp.body, f"{op}: status {resp.status} with an empty body"
    body = resp.json()
    assert isinstance(body, dict), f"{op}: body is not a JSON object: {body!r}"
    if resp.status == 200:
        # A real answer: only members of the output shape, and something in
        # it when the shape has members (an empty 200 is a silent no-op).
        members = _output_members(op)
        assert set(body) <= members, f"{op}: unknown members {set(body) - members}"
        assert not members or body, f"{op}: empty 200"
        return
    assert 400 <= resp.status < 500, f"{op}: status {resp.status}: {body}"
    code = resp.error_type
    declared = {e["shape"] for e in MODEL["operations"][op].get("errors", [])}
    assert code in declared | GENERIC_ERRORS, f"{op}: {code} is neither declared for it nor generic"
    assert resp.headers.get("x-amzn-errortype", "").split(":")[0] == code
    assert body.get("message"), f"{op}: {code} without a message"
    if code == "UnsupportedFeatureException":
        assert op in body["message"], f"{op}: the message should name the operation: {body['message']}"


def test_an_unsupported_operation_is_a_modeled_error_for_boto3_too(ecs):
    """An operation ecsbox does not implement yet (none of this issue's
    resource groups) reaches boto3 as UnsupportedFeatureException."""
    with harness.raises_aws("UnsupportedFeatureException") as e:
        ecs.list_daemons()
    assert "ListDaemons" in str(e.value)


def test_timestamps_are_epoch_seconds(raw):
    raw("CreateCluster", {"clusterName": "c"})
    resp = raw("RegisterTaskDefinition", {
        "family": "ts", "containerDefinitions": [{"name": "a", "image": "busybox", "memory": 64}],
    })
    assert resp.status == 200, resp.body
    registered_at = resp.json()["taskDefinition"]["registeredAt"]
    assert isinstance(registered_at, (int, float)), registered_at
    assert abs(registered_at - time.time()) < 300

"""Every protocol the port speaks, on the raw wire and through the SDK: AWS
JSON (X-Amz-Target), query (STS's form), ec2 (EC2's form) and Smithy RPC v2
CBOR. A request for a service or an operation ecsbox does not serve gets an
error in the caller's own protocol, one its SDK parses; query answers carry
the same request id in the header and in the XML; and the health endpoint
lists every service served.

(test_protocol.py is ECS's JSON 1.1 in depth; this file is the router.)
"""

import json
import struct
import xml.etree.ElementTree as ET

import pytest

import harness
from harness import assert_aws_error, raises_aws

STS_VERSION = "2011-06-15"
EC2_VERSION = "2016-11-15"
# A Smithy service ecsbox does not serve (CloudWatch, which it serves, is in
# test_cloudwatch.py).
CBOR_PATH = "/service/NotAServiceVersion20200101/operation/DoSomething"


def json_call(endpoint: str, target: str, service: str, body: bytes = b"{}",
              content_type: str = harness.JSON_11) -> harness.RawResponse:
    headers = harness.signed_headers(endpoint, body, {"Content-Type": content_type, "X-Amz-Target": target},
                                     service=service)
    return harness.http_request(endpoint, "POST", "/", body, headers)


def cbor_call(endpoint: str, path: str = CBOR_PATH, body: bytes = b"\xa0") -> harness.RawResponse:
    """A Smithy RPC v2 CBOR request as botocore sends it (signed for CloudWatch)."""
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"}
    req = harness.AWSRequest(method="POST", url=endpoint + path, data=body, headers=headers)
    harness.SigV4Auth(harness.Credentials(harness.DEFAULT_AKID, harness.DEFAULT_SECRET), "monitoring",
                      harness.DEFAULT_REGION).add_auth(req)
    return harness.http_request(endpoint, "POST", path, body, dict(req.headers.items()))


def cbor_decode(data: bytes):
    """A small CBOR reader (RFC 8949): the maps, strings, integers and
    simple values an error body holds. Returns (value, bytes left)."""
    major, info, rest = data[0] >> 5, data[0] & 0x1F, data[1:]
    if info < 24:
        n = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        n, rest = int.from_bytes(rest[:size], "big"), rest[size:]
    else:
        raise ValueError(f"indefinite or reserved length {info} in major type {major}")
    if major == 0:
        return n, rest
    if major == 1:
        return -1 - n, rest
    if major in (2, 3):
        chunk, rest = rest[:n], rest[n:]
        return (chunk if major == 2 else chunk.decode()), rest
    if major == 4:
        items = []
        for _ in range(n):
            item, rest = cbor_decode(rest)
            items.append(item)
        return items, rest
    if major == 5:
        out = {}
        for _ in range(n):
            k, rest = cbor_decode(rest)
            out[k], rest = cbor_decode(rest)
        return out, rest
    if major == 7:
        if info == 27:
            return struct.unpack(">d", n.to_bytes(8, "big"))[0], rest
        return {20: False, 21: True, 22: None}[info], rest
    raise ValueError(f"CBOR major type {major} not read here")


def xml_root(resp: harness.RawResponse) -> ET.Element:
    """The answer's XML root; fails unless the body is well-formed XML."""
    assert resp.headers.get("content-type", "").startswith("text/xml"), resp.headers
    return ET.fromstring(resp.body)


# ------------------------------------------------------------------- JSON

def test_json_with_an_unknown_target_prefix_is_unknown_operation(endpoint):
    resp = json_call(endpoint, "DynamoDB_20120810.ListTables", "dynamodb",
                     content_type="application/x-amz-json-1.0")
    message = assert_aws_error(resp, "UnknownOperationException", 400)
    assert "DynamoDB_20120810.ListTables" in message  # ecsbox's own words


def test_json_with_an_unknown_operation_of_a_served_service_is_unknown_operation(endpoint):
    resp = json_call(endpoint, "Logs_20140328.NoSuchOperation", "logs")
    message = assert_aws_error(resp, "UnknownOperationException", 400)
    assert "NoSuchOperation" in message


def test_json_errors_parse_with_the_sdk_of_a_service_ecsbox_does_not_serve(endpoint):
    dynamodb = harness.aws_client(endpoint, "dynamodb")
    with raises_aws("UnknownOperationException"):
        dynamodb.list_tables()


# ------------------------------------------------------------------ query

def test_a_form_for_a_service_ecsbox_does_not_serve_is_invalid_action(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "ListUsers", "Version": "2010-05-08"}, service="iam")
    assert resp.status == 400
    code, message, _ = harness.xml_error(resp)
    assert code == "InvalidAction"
    assert "iam" in message and "ListUsers" in message, message  # ecsbox's own words
    root = xml_root(resp)
    assert root.tag.split("}")[-1] == "ErrorResponse"
    assert root.find("{*}Error/{*}Type").text == "Sender"


def test_a_query_sdk_of_a_service_ecsbox_does_not_serve_reads_the_error(endpoint):
    iam = harness.aws_client(endpoint, "iam")
    with raises_aws("InvalidAction") as e:
        iam.list_users()
    assert "iam" in e.value.response["Error"]["Message"]


def test_an_unknown_sts_action_is_invalid_action_in_aws_words(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "Bogus", "Version": STS_VERSION}, service="sts")
    assert resp.status == 400
    code, message, _ = harness.xml_error(resp)
    # AWS's words for an action a query service does not have ("Could not
    # find operation X for version Y"), as IAM and STS answer it.
    assert (code, message) == ("InvalidAction", f"Could not find operation Bogus for version {STS_VERSION}")
    assert xml_root(resp).tag == "{https://sts.amazonaws.com/doc/2011-06-15/}ErrorResponse"


def test_an_unsigned_form_is_routed_by_its_api_version(start_ecsbox):
    server = start_ecsbox("--sigv4", "off")
    resp = harness.form_raw(server.endpoint, {"Action": "Bogus", "Version": STS_VERSION}, sign=False)
    assert harness.xml_error(resp)[:2] == ("InvalidAction", f"Could not find operation Bogus for version {STS_VERSION}")
    ok = harness.form_raw(server.endpoint, {"Action": "GetCallerIdentity", "Version": STS_VERSION}, sign=False)
    assert ok.status == 200, ok.body
    resp = harness.form_raw(server.endpoint, {"Action": "ListUsers", "Version": "2010-05-08"}, sign=False)
    code, message, _ = harness.xml_error(resp)
    assert code == "InvalidAction" and "2010-05-08" in message, message


def test_a_form_without_an_action_is_missing_action(endpoint):
    resp = harness.form_raw(endpoint, {"Version": STS_VERSION, "RoleSessionName": "s1"}, service="sts")
    assert resp.status == 400
    code, message, _ = harness.xml_error(resp)
    # AWS's code (STS and EC2 API references, Common Errors: MissingAction,
    # "The request is missing an action or a required parameter").
    assert code == "MissingAction", (code, message)


def test_a_query_answer_carries_its_request_id_in_header_and_xml(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "GetCallerIdentity", "Version": STS_VERSION}, service="sts")
    assert resp.status == 200, resp.body
    root = xml_root(resp)
    ns = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
    assert root.tag == "{https://sts.amazonaws.com/doc/2011-06-15/}GetCallerIdentityResponse"
    assert root.findtext("sts:GetCallerIdentityResult/sts:Account", namespaces=ns) == harness.DEFAULT_ACCOUNT
    request_id = root.findtext("sts:ResponseMetadata/sts:RequestId", namespaces=ns)
    assert request_id and request_id == resp.headers["x-amzn-requestid"]


def test_a_query_error_carries_its_request_id_in_header_and_xml(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "AssumeRole", "Version": STS_VERSION}, service="sts")
    code, _, request_id = harness.xml_error(resp)  # checks the two ids are the same
    assert code == "ValidationError" and request_id


def test_a_query_call_in_the_url_is_read_like_a_posted_form(endpoint):
    path = f"/?Action=GetCallerIdentity&Version={STS_VERSION}"
    req = harness.AWSRequest(method="GET", url=endpoint + path)
    harness.SigV4Auth(harness.Credentials("123456789012", "x"), "sts", "us-east-1").add_auth(req)
    resp = harness.http_request(endpoint, "GET", path, b"", dict(req.headers.items()))
    assert resp.status == 200, resp.body
    assert xml_root(resp).findtext("{*}GetCallerIdentityResult/{*}Account") == "123456789012"


def test_xml_text_is_escaped(endpoint):
    # Values with XML's special characters come back as the same text, in
    # answers and in error messages.
    role = "arn:aws:iam::123456789012:role/a&b<c>"
    resp = harness.form_raw(endpoint, {"Action": "AssumeRole", "Version": STS_VERSION, "RoleArn": role,
                                       "RoleSessionName": "s1"}, service="sts")
    assert resp.status == 200, resp.body
    assert xml_root(resp).findtext("{*}AssumeRoleResult/{*}AssumedRoleUser/{*}Arn").endswith("/a&b<c>/s1")
    bad = "arn:aws:iam::1:role/<&>"
    resp = harness.form_raw(endpoint, {"Action": "AssumeRole", "Version": STS_VERSION, "RoleArn": bad,
                                       "RoleSessionName": "s1"}, service="sts")
    code, message, _ = harness.xml_error(resp)
    assert code == "ValidationError" and bad in message, message


# -------------------------------------------------------------------- ec2

def test_an_unknown_ec2_action_is_invalid_action_in_ec2s_shape(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "Bogus", "Version": EC2_VERSION}, service="ec2")
    assert resp.status == 400
    root = xml_root(resp)
    assert root.tag == "Response"
    assert [e.tag for e in root] == ["Errors", "RequestID"]
    code, message, _ = harness.xml_error(resp)
    # EC2's words for an action it does not have.
    assert (code, message) == ("InvalidAction", "The action Bogus is not valid for this web service.")


def test_an_ec2_answer_is_well_formed_xml_with_its_request_id(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "DescribeVpcs", "Version": EC2_VERSION}, service="ec2")
    assert resp.status == 200, resp.body
    root = xml_root(resp)
    assert root.tag == "{http://ec2.amazonaws.com/doc/2016-11-15/}DescribeVpcsResponse"
    assert root.findtext("{*}requestId") == resp.headers["x-amzn-requestid"]
    assert root.findtext("{*}vpcSet/{*}item/{*}isDefault") == "true"


def test_ec2_errors_parse_with_boto3(endpoint):
    ec2 = harness.aws_client(endpoint, "ec2")
    with raises_aws("InvalidVpcID.NotFound") as e:
        ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# ------------------------------------------------------------------- CBOR

def test_cbor_gets_a_cbor_error_naming_the_service(endpoint):
    resp = cbor_call(endpoint)
    assert 400 <= resp.status < 500
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor"
    assert resp.headers.get("content-type") == "application/cbor"
    assert resp.headers.get("x-amzn-requestid")
    assert resp.body[0] == 0xA2 and b"__type" in resp.body  # a map of two entries
    body, rest = cbor_decode(resp.body)
    assert rest == b""
    assert body["__type"] == "UnknownOperationException"
    # ecsbox's own words, naming service and operation.
    assert "NotAServiceVersion20200101" in body["message"] and "DoSomething" in body["message"]


def test_cbor_errors_parse_with_boto3(endpoint):
    # botocore 1.44's CloudWatch speaks Smithy RPC v2 CBOR; GetDashboard is
    # an operation ecsbox has not built: an error naming it, in CBOR.
    cloudwatch = harness.aws_client(endpoint, "cloudwatch")
    assert cloudwatch.meta.service_model.protocol == "smithy-rpc-v2-cbor"
    with raises_aws("InvalidAction") as e:
        cloudwatch.get_dashboard(DashboardName="ops")
    assert "GetDashboard" in e.value.response["Error"]["Message"]


def test_cbor_with_a_path_that_is_not_an_operation(endpoint):
    resp = cbor_call(endpoint, path="/not/an/operation")
    assert resp.headers.get("smithy-protocol") == "rpc-v2-cbor"
    body, _ = cbor_decode(resp.body)
    assert body["__type"] == "UnknownOperationException" and body["message"]


# ------------------------------------------------------------------ health

def test_health_lists_every_service_served(endpoint):
    resp = harness.http_request(endpoint, "GET", "/_ecsbox/health")
    assert resp.status == 200
    health = resp.json()
    assert sorted(health["services"]) == sorted(["ecs", "logs", "secretsmanager", "ssm", "sts", "ec2", "cloudwatch", "efs", "ecr",
                                                 "elbv2", "application-autoscaling", "events", "servicediscovery"])
    assert set(health["services"].values()) == {"running"}
    # LocalStack's path answers the same.
    assert json.loads(harness.http_request(endpoint, "GET", "/_localstack/health").body)["services"] == health["services"]


@pytest.mark.parametrize("service, call", [
    ("ecs", lambda c: c.list_clusters()),
    ("logs", lambda c: c.describe_log_groups()),
    ("secretsmanager", lambda c: c.delete_secret(SecretId=c.create_secret(Name="health", SecretString="s")["ARN"],
                                                 ForceDeleteWithoutRecovery=True)),
    ("ssm", lambda c: c.get_parameters(Names=["/health/none"])),
    ("sts", lambda c: c.get_caller_identity()),
    ("ec2", lambda c: c.describe_availability_zones()),
    ("cloudwatch", lambda c: c.list_metrics()),
    ("efs", lambda c: c.describe_file_systems()),
    ("ecr", lambda c: c.describe_repositories()),
    ("elbv2", lambda c: c.describe_load_balancers()),
    ("application-autoscaling", lambda c: c.describe_scalable_targets(ServiceNamespace="ecs")),
    ("events", lambda c: c.list_rules()),
    ("servicediscovery", lambda c: c.list_namespaces()),
])
def test_every_service_in_health_answers_its_sdk(endpoint, service, call):
    out = call(harness.aws_client(endpoint, service))
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["ResponseMetadata"]["RequestId"]

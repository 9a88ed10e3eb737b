"""AWS STS on the ecsbox port (query protocol), through boto3, the aws CLI
and raw forms: who am I (GetCallerIdentity), AssumeRole and its temporary
keys (their account is the role's, for STS and for ECS alike, and strict
SigV4 verifies them), the model's generated validation in AWS's words, and
an operation ecsbox does not serve."""

import datetime

import pytest
from botocore.exceptions import ClientError

import harness
from harness import assert_cli_ok, raises_aws

ROLE_ACCOUNT = "210987654321"
ROLE_ARN = f"arn:aws:iam::{ROLE_ACCOUNT}:role/app-role"


def sts_client(endpoint: str, akid: str = harness.DEFAULT_AKID, **kw):
    return harness.aws_client(endpoint, "sts", akid=akid, **kw)


@pytest.fixture
def sts(endpoint):
    return sts_client(endpoint)


def assume(sts, session: str = "compat-session", **kw) -> dict:
    return sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName=session, **kw)


def temporary_client(endpoint: str, service: str, creds: dict, **kw):
    """A client of `service` signing with the keys AssumeRole returned."""
    return harness.aws_client(endpoint, service, akid=creds["AccessKeyId"], secret=kw.pop("secret", creds["SecretAccessKey"]),
                              session_token=creds["SessionToken"], **kw)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


# ------------------------------------------------------- GetCallerIdentity

def test_get_caller_identity_of_a_twelve_digit_key_is_that_accounts_root(endpoint):
    me = sts_client(endpoint, "123456789012").get_caller_identity()
    assert me["Account"] == "123456789012"
    assert me["Arn"] == "arn:aws:iam::123456789012:root"
    # AWS answers the account id as the root user's UserId.
    assert me["UserId"] == "123456789012"
    assert me["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_of_any_other_key_is_the_default_account(sts):
    me = sts.get_caller_identity()
    assert (me["Account"], me["Arn"]) == (harness.DEFAULT_ACCOUNT, f"arn:aws:iam::{harness.DEFAULT_ACCOUNT}:root")


def test_get_caller_identity_with_the_cli_prints_the_account(aws):
    out = assert_cli_ok(aws("sts", "get-caller-identity", akid="123456789012"))
    assert out["Account"] == "123456789012"
    assert out["Arn"] == "arn:aws:iam::123456789012:root"
    text = assert_cli_ok(aws("sts", "get-caller-identity", "--query", "Account", "--output", "text"))
    assert text.strip() == harness.DEFAULT_ACCOUNT


# -------------------------------------------------------------- AssumeRole

def test_assume_role_returns_temporary_credentials(sts):
    before = utc_now()
    out = assume(sts, "build-42")
    creds = out["Credentials"]
    # Temporary keys look like AWS's: ASIA... access key ids.
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"]
    # The default session lasts an hour (AssumeRole's DurationSeconds default, 3600).
    lasts = (creds["Expiration"] - before).total_seconds()
    assert 3600 - 60 <= lasts <= 3600 + 60, creds["Expiration"]
    user = out["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{ROLE_ACCOUNT}:assumed-role/app-role/build-42"
    role_id, session = user["AssumedRoleId"].split(":")
    assert role_id.startswith("AROA") and session == "build-42"


def test_assume_role_honours_duration_seconds(sts):
    before = utc_now()
    creds = assume(sts, DurationSeconds=900)["Credentials"]
    assert 900 - 60 <= (creds["Expiration"] - before).total_seconds() <= 900 + 60


def test_each_assume_role_gives_new_keys(sts):
    a, b = assume(sts)["Credentials"], assume(sts)["Credentials"]
    assert a["AccessKeyId"] != b["AccessKeyId"] and a["SecretAccessKey"] != b["SecretAccessKey"]


def test_assume_role_with_the_cli(aws):
    out = assert_cli_ok(aws("sts", "assume-role", "--role-arn", ROLE_ARN, "--role-session-name", "cli"))
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ROLE_ACCOUNT}:assumed-role/app-role/cli"


def test_assumed_role_keys_are_the_role_session_for_get_caller_identity(endpoint, sts):
    out = assume(sts, "whoami")
    me = temporary_client(endpoint, "sts", out["Credentials"]).get_caller_identity()
    assert me["Account"] == ROLE_ACCOUNT
    assert me["Arn"] == f"arn:aws:sts::{ROLE_ACCOUNT}:assumed-role/app-role/whoami"
    assert me["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]


def test_a_role_with_a_path_is_named_without_it(sts):
    out = sts.assume_role(RoleArn=f"arn:aws:iam::{ROLE_ACCOUNT}:role/service-role/deployer", RoleSessionName="s1")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ROLE_ACCOUNT}:assumed-role/deployer/s1"


def test_assumed_role_keys_work_against_ecs_in_the_roles_account(endpoint, sts, ecs, ecs_as):
    creds = assume(sts)["Credentials"]
    role_ecs = temporary_client(endpoint, "ecs", creds)
    assert role_ecs.list_clusters()["clusterArns"] == []
    arn = role_ecs.create_cluster(clusterName="assumed")["cluster"]["clusterArn"]
    assert arn == f"arn:aws:ecs:us-east-1:{ROLE_ACCOUNT}:cluster/assumed"
    # A plain key of the role's account sees the cluster; other accounts do not.
    assert ecs_as(ROLE_ACCOUNT).list_clusters()["clusterArns"] == [arn]
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs_as("123456789012").list_clusters()["clusterArns"] == []
    role_ecs.delete_cluster(cluster="assumed")


def test_a_malformed_role_arn_is_a_validation_error(sts):
    with raises_aws("ValidationError") as e:
        sts.assume_role(RoleArn="arn:aws:iam::123:role/short-account", RoleSessionName="s1")
    # ecsbox's own words (README "Messages ecsbox wrote"); AWS answers a
    # malformed role ARN with a ValidationError too.
    assert "arn:aws:iam::123:role/short-account" in e.value.response["Error"]["Message"]


# ------------------------------------------------------ strict SigV4 mode

STRICT_KEY, STRICT_SECRET = "AKIDSTSSTRICT", "sts/strict+secret"


@pytest.fixture
def strict(start_ecsbox):
    return start_ecsbox("--sigv4", "strict", "--credentials", f"{STRICT_KEY}:{STRICT_SECRET}")


def test_strict_verifies_assumed_role_keys(strict):
    creds = assume(sts_client(strict.endpoint, STRICT_KEY, secret=STRICT_SECRET))["Credentials"]
    me = temporary_client(strict.endpoint, "sts", creds).get_caller_identity()
    assert me["Account"] == ROLE_ACCOUNT
    role_ecs = temporary_client(strict.endpoint, "ecs", creds)
    arn = role_ecs.create_cluster(clusterName="strict")["cluster"]["clusterArn"]
    assert arn == f"arn:aws:ecs:us-east-1:{ROLE_ACCOUNT}:cluster/strict"
    assert role_ecs.list_clusters()["clusterArns"] == [arn]


def test_strict_refuses_assumed_role_keys_with_a_tampered_secret(strict):
    creds = assume(sts_client(strict.endpoint, STRICT_KEY, secret=STRICT_SECRET))["Credentials"]
    tampered = creds["SecretAccessKey"][:-1] + ("A" if creds["SecretAccessKey"][-1] != "A" else "B")
    with raises_aws("InvalidSignatureException"):
        temporary_client(strict.endpoint, "ecs", creds, secret=tampered).list_clusters()
    with pytest.raises(ClientError) as e:
        temporary_client(strict.endpoint, "sts", creds, secret=tampered).get_caller_identity()
    assert harness.error_code(e.value) in ("SignatureDoesNotMatch", "InvalidSignatureException")
    # Nothing was created with the refused keys.
    assert temporary_client(strict.endpoint, "ecs", creds).list_clusters()["clusterArns"] == []


def test_strict_refuses_sts_callers_in_sts_own_codes(strict):
    # STS's codes, as the CLI prints them from real AWS: "An error occurred
    # (SignatureDoesNotMatch) when calling the GetCallerIdentity operation:
    # The request signature we calculated does not match the signature you
    # provided. ..." and "An error occurred (InvalidClientTokenId) when
    # calling the GetCallerIdentity operation: The security token included in
    # the request is invalid." (STS API reference, Common Errors, lists
    # InvalidClientTokenId.)
    with raises_aws("SignatureDoesNotMatch"):
        sts_client(strict.endpoint, STRICT_KEY, secret="wrong").get_caller_identity()
    with raises_aws("InvalidClientTokenId"):
        sts_client(strict.endpoint, "AKIDUNKNOWN", secret="x").get_caller_identity()


def test_strict_refuses_assumed_role_keys_with_a_wrong_session_token(strict):
    creds = assume(sts_client(strict.endpoint, STRICT_KEY, secret=STRICT_SECRET))["Credentials"]
    forged = dict(creds, SessionToken="FwoGZXIvYXdzEnot-the-token-sts-issued")
    # AWS: UnrecognizedClientException, "The security token included in the request is invalid."
    with raises_aws("UnrecognizedClientException"):
        temporary_client(strict.endpoint, "ecs", forged).list_clusters()


def test_strict_refuses_assume_role_with_an_unknown_key(strict):
    with pytest.raises(ClientError) as e:
        sts_client(strict.endpoint, "AKIDUNKNOWN", secret="x").assume_role(RoleArn=ROLE_ARN, RoleSessionName="s1")
    assert harness.error_code(e.value) in ("InvalidClientTokenId", "UnrecognizedClientException")


# ---------------------------------------------- the model's validation

# STS's words for a constraint failure. The exact text for DurationSeconds
# 123 ("1 validation error detected: Value '123' at 'durationSeconds' failed
# to satisfy constraint: Member must have value greater than or equal to
# 900") is what MySQL Shell's AWS tests expect from real STS; the upper bound
# ("Member must have value less than or equal to 43200") is quoted from STS
# by tools that parse it; the count and the "; "-joined form ("2 validation
# errors detected: ...") in prestodb/presto#15621.
DURATION_100 = ("1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: "
                "Member must have value greater than or equal to 900")


def test_duration_below_the_minimum_is_refused_on_the_wire(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE_ARN,
                                       "RoleSessionName": "s1", "DurationSeconds": "100"})
    assert resp.status == 400
    code, message, _ = harness.xml_error(resp)
    assert (code, message) == ("ValidationError", DURATION_100)


def test_duration_below_the_minimum_is_refused_for_boto3_without_its_validation(endpoint):
    sts = sts_client(endpoint, parameter_validation=False)
    with raises_aws("ValidationError") as e:
        assume(sts, DurationSeconds=100)
    assert e.value.response["Error"]["Message"] == DURATION_100


def test_boto3_itself_refuses_a_duration_below_the_minimum(sts):
    # With its validation on, botocore stops the call before it is sent.
    from botocore.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        assume(sts, DurationSeconds=100)


def test_a_duration_above_the_maximum_is_refused(endpoint):
    sts = sts_client(endpoint, parameter_validation=False)
    with raises_aws("ValidationError") as e:
        assume(sts, DurationSeconds=50000)
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '50000' at 'durationSeconds' failed to satisfy constraint: "
        "Member must have value less than or equal to 43200")


def test_a_too_short_role_session_name_is_refused(endpoint):
    sts = sts_client(endpoint, parameter_validation=False)
    with raises_aws("ValidationError") as e:
        assume(sts, "x")
    # The model: roleSessionNameType, min length 2; the wording as STS sends
    # it for the max ("Member must have length less than or equal to 64",
    # youyo/awslogin#20).
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 2")


def test_a_role_session_name_with_a_space_breaks_the_pattern(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE_ARN,
                                       "RoleSessionName": "my session"})
    code, message, _ = harness.xml_error(resp)
    assert code == "ValidationError"
    # AWS's words, quoted in zalando-stups/aws-credentials-service#7 and
    # JuliaCloud/AWSCore.jl#38 ("... at 'roleSessionName' failed to satisfy
    # constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*").
    assert message == ("1 validation error detected: Value 'my session' at 'roleSessionName' failed to satisfy "
                       "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")


def test_several_problems_are_counted_in_one_message(endpoint):
    sts = sts_client(endpoint, parameter_validation=False)
    with raises_aws("ValidationError") as e:
        assume(sts, "x", DurationSeconds=100)
    message = e.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: "), message
    assert "'durationSeconds'" in message and "'roleSessionName'" in message


def test_a_missing_required_member_is_refused(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "AssumeRole", "Version": "2011-06-15", "RoleSessionName": "s1"})
    code, message, _ = harness.xml_error(resp)
    assert code == "ValidationError"
    # AWS's form for a missing member (as in ECS's and every Coral service's
    # "Value null at '...' failed to satisfy constraint: Member must not be null").
    assert message == ("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: "
                       "Member must not be null")


# ------------------------------------------------ what ecsbox does not serve

def test_an_operation_ecsbox_does_not_serve_is_invalid_action_naming_it(sts, aws):
    with raises_aws("InvalidAction") as e:
        sts.get_session_token()
    # ecsbox's own words; InvalidAction is the query protocol's code for an
    # action the service does not offer (STS API reference, Common Errors).
    assert "GetSessionToken" in e.value.response["Error"]["Message"]
    err = harness.assert_cli_error(aws("sts", "get-session-token"), "InvalidAction")
    assert "GetSessionToken" in err

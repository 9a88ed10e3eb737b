"""Secrets Manager and SSM Parameter Store on the ecsbox port, the part a
task's `secrets` need, through boto3 and the aws CLI as users drive them."""

import json

import boto3
import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws


def client(endpoint: str, service: str, akid: str = harness.DEFAULT_AKID, region: str = harness.DEFAULT_REGION):
    session = boto3.session.Session(aws_access_key_id=akid, aws_secret_access_key=harness.DEFAULT_SECRET,
                                    region_name=region)
    return session.client(service, endpoint_url=endpoint, config=harness.boto_config())


@pytest.fixture
def sm(endpoint):
    return client(endpoint, "secretsmanager")


@pytest.fixture
def ssm(endpoint):
    return client(endpoint, "ssm")


# ---------------------------------------------------------------- Secrets Manager

def test_secret_lifecycle_with_boto3(sm):
    created = sm.create_secret(Name="prod/db", SecretString=json.dumps({"user": "app", "password": "pw"}),
                               Description="db", Tags=[{"Key": "team", "Value": "core"}])
    arn = created["ARN"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db-")
    assert len(arn.rsplit("-", 1)[1]) == 6
    # boto3 sends a ClientRequestToken of its own: it becomes the version id.
    first = created["VersionId"]

    got = sm.get_secret_value(SecretId="prod/db")
    assert json.loads(got["SecretString"]) == {"user": "app", "password": "pw"}
    assert got["VersionStages"] == ["AWSCURRENT"] and got["VersionId"] == first

    token = "0123456789abcdef0123456789abcdef"
    put = sm.put_secret_value(SecretId=arn, SecretString="v2", ClientRequestToken=token)
    assert put["VersionId"] == token and put["VersionStages"] == ["AWSCURRENT"]
    # By partial ARN (no suffix), and the previous version by its label.
    assert sm.get_secret_value(SecretId=arn.rsplit("-", 1)[0])["SecretString"] == "v2"
    assert sm.get_secret_value(SecretId="prod/db", VersionStage="AWSPREVIOUS")["VersionId"] == first

    described = sm.describe_secret(SecretId="prod/db")
    assert described["VersionIdsToStages"] == {first: ["AWSPREVIOUS"], token: ["AWSCURRENT"]}
    assert described["Tags"] == [{"Key": "team", "Value": "core"}]
    assert "DeletedDate" not in described

    deleted = sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    assert deleted["ARN"] == arn
    assert (deleted["DeletionDate"] - described["CreatedDate"]).days == 7
    assert "DeletedDate" in sm.describe_secret(SecretId="prod/db")
    with raises_aws("InvalidRequestException") as e:
        sm.get_secret_value(SecretId="prod/db")
    assert "marked for deletion" in str(e.value)
    sm.delete_secret(SecretId="prod/db", ForceDeleteWithoutRecovery=True)
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId="prod/db")


def test_secrets_manager_errors_are_its_own(sm):
    with raises_aws("ResourceNotFoundException") as e:
        sm.get_secret_value(SecretId="missing")
    assert e.value.response["Error"]["Message"] == "Secrets Manager can't find the specified secret."
    sm.create_secret(Name="dup", SecretString="a")
    with pytest.raises(sm.exceptions.ResourceExistsException):
        sm.create_secret(Name="dup", SecretString="b")
    with pytest.raises(sm.exceptions.InvalidParameterException):
        sm.delete_secret(SecretId="dup", RecoveryWindowInDays=1)
    with pytest.raises(sm.exceptions.InvalidParameterException):
        sm.delete_secret(SecretId="dup", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    # An operation outside the served part names itself.
    with raises_aws("InvalidRequestException") as e:
        sm.list_secrets()
    assert "ListSecrets" in str(e.value)
    assert sm.get_secret_value(SecretId="dup")["SecretString"] == "a"


def test_binary_secret_round_trips(sm):
    sm.create_secret(Name="bin", SecretBinary=b"\x00\x01\xff")
    assert sm.get_secret_value(SecretId="bin")["SecretBinary"] == b"\x00\x01\xff"


def test_secrets_stay_in_their_account_and_region(endpoint):
    other = client(endpoint, "secretsmanager", akid="111122223333", region="eu-west-1")
    arn = other.create_secret(Name="s", SecretString="x")["ARN"]
    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-")
    with raises_aws("ResourceNotFoundException"):
        client(endpoint, "secretsmanager").get_secret_value(SecretId="s")


# ---------------------------------------------------------------- Parameter Store

def test_parameter_lifecycle_with_boto3(ssm):
    first = ssm.put_parameter(Name="/app/db/host", Value="db.local", Type="String")
    assert (first["Version"], first["Tier"]) == (1, "Standard")
    put = ssm.put_parameter(Name="/app/db/password", Value="hunter2", Type="SecureString")
    assert (put["Version"], put["Tier"]) == (1, "Standard")
    ssm.put_parameter(Name="/app/list", Value="a,b", Type="StringList")
    ssm.put_parameter(Name="/app/deep/x", Value="1", Type="String")

    p = ssm.get_parameter(Name="/app/db/password", WithDecryption=True)["Parameter"]
    assert (p["Value"], p["Type"], p["Version"]) == ("hunter2", "SecureString", 1)
    assert p["ARN"] == "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password"
    assert ssm.get_parameter(Name="/app/db/password")["Parameter"]["Value"] != "hunter2"

    assert ssm.put_parameter(Name="/app/db/host", Value="db2.local", Overwrite=True)["Version"] == 2
    old = ssm.get_parameter(Name="arn:aws:ssm:us-east-1:000000000000:parameter/app/db/host:1")["Parameter"]
    assert (old["Value"], old["Selector"]) == ("db.local", ":1")

    got = ssm.get_parameters(Names=["/app/db/host", "/app/missing"])
    assert [x["Value"] for x in got["Parameters"]] == ["db2.local"]
    assert got["InvalidParameters"] == ["/app/missing"]

    one_level = ssm.get_parameters_by_path(Path="/app")["Parameters"]
    assert [x["Name"] for x in one_level] == ["/app/list"]
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path="/app", Recursive=True, WithDecryption=True,
                                                                 PaginationConfig={"PageSize": 2})
    names = [x["Name"] for page in pages for x in page["Parameters"]]
    assert names == ["/app/db/host", "/app/db/password", "/app/deep/x", "/app/list"]

    ssm.delete_parameter(Name="/app/list")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/app/list")
    with raises_aws("ParameterNotFound"):
        ssm.delete_parameter(Name="/app/list")


def test_parameter_store_errors_are_its_own(ssm):
    ssm.put_parameter(Name="/p", Value="1", Type="String")
    with pytest.raises(ssm.exceptions.ParameterAlreadyExists):
        ssm.put_parameter(Name="/p", Value="2", Type="String")
    with raises_aws("ValidationException") as e:
        ssm.put_parameter(Name="/new", Value="1")
    assert "parameter type is required" in str(e.value)
    with raises_aws("ValidationException"):
        ssm.put_parameter(Name="ssm-owned", Value="1", Type="String")
    with pytest.raises(ssm.exceptions.ParameterVersionNotFound):
        ssm.get_parameter(Name="/p:3")
    with raises_aws("UnsupportedOperationException") as e:
        ssm.describe_parameters()
    assert "DescribeParameters" in str(e.value)
    assert ssm.get_parameter(Name="/p")["Parameter"]["Value"] == "1"


# ---------------------------------------------------------------- the aws CLI

def test_cli_secrets_and_parameters(aws):
    created = assert_cli_ok(aws("secretsmanager", "create-secret", "--name", "cli/secret",
                                "--secret-string", '{"k":"v"}'))
    assert created["Name"] == "cli/secret"
    got = assert_cli_ok(aws("secretsmanager", "get-secret-value", "--secret-id", created["ARN"]))
    assert got["SecretString"] == '{"k":"v"}'
    assert_cli_ok(aws("secretsmanager", "put-secret-value", "--secret-id", "cli/secret", "--secret-string", "v2"))
    described = assert_cli_ok(aws("secretsmanager", "describe-secret", "--secret-id", "cli/secret"))
    assert sorted(described["VersionIdsToStages"].values()) == [["AWSCURRENT"], ["AWSPREVIOUS"]]
    assert_cli_ok(aws("secretsmanager", "delete-secret", "--secret-id", "cli/secret",
                      "--force-delete-without-recovery"))
    assert_cli_error(aws("secretsmanager", "get-secret-value", "--secret-id", "cli/secret"),
                     "ResourceNotFoundException")

    put = assert_cli_ok(aws("ssm", "put-parameter", "--name", "/cli/param", "--value", "s3cr3t",
                            "--type", "SecureString"))
    assert put["Version"] == 1
    p = assert_cli_ok(aws("ssm", "get-parameter", "--name", "/cli/param", "--with-decryption"))["Parameter"]
    assert (p["Name"], p["Value"]) == ("/cli/param", "s3cr3t")
    assert_cli_ok(aws("ssm", "put-parameter", "--name", "/cli/other", "--value", "x", "--type", "String"))
    listed = assert_cli_ok(aws("ssm", "get-parameters-by-path", "--path", "/cli", "--recursive",
                               "--with-decryption"))
    assert {x["Name"]: x["Value"] for x in listed["Parameters"]} == {"/cli/param": "s3cr3t", "/cli/other": "x"}
    multi = assert_cli_ok(aws("ssm", "get-parameters", "--names", "/cli/other", "/cli/none"))
    assert multi["InvalidParameters"] == ["/cli/none"]
    assert_cli_error(aws("ssm", "put-parameter", "--name", "/cli/param", "--value", "y", "--type", "String"),
                     "ParameterAlreadyExists")
    assert_cli_ok(aws("ssm", "delete-parameter", "--name", "/cli/param"))
    assert_cli_error(aws("ssm", "get-parameter", "--name", "/cli/param"), "ParameterNotFound")

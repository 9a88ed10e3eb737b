"""Amazon EFS on the ecsbox port (rest-json), through boto3 and the aws CLI:
file systems (CreationToken idempotency, describe by id or token, paging,
delete), tags, access points, the errors in EFS's codes and statuses, the
parameters ecsbox refuses, and an operation ecsbox does not serve. A file
system's id is what a task definition's efsVolumeConfiguration names."""

import re

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

FS_ID = re.compile(r"^fs-[0-9a-f]{17}$")


@pytest.fixture
def efs(endpoint):
    return harness.aws_client(endpoint, "efs")


# ------------------------------------------------------------ file systems

def test_create_file_system_answers_201_and_a_description(efs):
    fs = efs.create_file_system(CreationToken="data", PerformanceMode="maxIO", ThroughputMode="elastic",
                                Tags=[{"Key": "Name", "Value": "shared-data"}])
    assert fs["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert FS_ID.match(fs["FileSystemId"]), fs["FileSystemId"]
    assert fs["FileSystemArn"] == f"arn:aws:elasticfilesystem:{harness.DEFAULT_REGION}:{harness.DEFAULT_ACCOUNT}:file-system/{fs['FileSystemId']}"
    assert fs["OwnerId"] == harness.DEFAULT_ACCOUNT
    assert fs["CreationToken"] == "data"
    assert fs["LifeCycleState"] == "available"
    # The settings that only describe are reported back as given; the Name tag is the Name.
    assert (fs["PerformanceMode"], fs["ThroughputMode"], fs["Encrypted"]) == ("maxIO", "elastic", False)
    assert fs["Name"] == "shared-data"
    assert fs["NumberOfMountTargets"] == 0
    # botocore parsed the epoch-seconds timestamp.
    assert fs["CreationTime"].year >= 2024


def test_creation_token_makes_create_idempotent(efs):
    first = efs.create_file_system(CreationToken="retry-me")
    again = efs.create_file_system(CreationToken="retry-me")
    assert again["FileSystemId"] == first["FileSystemId"]
    assert len(efs.describe_file_systems()["FileSystems"]) == 1
    # The same token with another request is a conflict (409).
    with raises_aws("FileSystemAlreadyExists") as e:
        efs.create_file_system(CreationToken="retry-me", PerformanceMode="maxIO")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert first["FileSystemId"] in e.value.response["Error"]["Message"]


def test_describe_by_id_arn_or_token(efs):
    a = efs.create_file_system(CreationToken="a")["FileSystemId"]
    b = efs.create_file_system(CreationToken="b")
    assert [f["FileSystemId"] for f in efs.describe_file_systems(FileSystemId=a)["FileSystems"]] == [a]
    by_arn = efs.describe_file_systems(FileSystemId=b["FileSystemArn"])["FileSystems"]
    assert [f["FileSystemId"] for f in by_arn] == [b["FileSystemId"]]
    assert [f["FileSystemId"] for f in efs.describe_file_systems(CreationToken="b")["FileSystems"]] == [b["FileSystemId"]]
    assert efs.describe_file_systems(CreationToken="none")["FileSystems"] == []


def test_describe_pages_with_max_items_and_marker(efs):
    made = {efs.create_file_system(CreationToken=f"page-{i}")["FileSystemId"] for i in range(5)}
    first = efs.describe_file_systems(MaxItems=2)
    assert len(first["FileSystems"]) == 2 and first["NextMarker"]
    second = efs.describe_file_systems(MaxItems=2, Marker=first["NextMarker"])
    assert second["Marker"] == first["NextMarker"]
    assert not {f["FileSystemId"] for f in first["FileSystems"]} & {f["FileSystemId"] for f in second["FileSystems"]}
    # botocore's paginator follows NextMarker to the end.
    pages = efs.get_paginator("describe_file_systems").paginate(PaginationConfig={"PageSize": 2})
    assert {f["FileSystemId"] for f in pages.build_full_result()["FileSystems"]} == made


def test_delete_file_system_answers_204_then_not_found(efs):
    fs_id = efs.create_file_system(CreationToken="gone")["FileSystemId"]
    out = efs.delete_file_system(FileSystemId=fs_id)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert efs.describe_file_systems()["FileSystems"] == []
    with raises_aws("FileSystemNotFound") as e:
        efs.delete_file_system(FileSystemId=fs_id)
    # EFS's status and words for an unknown file system.
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert e.value.response["Error"]["Message"] == f"File system '{fs_id}' does not exist."
    with raises_aws("FileSystemNotFound"):
        efs.describe_file_systems(FileSystemId=fs_id)


def test_the_model_constraints_are_a_bad_request(efs):
    with raises_aws("BadRequest") as e:
        efs.describe_file_systems(FileSystemId="not-an-id")
    assert "fileSystemId" in e.value.response["Error"]["Message"]
    with raises_aws("BadRequest") as e:
        efs.create_file_system(CreationToken="x", PerformanceMode="warp")
    assert "Member must satisfy enum value set: [generalPurpose, maxIO]" in e.value.response["Error"]["Message"]


@pytest.mark.parametrize("kw, named", [
    ({"Encrypted": True}, "Encrypted"),
    ({"KmsKeyId": "alias/aws/elasticfilesystem"}, "KmsKeyId"),
    ({"ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 10.0}, "ThroughputMode"),
    ({"ProvisionedThroughputInMibps": 10.0}, "ProvisionedThroughputInMibps"),
    ({"AvailabilityZoneName": "us-east-1a"}, "AvailabilityZoneName"),
    ({"Backup": True}, "Backup"),
])
def test_settings_ecsbox_cannot_honour_are_refused_by_name(efs, kw, named):
    with raises_aws("BadRequest") as e:
        efs.create_file_system(CreationToken="refused", **kw)
    assert named in e.value.response["Error"]["Message"]
    assert efs.describe_file_systems()["FileSystems"] == []


# -------------------------------------------------------------------- tags

def test_tags_of_a_file_system(efs):
    fs_id = efs.create_file_system(CreationToken="tagged", Tags=[{"Key": "Name", "Value": "one"}])["FileSystemId"]
    efs.tag_resource(ResourceId=fs_id, Tags=[{"Key": "team", "Value": "a"}, {"Key": "Name", "Value": "two"}])
    tags = efs.list_tags_for_resource(ResourceId=fs_id)["Tags"]
    assert tags == [{"Key": "Name", "Value": "two"}, {"Key": "team", "Value": "a"}]
    assert efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["Name"] == "two"
    # TagKeys travel as repeated query string keys (tagKeys=...&tagKeys=...).
    efs.untag_resource(ResourceId=fs_id, TagKeys=["Name", "absent"])
    assert efs.list_tags_for_resource(ResourceId=fs_id)["Tags"] == [{"Key": "team", "Value": "a"}]
    assert "Name" not in efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
    page = efs.list_tags_for_resource(ResourceId=fs_id, MaxResults=1)
    assert len(page["Tags"]) == 1 and "NextToken" not in page
    with raises_aws("FileSystemNotFound"):
        efs.tag_resource(ResourceId="fs-0123456789abcdef0", Tags=[{"Key": "k", "Value": "v"}])


# ----------------------------------------------------------- access points

def test_access_points_of_a_file_system(efs):
    fs_id = efs.create_file_system(CreationToken="with-ap")["FileSystemId"]
    ap = efs.create_access_point(ClientToken="ap-1", FileSystemId=fs_id, PosixUser={"Uid": 1000, "Gid": 1000},
                                 RootDirectory={"Path": "/app"}, Tags=[{"Key": "Name", "Value": "app"}])
    assert re.match(r"^fsap-[0-9a-f]{17}$", ap["AccessPointId"])
    assert (ap["FileSystemId"], ap["RootDirectory"]["Path"], ap["PosixUser"]["Uid"], ap["Name"]) == (fs_id, "/app", 1000, "app")
    again = efs.create_access_point(ClientToken="ap-1", FileSystemId=fs_id, PosixUser={"Uid": 1000, "Gid": 1000},
                                    RootDirectory={"Path": "/app"}, Tags=[{"Key": "Name", "Value": "app"}])
    assert again["AccessPointId"] == ap["AccessPointId"]
    listed = efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
    assert [a["AccessPointId"] for a in listed] == [ap["AccessPointId"]]
    efs.tag_resource(ResourceId=ap["AccessPointId"], Tags=[{"Key": "k", "Value": "v"}])
    assert {"Key": "k", "Value": "v"} in efs.list_tags_for_resource(ResourceId=ap["AccessPointId"])["Tags"]
    assert efs.delete_access_point(AccessPointId=ap["AccessPointId"])["ResponseMetadata"]["HTTPStatusCode"] == 204
    with raises_aws("AccessPointNotFound") as e:
        efs.describe_access_points(AccessPointId=ap["AccessPointId"])
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with raises_aws("FileSystemNotFound"):
        efs.create_access_point(ClientToken="ap-2", FileSystemId="fs-0123456789abcdef0")
    # The model's pattern (Java lookahead, checked through an equivalent):
    # no path segment may start with a dot.
    with raises_aws("BadRequest") as e:
        efs.create_access_point(ClientToken="ap-3", FileSystemId=fs_id, RootDirectory={"Path": "/app/.hidden"})
    assert "rootDirectory.path" in e.value.response["Error"]["Message"]


def test_deleting_a_file_system_forgets_its_access_points(efs):
    fs_id = efs.create_file_system(CreationToken="parent")["FileSystemId"]
    efs.create_access_point(ClientToken="child", FileSystemId=fs_id)
    efs.delete_file_system(FileSystemId=fs_id)
    assert efs.describe_access_points()["AccessPoints"] == []


# ------------------------------------------------- what ecsbox does not serve

def test_an_operation_ecsbox_has_not_built_names_itself(efs):
    with raises_aws("BadRequest") as e:
        efs.describe_mount_targets(FileSystemId="fs-0123456789abcdef0")
    assert "DescribeMountTargets" in e.value.response["Error"]["Message"]


def test_accounts_and_regions_are_separate(endpoint, efs):
    efs.create_file_system(CreationToken="mine")
    other = harness.aws_client(endpoint, "efs", region="eu-west-1")
    assert other.describe_file_systems()["FileSystems"] == []


# --------------------------------------------------------------------- CLI

def test_the_cli_creates_describes_and_deletes(aws):
    fs = assert_cli_ok(aws("efs", "create-file-system", "--creation-token", "t"))
    assert FS_ID.match(fs["FileSystemId"])
    listed = assert_cli_ok(aws("efs", "describe-file-systems"))
    assert [f["FileSystemId"] for f in listed["FileSystems"]] == [fs["FileSystemId"]]
    assert_cli_ok(aws("efs", "tag-resource", "--resource-id", fs["FileSystemId"], "--tags", "Key=env,Value=dev"))
    tags = assert_cli_ok(aws("efs", "list-tags-for-resource", "--resource-id", fs["FileSystemId"]))
    assert tags["Tags"] == [{"Key": "env", "Value": "dev"}]
    # A 204 without a body: the CLI prints nothing and succeeds.
    assert assert_cli_ok(aws("efs", "delete-file-system", "--file-system-id", fs["FileSystemId"])) is None
    err = assert_cli_error(aws("efs", "delete-file-system", "--file-system-id", fs["FileSystemId"]), "FileSystemNotFound")
    assert f"File system '{fs['FileSystemId']}' does not exist." in err
    assert_cli_error(aws("efs", "create-file-system", "--creation-token", "t", "--encrypted"), "BadRequest")

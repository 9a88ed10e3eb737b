"""EC2's network lookups on the ecsbox port (ec2 protocol), the way ECS
users make them through boto3 and the aws CLI: the default VPC, subnets and
security group every account and region starts with (stable ids), filters,
wildcards and pagination, the setup calls (VPCs, subnets, security groups,
tags) with EC2's error codes, DryRun, the ENI of an awsvpc task, and what
ecsbox does not serve.

EC2's error codes are from the EC2 API reference, "Error codes for the Amazon
EC2 API"; messages are asserted only where AWS's words are known (cited).
"""

import ipaddress

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

EC2_VERSION = "2016-11-15"


def ec2_client(endpoint: str, akid: str = harness.DEFAULT_AKID, region: str = harness.DEFAULT_REGION, **kw):
    return harness.aws_client(endpoint, "ec2", akid=akid, region=region, **kw)


@pytest.fixture
def ec2(endpoint):
    return ec2_client(endpoint)


def default_network(ec2) -> dict:
    """The ids of the default VPC, its subnets (by zone) and its default group."""
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    [group] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]},
                                                    {"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    return {"vpc": vpc["VpcId"], "subnets": {s["AvailabilityZone"]: s["SubnetId"] for s in subnets},
            "group": group["GroupId"]}


def subnet_ids(subnets: list[dict]) -> set[str]:
    return {s["SubnetId"] for s in subnets}


@pytest.fixture
def vpc(ec2):
    """A VPC of this test's own (10.0.0.0/16), deleted afterwards with its subnets and groups."""
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    yield vpc_id
    for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=s["SubnetId"])
    for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]:
        if g["GroupName"] != "default":
            ec2.delete_security_group(GroupId=g["GroupId"])
    ec2.delete_vpc(VpcId=vpc_id)


# ------------------------------------------------------ the default network

def test_every_account_and_region_has_a_default_vpc(ec2):
    [vpc] = ec2.describe_vpcs()["Vpcs"]
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    assert vpc["IsDefault"] is True and vpc["State"] == "available"
    assert vpc["OwnerId"] == harness.DEFAULT_ACCOUNT
    assert vpc["VpcId"].startswith("vpc-")
    assert [a["CidrBlock"] for a in vpc["CidrBlockAssociationSet"]] == ["172.31.0.0/16"]


def test_the_default_vpc_has_one_default_subnet_per_zone(ec2):
    [vpc] = ec2.describe_vpcs()["Vpcs"]
    subnets = ec2.describe_subnets()["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    network = ipaddress.ip_network(vpc["CidrBlock"])
    blocks = [ipaddress.ip_network(s["CidrBlock"]) for s in subnets]
    for s, block in zip(subnets, blocks):
        assert s["DefaultForAz"] is True and s["MapPublicIpOnLaunch"] is True
        assert s["VpcId"] == vpc["VpcId"] and s["State"] == "available"
        assert block.subnet_of(network) and block.prefixlen == 20, s["CidrBlock"]
        assert s["SubnetArn"] == f"arn:aws:ec2:us-east-1:{harness.DEFAULT_ACCOUNT}:subnet/{s['SubnetId']}"
        assert s["AvailableIpAddressCount"] == block.num_addresses - 5  # AWS keeps 5 addresses per subnet
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    assert sorted(s["AvailabilityZoneId"] for s in subnets) == ["use1-az1", "use1-az2", "use1-az3"]


def test_the_default_vpc_has_a_security_group_named_default(ec2):
    [vpc] = ec2.describe_vpcs()["Vpcs"]
    [group] = ec2.describe_security_groups()["SecurityGroups"]
    assert group["GroupName"] == "default" and group["VpcId"] == vpc["VpcId"]
    assert group["GroupId"].startswith("sg-")
    # As on AWS: members talk to each other, and everything may go out.
    [inbound] = group["IpPermissions"]
    assert inbound["IpProtocol"] == "-1" and inbound["UserIdGroupPairs"][0]["GroupId"] == group["GroupId"]
    [outbound] = group["IpPermissionsEgress"]
    assert outbound["IpProtocol"] == "-1" and outbound["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]


def test_default_ids_survive_a_restart(start_ecsbox):
    first = start_ecsbox()
    before = default_network(ec2_client(first.endpoint, "123456789012", "eu-west-1"))
    assert first.stop() == 0
    second = start_ecsbox()
    after = default_network(ec2_client(second.endpoint, "123456789012", "eu-west-1"))
    assert after == before
    assert sorted(before["subnets"]) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def test_default_ids_survive_a_reset(ecsbox, ec2):
    before = default_network(ec2)
    assert harness.http_request(ecsbox.endpoint, "POST", "/_ecsbox/reset").status == 200
    assert default_network(ec2) == before


def test_default_ids_differ_between_accounts_and_regions(endpoint, ec2):
    networks = [default_network(ec2),
                default_network(ec2_client(endpoint, "123456789012")),
                default_network(ec2_client(endpoint, region="eu-central-1"))]
    vpcs = {n["vpc"] for n in networks}
    groups = {n["group"] for n in networks}
    subnets = {s for n in networks for s in n["subnets"].values()}
    assert (len(vpcs), len(groups), len(subnets)) == (3, 3, 9)
    # Each account sees only its own default VPC.
    other = ec2_client(endpoint, "123456789012").describe_vpcs()["Vpcs"]
    assert [v["OwnerId"] for v in other] == ["123456789012"]


# ----------------------------------------------------------- DescribeSubnets

def test_describe_subnets_filters(ec2, vpc):
    net = default_network(ec2)
    mine = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1b",
                             TagSpecifications=[{"ResourceType": "subnet",
                                                 "Tags": [{"Key": "team", "Value": "payments-api"}]}])["Subnet"]
    assert mine["DefaultForAz"] is False and mine["Tags"] == [{"Key": "team", "Value": "payments-api"}]

    def ids(*filters) -> set[str]:
        return subnet_ids(ec2.describe_subnets(Filters=list(filters))["Subnets"])

    def f(name, *values):
        return {"Name": name, "Values": list(values)}

    defaults = set(net["subnets"].values())
    assert ids(f("vpc-id", net["vpc"])) == defaults
    assert ids(f("vpc-id", vpc)) == {mine["SubnetId"]}
    assert ids(f("default-for-az", "true")) == defaults
    assert ids(f("default-for-az", "false")) == {mine["SubnetId"]}
    assert ids(f("availability-zone", "us-east-1b")) == {net["subnets"]["us-east-1b"], mine["SubnetId"]}
    # Values of one filter are ORed, filters ANDed.
    assert ids(f("availability-zone", "us-east-1a", "us-east-1c")) == {net["subnets"]["us-east-1a"], net["subnets"]["us-east-1c"]}
    assert ids(f("availability-zone", "us-east-1b"), f("default-for-az", "true")) == {net["subnets"]["us-east-1b"]}
    assert ids(f("tag:team", "payments-api")) == {mine["SubnetId"]}
    assert ids(f("tag:team", "other")) == set()
    assert ids(f("tag-key", "team")) == {mine["SubnetId"]}
    # Wildcards: * any run, ? one character.
    assert ids(f("tag:team", "payments-*")) == {mine["SubnetId"]}
    assert ids(f("availability-zone", "us-east-1?")) == defaults | {mine["SubnetId"]}
    assert ids(f("cidr-block", "10.0.*")) == {mine["SubnetId"]}
    assert ids(f("subnet-id", "subnet-*")) == defaults | {mine["SubnetId"]}


def test_describe_subnets_by_id(ec2):
    net = default_network(ec2)
    wanted = [net["subnets"]["us-east-1a"], net["subnets"]["us-east-1c"]]
    assert subnet_ids(ec2.describe_subnets(SubnetIds=wanted)["Subnets"]) == set(wanted)


def test_an_unknown_subnet_id_is_not_found(ec2, aws):
    unknown = "subnet-0123456789abcdef0"
    with raises_aws("InvalidSubnetID.NotFound") as e:
        ec2.describe_subnets(SubnetIds=[unknown])
    # AWS's words, as Terraform and CLI users quote them: "The subnet ID
    # 'subnet-...' does not exist".
    assert e.value.response["Error"]["Message"] == f"The subnet ID '{unknown}' does not exist"
    assert_cli_error(aws("ec2", "describe-subnets", "--subnet-ids", unknown), "InvalidSubnetID.NotFound")


def test_a_malformed_subnet_id_is_malformed(ec2):
    with raises_aws("InvalidSubnetID.Malformed") as e:
        ec2.describe_subnets(SubnetIds=["subnet-local"])
    assert "subnet-local" in e.value.response["Error"]["Message"]


def test_an_unknown_filter_name_is_refused(ec2):
    with raises_aws("InvalidParameterValue") as e:
        ec2.describe_subnets(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert "no-such-filter" in e.value.response["Error"]["Message"]


def test_describe_subnets_pages_with_max_results_and_next_token(ec2, vpc):
    for i in range(4):
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")
    everything = subnet_ids(ec2.describe_subnets()["Subnets"])
    assert len(everything) == 7

    first = ec2.describe_subnets(MaxResults=5)
    assert len(first["Subnets"]) == 5 and first["NextToken"]
    second = ec2.describe_subnets(MaxResults=5, NextToken=first["NextToken"])
    assert len(second["Subnets"]) == 2 and "NextToken" not in second
    assert subnet_ids(first["Subnets"]) | subnet_ids(second["Subnets"]) == everything

    # boto3's paginator follows the tokens by itself.
    pages = list(ec2.get_paginator("describe_subnets").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["Subnets"]) for p in pages] == [5, 2]


def test_max_results_below_five_is_refused(endpoint):
    ec2 = ec2_client(endpoint, parameter_validation=False)
    with raises_aws("InvalidParameterValue") as e:
        ec2.describe_subnets(MaxResults=2)
    assert "maxResults" in e.value.response["Error"]["Message"]


def test_a_bad_next_token_is_refused(ec2):
    with raises_aws("InvalidParameterValue"):
        ec2.describe_subnets(MaxResults=5, NextToken="garbage")


def test_max_results_below_five_is_refused_in_ec2s_words(endpoint):
    ec2 = ec2_client(endpoint, parameter_validation=False)
    with raises_aws("InvalidParameterValue") as e:
        ec2.describe_subnets(MaxResults=2)
    # EC2's words (aws/aws-sdk-ruby#2575 quotes "InvalidParameterValue: Value
    # ( 1 ) for parameter maxResults is invalid. Expecting a value greater
    # than 5."); EC2 does not send the "N validation errors detected" form.
    assert e.value.response["Error"]["Message"].startswith("Value ( 2 ) for parameter maxResults is invalid.")


def test_describe_subnets_with_the_cli(aws, ec2):
    net = default_network(ec2)
    out = assert_cli_ok(aws("ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true",
                            "--query", "Subnets[].SubnetId"))
    assert sorted(out) == sorted(net["subnets"].values())


# ------------------------------------------------------------ VPCs, subnets

def test_create_and_delete_a_vpc_and_its_subnets(ec2):
    created = ec2.create_vpc(CidrBlock="10.1.0.0/16",
                             TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "app"}]}])["Vpc"]
    vpc_id = created["VpcId"]
    assert created["CidrBlock"] == "10.1.0.0/16" and created["IsDefault"] is False
    assert created["Tags"] == [{"Key": "Name", "Value": "app"}]
    # A new VPC gets a default security group of its own.
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]

    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.2.0/24", AvailabilityZone="us-east-1c")["Subnet"]
    assert (subnet["VpcId"], subnet["CidrBlock"], subnet["AvailabilityZone"]) == (vpc_id, "10.1.2.0/24", "us-east-1c")
    assert subnet["AvailableIpAddressCount"] == 251

    with raises_aws("InvalidSubnet.Conflict"):
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.2.128/25")
    with raises_aws("InvalidSubnet.Conflict"):
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.0.0/22")
    with raises_aws("InvalidSubnet.Range"):
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="192.168.0.0/24")
    with raises_aws("InvalidSubnet.Range"):
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.0.0/29")  # smaller than EC2's /28
    with raises_aws("InvalidVpcID.NotFound"):
        ec2.create_subnet(VpcId="vpc-0123456789abcdef0", CidrBlock="10.1.3.0/24")

    with raises_aws("DependencyViolation"):
        ec2.delete_vpc(VpcId=vpc_id)
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    with raises_aws("InvalidSubnetID.NotFound"):
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc_id)
    with raises_aws("InvalidVpcID.NotFound"):
        ec2.describe_vpcs(VpcIds=[vpc_id])
    # Its default group went with it.
    assert ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"] == []


def test_the_same_cidr_may_be_used_in_two_vpcs(ec2, vpc):
    other = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    try:
        a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.5.0/24")["Subnet"]["SubnetId"]
        b = ec2.create_subnet(VpcId=other, CidrBlock="10.0.5.0/24")["Subnet"]["SubnetId"]
        assert a != b
        ec2.delete_subnet(SubnetId=b)
    finally:
        ec2.delete_vpc(VpcId=other)


def test_an_unsupported_create_vpc_parameter_is_refused_naming_it(ec2):
    with raises_aws("UnsupportedOperation") as e:
        ec2.create_vpc(CidrBlock="10.2.0.0/16", AmazonProvidedIpv6CidrBlock=True)
    assert "AmazonProvidedIpv6CidrBlock" in e.value.response["Error"]["Message"]
    assert len(ec2.describe_vpcs()["Vpcs"]) == 1


def test_dedicated_tenancy_is_refused_naming_it(ec2):
    # ecsbox runs every task on one engine: dedicated hardware cannot be promised.
    with raises_aws("UnsupportedOperation") as e:
        ec2.create_vpc(CidrBlock="10.3.0.0/16", InstanceTenancy="dedicated")
    assert "InstanceTenancy" in e.value.response["Error"]["Message"]
    assert ec2.create_vpc(CidrBlock="10.3.0.0/16", InstanceTenancy="default")["Vpc"]["InstanceTenancy"] == "default"


# ----------------------------------------------------------- security groups

def test_security_group_lifecycle(ec2, vpc):
    net = default_network(ec2)
    created = ec2.create_security_group(GroupName="web", Description="web tier")
    group_id = created["GroupId"]
    assert group_id.startswith("sg-")
    with raises_aws("InvalidGroup.Duplicate"):
        ec2.create_security_group(GroupName="web", Description="again")
    # The same name in another VPC is another group.
    in_vpc = ec2.create_security_group(GroupName="web", Description="web tier", VpcId=vpc)["GroupId"]
    assert in_vpc != group_id

    [by_id] = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert (by_id["GroupName"], by_id["Description"], by_id["VpcId"]) == ("web", "web tier", net["vpc"])
    # By name: looked up in the default VPC, as EC2 does.
    [by_name] = ec2.describe_security_groups(GroupNames=["web"])["SecurityGroups"]
    assert by_name["GroupId"] == group_id
    by_filter = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web"]}])["SecurityGroups"]
    assert {g["GroupId"] for g in by_filter} == {group_id, in_vpc}
    with raises_aws("InvalidGroup.NotFound"):
        ec2.describe_security_groups(GroupIds=["sg-0123456789abcdef0"])
    with raises_aws("InvalidGroup.NotFound"):
        ec2.describe_security_groups(GroupNames=["nope"])
    with raises_aws("InvalidGroupId.Malformed"):
        ec2.describe_security_groups(GroupIds=["web"])

    ec2.delete_security_group(GroupId=group_id)
    with raises_aws("InvalidGroup.NotFound"):
        ec2.describe_security_groups(GroupIds=[group_id])
    ec2.delete_security_group(GroupId=in_vpc)


def test_the_default_group_cannot_be_deleted(ec2):
    net = default_network(ec2)
    with raises_aws("CannotDelete"):
        ec2.delete_security_group(GroupId=net["group"])
    with raises_aws("CannotDelete"):
        ec2.delete_security_group(GroupName="default")
    assert default_network(ec2)["group"] == net["group"]


def test_delete_security_group_by_name(ec2):
    group_id = ec2.create_security_group(GroupName="by-name", Description="d")["GroupId"]
    ec2.delete_security_group(GroupName="by-name")
    with raises_aws("InvalidGroup.NotFound"):
        ec2.describe_security_groups(GroupIds=[group_id])


# --------------------------------------------------------- zones, attributes

def test_describe_availability_zones(ec2, endpoint):
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert [z["ZoneId"] for z in zones] == ["use1-az1", "use1-az2", "use1-az3"]
    for z in zones:
        assert (z["State"], z["RegionName"], z["ZoneType"]) == ("available", "us-east-1", "availability-zone")
    [b] = ec2.describe_availability_zones(ZoneNames=["us-east-1b"])["AvailabilityZones"]
    assert b["ZoneId"] == "use1-az2"
    [c] = ec2.describe_availability_zones(Filters=[{"Name": "zone-id", "Values": ["use1-az3"]}])["AvailabilityZones"]
    assert c["ZoneName"] == "us-east-1c"
    with raises_aws("InvalidParameterValue"):
        ec2.describe_availability_zones(ZoneNames=["us-east-1z"])
    other = ec2_client(endpoint, region="eu-central-1").describe_availability_zones()["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"]) for z in other] == [
        ("eu-central-1a", "euc1-az1"), ("eu-central-1b", "euc1-az2"), ("eu-central-1c", "euc1-az3")]


def test_subnets_are_placed_in_the_regions_zones_only(ec2, vpc):
    with raises_aws("InvalidParameterValue") as e:
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.9.0/24", AvailabilityZone="eu-west-1a")
    assert "us-east-1a" in e.value.response["Error"]["Message"]
    by_id = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.9.0/24", AvailabilityZoneId="use1-az2")["Subnet"]
    assert by_id["AvailabilityZone"] == "us-east-1b"


def test_describe_account_attributes_names_the_default_vpc(ec2):
    net = default_network(ec2)
    attributes = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
                  for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attributes["default-vpc"] == [net["vpc"]]
    assert attributes["supported-platforms"] == ["VPC"]
    [only] = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert only["AttributeName"] == "default-vpc"


# ---------------------------------------------------------------------- tags

def test_create_describe_and_delete_tags(ec2):
    net = default_network(ec2)
    subnet, group = net["subnets"]["us-east-1a"], net["group"]
    ec2.create_tags(Resources=[subnet, group], Tags=[{"Key": "env", "Value": "dev"}, {"Key": "owner", "Value": "me"}])
    ec2.create_tags(Resources=[subnet], Tags=[{"Key": "env", "Value": "test"}])  # overwrites

    def tags(*filters):
        return sorted((t["ResourceId"], t["ResourceType"], t["Key"], t["Value"])
                      for t in ec2.describe_tags(Filters=list(filters))["Tags"])

    assert tags({"Name": "resource-id", "Values": [subnet]}) == [
        (subnet, "subnet", "env", "test"), (subnet, "subnet", "owner", "me")]
    assert tags({"Name": "key", "Values": ["env"]}) == [
        (group, "security-group", "env", "dev"), (subnet, "subnet", "env", "test")]
    assert tags({"Name": "resource-type", "Values": ["security-group"]}, {"Name": "value", "Values": ["m?"]}) == [
        (group, "security-group", "owner", "me")]
    [described] = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"]
    assert sorted((t["Key"], t["Value"]) for t in described["Tags"]) == [("env", "test"), ("owner", "me")]

    # A tag named with another value stays; named without a value, it goes.
    ec2.delete_tags(Resources=[subnet], Tags=[{"Key": "env", "Value": "dev"}])
    assert ("env", "test") in [(t[2], t[3]) for t in tags({"Name": "resource-id", "Values": [subnet]})]
    ec2.delete_tags(Resources=[subnet], Tags=[{"Key": "env"}])
    assert tags({"Name": "resource-id", "Values": [subnet]}) == [(subnet, "subnet", "owner", "me")]
    ec2.delete_tags(Resources=[subnet, group])
    assert tags() == []


def test_tagging_an_unknown_resource_is_not_found(ec2):
    with raises_aws("InvalidSubnetID.NotFound"):
        ec2.create_tags(Resources=["subnet-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])
    with raises_aws("InvalidVpcID.NotFound"):
        ec2.delete_tags(Resources=["vpc-0123456789abcdef0"])
    assert ec2.describe_tags()["Tags"] == []


def test_tags_with_the_cli(aws, ec2):
    net = default_network(ec2)
    assert_cli_ok(aws("ec2", "create-tags", "--resources", net["vpc"], "--tags", "Key=Name,Value=default-vpc"))
    out = assert_cli_ok(aws("ec2", "describe-vpcs", "--filters", "Name=tag:Name,Values=default-*",
                            "--query", "Vpcs[].VpcId"))
    assert out == [net["vpc"]]
    assert_cli_ok(aws("ec2", "delete-tags", "--resources", net["vpc"]))


# -------------------------------------------------------------------- DryRun

def test_dry_run_answers_dry_run_operation_and_changes_nothing(ec2, aws):
    with raises_aws("DryRunOperation") as e:
        ec2.create_vpc(CidrBlock="10.3.0.0/16", DryRun=True)
    # EC2's words and status (412) for a request that would have worked.
    assert e.value.response["Error"]["Message"] == "Request would have succeeded, but DryRun flag is set."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert len(ec2.describe_vpcs()["Vpcs"]) == 1
    with raises_aws("DryRunOperation"):
        ec2.describe_subnets(DryRun=True)
    assert_cli_error(aws("ec2", "describe-vpcs", "--dry-run"), "DryRunOperation")


# --------------------------------------------------- what ecsbox does not serve

def test_an_operation_ecsbox_does_not_serve_is_unsupported_operation_naming_it(ec2, aws):
    with raises_aws("UnsupportedOperation") as e:
        ec2.describe_instances()
    # ecsbox's own words; UnsupportedOperation is EC2's code for "The
    # specified request includes an unsupported operation".
    assert "DescribeInstances" in e.value.response["Error"]["Message"]
    err = assert_cli_error(aws("ec2", "run-instances", "--image-id", "ami-12345678", "--instance-type", "t3.micro"),
                           "UnsupportedOperation")
    assert "RunInstances" in err


def test_an_unknown_parameter_is_refused_naming_it(endpoint):
    resp = harness.form_raw(endpoint, {"Action": "DescribeSubnets", "Version": EC2_VERSION, "Bogus": "1"},
                            service="ec2")
    assert resp.status == 400
    code, message, _ = harness.xml_error(resp)
    # EC2's code for it: UnknownParameter ("An unknown or unrecognized
    # parameter was supplied"); the message names the parameter.
    assert code == "UnknownParameter" and "Bogus" in message, message


def test_a_raw_form_with_lists_and_filters_is_read_like_boto3s(endpoint, ec2):
    net = default_network(ec2)
    resp = harness.form_raw(endpoint, {"Action": "DescribeSubnets", "Version": EC2_VERSION,
                                       "SubnetId.1": net["subnets"]["us-east-1a"],
                                       "SubnetId.2": net["subnets"]["us-east-1b"],
                                       "Filter.1.Name": "availability-zone", "Filter.1.Value.1": "us-east-1b"},
                            service="ec2")
    assert resp.status == 200, resp.body
    import xml.etree.ElementTree as ET

    root = ET.fromstring(resp.body)
    ns = {"ec2": "http://ec2.amazonaws.com/doc/2016-11-15/"}
    assert root.tag == "{http://ec2.amazonaws.com/doc/2016-11-15/}DescribeSubnetsResponse"
    assert root.findtext("ec2:requestId", namespaces=ns) == resp.headers["x-amzn-requestid"]
    assert [e.text for e in root.findall("ec2:subnetSet/ec2:item/ec2:subnetId", ns)] == [net["subnets"]["us-east-1b"]]


# ------------------------------------------------------ ENIs of awsvpc tasks

@pytest.mark.usefixtures("busybox_image", "no_containers_left")
def test_an_awsvpc_task_has_its_eni_while_it_runs(ec2, ecs):
    net = default_network(ec2)
    subnet = net["subnets"]["us-east-1b"]
    ecs.create_cluster(clusterName="eni")
    ecs.register_task_definition(
        family="eni", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True,
                               "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]}])
    out = ecs.run_task(cluster="eni", taskDefinition="eni", launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet],
                                                                     "securityGroups": [net["group"]]}})
    assert out["failures"] == [], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    waiter = {"Delay": 1, "MaxAttempts": 60}
    try:
        ecs.get_waiter("tasks_running").wait(cluster="eni", tasks=[arn], WaiterConfig=waiter)
        [task] = ecs.describe_tasks(cluster="eni", tasks=[arn])["tasks"]
        eni_id = harness.eni_detail(task, "networkInterfaceId")
        ip = harness.eni_detail(task, "privateIPv4Address")
        assert eni_id and ip, task["attachments"]

        [eni] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
        assert eni["PrivateIpAddress"] == ip
        assert eni["SubnetId"] == subnet and eni["VpcId"] == net["vpc"]
        assert eni["AvailabilityZone"] == "us-east-1b" and task["availabilityZone"] == "us-east-1b"
        assert eni["Groups"] == [{"GroupId": net["group"], "GroupName": "default"}]
        assert eni["MacAddress"] == harness.eni_detail(task, "macAddress")
        by_ip = ec2.describe_network_interfaces(Filters=[{"Name": "private-ip-address", "Values": [ip]}])
        assert [e["NetworkInterfaceId"] for e in by_ip["NetworkInterfaces"]] == [eni_id]
    finally:
        ecs.stop_task(cluster="eni", task=arn, reason="test over")
        ecs.get_waiter("tasks_stopped").wait(cluster="eni", tasks=[arn], WaiterConfig=waiter)
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    with raises_aws("InvalidNetworkInterfaceID.NotFound"):
        ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])
    ecs.delete_cluster(cluster="eni")


@pytest.mark.usefixtures("busybox_image", "no_containers_left")
def test_a_task_in_a_created_subnet_with_a_created_group_shows_both_on_its_eni(ec2, ecs, vpc):
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.7.0/24", AvailabilityZone="us-east-1c")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="the task's", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="eni2")
    ecs.register_task_definition(
        family="eni2", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE, "essential": True,
                               "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]}])
    out = ecs.run_task(cluster="eni2", taskDefinition="eni2", launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})
    assert out["failures"] == [], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    # The subnet decides the zone, as on AWS.
    assert out["tasks"][0]["availabilityZone"] == "us-east-1c"
    waiter = {"Delay": 1, "MaxAttempts": 60}
    try:
        ecs.get_waiter("tasks_running").wait(cluster="eni2", tasks=[arn], WaiterConfig=waiter)
        [task] = ecs.describe_tasks(cluster="eni2", tasks=[arn])["tasks"]
        [eni] = ec2.describe_network_interfaces(
            Filters=[{"Name": "subnet-id", "Values": [subnet]}])["NetworkInterfaces"]
        assert eni["NetworkInterfaceId"] == harness.eni_detail(task, "networkInterfaceId")
        assert (eni["SubnetId"], eni["VpcId"], eni["AvailabilityZone"]) == (subnet, vpc, "us-east-1c")
        assert eni["Groups"] == [{"GroupId": group, "GroupName": "tasks"}]
        by_group = ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [group]}])
        assert [e["NetworkInterfaceId"] for e in by_group["NetworkInterfaces"]] == [eni["NetworkInterfaceId"]]
    finally:
        ecs.stop_task(cluster="eni2", task=arn, reason="test over")
        ecs.get_waiter("tasks_stopped").wait(cluster="eni2", tasks=[arn], WaiterConfig=waiter)
    ecs.delete_cluster(cluster="eni2")


def test_ecs_refuses_malformed_subnet_and_group_ids_in_ec2s_words(ecs):
    # ECS wraps EC2's error, as public reports of RunTask and CreateService
    # failures quote it: "Error retrieving subnet information for [...]: ..."
    # (hashicorp/terraform#27915, eddmann/serverless-fargate#20), EC2's part
    # as "(Service: AmazonEC2; Status Code: 400; Error Code: ...; Request ID:
    # ...; Proxy: null)" (aws/aws-cdk#20800).
    ecs.create_cluster(clusterName="bad-ids")
    ecs.register_task_definition(
        family="bad-ids", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": harness.BUSYBOX_IMAGE}])
    cases = [
        ({"subnets": ["subnet-local"]},
         "Error retrieving subnet information for [subnet-local]: The subnet ID 'subnet-local' is malformed "
         "(Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.Malformed; Request ID: "),
        ({"subnets": ["subnet-0123abcd"], "securityGroups": ["web"]},
         "Error retrieving security group information for [web]: Invalid id: \"web\" (expecting \"sg-...\") "
         "(Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroupId.Malformed; Request ID: "),
    ]
    for awsvpc, words in cases:
        network = {"awsvpcConfiguration": awsvpc}
        with raises_aws("InvalidParameterException") as e:
            ecs.run_task(cluster="bad-ids", taskDefinition="bad-ids", launchType="FARGATE", networkConfiguration=network)
        message = e.value.response["Error"]["Message"]
        assert message.startswith(words) and message.endswith("; Proxy: null)"), message
        with raises_aws("InvalidParameterException") as e:
            ecs.create_service(cluster="bad-ids", serviceName="s", taskDefinition="bad-ids", desiredCount=1,
                               launchType="FARGATE", networkConfiguration=network)
        assert e.value.response["Error"]["Message"].startswith(words)
    ecs.delete_cluster(cluster="bad-ids")

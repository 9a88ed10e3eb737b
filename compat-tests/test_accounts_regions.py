"""State is per (account, region): the region comes from the credential
scope, the account from the access key (a 12-digit key id is the account id,
any other key the default account)."""

import harness
from harness import assert_cli_ok


def test_a_twelve_digit_key_is_the_account_in_arns(ecs_as, aws):
    ecs = ecs_as("123456789012", "eu-west-1")
    arn = ecs.create_cluster(clusterName="web")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:eu-west-1:123456789012:cluster/web"
    out = assert_cli_ok(aws("ecs", "list-clusters", akid="123456789012", region="eu-west-1"))
    assert out["clusterArns"] == [arn]


def test_any_other_key_is_the_default_account(ecs_as):
    for akid in ("AKIAIOSFODNN7EXAMPLE", "1234567890123", "12345678901a", "test"):
        arn = ecs_as(akid).create_cluster(clusterName="shared")["cluster"]["clusterArn"]
        assert arn == "arn:aws:ecs:us-east-1:000000000000:cluster/shared", akid
    # They all saw one and the same account.
    assert len(ecs_as("AKIDTEST").list_clusters()["clusterArns"]) == 1


def test_accounts_are_isolated(ecs_as):
    a, b = ecs_as("111111111111"), ecs_as("222222222222")
    a.create_cluster(clusterName="only-a")
    b.create_cluster(clusterName="same-name")
    a.create_cluster(clusterName="same-name")
    assert sorted(a.list_clusters()["clusterArns"]) == [
        "arn:aws:ecs:us-east-1:111111111111:cluster/only-a",
        "arn:aws:ecs:us-east-1:111111111111:cluster/same-name",
    ]
    assert b.list_clusters()["clusterArns"] == ["arn:aws:ecs:us-east-1:222222222222:cluster/same-name"]
    # Deleting in one account leaves the other's cluster of the same name alone.
    a.delete_cluster(cluster="same-name")
    assert b.describe_clusters(clusters=["same-name"])["clusters"][0]["status"] == "ACTIVE"
    # Another account's cluster, even by its full ARN, is not found.
    failures = b.describe_clusters(clusters=["arn:aws:ecs:us-east-1:111111111111:cluster/only-a"])["failures"]
    assert [f["reason"] for f in failures] == ["MISSING"]


def test_regions_are_isolated(ecs_as, aws):
    east, west = ecs_as(region="us-east-1"), ecs_as(region="us-west-2")
    east.create_cluster(clusterName="east-only")
    assert west.list_clusters()["clusterArns"] == []
    assert [f["reason"] for f in west.describe_clusters(clusters=["east-only"])["failures"]] == ["MISSING"]
    west_arn = west.create_cluster(clusterName="east-only")["cluster"]["clusterArn"]
    assert west_arn == "arn:aws:ecs:us-west-2:000000000000:cluster/east-only"
    out = assert_cli_ok(aws("ecs", "list-clusters", region="us-west-2"))
    assert out["clusterArns"] == [west_arn]
    out = assert_cli_ok(aws("ecs", "list-clusters", region="us-east-1"))
    assert out["clusterArns"] == ["arn:aws:ecs:us-east-1:000000000000:cluster/east-only"]


def test_the_default_account_is_configurable(start_ecsbox, ecs_as):
    flag = start_ecsbox("--default-account", "999988887777")
    env = start_ecsbox(env={"ECSBOX_DEFAULT_ACCOUNT": "444455556666"})
    for server, account in [(flag, "999988887777"), (env, "444455556666")]:
        arn = ecs_as("AKIDTEST", endpoint=server.endpoint).create_cluster(clusterName="c")["cluster"]["clusterArn"]
        assert arn == f"arn:aws:ecs:us-east-1:{account}:cluster/c"
        # A 12-digit key is still its own account.
        arn = ecs_as("123456789012", endpoint=server.endpoint).create_cluster(clusterName="c")["cluster"]["clusterArn"]
        assert arn == "arn:aws:ecs:us-east-1:123456789012:cluster/c"


def test_the_state_endpoint_lists_the_stores_in_use(ecsbox, ecs_as):
    ecs_as("123456789012", "eu-west-1").create_cluster(clusterName="x")
    stores = harness.http_request(ecsbox.endpoint, "GET", "/_ecsbox/state").json()["stores"]
    assert {"account": "123456789012", "region": "eu-west-1"} in stores

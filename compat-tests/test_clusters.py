"""Clusters through boto3: Create, Describe, List, Delete, Update,
UpdateClusterSettings, PutClusterCapacityProviders and their errors."""

import pytest

from harness import raises_aws

ARN = "arn:aws:ecs:us-east-1:000000000000:cluster/{}"
INCLUDE_ALL = ["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"]


def test_create_answers_an_active_cluster_with_zero_counts(ecs):
    c = ecs.create_cluster(clusterName="web")["cluster"]
    assert c["clusterArn"] == ARN.format("web")
    assert c["clusterName"] == "web"
    assert c["status"] == "ACTIVE"
    for count in ("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount", "activeServicesCount"):
        assert c[count] == 0, count
    assert {"name": "containerInsights", "value": "disabled"} in c["settings"]


def test_create_without_a_name_makes_the_default_cluster(ecs):
    assert ecs.create_cluster()["cluster"]["clusterArn"] == ARN.format("default")
    # And operations without a cluster mean it.
    assert ecs.describe_clusters()["clusters"][0]["clusterName"] == "default"


def test_create_is_idempotent_for_an_active_name(ecs):
    first = ecs.create_cluster(clusterName="web", tags=[{"key": "team", "value": "a"}])["cluster"]
    again = ecs.create_cluster(clusterName="web")["cluster"]
    assert again["clusterArn"] == first["clusterArn"]
    assert ecs.list_clusters()["clusterArns"] == [ARN.format("web")]


def test_create_with_settings_configuration_tags_and_providers(ecs):
    c = ecs.create_cluster(
        clusterName="full",
        tags=[{"key": "env", "value": "dev"}],
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}},
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 1}],
    )["cluster"]
    d = ecs.describe_clusters(clusters=["full"], include=INCLUDE_ALL)["clusters"][0]
    for got in (c, d):
        assert got["settings"] == [{"name": "containerInsights", "value": "enabled"}]
        assert got["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}
        assert got["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
        assert got["defaultCapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]
    assert d["tags"] == [{"key": "env", "value": "dev"}]


@pytest.mark.parametrize("name", ["has space", "slash/name", "x" * 256, "dot.name", ""])
def test_create_refuses_a_bad_name(ecs, name):
    with raises_aws("InvalidParameterException"):
        ecs.create_cluster(clusterName=name)
    assert ecs.list_clusters()["clusterArns"] == []


@pytest.mark.parametrize("kw", [
    {"tags": [{"key": "aws:reserved", "value": "x"}]},
    {"tags": [{"key": "k" * 129, "value": "x"}]},
    {"tags": [{"key": str(i), "value": "v"} for i in range(51)]},
    {"settings": [{"name": "containerInsights", "value": "sometimes"}]},
    {"capacityProviders": ["NO_SUCH_PROVIDER"]},
    {"capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
])
def test_create_refuses_bad_input_and_creates_nothing(ecs, kw):
    with raises_aws("InvalidParameterException"):
        ecs.create_cluster(clusterName="bad", **kw)
    assert ecs.list_clusters()["clusterArns"] == []


def test_describe_by_name_and_arn_with_missing_ones_as_failures(ecs):
    ecs.create_cluster(clusterName="a")
    out = ecs.describe_clusters(clusters=["a", ARN.format("a"), "nope", ARN.format("gone")])
    assert [c["clusterArn"] for c in out["clusters"]] == [ARN.format("a")] * 2
    assert out["failures"] == [
        {"arn": ARN.format("nope"), "reason": "MISSING"},
        {"arn": ARN.format("gone"), "reason": "MISSING"},
    ]


def test_describe_includes_only_what_is_asked(ecs):
    ecs.create_cluster(clusterName="a", tags=[{"key": "k", "value": "v"}])
    plain = ecs.describe_clusters(clusters=["a"])["clusters"][0]
    assert not plain.get("tags"), plain
    assert not plain.get("statistics"), plain
    tagged = ecs.describe_clusters(clusters=["a"], include=["TAGS"])["clusters"][0]
    assert tagged["tags"] == [{"key": "k", "value": "v"}]
    settings = ecs.describe_clusters(clusters=["a"], include=["SETTINGS"])["clusters"][0]
    assert settings["settings"] == [{"name": "containerInsights", "value": "disabled"}]
    stats = ecs.describe_clusters(clusters=["a"], include=["STATISTICS"])["clusters"][0]["statistics"]
    names = {s["name"] for s in stats}
    # The counts AWS reports by launch type, all zero on an empty cluster.
    assert {"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount",
            "pendingFargateTasksCount", "activeEC2ServiceCount", "activeFargateServiceCount"} <= names
    assert all(s["value"] == "0" for s in stats)
    everything = ecs.describe_clusters(clusters=["a"], include=INCLUDE_ALL)["clusters"][0]
    assert everything["attachments"] == [] or "attachments" not in everything


def test_describe_refuses_more_than_one_hundred_clusters(ecs):
    with raises_aws("InvalidParameterException"):
        ecs.describe_clusters(clusters=[f"c{i}" for i in range(101)])


def test_list_pages_with_max_results_and_next_token(ecs):
    names = [f"c{i:02d}" for i in range(7)]
    for n in names:
        ecs.create_cluster(clusterName=n)
    first = ecs.list_clusters(maxResults=3)
    assert len(first["clusterArns"]) == 3 and first["nextToken"]
    second = ecs.list_clusters(maxResults=3, nextToken=first["nextToken"])
    third = ecs.list_clusters(maxResults=3, nextToken=second["nextToken"])
    assert "nextToken" not in third
    got = first["clusterArns"] + second["clusterArns"] + third["clusterArns"]
    assert sorted(got) == sorted(ARN.format(n) for n in names)
    assert len(set(got)) == 7


def test_list_with_the_boto3_paginator(ecs):
    for i in range(5):
        ecs.create_cluster(clusterName=f"p{i}")
    pages = list(ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["clusterArns"]) for p in pages] == [2, 2, 1]
    assert len({a for p in pages for a in p["clusterArns"]}) == 5


@pytest.mark.parametrize("kw", [{"maxResults": 0}, {"maxResults": 101}, {"nextToken": "not-a-token-we-gave"}])
def test_list_refuses_bad_paging(ecs, kw):
    with raises_aws("InvalidParameterException"):
        ecs.list_clusters(**kw)


def test_delete_makes_the_cluster_inactive_but_describable(ecs):
    ecs.create_cluster(clusterName="old")
    deleted = ecs.delete_cluster(cluster="old")["cluster"]
    assert deleted["status"] == "INACTIVE"
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs.describe_clusters(clusters=["old"])["clusters"][0]["status"] == "INACTIVE"
    with raises_aws("ClusterNotFoundException"):
        ecs.delete_cluster(cluster="old")
    # The name can be used again.
    assert ecs.create_cluster(clusterName="old")["cluster"]["status"] == "ACTIVE"


def test_delete_by_arn(ecs):
    ecs.create_cluster(clusterName="byarn")
    assert ecs.delete_cluster(cluster=ARN.format("byarn"))["cluster"]["status"] == "INACTIVE"


@pytest.mark.parametrize("call", [
    lambda ecs: ecs.delete_cluster(cluster="nope"),
    lambda ecs: ecs.update_cluster(cluster="nope", settings=[{"name": "containerInsights", "value": "enabled"}]),
    lambda ecs: ecs.update_cluster_settings(cluster="nope", settings=[{"name": "containerInsights", "value": "enabled"}]),
    lambda ecs: ecs.put_cluster_capacity_providers(cluster="nope", capacityProviders=[], defaultCapacityProviderStrategy=[]),
], ids=["delete", "update", "update-settings", "put-capacity-providers"])
def test_operations_on_a_missing_cluster(ecs, call):
    with raises_aws("ClusterNotFoundException"):
        call(ecs)


def test_update_cluster_changes_settings_and_configuration(ecs):
    ecs.create_cluster(clusterName="u")
    c = ecs.update_cluster(
        cluster="u",
        settings=[{"name": "containerInsights", "value": "enhanced"}],
        configuration={"executeCommandConfiguration": {"logging": "NONE"}},
    )["cluster"]
    assert c["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert c["configuration"] == {"executeCommandConfiguration": {"logging": "NONE"}}
    d = ecs.describe_clusters(clusters=["u"], include=["SETTINGS", "CONFIGURATIONS"])["clusters"][0]
    assert d["settings"] == c["settings"] and d["configuration"] == c["configuration"]


def test_update_cluster_settings(ecs):
    ecs.create_cluster(clusterName="s")
    c = ecs.update_cluster_settings(cluster="s", settings=[{"name": "containerInsights", "value": "enabled"}])["cluster"]
    assert c["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    with raises_aws("InvalidParameterException"):
        ecs.update_cluster_settings(cluster="s", settings=[{"name": "containerInsights", "value": "maybe"}])
    d = ecs.describe_clusters(clusters=["s"], include=["SETTINGS"])["clusters"][0]
    assert d["settings"] == [{"name": "containerInsights", "value": "enabled"}]


def test_put_cluster_capacity_providers(ecs):
    ecs.create_cluster(clusterName="cp")
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0}]
    c = ecs.put_cluster_capacity_providers(cluster="cp", capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                           defaultCapacityProviderStrategy=strategy)["cluster"]
    assert c["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert c["defaultCapacityProviderStrategy"] == strategy
    # An empty list removes them all.
    c = ecs.put_cluster_capacity_providers(cluster="cp", capacityProviders=[], defaultCapacityProviderStrategy=[])["cluster"]
    assert c["capacityProviders"] == [] and c["defaultCapacityProviderStrategy"] == []


@pytest.mark.parametrize("providers, strategy", [
    (["NOPE"], []),
    (["FARGATE"], [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]),
    (["FARGATE", "FARGATE_SPOT"], [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                   {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 1}]),
    (["FARGATE"], [{"capacityProvider": "FARGATE", "weight": 1001}]),
    (["FARGATE"], [{"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "FARGATE", "weight": 2}]),
], ids=["unknown-provider", "strategy-outside-list", "two-bases", "weight-too-big", "provider-twice"])
def test_put_cluster_capacity_providers_refuses_bad_strategies(ecs, providers, strategy):
    ecs.create_cluster(clusterName="cp", capacityProviders=["FARGATE"])
    with raises_aws("InvalidParameterException"):
        ecs.put_cluster_capacity_providers(cluster="cp", capacityProviders=providers,
                                           defaultCapacityProviderStrategy=strategy)
    # Bad input changes nothing.
    c = ecs.describe_clusters(clusters=["cp"])["clusters"][0]
    assert c["capacityProviders"] == ["FARGATE"]

"""Clusters through the aws CLI, as users type it: shorthand arguments, the
CLI's own pagination (--page-size, --max-items, --starting-token) and its
error lines."""

import json
import subprocess
import sys

import harness
from harness import assert_cli_error, assert_cli_ok

ARN = "arn:aws:ecs:us-east-1:000000000000:cluster/{}"


def test_create_describe_delete(aws):
    out = assert_cli_ok(aws("ecs", "create-cluster", "--cluster-name", "web", "--tags", "key=team,value=blue",
                            "--settings", "name=containerInsights,value=enabled"))
    assert out["cluster"]["clusterArn"] == ARN.format("web")
    assert out["cluster"]["status"] == "ACTIVE"

    out = assert_cli_ok(aws("ecs", "describe-clusters", "--clusters", "web", "nope", "--include", "TAGS", "SETTINGS"))
    [cluster] = out["clusters"]
    assert cluster["tags"] == [{"key": "team", "value": "blue"}]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert out["failures"] == [{"arn": ARN.format("nope"), "reason": "MISSING"}]

    out = assert_cli_ok(aws("ecs", "delete-cluster", "--cluster", "web"))
    assert out["cluster"]["status"] == "INACTIVE"
    assert_cli_error(aws("ecs", "delete-cluster", "--cluster", "web"), "ClusterNotFoundException")


def test_create_refuses_a_bad_name(aws):
    err = assert_cli_error(aws("ecs", "create-cluster", "--cluster-name", "no spaces allowed"), "InvalidParameterException")
    assert "CreateCluster" in err


def test_list_follows_every_page_by_itself(aws, ecs):
    names = [f"c{i}" for i in range(5)]
    for n in names:
        ecs.create_cluster(clusterName=n)
    # --page-size only changes how many come per request: the CLI follows
    # nextToken and prints them all.
    out = assert_cli_ok(aws("ecs", "list-clusters", "--page-size", "2"))
    assert sorted(out["clusterArns"]) == sorted(ARN.format(n) for n in names)
    assert "nextToken" not in out and "NextToken" not in out


def test_list_with_max_items_and_starting_token(aws, ecs):
    for i in range(5):
        ecs.create_cluster(clusterName=f"m{i}")
    first = assert_cli_ok(aws("ecs", "list-clusters", "--max-items", "3", "--page-size", "2"))
    assert len(first["clusterArns"]) == 3
    token = first["NextToken"]
    rest = assert_cli_ok(aws("ecs", "list-clusters", "--starting-token", token, "--page-size", "2"))
    got = first["clusterArns"] + rest["clusterArns"]
    assert sorted(got) == sorted(ARN.format(f"m{i}") for i in range(5))


def test_list_with_no_paginate_shows_the_service_token(aws, ecs):
    for i in range(3):
        ecs.create_cluster(clusterName=f"n{i}")
    out = assert_cli_ok(aws("ecs", "list-clusters", "--no-paginate", "--max-results", "2"))
    assert len(out["clusterArns"]) == 2 and out["nextToken"]


def test_update_cluster(aws, ecs):
    ecs.create_cluster(clusterName="u")
    out = assert_cli_ok(aws("ecs", "update-cluster", "--cluster", "u",
                            "--settings", "name=containerInsights,value=enhanced",
                            "--configuration", json.dumps({"executeCommandConfiguration": {"logging": "DEFAULT"}})))
    assert out["cluster"]["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert out["cluster"]["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    r = aws("ecs", "update-cluster", "--cluster", "missing", "--settings", "name=containerInsights,value=enabled")
    assert_cli_error(r, "ClusterNotFoundException")


def test_update_cluster_settings(aws, ecs):
    ecs.create_cluster(clusterName="s")
    out = assert_cli_ok(aws("ecs", "update-cluster-settings", "--cluster", "s",
                            "--settings", "name=containerInsights,value=enabled"))
    assert out["cluster"]["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    r = aws("ecs", "update-cluster-settings", "--cluster", "s", "--settings", "name=containerInsights,value=loud")
    assert_cli_error(r, "InvalidParameterException")
    r = aws("ecs", "update-cluster-settings", "--cluster", "gone", "--settings", "name=containerInsights,value=enabled")
    assert_cli_error(r, "ClusterNotFoundException")


def test_put_cluster_capacity_providers(aws, ecs):
    ecs.create_cluster(clusterName="cp")
    out = assert_cli_ok(aws("ecs", "put-cluster-capacity-providers", "--cluster", "cp",
                            "--capacity-providers", "FARGATE", "FARGATE_SPOT",
                            "--default-capacity-provider-strategy",
                            "capacityProvider=FARGATE,weight=1,base=1", "capacityProvider=FARGATE_SPOT,weight=4"))
    assert out["cluster"]["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert [s["capacityProvider"] for s in out["cluster"]["defaultCapacityProviderStrategy"]] == ["FARGATE", "FARGATE_SPOT"]
    r = aws("ecs", "put-cluster-capacity-providers", "--cluster", "cp", "--capacity-providers", "NOPE",
            "--default-capacity-provider-strategy", "capacityProvider=NOPE,weight=1")
    assert_cli_error(r, "InvalidParameterException")
    r = aws("ecs", "put-cluster-capacity-providers", "--cluster", "nope", "--capacity-providers", "FARGATE",
            "--default-capacity-provider-strategy", "capacityProvider=FARGATE,weight=1")
    assert_cli_error(r, "ClusterNotFoundException")


def test_describe_clusters_with_statistics_and_all_includes(aws, ecs):
    ecs.create_cluster(clusterName="st")
    out = assert_cli_ok(aws("ecs", "describe-clusters", "--clusters", "st",
                            "--include", "ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"))
    stats = {s["name"]: s["value"] for s in out["clusters"][0]["statistics"]}
    assert stats.get("runningFargateTasksCount") == "0", stats


def test_the_cli_reads_the_endpoint_from_the_environment(ecsbox, ecs):
    """AWS_ENDPOINT_URL (supported by awscli v1 >= 1.29) instead of --endpoint-url."""
    ecs.create_cluster(clusterName="via-env")
    env = harness.isolated_environ()
    env.update(AWS_ENDPOINT_URL=ecsbox.endpoint, AWS_ACCESS_KEY_ID="AKIDTEST",
               AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    p = subprocess.run([sys.executable, "-m", "awscli", "ecs", "list-clusters", "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["clusterArns"] == [ARN.format("via-env")]

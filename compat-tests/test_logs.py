"""CloudWatch Logs on ecsbox's port, driven by boto3's `logs` client and the
`aws logs` CLI as users drive them: their own shapes, paginators and error
handling, against the real binary."""

import time

import boto3
import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

GROUP_ARN = "arn:aws:logs:us-east-1:000000000000:log-group:{}"


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def logs(endpoint):
    session = boto3.session.Session(aws_access_key_id=harness.DEFAULT_AKID,
                                    aws_secret_access_key=harness.DEFAULT_SECRET,
                                    region_name=harness.DEFAULT_REGION)
    return session.client("logs", endpoint_url=endpoint, config=harness.boto_config())


def put(logs, group, stream, *messages, start=None):
    """Puts `messages` one millisecond apart; returns their first timestamp."""
    start = start if start is not None else now_ms() - 60_000
    events = [{"timestamp": start + i, "message": m} for i, m in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    return start


# ------------------------------------------------------------------- boto3

def test_group_and_stream_lifecycle(logs):
    logs.create_log_group(logGroupName="/ecs/web", tags={"team": "blue"})
    [group] = logs.describe_log_groups()["logGroups"]
    assert group["logGroupName"] == "/ecs/web"
    assert group["arn"] == GROUP_ARN.format("/ecs/web") + ":*"
    assert group["logGroupArn"] == GROUP_ARN.format("/ecs/web")
    assert logs.list_tags_for_resource(resourceArn=group["logGroupArn"])["tags"] == {"team": "blue"}

    logs.create_log_stream(logGroupName="/ecs/web", logStreamName="web/app/1")
    [stream] = logs.describe_log_streams(logGroupName="/ecs/web")["logStreams"]
    assert stream["logStreamName"] == "web/app/1"

    with raises_aws("ResourceAlreadyExistsException"):
        logs.create_log_group(logGroupName="/ecs/web")
    # boto3 knows the Logs service's own exception classes.
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as e:
        logs.create_log_stream(logGroupName="/ecs/none", logStreamName="s")
    assert e.value.response["Error"]["Message"] == "The specified log group does not exist."

    logs.delete_log_group(logGroupName="/ecs/web")
    assert logs.describe_log_groups()["logGroups"] == []


def test_put_and_get_log_events_in_order(logs):
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    answer = logs.put_log_events(logGroupName="g", logStreamName="s",
                                 logEvents=[{"timestamp": now_ms() - 1000, "message": "first"},
                                            {"timestamp": now_ms(), "message": "second"}])
    assert answer["nextSequenceToken"]
    assert "rejectedLogEventsInfo" not in answer
    got = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["first", "second"]
    assert got["nextForwardToken"].startswith("f/") and got["nextBackwardToken"].startswith("b/")
    # At the end of the stream the same forward token comes back.
    again = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True,
                                nextToken=got["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == got["nextForwardToken"]


def test_put_log_events_refuses_unordered_batches(logs):
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms()
    with raises_aws("InvalidParameterException") as e:
        logs.put_log_events(logGroupName="g", logStreamName="s",
                            logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 5, "message": "a"}])
    assert "chronological order" in str(e.value)
    with raises_aws("ResourceNotFoundException") as e:
        logs.put_log_events(logGroupName="g", logStreamName="nope", logEvents=[{"timestamp": t, "message": "x"}])
    assert "log stream does not exist" in str(e.value)
    assert logs.get_log_events(logGroupName="g", logStreamName="s")["events"] == []


def test_filter_paginator_interleaves_and_reaches_every_match(logs):
    logs.create_log_group(logGroupName="g")
    for s in ("a", "b"):
        logs.create_log_stream(logGroupName="g", logStreamName=s)
    t = now_ms() - 60_000
    logs.put_log_events(logGroupName="g", logStreamName="a",
                        logEvents=[{"timestamp": t + i * 2, "message": f"ERROR a{i}"} for i in range(5)])
    logs.put_log_events(logGroupName="g", logStreamName="b",
                        logEvents=[{"timestamp": t + i * 2 + 1, "message": f"ERROR b{i}"} for i in range(5)]
                        + [{"timestamp": t + 20, "message": "INFO fine"}])
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName="g", filterPattern="ERROR",
                                                             PaginationConfig={"PageSize": 3})
    got = [e["message"] for page in pages for e in page["events"]]
    assert got == [f"ERROR {s}{i}" for i in range(5) for s in ("a", "b")]

    either = logs.filter_log_events(logGroupName="g", filterPattern="?a3 ?fine")
    assert [e["message"] for e in either["events"]] == ["ERROR a3", "INFO fine"]
    phrase = logs.filter_log_events(logGroupName="g", filterPattern='"INFO fine"', logStreamNames=["b"])
    assert [e["logStreamName"] for e in phrase["events"]] == ["b"]


def test_describe_paginators_follow_tokens(logs):
    names = [f"/app/{i:02d}" for i in range(7)]
    for n in names:
        logs.create_log_group(logGroupName=n)
    pages = logs.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": 3})
    assert [g["logGroupName"] for p in pages for g in p["logGroups"]] == names

    for i in range(4):
        logs.create_log_stream(logGroupName="/app/00", logStreamName=f"s{i}")
    pages = logs.get_paginator("describe_log_streams").paginate(logGroupName="/app/00", descending=True,
                                                                PaginationConfig={"PageSize": 3})
    assert [s["logStreamName"] for p in pages for s in p["logStreams"]] == ["s3", "s2", "s1", "s0"]


def test_retention_and_tags(logs):
    logs.create_log_group(logGroupName="g")
    logs.put_retention_policy(logGroupName="g", retentionInDays=30)
    assert logs.describe_log_groups()["logGroups"][0]["retentionInDays"] == 30
    with raises_aws("InvalidParameterException"):
        logs.put_retention_policy(logGroupName="g", retentionInDays=31)
    logs.delete_retention_policy(logGroupName="g")
    assert "retentionInDays" not in logs.describe_log_groups()["logGroups"][0]

    logs.tag_resource(resourceArn=GROUP_ARN.format("g"), tags={"a": "1", "b": "2"})
    logs.untag_resource(resourceArn=GROUP_ARN.format("g"), tagKeys=["a"])
    assert logs.list_tags_log_group(logGroupName="g")["tags"] == {"b": "2"}


def test_unimplemented_operation_names_itself(logs):
    with raises_aws("InvalidOperationException") as e:
        logs.describe_metric_filters(logGroupName="g")
    assert "DescribeMetricFilters" in str(e.value)


# ------------------------------------------------------------------- aws CLI

def test_cli_round_trip(aws):
    assert_cli_ok(aws("logs", "create-log-group", "--log-group-name", "/ecs/cli"))
    assert_cli_ok(aws("logs", "create-log-stream", "--log-group-name", "/ecs/cli", "--log-stream-name", "web/1"))
    t = now_ms() - 5000
    out = assert_cli_ok(aws("logs", "put-log-events", "--log-group-name", "/ecs/cli", "--log-stream-name", "web/1",
                            "--log-events", f"timestamp={t},message=hello", f"timestamp={t + 1},message=world"))
    assert out["nextSequenceToken"]
    out = assert_cli_ok(aws("logs", "get-log-events", "--log-group-name", "/ecs/cli", "--log-stream-name", "web/1",
                            "--start-from-head"))
    assert [e["message"] for e in out["events"]] == ["hello", "world"]
    out = assert_cli_ok(aws("logs", "filter-log-events", "--log-group-name", "/ecs/cli", "--filter-pattern", "world"))
    assert [e["message"] for e in out["events"]] == ["world"]
    out = assert_cli_ok(aws("logs", "describe-log-streams", "--log-group-name", "/ecs/cli",
                            "--order-by", "LastEventTime", "--descending"))
    assert out["logStreams"][0]["lastEventTimestamp"] == t + 1
    assert_cli_ok(aws("logs", "delete-log-group", "--log-group-name", "/ecs/cli"))
    assert_cli_error(aws("logs", "delete-log-group", "--log-group-name", "/ecs/cli"), "ResourceNotFoundException")


def test_cli_follows_filter_pages_by_itself(aws, logs):
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    put(logs, "g", "s", *[f"line {i}" for i in range(7)])
    out = assert_cli_ok(aws("logs", "filter-log-events", "--log-group-name", "g", "--page-size", "2"))
    assert [e["message"] for e in out["events"]] == [f"line {i}" for i in range(7)]
    assert "nextToken" not in out


def test_cli_reports_the_logs_services_errors(aws):
    assert_cli_ok(aws("logs", "create-log-group", "--log-group-name", "g"))
    err = assert_cli_error(aws("logs", "put-retention-policy", "--log-group-name", "g", "--retention-in-days", "2"),
                           "InvalidParameterException")
    assert "retentionInDays" in err
    assert_cli_error(aws("logs", "create-log-group", "--log-group-name", "g"), "ResourceAlreadyExistsException")
    err = assert_cli_error(aws("logs", "get-log-events", "--log-group-name", "g", "--log-stream-name", "none"),
                           "ResourceNotFoundException")
    assert "The specified log stream does not exist." in err


def test_log_groups_are_per_region(aws):
    assert_cli_ok(aws("logs", "create-log-group", "--log-group-name", "here"))
    out = assert_cli_ok(aws("logs", "describe-log-groups", region="eu-west-1"))
    assert out["logGroups"] == []

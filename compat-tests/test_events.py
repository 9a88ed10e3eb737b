"""Amazon EventBridge on the ecsbox port (AWS JSON 1.1), through boto3 and
the aws CLI: rules with patterns and schedules, targets, PutEvents into a
log group, TestEventPattern, the errors in EventBridge's codes and words,
and ecsbox's clock endpoint that makes a schedule fire without waiting."""

import json
import time

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

ACCOUNT = harness.DEFAULT_ACCOUNT
REGION = harness.DEFAULT_REGION


@pytest.fixture
def events(endpoint):
    return harness.aws_client(endpoint, "events")


@pytest.fixture
def logs(endpoint):
    return harness.aws_client(endpoint, "logs")


def group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


def wait_for_messages(logs, group: str, count: int, within: float = 10) -> list:
    deadline = time.monotonic() + within
    while True:
        got = logs.filter_log_events(logGroupName=group)["events"]
        if len(got) >= count:
            return [json.loads(e["message"]) for e in got]
        assert time.monotonic() < deadline, f"{group}: {got}"
        time.sleep(0.02)


def test_rules_targets_and_their_errors(events):
    arn = events.put_rule(Name="stops", EventPattern=json.dumps({"source": ["aws.ecs"]}))["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/stops"
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 2 * * ? *)", State="DISABLED")
    rule = events.describe_rule(Name="nightly")
    assert (rule["State"], rule["ScheduleExpression"], rule["EventBusName"]) == ("DISABLED", "cron(0 2 * * ? *)", "default")
    pages = events.get_paginator("list_rules").paginate(PaginationConfig={"PageSize": 1})
    assert [r["Name"] for p in pages for r in p["Rules"]] == ["nightly", "stops"]
    assert [r["Name"] for r in events.list_rules(NamePrefix="st")["Rules"]] == ["stops"]

    out = events.put_targets(Rule="stops", Targets=[{"Id": "l", "Arn": group_arn("/x")}])
    assert out["FailedEntryCount"] == 0
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="stops")["Targets"]] == ["l"]
    # AWS's wording (getmoto/moto#5056, hashicorp/terraform-provider-aws#18519).
    with raises_aws("ValidationException") as e:
        events.delete_rule(Name="stops")
    assert e.value.response["Error"]["Message"] == "Rule can't be deleted since it has targets."
    events.remove_targets(Rule="stops", Ids=["l"])
    events.delete_rule(Name="stops")
    with raises_aws("ResourceNotFoundException") as e:
        events.describe_rule(Name="stops")
    assert e.value.response["Error"]["Message"] == "Rule stops does not exist on EventBus default."

    with raises_aws("InvalidEventPatternException") as e:
        events.put_rule(Name="bad", EventPattern='{"source": "aws.ec2"}')
    assert e.value.response["Error"]["Message"].startswith(
        'Event pattern is not valid. Reason: "source" must be an object or an array')
    with raises_aws("ValidationException") as e:
        events.put_rule(Name="bad", ScheduleExpression="rate(1 minutes)")
    assert e.value.response["Error"]["Message"].startswith("Parameter ScheduleExpression is not valid.")
    events.create_event_bus(Name="orders")
    with raises_aws("ValidationException") as e:
        events.put_rule(Name="bad", EventBusName="orders", ScheduleExpression="rate(1 minute)")
    assert e.value.response["Error"]["Message"] == "ScheduleExpression is supported only on the default event bus."
    with raises_aws("ResourceAlreadyExistsException"):
        events.create_event_bus(Name="orders")
    assert {b["Name"] for b in events.list_event_buses()["EventBuses"]} == {"default", "orders"}

    events.tag_resource(ResourceARN=events.describe_event_bus(Name="orders")["Arn"], Tags=[{"Key": "k", "Value": "v"}])
    assert events.list_tags_for_resource(ResourceARN=f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders")["Tags"] == [
        {"Key": "k", "Value": "v"}]


def test_put_events_reach_a_log_group(events, logs):
    logs.create_log_group(logGroupName="/events/orders")
    events.put_rule(Name="big", EventPattern=json.dumps(
        {"source": ["shop"], "detail": {"total": [{"numeric": [">=", 100]}], "kind": [{"anything-but": "test"}]}}))
    events.put_targets(Rule="big", Targets=[
        {"Id": "raw", "Arn": group_arn("/events/orders")},
        {"Id": "shaped", "Arn": group_arn("/events/orders"), "InputTransformer": {
            "InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '{"order": "<id>"}'}},
    ])
    out = events.put_events(Entries=[
        {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"id": "o-1", "total": 250, "kind": "real"})},
        {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"id": "o-2", "total": 250, "kind": "test"})},
        {"Source": "shop", "DetailType": "Order", "Detail": "{not json"},
    ])
    assert out["FailedEntryCount"] == 1
    assert out["Entries"][2]["ErrorCode"] == "MalformedDetail"
    messages = wait_for_messages(logs, "/events/orders", 2)
    assert {"order": "o-1"} in messages
    raw = next(m for m in messages if "detail" in m)
    assert raw["id"] == out["Entries"][0]["EventId"]
    assert (raw["source"], raw["detail-type"], raw["account"], raw["region"]) == ("shop", "Order", ACCOUNT, REGION)


def test_test_event_pattern(events):
    event = json.dumps({"id": "1", "account": ACCOUNT, "source": "aws.ecs", "time": "2024-01-01T00:00:00Z",
                        "region": REGION, "resources": [], "detail-type": "ECS Task State Change",
                        "detail": {"lastStatus": "STOPPED", "group": "family:web"}})
    assert events.test_event_pattern(EventPattern=json.dumps(
        {"detail": {"lastStatus": ["STOPPED"], "group": [{"prefix": "family:"}]}}), Event=event)["Result"] is True
    assert events.test_event_pattern(EventPattern=json.dumps(
        {"$or": [{"source": ["x"]}, {"detail": {"group": [{"wildcard": "*:api"}]}}]}), Event=event)["Result"] is False
    with raises_aws("InvalidEventPatternException"):
        events.test_event_pattern(EventPattern='{"detail": {}}', Event=event)


def test_the_cli_drives_rules_and_events(aws, logs):
    logs.create_log_group(logGroupName="/cli")
    out = assert_cli_ok(aws("events", "put-rule", "--name", "cli", "--event-pattern", '{"source": ["cli"]}'))
    assert out["RuleArn"].endswith(":rule/cli")
    assert_cli_ok(aws("events", "put-targets", "--rule", "cli", "--targets", f"Id=l,Arn={group_arn('/cli')}"))
    rules = assert_cli_ok(aws("events", "list-rules"))["Rules"]
    assert [r["Name"] for r in rules] == ["cli"]
    put = assert_cli_ok(aws("events", "put-events", "--entries",
                            json.dumps([{"Source": "cli", "DetailType": "t", "Detail": '{"a": 1}'}])))
    assert put["FailedEntryCount"] == 0
    assert wait_for_messages(logs, "/cli", 1)[0]["detail"] == {"a": 1}
    result = assert_cli_ok(aws("events", "test-event-pattern", "--event-pattern", '{"source": ["cli"]}', "--event",
                               json.dumps({"id": "1", "account": ACCOUNT, "source": "cli", "time": "2024-01-01T00:00:00Z",
                                           "region": REGION, "resources": [], "detail-type": "t", "detail": {}})))
    assert result["Result"] is True
    err = assert_cli_error(aws("events", "delete-rule", "--name", "cli"), "ValidationException")
    assert "Rule can't be deleted since it has targets." in err
    assert_cli_error(aws("events", "describe-rule", "--name", "nope"), "ResourceNotFoundException")
    assert_cli_error(aws("events", "put-rule", "--name", "x", "--schedule-expression", "rate(0 minutes)"),
                     "ValidationException")


def test_the_clock_endpoint_fires_a_schedule(start_ecsbox):
    # Its own server: the clock only moves forward, and an hour's advance on
    # the shared server would age every later test's timestamps.
    endpoint = start_ecsbox().endpoint
    events = harness.aws_client(endpoint, "events")
    logs = harness.aws_client(endpoint, "logs")
    logs.create_log_group(logGroupName="/ticks")
    events.put_rule(Name="tick", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="tick", Targets=[{"Id": "l", "Arn": group_arn("/ticks")}])
    before = harness.http_request(endpoint, "GET", "/_ecsbox/clock").json()
    r = harness.http_request(endpoint, "POST", "/_ecsbox/clock/advance", json.dumps({"seconds": 3601}).encode(),
                             {"content-type": "application/json"})
    assert r.status == 200, r.body
    after = r.json()
    assert after["offsetSeconds"] >= before["offsetSeconds"] + 3601
    assert after["now"] >= before["now"] + 3601
    tick = wait_for_messages(logs, "/ticks", 1)[0]
    assert (tick["source"], tick["detail-type"], tick["detail"]) == ("aws.events", "Scheduled Event", {})
    assert tick["resources"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick"]
    for bad in [b"", b"{}", b'{"seconds": 0}', b'{"seconds": -1}', b'{"seconds": "x"}']:
        r = harness.http_request(endpoint, "POST", "/_ecsbox/clock/advance", bad)
        assert r.status == 400, bad
        assert r.error_type == "ValidationException"

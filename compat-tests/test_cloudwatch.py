"""CloudWatch metrics on the ecsbox port, in all three protocols its model
lists: Smithy RPC v2 CBOR (what boto3 and the aws CLI of botocore 1.44
speak), JSON 1.0 and query (what older SDKs speak). The JSON and query
clients are botocore clients of the same pinned model with its protocol
switched, so they send exactly what an SDK of that protocol sends."""

import datetime
import gzip
import json
import os
import shutil
import tempfile

import botocore
import botocore.session
import pytest

import harness
from harness import assert_cli_ok, raises_aws


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture(scope="module")
def model_dirs():
    """A botocore data directory per protocol, holding the CloudWatch model
    with that protocol first."""
    source = os.path.join(os.path.dirname(botocore.__file__), "data", "cloudwatch", "2010-08-01", "service-2.json.gz")
    model = json.loads(gzip.decompress(open(source, "rb").read()))
    dirs = {}
    for protocol in ("json", "query"):
        d = tempfile.mkdtemp(prefix=f"cloudwatch-{protocol}-")
        os.makedirs(f"{d}/cloudwatch/2010-08-01")
        switched = dict(model, metadata=dict(model["metadata"], protocol=protocol, protocols=[protocol]))
        with open(f"{d}/cloudwatch/2010-08-01/service-2.json", "w") as f:
            json.dump(switched, f)
        dirs[protocol] = d
    yield dirs
    for d in dirs.values():
        shutil.rmtree(d)


@pytest.fixture(params=["smithy-rpc-v2-cbor", "json", "query"])
def cloudwatch(request, endpoint, model_dirs):
    if request.param == "smithy-rpc-v2-cbor":
        client = harness.aws_client(endpoint, "cloudwatch")
    else:
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, model_dirs[request.param])
        client = session.create_client("cloudwatch", endpoint_url=endpoint, region_name=harness.DEFAULT_REGION,
                                       aws_access_key_id=harness.DEFAULT_AKID, aws_secret_access_key=harness.DEFAULT_SECRET,
                                       config=harness.boto_config())
    assert client.meta.service_model.protocol == request.param
    return client


def put_latency(cloudwatch, values, at=None, service="web"):
    at = at or utc_now()
    cloudwatch.put_metric_data(Namespace="App", MetricData=[
        {"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": service}], "Value": v,
         "Unit": "Milliseconds", "Timestamp": at} for v in values])
    return at


def statistics(cloudwatch, at, **kw):
    return cloudwatch.get_metric_statistics(
        Namespace="App", MetricName="Latency", Dimensions=[{"Name": "Service", "Value": "web"}],
        StartTime=at - datetime.timedelta(minutes=10), EndTime=at + datetime.timedelta(minutes=10), Period=60, **kw)


def test_put_then_list_and_statistics(cloudwatch):
    at = put_latency(cloudwatch, [10, 20, 30, 40])
    metrics = cloudwatch.list_metrics(Namespace="App")["Metrics"]
    assert metrics == [{"Namespace": "App", "MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "web"}]}]
    out = statistics(cloudwatch, at, Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    assert out["Label"] == "Latency"
    [point] = out["Datapoints"]
    assert (point["SampleCount"], point["Sum"], point["Average"], point["Minimum"], point["Maximum"]) == (4, 100, 25, 10, 40)
    assert point["Unit"] == "Milliseconds"
    # The datapoint sits on the start of its minute, as CloudWatch aligns them.
    assert point["Timestamp"].second == 0 and point["Timestamp"].microsecond == 0
    assert point["Timestamp"] <= at < point["Timestamp"] + datetime.timedelta(minutes=1)


def test_percentiles_and_periods(cloudwatch):
    at = put_latency(cloudwatch, range(1, 101))
    put_latency(cloudwatch, [500], at=at + datetime.timedelta(minutes=2))
    out = statistics(cloudwatch, at, ExtendedStatistics=["p50", "p90"])
    points = sorted(out["Datapoints"], key=lambda p: p["Timestamp"])
    assert [p["ExtendedStatistics"] for p in points] == [{"p50": 50, "p90": 90}, {"p50": 500, "p90": 500}]


def test_list_metrics_filters(cloudwatch):
    put_latency(cloudwatch, [1], service="web")
    put_latency(cloudwatch, [1], service="api")
    cloudwatch.put_metric_data(Namespace="Other", MetricData=[{"MetricName": "Count", "Value": 1}])
    assert len(cloudwatch.list_metrics(Namespace="App")["Metrics"]) == 2
    only_api = cloudwatch.list_metrics(Dimensions=[{"Name": "Service", "Value": "api"}])["Metrics"]
    assert [m["Dimensions"] for m in only_api] == [[{"Name": "Service", "Value": "api"}]]
    assert len(cloudwatch.list_metrics(Dimensions=[{"Name": "Service"}])["Metrics"]) == 2
    assert [m["Namespace"] for m in cloudwatch.list_metrics(MetricName="Count")["Metrics"]] == ["Other"]
    assert len(cloudwatch.list_metrics(RecentlyActive="PT3H")["Metrics"]) == 3


def test_aws_namespaces_are_refused(cloudwatch):
    # ecsbox's words; AWS refuses a namespace starting with AWS/ with InvalidParameterValue.
    with raises_aws("InvalidParameterValue") as e:
        cloudwatch.put_metric_data(Namespace="AWS/ECS", MetricData=[{"MetricName": "CPUUtilization", "Value": 1}])
    assert "AWS/ECS" in e.value.response["Error"]["Message"]
    assert cloudwatch.list_metrics()["Metrics"] == []


def test_statistics_checks_its_inputs(cloudwatch):
    at = utc_now()
    with raises_aws("InvalidParameterValue"):
        cloudwatch.get_metric_statistics(
            Namespace="App", MetricName="Latency", StartTime=at, EndTime=at + datetime.timedelta(minutes=5),
            Period=7, Statistics=["Average"])
    with raises_aws("InvalidParameterValue"):
        cloudwatch.get_metric_statistics(Namespace="App", MetricName="Latency", StartTime=at, EndTime=at,
                                         Period=60, Statistics=["Average"])
    with raises_aws("InvalidParameterCombination"):
        cloudwatch.get_metric_statistics(Namespace="App", MetricName="Latency", StartTime=at - datetime.timedelta(days=2),
                                         EndTime=at, Period=60, Statistics=["Average"])


def test_an_operation_not_built_names_itself(cloudwatch):
    with raises_aws("InvalidAction") as e:
        cloudwatch.list_dashboards()
    assert "ListDashboards" in e.value.response["Error"]["Message"]


def test_a_large_put_is_gzipped_by_botocore_and_read(endpoint):
    # botocore compresses PutMetricData bodies of 10 KiB or more
    # (requestcompression in the model); 500 data points are well over it.
    cloudwatch = harness.aws_client(endpoint, "cloudwatch")
    at = utc_now()
    data = [{"MetricName": f"M{i % 50}", "Value": float(i), "Timestamp": at} for i in range(500)]
    cloudwatch.put_metric_data(Namespace="Big", MetricData=data)
    paginator = cloudwatch.get_paginator("list_metrics")
    names = [m["MetricName"] for page in paginator.paginate(Namespace="Big") for m in page["Metrics"]]
    assert sorted(names) == sorted(f"M{i}" for i in range(50))


def test_the_cli(aws):
    assert_cli_ok(aws("cloudwatch", "put-metric-data", "--namespace", "Cli", "--metric-name", "Hits", "--value", "3",
                      "--dimensions", "Service=web"))
    out = assert_cli_ok(aws("cloudwatch", "list-metrics", "--namespace", "Cli"))
    assert out["Metrics"] == [{"Namespace": "Cli", "MetricName": "Hits", "Dimensions": [{"Name": "Service", "Value": "web"}]}]


# ---- alarms ---------------------------------------------------------------
# Alarm evaluation moves with ecsbox's clock (tests/cloudwatch_alarms.rs
# advances it); here the alarms treat missing data as `ignore`, so the
# background evaluation (once a minute) never changes the states these
# tests set.

POLICY = ("arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:0f1e:"
          "resource/ecs/service/c/web:policyName/out")
TOPIC = "arn:aws:sns:us-east-1:000000000000:ops"


def put_alarm(cloudwatch, name, **kw):
    args = dict(AlarmName=name, Namespace="App", MetricName="Latency",
                Dimensions=[{"Name": "Service", "Value": "web"}], Statistic="Average", Period=60,
                EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=50.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="ignore",
                AlarmActions=[TOPIC])
    args.update(kw)
    cloudwatch.put_metric_alarm(**args)


def test_alarm_lifecycle(cloudwatch):
    put_alarm(cloudwatch, "latency-high", Tags=[{"Key": "team", "Value": "web"}])
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["latency-high"])["MetricAlarms"]
    assert alarm["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:latency-high"
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Threshold"]) == (3, 2, 50.0)
    assert alarm["ActionsEnabled"] is True and alarm["AlarmActions"] == [TOPIC]
    assert alarm["Dimensions"] == [{"Name": "Service", "Value": "web"}]
    tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "web"}]

    # An update keeps the state; the history says created, then updated.
    cloudwatch.set_alarm_state(AlarmName="latency-high", StateValue="OK", StateReason="checked by hand")
    put_alarm(cloudwatch, "latency-high", Threshold=80.0)
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["latency-high"])["MetricAlarms"]
    assert (alarm["StateValue"], alarm["Threshold"]) == ("OK", 80.0)
    config = cloudwatch.describe_alarm_history(AlarmName="latency-high", HistoryItemType="ConfigurationUpdate")
    summaries = [h["HistorySummary"] for h in config["AlarmHistoryItems"]]
    assert summaries == ['Alarm "latency-high" updated', 'Alarm "latency-high" created']
    data = json.loads(config["AlarmHistoryItems"][0]["HistoryData"])
    assert data["type"] == "Update" and data["originalAlarm"]["threshold"] == 50.0

    by_metric = cloudwatch.describe_alarms_for_metric(
        Namespace="App", MetricName="Latency", Dimensions=[{"Name": "Service", "Value": "web"}])
    assert [a["AlarmName"] for a in by_metric["MetricAlarms"]] == ["latency-high"]
    assert cloudwatch.describe_alarms_for_metric(Namespace="App", MetricName="Other")["MetricAlarms"] == []

    cloudwatch.delete_alarms(AlarmNames=["latency-high"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    # The history outlives the alarm (CloudWatch keeps it two weeks).
    items = cloudwatch.describe_alarm_history(AlarmName="latency-high")["AlarmHistoryItems"]
    assert items[0]["HistorySummary"] == 'Alarm "latency-high" deleted'


def test_set_alarm_state_records_the_update_and_the_actions(cloudwatch):
    put_alarm(cloudwatch, "with-topic")
    cloudwatch.set_alarm_state(AlarmName="with-topic", StateValue="ALARM", StateReason="testing purposes",
                               StateReasonData='{"by": "test"}')
    [alarm] = cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert (alarm["AlarmName"], alarm["StateReason"]) == ("with-topic", "testing purposes")
    assert json.loads(alarm["StateReasonData"]) == {"by": "test"}
    items = cloudwatch.describe_alarm_history(AlarmName="with-topic")["AlarmHistoryItems"]
    kinds = [(h["HistoryItemType"], h["HistorySummary"]) for h in items]
    # Newest first: the action (an SNS topic ecsbox cannot publish to is a
    # failed action, not a silent one), the state update, the creation.
    assert kinds[0][0] == "Action" and kinds[0][1].startswith(f"Failed to execute action {TOPIC}")
    assert kinds[1] == ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM")
    assert kinds[2] == ("ConfigurationUpdate", 'Alarm "with-topic" created')
    update = json.loads(items[1]["HistoryData"])
    assert update["oldState"] == {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"}
    assert update["newState"]["stateValue"] == "ALARM"
    ascending = cloudwatch.describe_alarm_history(AlarmName="with-topic", ScanBy="TimestampAscending")
    assert ascending["AlarmHistoryItems"][0]["HistoryItemType"] == "ConfigurationUpdate"

    # With actions disabled, a transition runs none.
    cloudwatch.disable_alarm_actions(AlarmNames=["with-topic"])
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["with-topic"])["MetricAlarms"]
    assert alarm["ActionsEnabled"] is False
    cloudwatch.set_alarm_state(AlarmName="with-topic", StateValue="OK", StateReason="back")
    actions = cloudwatch.describe_alarm_history(AlarmName="with-topic", HistoryItemType="Action")
    assert len(actions["AlarmHistoryItems"]) == 1
    cloudwatch.enable_alarm_actions(AlarmNames=["with-topic"])
    assert cloudwatch.describe_alarms(AlarmNames=["with-topic"])["MetricAlarms"][0]["ActionsEnabled"] is True


def test_describe_alarms_filters_and_pages(cloudwatch):
    for name in ["api-cpu", "api-mem", "web-cpu"]:
        put_alarm(cloudwatch, name, AlarmActions=[POLICY] if name == "web-cpu" else [TOPIC])
    names = lambda out: [a["AlarmName"] for a in out["MetricAlarms"]]
    assert names(cloudwatch.describe_alarms(AlarmNamePrefix="api-")) == ["api-cpu", "api-mem"]
    assert names(cloudwatch.describe_alarms(ActionPrefix="arn:aws:autoscaling:")) == ["web-cpu"]
    assert names(cloudwatch.describe_alarms(StateValue="OK")) == []
    first = cloudwatch.describe_alarms(MaxRecords=2)
    assert names(first) == ["api-cpu", "api-mem"] and first["NextToken"]
    assert names(cloudwatch.describe_alarms(MaxRecords=2, NextToken=first["NextToken"])) == ["web-cpu"]
    paginator = cloudwatch.get_paginator("describe_alarms")
    assert [n for page in paginator.paginate(PaginationConfig={"PageSize": 1}) for n in names(page)] == \
        ["api-cpu", "api-mem", "web-cpu"]
    assert cloudwatch.describe_alarms(AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == []


def test_alarm_errors(cloudwatch):
    # SetAlarmState of an alarm that does not exist: ResourceNotFound (the
    # model's error for it; the words are ecsbox's).
    with raises_aws("ResourceNotFound"):
        cloudwatch.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")
    with raises_aws("InvalidFormat"):
        put_alarm(cloudwatch, "a")
        cloudwatch.set_alarm_state(AlarmName="a", StateValue="OK", StateReason="x", StateReasonData="{not json")
    with raises_aws("InvalidParameterCombination"):
        put_alarm(cloudwatch, "b", ExtendedStatistic="p99")
    with raises_aws("InvalidParameterValue") as e:
        put_alarm(cloudwatch, "c", Period=45)
    assert "Period" in e.value.response["Error"]["Message"]
    with raises_aws("InvalidParameterValue") as e:
        put_alarm(cloudwatch, "d", EvaluationPeriods=1, DatapointsToAlarm=2)
    assert "DatapointsToAlarm" in e.value.response["Error"]["Message"]
    # A setting ecsbox cannot honour is refused by name.
    with raises_aws("InvalidParameterValue") as e:
        put_alarm(cloudwatch, "e", EvaluationInterval=60)
    assert "EvaluationInterval" in e.value.response["Error"]["Message"]
    with raises_aws("ResourceNotFoundException"):
        cloudwatch.list_tags_for_resource(ResourceARN="arn:aws:cloudwatch:us-east-1:000000000000:alarm:nope")
    # Deleting an alarm that does not exist is no error
    # (aws-cloudformation/cloudformation-cli#456).
    cloudwatch.delete_alarms(AlarmNames=["never-was"])
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]] == ["a"]


def test_get_metric_data_with_math(cloudwatch):
    at = utc_now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=5)
    cloudwatch.put_metric_data(Namespace="App", MetricData=[
        {"MetricName": "Errors", "Value": 2, "Timestamp": at + datetime.timedelta(seconds=1)},
        {"MetricName": "Errors", "Value": 6, "Timestamp": at + datetime.timedelta(seconds=61)},
        {"MetricName": "Requests", "Value": 10, "Timestamp": at + datetime.timedelta(seconds=1)},
        {"MetricName": "Requests", "Value": 12, "Timestamp": at + datetime.timedelta(seconds=61)},
    ])
    stat = lambda qid, name: {"Id": qid, "MetricStat": {"Metric": {"Namespace": "App", "MetricName": name},
                                                        "Period": 60, "Stat": "Sum"}, "ReturnData": False}
    out = cloudwatch.get_metric_data(
        MetricDataQueries=[stat("errors", "Errors"), stat("requests", "Requests"),
                           {"Id": "rate", "Expression": "100 * errors / requests", "Label": "Error rate"}],
        StartTime=at, EndTime=at + datetime.timedelta(minutes=2))
    [result] = out["MetricDataResults"]
    assert (result["Id"], result["Label"], result["StatusCode"]) == ("rate", "Error rate", "Complete")
    # Newest first (ScanBy TimestampDescending, the default).
    assert result["Timestamps"] == [at + datetime.timedelta(minutes=1), at]
    assert result["Values"] == [50.0, 20.0]
    asc = cloudwatch.get_metric_data(
        MetricDataQueries=[dict(stat("errors", "Errors"), ReturnData=True)],
        StartTime=at, EndTime=at + datetime.timedelta(minutes=2), ScanBy="TimestampAscending")
    assert asc["MetricDataResults"][0]["Values"] == [2.0, 6.0]
    with raises_aws("InvalidParameterValue") as e:
        cloudwatch.get_metric_data(
            MetricDataQueries=[stat("errors", "Errors"), {"Id": "f", "Expression": "FILL(errors, 0)"}],
            StartTime=at, EndTime=at + datetime.timedelta(minutes=2))
    assert "FILL" in e.value.response["Error"]["Message"]


def test_publishing_ecs_metrics_without_tasks_publishes_nothing(endpoint, cloudwatch):
    resp = harness.http_request(endpoint, "POST", "/_ecsbox/cloudwatch/publish-ecs-metrics")
    assert resp.status == 200 and json.loads(resp.body) == {"published": 0}
    assert cloudwatch.list_metrics(Namespace="AWS/ECS")["Metrics"] == []


def test_alarms_with_the_cli(aws):
    assert_cli_ok(aws("cloudwatch", "put-metric-alarm", "--alarm-name", "cli-cpu", "--namespace", "App",
                      "--metric-name", "CPU", "--statistic", "Average", "--period", "60",
                      "--evaluation-periods", "1", "--threshold", "70", "--treat-missing-data", "ignore",
                      "--comparison-operator", "GreaterThanThreshold", "--alarm-actions", TOPIC))
    out = assert_cli_ok(aws("cloudwatch", "describe-alarms", "--alarm-names", "cli-cpu"))
    assert out["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    assert_cli_ok(aws("cloudwatch", "set-alarm-state", "--alarm-name", "cli-cpu", "--state-value", "ALARM",
                      "--state-reason", "from the cli"))
    out = assert_cli_ok(aws("cloudwatch", "describe-alarm-history", "--alarm-name", "cli-cpu",
                            "--history-item-type", "StateUpdate"))
    assert out["AlarmHistoryItems"][0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    err = aws("cloudwatch", "set-alarm-state", "--alarm-name", "nope", "--state-value", "OK", "--state-reason", "x")
    harness.assert_cli_error(err, "ResourceNotFound")
    assert_cli_ok(aws("cloudwatch", "delete-alarms", "--alarm-names", "cli-cpu"))
    assert assert_cli_ok(aws("cloudwatch", "describe-alarms"))["MetricAlarms"] == []

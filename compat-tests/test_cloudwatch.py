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
        cloudwatch.describe_alarms()
    assert "DescribeAlarms" in e.value.response["Error"]["Message"]


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

//! CloudWatch alarms, GetMetricData and the AWS/ECS metrics, in process on
//! the fake runtime. Alarms are evaluated on ecsbox's clock, which these
//! tests move with `clock::advance`: the offset is process-wide, so this
//! binary holds them alone, and one at a time (`serial`).
mod common;

use common::TestServer;
use ecsbox::clock;
use ecsbox::model::cloudwatch::shapes::*;
use ecsbox::protocol::{ApiError, RequestContext};
use ecsbox::services::cloudwatch::generated::CloudWatchApi;
use ecsbox::services::cloudwatch::{AlarmActionSink, AlarmFired, CloudWatch};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const POLICY: &str = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f1e:resource/ecs/service/c/web:policyName/out";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ops";

/// One test at a time: each moves the process-wide clock.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn ctx() -> RequestContext {
    RequestContext {
        account: ACCOUNT.into(),
        region: REGION.into(),
        request_id: "test".into(),
        access_key: None,
        host: None,
    }
}

/// Records every action invoked.
#[derive(Default)]
struct Sink(Mutex<Vec<(String, AlarmFired)>>);

impl AlarmActionSink for Sink {
    fn invoke(&self, account: &str, region: &str, action_arn: &str, alarm: &AlarmFired) {
        assert_eq!((account, region), (ACCOUNT, REGION));
        self.0.lock().push((action_arn.to_string(), alarm.clone()));
    }
}

struct Setup {
    _server: TestServer,
    cw: Arc<CloudWatch>,
    sink: Arc<Sink>,
}

async fn setup() -> Setup {
    let server = TestServer::start().await;
    let cw = server.app.cloudwatch.clone();
    let sink = Arc::new(Sink::default());
    cw.set_action_sink(sink.clone());
    Setup {
        _server: server,
        cw,
        sink,
    }
}

fn alarm(name: &str) -> PutMetricAlarmInput {
    PutMetricAlarmInput {
        alarm_name: Some(name.into()),
        namespace: Some("App".into()),
        metric_name: Some("CPU".into()),
        dimensions: Some(vec![Dimension {
            name: Some("Service".into()),
            value: Some("web".into()),
        }]),
        statistic: Some("Average".into()),
        period: Some(60),
        evaluation_periods: Some(1),
        threshold: Some(50.0),
        comparison_operator: Some("GreaterThanOrEqualToThreshold".into()),
        alarm_actions: Some(vec![POLICY.into(), TOPIC.into()]),
        ..Default::default()
    }
}

fn put(cw: &CloudWatch, value: f64, at: f64) {
    cw.put_metric_data(
        &ctx(),
        PutMetricDataInput {
            namespace: Some("App".into()),
            metric_data: Some(vec![MetricDatum {
                metric_name: Some("CPU".into()),
                dimensions: Some(vec![Dimension {
                    name: Some("Service".into()),
                    value: Some("web".into()),
                }]),
                value: Some(value),
                timestamp: Some(at),
                ..Default::default()
            }]),
            ..Default::default()
        },
    )
    .unwrap();
}

fn state(cw: &CloudWatch, name: &str) -> MetricAlarm {
    cw.alarm(ACCOUNT, REGION, name).expect("the alarm exists")
}

/// Moves ecsbox's clock by whole minutes and evaluates what is due.
fn advance_minutes(cw: &CloudWatch, minutes: u64) {
    clock::advance(Duration::from_secs(60 * minutes));
    cw.evaluate_due_alarms();
}

fn history(cw: &CloudWatch, name: &str, kind: Option<&str>) -> Vec<AlarmHistoryItem> {
    cw.describe_alarm_history(
        &ctx(),
        DescribeAlarmHistoryInput {
            alarm_name: Some(name.into()),
            history_item_type: kind.map(String::from),
            ..Default::default()
        },
    )
    .unwrap()
    .alarm_history_items
    .unwrap()
}

fn minute_start(t: f64) -> f64 {
    (t / 60.0).floor() * 60.0
}

#[tokio::test]
async fn a_breaching_datapoint_alarms_runs_the_policy_and_records_history() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    s.cw.put_alarm(ACCOUNT, REGION, alarm("cpu-high")).unwrap();
    let a = state(&s.cw, "cpu-high");
    assert_eq!(a.state_value.as_deref(), Some("INSUFFICIENT_DATA"));
    assert_eq!(
        a.state_reason.as_deref(),
        Some("Unchecked: Initial alarm creation")
    );
    assert_eq!(
        a.alarm_arn.as_deref(),
        Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high")
    );

    let at = clock::now_secs();
    put(&s.cw, 85.2, at);
    advance_minutes(&s.cw, 1);
    let a = state(&s.cw, "cpu-high");
    assert_eq!(a.state_value.as_deref(), Some("ALARM"));
    let reason = a.state_reason.unwrap();
    assert!(
        reason.starts_with("Threshold Crossed: 1 datapoint [85.2 (")
            && reason.ends_with(")] was greater than or equal to the threshold (50.0)."),
        "{reason}"
    );
    let data: serde_json::Value = serde_json::from_str(&a.state_reason_data.unwrap()).unwrap();
    assert_eq!(data["recentDatapoints"], serde_json::json!([85.2]));
    assert_eq!(data["statistic"], "Average");
    assert_eq!(data["threshold"], 50.0);

    // The Auto Scaling policy ran; the SNS topic could not.
    let fired = s.sink.0.lock().clone();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0, POLICY);
    assert_eq!(fired[0].1.state, "ALARM");
    assert_eq!(fired[0].1.metric_value, Some(85.2));
    assert_eq!(fired[0].1.threshold, 50.0);
    let updates = history(&s.cw, "cpu-high", Some("StateUpdate"));
    assert_eq!(
        updates[0].history_summary.as_deref(),
        Some("Alarm updated from INSUFFICIENT_DATA to ALARM")
    );
    let data: serde_json::Value =
        serde_json::from_str(updates[0].history_data.as_ref().unwrap()).unwrap();
    assert_eq!(data["oldState"]["stateValue"], "INSUFFICIENT_DATA");
    assert_eq!(data["newState"]["stateValue"], "ALARM");
    let actions: Vec<String> = history(&s.cw, "cpu-high", Some("Action"))
        .into_iter()
        .map(|h| h.history_summary.unwrap())
        .collect();
    assert!(
        actions.contains(&format!("Successfully executed action {POLICY}")),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a.starts_with(&format!("Failed to execute action {TOPIC}"))),
        "{actions:?}"
    );
    let config = history(&s.cw, "cpu-high", Some("ConfigurationUpdate"));
    assert_eq!(
        config[0].history_summary.as_deref(),
        Some("Alarm \"cpu-high\" created")
    );

    // The next minute has no data: missing data makes it INSUFFICIENT_DATA.
    advance_minutes(&s.cw, 1);
    let a = state(&s.cw, "cpu-high");
    assert_eq!(a.state_value.as_deref(), Some("INSUFFICIENT_DATA"));
    assert_eq!(
        a.state_reason.as_deref(),
        Some("Insufficient Data: 1 datapoint was unknown.")
    );
}

#[tokio::test]
async fn m_out_of_n_and_auto_scaling_actions_repeat_while_in_alarm() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    let mut input = alarm("two-of-three");
    input.evaluation_periods = Some(3);
    input.datapoints_to_alarm = Some(2);
    input.treat_missing_data = Some("breaching".into());
    input.alarm_actions = Some(vec![POLICY.into()]);
    s.cw.put_alarm(ACCOUNT, REGION, input).unwrap();
    // The three minutes the next evaluation looks at: [base-120, base+60).
    let base = minute_start(clock::now_secs());
    put(&s.cw, 10.0, base - 119.0);
    put(&s.cw, 85.0, base - 59.0);
    put(&s.cw, 60.0, base + 1.0);
    advance_minutes(&s.cw, 1);
    let a = state(&s.cw, "two-of-three");
    assert_eq!(a.state_value.as_deref(), Some("ALARM"), "{a:?}");
    let reason = a.state_reason.unwrap();
    assert!(
        reason.starts_with("Threshold Crossed: 2 out of the last 3 datapoints [60.0 (")
            && reason.contains("), 85.0 (")
            && reason.ends_with(")] were greater than or equal to the threshold (50.0) (minimum 2 datapoints for OK -> ALARM transition)."),
        "{reason}"
    );
    let invoked = s.sink.0.lock().len();
    assert!(invoked >= 1);
    // No more data, treated as breaching: still ALARM, and the policy runs
    // again at every evaluation without a new state update.
    advance_minutes(&s.cw, 1);
    advance_minutes(&s.cw, 1);
    assert_eq!(
        state(&s.cw, "two-of-three").state_value.as_deref(),
        Some("ALARM")
    );
    assert!(
        s.sink.0.lock().len() >= invoked + 2,
        "{:?}",
        s.sink.0.lock()
    );
    assert_eq!(history(&s.cw, "two-of-three", Some("StateUpdate")).len(), 1);
}

#[tokio::test]
async fn missing_data_treatments_without_any_data() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    for (name, treat) in [
        ("missing", "missing"),
        ("ignore", "ignore"),
        ("breaching", "breaching"),
        ("not-breaching", "notBreaching"),
    ] {
        let mut input = alarm(name);
        input.treat_missing_data = Some(treat.into());
        input.alarm_actions = None;
        s.cw.put_alarm(ACCOUNT, REGION, input).unwrap();
    }
    advance_minutes(&s.cw, 1);
    let states: Vec<String> = ["missing", "ignore", "breaching", "not-breaching"]
        .iter()
        .map(|n| state(&s.cw, n).state_value.unwrap())
        .collect();
    assert_eq!(
        states,
        ["INSUFFICIENT_DATA", "INSUFFICIENT_DATA", "ALARM", "OK"]
    );
    assert_eq!(
        state(&s.cw, "breaching").state_reason.as_deref(),
        Some("Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching].")
    );
    // `ignore` kept its state: the creation reason is still there.
    assert_eq!(
        state(&s.cw, "ignore").state_reason.as_deref(),
        Some("Unchecked: Initial alarm creation")
    );
}

#[tokio::test]
async fn set_alarm_state_describe_filters_paging_and_disabled_actions() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    for name in ["api-cpu", "api-mem", "web-cpu"] {
        s.cw.put_alarm(ACCOUNT, REGION, alarm(name)).unwrap();
    }
    s.cw.disable_alarm_actions(
        &ctx(),
        DisableAlarmActionsInput {
            alarm_names: Some(vec!["api-mem".into()]),
        },
    )
    .unwrap();
    let set = |name: &str, value: &str| {
        s.cw.set_alarm_state(
            &ctx(),
            SetAlarmStateInput {
                alarm_name: Some(name.into()),
                state_value: Some(value.into()),
                state_reason: Some("testing purposes".into()),
                state_reason_data: None,
            },
        )
    };
    set("api-cpu", "ALARM").unwrap();
    set("api-mem", "ALARM").unwrap();
    // Only the alarm with actions enabled ran its policy.
    let fired = s.sink.0.lock().clone();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].1.alarm_name, "api-cpu");
    assert_eq!(fired[0].1.reason, "testing purposes");
    assert!(history(&s.cw, "api-mem", Some("Action")).is_empty());
    let err: ApiError = set("nope", "OK").unwrap_err();
    assert_eq!(err.code, "ResourceNotFound");

    let describe = |input: DescribeAlarmsInput| s.cw.describe_alarms(&ctx(), input).unwrap();
    let names = |out: &DescribeAlarmsOutput| -> Vec<String> {
        out.metric_alarms
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.alarm_name.clone().unwrap())
            .collect()
    };
    let by_prefix = describe(DescribeAlarmsInput {
        alarm_name_prefix: Some("api-".into()),
        ..Default::default()
    });
    assert_eq!(names(&by_prefix), ["api-cpu", "api-mem"]);
    let alarmed = describe(DescribeAlarmsInput {
        state_value: Some("ALARM".into()),
        ..Default::default()
    });
    assert_eq!(names(&alarmed), ["api-cpu", "api-mem"]);
    let by_action = describe(DescribeAlarmsInput {
        action_prefix: Some("arn:aws:sns:".into()),
        alarm_names: Some(vec!["web-cpu".into()]),
        ..Default::default()
    });
    assert_eq!(names(&by_action), ["web-cpu"]);
    let mut paged = Vec::new();
    let mut token = None;
    loop {
        let page = describe(DescribeAlarmsInput {
            max_records: Some(2),
            next_token: token.clone(),
            ..Default::default()
        });
        paged.extend(names(&page));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, ["api-cpu", "api-mem", "web-cpu"]);

    // Internal API: names by prefix, deletion with a history item.
    assert_eq!(
        s.cw.alarm_names_with_prefix(ACCOUNT, REGION, "api-"),
        ["api-cpu", "api-mem"]
    );
    s.cw.delete_alarms(ACCOUNT, REGION, &["api-cpu".into(), "never-was".into()]);
    assert!(s.cw.alarm(ACCOUNT, REGION, "api-cpu").is_none());
    let config = history(&s.cw, "api-cpu", Some("ConfigurationUpdate"));
    assert_eq!(
        config[0].history_summary.as_deref(),
        Some("Alarm \"api-cpu\" deleted")
    );
}

#[tokio::test]
async fn put_alarm_checks_its_input() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    let mut no_threshold = alarm("x");
    no_threshold.threshold = None;
    assert_eq!(
        s.cw.put_alarm(ACCOUNT, REGION, no_threshold)
            .unwrap_err()
            .code,
        "MissingParameter"
    );
    let mut both = alarm("x");
    both.extended_statistic = Some("p90".into());
    assert_eq!(
        s.cw.put_alarm(ACCOUNT, REGION, both).unwrap_err().code,
        "InvalidParameterCombination"
    );
    let mut too_many = alarm("x");
    too_many.evaluation_periods = Some(2);
    too_many.datapoints_to_alarm = Some(3);
    assert_eq!(
        s.cw.put_alarm(ACCOUNT, REGION, too_many).unwrap_err().code,
        "InvalidParameterValue"
    );
    let mut period = alarm("x");
    period.period = Some(45);
    assert_eq!(
        s.cw.put_alarm(ACCOUNT, REGION, period).unwrap_err().code,
        "InvalidParameterValue"
    );
    let mut missing_name = alarm("x");
    missing_name.alarm_name = None;
    let err = s.cw.put_alarm(ACCOUNT, REGION, missing_name).unwrap_err();
    assert!(err.message.contains("alarmName"), "{err:?}");
    let mut band = alarm("x");
    band.comparison_operator = Some("LessThanLowerOrGreaterThanUpperThreshold".into());
    let err = s.cw.put_alarm(ACCOUNT, REGION, band).unwrap_err();
    assert!(
        err.message
            .contains("LessThanLowerOrGreaterThanUpperThreshold"),
        "{err:?}"
    );
    assert!(s.cw.alarm_names_with_prefix(ACCOUNT, REGION, "").is_empty());
}

fn stat(id: &str, metric: &str, stat: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: Some(id.into()),
        metric_stat: Some(MetricStat {
            metric: Some(Metric {
                namespace: Some("Math".into()),
                metric_name: Some(metric.into()),
                dimensions: None,
            }),
            period: Some(60),
            stat: Some(stat.into()),
            unit: None,
        }),
        ..Default::default()
    }
}

fn expression(id: &str, e: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: Some(id.into()),
        expression: Some(e.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn get_metric_data_with_metric_math_newest_first_and_paged() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    let base = minute_start(clock::now_secs()) - 600.0;
    let datum = |name: &str, v: f64, at: f64| MetricDatum {
        metric_name: Some(name.into()),
        value: Some(v),
        timestamp: Some(at),
        ..Default::default()
    };
    s.cw.put_metric_data(
        &ctx(),
        PutMetricDataInput {
            namespace: Some("Math".into()),
            metric_data: Some(vec![
                datum("A", 1.0, base + 1.0),
                datum("A", 3.0, base + 2.0),
                datum("A", 10.0, base + 61.0),
                datum("B", 5.0, base + 1.0),
                datum("B", 7.0, base + 61.0),
            ]),
            ..Default::default()
        },
    )
    .unwrap();
    let mut hidden = stat("b", "B", "Sum");
    hidden.return_data = Some(false);
    let queries = vec![
        stat("a", "A", "Sum"),
        hidden,
        expression("total", "a + b"),
        expression("doubled", "SUM([a, b]) * 2"),
        expression("mean", "AVG(a) / 2"),
        stat("top", "A", "p100"),
    ];
    let ask = |max: Option<i32>, token: Option<String>| {
        s.cw.get_metric_data(
            &ctx(),
            GetMetricDataInput {
                metric_data_queries: Some(queries.clone()),
                start_time: Some(base),
                end_time: Some(base + 120.0),
                max_datapoints: max,
                next_token: token,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let out = ask(None, None);
    let results = out.metric_data_results.unwrap();
    let ids: Vec<&str> = results.iter().map(|r| r.id.as_deref().unwrap()).collect();
    assert_eq!(ids, ["a", "total", "doubled", "mean", "top"]);
    let values = |i: usize| results[i].values.clone().unwrap();
    // Newest first.
    assert_eq!(results[0].timestamps.clone().unwrap(), [base + 60.0, base]);
    assert_eq!(results[0].label.as_deref(), Some("A"));
    assert_eq!(values(0), [10.0, 4.0]);
    assert_eq!(values(1), [17.0, 9.0]);
    assert_eq!(values(2), [34.0, 18.0]);
    assert_eq!(values(3), [3.5, 3.5]);
    assert_eq!(values(4), [10.0, 3.0]);
    assert_eq!(results[0].status_code.as_deref(), Some("Complete"));
    assert!(out.next_token.is_none());

    // Three datapoints a page: the first page ends inside `total`.
    let first = ask(Some(3), None);
    let r = first.metric_data_results.unwrap();
    assert_eq!(r[0].values.clone().unwrap(), [10.0, 4.0]);
    assert_eq!(r[1].values.clone().unwrap(), [17.0]);
    assert_eq!(r[1].status_code.as_deref(), Some("PartialData"));
    let second = ask(Some(3), first.next_token);
    let r = second.metric_data_results.unwrap();
    assert_eq!(r[1].values.clone().unwrap(), [9.0]);
    assert_eq!(r[2].values.clone().unwrap(), [34.0, 18.0]);

    // What is not built is refused by name.
    let err =
        s.cw.get_metric_data(
            &ctx(),
            GetMetricDataInput {
                metric_data_queries: Some(vec![stat("a", "A", "Sum"), expression("e", "RATE(a)")]),
                start_time: Some(base),
                end_time: Some(base + 120.0),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.message.contains("RATE"), "{err:?}");
}

#[tokio::test]
async fn an_alarm_on_metric_math() {
    let _serial = SERIAL.lock().await;
    let s = setup().await;
    let input = PutMetricAlarmInput {
        alarm_name: Some("ratio".into()),
        evaluation_periods: Some(1),
        threshold: Some(0.5),
        comparison_operator: Some("GreaterThanThreshold".into()),
        metrics: Some(vec![
            MetricDataQuery {
                return_data: Some(false),
                ..stat("errors", "Errors", "Sum")
            },
            MetricDataQuery {
                return_data: Some(false),
                ..stat("requests", "Requests", "Sum")
            },
            expression("rate", "errors / requests"),
        ]),
        ..Default::default()
    };
    s.cw.put_alarm(ACCOUNT, REGION, input).unwrap();
    let now = clock::now_secs();
    s.cw.put_metric_data(
        &ctx(),
        PutMetricDataInput {
            namespace: Some("Math".into()),
            metric_data: Some(vec![
                MetricDatum {
                    metric_name: Some("Errors".into()),
                    value: Some(8.0),
                    timestamp: Some(now),
                    ..Default::default()
                },
                MetricDatum {
                    metric_name: Some("Requests".into()),
                    value: Some(10.0),
                    timestamp: Some(now),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
    )
    .unwrap();
    advance_minutes(&s.cw, 1);
    let a = state(&s.cw, "ratio");
    assert_eq!(a.state_value.as_deref(), Some("ALARM"), "{a:?}");
    assert!(a.state_reason.unwrap().contains("[0.8 ("));
}

#[tokio::test]
async fn ecs_services_publish_cpu_and_memory_utilization() {
    let _serial = SERIAL.lock().await;
    let fake = Arc::new(ecsbox::runtime::fake::FakeRuntime::new());
    fake.add_image("app:1");
    let server = TestServer::start_on(ecsbox::config::Config::for_tests(), fake).await;
    let ecs = server.client();
    ecs.create_cluster().cluster_name("c").send().await.unwrap();
    ecs.register_task_definition()
        .family("web")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(
            aws_sdk_ecs::types::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                        .subnets("subnet-0123abcd")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cw = server.app.cloudwatch.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let svc = ecs
            .describe_services()
            .cluster("c")
            .services("web")
            .send()
            .await
            .unwrap();
        if svc.services()[0].running_count() == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the task never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Two statistic sets per dimension set: CPU and memory, per service and per cluster.
    assert_eq!(cw.publish_ecs_metrics_now().await, 4);
    let ctx = RequestContext {
        account: "000000000000".into(),
        ..ctx()
    };
    let now = clock::now_secs();
    for (metric, dims) in [
        (
            "CPUUtilization",
            vec![("ClusterName", "c"), ("ServiceName", "web")],
        ),
        ("MemoryUtilization", vec![("ClusterName", "c")]),
    ] {
        let out = cw
            .get_metric_statistics(
                &ctx,
                GetMetricStatisticsInput {
                    namespace: Some("AWS/ECS".into()),
                    metric_name: Some(metric.into()),
                    dimensions: Some(
                        dims.iter()
                            .map(|(k, v)| Dimension {
                                name: Some((*k).into()),
                                value: Some((*v).into()),
                            })
                            .collect(),
                    ),
                    start_time: Some(now - 300.0),
                    end_time: Some(now + 60.0),
                    period: Some(60),
                    statistics: Some(vec!["SampleCount".into(), "Average".into()]),
                    ..Default::default()
                },
            )
            .unwrap();
        let points = out.datapoints.unwrap();
        assert_eq!(points.len(), 1, "{metric}: {points:?}");
        assert_eq!(points[0].sample_count, Some(1.0));
        assert_eq!(points[0].unit.as_deref(), Some("Percent"));
        // The fake engine's container uses 4 MiB of 512 and almost no CPU.
        let avg = points[0].average.unwrap();
        assert!((0.0..5.0).contains(&avg), "{metric}: {avg}");
        if metric == "MemoryUtilization" {
            assert!(avg > 0.0, "{avg}");
        }
    }
}

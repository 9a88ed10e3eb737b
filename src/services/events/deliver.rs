//! What a rule does with an event that matched: the target's input is
//! made (`Input`, `InputPath`, `InputTransformer`, or the event itself) and
//! sent to the target.
//!
//! - ECS (`arn:aws:ecs:REGION:ACCOUNT:cluster/NAME` with `EcsParameters`):
//!   RunTask through ECS's own API, `startedBy: events-rule/RULE`; an
//!   explicit input is RunTask's `overrides` (`{"containerOverrides": [...]}`).
//! - CloudWatch Logs (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`): the
//!   input becomes one log event, timestamped with the event's time, in a
//!   stream named after the event's id (EventBridge writes one stream per
//!   event it delivers).
//! - anything else: kept on the rule, and each invocation recorded as
//!   failed with the reason (ecsbox delivers to nothing else).

use super::{EventsRegion, Rule};
use crate::api::generated::EcsApi;
use crate::api::Ecs;
use crate::logs::LogStore;
use crate::model::events::shapes::{EcsParameters, Target};
use crate::protocol::RequestContext;
use serde_json::Value;

/// One target to invoke with one input.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub bus: String,
    pub rule: String,
    pub rule_arn: String,
    pub target: Target,
    /// The input, made from the event.
    pub input: Result<Value, String>,
    /// Whether the input came from `Input`, `InputPath` or `InputTransformer`.
    pub explicit_input: bool,
    pub event_id: String,
    /// The event's time, epoch seconds.
    pub time: f64,
}

/// How one invocation went (GET `/_ecsbox/events/invocations`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub bus: String,
    pub rule: String,
    pub target_id: String,
    pub target_arn: String,
    pub event_id: String,
    /// Epoch seconds: when the event happened (a schedule: when it was due)
    /// and when the target was invoked.
    pub event_time: f64,
    pub invoked_at: f64,
    /// What the target did: task ARNs, a log stream.
    pub result: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The event as EventBridge hands it to rules and targets.
#[allow(clippy::too_many_arguments)]
pub fn envelope(
    id: &str,
    detail_type: &str,
    source: &str,
    account: &str,
    region: &str,
    time: f64,
    resources: &[String],
    detail: Value,
) -> Value {
    serde_json::json!({
        "version": "0",
        "id": id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": rfc3339(time),
        "region": region,
        "resources": resources,
        "detail": detail,
    })
}

/// `2024-05-01T12:00:00Z`: how the envelope's `time` is written.
pub fn rfc3339(secs: f64) -> String {
    format!("{}Z", crate::civil::format_date_time(secs.floor() as i64))
}

/// The deliveries of an event on a bus: every enabled rule whose pattern
/// matches, times its targets. Counts the rules triggered.
pub fn match_rules(region: &mut EventsRegion, bus: &str, event: &Value) -> Vec<Delivery> {
    let time = crate::clock::now_secs();
    let Some(bus) = region.buses.get_mut(bus) else {
        return vec![];
    };
    let mut out = vec![];
    for rule in bus.rules.values_mut() {
        let Some((_, pattern)) = &rule.event_pattern else {
            continue;
        };
        if rule.enabled && pattern.matches(event) {
            rule.metrics.triggered_rules += 1;
            out.extend(deliveries_of(rule, event, time));
        }
    }
    out
}

pub fn deliveries_of(rule: &Rule, event: &Value, time: f64) -> Vec<Delivery> {
    let event_id = event["id"].as_str().unwrap_or_default().to_string();
    rule.targets
        .iter()
        .map(|t| Delivery {
            bus: rule.bus.clone(),
            rule: rule.name.clone(),
            rule_arn: rule.arn.clone(),
            target: t.clone(),
            input: input_of(t, event, &rule.name, &rule.arn),
            explicit_input: t.input.is_some()
                || t.input_path.is_some()
                || t.input_transformer.is_some(),
            event_id: event_id.clone(),
            time,
        })
        .collect()
}

/// The input a target gets for an event.
pub fn input_of(
    target: &Target,
    event: &Value,
    rule_name: &str,
    rule_arn: &str,
) -> Result<Value, String> {
    if let Some(input) = &target.input {
        return serde_json::from_str(input).map_err(|e| format!("Input is not valid JSON: {e}"));
    }
    if let Some(path) = &target.input_path {
        return Ok(json_path(event, path).cloned().unwrap_or(Value::Null));
    }
    if let Some(transformer) = &target.input_transformer {
        let template = transformer.input_template.as_deref().unwrap_or_default();
        let mut values: Vec<(String, Value)> = vec![
            ("aws.events.rule-arn".into(), rule_arn.into()),
            ("aws.events.rule-name".into(), rule_name.into()),
            (
                "aws.events.event.ingestion-time".into(),
                event["time"].clone(),
            ),
            ("aws.events.event".into(), event.clone()),
            ("aws.events.event.json".into(), event.clone()),
        ];
        for (name, path) in transformer.input_paths_map.iter().flatten() {
            values.push((
                name.clone(),
                json_path(event, path).cloned().unwrap_or(Value::Null),
            ));
        }
        let text = fill_template(template, &values);
        return Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)));
    }
    Ok(event.clone())
}

/// `$.detail.a.b` (and `$['detail']`-free simple paths): the value there.
pub fn json_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    let mut at = value;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        at = match (at, part.parse::<usize>()) {
            (Value::Array(items), Ok(i)) => items.get(i)?,
            _ => at.get(part)?,
        };
    }
    Some(at)
}

/// Replaces `<name>` by the value: a string as its text (inside the
/// template's own quotes), anything else as JSON; `null` for a path that
/// is not in the event.
fn fill_template(template: &str, values: &[(String, Value)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('>') {
            Some(close) if values.iter().any(|(n, _)| n == &after[..close]) => {
                let (_, v) = values
                    .iter()
                    .find(|(n, _)| n == &after[..close])
                    .expect("found above");
                match v {
                    Value::String(s) => out.push_str(&escape_json_text(s)),
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A string's text as it may stand between JSON quotes.
fn escape_json_text(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// Invokes one target (no lock held).
pub fn invoke(ecs: &Ecs, logs: &LogStore, account: &str, region: &str, d: Delivery) -> Invocation {
    let mut invocation = Invocation {
        bus: d.bus.clone(),
        rule: d.rule.clone(),
        target_id: d.target.id.clone().unwrap_or_default(),
        target_arn: d.target.arn.clone().unwrap_or_default(),
        event_id: d.event_id.clone(),
        event_time: d.time,
        invoked_at: crate::clock::now_secs(),
        result: vec![],
        error: None,
    };
    let outcome = match d.input {
        Err(e) => Err(e),
        Ok(input) => {
            let arn = invocation.target_arn.clone();
            match target_kind(&arn) {
                TargetKind::Ecs => run_task(ecs, account, region, &d.rule, &arn, &d.target, d.explicit_input.then_some(input)),
                TargetKind::LogGroup(group) => {
                    write_log(logs, account, &arn, &group, &d.event_id, d.time, &input)
                }
                TargetKind::Other(service) => Err(format!(
                    "ecsbox does not deliver to {service} targets; the invocation is counted as failed"
                )),
            }
        }
    };
    match outcome {
        Ok(result) => invocation.result = result,
        Err(e) => invocation.error = Some(e),
    }
    invocation
}

enum TargetKind {
    Ecs,
    LogGroup(String),
    Other(String),
}

fn target_kind(arn: &str) -> TargetKind {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        [_, _, "ecs", _, _, resource] if resource.starts_with("cluster/") => TargetKind::Ecs,
        [_, _, "logs", _, _, resource] if resource.starts_with("log-group:") => {
            let group = resource
                .trim_start_matches("log-group:")
                .trim_end_matches(":*");
            TargetKind::LogGroup(group.to_string())
        }
        [_, _, service, ..] => TargetKind::Other(service.to_string()),
        _ => TargetKind::Other(arn.to_string()),
    }
}

/// Whether ecsbox delivers to this target ARN (ECS clusters, log groups).
pub fn is_delivered(arn: &str) -> bool {
    !matches!(target_kind(arn), TargetKind::Other(_))
}

/// Whether the ARN names an ECS cluster (EcsParameters are then required).
pub fn is_ecs(arn: &str) -> bool {
    matches!(target_kind(arn), TargetKind::Ecs)
}

fn run_task(
    ecs: &Ecs,
    account: &str,
    region: &str,
    rule: &str,
    cluster: &str,
    target: &Target,
    overrides: Option<Value>,
) -> Result<Vec<String>, String> {
    // The cluster's own account and region (a target may name another).
    let parts: Vec<&str> = cluster.splitn(6, ':').collect();
    let (region, account) = match parts[..] {
        [_, _, _, r, a, _] if !r.is_empty() && !a.is_empty() => (r, a),
        _ => (region, account),
    };
    let params = target.ecs_parameters.clone().unwrap_or_default();
    let mut request = run_task_request(&params, cluster)?;
    request.started_by = Some(format!("events-rule/{rule}").chars().take(128).collect());
    if let Some(overrides) = overrides {
        request.overrides = Some(
            serde_json::from_value(overrides)
                .map_err(|e| format!("The target's input is not RunTask overrides: {e}"))?,
        );
    }
    let ctx = RequestContext {
        account: account.to_string(),
        region: region.to_string(),
        request_id: uuid::Uuid::new_v4().to_string(),
        access_key: None,
        host: None,
    };
    let answer = ecs
        .run_task(&ctx, request)
        .map_err(|e| format!("{}: {}", e.code, e.message))?;
    if let Some(f) = answer.failures.iter().flatten().next() {
        return Err(format!(
            "RunTask failed: {} {}",
            f.reason.as_deref().unwrap_or_default(),
            f.detail.as_deref().unwrap_or_default()
        ));
    }
    Ok(answer
        .tasks
        .iter()
        .flatten()
        .filter_map(|t| t.task_arn.clone())
        .collect())
}

/// A shape of EventBridge's model as the ECS shape of the same JSON form.
fn convert<T: serde::Serialize, U: serde::de::DeserializeOwned>(v: &T) -> Result<U, String> {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())
}

/// RunTask's request from a target's EcsParameters.
pub fn run_task_request(
    p: &EcsParameters,
    cluster: &str,
) -> Result<crate::model::shapes::RunTaskRequest, String> {
    use crate::model::shapes as ecs;
    Ok(ecs::RunTaskRequest {
        cluster: Some(cluster.to_string()),
        task_definition: p.task_definition_arn.clone(),
        count: Some(p.task_count.unwrap_or(1)),
        launch_type: p.launch_type.clone(),
        capacity_provider_strategy: match &p.capacity_provider_strategy {
            Some(s) => Some(convert(s)?),
            None => None,
        },
        placement_constraints: match &p.placement_constraints {
            Some(s) => Some(convert(s)?),
            None => None,
        },
        placement_strategy: match &p.placement_strategy {
            Some(s) => Some(convert(s)?),
            None => None,
        },
        network_configuration: p.network_configuration.as_ref().map(|n| {
            ecs::NetworkConfiguration {
                awsvpc_configuration: n.awsvpc_configuration.as_ref().map(|a| {
                    ecs::AwsVpcConfiguration {
                        subnets: a.subnets.clone(),
                        security_groups: a.security_groups.clone(),
                        assign_public_ip: a.assign_public_ip.clone(),
                    }
                }),
            }
        }),
        platform_version: p.platform_version.clone(),
        group: p.group.clone(),
        propagate_tags: p.propagate_tags.clone(),
        reference_id: p.reference_id.clone(),
        enable_ecs_managed_tags: p.enable_ecs_managed_tags,
        enable_execute_command: p.enable_execute_command,
        tags: p.tags.as_ref().map(|tags| {
            tags.iter()
                .map(|t| ecs::Tag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect()
        }),
        ..Default::default()
    })
}

fn write_log(
    logs: &LogStore,
    account: &str,
    arn: &str,
    group: &str,
    event_id: &str,
    time: f64,
    input: &Value,
) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (region, account) = match parts[..] {
        [_, _, _, r, a, _] if !r.is_empty() && !a.is_empty() => (r, a),
        [_, _, _, r, _, _] if !r.is_empty() => (r, account),
        _ => return Err(format!("{arn} is not a log group ARN")),
    };
    let stream = event_id;
    crate::logs::ensure_stream(logs, account, region, group, stream).map_err(|e| e.message)?;
    let message = match input {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let millis = (time * 1000.0).round() as i64;
    crate::logs::append(
        logs,
        account,
        region,
        group,
        stream,
        vec![(millis, message)],
    )
    .map_err(|e| e.message)?;
    Ok(vec![format!("{group}:{stream}")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::events::shapes::InputTransformer;
    use serde_json::json;

    fn event() -> Value {
        envelope(
            "e1",
            "ECS Task State Change",
            "aws.ecs",
            "000000000000",
            "us-east-1",
            0.0,
            &["arn:x".to_string()],
            json!({"lastStatus": "STOPPED", "n": 3, "quote": "say \"hi\""}),
        )
    }

    #[test]
    fn the_input_of_a_target() {
        let mut t = Target::default();
        assert_eq!(input_of(&t, &event(), "r", "arn:r").unwrap(), event());
        t.input = Some(r#"{"containerOverrides": []}"#.into());
        assert_eq!(
            input_of(&t, &event(), "r", "arn:r").unwrap(),
            json!({"containerOverrides": []})
        );
        t.input = Some("{".into());
        assert!(input_of(&t, &event(), "r", "arn:r").is_err());
        t.input = None;
        t.input_path = Some("$.detail.lastStatus".into());
        assert_eq!(
            input_of(&t, &event(), "r", "arn:r").unwrap(),
            json!("STOPPED")
        );
        t.input_path = None;
        t.input_transformer = Some(InputTransformer {
            input_paths_map: Some(
                [
                    ("status".to_string(), "$.detail.lastStatus".to_string()),
                    ("n".to_string(), "$.detail.n".to_string()),
                    ("q".to_string(), "$.detail.quote".to_string()),
                ]
                .into(),
            ),
            input_template: Some(
                r#"{"s": "<status>", "n": <n>, "q": "<q>", "rule": "<aws.events.rule-name>"}"#
                    .into(),
            ),
        });
        assert_eq!(
            input_of(&t, &event(), "r", "arn:r").unwrap(),
            json!({"s": "STOPPED", "n": 3, "q": "say \"hi\"", "rule": "r"})
        );
        t.input_transformer.as_mut().unwrap().input_template = Some("\"<status> <x>\"".into());
        assert_eq!(
            input_of(&t, &event(), "r", "arn:r").unwrap(),
            json!("STOPPED <x>")
        );
    }

    #[test]
    fn targets_by_arn() {
        assert!(is_ecs("arn:aws:ecs:us-east-1:000000000000:cluster/default"));
        assert!(is_delivered(
            "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/x"
        ));
        assert!(is_delivered(
            "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/x:*"
        ));
        assert!(!is_delivered("arn:aws:sqs:us-east-1:000000000000:q"));
        assert!(!is_delivered("nonsense"));
        assert!(matches!(
            target_kind("arn:aws:logs:us-east-1:1:log-group:/a/b:*"),
            TargetKind::LogGroup(g) if g == "/a/b"
        ));
    }

    #[test]
    fn ecs_parameters_become_run_task() {
        let p: EcsParameters = serde_json::from_value(json!({
            "TaskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:1",
            "TaskCount": 2,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-1"], "AssignPublicIp": "ENABLED"}},
            "CapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
            "Tags": [{"Key": "k", "Value": "v"}],
            "PropagateTags": "TASK_DEFINITION",
            "Group": "g",
        }))
        .unwrap();
        let r = run_task_request(&p, "arn:aws:ecs:us-east-1:1:cluster/c").unwrap();
        assert_eq!(r.count, Some(2));
        assert_eq!(
            r.cluster.as_deref(),
            Some("arn:aws:ecs:us-east-1:1:cluster/c")
        );
        let vpc = r
            .network_configuration
            .unwrap()
            .awsvpc_configuration
            .unwrap();
        assert_eq!(vpc.subnets, Some(vec!["subnet-1".to_string()]));
        assert_eq!(vpc.assign_public_ip.as_deref(), Some("ENABLED"));
        assert_eq!(
            r.capacity_provider_strategy.unwrap()[0]
                .capacity_provider
                .as_deref(),
            Some("FARGATE")
        );
        assert_eq!(r.tags.unwrap()[0].key.as_deref(), Some("k"));
        assert_eq!(r.group.as_deref(), Some("g"));
    }
}

//! The EventBridge API: each operation runs under the lock of the caller's
//! (account, region); PutEvents delivers after the lock is released.
//!
//! Messages are AWS's where known (each cited beside it); the ones ecsbox
//! words itself say "ecsbox".

use super::generated::EventsApi;
use super::pattern::Pattern;
use super::schedule::Schedule;
use super::{
    bus_name, bus_not_found, deliver, error, rule_not_found, validation, Bus, Events, EventsRegion,
    Rule, RuleMetrics, DEFAULT_BUS, MAX_TARGETS,
};
use crate::model::events::operations::ErrorCode;
use crate::model::events::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::page_token;
use std::collections::BTreeMap;

fn now() -> f64 {
    crate::clock::now_secs()
}

fn invalid_pattern(e: super::pattern::PatternError) -> ApiError {
    error(ErrorCode::InvalidEventPatternException, e.message())
}

fn bad_token() -> ApiError {
    validation("The nextToken provided is invalid.")
}

fn limit(given: Option<i32>) -> usize {
    given.filter(|l| *l > 0).unwrap_or(100) as usize
}

fn after_token(token: Option<&str>) -> Result<Option<String>, ApiError> {
    match token {
        None | Some("") => Ok(None),
        Some(t) => page_token::decode(t).map(Some).ok_or_else(bad_token),
    }
}

fn tags_of(tags: Option<&Vec<Tag>>) -> BTreeMap<String, String> {
    tags.into_iter()
        .flatten()
        .map(|t| {
            (
                t.key.clone().unwrap_or_default(),
                t.value.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn tag_shapes(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

fn refuse_unsupported(name: &str, given: bool) -> Result<(), ApiError> {
    if given {
        return Err(validation(format!(
            "ecsbox does not support {name} on event buses yet."
        )));
    }
    Ok(())
}

impl EventsRegion {
    fn bus_mut(&mut self, name: &str) -> Result<&mut Bus, ApiError> {
        self.buses.get_mut(name).ok_or_else(|| bus_not_found(name))
    }

    fn rule_mut(&mut self, bus: &str, name: &str) -> Result<&mut Rule, ApiError> {
        self.bus_mut(bus)?
            .rules
            .get_mut(name)
            .ok_or_else(|| rule_not_found(name, bus))
    }

    /// The tags of the rule or bus an ARN names.
    fn tags_mut(&mut self, arn: &str) -> Result<&mut BTreeMap<String, String>, ApiError> {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        if let Some(rest) = resource.strip_prefix("rule/") {
            let (bus, name) = match rest.split_once('/') {
                Some((bus, name)) => (bus.to_string(), name.to_string()),
                None => (DEFAULT_BUS.to_string(), rest.to_string()),
            };
            return Ok(&mut self.rule_mut(&bus, &name)?.tags);
        }
        if let Some(name) = resource.strip_prefix("event-bus/") {
            return Ok(&mut self.bus_mut(name)?.tags);
        }
        Err(validation(format!(
            "Parameter ResourceARN is not valid: {arn}"
        )))
    }
}

fn rule_shape(rule: &Rule) -> crate::model::events::shapes::Rule {
    crate::model::events::shapes::Rule {
        name: Some(rule.name.clone()),
        arn: Some(rule.arn.clone()),
        event_pattern: rule.event_pattern.as_ref().map(|(t, _)| t.clone()),
        state: Some(if rule.enabled { "ENABLED" } else { "DISABLED" }.into()),
        description: rule.description.clone(),
        schedule_expression: rule.schedule.as_ref().map(|(t, _)| t.clone()),
        role_arn: rule.role_arn.clone(),
        managed_by: None,
        event_bus_name: Some(rule.bus.clone()),
    }
}

/// A rule's schedule starts (again) now: the next firing is one period on.
fn restart_schedule(rule: &mut Rule, now: f64) {
    rule.schedule_start = now;
    rule.next_fire = match (&rule.schedule, rule.enabled) {
        (Some((_, s)), true) => s.next_after(now, now),
        _ => None,
    };
}

/// Checks one target of PutTargets: the whole request is refused for these.
fn check_target(t: &Target) -> Result<(), ApiError> {
    let id = t.id.as_deref().unwrap_or_default();
    let arn = t.arn.as_deref().unwrap_or_default();
    let inputs = [
        t.input.is_some(),
        t.input_path.is_some(),
        t.input_transformer.is_some(),
    ];
    if inputs.iter().filter(|x| **x).count() > 1 {
        // AWS's wording (PutTargets with two kinds of input).
        return Err(validation(
            "Only one of Input, InputPath, or InputTransformer must be provided.",
        ));
    }
    if let Some(input) = &t.input {
        if serde_json::from_str::<serde_json::Value>(input).is_err() {
            return Err(validation(format!(
                "Target {id}: Input is not valid JSON text."
            )));
        }
    }
    if let Some(path) = &t.input_path {
        if !path.starts_with('$') {
            return Err(validation(format!(
                "Target {id}: InputPath is not a valid JSON path."
            )));
        }
    }
    if deliver::is_ecs(arn) && t.ecs_parameters.is_none() {
        return Err(validation(format!(
            "Parameter(s) EcsParameters must be specified for target: {id}."
        )));
    }
    if let Some(p) = &t.ecs_parameters {
        if p.launch_type.is_some() && p.capacity_provider_strategy.is_some() {
            return Err(validation(
                "Only one of LaunchType or CapacityProviderStrategy may be specified.",
            ));
        }
    }
    Ok(())
}

/// A PutEvents entry made into an event, or the entry's error.
fn event_of(
    region: &EventsRegion,
    e: &PutEventsRequestEntry,
    id: &str,
) -> Result<(String, serde_json::Value), (&'static str, String)> {
    let invalid = |name: &str| {
        (
            "InvalidArgument",
            format!("Parameter {name} is not valid. Reason: {name} is a required argument."),
        )
    };
    let source = e
        .source
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("Source"))?;
    let detail_type = e
        .detail_type
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("DetailType"))?;
    let detail = e
        .detail
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("Detail"))?;
    let detail: serde_json::Value = match serde_json::from_str(detail) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => return Err(("MalformedDetail", "Detail is malformed.".into())),
    };
    if source.starts_with("aws.") {
        return Err((
            "NotAuthorizedForSourceException",
            "Not authorized for the source.".into(),
        ));
    }
    let bus = bus_name(e.event_bus_name.as_deref());
    if !region.buses.contains_key(&bus) {
        return Err((
            "ResourceNotFoundException",
            format!("Event bus {bus} does not exist."),
        ));
    }
    let event = deliver::envelope(
        id,
        detail_type,
        source,
        &region.account,
        &region.region,
        e.time.unwrap_or_else(now),
        e.resources.as_deref().unwrap_or_default(),
        detail,
    );
    Ok((bus, event))
}

impl EventsApi for Events {
    fn create_event_bus(
        &self,
        ctx: &RequestContext,
        input: CreateEventBusRequest,
    ) -> Result<CreateEventBusResponse, ApiError> {
        refuse_unsupported(
            "EventSourceName (partner event sources)",
            input.event_source_name.is_some(),
        )?;
        refuse_unsupported("KmsKeyIdentifier", input.kms_key_identifier.is_some())?;
        refuse_unsupported("DeadLetterConfig", input.dead_letter_config.is_some())?;
        refuse_unsupported("LogConfig", input.log_config.is_some())?;
        let name = input.name.unwrap_or_default();
        self.in_region(ctx, |r| {
            if r.buses.contains_key(&name) {
                return Err(error(
                    ErrorCode::ResourceAlreadyExistsException,
                    format!("Event bus {name} already exists."),
                ));
            }
            let mut bus = r.new_bus(&name, input.description.clone(), now());
            bus.tags = tags_of(input.tags.as_ref());
            let arn = bus.arn.clone();
            r.buses.insert(name.clone(), bus);
            Ok(CreateEventBusResponse {
                event_bus_arn: Some(arn),
                description: input.description,
                ..Default::default()
            })
        })
    }

    fn delete_event_bus(
        &self,
        ctx: &RequestContext,
        input: DeleteEventBusRequest,
    ) -> Result<(), ApiError> {
        let name = bus_name(input.name.as_deref());
        self.in_region(ctx, |r| {
            if name == DEFAULT_BUS {
                return Err(validation("Cannot delete event bus default."));
            }
            r.buses.remove(&name);
            Ok(())
        })
    }

    fn describe_event_bus(
        &self,
        ctx: &RequestContext,
        input: DescribeEventBusRequest,
    ) -> Result<DescribeEventBusResponse, ApiError> {
        let name = bus_name(input.name.as_deref());
        self.in_region(ctx, |r| {
            let bus = r.bus_mut(&name)?;
            Ok(DescribeEventBusResponse {
                name: Some(bus.name.clone()),
                arn: Some(bus.arn.clone()),
                description: bus.description.clone(),
                creation_time: (bus.created > 0.0).then_some(bus.created),
                last_modified_time: (bus.modified > 0.0).then_some(bus.modified),
                ..Default::default()
            })
        })
    }

    fn list_event_buses(
        &self,
        ctx: &RequestContext,
        input: ListEventBusesRequest,
    ) -> Result<ListEventBusesResponse, ApiError> {
        let after = after_token(input.next_token.as_deref())?;
        let prefix = input.name_prefix.unwrap_or_default();
        self.in_region(ctx, |r| {
            let items = r
                .buses
                .values()
                .filter(|b| b.name.starts_with(&prefix))
                .filter(|b| after.as_ref().is_none_or(|a| &b.name > a));
            let (page, next) = page_token::take_page(items, limit(input.limit), |b| b.name.clone());
            Ok(ListEventBusesResponse {
                event_buses: Some(
                    page.into_iter()
                        .map(|b| EventBus {
                            name: Some(b.name.clone()),
                            arn: Some(b.arn.clone()),
                            description: b.description.clone(),
                            creation_time: (b.created > 0.0).then_some(b.created),
                            last_modified_time: (b.modified > 0.0).then_some(b.modified),
                            ..Default::default()
                        })
                        .collect(),
                ),
                next_token: next,
            })
        })
    }

    fn put_rule(
        &self,
        ctx: &RequestContext,
        input: PutRuleRequest,
    ) -> Result<PutRuleResponse, ApiError> {
        let name = input.name.clone().unwrap_or_default();
        let bus = bus_name(input.event_bus_name.as_deref());
        let pattern = match input.event_pattern.as_deref() {
            Some(text) => Some((
                text.to_string(),
                Pattern::parse(text).map_err(invalid_pattern)?,
            )),
            None => None,
        };
        let schedule = match input
            .schedule_expression
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            Some(text) => Some((
                text.to_string(),
                // AWS's wording for any schedule it cannot read.
                Schedule::parse(text).map_err(|e| {
                    validation(format!(
                        "Parameter ScheduleExpression is not valid. (ecsbox: {})",
                        e.0
                    ))
                })?,
            )),
            None => None,
        };
        if pattern.is_none() && schedule.is_none() {
            return Err(validation(
                "Parameter(s) EventPattern or ScheduleExpression must be specified.",
            ));
        }
        if schedule.is_some() && bus != DEFAULT_BUS {
            // AWS's wording (PutRule with a schedule on a custom bus).
            return Err(validation(
                "ScheduleExpression is supported only on the default event bus.",
            ));
        }
        let enabled = input.state.as_deref() != Some("DISABLED");
        let now = now();
        let account = ctx.account.clone();
        let arn = self.in_region(ctx, |r| {
            let arn = r.rule_arn(&bus, &name);
            let b = r.bus_mut(&bus)?;
            let existing = b.rules.remove(&name);
            let schedule_changed = existing
                .as_ref()
                .map(|e| {
                    e.schedule.as_ref().map(|s| &s.0) != schedule.as_ref().map(|s| &s.0)
                        || e.enabled != enabled
                })
                .unwrap_or(true);
            let (targets, mut tags, metrics, start, next) = match existing {
                Some(e) => (e.targets, e.tags, e.metrics, e.schedule_start, e.next_fire),
                None => (vec![], BTreeMap::new(), RuleMetrics::default(), now, None),
            };
            tags.extend(tags_of(input.tags.as_ref()));
            let mut rule = Rule {
                name: name.clone(),
                arn: arn.clone(),
                bus: bus.clone(),
                event_pattern: pattern,
                schedule,
                enabled,
                description: input.description.clone(),
                role_arn: input.role_arn.clone(),
                created_by: account,
                targets,
                tags,
                schedule_start: start,
                next_fire: next,
                metrics,
            };
            if schedule_changed {
                restart_schedule(&mut rule, now);
            }
            b.rules.insert(name.clone(), rule);
            Ok(arn)
        })?;
        self.schedules_changed.notify_one();
        Ok(PutRuleResponse {
            rule_arn: Some(arn),
        })
    }

    fn describe_rule(
        &self,
        ctx: &RequestContext,
        input: DescribeRuleRequest,
    ) -> Result<DescribeRuleResponse, ApiError> {
        let name = input.name.unwrap_or_default();
        let bus = bus_name(input.event_bus_name.as_deref());
        self.in_region(ctx, |r| {
            let rule = r.rule_mut(&bus, &name)?;
            let s = rule_shape(rule);
            Ok(DescribeRuleResponse {
                name: s.name,
                arn: s.arn,
                event_pattern: s.event_pattern,
                schedule_expression: s.schedule_expression,
                state: s.state,
                description: s.description,
                role_arn: s.role_arn,
                managed_by: None,
                event_bus_name: s.event_bus_name,
                created_by: Some(rule.created_by.clone()),
            })
        })
    }

    fn list_rules(
        &self,
        ctx: &RequestContext,
        input: ListRulesRequest,
    ) -> Result<ListRulesResponse, ApiError> {
        let bus = bus_name(input.event_bus_name.as_deref());
        let after = after_token(input.next_token.as_deref())?;
        let prefix = input.name_prefix.unwrap_or_default();
        self.in_region(ctx, |r| {
            let b = r.bus_mut(&bus)?;
            let items = b
                .rules
                .values()
                .filter(|x| x.name.starts_with(&prefix))
                .filter(|x| after.as_ref().is_none_or(|a| &x.name > a));
            let (page, next) = page_token::take_page(items, limit(input.limit), |x| x.name.clone());
            Ok(ListRulesResponse {
                rules: Some(page.into_iter().map(rule_shape).collect()),
                next_token: next,
            })
        })
    }

    fn delete_rule(&self, ctx: &RequestContext, input: DeleteRuleRequest) -> Result<(), ApiError> {
        let name = input.name.unwrap_or_default();
        let bus = bus_name(input.event_bus_name.as_deref());
        self.in_region(ctx, |r| {
            let Some(b) = r.buses.get_mut(&bus) else {
                return Err(bus_not_found(&bus));
            };
            if b.rules.get(&name).is_some_and(|x| !x.targets.is_empty()) {
                // AWS's wording (quoted in getmoto/moto#5056 and
                // hashicorp/terraform-provider-aws#18519).
                return Err(validation("Rule can't be deleted since it has targets."));
            }
            b.rules.remove(&name);
            Ok(())
        })?;
        self.schedules_changed.notify_one();
        Ok(())
    }

    fn enable_rule(&self, ctx: &RequestContext, input: EnableRuleRequest) -> Result<(), ApiError> {
        self.set_enabled(ctx, input.name, input.event_bus_name, true)
    }

    fn disable_rule(
        &self,
        ctx: &RequestContext,
        input: DisableRuleRequest,
    ) -> Result<(), ApiError> {
        self.set_enabled(ctx, input.name, input.event_bus_name, false)
    }

    fn put_targets(
        &self,
        ctx: &RequestContext,
        input: PutTargetsRequest,
    ) -> Result<PutTargetsResponse, ApiError> {
        let name = input.rule.unwrap_or_default();
        let bus = bus_name(input.event_bus_name.as_deref());
        let targets = input.targets.unwrap_or_default();
        for t in &targets {
            check_target(t)?;
        }
        self.in_region(ctx, |r| {
            let rule = r.rule_mut(&bus, &name)?;
            let mut failed = vec![];
            for t in targets {
                let id = t.id.clone().unwrap_or_default();
                if let Some(existing) = rule.targets.iter_mut().find(|x| x.id.as_deref() == Some(&id)) {
                    *existing = t;
                } else if rule.targets.len() >= MAX_TARGETS {
                    failed.push(PutTargetsResultEntry {
                        target_id: Some(id),
                        error_code: Some("LimitExceededException".into()),
                        error_message: Some(format!(
                            "The rule {name} already has the most targets a rule may have ({MAX_TARGETS})."
                        )),
                    });
                } else {
                    rule.targets.push(t);
                }
            }
            Ok(PutTargetsResponse {
                failed_entry_count: Some(failed.len() as i32),
                failed_entries: Some(failed),
            })
        })
    }

    fn remove_targets(
        &self,
        ctx: &RequestContext,
        input: RemoveTargetsRequest,
    ) -> Result<RemoveTargetsResponse, ApiError> {
        let name = input.rule.unwrap_or_default();
        let bus = bus_name(input.event_bus_name.as_deref());
        let ids = input.ids.unwrap_or_default();
        self.in_region(ctx, |r| {
            let rule = r.rule_mut(&bus, &name)?;
            rule.targets
                .retain(|t| !ids.iter().any(|id| t.id.as_deref() == Some(id)));
            Ok(RemoveTargetsResponse {
                failed_entry_count: Some(0),
                failed_entries: Some(vec![]),
            })
        })
    }

    fn list_targets_by_rule(
        &self,
        ctx: &RequestContext,
        input: ListTargetsByRuleRequest,
    ) -> Result<ListTargetsByRuleResponse, ApiError> {
        let name = input.rule.unwrap_or_default();
        let bus = bus_name(input.event_bus_name.as_deref());
        let after = after_token(input.next_token.as_deref())?;
        self.in_region(ctx, |r| {
            let rule = r.rule_mut(&bus, &name)?;
            let start = match &after {
                Some(id) => rule
                    .targets
                    .iter()
                    .position(|t| t.id.as_deref() == Some(id))
                    .map(|i| i + 1)
                    .ok_or_else(bad_token)?,
                None => 0,
            };
            let (page, next) = page_token::take_page(
                rule.targets[start..].iter().cloned(),
                limit(input.limit),
                |t| t.id.clone().unwrap_or_default(),
            );
            Ok(ListTargetsByRuleResponse {
                targets: Some(page),
                next_token: next,
            })
        })
    }

    fn list_rule_names_by_target(
        &self,
        ctx: &RequestContext,
        input: ListRuleNamesByTargetRequest,
    ) -> Result<ListRuleNamesByTargetResponse, ApiError> {
        let arn = input.target_arn.unwrap_or_default();
        let bus = bus_name(input.event_bus_name.as_deref());
        let after = after_token(input.next_token.as_deref())?;
        self.in_region(ctx, |r| {
            let b = r.bus_mut(&bus)?;
            let names = b
                .rules
                .values()
                .filter(|x| x.targets.iter().any(|t| t.arn.as_deref() == Some(&arn)))
                .map(|x| x.name.clone())
                .filter(|n| after.as_ref().is_none_or(|a| n > a));
            let (page, next) = page_token::take_page(names, limit(input.limit), |n| n.clone());
            Ok(ListRuleNamesByTargetResponse {
                rule_names: Some(page),
                next_token: next,
            })
        })
    }

    fn put_events(
        &self,
        ctx: &RequestContext,
        input: PutEventsRequest,
    ) -> Result<PutEventsResponse, ApiError> {
        if input.endpoint_id.is_some() {
            return Err(validation(
                "ecsbox does not support EndpointId (global endpoints) yet.",
            ));
        }
        let entries = input.entries.unwrap_or_default();
        let (results, deliveries) = self.in_region(ctx, |r| {
            let mut results = Vec::with_capacity(entries.len());
            let mut deliveries = vec![];
            for e in &entries {
                let id = uuid::Uuid::new_v4().to_string();
                match event_of(r, e, &id) {
                    Ok((bus, event)) => {
                        deliveries.extend(deliver::match_rules(r, &bus, &event));
                        results.push(PutEventsResultEntry {
                            event_id: Some(id),
                            ..Default::default()
                        });
                    }
                    Err((code, message)) => results.push(PutEventsResultEntry {
                        event_id: None,
                        error_code: Some(code.into()),
                        error_message: Some(message),
                    }),
                }
            }
            Ok((results, deliveries))
        })?;
        self.run(&ctx.account, &ctx.region, deliveries);
        let failed = results.iter().filter(|r| r.error_code.is_some()).count();
        Ok(PutEventsResponse {
            failed_entry_count: Some(failed as i32),
            entries: Some(results),
        })
    }

    fn test_event_pattern(
        &self,
        _ctx: &RequestContext,
        input: TestEventPatternRequest,
    ) -> Result<TestEventPatternResponse, ApiError> {
        let pattern = Pattern::parse(input.event_pattern.as_deref().unwrap_or_default())
            .map_err(invalid_pattern)?;
        let event: serde_json::Value =
            serde_json::from_str(input.event.as_deref().unwrap_or_default())
                .map_err(|_| validation("Parameter Event is not valid."))?;
        let complete = [
            "id",
            "account",
            "source",
            "time",
            "region",
            "detail-type",
            "resources",
        ]
        .iter()
        .all(|k| event.get(k).is_some());
        if !complete {
            return Err(validation("Parameter Event is not valid."));
        }
        Ok(TestEventPatternResponse {
            result: Some(pattern.matches(&event)),
        })
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        self.in_region(ctx, |r| {
            let tags = r.tags_mut(&arn)?;
            tags.extend(tags_of(input.tags.as_ref()));
            if tags.len() > crate::tags::MAX_TAGS_PER_RESOURCE {
                return Err(error(
                    ErrorCode::LimitExceededException,
                    "The resource would have more than 50 tags.",
                ));
            }
            Ok(TagResourceResponse {})
        })
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        self.in_region(ctx, |r| {
            let tags = r.tags_mut(&arn)?;
            for k in input.tag_keys.iter().flatten() {
                tags.remove(k);
            }
            Ok(UntagResourceResponse {})
        })
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        let arn = input.resource_arn.unwrap_or_default();
        self.in_region(ctx, |r| {
            Ok(ListTagsForResourceResponse {
                tags: Some(tag_shapes(r.tags_mut(&arn)?)),
            })
        })
    }
}

impl Events {
    fn set_enabled(
        &self,
        ctx: &RequestContext,
        name: Option<String>,
        bus: Option<String>,
        enabled: bool,
    ) -> Result<(), ApiError> {
        let name = name.unwrap_or_default();
        let bus = bus_name(bus.as_deref());
        self.in_region(ctx, |r| {
            let rule = r.rule_mut(&bus, &name)?;
            if rule.enabled != enabled {
                rule.enabled = enabled;
                restart_schedule(rule, now());
            }
            Ok(())
        })?;
        self.schedules_changed.notify_one();
        Ok(())
    }
}

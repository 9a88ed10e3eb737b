//! Account settings: PutAccountSetting, PutAccountSettingDefault,
//! ListAccountSettings, DeleteAccountSetting.
//!
//! AWS keeps a value per (principal, setting); the root user's value is the
//! account default for every principal without its own. ecsbox has no IAM
//! users, so the caller is always the account's root user
//! (`arn:aws:iam::ACCOUNT:root`), but settings can still be kept for any IAM
//! user or role ARN of the account, and override the default for it.
//! The root's values live in `RegionState::account_setting_defaults`, the
//! others' in `RegionState::account_settings`.

use super::pagination::{decode_token, page_size, take_page};
use crate::domain::messages::{aws, ecsbox};
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::RegionState;

/// One account setting: its name, the value AWS applies when nobody set one,
/// and the values it accepts.
struct SettingRule {
    name: &'static str,
    aws_default: &'static str,
    allowed: &'static [&'static str],
}

const ON_OFF: &[&str] = &["enabled", "disabled"];

/// Every setting of the model's `SettingName`, with AWS's current defaults:
/// long ARNs are on for every account since 2021, tagging authorization is
/// on, Fargate waits 7 days before retiring a task, and the default log
/// driver mode is non-blocking since June 2025.
const RULES: &[SettingRule] = &[
    SettingRule {
        name: "awsvpcTrunking",
        aws_default: "disabled",
        allowed: ON_OFF,
    },
    SettingRule {
        name: "containerInsights",
        aws_default: "disabled",
        allowed: &["enabled", "disabled", "enhanced"],
    },
    SettingRule {
        name: "containerInstanceLongArnFormat",
        aws_default: "enabled",
        allowed: ON_OFF,
    },
    SettingRule {
        name: "defaultLogDriverMode",
        aws_default: "non-blocking",
        allowed: &["blocking", "non-blocking"],
    },
    SettingRule {
        name: "fargateEventWindows",
        aws_default: "disabled",
        allowed: ON_OFF,
    },
    SettingRule {
        name: "fargateFIPSMode",
        aws_default: "disabled",
        allowed: ON_OFF,
    },
    SettingRule {
        name: "fargateTaskRetirementWaitPeriod",
        aws_default: "7",
        allowed: &["0", "7", "14"],
    },
    SettingRule {
        name: "guardDutyActivate",
        aws_default: "off",
        allowed: &["on", "off"],
    },
    SettingRule {
        name: "serviceLongArnFormat",
        aws_default: "enabled",
        allowed: ON_OFF,
    },
    SettingRule {
        name: "tagResourceAuthorization",
        aws_default: "on",
        allowed: &["on", "off"],
    },
    SettingRule {
        name: "taskLongArnFormat",
        aws_default: "enabled",
        allowed: ON_OFF,
    },
];

/// GuardDuty owns this one: ECS shows it but does not let anyone set it.
const AWS_MANAGED: &str = "guardDutyActivate";

fn rule(name: &str) -> Result<&'static SettingRule, ApiError> {
    RULES
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ApiError::invalid_parameter(ecsbox::account_setting_unknown(name)))
}

fn root_arn(state: &RegionState) -> String {
    format!("arn:aws:iam::{}:root", state.account)
}

/// The principal a request is about: the one given (an IAM user or role of
/// this account, or its root user), else the caller, who is root in ecsbox.
fn principal(state: &RegionState, given: Option<&str>) -> Result<String, ApiError> {
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        return Ok(root_arn(state));
    };
    let prefix = format!("arn:aws:iam::{}:", state.account);
    let resource = given.strip_prefix(&prefix).unwrap_or("");
    let valid = resource == "root"
        || ["user/", "role/"].iter().any(|kind| {
            resource
                .strip_prefix(kind)
                .is_some_and(|rest| !rest.is_empty())
        });
    if !valid {
        return Err(ApiError::invalid_parameter(ecsbox::principal_arn_invalid(
            given,
            &state.account,
        )));
    }
    Ok(given.to_string())
}

fn setting(name: &str, value: &str, principal_arn: &str) -> Setting {
    Setting {
        name: Some(name.to_string()),
        value: Some(value.to_string()),
        principal_arn: Some(principal_arn.to_string()),
        r#type: Some(
            if name == AWS_MANAGED {
                "aws_managed"
            } else {
                "user"
            }
            .to_string(),
        ),
    }
}

/// Checks that `name` may be set to `value` for `principal_arn`.
fn check_put(
    state: &RegionState,
    name: &str,
    value: &str,
    principal_arn: &str,
) -> Result<(), ApiError> {
    let rule = rule(name)?;
    if name == AWS_MANAGED {
        return Err(ApiError::invalid_parameter(ecsbox::GUARD_DUTY_READ_ONLY));
    }
    if !rule.allowed.contains(&value) {
        return Err(ApiError::invalid_parameter(ecsbox::account_setting_value(
            value,
            name,
            rule.allowed,
        )));
    }
    // AWS retired the short ARN format: the long one can no longer be
    // turned off, for any principal.
    if name.ends_with("LongArnFormat") && value == "disabled" {
        return Err(ApiError::invalid_parameter(
            aws::LONG_ARN_CANNOT_BE_DISABLED,
        ));
    }
    // AWS: "You must use the root user when you set the Fargate wait time".
    if name == "fargateTaskRetirementWaitPeriod" && principal_arn != root_arn(state) {
        return Err(ApiError::invalid_parameter(ecsbox::FARGATE_WAIT_ROOT_ONLY));
    }
    Ok(())
}

/// Stores a value; the root user's value is the account default.
fn store(state: &mut RegionState, name: &str, value: &str, principal_arn: &str) {
    if principal_arn == root_arn(state) {
        state
            .account_setting_defaults
            .insert(name.to_string(), value.to_string());
    } else {
        state.account_settings.insert(
            (principal_arn.to_string(), name.to_string()),
            value.to_string(),
        );
    }
}

pub fn put(
    state: &mut RegionState,
    input: PutAccountSettingRequest,
) -> Result<PutAccountSettingResponse, ApiError> {
    let (name, value) = (
        input.name.unwrap_or_default(),
        input.value.unwrap_or_default(),
    );
    let principal_arn = principal(state, input.principal_arn.as_deref())?;
    check_put(state, &name, &value, &principal_arn)?;
    store(state, &name, &value, &principal_arn);
    Ok(PutAccountSettingResponse {
        setting: Some(setting(&name, &value, &principal_arn)),
    })
}

pub fn put_default(
    state: &mut RegionState,
    input: PutAccountSettingDefaultRequest,
) -> Result<PutAccountSettingDefaultResponse, ApiError> {
    let (name, value) = (
        input.name.unwrap_or_default(),
        input.value.unwrap_or_default(),
    );
    let root = root_arn(state);
    check_put(state, &name, &value, &root)?;
    store(state, &name, &value, &root);
    Ok(PutAccountSettingDefaultResponse {
        setting: Some(setting(&name, &value, &root)),
    })
}

/// The value a principal set itself, if any.
fn own_value(state: &RegionState, name: &str, principal_arn: &str) -> Option<String> {
    if principal_arn == root_arn(state) {
        state.account_setting_defaults.get(name).cloned()
    } else {
        state
            .account_settings
            .get(&(principal_arn.to_string(), name.to_string()))
            .cloned()
    }
}

/// What applies to a principal: its own value, else the account default
/// (the root user's), else AWS's default; attributed to whoever set it.
fn effective(state: &RegionState, rule: &SettingRule, principal_arn: &str) -> Setting {
    let root = root_arn(state);
    match own_value(state, rule.name, principal_arn) {
        Some(v) => setting(rule.name, &v, principal_arn),
        None => {
            let v = state
                .account_setting_defaults
                .get(rule.name)
                .map(String::as_str)
                .unwrap_or(rule.aws_default);
            setting(rule.name, v, &root)
        }
    }
}

pub fn list(
    state: &mut RegionState,
    input: ListAccountSettingsRequest,
) -> Result<ListAccountSettingsResponse, ApiError> {
    let size = page_size(input.max_results, 10, 10)?;
    let after = decode_token(input.next_token.as_deref())?;
    if input.value.is_some() && input.name.is_none() {
        return Err(ApiError::invalid_parameter(
            ecsbox::LIST_SETTINGS_VALUE_WITHOUT_NAME,
        ));
    }
    let principal_arn = principal(state, input.principal_arn.as_deref())?;
    let wanted = |r: &&SettingRule| input.name.as_deref().is_none_or(|n| n == r.name);
    // RULES is sorted by name, the order pages follow.
    let settings = RULES.iter().filter(wanted).filter_map(|rule| {
        if input.effective_settings == Some(true) {
            Some(effective(state, rule, &principal_arn))
        } else {
            own_value(state, rule.name, &principal_arn)
                .map(|v| setting(rule.name, &v, &principal_arn))
        }
    });
    let remaining = settings
        .filter(|s| {
            input
                .value
                .as_ref()
                .is_none_or(|v| s.value.as_ref() == Some(v))
        })
        .filter(|s| {
            after
                .as_deref()
                .is_none_or(|a| s.name.as_deref().unwrap_or("") > a)
        });
    let (page, next_token) = take_page(remaining, size, |s| s.name.clone().unwrap_or_default());
    Ok(ListAccountSettingsResponse {
        settings: Some(page),
        next_token,
    })
}

pub fn delete(
    state: &mut RegionState,
    input: DeleteAccountSettingRequest,
) -> Result<DeleteAccountSettingResponse, ApiError> {
    let name = input.name.unwrap_or_default();
    rule(&name)?;
    if name == AWS_MANAGED {
        return Err(ApiError::invalid_parameter(ecsbox::GUARD_DUTY_READ_ONLY));
    }
    let principal_arn = principal(state, input.principal_arn.as_deref())?;
    let removed = if principal_arn == root_arn(state) {
        state.account_setting_defaults.remove(&name)
    } else {
        state
            .account_settings
            .remove(&(principal_arn.clone(), name.clone()))
    };
    let value = removed.ok_or_else(|| {
        ApiError::invalid_parameter(ecsbox::account_setting_not_set(&name, &principal_arn))
    })?;
    Ok(DeleteAccountSettingResponse {
        setting: Some(setting(&name, &value, &principal_arn)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::enums;

    #[test]
    fn every_model_setting_has_a_rule_in_name_order() {
        let mut names: Vec<&str> = enums::SETTING_NAME.to_vec();
        names.sort();
        assert_eq!(names, RULES.iter().map(|r| r.name).collect::<Vec<_>>());
        for r in RULES {
            assert!(r.allowed.contains(&r.aws_default), "{}", r.name);
        }
    }

    #[test]
    fn principals_must_belong_to_the_account() {
        let state = RegionState::new("123456789012", "us-east-1");
        assert_eq!(
            principal(&state, None).unwrap(),
            "arn:aws:iam::123456789012:root"
        );
        assert!(principal(&state, Some("arn:aws:iam::123456789012:role/deploy")).is_ok());
        assert!(principal(&state, Some("arn:aws:iam::999999999999:role/deploy")).is_err());
        assert!(principal(&state, Some("arn:aws:iam::123456789012:role/")).is_err());
        assert!(principal(&state, Some("not-an-arn")).is_err());
    }
}

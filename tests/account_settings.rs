//! Account settings through the real aws-sdk-ecs client.
mod common;

use aws_sdk_ecs::types::{SettingName, SettingType};
use common::{code, TestServer};

const ROOT: &str = "arn:aws:iam::000000000000:root";
const ROLE: &str = "arn:aws:iam::000000000000:role/deployer";

/// (name, value, principalArn) of every setting ListAccountSettings answers.
async fn listed(
    ecs: &aws_sdk_ecs::Client,
    principal: Option<&str>,
    effective: bool,
) -> Vec<(String, String, String)> {
    let out = ecs
        .list_account_settings()
        .set_principal_arn(principal.map(String::from))
        .effective_settings(effective)
        .send()
        .await
        .unwrap();
    out.settings()
        .iter()
        .map(|s| {
            (
                s.name().unwrap().as_str().to_string(),
                s.value().unwrap().to_string(),
                s.principal_arn().unwrap().to_string(),
            )
        })
        .collect()
}

fn value_of(settings: &[(String, String, String)], name: &str) -> (String, String) {
    let s = settings
        .iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("{name} not listed"));
    (s.1.clone(), s.2.clone())
}

#[tokio::test]
async fn effective_settings_show_aws_defaults() {
    let server = TestServer::start().await;
    let ecs = server.client();
    // Nothing set: the non-effective list is empty, the effective one has every setting.
    assert!(listed(&ecs, None, false).await.is_empty());
    let mut all = vec![];
    let mut token = None;
    loop {
        let page = ecs
            .list_account_settings()
            .effective_settings(true)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.settings().len() <= 10);
        all.extend(page.settings().iter().cloned());
        token = page.next_token.clone();
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), 11, "one per SettingName of the model");
    let get = |n: SettingName| {
        all.iter()
            .find(|s| s.name() == Some(&n))
            .unwrap()
            .value()
            .unwrap()
            .to_string()
    };
    assert_eq!(get(SettingName::ServiceLongArnFormat), "enabled");
    assert_eq!(get(SettingName::TaskLongArnFormat), "enabled");
    assert_eq!(get(SettingName::ContainerInstanceLongArnFormat), "enabled");
    assert_eq!(get(SettingName::AwsvpcTrunking), "disabled");
    assert_eq!(get(SettingName::ContainerInsights), "disabled");
    assert_eq!(get(SettingName::TagResourceAuthorization), "on");
    assert_eq!(get(SettingName::FargateTaskRetirementWaitPeriod), "7");
    assert_eq!(get(SettingName::DefaultLogDriverMode), "non-blocking");
    let guard = all
        .iter()
        .find(|s| s.name() == Some(&SettingName::GuardDutyActivate))
        .unwrap();
    assert_eq!(
        (guard.value(), guard.r#type()),
        (Some("off"), Some(&SettingType::AwsManaged))
    );
}

#[tokio::test]
async fn principal_settings_override_the_account_default() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let put = ecs
        .put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("enabled")
        .send()
        .await
        .unwrap();
    let s = put.setting.unwrap();
    assert_eq!(
        (s.value(), s.principal_arn(), s.r#type()),
        (Some("enabled"), Some(ROOT), Some(&SettingType::User))
    );
    let put = ecs
        .put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("enhanced")
        .principal_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(put.setting.unwrap().principal_arn(), Some(ROLE));

    assert_eq!(
        listed(&ecs, None, false).await,
        [("containerInsights".into(), "enabled".into(), ROOT.into())]
    );
    assert_eq!(
        listed(&ecs, Some(ROLE), false).await,
        [("containerInsights".into(), "enhanced".into(), ROLE.into())]
    );
    let effective = listed(&ecs, Some(ROLE), true).await;
    assert_eq!(
        value_of(&effective, "containerInsights"),
        ("enhanced".into(), ROLE.into())
    );
    assert_eq!(
        value_of(&effective, "awsvpcTrunking"),
        ("disabled".into(), ROOT.into())
    );

    // PutAccountSettingDefault sets the root's value, which the role inherits.
    let d = ecs
        .put_account_setting_default()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .send()
        .await
        .unwrap();
    assert_eq!(d.setting.unwrap().principal_arn(), Some(ROOT));
    assert_eq!(
        value_of(&listed(&ecs, Some(ROLE), true).await, "awsvpcTrunking"),
        ("enabled".into(), ROOT.into())
    );

    // Deleting the role's own value makes the default apply again.
    let deleted = ecs
        .delete_account_setting()
        .name(SettingName::ContainerInsights)
        .principal_arn(ROLE)
        .send()
        .await
        .unwrap()
        .setting
        .unwrap();
    assert_eq!(
        (deleted.value(), deleted.principal_arn()),
        (Some("enhanced"), Some(ROLE))
    );
    assert_eq!(
        value_of(&listed(&ecs, Some(ROLE), true).await, "containerInsights"),
        ("enabled".into(), ROOT.into())
    );
    let err = ecs
        .delete_account_setting()
        .name(SettingName::ContainerInsights)
        .principal_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn list_filters_by_name_and_value() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .send()
        .await
        .unwrap();
    ecs.put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("enabled")
        .send()
        .await
        .unwrap();
    let by_name = ecs
        .list_account_settings()
        .name(SettingName::AwsvpcTrunking)
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.settings().len(), 1);
    let by_value = ecs
        .list_account_settings()
        .name(SettingName::ContainerInsights)
        .value("disabled")
        .send()
        .await
        .unwrap();
    assert!(by_value.settings().is_empty());
    let err = ecs
        .list_account_settings()
        .value("enabled")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .list_account_settings()
        .max_results(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn long_arn_formats_can_no_longer_be_disabled() {
    let server = TestServer::start().await;
    let ecs = server.client();
    for name in [
        SettingName::ServiceLongArnFormat,
        SettingName::TaskLongArnFormat,
        SettingName::ContainerInstanceLongArnFormat,
    ] {
        let err = ecs
            .put_account_setting()
            .name(name.clone())
            .value("disabled")
            .send()
            .await
            .unwrap_err();
        // AWS's answer, as issue 16 reports it (src/domain/messages.rs).
        assert_eq!(code(&err), "InvalidParameterException");
        assert_eq!(
            common::message(&err),
            "You can no longer disable Long Arn settings."
        );
        let err = ecs
            .put_account_setting_default()
            .name(name.clone())
            .value("disabled")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            common::message(&err),
            "You can no longer disable Long Arn settings."
        );
    }
}

#[tokio::test]
async fn bad_values_and_principals_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let ecs = server.client();
    let cases = [
        (SettingName::ContainerInsights, "sometimes"),
        (SettingName::ServiceLongArnFormat, "on"),
        (SettingName::TagResourceAuthorization, "enabled"),
        (SettingName::FargateTaskRetirementWaitPeriod, "3"),
        (SettingName::DefaultLogDriverMode, "enabled"),
        // guardDutyActivate is managed by GuardDuty: read-only in ECS.
        (SettingName::GuardDutyActivate, "on"),
    ];
    for (name, value) in cases {
        let err = ecs
            .put_account_setting()
            .name(name.clone())
            .value(value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidParameterException", "{name:?}={value}");
        let err = ecs
            .put_account_setting_default()
            .name(name.clone())
            .value(value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            code(&err),
            "InvalidParameterException",
            "default {name:?}={value}"
        );
    }
    // AWS: the Fargate wait time is set by the root user only.
    let err = ecs
        .put_account_setting()
        .name(SettingName::FargateTaskRetirementWaitPeriod)
        .value("14")
        .principal_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    for principal in ["arn:aws:iam::999999999999:role/x", "someone"] {
        let err = ecs
            .put_account_setting()
            .name(SettingName::AwsvpcTrunking)
            .value("enabled")
            .principal_arn(principal)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidParameterException", "{principal}");
    }
    // An unknown setting name is refused by the model's enum.
    let raw = server
        .ecs_raw(
            "PutAccountSetting",
            r#"{"name": "dualStackIPv7", "value": "enabled"}"#,
        )
        .await;
    assert_eq!(raw.error_type(), "InvalidParameterException");
    assert!(listed(&ecs, None, false).await.is_empty());
    assert!(listed(&ecs, Some(ROLE), false).await.is_empty());

    // Valid values of the same settings are accepted.
    ecs.put_account_setting()
        .name(SettingName::FargateTaskRetirementWaitPeriod)
        .value("14")
        .send()
        .await
        .unwrap();
    ecs.put_account_setting_default()
        .name(SettingName::DefaultLogDriverMode)
        .value("blocking")
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&ecs, None, false).await.len(), 2);
}

#[tokio::test]
async fn settings_are_per_account_and_region() {
    let server = TestServer::start().await;
    let ecs = server.client();
    ecs.put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .send()
        .await
        .unwrap();
    let other_region = server.client_as("AKIDTEST", "secret", "eu-west-1");
    assert!(listed(&other_region, None, false).await.is_empty());
    let other_account = server.client_as("123456789012", "secret", "us-east-1");
    let put = other_account
        .put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.setting.unwrap().principal_arn(),
        Some("arn:aws:iam::123456789012:root")
    );
}

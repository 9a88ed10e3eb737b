"""PutAccountSetting, PutAccountSettingDefault, ListAccountSettings and
DeleteAccountSetting through boto3 and the aws CLI. The caller is the
account's root user; settings may also be kept for an IAM user or role."""

import pytest

from harness import assert_cli_error, assert_cli_ok, raises_aws

ROOT = "arn:aws:iam::000000000000:root"
ROLE = "arn:aws:iam::000000000000:role/deployer"


def effective(ecs, name, **kw) -> dict:
    [setting] = ecs.list_account_settings(name=name, effectiveSettings=True, **kw)["settings"]
    return setting


def test_put_account_setting_for_the_caller(ecs):
    s = ecs.put_account_setting(name="containerInsights", value="enabled")["setting"]
    assert s == {"name": "containerInsights", "value": "enabled", "principalArn": ROOT, "type": "user"}
    assert ecs.list_account_settings(name="containerInsights")["settings"] == [s]


def test_put_account_setting_default_is_what_principals_without_their_own_get(ecs):
    s = ecs.put_account_setting_default(name="awsvpcTrunking", value="enabled")["setting"]
    assert s["principalArn"] == ROOT and s["value"] == "enabled"
    assert effective(ecs, "awsvpcTrunking", principalArn=ROLE)["value"] == "enabled"
    # A principal's own value wins over the default.
    ecs.put_account_setting(name="awsvpcTrunking", value="disabled", principalArn=ROLE)
    mine = effective(ecs, "awsvpcTrunking", principalArn=ROLE)
    assert (mine["value"], mine["principalArn"]) == ("disabled", ROLE)
    assert effective(ecs, "awsvpcTrunking")["value"] == "enabled"


def test_effective_settings_list_every_setting_with_aws_defaults(ecs):
    settings = {s["name"]: s["value"] for s in _all_settings(ecs, effectiveSettings=True)}
    # Long ARN formats are on for every account (AWS, since 2021).
    assert settings["serviceLongArnFormat"] == "enabled"
    assert settings["taskLongArnFormat"] == "enabled"
    assert settings["containerInstanceLongArnFormat"] == "enabled"
    assert {"awsvpcTrunking", "containerInsights", "fargateTaskRetirementWaitPeriod",
            "tagResourceAuthorization"} <= set(settings)
    # Without effectiveSettings, only what was set.
    assert ecs.list_account_settings()["settings"] == []


def _all_settings(ecs, **kw) -> list[dict]:
    out, token = [], None
    while True:
        page = ecs.list_account_settings(**kw, **({"nextToken": token} if token else {}))
        out += page["settings"]
        token = page.get("nextToken")
        if not token:
            return out


def test_list_filters_by_value_and_pages(ecs):
    ecs.put_account_setting(name="containerInsights", value="enabled")
    ecs.put_account_setting(name="awsvpcTrunking", value="enabled")
    matched = ecs.list_account_settings(name="containerInsights", value="enabled")["settings"]
    assert [s["name"] for s in matched] == ["containerInsights"]
    assert ecs.list_account_settings(name="containerInsights", value="disabled")["settings"] == []
    first = ecs.list_account_settings(effectiveSettings=True, maxResults=3)
    assert len(first["settings"]) == 3 and first["nextToken"]
    names = [s["name"] for s in _all_settings(ecs, effectiveSettings=True, maxResults=3)]
    assert len(names) == len(set(names)) > 3


def test_delete_account_setting_falls_back_to_the_default(ecs):
    ecs.put_account_setting(name="containerInsights", value="enabled")
    deleted = ecs.delete_account_setting(name="containerInsights")["setting"]
    assert deleted["name"] == "containerInsights"
    assert ecs.list_account_settings(name="containerInsights")["settings"] == []
    assert effective(ecs, "containerInsights")["value"] == "disabled"


def test_delete_for_a_principal(ecs):
    ecs.put_account_setting(name="containerInsights", value="enabled", principalArn=ROLE)
    ecs.delete_account_setting(name="containerInsights", principalArn=ROLE)
    assert effective(ecs, "containerInsights", principalArn=ROLE)["value"] == "disabled"


@pytest.mark.parametrize("kw", [
    {"name": "containerInsights", "value": "sometimes"},
    {"name": "serviceLongArnFormat", "value": "yes"},
    {"name": "fargateTaskRetirementWaitPeriod", "value": "3"},
    {"name": "noSuchSetting", "value": "enabled"},
    {"name": "containerInsights", "value": "enabled", "principalArn": "arn:aws:iam::999999999999:role/x"},
    {"name": "containerInsights", "value": "enabled", "principalArn": "not-an-arn"},
    # AWS: the Fargate retirement wait period can only be set by the root user.
    {"name": "fargateTaskRetirementWaitPeriod", "value": "14", "principalArn": ROLE},
], ids=["bad-value", "bad-on-off", "bad-period", "unknown-name", "other-account", "bad-principal", "period-not-root"])
def test_put_refuses_invalid_settings(ecs, kw):
    with raises_aws("InvalidParameterException"):
        ecs.put_account_setting(**kw)
    assert ecs.list_account_settings()["settings"] == []


def test_put_default_refuses_invalid_settings(ecs):
    with raises_aws("InvalidParameterException"):
        ecs.put_account_setting_default(name="awsvpcTrunking", value="maybe")


def test_settings_are_per_account_and_region(ecs_as):
    ecs_as("111111111111").put_account_setting(name="containerInsights", value="enabled")
    assert ecs_as("222222222222").list_account_settings()["settings"] == []
    assert ecs_as("111111111111", "eu-west-1").list_account_settings()["settings"] == []


# ------------------------------------------------------------------ CLI

def test_cli_put_list_delete(aws):
    out = assert_cli_ok(aws("ecs", "put-account-setting", "--name", "containerInsights", "--value", "enhanced"))
    assert out["setting"]["value"] == "enhanced"
    out = assert_cli_ok(aws("ecs", "put-account-setting-default", "--name", "awsvpcTrunking", "--value", "enabled"))
    assert out["setting"]["principalArn"] == ROOT
    out = assert_cli_ok(aws("ecs", "list-account-settings"))
    assert sorted(s["name"] for s in out["settings"]) == ["awsvpcTrunking", "containerInsights"]
    # The CLI follows nextToken itself.
    out = assert_cli_ok(aws("ecs", "list-account-settings", "--effective-settings", "--page-size", "2"))
    assert len(out["settings"]) > 2 and "nextToken" not in out
    out = assert_cli_ok(aws("ecs", "delete-account-setting", "--name", "containerInsights"))
    assert out["setting"]["name"] == "containerInsights"


def test_cli_errors(aws):
    assert_cli_error(aws("ecs", "put-account-setting", "--name", "containerInsights", "--value", "loud"),
                     "InvalidParameterException")
    assert_cli_error(aws("ecs", "put-account-setting-default", "--name", "taskLongArnFormat", "--value", "on"),
                     "InvalidParameterException")
    assert_cli_error(aws("ecs", "list-account-settings", "--principal-arn", "arn:aws:iam::999999999999:user/x"),
                     "InvalidParameterException")

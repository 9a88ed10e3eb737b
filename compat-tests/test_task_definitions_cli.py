"""Task definitions through the aws CLI: JSON and file arguments, the CLI's
pagination, and its error lines."""

import json

import examples
from harness import assert_cli_error, assert_cli_ok

TD_ARN = "arn:aws:ecs:us-east-1:000000000000:task-definition/{}"


def register_args(req: dict) -> list[str]:
    return ["ecs", "register-task-definition", "--cli-input-json", json.dumps(req)]


def test_register_with_shorthand_and_json_arguments(aws):
    out = assert_cli_ok(aws("ecs", "register-task-definition", "--family", "web",
                            "--container-definitions", json.dumps([examples.container("web")]),
                            "--tags", "key=team,value=a"))
    td = out["taskDefinition"]
    assert td["taskDefinitionArn"] == TD_ARN.format("web:1")
    assert td["status"] == "ACTIVE"
    # The CLI prints timestamps as it received them (epoch seconds, a number).
    assert isinstance(td["registeredAt"], (int, float))


def test_register_from_a_file(aws, tmp_path):
    path = tmp_path / "td.json"
    path.write_text(json.dumps(examples.fargate("from-file")))
    out = assert_cli_ok(aws("ecs", "register-task-definition", "--cli-input-json", f"file://{path}"))
    assert out["taskDefinition"]["requiresCompatibilities"] == ["FARGATE"]


def test_register_round_trips_a_full_definition(aws):
    req = examples.full_requests()[1]
    assert_cli_ok(aws(*register_args(req)))
    out = assert_cli_ok(aws("ecs", "describe-task-definition", "--task-definition", req["family"]))
    td = out["taskDefinition"]
    for key in ("cpu", "memory", "runtimePlatform", "ephemeralStorage", "proxyConfiguration", "volumes"):
        assert td[key] == req[key], key
    assert td["containerDefinitions"][0]["restartPolicy"] == req["containerDefinitions"][0]["restartPolicy"]


def test_register_errors(aws):
    bad = examples.fargate("bad", cpu="256", memory="4096")
    err = assert_cli_error(aws(*register_args(bad)), "ClientException")
    assert "RegisterTaskDefinition" in err and "256" in err
    bad = examples.fargate("bad", networkMode="bridge")
    assert_cli_error(aws(*register_args(bad)), "ClientException")
    dup = examples.ec2("bad", containerDefinitions=[examples.container("a"), examples.container("a")])
    assert_cli_error(aws(*register_args(dup)), "ClientException")


def test_describe_with_tags_and_errors(aws, ecs):
    ecs.register_task_definition(**examples.ec2("d", tags=[{"key": "k", "value": "v"}]))
    ecs.register_task_definition(**examples.ec2("d"))
    out = assert_cli_ok(aws("ecs", "describe-task-definition", "--task-definition", "d:1", "--include", "TAGS"))
    assert out["taskDefinition"]["revision"] == 1
    assert out["tags"] == [{"key": "k", "value": "v"}]
    out = assert_cli_ok(aws("ecs", "describe-task-definition", "--task-definition", "d"))
    assert out["taskDefinition"]["revision"] == 2
    assert_cli_error(aws("ecs", "describe-task-definition", "--task-definition", "d:3"), "ClientException")


def test_list_follows_pages_and_filters(aws, ecs):
    for _ in range(5):
        ecs.register_task_definition(**examples.ec2("p"))
    ecs.register_task_definition(**examples.ec2("q"))
    ecs.deregister_task_definition(taskDefinition="p:5")
    out = assert_cli_ok(aws("ecs", "list-task-definitions", "--page-size", "2"))
    assert out["taskDefinitionArns"] == [TD_ARN.format(f"p:{i}") for i in range(1, 5)] + [TD_ARN.format("q:1")]
    out = assert_cli_ok(aws("ecs", "list-task-definitions", "--family-prefix", "p", "--sort", "DESC", "--page-size", "3"))
    assert out["taskDefinitionArns"] == [TD_ARN.format(f"p:{i}") for i in range(4, 0, -1)]
    out = assert_cli_ok(aws("ecs", "list-task-definitions", "--status", "INACTIVE"))
    assert out["taskDefinitionArns"] == [TD_ARN.format("p:5")]
    first = assert_cli_ok(aws("ecs", "list-task-definitions", "--max-items", "2"))
    rest = assert_cli_ok(aws("ecs", "list-task-definitions", "--starting-token", first["NextToken"]))
    assert len(first["taskDefinitionArns"]) + len(rest["taskDefinitionArns"]) == 5
    assert_cli_error(aws("ecs", "list-task-definitions", "--no-paginate", "--max-results", "500"),
                     "InvalidParameterException")


def test_list_families(aws, ecs):
    for fam in ("web", "web-api", "worker"):
        ecs.register_task_definition(**examples.ec2(fam))
    ecs.deregister_task_definition(taskDefinition="worker:1")
    out = assert_cli_ok(aws("ecs", "list-task-definition-families", "--family-prefix", "web"))
    assert out["families"] == ["web", "web-api"]
    out = assert_cli_ok(aws("ecs", "list-task-definition-families", "--status", "INACTIVE"))
    assert out["families"] == ["worker"]
    out = assert_cli_ok(aws("ecs", "list-task-definition-families", "--page-size", "1"))
    assert out["families"] == ["web", "web-api", "worker"]


def test_deregister_and_delete(aws, ecs):
    ecs.register_task_definition(**examples.ec2("x"))
    out = assert_cli_ok(aws("ecs", "deregister-task-definition", "--task-definition", "x:1"))
    assert out["taskDefinition"]["status"] == "INACTIVE"
    assert_cli_error(aws("ecs", "deregister-task-definition", "--task-definition", "x:2"), "ClientException")
    out = assert_cli_ok(aws("ecs", "delete-task-definitions", "--task-definitions", "x:1", "x:5"))
    assert out["taskDefinitions"][0]["status"] == "DELETE_IN_PROGRESS"
    assert [f["arn"] for f in out["failures"]] == [TD_ARN.format("x:5")]

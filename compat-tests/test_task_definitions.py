"""Task definitions through boto3: Register, Describe, List,
ListTaskDefinitionFamilies, Deregister, Delete; revisions, validation as AWS
does it, and every field of the model round-tripping."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import examples
import harness
from examples import container, ec2, fargate
from harness import raises_aws

TD_ARN = "arn:aws:ecs:us-east-1:000000000000:task-definition/{}"


def register(ecs, req) -> dict:
    return ecs.register_task_definition(**req)["taskDefinition"]


def revisions(ecs, **kw) -> list[str]:
    """family:revision of every listed ARN, following nextToken."""
    out, token = [], None
    while True:
        page = ecs.list_task_definitions(**kw, **({"nextToken": token} if token else {}))
        out += [arn.rsplit("/", 1)[1] for arn in page["taskDefinitionArns"]]
        token = page.get("nextToken")
        if not token:
            return out


# ------------------------------------------------------------ register

def test_register_answers_revision_one_of_an_active_definition(ecs):
    td = register(ecs, ec2("web"))
    assert td["taskDefinitionArn"] == TD_ARN.format("web:1")
    assert td["family"] == "web" and td["revision"] == 1
    assert td["status"] == "ACTIVE"
    assert td["containerDefinitions"][0]["name"] == "app"
    assert "EC2" in td["compatibilities"]
    # boto3 parsed registeredAt (epoch seconds on the wire) into a datetime.
    assert abs(td["registeredAt"].timestamp() - time.time()) < 300


def test_revisions_count_up_per_family(ecs):
    assert [register(ecs, ec2("a"))["revision"] for _ in range(3)] == [1, 2, 3]
    assert register(ecs, ec2("b"))["revision"] == 1
    assert register(ecs, ec2("a"))["revision"] == 4


def test_revisions_never_repeat_after_deregister_and_delete(ecs):
    register(ecs, ec2("r"))
    register(ecs, ec2("r"))
    ecs.deregister_task_definition(taskDefinition="r:2")
    ecs.delete_task_definitions(taskDefinitions=["r:2"])
    assert register(ecs, ec2("r"))["revision"] == 3


def test_fifty_concurrent_registrations_get_fifty_distinct_revisions(ecs_as):
    client = ecs_as(max_pool_connections=50)
    with ThreadPoolExecutor(max_workers=50) as pool:
        revs = list(pool.map(lambda _: register(client, ec2("busy"))["revision"], range(50)))
    assert sorted(revs) == list(range(1, 51))
    assert len(revisions(client, familyPrefix="busy")) == 50


def test_fargate_definitions_are_compatible_with_fargate(ecs):
    td = register(ecs, fargate("f"))
    assert td["requiresCompatibilities"] == ["FARGATE"]
    assert "FARGATE" in td["compatibilities"]
    assert td["cpu"] == "256" and td["memory"] == "512"
    assert td["networkMode"] == "awsvpc"


# Fargate's table of task sizes (AWS docs, "Task CPU and memory"): memory per
# cpu in MiB. Beyond 4 vCPU the memory steps are 4 and 8 GiB.
@pytest.mark.parametrize("cpu, memory", [
    ("256", "512"), ("256", "2048"), ("512", "1024"), ("512", "4096"), ("1024", "2048"), ("1024", "8192"),
    ("2048", "4096"), ("2048", "16384"), ("4096", "8192"), ("4096", "30720"), ("8192", "20480"),
    ("8192", "61440"), ("16384", "40960"), ("16384", "122880"),
])
def test_fargate_accepts_each_size_of_its_table(ecs, cpu, memory):
    td = register(ecs, fargate("sized", cpu=cpu, memory=memory))
    assert (td["cpu"], td["memory"]) == (cpu, memory)


@pytest.mark.parametrize("cpu, memory", [
    ("256", "4096"), ("512", "512"), ("1024", "1024"), ("2048", "2048"), ("4096", "31744"),
    ("8192", "17408"), ("16384", "32769"), ("128", "512"), ("3072", "8192"),
])
def test_fargate_refuses_a_size_outside_its_table(ecs, cpu, memory):
    with raises_aws("ClientException") as e:
        register(ecs, fargate("sized", cpu=cpu, memory=memory))
    assert cpu in str(e.value), str(e.value)
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []


# Each of these is refused by ECS with a ClientException whose message says
# what to fix; none of them registers anything or uses up a revision.
INVALID = {
    "fargate-needs-awsvpc": fargate("bad", networkMode="bridge"),
    "fargate-default-network-mode": {k: v for k, v in fargate("bad").items() if k != "networkMode"},
    "fargate-needs-task-cpu": {k: v for k, v in fargate("bad").items() if k != "cpu"},
    "duplicate-container-names": ec2("bad", containerDefinitions=[container("a"), container("a")]),
    "no-essential-container": ec2("bad", containerDefinitions=[container("a", essential=False),
                                                               container("b", essential=False)]),
    "container-memory-over-task": ec2("bad", memory="512", containerDefinitions=[container("a", memory=1024)]),
    "container-cpu-over-task": ec2("bad", cpu="256", containerDefinitions=[container("a", cpu=512)]),
    "ec2-container-without-memory": ec2("bad", containerDefinitions=[{"name": "a", "image": "busybox"}]),
    "awsvpc-host-port-differs": ec2("bad", networkMode="awsvpc", containerDefinitions=[
        container("a", portMappings=[{"containerPort": 80, "hostPort": 8080}])]),
    "host-mode-host-port-differs": ec2("bad", networkMode="host", containerDefinitions=[
        container("a", portMappings=[{"containerPort": 80, "hostPort": 8080}])]),
    "bad-family-name": ec2("bad family!"),
    "no-containers": ec2("bad", containerDefinitions=[]),
    "depends-on-unknown-container": ec2("bad", containerDefinitions=[
        container("a", dependsOn=[{"containerName": "ghost", "condition": "START"}])]),
    "mount-of-undeclared-volume": ec2("bad", containerDefinitions=[
        container("a", mountPoints=[{"sourceVolume": "nope", "containerPath": "/x"}])]),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_register_refuses_invalid_definitions(ecs, case):
    with raises_aws("ClientException") as e:
        register(ecs, INVALID[case])
    assert len(str(e.value)) > 40, f"a message a person can act on: {e.value}"
    assert ecs.list_task_definition_families()["families"] == []
    # Nothing was used up: the next good registration is revision 1.
    assert register(ecs, ec2("bad"))["revision"] == 1


def test_register_refuses_bad_tags(ecs):
    with raises_aws("InvalidParameterException"):
        register(ecs, ec2("t", tags=[{"key": "aws:owner", "value": "x"}]))
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []


def test_memory_reservation_alone_is_enough_for_ec2(ecs):
    td = register(ecs, ec2("soft", containerDefinitions=[{"name": "a", "image": "busybox", "memoryReservation": 32}]))
    assert td["containerDefinitions"][0]["memoryReservation"] == 32


def test_task_level_memory_is_enough_for_ec2_containers(ecs):
    td = register(ecs, ec2("tm", memory="512", containerDefinitions=[{"name": "a", "image": "busybox"}]))
    assert td["memory"] == "512"


def test_awsvpc_fills_the_host_port_with_the_container_port(ecs):
    td = register(ecs, fargate("ports", containerDefinitions=[
        {"name": "a", "image": "busybox", "portMappings": [{"containerPort": 8080}]}]))
    pm = td["containerDefinitions"][0]["portMappings"][0]
    assert pm["containerPort"] == 8080 and pm["hostPort"] == 8080 and pm["protocol"] == "tcp"


# --------------------------------------------------- every field round-trips

def _covered(model, shape_name, value, seen):
    """Records every (structure, member) that `value` sets, walking the model."""
    shape = model["shapes"][shape_name]
    if shape["type"] == "structure":
        for k, v in value.items():
            assert k in shape["members"], f"{shape_name} has no member {k}"
            seen.add((shape_name, k))
            _covered(model, shape["members"][k]["shape"], v, seen)
    elif shape["type"] == "list":
        for item in value:
            _covered(model, shape["member"]["shape"], item, seen)
    elif shape["type"] == "map":
        for item in value.values():
            _covered(model, shape["value"]["shape"], item, seen)


def _all_members(model, shape_name, out=None, visiting=()):
    out = set() if out is None else out
    shape = model["shapes"][shape_name]
    if shape_name in visiting:
        return out
    if shape["type"] == "structure":
        for k, m in shape["members"].items():
            out.add((shape_name, k))
            _all_members(model, m["shape"], out, visiting + (shape_name,))
    elif shape["type"] == "list":
        _all_members(model, shape["member"]["shape"], out, visiting)
    elif shape["type"] == "map":
        _all_members(model, shape["value"]["shape"], out, visiting)
    return out


def test_the_round_trip_requests_set_every_member_of_the_model():
    """examples.FULL_REQUESTS must set every member of every structure that
    RegisterTaskDefinition takes, so the round trip below covers the model
    (and fails here when a new model adds a member)."""
    model = harness.pinned_model()
    seen = set()
    for req in examples.full_requests():
        _covered(model, "RegisterTaskDefinitionRequest", req, seen)
    missing = _all_members(model, "RegisterTaskDefinitionRequest") - seen
    assert not missing, f"members no round-trip request sets: {sorted(missing)}"


def _assert_contains(sent, got, path="taskDefinition"):
    """Everything sent comes back unchanged (the answer may add defaults)."""
    if isinstance(sent, dict):
        assert isinstance(got, dict), f"{path}: {got!r}"
        for k, v in sent.items():
            assert k in got, f"{path}.{k} is missing from the answer"
            _assert_contains(v, got[k], f"{path}.{k}")
    elif isinstance(sent, list):
        assert isinstance(got, list) and len(got) == len(sent), f"{path}: sent {sent!r}, got {got!r}"
        for i, (s, g) in enumerate(zip(sent, got)):
            _assert_contains(s, g, f"{path}[{i}]")
    else:
        assert sent == got, f"{path}: sent {sent!r}, got {got!r}"


@pytest.mark.parametrize("req", examples.full_requests(), ids=lambda r: r["family"])
def test_every_field_round_trips(ecs, req):
    tags = req.pop("tags", None)
    registered = register(ecs, dict(req, **({"tags": tags} if tags else {})))
    described = ecs.describe_task_definition(taskDefinition=req["family"], include=["TAGS"])
    for got in (registered, described["taskDefinition"]):
        _assert_contains(req, got)
    assert described.get("tags", []) == (tags or [])


# ------------------------------------------------------------ describe

def test_describe_by_family_revision_and_arn(ecs):
    for _ in range(3):
        register(ecs, ec2("d"))
    assert ecs.describe_task_definition(taskDefinition="d")["taskDefinition"]["revision"] == 3
    assert ecs.describe_task_definition(taskDefinition="d:2")["taskDefinition"]["revision"] == 2
    by_arn = ecs.describe_task_definition(taskDefinition=TD_ARN.format("d:1"))["taskDefinition"]
    assert by_arn["taskDefinitionArn"] == TD_ARN.format("d:1")


def test_a_bare_family_means_its_latest_active_revision(ecs):
    register(ecs, ec2("l"))
    register(ecs, ec2("l"))
    ecs.deregister_task_definition(taskDefinition="l:2")
    assert ecs.describe_task_definition(taskDefinition="l")["taskDefinition"]["revision"] == 1
    # An INACTIVE revision is still describable by its number.
    assert ecs.describe_task_definition(taskDefinition="l:2")["taskDefinition"]["status"] == "INACTIVE"
    ecs.deregister_task_definition(taskDefinition="l:1")
    with raises_aws("ClientException"):
        ecs.describe_task_definition(taskDefinition="l")


@pytest.mark.parametrize("reference", ["nope", "nope:1", "d:9", TD_ARN.format("d:9"),
                                       "arn:aws:ecs:eu-west-1:000000000000:task-definition/d:1"])
def test_describe_an_unknown_definition(ecs, reference):
    register(ecs, ec2("d"))
    with raises_aws("ClientException") as e:
        ecs.describe_task_definition(taskDefinition=reference)
    assert "Unable to describe task definition" in str(e.value)


def test_describe_includes_tags_only_when_asked(ecs):
    register(ecs, ec2("tagged", tags=[{"key": "k", "value": "v"}]))
    assert not ecs.describe_task_definition(taskDefinition="tagged").get("tags")
    out = ecs.describe_task_definition(taskDefinition="tagged", include=["TAGS"])
    assert out["tags"] == [{"key": "k", "value": "v"}]


# ---------------------------------------------------------------- list

def test_list_orders_by_family_then_revision_numerically(ecs):
    for _ in range(11):
        register(ecs, ec2("b"))
    register(ecs, ec2("a"))
    listed = revisions(ecs)
    assert listed == ["a:1"] + [f"b:{i}" for i in range(1, 12)]
    assert revisions(ecs, sort="DESC") == list(reversed(listed))


def test_list_by_family_and_status(ecs):
    for fam in ("app", "app-worker", "other"):
        register(ecs, ec2(fam))
        register(ecs, ec2(fam))
    ecs.deregister_task_definition(taskDefinition="app:1")
    # familyPrefix is the full family name (ECS API reference), not a prefix.
    assert revisions(ecs, familyPrefix="app") == ["app:2"]
    assert revisions(ecs, familyPrefix="app", status="INACTIVE") == ["app:1"]
    assert revisions(ecs, status="INACTIVE") == ["app:1"]
    assert len(revisions(ecs)) == 5


def test_list_pages_with_max_results(ecs):
    for _ in range(5):
        register(ecs, ec2("p"))
    first = ecs.list_task_definitions(maxResults=2)
    assert len(first["taskDefinitionArns"]) == 2 and first["nextToken"]
    assert revisions(ecs, maxResults=2) == [f"p:{i}" for i in range(1, 6)]
    assert revisions(ecs, maxResults=2, sort="DESC") == [f"p:{i}" for i in range(5, 0, -1)]
    pages = list(ecs.get_paginator("list_task_definitions").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["taskDefinitionArns"]) for p in pages] == [2, 2, 1]


@pytest.mark.parametrize("kw", [{"maxResults": 0}, {"maxResults": 101}, {"nextToken": "zz-not-ours"}])
def test_list_refuses_bad_paging(ecs, kw):
    with raises_aws("InvalidParameterException"):
        ecs.list_task_definitions(**kw)


def test_list_families(ecs):
    for fam in ("web", "web-api", "worker", "db"):
        register(ecs, ec2(fam))
    ecs.deregister_task_definition(taskDefinition="db:1")
    assert ecs.list_task_definition_families()["families"] == ["db", "web", "web-api", "worker"]
    # Here familyPrefix is a real prefix.
    assert ecs.list_task_definition_families(familyPrefix="web")["families"] == ["web", "web-api"]
    assert ecs.list_task_definition_families(status="ACTIVE")["families"] == ["web", "web-api", "worker"]
    assert ecs.list_task_definition_families(status="INACTIVE")["families"] == ["db"]
    assert ecs.list_task_definition_families(status="ALL")["families"] == ["db", "web", "web-api", "worker"]
    pages = list(ecs.get_paginator("list_task_definition_families").paginate(PaginationConfig={"PageSize": 3}))
    assert [p["families"] for p in pages] == [["db", "web", "web-api"], ["worker"]]


# --------------------------------------------------- deregister / delete

def test_deregister_makes_a_revision_inactive(ecs):
    register(ecs, ec2("g"))
    td = ecs.deregister_task_definition(taskDefinition="g:1")["taskDefinition"]
    assert td["status"] == "INACTIVE"
    assert td["deregisteredAt"]
    assert revisions(ecs) == []
    assert revisions(ecs, status="INACTIVE") == ["g:1"]


@pytest.mark.parametrize("reference", ["g:7", "nope:1", "g"])
def test_deregister_refuses_what_is_not_a_registered_revision(ecs, reference):
    register(ecs, ec2("g"))
    with raises_aws("ClientException"):
        ecs.deregister_task_definition(taskDefinition=reference)
    assert revisions(ecs) == ["g:1"]


def test_delete_takes_inactive_revisions_and_reports_the_rest_as_failures(ecs):
    register(ecs, ec2("x"))
    register(ecs, ec2("x"))
    ecs.deregister_task_definition(taskDefinition="x:1")
    out = ecs.delete_task_definitions(taskDefinitions=["x:1", "x:2", "x:9"])
    assert [(t["family"], t["revision"], t["status"]) for t in out["taskDefinitions"]] == [("x", 1, "DELETE_IN_PROGRESS")]
    assert out["taskDefinitions"][0]["deleteRequestedAt"]
    failures = {f["arn"]: f["reason"] for f in out["failures"]}
    assert set(failures) == {TD_ARN.format("x:2"), TD_ARN.format("x:9")}
    assert "ACTIVE" in failures[TD_ARN.format("x:2")]
    # x:2 is untouched; x:1 no longer listed as INACTIVE.
    assert revisions(ecs) == ["x:2"]
    assert revisions(ecs, status="INACTIVE") == []


@pytest.mark.parametrize("refs", [[], [f"x:{i}" for i in range(1, 12)]], ids=["none", "eleven"])
def test_delete_takes_one_to_ten_references(ecs, refs):
    with raises_aws("InvalidParameterException"):
        ecs.delete_task_definitions(taskDefinitions=refs)

#!/bin/sh
# The compose example's client: waits until ecsbox answers, creates the
# `default` cluster, registers example/hello.json and runs it, then waits
# for the task to be RUNNING. Its web page is then on http://localhost:8080
# (a bridge-mode task with hostPort 8080, published on the Docker host).
#
# It is plain busybox sh + wget, so that it needs no image from a registry.
# Real clients sign their requests; ecsbox's default `--sigv4 lenient` only
# checks that a request carries a well-formed, fresh SigV4 header for ECS,
# which is all this script sends. With a registry at hand, the same is
#   aws --endpoint-url http://ecsbox:4566 ecs create-cluster ...
# in the amazon/aws-cli image.
set -eu

ENDPOINT=${ECSBOX_ENDPOINT:-http://ecsbox:4566}
REGION=${AWS_DEFAULT_REGION:-us-east-1}
TASK_DEFINITION=${TASK_DEFINITION:-/example/hello.json}
SIGNATURE=0000000000000000000000000000000000000000000000000000000000000000

say() { echo "example: $*"; }

# ecs OPERATION JSON: one ECS call; prints the answer, fails on an error.
ecs() {
    now=$(date -u +%Y%m%dT%H%M%SZ)
    wget -q -O - \
        --header "Content-Type: application/x-amz-json-1.1" \
        --header "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" \
        --header "X-Amz-Date: $now" \
        --header "Authorization: AWS4-HMAC-SHA256 Credential=example/${now%%T*}/$REGION/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=$SIGNATURE" \
        --post-data "$2" "$ENDPOINT/"
}

# The first "name":"value" string in JSON on stdin.
field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d '"' -f 4; }

wait_for_ecsbox() {
    # (The static busybox's wget can crash on a refused connection: judge by
    # the answer, not by how wget exits.)
    i=0
    until wget -q -O - "$ENDPOINT/_ecsbox/health" 2>/dev/null | grep -q '"status":"running"'; do
        i=$((i + 1))
        [ "$i" -lt 60 ] || { say "ecsbox did not answer on $ENDPOINT within 60s"; exit 1; }
        sleep 1
    done
    say "ecsbox is up at $ENDPOINT"
}

# Until the task and its container are RUNNING; a task ECS is stopping
# (desiredStatus STOPPED) will not get there: say why.
wait_for_task() {
    i=0
    while :; do
        answer=$(ecs DescribeTasks "{\"tasks\":[\"$1\"]}")
        if echo "$answer" | grep -q '"desiredStatus":"STOPPED"'; then
            say "the task stopped: $(echo "$answer" | field stoppedReason)"
            exit 1
        fi
        statuses=$(echo "$answer" | grep -o '"lastStatus":"[A-Z]*"' | sort -u)
        [ "$statuses" = '"lastStatus":"RUNNING"' ] && return 0
        i=$((i + 1))
        [ "$i" -lt 60 ] || { say "the task is not RUNNING after 60s: $statuses"; exit 1; }
        sleep 1
    done
}

wait_for_ecsbox
ecs CreateCluster '{"clusterName":"default"}' >/dev/null
definition=$(ecs RegisterTaskDefinition "$(cat "$TASK_DEFINITION")" | field taskDefinitionArn)
say "registered $definition"
answer=$(ecs RunTask "{\"taskDefinition\":\"$definition\"}")
task=$(echo "$answer" | field taskArn)
[ -n "$task" ] || { say "RunTask started no task: $answer"; exit 1; }
say "started $task"
wait_for_task "$task"
say "the task is RUNNING: open http://localhost:8080"

#!/usr/bin/env bash
# The test command: everything CI runs, on a clean clone of a machine with a
# Rust toolchain, python3 (3.11+, with venv and pip) and Docker. It installs
# what else it needs (the Python clients, into compat-tests/.venv).
#
#   1. generated code is fresh     python3 codegen/generate.py --check
#   2. the house rules             cargo fmt --check; cargo clippy --all-targets -- -D warnings
#   3. the binary builds           cargo build --locked
#   4. the Rust tests              cargo test --locked --no-fail-fast (first: iptables
#                                  from Debian when missing, for the Docker tests of
#                                  the task endpoints' netfilter redirect)
#   5. the test images             scripts/build-test-images.sh (local, no registry)
#   6. the compat tests            boto3, aws CLI, awslocal against the built binary
#   7. the image                   scripts/build-image.sh (offline, FROM scratch), then
#                                  the testcontainers example test against it
#
# A failing step does not hide the others (except a failed build, which the
# later steps need); the summary at the end lists each step, and the exit
# code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# A clean clone gains nothing from incremental compilation, and its
# directories are a large share of the target directory on CI's shared disk.
if [ "${CI:-}" = true ]; then
    export CARGO_INCREMENTAL=0
fi

PYTHON=${PYTHON:-python3}
VENV=compat-tests/.venv
REQUIREMENTS=compat-tests/requirements.txt

declare -a SUMMARY=()
FAILED=0
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

# step NAME COMMAND...: runs a step, timing it and recording its result.
step() {
    local name=$1; shift
    printf '\n==> %s\n' "$name"
    local start=$SECONDS
    "$@"
    local rc=$?
    local took=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        SUMMARY+=("ok      ${name} (${took}s)")
    else
        SUMMARY+=("FAILED  ${name} (${took}s, exit ${rc})")
        FAILED=1
    fi
    return "$rc"
}

# Passed and failed test counts from the runners' own closing lines.
count_tests() {
    local passed=0 failed=0 n
    if [ -f "$LOGS/rust.log" ]; then
        while read -r p f; do
            passed=$((passed + p)); failed=$((failed + f))
        done < <(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$LOGS/rust.log")
    fi
    if [ -f "$LOGS/compat.log" ]; then
        local last
        last=$(grep -E '[0-9]+ (passed|failed|errors?)( |,|$)' "$LOGS/compat.log" | grep -E ' in [0-9.]+s' | tail -n1)
        n=$(grep -oE '[0-9]+ passed' <<<"$last" | cut -d' ' -f1); passed=$((passed + ${n:-0}))
        n=$(grep -oE '[0-9]+ failed' <<<"$last" | cut -d' ' -f1); failed=$((failed + ${n:-0}))
        n=$(grep -oE '[0-9]+ errors?' <<<"$last" | cut -d' ' -f1); failed=$((failed + ${n:-0}))
    fi
    echo "tests: ${passed} passed, ${failed} failed"
}

summary() {
    printf '\n==> summary\n'
    printf '  %s\n' "${SUMMARY[@]}"
    if [ "$FAILED" -eq 0 ]; then
        echo "all steps passed"
    else
        echo "some steps FAILED"
    fi
    # Last, on a line of its own: the total over both runners.
    count_tests
}

# A venv that works, with the pinned clients. Re-installs only when
# requirements.txt changed since the last install into this venv.
python_clients() {
    if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        echo "compat-tests/.venv is broken (moved or its python is gone): recreating it"
        rm -rf "$VENV"
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV" || return 1
    fi
    local stamp="$VENV/.requirements.sha256"
    local want
    want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        echo "pinned clients already installed ($(grep -cv '^\s*\(#\|$\)' "$REQUIREMENTS") packages)"
        return 0
    fi
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS" || return 1
    echo "$want" > "$stamp"
}

binary_path() {
    local target
    target=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
        | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])') || target=target
    echo "$target/debug/ecsbox"
}

# The Docker tests of the task endpoints' redirect (tests/docker_host_ports.rs)
# read and change the nat table with iptables, as ecsbox does as root.
host_tools() {
    if command -v iptables >/dev/null 2>&1; then
        echo "iptables present: $(iptables --version)"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "iptables is missing and installing it needs root: apt-get install iptables"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq iptables >/dev/null
}

rust_tests() {
    cargo test --locked --no-fail-fast 2>&1 | tee "$LOGS/rust.log"
    return "${PIPESTATUS[0]}"
}

compat_tests() {
    local bin
    bin=$(binary_path)
    ECSBOX_BIN="$bin" "$VENV/bin/python" -m pytest compat-tests -q 2>&1 | tee "$LOGS/compat.log"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests: that is a failure here"
        return 1
    fi
    return "$rc"
}

# The Docker image, and the testcontainers module's example test, which
# starts that image. Its results count with the Rust tests.
image_tests() {
    scripts/build-image.sh || return 1
    cargo test --locked --features testcontainers --test testcontainers_example 2>&1 | tee -a "$LOGS/rust.log"
    return "${PIPESTATUS[0]}"
}

step "generated code is fresh (codegen/generate.py --check)" "$PYTHON" codegen/generate.py --check
step "formatting (cargo fmt --check)" cargo fmt --check
step "lints (cargo clippy --locked --all-targets -- -D warnings)" cargo clippy --locked --all-targets -- -D warnings
if ! step "build (cargo build --locked)" cargo build --locked; then
    summary
    exit 1
fi
step "host tools for the Docker tests (iptables, from Debian when missing)" host_tools
step "Rust tests (cargo test --locked --no-fail-fast)" rust_tests
# The compat tests that run tasks need the local busybox image; the others
# do not, so a failed image build does not keep them from running.
step "build the test images (scripts/build-test-images.sh)" bash scripts/build-test-images.sh
if step "install the Python clients (compat-tests/requirements.txt)" python_clients; then
    step "compat tests (boto3, aws CLI, awslocal against the binary)" compat_tests
fi
step "image + testcontainers (scripts/build-image.sh; cargo test --features testcontainers)" image_tests
summary
exit "$FAILED"

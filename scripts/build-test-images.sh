#!/usr/bin/env bash
# Builds the local images ecsbox's Docker tests use. No registry is reachable
# from the test machines, so every image is built FROM scratch out of files
# Debian's packages provide. Idempotent: an image that exists is left alone
# (pass --rebuild to build it again). Safe to run concurrently (flock).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
busybox_image="ecsbox-test/busybox:latest"
rebuild=0
[[ "${1:-}" == "--rebuild" ]] && rebuild=1

# One build at a time: parallel test binaries may all call this script.
exec 9>"${TMPDIR:-/tmp}/ecsbox-build-test-images.lock"
flock 9

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# A busybox that runs in a FROM scratch image must be statically linked;
# Debian's busybox-static package puts one at /bin/busybox.
is_static() { [[ -x "$1" ]] && ! ldd "$1" >/dev/null 2>&1; }

ensure_static_busybox() {
    if is_static /bin/busybox; then return; fi
    echo "build-test-images: installing busybox-static (needs root and Debian's package registry)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq busybox-static >/dev/null
    is_static /bin/busybox || { echo "build-test-images: /bin/busybox is still not a static binary" >&2; exit 1; }
}

build_busybox_image() {
    if [[ $rebuild -eq 0 ]] && image_exists "$busybox_image"; then
        echo "build-test-images: $busybox_image already present"
        return
    fi
    ensure_static_busybox
    local ctx
    ctx="$(mktemp -d)"
    trap 'rm -rf "$ctx"' RETURN
    cp "$here/docker/test-images/busybox/Dockerfile" "$ctx/"
    cp /bin/busybox "$ctx/busybox"
    # The output (and the legacy builder's deprecation notice) only matters
    # when the build fails.
    local log
    if ! log="$(docker build --quiet --tag "$busybox_image" "$ctx" 2>&1)"; then
        echo "$log" >&2
        exit 1
    fi
    echo "build-test-images: built $busybox_image"
}

docker info >/dev/null 2>&1 || { echo "build-test-images: the Docker engine is not reachable (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-unset})" >&2; exit 1; }
build_busybox_image

#!/usr/bin/env bash
# Builds the ecsbox Docker image, tagged ecsbox:latest and ecsbox:<version>.
#
#   scripts/build-image.sh            offline (the default): build the release
#                                     binary on this host with cargo, then an
#                                     image FROM scratch holding it, the shared
#                                     libraries it links and a non-root user
#                                     (docker/Dockerfile.local). Needs no
#                                     registry at all.
#   scripts/build-image.sh --pull     the top-level Dockerfile: compile inside
#                                     the rust:1-bookworm image. Needs to pull
#                                     it; when it cannot, it says so and builds
#                                     offline instead.
#   --tag NAME                        another image name (default: ecsbox)
#
# Prints the image's size at the end. Safe to run concurrently (flock).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name=ecsbox
pull=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --pull) pull=1 ;;
        --tag) name="${2:?--tag needs a name}"; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "build-image: $*" >&2; }
die() { say "$*"; exit 1; }

docker info >/dev/null 2>&1 \
    || die "the Docker engine is not reachable (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-unset})"

# One build at a time: the test script and a developer may both call this.
exec 9>"${TMPDIR:-/tmp}/ecsbox-build-image.lock"
flock 9

version="$(sed -nE 's/^version = "([^"]+)"/\1/p' "$here/Cargo.toml" | head -n1)"
[[ -n "$version" ]] || die "no version in Cargo.toml"
labels=(--label "org.opencontainers.image.title=ecsbox"
        --label "org.opencontainers.image.version=$version"
        --label "org.opencontainers.image.description=A local emulator of Amazon ECS")

# Quiet docker build: the output (and the legacy builder's deprecation
# notice) only matters when the build fails.
docker_build() {
    local log
    if ! log="$(docker build --quiet "${labels[@]}" --tag "$name:latest" --tag "$name:$version" "$@" 2>&1)"; then
        echo "$log" >&2
        return 1
    fi
}

# The pull-capable path, when the Dockerfile's base images can be had.
can_pull_bases() {
    local image
    for image in $(sed -nE 's/^FROM ([^ ]+).*/\1/p' "$here/Dockerfile"); do
        [[ "$image" == scratch ]] && continue
        if ! docker image inspect "$image" >/dev/null 2>&1 && ! docker pull --quiet "$image" >/dev/null 2>&1; then
            say "cannot pull $image: building offline instead"
            return 1
        fi
    done
}

build_with_pull() {
    say "building $name:latest from the top-level Dockerfile (compiles inside the image; takes a while)"
    docker_build --file "$here/Dockerfile" "$here"
}

# ------------------------------------------------------------- offline path

target_dir() {
    cargo metadata --format-version 1 --no-deps --manifest-path "$here/Cargo.toml" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

# The prepared build context; removed on exit, whatever happens.
ctx=""
trap 'if [[ -n "$ctx" ]]; then rm -rf "$ctx"; fi' EXIT

build_offline() {
    say "building the release binary (cargo build --release --locked)"
    (cd "$here" && cargo build --release --locked --bin ecsbox)
    local binary
    binary="$(target_dir)/release/ecsbox"
    ctx="$(mktemp -d)"
    bash "$here/docker/prepare-rootfs.sh" "$binary" "$ctx"
    cp "$here/docker/Dockerfile.local" "$ctx/Dockerfile"
    say "building $name:latest FROM scratch ($(find "$ctx/rootfs" -type f | wc -l) files)"
    docker_build "$ctx"
}

if [[ $pull -eq 1 ]] && can_pull_bases; then
    build_with_pull
else
    build_offline
fi

# The image must start: a missing library shows here, not in a user's run.
docker run --rm "$name:latest" --version >/dev/null \
    || die "$name:latest was built but does not start (docker run --rm $name:latest --version)"
size="$(docker image inspect --format '{{.Size}}' "$name:latest")"
say "built $name:latest and $name:$version: $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }') ($size bytes)"

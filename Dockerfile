# The ecsbox image, built from source on a machine that can pull images:
#
#   docker build -t ecsbox .          (or: scripts/build-image.sh --pull)
#
# A machine without a registry builds the same image from the host's release
# binary instead: scripts/build-image.sh (docker/Dockerfile.local). Both end
# FROM scratch with the same layout (docker/prepare-rootfs.sh): the binary,
# the shared libraries it links, a non-root user, /tmp.
#
# Run it with the Docker socket mounted; tasks run as sibling containers on
# the host's engine:
#
#   docker run -p 4566:4566 -v /var/run/docker.sock:/var/run/docker.sock \
#       --group-add "$(stat -c %g /var/run/docker.sock)" ecsbox

# ---- build: the release binary, from the locked dependency versions
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin ecsbox \
 && bash docker/prepare-rootfs.sh target/release/ecsbox /out

# ---- runtime: the binary, glibc and libgcc, nothing else (no shell)
FROM scratch
COPY --from=build /out/rootfs/ /
# Inside a container the loopback address is of no use: listen on every
# interface of the container. Outside one, ecsbox's default stays 127.0.0.1.
ENV ECSBOX_LISTEN=0.0.0.0:4566
# The ECR registry (docker push/pull); publish it on the host's loopback at
# the same port, so the engine pulls tasks' images from localhost:4510.
ENV ECSBOX_REGISTRY_LISTEN=0.0.0.0:4510
# Load balancer listeners (ELBv2): on every interface of the container, and
# only on ports of ECSBOX_LB_PORTS (4511-4559), the range to publish
# (`-p 127.0.0.1:4511-4559:4511-4559`): a listener created for port 80 gets
# the first free port of the range, as GET /_ecsbox/elbv2/listeners tells.
# Instance targets (bridge tasks' host ports) are reached at the container's
# default gateway, the engine's host (an address here overrides it).
ENV ECSBOX_LB_LISTEN_HOST=0.0.0.0
ENV ECSBOX_LB_PORTS_ONLY=true
ENV ECSBOX_LB_INSTANCE_ADDRESS=gateway
# The DNS server for Cloud Map names listens on this container's own
# addresses (port 53): each task gets ecsbox's address on the task's network.
ENV ECSBOX_TASK_DNS=container
EXPOSE 4566 4510 4511-4559
# The non-root user of docker/prepare-rootfs.sh. Reaching the socket needs
# its group: --group-add $(stat -c %g /var/run/docker.sock).
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/ecsbox"]

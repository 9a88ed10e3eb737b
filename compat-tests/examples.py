"""Task definitions the tests register: small valid ones, and three that
together set every member of every structure RegisterTaskDefinition takes
(`FULL_REQUESTS`; test_task_definitions.py proves the coverage from the model).
"""

from __future__ import annotations

import copy

ROLE = "arn:aws:iam::000000000000:role/{}"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:{}"


def container(name: str = "app", **kw) -> dict:
    c = {"name": name, "image": "busybox:latest", "memory": 64}
    c.update(kw)
    return c


def ec2(family: str, **kw) -> dict:
    """The smallest valid EC2 (bridge) task definition."""
    req = {"family": family, "containerDefinitions": [container()]}
    req.update(kw)
    return req


def fargate(family: str, cpu: str = "256", memory: str = "512", **kw) -> dict:
    req = {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": cpu,
        "memory": memory,
        "containerDefinitions": [{"name": "app", "image": "busybox:latest", "essential": True}],
    }
    req.update(kw)
    return req


# EC2 on a bridge network: links, static host ports, host devices, Docker
# volumes, a FireLens log router, GPUs and inference accelerators.
EC2_BRIDGE = {
    "family": "full-ec2",
    "taskRoleArn": ROLE.format("task"),
    "executionRoleArn": ROLE.format("exec"),
    "networkMode": "bridge",
    "requiresCompatibilities": ["EC2"],
    "cpu": "2048",
    "memory": "4096",
    "pidMode": "host",
    "ipcMode": "host",
    "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ g4dn.*"}],
    "inferenceAccelerators": [{"deviceName": "device_1", "deviceType": "eia2.medium"}],
    "tags": [{"key": "team", "value": "platform"}],
    "volumes": [
        {"name": "host-data", "host": {"sourcePath": "/srv/data"}},
        {
            "name": "docker-data",
            "dockerVolumeConfiguration": {
                "scope": "shared",
                "autoprovision": True,
                "driver": "local",
                "driverOpts": {"type": "tmpfs", "device": "tmpfs"},
                "labels": {"owner": "ecsbox"},
            },
        },
    ],
    "containerDefinitions": [
        {
            "name": "web",
            "image": "nginx:1.27",
            "cpu": 512,
            "memory": 1024,
            "memoryReservation": 512,
            "links": ["cache:redis"],
            "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}],
            "essential": True,
            "entryPoint": ["/docker-entrypoint.sh"],
            "command": ["nginx", "-g", "daemon off;"],
            "environment": [{"name": "MODE", "value": "production"}],
            "mountPoints": [
                {"sourceVolume": "host-data", "containerPath": "/usr/share/nginx/html", "readOnly": True},
                {"sourceVolume": "docker-data", "containerPath": "/cache", "readOnly": False},
            ],
            "volumesFrom": [{"sourceContainer": "cache", "readOnly": True}],
            "linuxParameters": {
                "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["MKNOD"]},
                "devices": [{"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write", "mknod"]}],
                "initProcessEnabled": True,
                "sharedMemorySize": 128,
                "tmpfs": [{"containerPath": "/run", "size": 64, "mountOptions": ["rw", "noexec"]}],
                "maxSwap": 1024,
                "swappiness": 60,
            },
            "dependsOn": [{"containerName": "cache", "condition": "HEALTHY"}],
            "hostname": "web.local",
            "user": "nginx",
            "workingDirectory": "/usr/share/nginx",
            "disableNetworking": False,
            "privileged": True,
            "readonlyRootFilesystem": False,
            "dnsServers": ["10.0.0.2"],
            "dnsSearchDomains": ["internal.example"],
            "extraHosts": [{"hostname": "db.internal", "ipAddress": "10.0.0.20"}],
            "dockerSecurityOptions": ["no-new-privileges", "label:type:container_t"],
            "interactive": False,
            "pseudoTerminal": False,
            "dockerLabels": {"com.example.tier": "frontend"},
            "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
            "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch", "region": "us-east-1"}},
            "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
            "resourceRequirements": [
                {"type": "GPU", "value": "1", "sharingStrategy": {"nvidiaMps": {"memory": 2048, "maxComputePercent": 50}}},
                {"type": "InferenceAccelerator", "value": "device_1"},
            ],
            "credentialSpecs": ["credentialspecdomainless:arn:aws:s3:::bucket/gmsa.json"],
        },
        {
            "name": "cache",
            "image": "redis:7",
            "memory": 512,
            "essential": False,
            "healthCheck": {"command": ["CMD-SHELL", "redis-cli ping"], "interval": 10, "timeout": 3,
                            "retries": 3, "startPeriod": 5},
        },
        {
            "name": "log_router",
            "image": "amazon/aws-for-fluent-bit:stable",
            "memory": 128,
            "essential": True,
            "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
        },
    ],
}

# Fargate on awsvpc: task-level size, platform, storage, App Mesh proxy,
# EFS, secrets from Secrets Manager, a private registry.
FARGATE_AWSVPC = {
    "family": "full-fargate",
    "taskRoleArn": ROLE.format("task"),
    "executionRoleArn": ROLE.format("exec"),
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "1024",
    "memory": "3072",
    "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
    "ephemeralStorage": {"sizeInGiB": 50},
    "enableFaultInjection": True,
    "proxyConfiguration": {
        "type": "APPMESH",
        "containerName": "envoy",
        "properties": [
            {"name": "IgnoredUID", "value": "1337"},
            {"name": "ProxyIngressPort", "value": "15000"},
            {"name": "ProxyEgressPort", "value": "15001"},
            {"name": "AppPorts", "value": "8080"},
            {"name": "EgressIgnoredIPs", "value": "169.254.170.2,169.254.169.254"},
        ],
    },
    "volumes": [
        {
            "name": "shared-efs",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-12345678",
                "rootDirectory": "/",
                "transitEncryption": "ENABLED",
                "transitEncryptionPort": 2049,
                "authorizationConfig": {"accessPointId": "fsap-1234567890abcdef0", "iam": "ENABLED"},
            },
        },
        {"name": "ebs-at-launch", "configuredAtLaunch": True},
    ],
    "containerDefinitions": [
        {
            "name": "api",
            "image": "registry.example.com/team/api:1.2.3",
            "repositoryCredentials": {"credentialsParameter": SECRET.format("registry")},
            "cpu": 512,
            "memory": 2048,
            "portMappings": [
                {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"},
                {"containerPortRange": "9000-9010", "protocol": "udp"},
            ],
            "essential": True,
            "restartPolicy": {"enabled": True, "ignoredExitCodes": [0, 137], "restartAttemptPeriod": 180},
            "environmentFiles": [{"value": "arn:aws:s3:::bucket/api.env", "type": "s3"}],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET.format("db")}],
            "mountPoints": [{"sourceVolume": "shared-efs", "containerPath": "/mnt/efs", "readOnly": False},
                            {"sourceVolume": "ebs-at-launch", "containerPath": "/mnt/ebs"}],
            "startTimeout": 120,
            "stopTimeout": 30,
            "versionConsistency": "disabled",
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/ecs/api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"},
                "secretOptions": [{"name": "api-key", "valueFrom": SECRET.format("log-key")}],
            },
            "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}],
        },
        {
            "name": "envoy",
            "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod",
            "memory": 512,
            "essential": True,
            "user": "1337",
            "healthCheck": {"command": ["CMD-SHELL", "curl -s http://localhost:9901/server_info"]},
        },
    ],
}

# The remaining volume kinds (FSx for Windows, S3 Files) and trusted execution.
OTHER_VOLUMES = {
    "family": "full-volumes",
    "requiresCompatibilities": ["EC2"],
    "networkMode": "awsvpc",
    "trustedExecutionConfiguration": {"isolationMode": "SHARED", "attestationPolicy": "default"},
    "volumes": [
        {
            "name": "fsx",
            "fsxWindowsFileServerVolumeConfiguration": {
                "fileSystemId": "fs-0123456789abcdef0",
                "rootDirectory": "share",
                "authorizationConfig": {"credentialsParameter": SECRET.format("fsx"), "domain": "corp.example.com"},
            },
        },
        {
            "name": "s3files",
            "s3filesVolumeConfiguration": {
                "fileSystemArn": "arn:aws:s3files:us-east-1:000000000000:file-system/fs-1",
                "rootDirectory": "/data",
                "transitEncryptionPort": 2049,
                "accessPointArn": "arn:aws:s3files:us-east-1:000000000000:access-point/ap-1",
            },
        },
    ],
    "containerDefinitions": [
        {"name": "app", "image": "busybox:latest", "memory": 128,
         "mountPoints": [{"sourceVolume": "fsx", "containerPath": "/fsx"},
                         {"sourceVolume": "s3files", "containerPath": "/s3"}]},
    ],
}

FULL_REQUESTS = [EC2_BRIDGE, FARGATE_AWSVPC, OTHER_VOLUMES]


def full_requests() -> list[dict]:
    return copy.deepcopy(FULL_REQUESTS)

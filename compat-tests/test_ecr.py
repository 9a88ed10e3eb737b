"""Amazon ECR on the ecsbox port (AWS JSON 1.1), through boto3 and the aws
CLI: repositories (settings, describe by name and by page, delete with and
without force), images pushed over the API (layers through
InitiateLayerUpload/UploadLayerPart/CompleteLayerUpload, manifests through
PutImage) then described, listed, fetched and deleted, repository and
lifecycle policies with a preview that really evaluates the rules, the
login token, tags, the errors in ECR's codes and words, and accounts and
regions kept apart."""

import base64
import hashlib
import json
import urllib.request
import time

import pytest

import harness
from harness import assert_cli_error, assert_cli_ok, raises_aws

ACCOUNT = harness.DEFAULT_ACCOUNT
REGION = harness.DEFAULT_REGION
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@pytest.fixture
def ecr(endpoint):
    return harness.aws_client(endpoint, "ecr")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload_layer(ecr, repo: str, data: bytes) -> str:
    """Uploads `data` (at least one byte) in two parts through the layer API; returns its digest."""
    upload = ecr.initiate_layer_upload(repositoryName=repo)
    assert upload["partSize"] > 0
    upload_id = upload["uploadId"]
    half = max(len(data) // 2, 1)
    first = ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=0,
                                  partLastByte=half - 1, layerPartBlob=data[:half])
    assert first["lastByteReceived"] == half - 1
    if half < len(data):
        ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=half,
                              partLastByte=len(data) - 1, layerPartBlob=data[half:])
    digest = digest_of(data)
    done = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest])
    assert (done["layerDigest"], done["repositoryName"], done["registryId"]) == (digest, repo, ACCOUNT)
    return digest


def manifest_for(ecr, repo: str, layer: bytes) -> str:
    """A Docker image manifest whose config and layer were uploaded into `repo`."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"},
                         "layer": layer.decode("latin-1")}).encode()
    config_digest = upload_layer(ecr, repo, config)
    layer_digest = upload_layer(ecr, repo, layer)
    return json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": len(layer)}],
    })


def push(ecr, repo: str, tag: str | None, layer: bytes) -> str:
    """Pushes an image over the API; returns its digest."""
    manifest = manifest_for(ecr, repo, layer)
    kw = {"imageTag": tag} if tag else {}
    image = ecr.put_image(repositoryName=repo, imageManifest=manifest, **kw)["image"]
    assert image["imageId"]["imageDigest"] == digest_of(manifest.encode())
    return image["imageId"]["imageDigest"]


def registry_host(ecr) -> str:
    endpoint = ecr.get_authorization_token()["authorizationData"][0]["proxyEndpoint"]
    assert endpoint.startswith("http://")
    return endpoint[len("http://"):]


# ------------------------------------------------------------ repositories

def test_create_repository_answers_ecr_defaults(ecr):
    repo = ecr.create_repository(repositoryName="team/web")["repository"]
    assert repo["repositoryArn"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/web"
    assert repo["registryId"] == ACCOUNT
    assert repo["repositoryUri"] == f"{registry_host(ecr)}/team/web"
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert repo["createdAt"].year >= 2024


def test_create_repository_records_its_settings(ecr):
    repo = ecr.create_repository(
        repositoryName="settings", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev-*"}],
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS"},
        tags=[{"Key": "team", "Value": "a"}])["repository"]
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "dev-*"}]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    # KMS without a key: the account's AWS managed key for ECR.
    assert repo["encryptionConfiguration"] == {"encryptionType": "KMS",
                                               "kmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/ecr"}
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [{"Key": "team", "Value": "a"}]
    described = ecr.describe_repositories(repositoryNames=["settings"])["repositories"][0]
    assert described == repo


@pytest.mark.parametrize("kw, named", [
    ({"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "imageTagMutabilityExclusionFilters"),
    ({"imageTagMutability": "MUTABLE", "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "x"}]},
     "imageTagMutabilityExclusionFilters"),
    ({"encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": "k"}}, "kmsKey"),
    ({"registryId": "123456789012"}, "registryId"),
    ({"tags": [{"Key": "aws:reserved", "Value": "v"}]}, None),
])
def test_create_repository_refuses_bad_settings(ecr, kw, named):
    code = "InvalidTagParameterException" if named is None else "InvalidParameterException"
    with raises_aws(code) as e:
        ecr.create_repository(repositoryName="refused", **kw)
    if named:
        assert named in e.value.response["Error"]["Message"]
    assert ecr.describe_repositories()["repositories"] == []


def test_the_model_constraints_are_invalid_parameter(ecr):
    with raises_aws("InvalidParameterException") as e:
        ecr.create_repository(repositoryName="Upper_Case")
    assert "repositoryName" in e.value.response["Error"]["Message"]


def test_a_name_is_created_once(ecr):
    ecr.create_repository(repositoryName="web")
    with raises_aws("RepositoryAlreadyExistsException") as e:
        ecr.create_repository(repositoryName="web")
    assert e.value.response["Error"]["Message"] == \
        f"The repository with name 'web' already exists in the registry with id '{ACCOUNT}'"


def test_describe_repositories_by_name_and_by_page(ecr):
    names = [f"repo-{i}" for i in range(5)]
    for name in names:
        ecr.create_repository(repositoryName=name)
    assert [r["repositoryName"] for r in ecr.describe_repositories(repositoryNames=["repo-3", "repo-1"])["repositories"]] \
        == ["repo-3", "repo-1"]
    with raises_aws("RepositoryNotFoundException") as e:
        ecr.describe_repositories(repositoryNames=["repo-1", "nope"])
    assert e.value.response["Error"]["Message"] == \
        f"The repository with name 'nope' does not exist in the registry with id '{ACCOUNT}'"
    first = ecr.describe_repositories(maxResults=2)
    assert len(first["repositories"]) == 2 and first["nextToken"]
    pages = list(ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [r["repositoryName"] for p in pages for r in p["repositories"]] == names
    with raises_aws("InvalidParameterException"):
        ecr.describe_repositories(maxResults=2, nextToken="not-a-token")


def test_delete_repository_needs_force_when_it_has_images(ecr):
    ecr.create_repository(repositoryName="full")
    push(ecr, "full", "v1", b"layer")
    with raises_aws("RepositoryNotEmptyException") as e:
        ecr.delete_repository(repositoryName="full")
    assert e.value.response["Error"]["Message"] == \
        f"The repository with name 'full' in registry with id '{ACCOUNT}' cannot be deleted because it still contains images"
    gone = ecr.delete_repository(repositoryName="full", force=True)["repository"]
    assert gone["repositoryName"] == "full"
    with raises_aws("RepositoryNotFoundException"):
        ecr.delete_repository(repositoryName="full")
    ecr.create_repository(repositoryName="empty")
    ecr.delete_repository(repositoryName="empty")
    assert ecr.describe_repositories()["repositories"] == []


def test_tag_mutability_and_scanning_configuration_change(ecr):
    ecr.create_repository(repositoryName="web")
    out = ecr.put_image_tag_mutability(repositoryName="web", imageTagMutability="IMMUTABLE")
    assert (out["imageTagMutability"], out["repositoryName"], out["registryId"]) == ("IMMUTABLE", "web", ACCOUNT)
    out = ecr.put_image_scanning_configuration(repositoryName="web", imageScanningConfiguration={"scanOnPush": True})
    assert out["imageScanningConfiguration"] == {"scanOnPush": True}
    repo = ecr.describe_repositories()["repositories"][0]
    assert (repo["imageTagMutability"], repo["imageScanningConfiguration"]["scanOnPush"]) == ("IMMUTABLE", True)
    with raises_aws("RepositoryNotFoundException"):
        ecr.put_image_tag_mutability(repositoryName="nope", imageTagMutability="MUTABLE")


# ------------------------------------------------------------------ layers

def test_layers_uploaded_are_available_and_downloadable(ecr):
    ecr.create_repository(repositoryName="web")
    digest = upload_layer(ecr, "web", b"0123456789" * 100)
    unknown = digest_of(b"absent")
    out = ecr.batch_check_layer_availability(repositoryName="web", layerDigests=[digest, unknown, "sha256:zz"])
    assert out["layers"] == [{"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": 1000}]
    assert {(f["layerDigest"], f["failureCode"]) for f in out["failures"]} == \
        {(unknown, "MissingLayerDigest"), ("sha256:zz", "InvalidLayerDigest")}
    # A layer no image names yet is not downloadable; once pushed in an image it is.
    with raises_aws("LayerInaccessibleException"):
        ecr.get_download_url_for_layer(repositoryName="web", layerDigest=digest)
    with raises_aws("LayersNotFoundException"):
        ecr.get_download_url_for_layer(repositoryName="web", layerDigest=unknown)
    manifest = manifest_for(ecr, "web", b"image layer")
    ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")
    layer_digest = json.loads(manifest)["layers"][0]["digest"]
    url = ecr.get_download_url_for_layer(repositoryName="web", layerDigest=layer_digest)
    assert url["downloadUrl"] == f"http://{registry_host(ecr)}/v2/web/blobs/{layer_digest}"
    # A layer is the repository's own: another repository does not have it.
    ecr.create_repository(repositoryName="other")
    other = ecr.batch_check_layer_availability(repositoryName="other", layerDigests=[digest])
    assert other["layers"] == [] and other["failures"][0]["failureCode"] == "MissingLayerDigest"


def test_layer_upload_errors(ecr):
    ecr.create_repository(repositoryName="web")
    upload_id = ecr.initiate_layer_upload(repositoryName="web")["uploadId"]
    ecr.upload_layer_part(repositoryName="web", uploadId=upload_id, partFirstByte=0, partLastByte=2, layerPartBlob=b"abc")
    # A part must continue where the upload ends, and span its bytes.
    with raises_aws("InvalidLayerPartException"):
        ecr.upload_layer_part(repositoryName="web", uploadId=upload_id, partFirstByte=1, partLastByte=3, layerPartBlob=b"bcd")
    with raises_aws("InvalidLayerPartException"):
        ecr.upload_layer_part(repositoryName="web", uploadId=upload_id, partFirstByte=3, partLastByte=9, layerPartBlob=b"d")
    with raises_aws("InvalidLayerException"):
        ecr.complete_layer_upload(repositoryName="web", uploadId=upload_id, layerDigests=[digest_of(b"other")])
    # The upload is over after a failed completion.
    with raises_aws("UploadNotFoundException"):
        ecr.upload_layer_part(repositoryName="web", uploadId=upload_id, partFirstByte=3, partLastByte=3, layerPartBlob=b"d")
    digest = upload_layer(ecr, "web", b"same bytes")
    again = ecr.initiate_layer_upload(repositoryName="web")["uploadId"]
    ecr.upload_layer_part(repositoryName="web", uploadId=again, partFirstByte=0, partLastByte=9, layerPartBlob=b"same bytes")
    with raises_aws("LayerAlreadyExistsException"):
        ecr.complete_layer_upload(repositoryName="web", uploadId=again, layerDigests=[digest])
    empty = ecr.initiate_layer_upload(repositoryName="web")["uploadId"]
    with raises_aws("EmptyUploadException"):
        ecr.complete_layer_upload(repositoryName="web", uploadId=empty, layerDigests=[digest])
    # An upload of one repository is unknown to another.
    ecr.create_repository(repositoryName="other")
    with raises_aws("UploadNotFoundException"):
        ecr.upload_layer_part(repositoryName="other", uploadId=empty, partFirstByte=0, partLastByte=0, layerPartBlob=b"x")


# ------------------------------------------------------------------ images

def test_put_describe_get_and_delete_an_image(ecr):
    ecr.create_repository(repositoryName="web")
    manifest = manifest_for(ecr, "web", b"the layer bytes")
    put = ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1",
                        imageManifestMediaType=DOCKER_MANIFEST)["image"]
    digest = digest_of(manifest.encode())
    assert put["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert (put["imageManifest"], put["imageManifestMediaType"], put["registryId"]) == (manifest, DOCKER_MANIFEST, ACCOUNT)
    # A second tag on the same image.
    ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag="latest")

    detail = ecr.describe_images(repositoryName="web")["imageDetails"]
    assert len(detail) == 1
    d = detail[0]
    assert (d["imageDigest"], sorted(d["imageTags"]), d["repositoryName"], d["registryId"]) == \
        (digest, ["latest", "v1"], "web", ACCOUNT)
    assert d["imageSizeInBytes"] == len(b"the layer bytes")
    assert (d["imageManifestMediaType"], d["artifactMediaType"]) == (DOCKER_MANIFEST, CONFIG_TYPE)
    assert d["imagePushedAt"].year >= 2024
    assert "lastRecordedPullTime" not in d
    by_tag = ecr.describe_images(repositoryName="web", imageIds=[{"imageTag": "v1"}])["imageDetails"]
    assert [i["imageDigest"] for i in by_tag] == [digest]

    listed = ecr.list_images(repositoryName="web")["imageIds"]
    assert sorted(listed, key=lambda i: i["imageTag"]) == \
        [{"imageDigest": digest, "imageTag": "latest"}, {"imageDigest": digest, "imageTag": "v1"}]

    got = ecr.batch_get_image(repositoryName="web", imageIds=[{"imageTag": "v1"}, {"imageTag": "nope"},
                                                               {"imageDigest": digest, "imageTag": "nope2"}])
    assert [i["imageManifest"] for i in got["images"]] == [manifest]
    assert got["images"][0]["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert {f["imageId"].get("imageTag"): f["failureCode"] for f in got["failures"]} == \
        {"nope": "ImageNotFound", "nope2": "ImageNotFound"}
    assert got["failures"][0]["failureReason"] == "Requested image not found"

    # Deleting one tag leaves the image; deleting the last takes it.
    out = ecr.batch_delete_image(repositoryName="web", imageIds=[{"imageTag": "latest"}, {"imageTag": "absent"}])
    assert out["imageIds"] == [{"imageDigest": digest, "imageTag": "latest"}]
    assert out["failures"] == [{"imageId": {"imageTag": "absent"}, "failureCode": "ImageNotFound",
                                "failureReason": "Requested image not found"}]
    assert len(ecr.describe_images(repositoryName="web")["imageDetails"]) == 1
    ecr.batch_delete_image(repositoryName="web", imageIds=[{"imageTag": "v1"}])
    assert ecr.describe_images(repositoryName="web")["imageDetails"] == []


def test_delete_by_digest_takes_every_tag(ecr):
    ecr.create_repository(repositoryName="web")
    digest = push(ecr, "web", "a", b"x")
    manifest = ecr.batch_get_image(repositoryName="web", imageIds=[{"imageDigest": digest}])["images"][0]["imageManifest"]
    ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag="b")
    out = ecr.batch_delete_image(repositoryName="web", imageIds=[{"imageDigest": digest}])
    assert sorted(i["imageTag"] for i in out["imageIds"]) == ["a", "b"]
    assert ecr.list_images(repositoryName="web")["imageIds"] == []


def test_untagged_images_and_tag_status_filters(ecr):
    ecr.create_repository(repositoryName="web")
    tagged = push(ecr, "web", "v1", b"one")
    untagged = push(ecr, "web", None, b"two")
    assert ecr.list_images(repositoryName="web", filter={"tagStatus": "UNTAGGED"})["imageIds"] == \
        [{"imageDigest": untagged}]
    assert ecr.list_images(repositoryName="web", filter={"tagStatus": "TAGGED"})["imageIds"] == \
        [{"imageDigest": tagged, "imageTag": "v1"}]
    untagged_detail = ecr.describe_images(repositoryName="web", filter={"tagStatus": "UNTAGGED"})["imageDetails"]
    assert [(d["imageDigest"], "imageTags" in d) for d in untagged_detail] == [(untagged, False)]
    assert len(ecr.describe_images(repositoryName="web", filter={"tagStatus": "ANY"})["imageDetails"]) == 2
    # Moving a mutable tag leaves the old image untagged.
    manifest = ecr.batch_get_image(repositoryName="web", imageIds=[{"imageDigest": untagged}])["images"][0]["imageManifest"]
    ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")
    assert ecr.list_images(repositoryName="web", filter={"tagStatus": "UNTAGGED"})["imageIds"] == [{"imageDigest": tagged}]


def test_images_page_with_paginators(ecr):
    ecr.create_repository(repositoryName="web")
    digests = {push(ecr, "web", f"t{i}", f"layer {i}".encode()) for i in range(5)}
    pages = list(ecr.get_paginator("describe_images").paginate(repositoryName="web", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert {d["imageDigest"] for p in pages for d in p["imageDetails"]} == digests
    listed = ecr.get_paginator("list_images").paginate(repositoryName="web", PaginationConfig={"PageSize": 2})
    assert {i["imageTag"] for i in listed.build_full_result()["imageIds"]} == {f"t{i}" for i in range(5)}


def test_describe_images_of_an_unknown_image_is_not_found(ecr):
    ecr.create_repository(repositoryName="web")
    with raises_aws("ImageNotFoundException") as e:
        ecr.describe_images(repositoryName="web", imageIds=[{"imageTag": "latest"}])
    assert e.value.response["Error"]["Message"] == (
        "The image with imageId {imageDigest:'null', imageTag:'latest'} does not exist within the repository "
        f"with name 'web' in the registry with id '{ACCOUNT}'")
    with raises_aws("RepositoryNotFoundException"):
        ecr.describe_images(repositoryName="nope")


def test_put_image_errors(ecr):
    ecr.create_repository(repositoryName="web", imageTagMutability="IMMUTABLE")
    manifest = manifest_for(ecr, "web", b"one")
    digest = digest_of(manifest.encode())
    ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")
    with raises_aws("ImageAlreadyExistsException") as e:
        ecr.put_image(repositoryName="web", imageManifest=manifest, imageTag="v1")
    assert e.value.response["Error"]["Message"] == (
        f"Image with digest '{digest}' and tag 'v1' already exists in the repository with name 'web' "
        f"in registry with id '{ACCOUNT}'")
    other = manifest_for(ecr, "web", b"two")
    with raises_aws("ImageTagAlreadyExistsException") as e:
        ecr.put_image(repositoryName="web", imageManifest=other, imageTag="v1")
    assert e.value.response["Error"]["Message"] == \
        "The image tag 'v1' already exists in the 'web' repository and cannot be overwritten because the repository is immutable."
    with raises_aws("ImageDigestDoesNotMatchException"):
        ecr.put_image(repositoryName="web", imageManifest=other, imageTag="v2", imageDigest=digest)
    missing = json.loads(other)
    missing["layers"][0]["digest"] = digest_of(b"never uploaded")
    with raises_aws("LayersNotFoundException"):
        ecr.put_image(repositoryName="web", imageManifest=json.dumps(missing), imageTag="v3")
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": digest_of(b"no such image"), "size": 1}]})
    with raises_aws("ReferencedImagesNotFoundException"):
        ecr.put_image(repositoryName="web", imageManifest=index, imageTag="multi")
    with raises_aws("InvalidParameterException"):
        ecr.put_image(repositoryName="web", imageManifest="not json", imageTag="v4")
    with raises_aws("InvalidParameterException") as e:
        ecr.put_image(repositoryName="web", imageManifest=other, imageTag="v5", imageManifestMediaType=OCI_INDEX)
    assert "imageManifestMediaType" in e.value.response["Error"]["Message"]


def test_a_manifest_list_keeps_its_children(ecr):
    ecr.create_repository(repositoryName="multi")
    child = push(ecr, "multi", None, b"amd64 layer")
    manifest = ecr.batch_get_image(repositoryName="multi", imageIds=[{"imageDigest": child}])["images"][0]["imageManifest"]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": child, "size": len(manifest),
                                       "platform": {"architecture": "amd64", "os": "linux"}}]})
    ecr.put_image(repositoryName="multi", imageManifest=index, imageTag="latest")
    out = ecr.batch_delete_image(repositoryName="multi", imageIds=[{"imageDigest": child}])
    assert out["imageIds"] == [] and out["failures"][0]["failureCode"] == "ImageReferencedByManifestList"
    listed = ecr.describe_images(repositoryName="multi", imageIds=[{"imageTag": "latest"}])["imageDetails"][0]
    assert listed["imageManifestMediaType"] == OCI_INDEX


def test_scan_findings_say_ecsbox_runs_no_scanner(ecr):
    ecr.create_repository(repositoryName="web", imageScanningConfiguration={"scanOnPush": True})
    push(ecr, "web", "v1", b"x")
    with raises_aws("ScanNotFoundException") as e:
        ecr.describe_image_scan_findings(repositoryName="web", imageId={"imageTag": "v1"})
    assert "no image scanner" in e.value.response["Error"]["Message"]
    with raises_aws("ImageNotFoundException"):
        ecr.describe_image_scan_findings(repositoryName="web", imageId={"imageTag": "v2"})


# ---------------------------------------------------------------- policies

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}]})


def test_repository_policy_set_get_delete(ecr):
    ecr.create_repository(repositoryName="web")
    with raises_aws("RepositoryPolicyNotFoundException") as e:
        ecr.get_repository_policy(repositoryName="web")
    assert e.value.response["Error"]["Message"] == \
        f"Repository policy does not exist for the repository with name 'web' in the registry with id '{ACCOUNT}'"
    out = ecr.set_repository_policy(repositoryName="web", policyText=POLICY)
    assert (out["policyText"], out["repositoryName"], out["registryId"]) == (POLICY, "web", ACCOUNT)
    assert ecr.get_repository_policy(repositoryName="web")["policyText"] == POLICY
    assert ecr.delete_repository_policy(repositoryName="web")["policyText"] == POLICY
    with raises_aws("RepositoryPolicyNotFoundException"):
        ecr.delete_repository_policy(repositoryName="web")
    with raises_aws("InvalidParameterException"):
        ecr.set_repository_policy(repositoryName="web", policyText="{not json")


# --------------------------------------------------------------- lifecycle

def rule(priority, tag_status, count_type, number, **extra):
    selection = {"tagStatus": tag_status, "countType": count_type, "countNumber": number, **extra}
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def test_lifecycle_policy_put_get_delete(ecr):
    ecr.create_repository(repositoryName="web")
    with raises_aws("LifecyclePolicyNotFoundException") as e:
        ecr.get_lifecycle_policy(repositoryName="web")
    assert e.value.response["Error"]["Message"] == \
        f"Lifecycle policy does not exist for the repository with name 'web' in the registry with id '{ACCOUNT}'"
    text = json.dumps({"rules": [rule(1, "untagged", "sinceImagePushed", 14)]})
    out = ecr.put_lifecycle_policy(repositoryName="web", lifecyclePolicyText=text)
    assert (out["lifecyclePolicyText"], out["repositoryName"]) == (text, "web")
    assert ecr.get_lifecycle_policy(repositoryName="web")["lifecyclePolicyText"] == text
    assert ecr.delete_lifecycle_policy(repositoryName="web")["lifecyclePolicyText"] == text
    with raises_aws("LifecyclePolicyNotFoundException"):
        ecr.delete_lifecycle_policy(repositoryName="web")


@pytest.mark.parametrize("rules", [
    [rule(1, "tagged", "imageCountMoreThan", 1)],                        # tagged needs a prefix or pattern list
    [rule(1, "any", "imageCountMoreThan", 0)],                           # countNumber below 1
    [rule(1, "any", "imageCountMoreThan", 1), rule(2, "untagged", "imageCountMoreThan", 1)],  # any not last
    [rule(1, "untagged", "imageCountMoreThan", 1), rule(1, "any", "imageCountMoreThan", 1)],  # same priority
    [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
      "action": {"type": "remove"}}],
])
def test_invalid_lifecycle_policies_are_refused(ecr, rules):
    ecr.create_repository(repositoryName="web")
    with raises_aws("InvalidParameterException") as e:
        ecr.put_lifecycle_policy(repositoryName="web", lifecyclePolicyText=json.dumps({"rules": rules}))
    assert e.value.response["Error"]["Message"].startswith(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure:")
    with raises_aws("LifecyclePolicyNotFoundException"):
        ecr.get_lifecycle_policy(repositoryName="web")


def test_archive_rules_are_refused_by_name(ecr):
    ecr.create_repository(repositoryName="web")
    text = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                                   "countNumber": 1},
                                  "action": {"type": "transition", "targetStorageClass": "archive"}}]})
    with raises_aws("InvalidParameterException") as e:
        ecr.put_lifecycle_policy(repositoryName="web", lifecyclePolicyText=text)
    assert "ecsbox does not support" in e.value.response["Error"]["Message"]


def test_lifecycle_preview_evaluates_the_rules(ecr):
    ecr.create_repository(repositoryName="web")
    pushed = []
    for i in range(3):
        pushed.append(push(ecr, "web", None, f"untagged {i}".encode()))
        time.sleep(0.01)
    for i in range(3):
        pushed.append(push(ecr, "web", f"release-{i}", f"release {i}".encode()))
        time.sleep(0.01)
    text = json.dumps({"rules": [
        rule(1, "untagged", "imageCountMoreThan", 1),
        rule(2, "tagged", "imageCountMoreThan", 2, tagPrefixList=["release"]),
    ]})
    with raises_aws("LifecyclePolicyNotFoundException"):
        ecr.start_lifecycle_policy_preview(repositoryName="web")
    with raises_aws("LifecyclePolicyPreviewNotFoundException"):
        ecr.get_lifecycle_policy_preview(repositoryName="web")
    ecr.put_lifecycle_policy(repositoryName="web", lifecyclePolicyText=text)
    started = ecr.start_lifecycle_policy_preview(repositoryName="web")
    assert (started["lifecyclePolicyText"], started["repositoryName"]) == (text, "web")
    ecr.get_waiter("lifecycle_policy_preview_complete").wait(repositoryName="web",
                                                             WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    preview = ecr.get_lifecycle_policy_preview(repositoryName="web")
    assert preview["status"] == "COMPLETE"
    assert preview["summary"]["expiringImageTotalCount"] == 3
    results = {r["imageDigest"]: r for r in preview["previewResults"]}
    # The two oldest untagged (rule 1) and the oldest release (rule 2) go.
    assert {d: r["appliedRulePriority"] for d, r in results.items()} == {pushed[0]: 1, pushed[1]: 1, pushed[3]: 2}
    assert results[pushed[3]]["imageTags"] == ["release-0"]
    assert results[pushed[0]]["action"] == {"type": "EXPIRE"}
    assert results[pushed[0]]["imagePushedAt"].year >= 2024
    tagged = ecr.get_lifecycle_policy_preview(repositoryName="web", filter={"tagStatus": "TAGGED"})["previewResults"]
    assert [r["imageDigest"] for r in tagged] == [pushed[3]]
    pages = ecr.get_paginator("get_lifecycle_policy_preview").paginate(repositoryName="web",
                                                                        PaginationConfig={"PageSize": 2})
    assert {r["imageDigest"] for r in pages.build_full_result()["previewResults"]} == set(results)
    # A preview of a policy given in the call, not the repository's.
    other = json.dumps({"rules": [rule(1, "any", "imageCountMoreThan", 5)]})
    ecr.start_lifecycle_policy_preview(repositoryName="web", lifecyclePolicyText=other)
    preview = ecr.get_lifecycle_policy_preview(repositoryName="web")
    assert [r["imageDigest"] for r in preview["previewResults"]] == [pushed[0]]
    # The preview deleted nothing.
    assert len(ecr.describe_images(repositoryName="web")["imageDetails"]) == 6


def test_lifecycle_policies_expire_images_when_ecsbox_is_asked(endpoint, ecr):
    """AWS applies lifecycle policies by itself within 24 hours; ecsbox
    applies them on POST /_ecsbox/ecr/apply-lifecycle-policies (README)."""
    ecr.create_repository(repositoryName="web")
    ecr.create_repository(repositoryName="kept")
    old = push(ecr, "web", "v1", b"old")
    time.sleep(0.01)
    new = push(ecr, "web", "v2", b"new")
    push(ecr, "kept", "v1", b"no policy here")
    ecr.put_lifecycle_policy(repositoryName="web", lifecyclePolicyText=json.dumps(
        {"rules": [rule(1, "any", "imageCountMoreThan", 1)]}))
    request = urllib.request.Request(f"{endpoint}/_ecsbox/ecr/apply-lifecycle-policies", method="POST")
    with urllib.request.urlopen(request) as resp:
        expired = json.load(resp)["expired"]
    assert expired == [{"account": "000000000000", "region": "us-east-1", "repositoryName": "web", "imageDigest": old}]
    assert [d["imageDigest"] for d in ecr.describe_images(repositoryName="web")["imageDetails"]] == [new]
    assert len(ecr.describe_images(repositoryName="kept")["imageDetails"]) == 1
    assert ecr.get_lifecycle_policy(repositoryName="web")["lastEvaluatedAt"].year >= 2024


# ------------------------------------------------------------------- login

def test_authorization_token_decodes_to_aws_and_a_password(ecr):
    before = time.time()
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    user, password = base64.b64decode(data[0]["authorizationToken"]).decode().split(":", 1)
    assert user == "AWS" and password
    # 12 hours, as ECR's.
    lifetime = data[0]["expiresAt"].timestamp() - before
    assert 12 * 3600 - 5 < lifetime < 12 * 3600 + 5
    assert data[0]["proxyEndpoint"].startswith("http://")
    mine = ecr.get_authorization_token(registryIds=[ACCOUNT])["authorizationData"]
    assert len(mine) == 1
    with raises_aws("InvalidParameterException") as e:
        ecr.get_authorization_token(registryIds=["123456789012"])
    assert "registryId" in e.value.response["Error"]["Message"]


def test_describe_registry(ecr):
    out = ecr.describe_registry()
    assert out["registryId"] == ACCOUNT
    assert out["replicationConfiguration"] == {"rules": []}


# -------------------------------------------------------------------- tags

def test_tags_of_a_repository(ecr):
    arn = ecr.create_repository(repositoryName="web")["repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}])
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "prod"}])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == \
        [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "prod"}]
    ecr.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "env", "Value": "prod"}]
    with raises_aws("TooManyTagsException"):
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with raises_aws("InvalidTagParameterException"):
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "aws:mine", "Value": "v"}])
    with raises_aws("InvalidParameterException"):
        ecr.list_tags_for_resource(resourceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/web")
    with raises_aws("RepositoryNotFoundException"):
        ecr.list_tags_for_resource(resourceArn=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/nope")


# ------------------------------------------------- what ecsbox does not serve

def test_an_operation_ecsbox_has_not_built_names_itself(ecr):
    with raises_aws("ValidationException") as e:
        ecr.describe_pull_through_cache_rules()
    assert "DescribePullThroughCacheRules" in e.value.response["Error"]["Message"]


def test_accounts_and_regions_are_separate(endpoint, ecr):
    ecr.create_repository(repositoryName="mine")
    other_region = harness.aws_client(endpoint, "ecr", region="eu-west-1")
    assert other_region.describe_repositories()["repositories"] == []
    other_account = harness.aws_client(endpoint, "ecr", akid="123456789012")
    assert other_account.describe_repositories()["repositories"] == []
    theirs = other_account.create_repository(repositoryName="mine")["repository"]
    assert theirs["repositoryArn"] == f"arn:aws:ecr:{REGION}:123456789012:repository/mine"
    assert theirs["registryId"] == "123456789012"
    # Another account's repository is not reachable by its ARN.
    with raises_aws("RepositoryNotFoundException"):
        ecr.list_tags_for_resource(resourceArn=theirs["repositoryArn"])


# --------------------------------------------------------------------- CLI

def test_the_cli_creates_describes_and_logs_in(aws):
    repo = assert_cli_ok(aws("ecr", "create-repository", "--repository-name", "cli/web",
                             "--image-scanning-configuration", "scanOnPush=true"))["repository"]
    assert repo["repositoryName"] == "cli/web" and repo["imageScanningConfiguration"]["scanOnPush"] is True
    listed = assert_cli_ok(aws("ecr", "describe-repositories"))
    assert [r["repositoryName"] for r in listed["repositories"]] == ["cli/web"]
    # get-login-password prints the password `docker login -u AWS` takes.
    password = aws("ecr", "get-login-password")
    assert password.code == 0, password.err
    assert isinstance(password.out, str) and password.out.strip().startswith("ecsbox1.")
    text = json.dumps({"rules": [rule(1, "untagged", "sinceImagePushed", 1)]})
    assert_cli_ok(aws("ecr", "put-lifecycle-policy", "--repository-name", "cli/web", "--lifecycle-policy-text", text))
    err = assert_cli_error(aws("ecr", "describe-images", "--repository-name", "cli/web",
                               "--image-ids", "imageTag=missing"), "ImageNotFoundException")
    assert "imageTag:'missing'" in err
    assert_cli_error(aws("ecr", "delete-repository", "--repository-name", "nope"), "RepositoryNotFoundException")
    assert_cli_ok(aws("ecr", "delete-repository", "--repository-name", "cli/web", "--force"))

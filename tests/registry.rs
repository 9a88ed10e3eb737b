//! ecsbox's container registry (the OCI Distribution API behind ECR),
//! driven over raw HTTP/1.1 in-process: auth, uploads of every shape,
//! manifests, listings, errors in ECR's words.
//!
//! Repositories and tokens are made through `app.ecr` directly (what
//! CreateRepository and GetAuthorizationToken do), so these tests need
//! nothing of the ECR API.

mod common;

use base64::Engine as _;
use common::TestServer;
use ecsbox::services::ecr::blobs::digest_of;
use ecsbox::services::ecr::repository::{Repository, DOCKER_MANIFEST, OCI_INDEX};
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

struct Registry {
    server: TestServer,
    addr: SocketAddr,
    host: String,
    /// `Basic base64(AWS:<token>)`
    auth: String,
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The code and message of the first error.
    fn error(&self) -> (String, String) {
        let doc = self.json();
        let e = &doc["errors"][0];
        (
            e["code"].as_str().unwrap_or("").to_string(),
            e["message"].as_str().unwrap_or("").to_string(),
        )
    }
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// Reads one HTTP/1.1 answer off a connection the server closes after it.
fn parse(buf: &[u8]) -> Answer {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status: status.parse().unwrap(),
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

impl Registry {
    async fn start() -> Registry {
        let server = TestServer::start().await;
        let host = server.app.ecr.registry_host().to_string();
        let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
        let token = server.app.ecr.tokens().issue(ACCOUNT, REGION, now() + 3600);
        Registry {
            server,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            host,
            auth: basic("AWS", &token),
        }
    }

    fn create(&self, name: &str) {
        let repo = Repository::new(name, REGION, ACCOUNT, &self.host, now() as f64);
        self.server.app.ecr.with_region(ACCOUNT, REGION, |r| {
            r.repositories.insert(name.to_string(), repo);
        });
    }

    fn with_repo<T>(&self, name: &str, f: impl FnOnce(&mut Repository) -> T) -> T {
        self.server.app.ecr.with_region(ACCOUNT, REGION, |r| {
            f(r.repositories.get_mut(name).expect("the repository exists"))
        })
    }

    /// One request with `headers` (Authorization added unless given).
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream
            .write_all(&self.head(method, path, headers, body.len()))
            .await
            .unwrap();
        stream.write_all(body).await.unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        parse(&buf)
    }

    fn head(&self, method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> Vec<u8> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {len}\r\nconnection: close\r\n",
            self.host
        );
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            req.push_str(&format!("authorization: {}\r\n", self.auth));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.into_bytes()
    }

    async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], b"").await
    }

    /// A monolithic upload into `repo`; returns the blob's digest.
    async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest_of(bytes);
        let answer = self
            .send(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
                &[],
                bytes,
            )
            .await;
        assert_eq!(answer.status, 201, "{answer:?}");
        digest
    }

    /// An image manifest over a pushed config and layer; returns its bytes.
    async fn push_image_blobs(&self, repo: &str, layer: &[u8]) -> Vec<u8> {
        let config = self.push_blob(repo, b"{\"architecture\":\"amd64\"}").await;
        let layer_digest = self.push_blob(repo, layer).await;
        manifest(&config, &layer_digest, layer.len())
    }

    async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        manifest: &[u8],
        media_type: &str,
    ) -> Answer {
        self.send(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", media_type)],
            manifest,
        )
        .await
    }
}

fn manifest(config: &str, layer: &str, layer_size: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 24},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": layer_size}],
    }))
    .unwrap()
}

fn now() -> i64 {
    ecsbox::clock::now_secs() as i64
}

#[tokio::test]
async fn the_registry_challenges_and_refuses_callers_without_a_live_token() {
    let reg = Registry::start().await;
    let anonymous = reg.send("GET", "/v2/", &[("authorization", "")], b"").await;
    assert_eq!(anonymous.status, 401);
    let challenge = anonymous.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Basic realm="), "{challenge}");
    assert_eq!(
        anonymous.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert_eq!(anonymous.error().0, "UNAUTHORIZED");

    let ok = reg.get("/v2/").await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );

    let forged = basic("AWS", "ecsbox1.123456789012.us-east-1.99999999999.00");
    let refused = reg
        .send("GET", "/v2/", &[("authorization", &forged)], b"")
        .await;
    assert_eq!(
        (refused.status, refused.error().0.as_str()),
        (401, "UNAUTHORIZED")
    );

    let token = reg
        .server
        .app
        .ecr
        .tokens()
        .issue(ACCOUNT, REGION, now() + 3600);
    let wrong_user = basic("admin", &token);
    let refused = reg
        .send("GET", "/v2/", &[("authorization", &wrong_user)], b"")
        .await;
    assert_eq!(refused.status, 401);

    // ECR's answer to an expired token (aws/aws-cli#6580).
    let old = reg
        .server
        .app
        .ecr
        .tokens()
        .issue(ACCOUNT, REGION, now() - 1);
    let expired = basic("AWS", &old);
    let refused = reg
        .send("GET", "/v2/", &[("authorization", &expired)], b"")
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.error(),
        (
            "DENIED".to_string(),
            "Your authorization token has expired. Reauthenticate and try again.".to_string()
        )
    );

    // Every endpoint needs the token, not only the version check.
    reg.create("web");
    for path in ["/v2/web/manifests/v1", "/v2/_catalog", "/v2/web/tags/list"] {
        let answer = reg.send("GET", path, &[("authorization", "")], b"").await;
        assert_eq!(answer.status, 401, "{path}");
    }
}

#[tokio::test]
async fn a_monolithic_upload_is_served_back_whole_and_by_range() {
    let reg = Registry::start().await;
    reg.create("team/web");
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest = digest_of(&bytes);
    let answer = reg
        .send(
            "POST",
            &format!("/v2/team/web/blobs/uploads/?digest={digest}"),
            &[],
            &bytes,
        )
        .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(
        answer.header("docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(
        answer.header("location"),
        Some(format!("/v2/team/web/blobs/{digest}").as_str())
    );

    let head = reg
        .send("HEAD", &format!("/v2/team/web/blobs/{digest}"), &[], b"")
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("3000000"));
    assert_eq!(head.header("docker-content-digest"), Some(digest.as_str()));
    assert!(head.body.is_empty());

    let get = reg.get(&format!("/v2/team/web/blobs/{digest}")).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("content-length"), Some("3000000"));
    assert!(get.body == bytes, "the blob comes back as pushed");

    let part = reg
        .send(
            "GET",
            &format!("/v2/team/web/blobs/{digest}"),
            &[("range", "bytes=10-19")],
            b"",
        )
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, bytes[10..20]);
    assert_eq!(part.header("content-range"), Some("bytes 10-19/3000000"));
    assert!(reg.with_repo("team/web", |r| r.blobs.contains(&digest)));
}

#[tokio::test]
async fn a_chunked_upload_is_resumed_from_its_status_and_refuses_chunks_out_of_order() {
    let reg = Registry::start().await;
    reg.create("web");
    let started = reg.send("POST", "/v2/web/blobs/uploads/", &[], b"").await;
    assert_eq!(started.status, 202, "{started:?}");
    assert_eq!(started.header("range"), Some("0-0"));
    let uuid = started.header("docker-upload-uuid").unwrap().to_string();
    let location = started.header("location").unwrap().to_string();
    assert_eq!(location, format!("/v2/web/blobs/uploads/{uuid}"));

    let first = reg
        .send("PATCH", &location, &[("content-range", "0-4")], b"hello")
        .await;
    assert_eq!(first.status, 202, "{first:?}");
    assert_eq!(first.header("range"), Some("0-4"));
    assert_eq!(first.header("location"), Some(location.as_str()));

    // As a client that lost its place does: ask, then carry on from there.
    let status = reg.get(&location).await;
    assert_eq!(status.status, 204);
    assert_eq!(status.header("range"), Some("0-4"));

    let out_of_order = reg
        .send("PATCH", &location, &[("content-range", "2-6")], b"xxxxx")
        .await;
    assert_eq!(out_of_order.status, 416, "{out_of_order:?}");
    assert_eq!(out_of_order.header("range"), Some("0-4"));

    let second = reg
        .send("PATCH", &location, &[("content-range", "5-10")], b" world")
        .await;
    assert_eq!(second.status, 202);
    assert_eq!(second.header("range"), Some("0-10"));
    // No Content-Range: appended where the upload ends.
    let third = reg.send("PATCH", &location, &[], b"!").await;
    assert_eq!(third.header("range"), Some("0-11"));

    let digest = digest_of(b"hello world!?");
    let done = reg
        .send("PUT", &format!("{location}?digest={digest}"), &[], b"?")
        .await;
    assert_eq!(done.status, 201, "{done:?}");
    assert_eq!(done.header("docker-content-digest"), Some(digest.as_str()));
    let blob = reg.get(&format!("/v2/web/blobs/{digest}")).await;
    assert_eq!(blob.body, b"hello world!?");
    // The upload is over.
    assert_eq!(reg.get(&location).await.status, 404);
}

#[tokio::test]
async fn a_digest_that_does_not_match_ends_the_upload_without_a_blob() {
    let reg = Registry::start().await;
    reg.create("web");
    let started = reg.send("POST", "/v2/web/blobs/uploads/", &[], b"").await;
    let location = started.header("location").unwrap().to_string();
    reg.send("PATCH", &location, &[], b"abc").await;
    let wrong = digest_of(b"abd");
    let refused = reg
        .send("PUT", &format!("{location}?digest={wrong}"), &[], b"")
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error().0, "DIGEST_INVALID");
    let gone = reg.get(&location).await;
    assert_eq!(
        (gone.status, gone.error().0.as_str()),
        (404, "BLOB_UPLOAD_UNKNOWN")
    );
    let blob = reg
        .send("HEAD", &format!("/v2/web/blobs/{wrong}"), &[], b"")
        .await;
    assert_eq!(blob.status, 404);

    // Monolithic too.
    let refused = reg
        .send(
            "POST",
            &format!("/v2/web/blobs/uploads/?digest={wrong}"),
            &[],
            b"abc",
        )
        .await;
    assert_eq!(
        (refused.status, refused.error().0.as_str()),
        (400, "DIGEST_INVALID")
    );

    // An upload belongs to the repository it was started in.
    reg.create("other");
    let started = reg.send("POST", "/v2/web/blobs/uploads/", &[], b"").await;
    let uuid = started.header("docker-upload-uuid").unwrap();
    let elsewhere = reg
        .send(
            "PATCH",
            &format!("/v2/other/blobs/uploads/{uuid}"),
            &[],
            b"x",
        )
        .await;
    assert_eq!(elsewhere.status, 404);

    // Cancelled uploads are gone.
    let location = started.header("location").unwrap();
    assert_eq!(reg.send("DELETE", location, &[], b"").await.status, 204);
    assert_eq!(reg.get(location).await.status, 404);
}

#[tokio::test]
async fn a_blob_is_mounted_from_a_repository_that_has_it_and_uploaded_otherwise() {
    let reg = Registry::start().await;
    for name in ["base", "app", "empty"] {
        reg.create(name);
    }
    let digest = reg.push_blob("base", b"shared layer").await;
    // Stored once, but readable only where it was pushed or mounted.
    let not_here = reg
        .send("HEAD", &format!("/v2/app/blobs/{digest}"), &[], b"")
        .await;
    assert_eq!(not_here.status, 404);
    let missing = reg.get(&format!("/v2/app/blobs/{digest}")).await;
    assert_eq!(missing.error().0, "BLOB_UNKNOWN");

    let mounted = reg
        .send(
            "POST",
            &format!("/v2/app/blobs/uploads/?mount={digest}&from=base"),
            &[],
            b"",
        )
        .await;
    assert_eq!(mounted.status, 201, "{mounted:?}");
    assert_eq!(
        mounted.header("docker-content-digest"),
        Some(digest.as_str())
    );
    let here = reg.get(&format!("/v2/app/blobs/{digest}")).await;
    assert_eq!(here.body, b"shared layer");

    let not_mounted = reg
        .send(
            "POST",
            &format!("/v2/app/blobs/uploads/?mount={digest}&from=empty"),
            &[],
            b"",
        )
        .await;
    assert_eq!(not_mounted.status, 202);
    assert!(not_mounted
        .header("location")
        .unwrap()
        .starts_with("/v2/app/blobs/uploads/"));
    let from_nowhere = reg
        .send(
            "POST",
            &format!("/v2/app/blobs/uploads/?mount={digest}&from=nope"),
            &[],
            b"",
        )
        .await;
    assert_eq!(from_nowhere.status, 202);
}

#[tokio::test]
async fn a_manifest_is_pushed_by_tag_and_pulled_by_tag_or_digest() {
    let reg = Registry::start().await;
    reg.create("team/web");
    let manifest = reg.push_image_blobs("team/web", b"layer bytes").await;
    let digest = digest_of(&manifest);
    let pushed = reg
        .put_manifest("team/web", "v1", &manifest, DOCKER_MANIFEST)
        .await;
    assert_eq!(pushed.status, 201, "{pushed:?}");
    assert_eq!(
        pushed.header("docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(
        pushed.header("location"),
        Some(format!("/v2/team/web/manifests/{digest}").as_str())
    );

    let head = reg
        .send(
            "HEAD",
            &format!("/v2/team/web/manifests/{digest}"),
            &[],
            b"",
        )
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some(DOCKER_MANIFEST));
    assert_eq!(
        head.header("content-length"),
        Some(manifest.len().to_string().as_str())
    );
    assert_eq!(head.header("docker-content-digest"), Some(digest.as_str()));
    assert!(reg.with_repo("team/web", |r| r.images[&digest].last_pulled_at.is_none()));

    // ECR serves what it stores, whatever Accept lists.
    let get = reg
        .send(
            "GET",
            "/v2/team/web/manifests/v1",
            &[("accept", "application/vnd.oci.image.manifest.v1+json")],
            b"",
        )
        .await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body, manifest);
    assert_eq!(get.header("content-type"), Some(DOCKER_MANIFEST));
    assert_eq!(get.header("docker-content-digest"), Some(digest.as_str()));
    let image = reg.with_repo("team/web", |r| r.images[&digest].clone());
    assert!(image.last_pulled_at.is_some());
    assert_eq!(image.size, 11);

    let unknown = reg.get("/v2/team/web/manifests/v2").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.error(),
        (
            "MANIFEST_UNKNOWN".to_string(),
            "Requested image not found".to_string()
        )
    );

    // By digest, without a tag.
    let other = reg.push_image_blobs("team/web", b"other layer").await;
    let other_digest = digest_of(&other);
    let pushed = reg
        .put_manifest("team/web", &other_digest, &other, DOCKER_MANIFEST)
        .await;
    assert_eq!(pushed.status, 201);
    let wrong = reg
        .put_manifest("team/web", &digest, &other, DOCKER_MANIFEST)
        .await;
    assert_eq!(
        (wrong.status, wrong.error().0.as_str()),
        (400, "DIGEST_INVALID")
    );
    assert_eq!(
        reg.get("/v2/team/web/manifests/not..a:tag").await.status,
        400
    );
}

#[tokio::test]
async fn a_manifest_naming_a_missing_blob_or_garbage_is_refused() {
    let reg = Registry::start().await;
    reg.create("web");
    let config = reg.push_blob("web", b"{}").await;
    let missing = digest_of(b"never pushed");
    let refused = reg
        .put_manifest(
            "web",
            "v1",
            &manifest(&config, &missing, 12),
            DOCKER_MANIFEST,
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error().0, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        refused.json()["errors"][0]["detail"]["digest"],
        missing.as_str()
    );

    let garbage = reg
        .put_manifest("web", "v1", b"not json", DOCKER_MANIFEST)
        .await;
    assert_eq!(
        (garbage.status, garbage.error().0.as_str()),
        (400, "MANIFEST_INVALID")
    );
    let too_big = vec![b' '; 4 * 1024 * 1024 + 1];
    let refused = reg
        .put_manifest("web", "v1", &too_big, DOCKER_MANIFEST)
        .await;
    assert_eq!(refused.error().0, "MANIFEST_INVALID");
    assert!(reg.with_repo("web", |r| r.images.is_empty()));
}

#[tokio::test]
async fn an_image_index_needs_its_children_first() {
    let reg = Registry::start().await;
    reg.create("multi");
    let child = reg.push_image_blobs("multi", b"amd64 layer").await;
    let child_digest = digest_of(&child);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": child_digest, "size": child.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }))
    .unwrap();
    let refused = reg.put_manifest("multi", "latest", &index, OCI_INDEX).await;
    assert_eq!(
        (refused.status, refused.error().0.as_str()),
        (400, "MANIFEST_UNKNOWN")
    );

    assert_eq!(
        reg.put_manifest("multi", &child_digest, &child, DOCKER_MANIFEST)
            .await
            .status,
        201
    );
    let pushed = reg.put_manifest("multi", "latest", &index, OCI_INDEX).await;
    assert_eq!(pushed.status, 201, "{pushed:?}");
    let get = reg.get("/v2/multi/manifests/latest").await;
    assert_eq!(get.header("content-type"), Some(OCI_INDEX));
    assert_eq!(get.body, index);

    // The child stays while the index names it.
    let refused = reg
        .send(
            "DELETE",
            &format!("/v2/multi/manifests/{child_digest}"),
            &[],
            b"",
        )
        .await;
    assert_eq!(refused.status, 409);
    assert!(reg.with_repo("multi", |r| r.images.contains_key(&child_digest)));
}

#[tokio::test]
async fn tags_and_the_catalog_are_paged_with_a_link_to_the_next_page() {
    let reg = Registry::start().await;
    for name in ["a-repo", "b/repo", "c-repo"] {
        reg.create(name);
    }
    let manifest = reg.push_image_blobs("b/repo", b"x").await;
    for tag in ["v3", "v1", "v2"] {
        assert_eq!(
            reg.put_manifest("b/repo", tag, &manifest, DOCKER_MANIFEST)
                .await
                .status,
            201
        );
    }
    let all = reg.get("/v2/b/repo/tags/list").await;
    assert_eq!(
        all.json(),
        json!({"name": "b/repo", "tags": ["v1", "v2", "v3"]})
    );
    assert_eq!(all.header("link"), None);

    let first = reg.get("/v2/b/repo/tags/list?n=2").await;
    assert_eq!(first.json()["tags"], json!(["v1", "v2"]));
    let link = first.header("link").unwrap();
    assert_eq!(link, "</v2/b/repo/tags/list?n=2&last=v2>; rel=\"next\"");
    let next = reg.get("/v2/b/repo/tags/list?n=2&last=v2").await;
    assert_eq!(next.json()["tags"], json!(["v3"]));
    assert_eq!(next.header("link"), None);
    assert_eq!(reg.get("/v2/b/repo/tags/list?n=x").await.status, 400);

    let catalog = reg.get("/v2/_catalog").await;
    assert_eq!(
        catalog.json(),
        json!({"repositories": ["a-repo", "b/repo", "c-repo"]})
    );
    let first = reg.get("/v2/_catalog?n=1").await;
    assert_eq!(first.json()["repositories"], json!(["a-repo"]));
    assert_eq!(
        first.header("link"),
        Some("</v2/_catalog?n=1&last=a-repo>; rel=\"next\"")
    );
    let rest = reg.get("/v2/_catalog?n=5&last=a-repo").await;
    assert_eq!(rest.json()["repositories"], json!(["b/repo", "c-repo"]));

    // Another account's token sees its own (empty) registry.
    let token = reg
        .server
        .app
        .ecr
        .tokens()
        .issue("210987654321", REGION, now() + 60);
    let theirs = reg
        .send(
            "GET",
            "/v2/_catalog",
            &[("authorization", &basic("AWS", &token))],
            b"",
        )
        .await;
    assert_eq!(theirs.json(), json!({"repositories": []}));
    let hidden = reg
        .send(
            "GET",
            "/v2/b/repo/tags/list",
            &[("authorization", &basic("AWS", &token))],
            b"",
        )
        .await;
    assert_eq!(hidden.error().0, "NAME_UNKNOWN");
}

#[tokio::test]
async fn an_immutable_tag_is_not_moved() {
    let reg = Registry::start().await;
    reg.create("fixed");
    reg.with_repo("fixed", |r| r.tag_mutability = "IMMUTABLE".into());
    let first = reg.push_image_blobs("fixed", b"one").await;
    let second = reg.push_image_blobs("fixed", b"two").await;
    assert_eq!(
        reg.put_manifest("fixed", "v1", &first, DOCKER_MANIFEST)
            .await
            .status,
        201
    );
    // The same image again is fine (a repeated docker push).
    assert_eq!(
        reg.put_manifest("fixed", "v1", &first, DOCKER_MANIFEST)
            .await
            .status,
        201
    );
    let refused = reg
        .put_manifest("fixed", "v1", &second, DOCKER_MANIFEST)
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.error(),
        (
            "TAG_INVALID".to_string(),
            "The image tag 'v1' already exists in the 'fixed' repository and cannot be overwritten because the repository is immutable.".to_string()
        )
    );
}

#[tokio::test]
async fn manifests_are_deleted_by_digest_or_tag() {
    let reg = Registry::start().await;
    reg.create("web");
    let manifest = reg.push_image_blobs("web", b"x").await;
    let digest = digest_of(&manifest);
    reg.put_manifest("web", "a", &manifest, DOCKER_MANIFEST)
        .await;
    reg.put_manifest("web", "b", &manifest, DOCKER_MANIFEST)
        .await;

    let untagged = reg.send("DELETE", "/v2/web/manifests/a", &[], b"").await;
    assert_eq!(untagged.status, 202);
    assert_eq!(reg.get("/v2/web/manifests/a").await.status, 404);
    assert_eq!(reg.get("/v2/web/manifests/b").await.status, 200);

    let deleted = reg
        .send("DELETE", &format!("/v2/web/manifests/{digest}"), &[], b"")
        .await;
    assert_eq!(deleted.status, 202);
    assert_eq!(
        reg.get(&format!("/v2/web/manifests/{digest}")).await.status,
        404
    );
    assert_eq!(reg.get("/v2/web/manifests/b").await.status, 404);
    let again = reg
        .send("DELETE", &format!("/v2/web/manifests/{digest}"), &[], b"")
        .await;
    assert_eq!(
        (again.status, again.error().0.as_str()),
        (404, "MANIFEST_UNKNOWN")
    );
    // Blobs are not deleted through the registry, as in ECR.
    let config = digest_of(b"{\"architecture\":\"amd64\"}");
    let blob = reg
        .send("DELETE", &format!("/v2/web/blobs/{config}"), &[], b"")
        .await;
    assert_eq!((blob.status, blob.error().0.as_str()), (405, "UNSUPPORTED"));
}

#[tokio::test]
async fn a_missing_repository_is_name_unknown_in_ecr_words_and_push_does_not_create_it() {
    let reg = Registry::start().await;
    let expected = (
        "NAME_UNKNOWN".to_string(),
        format!("The repository with name 'team/nope' does not exist in the registry with id '{ACCOUNT}'"),
    );
    let pull = reg.get("/v2/team/nope/manifests/latest").await;
    assert_eq!(pull.status, 404);
    assert_eq!(pull.error(), expected);
    let push = reg
        .send("POST", "/v2/team/nope/blobs/uploads/", &[], b"")
        .await;
    assert_eq!((push.status, push.error()), (404, expected.clone()));
    let manifest = reg
        .put_manifest("team/nope", "v1", b"{}", DOCKER_MANIFEST)
        .await;
    assert_eq!(manifest.error(), expected);
    assert!(reg
        .server
        .app
        .ecr
        .with_region(ACCOUNT, REGION, |r| r.repositories.is_empty()));
}

#[tokio::test]
async fn garbage_gets_an_error_and_the_registry_carries_on() {
    let reg = Registry::start().await;
    reg.create("web");
    let cases: &[(&str, &str, u16)] = &[
        ("GET", "/", 404),
        ("GET", "/v2/web", 404),
        ("GET", "/v2/Web/manifests/x", 400),
        ("GET", "/v2/web/blobs/sha256:short", 400),
        ("GET", "/v2/web/blobs/uploads/not-an-upload", 404),
        ("PUT", "/v2/web/blobs/uploads/not-an-upload?digest=x", 404),
        ("POST", "/v2/web/manifests/v1", 405),
        ("PATCH", "/v2/_catalog", 405),
        ("GET", "/v2/web/manifests/%ZZ", 400),
        ("GET", "/v2/../../etc/passwd/blobs/sha256:0", 400),
    ];
    for (method, path, status) in cases {
        let answer = reg.send(method, path, &[], b"junk").await;
        assert_eq!(answer.status, *status, "{method} {path}: {answer:?}");
        if *status != 404 || *path != "/" {
            answer.error();
        }
    }
    let bad_range = reg.send("POST", "/v2/web/blobs/uploads/", &[], b"").await;
    let location = bad_range.header("location").unwrap();
    let refused = reg
        .send("PATCH", location, &[("content-range", "garbage")], b"x")
        .await;
    assert_eq!(refused.status, 416);
    let raw = {
        let mut s = tokio::net::TcpStream::connect(reg.addr).await.unwrap();
        s.write_all(b"\x00\x01 not http at all\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        buf
    };
    drop(raw);
    assert_eq!(reg.get("/v2/").await.status, 200);
}

#[tokio::test]
async fn shutdown_stops_the_registry_and_an_upload_in_flight_does_no_harm() {
    let reg = Registry::start().await;
    reg.create("web");
    let started = reg.send("POST", "/v2/web/blobs/uploads/", &[], b"").await;
    let location = started.header("location").unwrap().to_string();
    // A PATCH of 1 MiB of which only half is sent before the shutdown.
    let mut stream = tokio::net::TcpStream::connect(reg.addr).await.unwrap();
    stream
        .write_all(&reg.head("PATCH", &location, &[], 1 << 20))
        .await
        .unwrap();
    stream.write_all(&vec![7u8; 1 << 19]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    reg.server.app.registry.shutdown();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while tokio::net::TcpStream::connect(reg.addr).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the registry still accepts"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The connection in flight finishes its request.
    stream.write_all(&vec![7u8; 1 << 19]).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let answer = parse(&buf);
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.header("range"), Some("0-1048575"));

    // One cut off half way leaves the server up (the API still answers).
    let mut cut = tokio::net::TcpStream::connect(reg.server.addr)
        .await
        .unwrap();
    cut.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    cut.read_to_end(&mut buf).await.unwrap();
    assert!(!buf.is_empty());
}

#[tokio::test]
async fn an_upload_cut_off_half_way_keeps_what_arrived() {
    let reg = Registry::start().await;
    reg.create("web");
    let started = reg.send("POST", "/v2/web/blobs/uploads/", &[], b"").await;
    let location = started.header("location").unwrap().to_string();
    {
        let mut stream = tokio::net::TcpStream::connect(reg.addr).await.unwrap();
        stream
            .write_all(&reg.head("PATCH", &location, &[], 1000))
            .await
            .unwrap();
        stream.write_all(&[1u8; 400]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The server notices the client gone; the upload carries on from what
    // it holds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let status = reg.get(&location).await;
        assert_eq!(status.status, 204);
        if status.header("range") == Some("0-399") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let rest = reg
        .send(
            "PATCH",
            &location,
            &[("content-range", "400-999")],
            &[1u8; 600],
        )
        .await;
    assert_eq!(rest.status, 202);
    let digest = digest_of(&[1u8; 1000]);
    let done = reg
        .send("PUT", &format!("{location}?digest={digest}"), &[], b"")
        .await;
    assert_eq!(done.status, 201);
}

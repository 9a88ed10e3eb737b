//! ecsbox's registry with the real Docker engine: `docker login` with an
//! ECR token, `docker push` and `docker pull` of `localhost:PORT/REPO:TAG`,
//! as a developer pushes to ECR (the engine takes loopback registries
//! without TLS).
//!
//! Each test logs in with a `DOCKER_CONFIG` directory of its own (never
//! `~/.docker`), and a guard removes its images and that directory when the
//! test ends, failed or not. The image pushed is the locally built
//! `ecsbox-test/busybox:latest` (`scripts/build-test-images.sh`).
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use common::TestServer;
use ecsbox::services::ecr::repository::Repository;
use std::path::PathBuf;
use std::process::Output;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// The tests of this binary one at a time: the memory budget is measured
/// on the whole process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Removes, on drop, the image references a test made and its Docker
/// config directory.
struct Guard {
    config_dir: PathBuf,
    images: Vec<String>,
    dirs: Vec<PathBuf>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for image in &self.images {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "--force", image])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.config_dir);
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

struct Session {
    server: TestServer,
    host: String,
    guard: Guard,
}

impl Session {
    /// A server, a repository `name` and a `docker login` to its registry.
    async fn start(name: &str) -> Session {
        docker_common::ensure_test_image();
        let server = TestServer::start().await;
        let host = server.app.ecr.registry_host().to_string();
        let now = ecsbox::clock::now_secs();
        let repo = Repository::new(name, REGION, ACCOUNT, &host, now);
        server.app.ecr.with_region(ACCOUNT, REGION, |r| {
            r.repositories.insert(name.to_string(), repo);
        });
        let config_dir = std::env::temp_dir().join(format!(
            "ecsbox-registry-docker-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&config_dir).unwrap();
        let session = Session {
            server,
            host,
            guard: Guard {
                config_dir,
                images: Vec::new(),
                dirs: Vec::new(),
            },
        };
        let token = session
            .server
            .app
            .ecr
            .tokens()
            .issue(ACCOUNT, REGION, now as i64 + 3600);
        let login = session
            .docker(
                &["login", "-u", "AWS", "--password-stdin", &session.host],
                Some(token),
            )
            .await;
        assert!(login.status.success(), "docker login: {}", text(&login));
        session
    }

    /// Runs the docker CLI (off the async threads: the registry serves on
    /// them meanwhile) with this session's config directory.
    async fn docker(&self, args: &[&str], stdin: Option<String>) -> Output {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let config = self.guard.config_dir.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            use std::process::{Command, Stdio};
            let mut child = Command::new("docker")
                .args(&args)
                .env("DOCKER_CONFIG", &config)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run docker");
            let mut input = child.stdin.take().unwrap();
            if let Some(stdin) = stdin {
                input.write_all(stdin.as_bytes()).unwrap();
            }
            drop(input);
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }

    async fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args, None).await;
        assert!(out.status.success(), "docker {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Tags `source` as `REPO:tag` here, pushes it, checks ECR's record of
    /// it, removes it locally (with `source` too when `remove_source`, so
    /// the engine has to download every layer again) and pulls it back;
    /// returns the digest.
    async fn push_and_pull(
        &mut self,
        source: &str,
        remove_source: bool,
        name: &str,
        tag: &str,
    ) -> String {
        let target = format!("{}/{name}:{tag}", self.host);
        self.guard.images.push(target.clone());
        self.docker_ok(&["tag", source, &target]).await;
        let pushed = self.docker_ok(&["push", &target]).await;
        // "v1: digest: sha256:... size: 527"
        let digest = pushed
            .split_whitespace()
            .skip_while(|w| *w != "digest:")
            .nth(1)
            .unwrap_or_else(|| panic!("no digest in: {pushed}"))
            .to_string();

        let (image, tagged) = self.server.app.ecr.with_region(ACCOUNT, REGION, |r| {
            let repo = &r.repositories[name];
            (repo.resolve(tag).cloned(), repo.tags.get(tag).cloned())
        });
        let image = image.expect("the pushed image is in the repository");
        assert_eq!(image.digest, digest);
        assert_eq!(tagged.as_deref(), Some(digest.as_str()));
        // ECR's imageSizeInBytes: the layers' compressed sizes.
        let manifest: serde_json::Value = serde_json::from_str(&image.manifest).unwrap();
        let layers: i64 = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["size"].as_i64().unwrap())
            .sum();
        assert!(layers > 0);
        assert_eq!(image.size, layers);

        self.docker_ok(&["rmi", &target]).await;
        if remove_source {
            self.docker_ok(&["rmi", source]).await;
        }
        let pulled = self.docker_ok(&["pull", &target]).await;
        assert!(pulled.contains(&digest), "{pulled}");
        let repo_digests = self
            .docker_ok(&[
                "image",
                "inspect",
                "--format",
                "{{json .RepoDigests}}",
                &target,
            ])
            .await;
        assert!(
            repo_digests.contains(&format!("{}/{name}@{digest}", self.host)),
            "{repo_digests}"
        );
        // An engine that still has the image's layers (under `source`) only
        // asks for the manifest's digest (HEAD), which is no pull.
        if remove_source {
            let pulled_at = self.server.app.ecr.with_region(ACCOUNT, REGION, |r| {
                r.repositories[name].images[&digest].last_pulled_at
            });
            assert!(pulled_at.is_some(), "the pull is recorded");
        }
        digest
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_pushes_to_and_pulls_from_the_registry() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut session = Session::start("e2e/busybox").await;
    session
        .push_and_pull(docker_common::BUSYBOX, false, "e2e/busybox", "v1")
        .await;

    // Pushing to a repository that does not exist fails with ECR's words.
    let missing = format!("{}/e2e/nope:v1", session.host);
    session.guard.images.push(missing.clone());
    session
        .docker_ok(&["tag", docker_common::BUSYBOX, &missing])
        .await;
    let refused = session.docker(&["push", &missing], None).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("The repository with name 'e2e/nope' does not exist"),
        "{}",
        text(&refused)
    );
}

/// Peak resident memory of this process (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn current_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_image_goes_through_within_the_memory_budget() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut session = Session::start("e2e/big").await;
    // A 100 MB layer of noise (gzip cannot shrink it) on the test image.
    let ctx = std::env::temp_dir().join(format!("ecsbox-big-{}", uuid::Uuid::new_v4().simple()));
    session.guard.dirs.push(ctx.clone());
    std::fs::create_dir_all(&ctx).unwrap();
    {
        use std::io::Write;
        // Written a MiB at a time, so making it costs no memory to speak of.
        let mut file = std::io::BufWriter::new(std::fs::File::create(ctx.join("noise")).unwrap());
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100 * 1024 * 1024 / 8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            file.write_all(&state.to_le_bytes()).unwrap();
        }
        file.flush().unwrap();
    }
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {}\nCOPY noise /noise\n", docker_common::BUSYBOX),
    )
    .unwrap();
    let source = format!("ecsbox-test/big-{}", uuid::Uuid::new_v4().simple());
    session.guard.images.push(source.clone());
    session
        .docker_ok(&["build", "--quiet", "--tag", &source, ctx.to_str().unwrap()])
        .await;

    // The peak so far is forgotten (Linux: "5" to clear_refs resets it), so
    // what is read afterwards is the push's and the pull's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (Some(before), Some(_)) = (current_rss(), peak_rss()) else {
        return eprintln!("no /proc/self/status: the memory budget is not measured here");
    };
    session.push_and_pull(&source, true, "e2e/big", "v1").await;
    let peak = peak_rss().unwrap();
    let above = peak.saturating_sub(before);
    eprintln!(
        "pushing and pulling 100 MB: {} MiB above idle at the peak",
        above >> 20
    );
    assert!(
        above <= 64 * 1024 * 1024,
        "pushing and pulling 100 MB took {} MiB above idle",
        above / (1024 * 1024)
    );
    let size = session.server.app.ecr.with_region(ACCOUNT, REGION, |r| {
        r.repositories["e2e/big"].resolve("v1").map(|i| i.size)
    });
    assert!(size.unwrap() > 100_000_000, "{size:?}");
}

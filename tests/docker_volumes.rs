//! Task volumes on the machine's real Docker engine. Each test plays a
//! task's life with the pieces the task controller uses: the volumes from
//! `volumes::prepare_task_volumes`, the containers from
//! `container_spec::container_spec` created through the runtime in start
//! order, then the containers removed and `release_task_volumes`.
//!
//! Every test has its own owner id; its `Cleanup` removes the containers and
//! volumes of that id (and any volume it made by hand) when the test ends,
//! failed or not. The image is the locally built `ecsbox-test/busybox`.
mod common;
#[path = "common/docker.rs"]
mod docker_common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use docker_common::{engine, ensure_test_image, new_instance_id, BUSYBOX};
use ecsbox::controllers::container_spec::{container_spec, start_order, SpecContext};
use ecsbox::controllers::volumes::{
    efs_volume_name, prepare_task_volumes, release_task_volumes, remove_owned_volumes, TaskVolumes,
};
use ecsbox::model::shapes::{
    ContainerDefinition, DockerVolumeConfiguration, EFSVolumeConfiguration, HostVolumeProperties,
    MountPoint, TaskDefinition, Volume, VolumeFrom,
};
use ecsbox::runtime::docker::DockerRuntime;
use ecsbox::runtime::{
    ContainerRuntime, LabelFilter, NetworkMode, RemoveOptions, VolumeSpec, OWNER_LABEL,
};

const DEADLINE: Duration = Duration::from_secs(60);
const FORCE: RemoveOptions = RemoveOptions {
    force: true,
    volumes: true,
};

/// Removes, on drop, the owner's containers, then its volumes and the
/// volumes named in `extra` (made by hand, without the owner label).
struct Cleanup {
    owner: String,
    extra: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let owner = self.owner.clone();
        let extra = self.extra.clone();
        // A thread of its own: this also runs while a failed test unwinds.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let docker = DockerRuntime::connect().await.expect("engine for cleanup");
                let mine = [LabelFilter::equals(OWNER_LABEL, owner.clone())];
                for c in docker.list_containers(&mine).await.unwrap_or_default() {
                    let _ = docker.remove_container(&c.id, FORCE).await;
                }
                remove_owned_volumes(&docker, &owner).await;
                for name in extra {
                    let _ = docker.remove_volume(&name).await;
                }
            });
        });
        let _ = done.join();
    }
}

/// One test's view of the engine, as one ecsbox instance (`owner`).
struct Engine {
    docker: Arc<DockerRuntime>,
    owner: String,
    _cleanup: Cleanup,
}

/// A task played through: its containers by name and its own volumes.
struct RanTask {
    containers: HashMap<String, String>,
    volumes: TaskVolumes,
}

impl Engine {
    async fn start(extra_volumes: &[&str]) -> Engine {
        ensure_test_image();
        let owner = new_instance_id();
        Engine {
            docker: engine().await,
            owner: owner.clone(),
            _cleanup: Cleanup {
                owner,
                extra: extra_volumes.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    fn rt(&self) -> &dyn ContainerRuntime {
        self.docker.as_ref()
    }

    /// Prepares the task's volumes, then creates and runs its containers
    /// wave by wave, each to its exit. Fails as the task would.
    async fn run(&self, t: &TaskDefinition) -> Result<RanTask, String> {
        let task_id = uuid::Uuid::new_v4().simple().to_string();
        let task_arn = format!("arn:aws:ecs:us-east-1:000000000000:task/c/{task_id}");
        let volumes = prepare_task_volumes(self.rt(), &self.owner, &task_arn, &task_id, t).await?;
        let ctx = SpecContext {
            task_arn,
            task_id,
            cluster_arn: "arn:aws:ecs:us-east-1:000000000000:cluster/c".into(),
            owner_id: self.owner.clone(),
            image: BUSYBOX.into(),
            network_mode: NetworkMode::None,
            ..Default::default()
        };
        let mut containers = HashMap::new();
        for name in start_order(t)?.concat() {
            let def = t
                .container_definitions
                .iter()
                .flatten()
                .find(|c| c.name.as_deref() == Some(name.as_str()))
                .unwrap();
            let spec = container_spec(&ctx, t, def)?;
            let id = self
                .rt()
                .create_container(&spec)
                .await
                .map_err(|e| e.to_string())?;
            self.rt()
                .start_container(&id)
                .await
                .map_err(|e| e.to_string())?;
            self.wait_exit(&id).await;
            containers.insert(name, id);
        }
        Ok(RanTask {
            containers,
            volumes,
        })
    }

    async fn wait_exit(&self, id: &str) -> i64 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let info = self.rt().inspect_container(id).await.unwrap();
            if info.status.is_terminal() {
                return info
                    .exit_code
                    .expect("an exited container has an exit code");
            }
            assert!(Instant::now() < deadline, "container {id} never exited");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn exit_code(&self, task: &RanTask, container: &str) -> i64 {
        self.wait_exit(&task.containers[container]).await
    }

    async fn output(&self, task: &RanTask, container: &str) -> Vec<String> {
        let lines = self.rt().logs(&task.containers[container]).await.unwrap();
        lines.into_iter().map(|l| l.message).collect()
    }

    /// The task's containers are removed, then its own volumes.
    async fn finish(&self, task: RanTask) {
        for id in task.containers.values() {
            self.rt().remove_container(id, FORCE).await.unwrap();
        }
        release_task_volumes(self.rt(), &task.volumes).await;
    }

    async fn volume_exists(&self, name: &str) -> bool {
        match self.rt().inspect_volume(name).await {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => panic!("{e}"),
        }
    }

    /// `docker volume ls --filter label=ecsbox.owner=<owner>`, from the CLI.
    fn cli_owned_volumes(&self) -> Vec<String> {
        let filter = format!("label={OWNER_LABEL}={}", self.owner);
        let out = std::process::Command::new("docker")
            .args(["volume", "ls", "-q", "--filter", &filter])
            .output()
            .expect("run docker volume ls");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn sh(name: &str, script: &str, mounts: &[(&str, &str, bool)]) -> ContainerDefinition {
    ContainerDefinition {
        name: Some(name.into()),
        image: Some(BUSYBOX.into()),
        essential: Some(false),
        command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        mount_points: Some(
            mounts
                .iter()
                .map(|(v, p, ro)| MountPoint {
                    source_volume: Some(v.to_string()),
                    container_path: Some(p.to_string()),
                    read_only: Some(*ro),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

fn td(volumes: Vec<Volume>, containers: Vec<ContainerDefinition>) -> TaskDefinition {
    TaskDefinition {
        family: Some("vols".into()),
        revision: Some(1),
        network_mode: Some("none".into()),
        volumes: Some(volumes),
        container_definitions: Some(containers),
        ..Default::default()
    }
}

fn volume(name: &str) -> Volume {
    Volume {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn efs(name: &str, fs: &str, root: Option<&str>) -> Volume {
    Volume {
        efs_volume_configuration: Some(EFSVolumeConfiguration {
            file_system_id: Some(fs.into()),
            root_directory: root.map(String::from),
            ..Default::default()
        }),
        ..volume(name)
    }
}

fn docker_volume(name: &str, scope: &str, autoprovision: bool) -> Volume {
    Volume {
        docker_volume_configuration: Some(DockerVolumeConfiguration {
            scope: Some(scope.into()),
            autoprovision: Some(autoprovision),
            labels: Some(BTreeMap::from([("team".into(), "blue".into())])),
            ..Default::default()
        }),
        ..volume(name)
    }
}

#[tokio::test]
async fn two_tasks_share_an_efs_file_system() {
    let e = Engine::start(&[]).await;
    let fs = unique("fs-");
    let writer = td(
        vec![efs("files", &fs, None)],
        vec![sh(
            "w",
            "echo from-writer > /mnt/efs/note && mkdir -p /mnt/efs/sub && echo deep > /mnt/efs/sub/inner",
            &[("files", "/mnt/efs", false)],
        )],
    );
    let w = e.run(&writer).await.unwrap();
    assert_eq!(e.exit_code(&w, "w").await, 0);

    // Another task definition, another volume name, the same file system.
    let reader = td(
        vec![efs("data", &fs, None), efs("deep", &fs, Some("/sub"))],
        vec![sh(
            "r",
            "cat /efs/note && cat /sub/inner && ls /sub",
            &[("data", "/efs", true), ("deep", "/sub", true)],
        )],
    );
    let r = e.run(&reader).await.unwrap();
    assert_eq!(
        e.exit_code(&r, "r").await,
        0,
        "{:?}",
        e.output(&r, "r").await
    );
    assert_eq!(
        e.output(&r, "r").await,
        vec!["from-writer", "deep", "inner"]
    );

    e.finish(w).await;
    e.finish(r).await;
    assert!(
        e.volume_exists(&efs_volume_name(&fs)).await,
        "the file system outlives its tasks"
    );
}

#[tokio::test]
async fn an_efs_root_directory_that_does_not_exist_yet_is_made() {
    let e = Engine::start(&[]).await;
    let fs = unique("fs-");
    let t = td(
        vec![efs("fresh", &fs, Some("/new/dir"))],
        vec![sh("w", "echo hi > /data/f", &[("fresh", "/data", false)])],
    );
    let first = e.run(&t).await.unwrap();
    assert_eq!(e.exit_code(&first, "w").await, 0);
    let whole = td(
        vec![efs("root", &fs, None)],
        vec![sh("r", "cat /efs/new/dir/f", &[("root", "/efs", true)])],
    );
    let second = e.run(&whole).await.unwrap();
    assert_eq!(e.output(&second, "r").await, vec!["hi"]);
}

#[tokio::test]
async fn a_read_only_mount_refuses_writes() {
    let e = Engine::start(&[]).await;
    let t = td(
        vec![volume("scratch")],
        vec![
            sh("rw", "touch /data/file", &[("scratch", "/data", false)]),
            sh("ro", "touch /data/other", &[("scratch", "/data", true)]),
            sh("check", "ls /data", &[("scratch", "/data", true)]),
        ],
    );
    let task = e.run(&t).await.unwrap();
    assert_eq!(e.exit_code(&task, "rw").await, 0);
    // busybox touch: "Read-only file system", exit code 1.
    assert_eq!(e.exit_code(&task, "ro").await, 1);
    assert_eq!(e.output(&task, "check").await, vec!["file"]);
}

#[tokio::test]
async fn a_task_scoped_volume_goes_with_its_task_and_a_shared_one_stays() {
    let shared = unique("ecsbox-test-shared-");
    let e = Engine::start(&[]).await;
    let t = td(
        vec![
            docker_volume("mine", "task", false),
            docker_volume(&shared, "shared", true),
        ],
        vec![sh(
            "w",
            "echo task > /mine/f && echo kept > /shared/f",
            &[("mine", "/mine", false), (&shared, "/shared", false)],
        )],
    );
    let first = e.run(&t).await.unwrap();
    assert_eq!(e.exit_code(&first, "w").await, 0);
    let task_volume = first.volumes.task_scoped[0].clone();
    let info = e.rt().inspect_volume(&shared).await.unwrap();
    assert_eq!(info.labels.get("team").map(String::as_str), Some("blue"));
    assert_eq!(info.labels.get(OWNER_LABEL), Some(&e.owner));

    e.finish(first).await;
    assert!(
        !e.volume_exists(&task_volume).await,
        "removed with its task"
    );
    assert!(
        e.volume_exists(&shared).await,
        "a shared volume outlives its tasks"
    );

    let reader = td(
        vec![docker_volume(&shared, "shared", true)],
        vec![sh("r", "cat /shared/f", &[(&shared, "/shared", true)])],
    );
    let second = e.run(&reader).await.unwrap();
    assert_eq!(e.output(&second, "r").await, vec!["kept"]);
    e.finish(second).await;
    assert_eq!(e.cli_owned_volumes(), vec![shared.clone()]);
}

#[tokio::test]
async fn a_shared_volume_without_autoprovision_must_exist() {
    let theirs = unique("ecsbox-test-theirs-");
    let e = Engine::start(&[&theirs]).await;
    let t = td(
        vec![volume("scratch"), docker_volume(&theirs, "shared", false)],
        vec![sh(
            "r",
            "cat /theirs/f",
            &[("scratch", "/s", false), (&theirs, "/theirs", true)],
        )],
    );
    let err = e.run(&t).await.err().expect("the volume does not exist");
    assert!(
        err.contains(&format!(
            "volume '{theirs}' does not exist and autoprovision is set to false"
        )),
        "{err}"
    );
    assert!(
        e.cli_owned_volumes().is_empty(),
        "nothing is left of the failed task"
    );

    // Made by the user, outside ecsbox: used as it is, never removed.
    let spec = VolumeSpec {
        name: theirs.clone(),
        ..Default::default()
    };
    e.rt().create_volume(&spec).await.unwrap();
    let task = e.run(&t).await.unwrap();
    assert_eq!(e.exit_code(&task, "r").await, 1, "an empty volume has no f");
    e.finish(task).await;
    remove_owned_volumes(e.rt(), &e.owner).await;
    assert!(e.volume_exists(&theirs).await);
}

#[tokio::test]
async fn volumes_from_gives_the_source_containers_mounts() {
    let e = Engine::start(&[]).await;
    let from = |read_only| {
        Some(vec![VolumeFrom {
            source_container: Some("data".into()),
            read_only: Some(read_only),
        }])
    };
    let mut reader = sh("reader", "cat /data/f && touch /data/g", &[]);
    reader.volumes_from = from(false);
    let mut frozen = sh("frozen", "cat /data/f && touch /data/h", &[]);
    frozen.volumes_from = from(true);
    let t = td(
        vec![volume("scratch")],
        vec![
            reader,
            frozen,
            sh(
                "data",
                "echo shared > /data/f",
                &[("scratch", "/data", false)],
            ),
        ],
    );
    let task = e.run(&t).await.unwrap();
    assert_eq!(e.exit_code(&task, "data").await, 0);
    assert_eq!(e.exit_code(&task, "reader").await, 0);
    assert_eq!(e.output(&task, "reader").await, vec!["shared"]);
    // readOnly volumesFrom: the file is readable, writing fails. (stdout and
    // stderr lines come back merged by timestamp, so their order is not
    // fixed when both are written within the same instant.)
    let frozen_out = e.output(&task, "frozen").await;
    assert!(frozen_out.iter().any(|l| l == "shared"), "{frozen_out:?}");
    assert!(
        frozen_out
            .iter()
            .any(|l| l.contains("Read-only file system")),
        "{frozen_out:?}"
    );
    assert_eq!(e.exit_code(&task, "frozen").await, 1);
    let mounts = e
        .rt()
        .inspect_container(&task.containers["frozen"])
        .await
        .unwrap()
        .mounts;
    assert_eq!(mounts.len(), 1);
    assert!(mounts[0].read_only && mounts[0].destination == "/data");
}

#[tokio::test]
async fn a_host_source_path_is_bound_from_the_engines_host() {
    let e = Engine::start(&[]).await;
    let dir = std::env::temp_dir().join(unique("ecsbox-bind-"));
    std::fs::create_dir_all(&dir).unwrap();
    let host = Volume {
        host: Some(HostVolumeProperties {
            source_path: Some(dir.to_string_lossy().into_owned()),
        }),
        ..volume("host")
    };
    let t = td(
        vec![host],
        vec![sh(
            "w",
            "echo from-task > /host/out",
            &[("host", "/host", false)],
        )],
    );
    let task = e.run(&t).await.unwrap();
    assert_eq!(e.exit_code(&task, "w").await, 0);
    let written = std::fs::read_to_string(dir.join("out"));
    e.finish(task).await;
    // The container ran as root: the file may not be removable by the test
    // user, which is fine for a temp dir.
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(written.unwrap(), "from-task\n");
}

#[tokio::test]
async fn cleanup_leaves_no_volume_behind() {
    let shared = unique("ecsbox-test-shared-");
    let e = Engine::start(&[]).await;
    let fs = unique("fs-");
    let t = td(
        vec![
            volume("scratch"),
            docker_volume("mine", "task", false),
            docker_volume(&shared, "shared", true),
            efs("files", &fs, Some("/app")),
        ],
        vec![sh(
            "w",
            "touch /a/f /b/f /c/f /d/f",
            &[
                ("scratch", "/a", false),
                ("mine", "/b", false),
                (&shared, "/c", false),
                ("files", "/d", false),
            ],
        )],
    );
    let task = e.run(&t).await.unwrap();
    assert_eq!(e.exit_code(&task, "w").await, 0);
    let mut made = e.cli_owned_volumes();
    made.sort();
    let mut expected = vec![
        efs_volume_name(&fs),
        shared.clone(),
        task.volumes.task_scoped[0].clone(),
        task.volumes.task_scoped[1].clone(),
    ];
    expected.sort();
    assert_eq!(made, expected);
    assert!(task.volumes.task_scoped[0].starts_with("ecs-vols-1-scratch-"));

    // Reset: the owner's containers first, then its volumes.
    for id in task.containers.values() {
        e.rt().remove_container(id, FORCE).await.unwrap();
    }
    assert_eq!(remove_owned_volumes(e.rt(), &e.owner).await, 4);
    assert_eq!(e.cli_owned_volumes(), Vec::<String>::new());
}

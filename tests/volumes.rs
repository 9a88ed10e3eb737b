//! Task volumes on the in-memory fake runtime: what `prepare_task_volumes`
//! makes, what `release_task_volumes` and `remove_owned_volumes` take away,
//! and containers created from `container_spec` mounting them.

use std::collections::{BTreeMap, HashMap};

use ecsbox::controllers::container_spec::{container_spec, docker_name, start_order, SpecContext};
use ecsbox::controllers::volumes::{
    efs_volume_name, prepare_task_volumes, release_task_volumes, remove_owned_volumes,
    task_scoped_name, LABEL_EFS_FILE_SYSTEM,
};
use ecsbox::model::shapes::{
    ContainerDefinition, DockerVolumeConfiguration, EFSVolumeConfiguration,
    FSxWindowsFileServerVolumeConfiguration, HostVolumeProperties, MountPoint, TaskDefinition,
    Volume, VolumeFrom,
};
use ecsbox::runtime::fake::FakeRuntime;
use ecsbox::runtime::{
    ContainerRuntime, ContainerSpec, LabelFilter, Mount, MountKind, MountSource, NetworkMode,
    RemoveOptions, RuntimeError, VolumeSpec, OWNER_LABEL,
};

const OWNER: &str = "box-1";
const IMAGE: &str = "app:1";
const TASK_LABEL: &str = "com.amazonaws.ecs.task-arn";

fn arn(id: &str) -> String {
    format!("arn:aws:ecs:us-east-1:000000000000:task/c/{id}")
}

fn fake() -> FakeRuntime {
    let f = FakeRuntime::new();
    f.add_image(IMAGE);
    f
}

fn volume(name: &str) -> Volume {
    Volume {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn docker_volume(name: &str, scope: &str, autoprovision: bool) -> Volume {
    Volume {
        docker_volume_configuration: Some(DockerVolumeConfiguration {
            scope: Some(scope.into()),
            autoprovision: Some(autoprovision),
            driver: Some("local".into()),
            driver_opts: Some(BTreeMap::from([("type".into(), "tmpfs".into())])),
            labels: Some(BTreeMap::from([("team".into(), "blue".into())])),
        }),
        ..volume(name)
    }
}

fn efs(name: &str, fs: &str) -> Volume {
    Volume {
        efs_volume_configuration: Some(EFSVolumeConfiguration {
            file_system_id: Some(fs.into()),
            ..Default::default()
        }),
        ..volume(name)
    }
}

fn container(name: &str, mounts: &[(&str, &str, bool)]) -> ContainerDefinition {
    ContainerDefinition {
        name: Some(name.into()),
        image: Some(IMAGE.into()),
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
        family: Some("shop".into()),
        revision: Some(1),
        network_mode: Some("bridge".into()),
        volumes: Some(volumes),
        container_definitions: Some(containers),
        ..Default::default()
    }
}

async fn owned(rt: &dyn ContainerRuntime) -> Vec<String> {
    let mut names: Vec<String> = rt
        .list_volumes(&[LabelFilter::equals(OWNER_LABEL, OWNER)])
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    names.sort();
    names
}

async fn exists(rt: &dyn ContainerRuntime, name: &str) -> bool {
    match rt.inspect_volume(name).await {
        Ok(_) => true,
        Err(e) if e.is_not_found() => false,
        Err(e) => panic!("{e}"),
    }
}

/// Creates the task's containers from their specs, in start order.
async fn create_containers(
    rt: &dyn ContainerRuntime,
    t: &TaskDefinition,
    task_id: &str,
) -> HashMap<String, String> {
    let ctx = SpecContext {
        task_arn: arn(task_id),
        task_id: task_id.into(),
        cluster_arn: "arn:aws:ecs:us-east-1:000000000000:cluster/c".into(),
        owner_id: OWNER.into(),
        image: IMAGE.into(),
        network_mode: NetworkMode::Bridge,
        ..Default::default()
    };
    let mut ids = HashMap::new();
    for name in start_order(t).unwrap().concat() {
        let def = t
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(name.as_str()))
            .unwrap();
        let spec = container_spec(&ctx, t, def).unwrap();
        ids.insert(name, rt.create_container(&spec).await.unwrap());
    }
    ids
}

const FORCE: RemoveOptions = RemoveOptions {
    force: true,
    volumes: true,
};

#[tokio::test]
async fn task_scoped_volumes_are_made_labeled_and_released_with_the_task() {
    let rt = fake();
    let t = td(
        vec![
            volume("scratch"),
            volume("unused"),
            docker_volume("cache", "task", false),
        ],
        vec![container(
            "app",
            &[("scratch", "/scratch", false), ("cache", "/cache", false)],
        )],
    );
    let made = prepare_task_volumes(&rt, OWNER, &arn("t1"), "t1", &t)
        .await
        .unwrap();
    let scratch = task_scoped_name(&t, "t1", "scratch");
    let cache = task_scoped_name(&t, "t1", "cache");
    assert_eq!(made.task_scoped, vec![scratch.clone(), cache.clone()]);
    // The agent makes an empty host volume only when a container mounts it.
    assert!(!exists(&rt, &task_scoped_name(&t, "t1", "unused")).await);

    let info = rt.inspect_volume(&cache).await.unwrap();
    assert_eq!(info.driver, "local");
    assert_eq!(info.options.get("type").map(String::as_str), Some("tmpfs"));
    assert_eq!(info.labels.get("team").map(String::as_str), Some("blue"));
    assert_eq!(
        info.labels.get(OWNER_LABEL).map(String::as_str),
        Some(OWNER)
    );
    assert_eq!(info.labels.get(TASK_LABEL), Some(&arn("t1")));

    release_task_volumes(&rt, &made).await;
    assert!(owned(&rt).await.is_empty());
}

#[tokio::test]
async fn a_shared_volume_is_autoprovisioned_once_and_survives_its_tasks() {
    let rt = fake();
    let t = td(
        vec![docker_volume("shared-data", "shared", true)],
        vec![container("app", &[("shared-data", "/data", false)])],
    );
    let first = prepare_task_volumes(&rt, OWNER, &arn("t1"), "t1", &t)
        .await
        .unwrap();
    let second = prepare_task_volumes(&rt, OWNER, &arn("t2"), "t2", &t)
        .await
        .unwrap();
    assert!(first.task_scoped.is_empty() && second.task_scoped.is_empty());
    let info = rt.inspect_volume("shared-data").await.unwrap();
    assert_eq!(info.labels.get("team").map(String::as_str), Some("blue"));
    assert_eq!(
        info.labels.get(OWNER_LABEL).map(String::as_str),
        Some(OWNER)
    );
    assert_eq!(info.labels.get(TASK_LABEL), None, "it belongs to no task");

    release_task_volumes(&rt, &first).await;
    release_task_volumes(&rt, &second).await;
    assert_eq!(owned(&rt).await, vec!["shared-data".to_string()]);
    assert_eq!(remove_owned_volumes(&rt, OWNER).await, 1);
    assert!(!exists(&rt, "shared-data").await);
}

#[tokio::test]
async fn a_missing_shared_volume_without_autoprovision_fails_the_task() {
    let rt = fake();
    let t = td(
        vec![
            docker_volume("cache", "task", false),
            docker_volume("db", "shared", false),
        ],
        vec![container(
            "app",
            &[("cache", "/cache", false), ("db", "/db", false)],
        )],
    );
    let err = prepare_task_volumes(&rt, OWNER, &arn("t1"), "t1", &t)
        .await
        .unwrap_err();
    // The agent's wording (addSharedVolumes), behind ResourceInitializationError.
    let expected = format!(
        "ResourceInitializationError: resource cannot be initialized for task {}: initialize volume: \
         volume detection failed, volume 'db' does not exist and autoprovision is set to false",
        arn("t1")
    );
    assert!(err.starts_with(&expected), "{err}");
    // What was made for the task before the failure is gone again.
    assert!(owned(&rt).await.is_empty(), "{:?}", owned(&rt).await);

    // A volume the user made beforehand is used as it is and never removed.
    let theirs = VolumeSpec {
        name: "db".into(),
        ..Default::default()
    };
    rt.create_volume(&theirs).await.unwrap();
    let made = prepare_task_volumes(&rt, OWNER, &arn("t2"), "t2", &t)
        .await
        .unwrap();
    assert_eq!(made.task_scoped, vec![task_scoped_name(&t, "t2", "cache")]);
    release_task_volumes(&rt, &made).await;
    remove_owned_volumes(&rt, OWNER).await;
    assert!(exists(&rt, "db").await);
}

#[tokio::test]
async fn every_task_mounting_a_file_system_gets_the_same_volume_until_reset() {
    let rt = fake();
    let writer = td(
        vec![efs("files", "fs-1234")],
        vec![container("w", &[("files", "/mnt", false)])],
    );
    let reader = td(
        vec![efs("other-name", "fs-1234")],
        vec![container("r", &[("other-name", "/efs", true)])],
    );
    let a = prepare_task_volumes(&rt, OWNER, &arn("t1"), "t1", &writer)
        .await
        .unwrap();
    let b = prepare_task_volumes(&rt, OWNER, &arn("t2"), "t2", &reader)
        .await
        .unwrap();
    assert_eq!(owned(&rt).await, vec!["ecsbox-efs-fs-1234".to_string()]);
    let info = rt
        .inspect_volume(&efs_volume_name("fs-1234"))
        .await
        .unwrap();
    assert_eq!(
        info.labels.get(LABEL_EFS_FILE_SYSTEM).map(String::as_str),
        Some("fs-1234")
    );

    let wa = create_containers(&rt, &writer, "t1").await;
    let rb = create_containers(&rt, &reader, "t2").await;
    let mount_of = |info: ecsbox::runtime::ContainerInfo| info.mounts[0].clone();
    let w = mount_of(rt.inspect_container(&wa["w"]).await.unwrap());
    let r = mount_of(rt.inspect_container(&rb["r"]).await.unwrap());
    assert_eq!(w.name.as_deref(), Some("ecsbox-efs-fs-1234"));
    assert_eq!(w.source, r.source, "both tasks see one file system");
    assert!(!w.read_only && r.read_only);

    for id in wa.values().chain(rb.values()) {
        rt.remove_container(id, FORCE).await.unwrap();
    }
    release_task_volumes(&rt, &a).await;
    release_task_volumes(&rt, &b).await;
    assert_eq!(owned(&rt).await.len(), 1, "EFS data outlives its tasks");
    assert_eq!(remove_owned_volumes(&rt, OWNER).await, 1);
    assert!(owned(&rt).await.is_empty());
}

#[tokio::test]
async fn containers_mount_the_prepared_volumes_and_take_others_with_volumes_from() {
    let rt = fake();
    let mut app = container("app", &[]);
    app.volumes_from = Some(vec![VolumeFrom {
        source_container: Some("data".into()),
        read_only: Some(true),
    }]);
    let host = Volume {
        host: Some(HostVolumeProperties {
            source_path: Some("/srv/conf".into()),
        }),
        ..volume("conf")
    };
    let t = td(
        vec![volume("scratch"), host],
        vec![
            app,
            container(
                "data",
                &[("scratch", "/scratch", false), ("conf", "/conf", true)],
            ),
        ],
    );
    let made = prepare_task_volumes(&rt, OWNER, &arn("t1"), "t1", &t)
        .await
        .unwrap();
    let ids = create_containers(&rt, &t, "t1").await;
    let data = rt.inspect_container(&ids["data"]).await.unwrap();
    let app = rt.inspect_container(&ids["app"]).await.unwrap();
    assert_eq!(data.name, docker_name(&t, "data", "t1"));
    let scratch = task_scoped_name(&t, "t1", "scratch");
    let summary = |i: &ecsbox::runtime::ContainerInfo| {
        let mut m: Vec<(MountKind, String, bool)> = i
            .mounts
            .iter()
            .map(|m| (m.kind, m.destination.clone(), m.read_only))
            .collect();
        m.sort_by(|a, b| a.1.cmp(&b.1));
        m
    };
    assert_eq!(
        summary(&data),
        vec![
            (MountKind::Bind, "/conf".into(), true),
            (MountKind::Volume, "/scratch".into(), false)
        ]
    );
    // volumesFrom readOnly: every mount of the source, read-only.
    assert_eq!(
        summary(&app),
        vec![
            (MountKind::Bind, "/conf".into(), true),
            (MountKind::Volume, "/scratch".into(), true)
        ]
    );
    assert!(app
        .mounts
        .iter()
        .any(|m| m.name.as_deref() == Some(scratch.as_str())));

    // Docker refuses to remove a volume a container still uses (running or not).
    let busy = rt.remove_volume(&scratch).await.unwrap_err();
    assert!(matches!(busy, RuntimeError::Conflict(_)), "{busy:?}");
    release_task_volumes(&rt, &made).await;
    assert!(
        exists(&rt, &scratch).await,
        "a failed removal leaves the volume"
    );
    for id in ids.values() {
        rt.remove_container(id, FORCE).await.unwrap();
    }
    release_task_volumes(&rt, &made).await;
    assert!(owned(&rt).await.is_empty());
}

#[tokio::test]
async fn volumes_ecsbox_cannot_provide_fail_the_task_with_a_reason() {
    let rt = fake();
    let fsx = Volume {
        fsx_windows_file_server_volume_configuration: Some(
            FSxWindowsFileServerVolumeConfiguration::default(),
        ),
        ..volume("winshare")
    };
    let t = td(
        vec![fsx],
        vec![container("app", &[("winshare", "/share", false)])],
    );
    let err = prepare_task_volumes(&rt, OWNER, &arn("t1"), "t1", &t)
        .await
        .unwrap_err();
    assert!(err.starts_with("ResourceInitializationError: "), "{err}");
    assert!(
        err.contains("'winshare'") && err.contains("Windows"),
        "{err}"
    );
}

#[tokio::test]
async fn removing_owned_volumes_spares_other_owners_and_volumes_in_use() {
    let rt = fake();
    let t = td(
        vec![volume("scratch")],
        vec![container("app", &[("scratch", "/s", false)])],
    );
    prepare_task_volumes(&rt, OWNER, &arn("t1"), "t1", &t)
        .await
        .unwrap();
    prepare_task_volumes(&rt, "box-2", &arn("t2"), "t2", &t)
        .await
        .unwrap();
    let busy = VolumeSpec {
        name: "busy-vol".into(),
        labels: HashMap::from([(OWNER_LABEL.to_string(), OWNER.to_string())]),
        ..Default::default()
    };
    rt.create_volume(&busy).await.unwrap();
    let user = ContainerSpec {
        image: IMAGE.into(),
        mounts: vec![Mount {
            source: MountSource::Volume {
                name: busy.name.clone(),
                subpath: None,
            },
            container_path: "/b".into(),
            read_only: false,
        }],
        ..Default::default()
    };
    let id = rt.create_container(&user).await.unwrap();

    assert_eq!(remove_owned_volumes(&rt, OWNER).await, 1);
    assert_eq!(owned(&rt).await, vec![busy.name.clone()]);
    let theirs = rt
        .list_volumes(&[LabelFilter::equals(OWNER_LABEL, "box-2")])
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1, "another instance's volume is not touched");
    rt.remove_container(&id, FORCE).await.unwrap();
    assert_eq!(remove_owned_volumes(&rt, OWNER).await, 1);
    assert!(owned(&rt).await.is_empty());
}

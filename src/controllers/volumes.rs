//! A task's volumes on the Docker engine, the way the ECS agent provides
//! them (`agent/api/task/task.go`: `initializeDockerLocalVolumes`,
//! `initializeDockerVolumes`, `addSharedVolumes`, `addEFSVolumes`):
//!
//! - `host.sourcePath`: a directory of the engine's host, bound as is.
//! - `host` without `sourcePath` (or a volume with only a name): a Docker
//!   volume made for the task and removed with it ("Docker-managed", like
//!   ECS's empty host volume). Made only when a container mounts it, as the
//!   agent does.
//! - `dockerVolumeConfiguration` scope `task` (the default): a Docker volume
//!   made for the task with its driver, driverOpts and labels, removed with
//!   the task. Named `ecs-FAMILY-REVISION-VOLUME-HEX` as the agent names it.
//! - scope `shared`: the Docker volume named as the ECS volume, kept across
//!   tasks. `autoprovision` true creates it when missing; false requires it
//!   to exist, or the task fails with the agent's wording. An existing one is
//!   used as it is (the agent's `ECS_SHARED_VOLUME_MATCH_FULL_CONFIG`
//!   default: its labels and options are not compared).
//! - `efsVolumeConfiguration`: one local Docker volume per file system id,
//!   `ecsbox-efs-<fileSystemId>`, shared by every task that mounts it and
//!   kept until reset, so tasks see each other's files as on EFS.
//!   `rootDirectory` mounts that directory of the volume (created when
//!   missing; EFS would refuse a directory that does not exist, but nothing
//!   outside a task could make one here). Access points, IAM and transit
//!   encryption have nothing to act on locally and are ignored: a volume
//!   with an access point mounts the file system's root.
//! - `configuredAtLaunch` (EBS given at RunTask): a task-scoped Docker
//!   volume, as EBS volumes are deleted with their task by default.
//! - FSx for Windows File Server and S3 Files volumes fail the task: there
//!   is nothing on a Linux engine to stand for them.
//!
//! Ephemeral storage (`ephemeralStorage.sizeInGiB` on Fargate) sizes the
//! task's writable layers and volumes in AWS. Docker's default `overlay2`
//! storage driver has no per-container size limit (`--storage-opt size`
//! needs xfs with project quotas), so ecsbox accepts the setting and
//! enforces nothing.
//!
//! Everything made here carries `ecsbox.owner`; `remove_owned_volumes`
//! removes it all on reset and shutdown. The Docker names are derived from
//! the task and the task definition alone, so `container_spec` maps mount
//! points to the same names without being told (`mount_source`).

use std::collections::{BTreeMap, HashMap};

use crate::model::shapes::{TaskDefinition, Volume};
use crate::runtime::{
    ContainerRuntime, LabelFilter, MountSource, RuntimeError, VolumeSpec, OWNER_LABEL,
};

use super::naming::{name_suffix, LABEL_TASK_ARN};

/// The Docker volume of EFS file system `fs-…` is `ecsbox-efs-fs-…`.
pub const EFS_VOLUME_PREFIX: &str = "ecsbox-efs-";
/// On an EFS stand-in volume: the file system id it stands for.
pub const LABEL_EFS_FILE_SYSTEM: &str = "ecsbox.efs-file-system-id";

/// What `prepare_task_volumes` made for one task alone: removed with it by
/// `release_task_volumes`. Shared and EFS volumes are not listed: they
/// outlive the task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskVolumes {
    /// Docker volume names.
    pub task_scoped: Vec<String>,
}

/// How one task definition volume is provided on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provision {
    /// A directory of the engine's host, bound as is.
    HostPath(String),
    /// A Docker volume made for this task alone and removed with it.
    /// `from_empty_host`: an empty host volume, made only when mounted.
    TaskScoped {
        spec: VolumeSpec,
        from_empty_host: bool,
    },
    /// The Docker volume named as the ECS volume, kept across tasks.
    Shared {
        spec: VolumeSpec,
        autoprovision: bool,
    },
    /// The file system's Docker volume; `subpath` is `rootDirectory`.
    Efs {
        file_system_id: String,
        subpath: Option<String>,
    },
}

/// How `volume` of `td` is provided for task `task_id`. The user's labels
/// are in the specs; the owner label is added when the volume is made.
pub fn provision(td: &TaskDefinition, task_id: &str, volume: &Volume) -> Result<Provision, String> {
    let name = volume.name.as_deref().ok_or("a volume has no name")?;
    if let Some(efs) = &volume.efs_volume_configuration {
        let file_system_id = efs
            .file_system_id
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("EFS volume '{name}' has no fileSystemId"))?;
        let subpath = root_directory(name, efs.root_directory.as_deref())?;
        return Ok(Provision::Efs {
            file_system_id,
            subpath,
        });
    }
    if let Some(docker) = &volume.docker_volume_configuration {
        let spec = VolumeSpec {
            name: task_scoped_name(td, task_id, name),
            driver: docker.driver.clone().filter(|d| !d.is_empty()),
            driver_opts: to_map(&docker.driver_opts),
            labels: to_map(&docker.labels),
        };
        return match docker.scope.as_deref() {
            None | Some("task") => Ok(Provision::TaskScoped {
                spec,
                from_empty_host: false,
            }),
            Some("shared") => Ok(Provision::Shared {
                spec: VolumeSpec {
                    name: name.to_string(),
                    ..spec
                },
                autoprovision: docker.autoprovision.unwrap_or(false),
            }),
            Some(other) => Err(format!(
                "volume '{name}' has scope '{other}'; the scope is 'task' or 'shared'"
            )),
        };
    }
    if volume
        .fsx_windows_file_server_volume_configuration
        .is_some()
    {
        return Err(format!(
            "volume '{name}' is an FSx for Windows File Server volume, which needs a Windows \
             container instance; ecsbox runs Linux containers"
        ));
    }
    if volume.s3files_volume_configuration.is_some() {
        return Err(format!(
            "volume '{name}' is an S3 Files volume, which ecsbox does not emulate"
        ));
    }
    let source_path = volume.host.as_ref().and_then(|h| h.source_path.clone());
    match source_path.filter(|p| !p.is_empty()) {
        Some(path) if volume.configured_at_launch != Some(true) => Ok(Provision::HostPath(path)),
        _ => Ok(Provision::TaskScoped {
            spec: VolumeSpec {
                name: task_scoped_name(td, task_id, name),
                ..Default::default()
            },
            from_empty_host: volume.configured_at_launch != Some(true),
        }),
    }
}

/// Where a container's mount of `volume` comes from (for `container_spec`).
pub fn mount_source(
    td: &TaskDefinition,
    task_id: &str,
    volume: &Volume,
) -> Result<MountSource, String> {
    Ok(match provision(td, task_id, volume)? {
        Provision::HostPath(path) => MountSource::HostPath(path),
        Provision::TaskScoped { spec, .. } | Provision::Shared { spec, .. } => {
            MountSource::Volume {
                name: spec.name,
                subpath: None,
            }
        }
        Provision::Efs {
            file_system_id,
            subpath,
        } => MountSource::Volume {
            name: efs_volume_name(&file_system_id),
            subpath,
        },
    })
}

/// `ecs-FAMILY-REVISION-VOLUME-HEX`, as the agent names task-scoped volumes
/// (`task.volumeName`); the 20 hex digits come from the task id, so the
/// name is known before the volume exists, and kept to Docker's
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn task_scoped_name(td: &TaskDefinition, task_id: &str, volume: &str) -> String {
    let family = td.family.as_deref().unwrap_or("");
    let revision = td.revision.unwrap_or(0);
    // ':' cannot occur in a container name, so this never equals the
    // suffix of a container of the same task.
    let suffix = name_suffix(task_id, &format!("volume:{volume}"));
    docker_safe(&format!("ecs-{family}-{revision}-{volume}-{suffix}"))
}

/// The Docker volume that stands for EFS file system `file_system_id`.
pub fn efs_volume_name(file_system_id: &str) -> String {
    docker_safe(&format!("{EFS_VOLUME_PREFIX}{file_system_id}"))
}

fn docker_safe(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect()
}

fn to_map(m: &Option<BTreeMap<String, String>>) -> HashMap<String, String> {
    m.iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `rootDirectory` as a path inside the volume: None for the root (unset,
/// empty or `/`). `..` is refused: the mount must stay inside the volume.
fn root_directory(volume: &str, root: Option<&str>) -> Result<Option<String>, String> {
    let parts: Vec<&str> = root
        .unwrap_or("")
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(format!(
            "EFS volume '{volume}': rootDirectory '{}' must not contain '..'",
            root.unwrap_or("")
        ));
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// True when a container of `td` mounts the volume named `name`.
fn is_mounted(td: &TaskDefinition, name: &str) -> bool {
    td.container_definitions
        .iter()
        .flatten()
        .flat_map(|c| c.mount_points.iter().flatten())
        .any(|m| m.source_volume.as_deref() == Some(name))
}

// ---- the engine work ---------------------------------------------------------

/// Makes what the task's volumes need before its containers are created:
/// task-scoped volumes, missing shared volumes with autoprovision, the EFS
/// file systems' volumes. On failure, what was made for the task is removed
/// again and the answer is the task's stoppedReason.
pub async fn prepare_task_volumes(
    runtime: &dyn ContainerRuntime,
    owner: &str,
    task_arn: &str,
    task_id: &str,
    td: &TaskDefinition,
) -> Result<TaskVolumes, String> {
    let mut made = TaskVolumes::default();
    for volume in td.volumes.iter().flatten() {
        let prepared = async {
            let plan = provision(td, task_id, volume)?;
            let ecs_name = volume.name.as_deref().unwrap_or_default();
            if matches!(
                plan,
                Provision::TaskScoped {
                    from_empty_host: true,
                    ..
                }
            ) && !is_mounted(td, ecs_name)
            {
                // The agent makes an empty host volume only for its mounts.
                return Ok(());
            }
            prepare_one(runtime, owner, task_arn, plan, &mut made).await
        };
        if let Err(e) = prepared.await {
            release_task_volumes(runtime, &made).await;
            return Err(format!(
                "ResourceInitializationError: resource cannot be initialized for task {task_arn}: {e}"
            ));
        }
    }
    Ok(made)
}

async fn prepare_one(
    runtime: &dyn ContainerRuntime,
    owner: &str,
    task_arn: &str,
    plan: Provision,
    made: &mut TaskVolumes,
) -> Result<(), String> {
    match plan {
        Provision::HostPath(_) => Ok(()),
        Provision::TaskScoped { mut spec, .. } => {
            spec.labels.insert(OWNER_LABEL.into(), owner.into());
            spec.labels.insert(LABEL_TASK_ARN.into(), task_arn.into());
            create(runtime, &spec).await?;
            made.task_scoped.push(spec.name);
            Ok(())
        }
        Provision::Shared {
            spec,
            autoprovision,
        } => ensure_shared(runtime, owner, spec, autoprovision).await,
        Provision::Efs { file_system_id, .. } => {
            let spec = VolumeSpec {
                name: efs_volume_name(&file_system_id),
                labels: HashMap::from([
                    (OWNER_LABEL.to_string(), owner.to_string()),
                    (LABEL_EFS_FILE_SYSTEM.to_string(), file_system_id),
                ]),
                ..Default::default()
            };
            // Docker answers an existing volume of that name as it is: every
            // task that mounts the file system gets the same volume.
            create(runtime, &spec).await
        }
    }
}

async fn create(runtime: &dyn ContainerRuntime, spec: &VolumeSpec) -> Result<(), String> {
    runtime
        .create_volume(spec)
        .await
        .map(|_| ())
        .map_err(|e| format!("create volume {}: {e}", spec.name))
}

/// A shared volume: used when it exists, created (with the owner label) when
/// it is missing and `autoprovision` is set, else the agent's refusal.
async fn ensure_shared(
    runtime: &dyn ContainerRuntime,
    owner: &str,
    mut spec: VolumeSpec,
    autoprovision: bool,
) -> Result<(), String> {
    let missing = match runtime.inspect_volume(&spec.name).await {
        Ok(_) => return Ok(()),
        Err(e) if e.is_not_found() => e,
        Err(e) => return Err(format!("inspect volume {}: {e}", spec.name)),
    };
    if !autoprovision {
        return Err(format!(
            "initialize volume: volume detection failed, volume '{}' does not exist and \
             autoprovision is set to false: {missing}",
            spec.name
        ));
    }
    spec.labels.insert(OWNER_LABEL.into(), owner.into());
    create(runtime, &spec).await
}

/// Removes the task's own volumes; call it once the task's containers are
/// removed (Docker refuses to remove a volume a container still uses).
/// Volumes already gone are fine; any other failure is logged, and
/// `remove_owned_volumes` gets the rest on reset.
pub async fn release_task_volumes(runtime: &dyn ContainerRuntime, volumes: &TaskVolumes) {
    for name in &volumes.task_scoped {
        match runtime.remove_volume(name).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => tracing::warn!(volume = %name, "cannot remove a task volume: {e}"),
        }
    }
}

/// Removes every volume `owner` made (task-scoped, autoprovisioned shared,
/// EFS), for reset and shutdown; call it after the owner's containers are
/// removed. Volumes still in use by someone else's container stay. Returns
/// how many were removed.
pub async fn remove_owned_volumes(runtime: &dyn ContainerRuntime, owner: &str) -> usize {
    let mine = [LabelFilter::equals(OWNER_LABEL, owner)];
    let volumes = match runtime.list_volumes(&mine).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("cannot list ecsbox volumes: {e}");
            return 0;
        }
    };
    let mut removed = 0;
    for v in volumes {
        match runtime.remove_volume(&v.name).await {
            Ok(()) => removed += 1,
            Err(RuntimeError::NotFound(_)) => {}
            Err(e) => tracing::warn!(volume = %v.name, "cannot remove volume: {e}"),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::{
        ContainerDefinition, DockerVolumeConfiguration, EFSAuthorizationConfig,
        EFSVolumeConfiguration, FSxWindowsFileServerVolumeConfiguration, HostVolumeProperties,
        MountPoint,
    };

    const TASK_ID: &str = "0123456789abcdef0123456789abcdef";

    fn td(volumes: Vec<Volume>, mounted: &[&str]) -> TaskDefinition {
        let mount_points = mounted
            .iter()
            .map(|v| MountPoint {
                source_volume: Some(v.to_string()),
                container_path: Some(format!("/{v}")),
                read_only: None,
            })
            .collect();
        TaskDefinition {
            family: Some("shop".into()),
            revision: Some(3),
            volumes: Some(volumes),
            container_definitions: Some(vec![ContainerDefinition {
                name: Some("app".into()),
                mount_points: Some(mount_points),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn named(name: &str) -> Volume {
        Volume {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    fn docker(name: &str, scope: Option<&str>, autoprovision: Option<bool>) -> Volume {
        Volume {
            docker_volume_configuration: Some(DockerVolumeConfiguration {
                scope: scope.map(String::from),
                autoprovision,
                driver: Some("local".into()),
                driver_opts: Some(BTreeMap::from([("type".into(), "tmpfs".into())])),
                labels: Some(BTreeMap::from([("team".into(), "blue".into())])),
            }),
            ..named(name)
        }
    }

    fn efs(name: &str, fs: &str, root: Option<&str>) -> Volume {
        Volume {
            efs_volume_configuration: Some(EFSVolumeConfiguration {
                file_system_id: Some(fs.into()),
                root_directory: root.map(String::from),
                ..Default::default()
            }),
            ..named(name)
        }
    }

    fn plan(v: &Volume) -> Result<Provision, String> {
        provision(&td(vec![v.clone()], &[]), TASK_ID, v)
    }

    #[test]
    fn task_scoped_names_follow_the_agent_and_are_stable() {
        let t = td(vec![], &[]);
        let name = task_scoped_name(&t, TASK_ID, "scratch");
        let hex = name.strip_prefix("ecs-shop-3-scratch-").expect(&name);
        assert_eq!(hex.len(), 20);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(name, task_scoped_name(&t, TASK_ID, "scratch"));
        assert_ne!(name, task_scoped_name(&t, "another-task", "scratch"));
    }

    #[test]
    fn host_source_path_is_a_bind_and_an_empty_host_is_task_scoped() {
        let bind = Volume {
            host: Some(HostVolumeProperties {
                source_path: Some("/srv/data".into()),
            }),
            ..named("data")
        };
        assert_eq!(plan(&bind), Ok(Provision::HostPath("/srv/data".into())));
        let empty = Volume {
            host: Some(HostVolumeProperties { source_path: None }),
            ..named("scratch")
        };
        for v in [empty, named("scratch")] {
            match plan(&v).unwrap() {
                Provision::TaskScoped {
                    spec,
                    from_empty_host,
                } => {
                    assert!(from_empty_host);
                    assert!(
                        spec.name.starts_with("ecs-shop-3-scratch-"),
                        "{}",
                        spec.name
                    );
                    assert_eq!(spec.driver, None);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn docker_volumes_are_task_scoped_by_default_and_shared_by_name() {
        match plan(&docker("cache", None, None)).unwrap() {
            Provision::TaskScoped {
                spec,
                from_empty_host,
            } => {
                assert!(!from_empty_host);
                assert!(spec.name.starts_with("ecs-shop-3-cache-"));
                assert_eq!(spec.driver.as_deref(), Some("local"));
                assert_eq!(spec.driver_opts["type"], "tmpfs");
                assert_eq!(spec.labels["team"], "blue");
            }
            other => panic!("{other:?}"),
        }
        match plan(&docker("cache", Some("shared"), Some(true))).unwrap() {
            Provision::Shared {
                spec,
                autoprovision,
            } => {
                // The agent uses the ECS volume's name as the Docker name.
                assert_eq!(spec.name, "cache");
                assert!(autoprovision);
            }
            other => panic!("{other:?}"),
        }
        match plan(&docker("cache", Some("shared"), None)).unwrap() {
            Provision::Shared { autoprovision, .. } => assert!(!autoprovision),
            other => panic!("{other:?}"),
        }
        assert!(plan(&docker("cache", Some("global"), None)).is_err());
    }

    #[test]
    fn efs_maps_to_one_volume_per_file_system() {
        let v = efs("shared-fs", "fs-0123abcd", None);
        assert_eq!(
            mount_source(&td(vec![v.clone()], &[]), TASK_ID, &v),
            Ok(MountSource::Volume {
                name: "ecsbox-efs-fs-0123abcd".into(),
                subpath: None
            })
        );
        for root in ["/", "", "/./"] {
            assert_eq!(
                plan(&efs("e", "fs-1", Some(root))),
                Ok(Provision::Efs {
                    file_system_id: "fs-1".into(),
                    subpath: None
                }),
                "rootDirectory {root:?} is the root"
            );
        }
        assert_eq!(
            plan(&efs("e", "fs-1", Some("/data/app/"))),
            Ok(Provision::Efs {
                file_system_id: "fs-1".into(),
                subpath: Some("data/app".into())
            })
        );
        let err = plan(&efs("e", "fs-1", Some("/data/../../etc"))).unwrap_err();
        assert!(err.contains("'..'"), "{err}");
    }

    #[test]
    fn efs_access_points_mount_the_file_system_root() {
        let mut v = efs("e", "fs-1", None);
        v.efs_volume_configuration
            .as_mut()
            .unwrap()
            .authorization_config = Some(EFSAuthorizationConfig {
            access_point_id: Some("fsap-1".into()),
            iam: Some("ENABLED".into()),
        });
        assert_eq!(
            plan(&v),
            Ok(Provision::Efs {
                file_system_id: "fs-1".into(),
                subpath: None
            })
        );
    }

    #[test]
    fn volumes_configured_at_launch_are_task_scoped() {
        let v = Volume {
            configured_at_launch: Some(true),
            ..named("ebs")
        };
        assert!(matches!(
            plan(&v),
            Ok(Provision::TaskScoped {
                from_empty_host: false,
                ..
            })
        ));
    }

    #[test]
    fn windows_file_server_volumes_are_refused() {
        let v = Volume {
            fsx_windows_file_server_volume_configuration: Some(
                FSxWindowsFileServerVolumeConfiguration::default(),
            ),
            ..named("fsx")
        };
        let err = plan(&v).unwrap_err();
        assert!(err.contains("'fsx'") && err.contains("Windows"), "{err}");
    }

    #[test]
    fn mount_points_know_which_volumes_are_used() {
        let t = td(vec![named("a"), named("b")], &["b"]);
        assert!(!is_mounted(&t, "a"));
        assert!(is_mounted(&t, "b"));
    }
}

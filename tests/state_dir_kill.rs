//! `--state-dir` and `kill -9` in the middle of writes: every write whose
//! answer a client received is there after the restart, and the state
//! directory opens (the real binary; no container is started).
#[path = "common/binary.rs"]
mod binary;

use binary::Ecsbox;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

async fn start(state_dir: &str) -> Ecsbox {
    Ecsbox::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--registry-listen",
            "127.0.0.1:0",
            "--task-endpoints",
            "off",
            "--task-dns",
            "off",
            "--instance-id",
            &format!("kill-{}", uuid::Uuid::new_v4().simple()),
            "--state-dir",
            state_dir,
        ],
        LIMIT,
    )
    .await
}

/// Registers a revision of `family`; its ARN.
async fn register(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
) -> Result<
    String,
    aws_sdk_ecs::error::SdkError<
        aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionError,
    >,
> {
    let out = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("app")
                .image("busybox")
                .memory(64)
                .build(),
        )
        .send()
        .await?;
    Ok(out
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string())
}

#[tokio::test]
async fn no_acknowledged_write_is_lost_to_kill_9() {
    let dir = std::env::temp_dir().join(format!("ecsbox-kill-{}", uuid::Uuid::new_v4()));
    let _remove = RemoveDir(dir.clone());
    let state_dir = dir.to_str().unwrap().to_string();
    let mut ecsbox = start(&state_dir).await;
    let ecs = ecsbox.client();
    // Four writers register revisions until the process is gone; each
    // keeps the revisions it saw acknowledged.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut writers = vec![];
    for writer in 0..4 {
        let ecs = ecs.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            // Until the process is gone and the call fails.
            while let Ok(arn) = register(&ecs, &format!("w{writer}")).await {
                acknowledged.lock().unwrap().insert(arn);
            }
        }));
    }
    // Let them write a while, then kill in the middle of it.
    let start_writing = std::time::Instant::now();
    while acknowledged.lock().unwrap().len() < 200 {
        assert!(start_writing.elapsed() < LIMIT, "the writers are stuck");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ecsbox.signal("KILL");
    ecsbox.wait(LIMIT).await;
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let ecsbox = start(&state_dir).await;
    let ecs = ecsbox.client();
    let mut kept = BTreeSet::new();
    let mut pages = ecs.list_task_definitions().into_paginator().send();
    while let Some(page) = pages.next().await {
        kept.extend(page.unwrap().task_definition_arns().iter().cloned());
    }
    let lost: Vec<_> = acknowledged.difference(&kept).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );
    // A write that was cut off may or may not be there; nothing else is.
    assert!(
        kept.len() <= acknowledged.len() + 4,
        "{} kept, {} acknowledged",
        kept.len(),
        acknowledged.len()
    );
    // Revisions go on after the last one kept.
    let next = register(&ecs, "w0").await.unwrap();
    let revision = |arn: &str| arn.rsplit(':').next().unwrap().parse::<i32>().unwrap();
    let last_kept = kept
        .iter()
        .filter(|a| a.contains(":task-definition/w0:"))
        .map(|a| revision(a))
        .max()
        .unwrap();
    assert!(
        revision(&next) > last_kept,
        "{next} after revision {last_kept}"
    );
}

/// Removes the state directory when the test ends, failed or not.
struct RemoveDir(std::path::PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

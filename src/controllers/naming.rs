//! What ecsbox names and labels the Docker objects of a task with, as the
//! ECS agent does. Its own module because both the container spec and the
//! task volumes use it, and neither should depend on the other for it.

/// The labels the ECS agent puts on every container it creates.
pub const LABEL_CLUSTER: &str = "com.amazonaws.ecs.cluster";
pub const LABEL_TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
pub const LABEL_CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
pub const LABEL_FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
pub const LABEL_REVISION: &str = "com.amazonaws.ecs.task-definition-version";

/// 20 hex digits (80 bits), like the agent's `utils.RandHex()`.
pub fn name_suffix(task_id: &str, container: &str) -> String {
    let a = fnv1a(&[task_id.as_bytes(), b"/", container.as_bytes()]);
    let b = fnv1a(&[container.as_bytes(), b"/", task_id.as_bytes()]);
    format!("{a:016x}{:04x}", b & 0xffff)
}

/// FNV-1a 64: a small, stable hash (std's `DefaultHasher` may change
/// between Rust releases, and names must survive an ecsbox upgrade).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

//! Shapes, enums, validation, operations and error codes generated from the
//! pinned ECS service model by `codegen/generate.py`. Nothing here is edited
//! by hand; `tests/generated_fresh.rs` proves it matches the generator.

#[rustfmt::skip]
pub mod enums;
/// The Application Auto Scaling model.
pub mod application_autoscaling;
/// The CloudWatch model (the operations ecsbox types: codegen's CLOUDWATCH).
pub mod cloudwatch;
/// The EC2 model (the operations ecsbox types: codegen's `EC2_OPS`).
pub mod ec2;
/// The ECR model (the operations ecsbox types: codegen's `ECR_OPS`).
pub mod ecr;
/// The EFS model (the operations ecsbox types: codegen's `EFS_OPS`).
pub mod efs;
/// The ELBv2 model (the operations ecsbox types: codegen's `ELBV2_OPS`).
pub mod elbv2;
/// The EventBridge model (the operations ecsbox types: codegen's `EVENTS_OPS`).
pub mod events;
/// The CloudWatch Logs model, generated the same way.
pub mod logs;
/// What the protocol layer knows of each service (hand-written: the types
/// the generated `SERVICE` descriptions and shape tables are made of).
pub mod schema;
/// The Secrets Manager model (the operations ecsbox types: codegen's
/// `SECRETS_MANAGER_OPS`).
pub mod secretsmanager;
/// The Cloud Map model (every operation typed).
pub mod servicediscovery;
/// The SSM model (the operations ecsbox types: codegen's `SSM_OPS`).
pub mod ssm;
/// The STS model.
pub mod sts;
#[rustfmt::skip]
pub mod operations;
#[rustfmt::skip]
pub mod shapes;
#[rustfmt::skip]
pub mod validate;

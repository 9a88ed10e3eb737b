//! Every AWS service ecsbox serves, behind one trait: the server finds a
//! service by what the request carries (target prefix, credential scope,
//! form `Version`), asks it for the operation, and calls it with a `Wire`
//! that decodes the input and encodes the answer in the caller's protocol.
//! Adding a service means pinning its model, generating, writing its
//! handlers and one `AwsService` impl (the generated `dispatch` does the rest).
//!
//! - `sts`: GetCallerIdentity and AssumeRole (query protocol).
//! - `ec2`: the network lookups ECS users make (ec2 protocol).
//! - `cloudwatch`: metrics (Smithy RPC v2 CBOR, JSON 1.0 and query).
//! - `efs`: file systems tasks mount by id (rest-json).
//! - `ecr`: repositories and images (the registry serves their bytes).
//! - `elbv2`: Application and Network Load Balancers (query protocol); the
//!   traffic itself is `crate::lb`'s.
//! - `application_autoscaling`: scalable targets, scaling policies and
//!   scheduled actions for ECS services' desired count (AWS JSON 1.1); it
//!   scales through ECS's own UpdateService (`crate::api`).
//! - `events`: EventBridge buses, rules, schedules and targets.
//! - `servicediscovery`: Cloud Map's API over `crate::cloudmap` (Smithy RPC
//!   v2 CBOR and AWS JSON 1.1).
//! - ECS (`crate::api`), CloudWatch Logs (`crate::logs`), Secrets Manager
//!   and SSM (`crate::secrets`) implement the trait here too.

pub mod application_autoscaling;
pub mod cloudwatch;
pub mod ec2;
pub mod ecr;
pub mod efs;
pub mod elbv2;
pub mod events;
pub mod servicediscovery;
pub mod sts;

use crate::model::schema::{OpWire, ServiceMeta};
use crate::protocol::{ApiError, RequestContext, Wire};

/// A new id in AWS's form: the prefix and 17 hex digits (`vpc-0a1b2c3d4e5f60718`,
/// `fs-…`), as EC2 and EFS give them.
pub fn new_resource_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..17]
    )
}

/// One AWS service as the server sees it.
pub trait AwsService: Send + Sync {
    fn meta(&self) -> &'static ServiceMeta;
    /// The operation of this name, if the service's model has it.
    fn operation(&self, name: &str) -> Option<OpWire>;
    /// Every operation of the model (rest-json routing matches their URIs).
    fn operations(&self) -> Vec<OpWire>;
    /// Runs the operation `wire.op` names.
    fn call(&self, ctx: &RequestContext, wire: &Wire) -> Result<Vec<u8>, ApiError>;
}

/// `impl AwsService` for a service whose handlers implement its generated
/// trait: the generated `Operation` and `dispatch` do the work.
#[macro_export]
macro_rules! aws_service {
    ($ty:ty, $model:path, $dispatch:path) => {
        impl $crate::services::AwsService for $ty {
            fn meta(&self) -> &'static $crate::model::schema::ServiceMeta {
                use $model as model;
                &model::SERVICE
            }

            fn operation(&self, name: &str) -> Option<$crate::model::schema::OpWire> {
                use $model as model;
                model::Operation::from_name(name).map(model::Operation::wire)
            }

            fn operations(&self) -> Vec<$crate::model::schema::OpWire> {
                use $model as model;
                model::Operation::ALL.iter().map(|op| op.wire()).collect()
            }

            fn call(
                &self,
                ctx: &$crate::protocol::RequestContext,
                wire: &$crate::protocol::Wire,
            ) -> Result<Vec<u8>, $crate::protocol::ApiError> {
                use $model as model;
                let op = model::Operation::from_name(wire.op.name)
                    .expect("the server asked `operation` first");
                $dispatch(self, ctx, op, wire)
            }
        }
    };
}

/// What a handler marked `with ...` in `implemented_operations!` gets:
///
/// - `with network` (ECS's awsvpc calls): the service looks the network
///   configuration up first (in EC2), then takes its own region lock, never
///   both at once; the handler gets a `WithNetwork` of the input and what
///   was found.
/// - `with context`: the handler gets a `WithContext` of the input and the
///   request's context (who called, at which address).
#[macro_export]
macro_rules! handler_input {
    (network, $svc:ident, $ctx:ident, $input:ident) => {{
        let network = $svc.look_up_network($ctx, $input.network_configuration.as_ref());
        WithNetwork {
            input: $input,
            network,
        }
    }};
    (context, $svc:ident, $ctx:ident, $input:ident) => {
        WithContext {
            input: $input,
            ctx: $ctx.clone(),
        }
    };
}

/// Implements a service's generated trait for the operations listed, one
/// line each, and lists them in `IMPLEMENTED_METHODS` (by generated method
/// name), which the service's `is_implemented` reads; every operation not
/// listed keeps the trait's default "not implemented" answer.
///
/// Each handler is `module::func(&mut state, input)`, run with the caller's
/// region locked by the service's own method `$with_region(ctx, f)`, which
/// also does whatever must follow the lock (ECS hands recorded effects to
/// the controllers).
///
/// ```text
/// crate::implemented_operations! {
///     impl EcsApi for Ecs, in with_region;
///     create_cluster => clusters::create(CreateClusterRequest) -> CreateClusterResponse;
/// }
/// ```
#[macro_export]
macro_rules! implemented_operations {
    (
        impl $api:ident for $ty:ty, in $with_region:ident;
        $( $method:ident => $module:ident :: $func:ident ($input:ty) -> $output:ty $(, with $extra:ident)? ; )*
    ) => {
        impl $api for $ty {
            $(
                fn $method(
                    &self,
                    ctx: &$crate::protocol::RequestContext,
                    input: $input,
                ) -> Result<$output, $crate::protocol::ApiError> {
                    // `with network` or `with context`: the handler gets
                    // more than its input (see `handler_input!`).
                    $(
                        let input = $crate::handler_input!($extra, self, ctx, input);
                    )?
                    self.$with_region(ctx, |state| $module::$func(state, input))
                }
            )*
        }

        /// The operations ecsbox implements, by their generated method names.
        pub const IMPLEMENTED_METHODS: &[&str] = &[$(stringify!($method)),*];
    };
}

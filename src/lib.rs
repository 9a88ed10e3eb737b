//! ecsbox: a local emulator of Amazon ECS. See `shared/design.md` for the
//! architecture. Imports go one way, top to bottom; a module uses only
//! those on its right or below it (`tests/module_graph.rs` checks there is
//! no cycle):
//!
//! ```text
//! server                         routing by protocol, shutdown; wires everything
//! registry                       the OCI registry behind ECR (docker push/pull)
//! services                       the AwsService frame every service is served through;
//!                                STS, EC2, EFS, ECR, and Application Auto Scaling (which
//!                                scales ECS services through `api`'s UpdateService)
//! api                            ECS handlers: thin, turn DomainError into ApiError
//! controllers                    task lifecycle on Docker, service scheduler
//! auth, logs, secrets, metadata  SigV4; the CloudWatch Logs, Secrets Manager and
//!                                SSM services; the task metadata endpoints
//! domain                         ECS's rules: launch, placement, shared checks
//! protocol                       the wire: JSON 1.0/1.1, query and ec2 forms, XML
//!                                answers and errors, ApiError
//! state                          ECS's per-(account, region) records and effects
//! persistence                    --state-dir: the services' state as rows of a database file
//! store                          the generic per-(account, region) store, page tokens
//! runtime                        the only code that talks to Docker
//! cloudmap                       Cloud Map's registry: namespaces, services, instances;
//!                                its API (services), ECS's controllers and DNS share it
//! lb                             the load balancers' data plane: listeners that forward,
//!                                target groups, health checks (ELBv2's API is a service)
//! service_connect                Service Connect's endpoints: an address per client
//!                                alias, proxied to the Cloud Map instances behind it
//! http_accept                    the one HTTP accept loop (the API's and the task endpoints')
//! memory                         freed heap memory back to the system when quiet
//! model, config, civil, clock    generated shapes; settings; calendar helpers; the clock
//! events_out                     ECS's own events on their way to EventBridge (an outbox)
//! fuzzing                        fuzz targets: each user-input decoder as a function of bytes
//! tags                           the tag set a resource holds and AWS's tag rules, for
//!                                every service (each words its own errors)
//! ```
//!
//! Neither `domain` nor `controllers` uses `api` or `protocol::ApiError`:
//! they return `domain::DomainError`, and `api` converts it in one place.

pub mod api;
pub mod auth;
pub mod civil;
pub mod clock;
pub mod cloudmap;
pub mod config;
pub mod controllers;
pub mod dns;
pub mod domain;
pub mod events_out;
pub mod fuzzing;
pub mod http_accept;
pub mod lb;
pub mod logs;
pub mod loopback;
pub mod memory;
pub mod metadata;
pub mod model;
pub mod persistence;
pub mod protocol;
pub mod registry;
pub mod runtime;
pub mod secrets;
pub mod server;
pub mod service_connect;
pub mod services;
pub mod state;
pub mod store;
pub mod tags;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;

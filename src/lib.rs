//! ecsbox: a local emulator of Amazon ECS. See `shared/design.md` for the
//! architecture. Imports go one way, top to bottom; a module uses only
//! those on its right or below it (`tests/module_graph.rs` checks there is
//! no cycle):
//!
//! ```text
//! server                         accept loop, routing, shutdown; wires everything
//! api                            ECS handlers: thin, turn DomainError into ApiError
//! controllers                    task lifecycle on Docker, service scheduler
//! auth, logs, secrets, metadata  SigV4; the CloudWatch Logs, Secrets Manager and
//!                                SSM services; the task metadata endpoints
//! domain                         ECS's rules: launch, placement, shared checks
//! protocol                       the wire: JSON 1.1 and ApiError
//! state                          per-(account, region) records and effects
//! runtime                        the only code that talks to Docker
//! model, config, civil           generated shapes; settings; calendar helpers
//! ```
//!
//! Neither `domain` nor `controllers` uses `api` or `protocol::ApiError`:
//! they return `domain::DomainError`, and `api` converts it in one place.

pub mod api;
pub mod auth;
pub mod civil;
pub mod config;
pub mod controllers;
pub mod domain;
pub mod metadata;
pub mod logs;
pub mod model;
pub mod protocol;
pub mod runtime;
pub mod secrets;
pub mod server;
pub mod state;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;

//! ecsbox: a local emulator of Amazon ECS. See `shared/design.md` for the
//! architecture; imports go one way, top to bottom:
//!
//! server -> auth, protocol -> api -> state -> model

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

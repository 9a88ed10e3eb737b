//! ecsbox: a local emulator of Amazon ECS. See `shared/design.md` for the
//! architecture; imports go one way, top to bottom:
//!
//! server -> auth, protocol -> api -> state -> store, model, clock

pub mod api;
pub mod auth;
pub mod civil;
pub mod clock;
pub mod config;
pub mod controllers;
pub mod metadata;
pub mod logs;
pub mod model;
pub mod protocol;
pub mod runtime;
pub mod secrets;
pub mod server;
pub mod services;
pub mod state;
pub mod store;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;

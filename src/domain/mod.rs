//! ECS's own rules, below both the API and the controllers: launching
//! tasks (RunTask, StartTask and the service scheduler share one path),
//! placing them on container instances, and the checks they share. Nothing
//! here knows the wire: a refusal is a `DomainError`, which the API turns
//! into an `ApiError` in one place.

mod error;

pub mod capacity;
pub mod instance_view;
pub mod launch;
pub mod messages;
pub mod network;
pub mod placement;
pub mod slots;
pub mod task_definitions;
pub mod validation;

pub use error::DomainError;

//! Shapes, enums, validation, operations and error codes generated from the
//! pinned CloudWatch Logs service model by `codegen/generate.py`. Nothing
//! here is edited by hand; `tests/generated_fresh.rs` proves it matches the
//! generator. Requests validate through the shared `model::validate::Validate`.
//! Clippy's style lints do not apply to generated code.

#[rustfmt::skip]
pub mod enums;
#[rustfmt::skip]
pub mod operations;
#[rustfmt::skip]
pub mod shapes;
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod validate;

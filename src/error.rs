//! The names under which the request extractors and the OpenAPI attributes reach the
//! problem+json answer; it lives in `api::problem`, and the domain's own error in
//! `domain::error`.

pub use crate::api::problem::{ApiError, Problem};
pub use crate::domain::FieldError;

//! Domain types and rules: no I/O here.

pub mod ids;
pub mod placement;
pub mod role;
pub mod timestamp;
pub mod validate;

pub use ids::*;
pub use placement::{PlacementAction, PlacementStatus};
pub use role::Role;
pub use timestamp::Timestamp;

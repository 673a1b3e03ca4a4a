//! Domain types and rules: no I/O here.

pub mod error;
pub mod ids;
pub mod placement;
pub mod role;
pub mod run;
pub mod scope;
pub mod states;
pub mod timestamp;
pub mod validate;

pub use error::{Conflict, DomainError, FieldError, ListRule};
pub use ids::*;
pub use placement::{PlacementAction, PlacementStatus};
pub use role::Role;
pub use run::{BaseFill, BaseRefusal, RunStats, RunTimings};
pub use scope::{Concerning, Limits, Scope};
pub use states::{DirectApplicationStatus, EmailStatus, PlacementSource, RunStatus};
pub use timestamp::Timestamp;

//! Work that spans several tables: what the handlers ask of the database beyond one query.

pub mod auth;
pub mod inputs;
pub mod invitations;
pub mod match_runs;
pub mod placements;
pub mod students;

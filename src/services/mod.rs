//! Work that spans several tables: what the handlers ask of the database beyond one query.

pub mod alliance_view;
pub mod applications;
pub mod auth;
pub mod base_view;
pub mod cycles;
pub mod direct_applications;
pub mod emails;
pub mod inputs;
pub mod invitations;
pub mod match_runs;
pub mod personal_data;
pub mod placements;
pub mod run_bundles;
pub mod seats;
pub mod sso;
pub mod student_input;
pub mod student_view;
pub mod students;
pub mod university_view;

//! The API, told as its users' stories: one test binary, a real server per test.

mod applications;
mod auth;
mod backup;
mod edges;
mod emails;
mod headers;
mod helpers;
mod identity_providers;
mod lifecycle;
mod matching;
mod migrations;
mod operations;
mod personal_data;
mod placements;
mod reference_data;
mod reused_answers;
mod second_round;
mod sign_in;
mod smtp;
mod sso;
mod stats;
mod students;
mod text_fields;
mod verifiable;

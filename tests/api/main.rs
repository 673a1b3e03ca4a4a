//! The API, told as its users' stories: one test binary, a real server per test.

mod applications;
mod auth;
mod edges;
mod emails;
mod headers;
mod helpers;
mod matching;
mod migrations;
mod operations;
mod placements;
mod reference_data;
mod reused_answers;
mod second_round;
mod sign_in;
mod smtp;
mod stats;
mod students;
mod text_fields;
mod verifiable;

//! The API, told as its users' stories: one test binary, a real server per test.

mod applications;
mod auth;
mod edges;
mod emails;
mod helpers;
mod matching;
mod migrations;
mod operations;
mod placements;
mod reference_data;
mod second_round;
mod smtp;
mod stats;
mod students;

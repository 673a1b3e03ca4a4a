//! The API, told as its users' stories: one test binary, a real server per test.

mod auth;
mod helpers;
mod migrations;
mod operations;
mod reference_data;
mod students;

//! placemat: the internship placement service of a regional alliance of engineering
//! universities.

// Diesel's insert statements over wide tables nest deeper than the default limit.
#![recursion_limit = "256"]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod headers;
pub mod i18n;
pub mod matching;
pub mod seed;
pub mod services;
pub mod sso;
pub mod startup;
pub mod state;
pub mod stats;
pub mod telemetry;
pub mod web;

#[cfg(test)]
mod layering;

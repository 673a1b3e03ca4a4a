//! The placement engine: student-proposing deferred acceptance over dense indices.
//!
//! Pure and synchronous, with no database: the service builds a [`Market`] from a cycle's
//! applications, rankings and seats; `placemat match` builds one from an [`Instance`] file.
//! See `docs/matching.md`.

mod bundle;
mod check;
mod command;
mod engine;
mod explain;
mod generate;
mod ids;
mod instance;
mod lottery;
mod market;
mod reader;
mod statistics;

#[cfg(test)]
mod tests;

pub use bundle::{
    result_sha256, verify, verify_file, Assignments, Bundle, BundleBase, BundleInstance,
    BundleResult, Digests, Fault, RunLogEntry, RunSummary, Verified, BUNDLE_FORMAT,
};
pub use check::{check, Violation};
pub use command::{run_command, CommandError, CommandReport, StageTimings};
pub use engine::{run, Matching, MatchingError};
pub use explain::{explain, Explainer, Refusal, RefusalReason};
pub use generate::generate;
pub use instance::{
    AssignmentsById, BaseEntry, IndexedMarket, Instance, InstanceError, StudentEntry,
    UnmatchedReasonsById,
};
pub use lottery::{applicant_order, lottery_numbers, order_applicants, SplitMix64};
pub use market::{Market, MarketBuilder, MarketError};
pub use statistics::Statistics;

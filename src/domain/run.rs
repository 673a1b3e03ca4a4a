//! What a match run found, as it is stored beside the run and shown to its readers.

use crate::domain::BaseId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a student did not get a base it listed higher than its result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BaseRefusal {
    pub base_id: BaseId,
    /// Where the student listed the base (1 = first choice).
    pub preference_rank: u32,
    /// `full_with_higher_ranked`, `no_seats` or `not_ranked`.
    pub reason: String,
    /// The base's seats, when it was full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    /// How many students it kept, all ranked above this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<u32>,
    /// The base's rank of the lowest-ranked student it kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_kept_rank: Option<u32>,
    /// The base's rank of this student.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub student_rank: Option<u32>,
    /// The same in words.
    pub message: String,
}

/// Seats and interns of one base in a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BaseFill {
    pub base_id: BaseId,
    pub seats: u32,
    pub filled: u32,
}

/// The figures of a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunStats {
    pub applicants: u32,
    pub matched: u32,
    pub unmatched: u32,
    pub seats: u64,
    pub filled: u64,
    pub fill_rate: f64,
    /// Students placed at their first, second, … choice, keyed by the choice.
    pub rank_histogram: std::collections::BTreeMap<String, u32>,
    pub bases: Vec<BaseFill>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct RunTimings {
    pub load_ms: f64,
    pub engine_ms: f64,
    pub store_ms: f64,
}

//! Placement statistics of a cycle, grouped by the students' university, their program, the
//! base, or the flow from the students' university to the base's host university: the
//! counting queries (`queries`), the spreadsheet writers (`export`) and the shapes they share.

pub mod export;
pub mod queries;

use crate::domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the rows of the statistics are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The students' university.
    University,
    /// The students' program.
    Program,
    /// The base.
    Base,
    /// The students' university × the base's host university.
    Flow,
}

impl GroupBy {
    pub const ALL: [GroupBy; 4] = [
        GroupBy::University,
        GroupBy::Program,
        GroupBy::Base,
        GroupBy::Flow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::University => "university",
            GroupBy::Program => "program",
            GroupBy::Base => "base",
            GroupBy::Flow => "flow",
        }
    }

    /// The columns that name a group in CSV and XLSX (JSON rows also carry the ids).
    pub fn label_columns(self) -> &'static [&'static str] {
        match self {
            GroupBy::University => &["university_code", "university_name"],
            GroupBy::Program => &["program_code", "program_name"],
            GroupBy::Base => &["base_id", "base_name"],
            GroupBy::Flow => &[
                "student_university_code",
                "student_university_name",
                "host_university_code",
                "host_university_name",
            ],
        }
    }
}

/// The counts of one group, or of all of them.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema, PartialEq)]
pub struct Measures {
    /// Students with an application in the cycle (for a base: who listed it; for a flow:
    /// students of the university who listed a base of the host).
    pub applicants: i64,
    /// Placements in the cycle whose current status is `offered`.
    pub offered: i64,
    pub confirmed: i64,
    pub declined: i64,
    pub withdrawn: i64,
    pub completed: i64,
    /// The base's seats in the cycle; on the totals, the cycle's seats; otherwise null.
    pub seats: Option<i64>,
    /// (offered + confirmed + completed) / seats, when there are seats.
    pub fill_rate: Option<f64>,
}

/// The group a row counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Group {
    University {
        university_id: UniversityId,
        university_code: String,
        university_name: String,
    },
    Program {
        program_id: ProgramId,
        program_code: String,
        program_name: String,
    },
    Base {
        base_id: BaseId,
        base_name: String,
    },
    Flow {
        student_university_id: UniversityId,
        student_university_code: String,
        student_university_name: String,
        host_university_id: UniversityId,
        host_university_code: String,
        host_university_name: String,
    },
}

impl Group {
    /// The order of the rows: universities and programs by code, bases by name, flows by
    /// the two universities' codes.
    pub fn sort_key(&self) -> Vec<String> {
        match self {
            Group::Base { base_id, base_name } => vec![base_name.clone(), base_id.to_string()],
            other => other.labels(),
        }
    }

    /// The values of [`GroupBy::label_columns`].
    pub fn labels(&self) -> Vec<String> {
        match self {
            Group::University {
                university_code,
                university_name,
                ..
            } => vec![university_code.clone(), university_name.clone()],
            Group::Program {
                program_code,
                program_name,
                ..
            } => vec![program_code.clone(), program_name.clone()],
            Group::Base { base_id, base_name } => vec![base_id.to_string(), base_name.clone()],
            Group::Flow {
                student_university_code,
                student_university_name,
                host_university_code,
                host_university_name,
                ..
            } => vec![
                student_university_code.clone(),
                student_university_name.clone(),
                host_university_code.clone(),
                host_university_name.clone(),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatsRow {
    #[serde(flatten)]
    pub group: Group,
    #[serde(flatten)]
    pub measures: Measures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementStats {
    pub cycle_id: CycleId,
    pub cycle_name: String,
    pub group_by: GroupBy,
    pub rows: Vec<StatsRow>,
    pub totals: Measures,
}

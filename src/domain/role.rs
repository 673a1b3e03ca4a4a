use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// What a user is to placemat; the scope of each role is enforced in `auth::Caller`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    clap::ValueEnum,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[diesel(sql_type = diesel::sql_types::Text)]
#[clap(rename_all = "snake_case")]
pub enum Role {
    AllianceAdmin,
    UniversityAdmin,
    BaseCoordinator,
    Student,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::AllianceAdmin => "alliance_admin",
            Role::UniversityAdmin => "university_admin",
            Role::BaseCoordinator => "base_coordinator",
            Role::Student => "student",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "alliance_admin" => Ok(Role::AllianceAdmin),
            "university_admin" => Ok(Role::UniversityAdmin),
            "base_coordinator" => Ok(Role::BaseCoordinator),
            "student" => Ok(Role::Student),
            other => Err(format!("unknown role `{other}`")),
        }
    }
}

crate::db::sql_types::text_column!(Role);

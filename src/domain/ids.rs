//! Typed identifiers, so that a student id can never be passed where a base id is meant.

use crate::db::sql_types::{uuid_from_pg, uuid_from_sqlite, uuid_to_pg, DbUuid};
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sqlite::{Sqlite, SqliteValue};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! typed_id {
    ($($name:ident),+ $(,)?) => {$(
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = DbUuid)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id, ordered by the time it was made (UUID version 7), so that new rows
            /// are appended to their table's and their references' indexes instead of
            /// landing at random places in them.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self)
            }
        }

        impl ToSql<DbUuid, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                uuid_to_pg(&self.0, out)
            }
        }

        impl FromSql<DbUuid, Pg> for $name {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                uuid_from_pg(value).map(Self)
            }
        }

        impl ToSql<DbUuid, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.0.hyphenated().to_string());
                Ok(IsNull::No)
            }
        }

        impl FromSql<DbUuid, Sqlite> for $name {
            fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                uuid_from_sqlite(value).map(Self)
            }
        }
    )+};
}

typed_id!(
    UniversityId,
    ProgramId,
    BaseId,
    CycleId,
    StudentId,
    UserId,
    TokenId,
    ApplicationId,
    MatchRunId,
    PlacementId,
    PlacementEventId,
    DirectApplicationId,
    EmailId,
    EmailAttemptId,
    SessionId,
    PasswordLinkId,
    SsoAttemptId,
    ErasureId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_sort_in_the_order_they_were_made_as_uuids_and_as_stored_text() {
        let ids: Vec<PlacementId> = (0..1000).map(|_| PlacementId::generate()).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        let texts: Vec<String> = ids.iter().map(|id| id.0.hyphenated().to_string()).collect();
        assert!(texts.windows(2).all(|pair| pair[0] < pair[1]));
    }
}

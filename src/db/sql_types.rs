//! Column types that read the same in Rust on both backends: a UUID is a native `uuid` on
//! PostgreSQL and hyphenated text on SQLite; an instant is `timestamptz` on PostgreSQL and
//! fixed-width RFC 3339 text on SQLite (fixed width keeps text order equal to time order).

use crate::domain::Timestamp;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Text, Timestamptz};
use diesel::sqlite::{Sqlite, SqliteValue};
use std::io::Write;
use uuid::Uuid;

#[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId, Debug, Clone, Copy)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct DbUuid;

#[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId, Debug, Clone, Copy)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct Instant;

/// An instant as SQLite keeps it: `2026-11-27T09:30:00.000000Z`, always to the
/// microsecond. Written without parsing a format string, as it is on every write.
fn sqlite_instant(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Writes a UUID for PostgreSQL's binary protocol.
pub fn uuid_to_pg(value: &Uuid, out: &mut Output<'_, '_, Pg>) -> serialize::Result {
    out.write_all(value.as_bytes())?;
    Ok(IsNull::No)
}

/// Reads a UUID from PostgreSQL's binary protocol.
pub fn uuid_from_pg(value: PgValue<'_>) -> deserialize::Result<Uuid> {
    Ok(Uuid::from_slice(value.as_bytes())?)
}

/// Reads a UUID stored as text by SQLite, parsed where SQLite holds the text rather than
/// from a copy: ids are most of what the statistics and the lists read.
pub fn uuid_from_sqlite(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Uuid> {
    Ok(Uuid::parse_str(value.read_text())?)
}

impl ToSql<Instant, Pg> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Instant, Pg> for Timestamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(value).map(Timestamp)
    }
}

impl ToSql<Instant, Sqlite> for Timestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(sqlite_instant(&self.0));
        Ok(IsNull::No)
    }
}

impl FromSql<Instant, Sqlite> for Timestamp {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Timestamp(
            DateTime::parse_from_rfc3339(&text)?.with_timezone(&Utc),
        ))
    }
}

/// Reads and writes a state enum (`as_str` and `FromStr`) as its name in a text column, on
/// both backends.
#[macro_export]
macro_rules! text_column {
    ($name:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write;
                out.write_all(self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                Ok(std::str::from_utf8(value.as_bytes())?.parse::<$name>()?)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                out.set_value(self.as_str());
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite>
            for $name
        {
            fn from_sql(
                value: diesel::sqlite::SqliteValue<'_, '_, '_>,
            ) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::sqlite::Sqlite,
                >>::from_sql(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}
pub use text_column;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_are_written_at_one_width_so_that_text_order_is_time_order() {
        let instants = [
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
                .single()
                .expect("an instant"),
            Utc.timestamp_opt(1_795_000_000, 120_000)
                .single()
                .expect("an instant"),
            Utc.timestamp_opt(1_795_000_000, 999_999_000)
                .single()
                .expect("an instant"),
        ];
        let written: Vec<String> = instants.iter().map(sqlite_instant).collect();
        assert_eq!(written[0], "2026-01-02T03:04:05.000000Z");
        for (instant, text) in instants.iter().zip(&written) {
            assert_eq!(text, &instant.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        }
        assert!(written[1] < written[2]);
    }
}

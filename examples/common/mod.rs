//! What the service benchmarks share: bearer tokens written straight into the database,
//! since signing thousands of accounts in would measure password hashing, and how they
//! report times.

use diesel::prelude::*;
use placemat::auth::token;
use placemat::db::models::ApiToken;
use placemat::db::schema::{api_tokens, users};
use placemat::db::DbConn;
use placemat::dispatch;
use placemat::domain::{StudentId, Timestamp, TokenId, UserId};
use std::collections::HashMap;
use std::time::Duration;

/// Mints a token for each user, valid for `hours`; answers the secrets in the users' order.
pub fn mint(conn: &mut DbConn, users: &[UserId], hours: i64) -> anyhow::Result<Vec<String>> {
    let now = Timestamp::now();
    let mut secrets = Vec::with_capacity(users.len());
    let rows: Vec<ApiToken> = users
        .iter()
        .map(|&user| {
            let secret = token::generate();
            let row = ApiToken {
                id: TokenId::generate(),
                user_id: user,
                token_hash: token::fingerprint(&secret),
                created_at: now,
                expires_at: now + chrono::Duration::hours(hours),
                revoked_at: None,
            };
            secrets.push(secret);
            row
        })
        .collect();
    for chunk in rows.chunks(1000) {
        dispatch!(conn, |c| diesel::insert_into(api_tokens::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(secrets)
}

/// A token for every student's account, by student.
pub fn for_students(conn: &mut DbConn, hours: i64) -> anyhow::Result<HashMap<StudentId, String>> {
    let logins: Vec<(UserId, Option<StudentId>)> = dispatch!(conn, |c| users::table
        .filter(users::student_id.is_not_null())
        .select((users::id, users::student_id))
        .load(c))?;
    let (users, students): (Vec<UserId>, Vec<StudentId>) = logins
        .into_iter()
        .filter_map(|(user, student)| student.map(|student| (user, student)))
        .unzip();
    let secrets = mint(conn, &users, hours)?;
    Ok(students.into_iter().zip(secrets).collect())
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Of sorted durations, the one at `p` (0 to 1) of the way from the first to the last, its
/// index rounded; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

use crate::db::schema::{api_tokens, users};
use crate::dispatch;
use crate::domain::DomainError;
use crate::domain::Timestamp;
use crate::domain::{BaseId, Role, Scope, StudentId, TokenId, UniversityId, UserId};
use diesel::prelude::*;

/// The authenticated user behind a request, with the scope of its role.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    /// The API token the request carried; none for a browser session.
    pub token_id: Option<TokenId>,
    pub email: String,
    pub role: Role,
    pub university_id: Option<UniversityId>,
    pub base_id: Option<BaseId>,
    pub student_id: Option<StudentId>,
}

#[derive(Queryable)]
struct CallerRow {
    token_id: TokenId,
    user_id: UserId,
    email: String,
    role: Role,
    university_id: Option<UniversityId>,
    base_id: Option<BaseId>,
    student_id: Option<StudentId>,
    expires_at: Timestamp,
}

impl Caller {
    /// The caller behind a bearer token's fingerprint, with the token's expiry.
    pub(crate) fn find_by_token(
        conn: &mut crate::db::DbConn,
        fingerprint: &str,
    ) -> Result<Option<(Caller, Timestamp)>, DomainError> {
        let now = Timestamp::now();
        let row: Option<CallerRow> = dispatch!(conn, |c| api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(fingerprint))
            .filter(api_tokens::revoked_at.is_null())
            .filter(api_tokens::expires_at.gt(now))
            .select((
                api_tokens::id,
                users::id,
                users::email,
                users::role,
                users::university_id,
                users::base_id,
                users::student_id,
                api_tokens::expires_at,
            ))
            .first(c)
            .optional())?;
        let Some(row) = row else {
            return Ok(None);
        };

        Ok(Some((
            Caller {
                user_id: row.user_id,
                token_id: Some(row.token_id),
                email: row.email,
                role: row.role,
                university_id: row.university_id,
                base_id: row.base_id,
                student_id: row.student_id,
            },
            row.expires_at,
        )))
    }

    pub fn is_alliance_admin(&self) -> bool {
        self.role == Role::AllianceAdmin
    }

    /// Refuses everyone but the alliance admin.
    pub fn require_alliance_admin(&self) -> Result<(), DomainError> {
        self.require_role(&[Role::AllianceAdmin])
    }

    /// Refuses every role not listed.
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), DomainError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "a {} may not do this",
                self.role
            )))
        }
    }

    /// What the caller acts over: the one decision of what each role may see and touch.
    pub fn scope(&self) -> Result<Scope, DomainError> {
        Scope::of(self.role, self.university_id, self.base_id, self.student_id)
    }
}

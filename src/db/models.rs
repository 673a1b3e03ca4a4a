//! Rows as stored, and the forms that insert or change them.

use crate::db::schema::*;
use crate::domain::*;
use chrono::NaiveDate;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = universities)]
pub struct University {
    pub id: UniversityId,
    pub code: String,
    pub name: String,
    pub joined_on: NaiveDate,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = programs)]
pub struct Program {
    pub id: ProgramId,
    pub code: String,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bases)]
pub struct Base {
    pub id: BaseId,
    pub name: String,
    pub organisation: String,
    pub city: String,
    pub host_university_id: UniversityId,
    pub coordinator_email: String,
    pub coordinator_name: Option<String>,
    pub coordinator_phone: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = bases)]
pub struct BaseChanges {
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub city: Option<String>,
    pub host_university_id: Option<UniversityId>,
    pub coordinator_email: Option<String>,
    pub coordinator_name: Option<Option<String>>,
    pub coordinator_phone: Option<Option<String>>,
    pub active: Option<bool>,
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = base_programs)]
pub struct BaseProgram {
    pub base_id: BaseId,
    pub program_id: ProgramId,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cycles)]
pub struct Cycle {
    pub id: CycleId,
    pub name: String,
    pub applications_open_at: Timestamp,
    pub applications_close_at: Timestamp,
    pub max_preferences: i32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Changes to the inputs counted on the cycle's own row; the inputs' version adds the
    /// changes counted apart (`services::inputs::version`).
    #[diesel(column_name = inputs_version)]
    pub row_input_changes: i64,
    pub published_run_id: Option<MatchRunId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = cycles)]
pub struct CycleChanges {
    pub name: Option<String>,
    pub applications_open_at: Option<Timestamp>,
    pub applications_close_at: Option<Timestamp>,
    pub max_preferences: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cycle_seats)]
pub struct CycleSeats {
    pub cycle_id: CycleId,
    pub base_id: BaseId,
    pub seats: i32,
    pub taken: i32,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = students)]
pub struct Student {
    pub id: StudentId,
    pub university_id: UniversityId,
    pub student_number: String,
    pub name: String,
    pub email: String,
    pub program_id: ProgramId,
    pub cohort_year: i32,
    pub score: Option<f64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = students)]
pub struct StudentChanges {
    pub student_number: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub program_id: Option<ProgramId>,
    pub cohort_year: Option<i32>,
    pub score: Option<Option<f64>>,
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    /// None until the account chooses a password through its invitation.
    pub password_hash: Option<String>,
    pub role: Role,
    pub university_id: Option<UniversityId>,
    pub base_id: Option<BaseId>,
    pub student_id: Option<StudentId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: ApplicationId,
    pub cycle_id: CycleId,
    pub student_id: StudentId,
    pub submitted_at: Timestamp,
    pub updated_at: Timestamp,
    /// The student's university and program, kept with the application for the statistics;
    /// the database holds them to the student's own.
    pub university_id: UniversityId,
    pub program_id: ProgramId,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = application_preferences)]
pub struct PreferenceRow {
    pub application_id: ApplicationId,
    pub position: i32,
    pub base_id: BaseId,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = base_rankings)]
pub struct RankingRow {
    pub cycle_id: CycleId,
    pub base_id: BaseId,
    pub student_id: StudentId,
    pub position: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = match_runs)]
pub struct MatchRunRow {
    pub id: MatchRunId,
    pub cycle_id: CycleId,
    pub seed: i64,
    pub status: RunStatus,
    pub inputs_version: i64,
    pub applicants: i32,
    pub matched: i32,
    pub unmatched: i32,
    pub seats: i32,
    pub stats: String,
    pub load_ms: f64,
    pub engine_ms: f64,
    pub store_ms: f64,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub published_at: Option<Timestamp>,
    /// Digests of the run's bundle (see `matching::bundle`); none for runs made before
    /// they were kept.
    pub instance_sha256: Option<String>,
    pub result_sha256: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = match_assignments)]
pub struct AssignmentRow {
    pub run_id: MatchRunId,
    pub student_id: StudentId,
    pub base_id: Option<BaseId>,
    pub choice_rank: Option<i32>,
    /// Why the student did not get a base it listed higher, as JSON.
    pub unmatched_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = placements)]
pub struct PlacementRow {
    pub id: PlacementId,
    pub cycle_id: CycleId,
    pub student_id: StudentId,
    pub base_id: BaseId,
    pub status: PlacementStatus,
    pub source: PlacementSource,
    pub run_id: Option<MatchRunId>,
    pub decline_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The student's university and program, kept with the placement for the statistics;
    /// the database holds them to the student's own.
    pub university_id: UniversityId,
    pub program_id: ProgramId,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = placement_events)]
pub struct PlacementEventRow {
    pub id: PlacementEventId,
    pub placement_id: PlacementId,
    pub at: Timestamp,
    pub actor_user_id: Option<UserId>,
    pub from_status: Option<PlacementStatus>,
    pub to_status: PlacementStatus,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = direct_applications)]
pub struct DirectApplicationRow {
    pub id: DirectApplicationId,
    pub cycle_id: CycleId,
    pub student_id: StudentId,
    pub base_id: BaseId,
    pub status: DirectApplicationStatus,
    pub placement_id: Option<PlacementId>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<Timestamp>,
    pub reason: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = email_outbox)]
pub struct EmailRow {
    pub id: EmailId,
    pub kind: String,
    pub placement_id: Option<PlacementId>,
    /// `Name <address>`.
    pub recipient: String,
    /// One `Name <address>` a line.
    pub cc: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: EmailStatus,
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = email_attempts)]
pub struct EmailAttemptRow {
    pub id: EmailAttemptId,
    pub email_id: EmailId,
    pub at: Timestamp,
    pub succeeded: bool,
    pub error: Option<String>,
}

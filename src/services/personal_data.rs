//! A student's personal data: all of it as one document (export), and its erasure, which
//! leaves the placements and the statistics under a pseudonym.

use crate::auth::Caller;
use crate::db::schema::*;
use crate::db::{Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use crate::services::{placements as placement_rules, students as student_rules};
use diesel::prelude::*;
use serde_json::{json, Value};

/// Everything placemat holds about one student, as one JSON document.
pub async fn export(db: &Database, caller: &Caller, id: StudentId) -> Result<Value, DomainError> {
    caller.require_role(&[Role::AllianceAdmin, Role::UniversityAdmin, Role::Student])?;
    let caller = caller.clone();
    db.read(move |conn| {
        let student = student_rules::visible_student(conn, &caller, id)?;
        let record = student_rules::record_of(conn, student)?;
        let student = &record.student;
        let login: Option<(String, Role, Timestamp)> = dispatch!(conn, |c| users::table
            .filter(users::student_id.eq(Some(id)))
            .select((users::email, users::role, users::created_at))
            .first(c)
            .optional())?;
        let applications = applications_of(conn, id)?;
        let direct: Vec<(
            DirectApplicationId,
            CycleId,
            BaseId,
            String,
            Option<String>,
            Timestamp,
        )> = dispatch!(conn, |c| direct_applications::table
            .filter(direct_applications::student_id.eq(id))
            .select((
                direct_applications::id,
                direct_applications::cycle_id,
                direct_applications::base_id,
                direct_applications::status,
                direct_applications::reason,
                direct_applications::created_at,
            ))
            .order(direct_applications::created_at)
            .load(c))?;
        let placements = placements_of(conn, id)?;
        let placement_ids: Vec<PlacementId> = placements.iter().map(|p| p.0).collect();
        let mut histories = placement_rules::history(conn, &placement_ids)?;
        let emails = emails_to(conn, &student.email, &placement_ids)?;
        Ok(json!({
            "format": "placemat-student-export/1",
            "exported_at": Timestamp::now(),
            "profile": {
                "id": student.id,
                "university_id": student.university_id,
                "student_number": student.student_number,
                "name": student.name,
                "email": student.email,
                "program_code": record.program_code,
                "cohort_year": student.cohort_year,
                "score": student.score,
                "created_at": student.created_at,
                "updated_at": student.updated_at,
            },
            "login": login.map(|(email, role, created_at)| json!({
                "email": email, "role": role, "created_at": created_at,
            })),
            "applications": applications,
            "direct_applications": direct.into_iter().map(|(id, cycle, base, status, reason, at)| json!({
                "id": id, "cycle_id": cycle, "base_id": base, "status": status,
                "reason": reason, "created_at": at,
            })).collect::<Vec<_>>(),
            "placements": placements.into_iter().map(|(id, cycle, base, status, reason, created, updated)| {
                let history: Vec<Value> = histories.remove(&id).unwrap_or_default().into_iter().map(|step| json!({
                    "at": step.at, "actor": step.actor, "from": step.from, "to": step.to,
                    "reason": step.reason,
                })).collect();
                json!({
                    "id": id, "cycle_id": cycle, "base_id": base, "status": status,
                    "decline_reason": reason, "created_at": created, "updated_at": updated,
                    "history": history,
                })
            }).collect::<Vec<_>>(),
            "emails": emails,
        }))
    })
    .await
}

fn applications_of(conn: &mut DbConn, id: StudentId) -> Result<Vec<Value>, DomainError> {
    let rows: Vec<(ApplicationId, CycleId, Timestamp, Timestamp)> =
        dispatch!(conn, |c| applications::table
            .filter(applications::student_id.eq(id))
            .select((
                applications::id,
                applications::cycle_id,
                applications::submitted_at,
                applications::updated_at,
            ))
            .order(applications::submitted_at)
            .load(c))?;
    let mut out = Vec::with_capacity(rows.len());
    for (application, cycle, submitted, updated) in rows {
        let preferences: Vec<BaseId> = dispatch!(conn, |c| application_preferences::table
            .filter(application_preferences::application_id.eq(application))
            .order(application_preferences::position)
            .select(application_preferences::base_id)
            .load(c))?;
        out.push(json!({
            "id": application, "cycle_id": cycle, "submitted_at": submitted,
            "updated_at": updated, "preferences": preferences,
        }));
    }
    Ok(out)
}

type PlacementFacts = (
    PlacementId,
    CycleId,
    BaseId,
    PlacementStatus,
    Option<String>,
    Timestamp,
    Timestamp,
);

fn placements_of(conn: &mut DbConn, id: StudentId) -> Result<Vec<PlacementFacts>, DomainError> {
    Ok(dispatch!(conn, |c| placements::table
        .filter(placements::student_id.eq(id))
        .select((
            placements::id,
            placements::cycle_id,
            placements::base_id,
            placements::status,
            placements::decline_reason,
            placements::created_at,
            placements::updated_at,
        ))
        .order(placements::created_at)
        .load(c))?)
}

type EmailFacts = (
    EmailId,
    String,
    String,
    String,
    EmailStatus,
    Timestamp,
    Option<Timestamp>,
);

/// The outbox's emails about the student: those addressed to its email and those of its
/// placements.
fn emails_to(
    conn: &mut DbConn,
    email: &str,
    placements: &[PlacementId],
) -> Result<Vec<Value>, DomainError> {
    let pattern = crate::domain::validate::contains_pattern(&format!("<{email}>"));
    let rows: Vec<EmailFacts> = dispatch!(conn, |c| email_outbox::table
        .filter(
            email_outbox::recipient
                .like(&pattern)
                .escape(crate::domain::validate::LIKE_ESCAPE)
                .or(email_outbox::placement_id.eq_any(placements.iter().map(|p| Some(*p)))),
        )
        .select((
            email_outbox::id,
            email_outbox::kind,
            email_outbox::recipient,
            email_outbox::subject,
            email_outbox::status,
            email_outbox::created_at,
            email_outbox::sent_at,
        ))
        .order(email_outbox::created_at)
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, recipient, subject, status, created, sent)| {
            json!({
                "id": id, "kind": kind, "recipient": recipient, "subject": subject,
                "status": status, "created_at": created, "sent_at": sent,
            })
        })
        .collect())
}

/// Erases a student's personal data: name, email and number become a pseudonym, the login
/// and its sessions go, the outbox's emails about the student are scrubbed; placements and
/// statistics stay under the pseudonym, and the erasure (who, when, why) is recorded.
/// Refused while a placement is offered or confirmed. Answers the pseudonym.
pub async fn erase(
    db: &Database,
    caller: &Caller,
    id: StudentId,
    reason: String,
) -> Result<String, DomainError> {
    caller.require_role(&[Role::AllianceAdmin, Role::UniversityAdmin])?;
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(DomainError::invalid_fields(vec![FieldError::new(
            "reason",
            "must be 1 to 2,000 characters",
        )]));
    }
    let caller = caller.clone();
    db.write(move |conn| {
        let student = student_rules::visible_student(conn, &caller, id)?;
        let live: i64 = dispatch!(conn, |c| placements::table
            .filter(placements::student_id.eq(id))
            .filter(
                placements::status.eq_any([PlacementStatus::Offered, PlacementStatus::Confirmed]),
            )
            .count()
            .get_result(c))?;
        if live > 0 {
            return Err(DomainError::conflict(
                Conflict::PlacementLive,
                "the student holds an offered or confirmed placement; it must end before erasure",
            ));
        }
        let pseudonym = format!(
            "erased-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        let placed: Vec<PlacementId> = dispatch!(conn, |c| placements::table
            .filter(placements::student_id.eq(id))
            .select(placements::id)
            .load(c))?;
        let now = Timestamp::now();
        let mailbox = format!("{pseudonym} <{pseudonym}@erased.invalid>");
        let pattern = crate::domain::validate::contains_pattern(&format!("<{}>", student.email));
        let login: Option<UserId> = dispatch!(conn, |c| users::table
            .filter(users::student_id.eq(Some(id)))
            .select(users::id)
            .first(c)
            .optional())?;
        dispatch!(conn, |c| {
            diesel::update(students::table.find(id))
                .set((
                    students::name.eq(&pseudonym),
                    students::email.eq(format!("{pseudonym}@erased.invalid")),
                    students::student_number.eq(&pseudonym),
                    students::updated_at.eq(now),
                ))
                .execute(c)?;
            let about = email_outbox::table.filter(
                email_outbox::recipient
                    .like(&pattern)
                    .escape(crate::domain::validate::LIKE_ESCAPE)
                    .or(email_outbox::placement_id.eq_any(placed.iter().map(|p| Some(*p)))),
            );
            let scrubbed: Vec<EmailId> = about.select(email_outbox::id).load(c)?;
            diesel::update(email_outbox::table.filter(email_outbox::id.eq_any(&scrubbed)))
                .set((
                    email_outbox::recipient.eq(&mailbox),
                    email_outbox::subject.eq("(erased)"),
                    email_outbox::body_text.eq(""),
                    email_outbox::body_html.eq(""),
                    email_outbox::last_error.eq(None::<String>),
                ))
                .execute(c)?;
            diesel::update(
                email_outbox::table
                    .filter(email_outbox::id.eq_any(&scrubbed))
                    .filter(email_outbox::status.eq(EmailStatus::Pending)),
            )
            .set((
                email_outbox::status.eq(EmailStatus::Failed),
                email_outbox::last_error.eq(Some("the recipient's data was erased")),
            ))
            .execute(c)?;
            diesel::update(
                email_attempts::table.filter(email_attempts::email_id.eq_any(&scrubbed)),
            )
            .set(email_attempts::error.eq(None::<String>))
            .execute(c)?;
            if let Some(user) = login {
                diesel::update(
                    placement_events::table.filter(placement_events::actor_user_id.eq(Some(user))),
                )
                .set(placement_events::actor_user_id.eq(None::<UserId>))
                .execute(c)?;
                // Tokens, sessions and password links go with the login (ON DELETE CASCADE).
                diesel::delete(users::table.find(user)).execute(c)?;
            }
            diesel::insert_into(student_erasures::table)
                .values((
                    student_erasures::id.eq(ErasureId::generate()),
                    student_erasures::student_id.eq(id),
                    student_erasures::erased_by.eq(caller.user_id),
                    student_erasures::reason.eq(&reason),
                    student_erasures::at.eq(now),
                ))
                .execute(c)?;
            Ok::<_, diesel::result::Error>(())
        })?;
        tracing::info!(student = %id, "student's personal data erased");
        Ok(pseudonym)
    })
    .await
}

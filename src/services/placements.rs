//! Moving placements through their states, and the second round's direct applications.
//! Seats are claimed and released with conditional updates on `cycle_seats`, so that no
//! base is ever oversold, whatever the number of concurrent requests or server instances.

use crate::auth::Caller;
use crate::db::models::{DirectApplicationRow, PlacementEventRow, PlacementRow};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use diesel::prelude::*;
use std::collections::HashMap;

/// Which placements a list holds; `None` leaves a column free. A caller's scope and the
/// filters it asks for are two selections, and a listed placement is in both.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection {
    pub cycle: Option<CycleId>,
    /// The students' university.
    pub university: Option<UniversityId>,
    pub base: Option<BaseId>,
    pub student: Option<StudentId>,
    pub status: Option<PlacementStatus>,
}

impl From<Limits> for Selection {
    fn from(limits: Limits) -> Self {
        Selection {
            university: limits.university,
            base: limits.base,
            student: limits.student,
            ..Selection::default()
        }
    }
}

/// The order of a list of placements.
#[derive(Debug, Clone, Copy)]
pub enum ListOrder {
    /// Oldest first.
    Created,
    /// By student number, and a student's latest change first.
    StudentNumber,
}

/// A placement as lists show it, with its student and base; the placement carries its
/// student's university.
#[derive(Debug, Clone)]
pub struct Listed {
    pub placement: PlacementRow,
    pub student_name: String,
    pub student_number: String,
    pub base_name: String,
}

/// A placement as read with its student's name and number and its base's name.
type ListedRow = (PlacementRow, String, String, String);

impl From<ListedRow> for Listed {
    fn from((placement, student_name, student_number, base_name): ListedRow) -> Self {
        Listed {
            placement,
            student_name,
            student_number,
            base_name,
        }
    }
}

/// One move in a placement's history.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: Timestamp,
    /// The email of who made the move.
    pub actor: Option<String>,
    pub from: Option<PlacementStatus>,
    pub to: PlacementStatus,
    pub reason: Option<String>,
}

/// A page (`limit` rows after `offset`) of the placements in every one of `selections`, and
/// how many there are in all.
pub fn list(
    conn: &mut DbConn,
    selections: &[Selection],
    order: ListOrder,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Listed>, i64), DomainError> {
    let (rows, total): (Vec<ListedRow>, i64) = dispatch!(conn, |c| {
        let selected = || {
            let mut query = placements::table
                .inner_join(students::table)
                .inner_join(bases::table)
                .into_boxed();
            for selection in selections {
                if let Some(cycle) = selection.cycle {
                    query = query.filter(placements::cycle_id.eq(cycle));
                }
                if let Some(university) = selection.university {
                    query = query.filter(placements::university_id.eq(university));
                }
                if let Some(base) = selection.base {
                    query = query.filter(placements::base_id.eq(base));
                }
                if let Some(student) = selection.student {
                    query = query.filter(placements::student_id.eq(student));
                }
                if let Some(status) = selection.status {
                    query = query.filter(placements::status.eq(status));
                }
            }
            query
        };
        let total: i64 = selected().count().get_result(c)?;
        let page = selected().select((
            PlacementRow::as_select(),
            students::name,
            students::student_number,
            bases::name,
        ));
        let page = match order {
            ListOrder::Created => page.order((placements::created_at, placements::id)),
            ListOrder::StudentNumber => {
                page.order((students::student_number, placements::updated_at.desc()))
            }
        };
        let rows: Vec<ListedRow> = page.limit(limit).offset(offset).load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(Listed::from).collect(), total))
}

/// Every move of the placements, oldest first, with the email of who made it.
#[diesel::dsl::auto_type(no_type_alias)]
fn moves() -> _ {
    placement_events::table
        .left_join(users::table.on(users::id.nullable().eq(placement_events::actor_user_id)))
        .select((
            placement_events::placement_id,
            placement_events::at,
            users::email.nullable(),
            placement_events::from_status,
            placement_events::to_status,
            placement_events::reason,
        ))
        .order((placement_events::at, placement_events::id))
}

/// The history of each placement asked for, oldest move first; a placement without moves has
/// no entry.
pub fn history(
    conn: &mut DbConn,
    ids: &[PlacementId],
) -> Result<HashMap<PlacementId, Vec<Step>>, DomainError> {
    type Row = (
        PlacementId,
        Timestamp,
        Option<String>,
        Option<PlacementStatus>,
        PlacementStatus,
        Option<String>,
    );
    // One placement's history, read with every placement move, is asked with `=`, which
    // diesel keeps prepared; a list's, with `IN`, is prepared each time.
    let rows: Vec<Row> = match ids {
        [id] => dispatch!(conn, |c| moves()
            .filter(placement_events::placement_id.eq(*id))
            .load(c))?,
        _ => dispatch!(conn, |c| moves()
            .filter(placement_events::placement_id.eq_any(ids))
            .load(c))?,
    };
    let mut histories: HashMap<PlacementId, Vec<Step>> = HashMap::new();
    for (placement, at, actor, from, to, reason) in rows {
        histories.entry(placement).or_default().push(Step {
            at,
            actor,
            from,
            to,
            reason,
        });
    }
    Ok(histories)
}

pub fn find(conn: &mut DbConn, id: PlacementId) -> Result<PlacementRow, DomainError> {
    dispatch!(conn, |c| placements::table
        .find(id)
        .select(PlacementRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("placement"))
}

/// One placement as lists show it, with its student's and base's names.
pub fn find_listed(conn: &mut DbConn, id: PlacementId) -> Result<Listed, DomainError> {
    let row: ListedRow = dispatch!(conn, |c| placements::table
        .inner_join(students::table)
        .inner_join(bases::table)
        .filter(placements::id.eq(id))
        .select((
            PlacementRow::as_select(),
            students::name,
            students::student_number,
            bases::name
        ))
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("placement"))?;
    Ok(Listed::from(row))
}

/// Refuses a placement the caller may not see as not found, so that its existence stays
/// hidden: the alliance admin sees all, a university admin its students', a coordinator
/// its base's, a student its own. The placement carries its student's university, held to
/// the student's own by the database.
pub fn require_visible(caller: &Caller, placement: &PlacementRow) -> Result<(), DomainError> {
    let concerning = Concerning {
        student: placement.student_id,
        university: placement.university_id,
        base: Some(placement.base_id),
    };
    if caller.scope()?.reaches(concerning) {
        Ok(())
    } else {
        Err(DomainError::not_found("placement"))
    }
}

/// Records a move in the placement's history.
pub fn record(
    conn: &mut DbConn,
    placement: PlacementId,
    actor: UserId,
    from: Option<PlacementStatus>,
    to: PlacementStatus,
    reason: Option<String>,
) -> QueryResult<()> {
    let event = PlacementEventRow {
        id: PlacementEventId::generate(),
        placement_id: placement,
        at: Timestamp::now(),
        actor_user_id: Some(actor),
        from_status: from,
        to_status: to,
        reason,
    };
    dispatch!(conn, |c| diesel::insert_into(placement_events::table)
        .values(&event)
        .execute(c))?;
    Ok(())
}

/// Takes one seat at a base in a cycle, or answers that none is free.
pub fn claim_seat(conn: &mut DbConn, cycle: CycleId, base: BaseId) -> Result<(), DomainError> {
    let claimed = dispatch!(conn, |c| diesel::update(
        cycle_seats::table.find((cycle, base))
    )
    .filter(cycle_seats::taken.lt(cycle_seats::seats))
    .set((
        cycle_seats::taken.eq(cycle_seats::taken + 1),
        cycle_seats::updated_at.eq(Timestamp::now())
    ))
    .execute(c))?;
    if claimed == 1 {
        Ok(())
    } else {
        Err(DomainError::conflict(
            Conflict::NoFreeSeat,
            "the base has no free seat in this cycle",
        ))
    }
}

fn release_seat(conn: &mut DbConn, cycle: CycleId, base: BaseId) -> QueryResult<()> {
    dispatch!(conn, |c| diesel::update(
        cycle_seats::table.find((cycle, base))
    )
    .filter(cycle_seats::taken.gt(0))
    .set((
        cycle_seats::taken.eq(cycle_seats::taken - 1),
        cycle_seats::updated_at.eq(Timestamp::now())
    ))
    .execute(c))?;
    Ok(())
}

/// Applies an action to a placement for the caller, with every rule of who may do what
/// from which state. Runs inside the caller's write transaction.
pub fn act(
    conn: &mut DbConn,
    caller: &Caller,
    id: PlacementId,
    action: PlacementAction,
    reason: Option<String>,
) -> Result<PlacementRow, DomainError> {
    let placement = find(conn, id)?;
    require_visible(caller, &placement)?;
    let allowed = match action {
        PlacementAction::Withdraw => caller.role == Role::Student,
        PlacementAction::Confirm | PlacementAction::Decline | PlacementAction::Complete => {
            caller.role == Role::BaseCoordinator
        }
    };
    if !allowed {
        let who = if action == PlacementAction::Withdraw {
            "the student"
        } else {
            "the base's coordinator"
        };
        return Err(DomainError::Forbidden(format!(
            "only {who} may {} this placement",
            action.verb()
        )));
    }
    let from = placement.status;
    let to = from.after(action).ok_or_else(|| {
        DomainError::conflict(
            Conflict::PlacementState,
            format!("a placement that is {from} cannot be {}ed", action.verb()),
        )
    })?;
    let now = Timestamp::now();
    let decline_reason = if action == PlacementAction::Decline {
        reason.clone()
    } else {
        None
    };
    // Only the request that finds the placement still in `from` moves it.
    let moved = dispatch!(conn, |c| diesel::update(
        placements::table
            .find(id)
            .filter(placements::status.eq(from))
    )
    .set((
        placements::status.eq(to),
        placements::updated_at.eq(now),
        placements::decline_reason.eq(decline_reason.clone().or(placement.decline_reason.clone())),
    ))
    .execute(c))?;
    if moved != 1 {
        return Err(DomainError::conflict(
            Conflict::PlacementState,
            format!("the placement changed meanwhile; it is no longer {from}"),
        ));
    }
    if from.holds_seat() && !to.holds_seat() {
        release_seat(conn, placement.cycle_id, placement.base_id)?;
    }
    record(conn, id, caller.user_id, Some(from), to, reason)?;
    if to == PlacementStatus::Confirmed {
        crate::email::outbox::queue_confirmation(conn, id).map_err(DomainError::internal)?;
    }
    find(conn, id)
}

pub fn find_direct_application(
    conn: &mut DbConn,
    id: DirectApplicationId,
) -> Result<DirectApplicationRow, DomainError> {
    dispatch!(conn, |c| direct_applications::table
        .find(id)
        .select(DirectApplicationRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("direct application"))
}

/// The coordinator's decision on a direct application.
pub enum Decision {
    Accept,
    Reject(Option<String>),
}

/// Decides a pending direct application; accepting claims a seat and makes an offer, or
/// answers 409 when no seat is free or the student already holds a placement.
pub fn decide(
    conn: &mut DbConn,
    caller: &Caller,
    id: DirectApplicationId,
    decision: Decision,
) -> Result<DirectApplicationRow, DomainError> {
    let application = find_direct_application(conn, id)?;
    if caller.role != Role::BaseCoordinator {
        return Err(DomainError::Forbidden(
            "only the base's coordinator decides direct applications".into(),
        ));
    }
    if caller.base_id != Some(application.base_id) {
        return Err(DomainError::not_found("direct application"));
    }
    if application.status != DirectApplicationStatus::Pending {
        return Err(DomainError::conflict(
            Conflict::DirectApplicationDecided,
            format!("the application was {} already", application.status),
        ));
    }
    let now = Timestamp::now();
    let (status, placement_id, reason) = match decision {
        Decision::Accept => {
            claim_seat(conn, application.cycle_id, application.base_id)?;
            let (university_id, program_id): (UniversityId, ProgramId) =
                dispatch!(conn, |c| students::table
                    .find(application.student_id)
                    .select((students::university_id, students::program_id))
                    .first(c))?;
            let placement = PlacementRow {
                id: PlacementId::generate(),
                cycle_id: application.cycle_id,
                student_id: application.student_id,
                base_id: application.base_id,
                status: PlacementStatus::Offered,
                source: PlacementSource::SecondRound,
                run_id: None,
                decline_reason: None,
                created_at: now,
                updated_at: now,
                university_id,
                program_id,
            };
            let inserted = dispatch!(conn, |c| diesel::insert_into(placements::table)
                .values(&placement)
                .execute(c));
            match inserted {
                Ok(_) => {}
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    return Err(DomainError::conflict(
                        Conflict::AlreadyPlaced,
                        "the student already holds a placement in this cycle",
                    ))
                }
                Err(other) => return Err(other.into()),
            }
            record(
                conn,
                placement.id,
                caller.user_id,
                None,
                PlacementStatus::Offered,
                Some("second-round application accepted".into()),
            )?;
            (DirectApplicationStatus::Accepted, Some(placement.id), None)
        }
        Decision::Reject(reason) => (DirectApplicationStatus::Rejected, None, reason),
    };
    let decided = dispatch!(conn, |c| diesel::update(
        direct_applications::table
            .find(id)
            .filter(direct_applications::status.eq(DirectApplicationStatus::Pending))
    )
    .set((
        direct_applications::status.eq(status),
        direct_applications::placement_id.eq(placement_id),
        direct_applications::decided_by.eq(Some(caller.user_id)),
        direct_applications::decided_at.eq(Some(now)),
        direct_applications::reason.eq(reason),
    ))
    .execute(c))?;
    if decided != 1 {
        return Err(DomainError::conflict(
            Conflict::DirectApplicationDecided,
            "the application was decided meanwhile",
        ));
    }
    find_direct_application(conn, id)
}

/// Why a base declines an offer, told to the student: normalised free text, one to 1,000
/// characters, line breaks allowed. The API's body and the coordinator's form are read
/// through it alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclineReason(String);

/// What is wrong with a decline reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonRefused {
    Missing,
    Unfit,
}

/// The longest decline reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

impl TryFrom<&str> for DeclineReason {
    type Error = ReasonRefused;

    fn try_from(text: &str) -> Result<Self, ReasonRefused> {
        let reason = crate::domain::validate::normalise(text);
        if reason.is_empty() {
            return Err(ReasonRefused::Missing);
        }
        if reason.chars().count() > MAX_REASON_CHARS
            || crate::domain::validate::multi_line_text(&reason).is_err()
        {
            return Err(ReasonRefused::Unfit);
        }
        Ok(DeclineReason(reason))
    }
}

impl From<ReasonRefused> for DomainError {
    fn from(refused: ReasonRefused) -> Self {
        let message = match refused {
            ReasonRefused::Missing => "is required".to_owned(),
            ReasonRefused::Unfit => format!(
                "must be at most {MAX_REASON_CHARS} characters, without control characters other than line breaks"
            ),
        };
        DomainError::invalid("reason", &message)
    }
}

impl From<DeclineReason> for String {
    fn from(reason: DeclineReason) -> Self {
        reason.0
    }
}

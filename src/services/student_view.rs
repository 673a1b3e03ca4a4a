//! What a student sees of a cycle: the bases it may list, its stored list, and after
//! publication its placement, or why the match left it without one and what the second
//! round offers. Reads only; the rules of every change live in the services that make it.

use crate::db::lookup;
use crate::db::models::{Base, Cycle, PlacementRow};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::dispatch;
use crate::domain::*;
use crate::services::placements::{self as lifecycle, Step};
use diesel::prelude::*;
use std::collections::HashMap;

/// A base as a student weighs it.
#[derive(Debug, Clone)]
pub struct BaseCard {
    pub id: BaseId,
    pub name: String,
    pub organisation: String,
    pub city: String,
    /// The program codes the base takes.
    pub programs: Vec<String>,
    /// Seats in the cycle, and how many no placement holds yet.
    pub seats: i32,
    pub free: i32,
    /// Active, takes the student's program, and has seats in the cycle.
    pub open_to_student: bool,
}

impl BaseCard {
    /// Whether the base's name, organisation or city contains `search` (any case).
    pub fn matches(&self, search: &str) -> bool {
        let search = search.trim().to_lowercase();
        search.is_empty()
            || [&self.name, &self.organisation, &self.city]
                .iter()
                .any(|text| text.to_lowercase().contains(&search))
    }
}

/// Who to talk to at the base.
#[derive(Debug, Clone)]
pub struct Contact {
    pub name: Option<String>,
    pub email: String,
    pub phone: Option<String>,
}

/// The student's placement in the cycle, its base and its history.
#[derive(Debug, Clone)]
pub struct PlacementCard {
    pub id: PlacementId,
    pub status: PlacementStatus,
    pub base: BaseCard,
    pub contact: Contact,
    pub history: Vec<Step>,
}

/// Why one listed base did not take the student, as the published run explained it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub base_name: String,
    pub refusal: BaseRefusal,
}

/// A second-round application and where it stands.
#[derive(Debug, Clone)]
pub struct DirectCard {
    pub base_name: String,
    pub status: DirectApplicationStatus,
    pub created_at: Timestamp,
    pub reason: Option<String>,
}

/// How the published run left the student.
#[derive(Debug, Clone)]
pub enum FirstRound {
    /// No published run yet.
    NotPublished,
    /// The student had no list in the run.
    NotApplied,
    Matched,
    /// One line per listed base.
    Unmatched(Vec<Refusal>),
}

/// Everything the student's page shows.
#[derive(Debug, Clone)]
pub struct StudentView {
    pub name: String,
    pub program_code: String,
    pub program_name: String,
    pub university_name: String,
    pub cycle: Option<Cycle>,
    /// Every base the student may meet on the page, by id.
    pub cards: HashMap<BaseId, BaseCard>,
    /// The bases open to the student, by name.
    pub open_bases: Vec<BaseId>,
    /// The stored list, most wanted first, and when it was last saved.
    pub listed: Vec<BaseId>,
    pub saved_at: Option<Timestamp>,
    pub placement: Option<PlacementCard>,
    pub first_round: FirstRound,
    pub direct: Vec<DirectCard>,
    /// After publication, the student's receipt (see `run_bundles::receipt`).
    pub receipt: Option<crate::services::run_bundles::Receipt>,
}

impl StudentView {
    /// Whether the cycle's match is published.
    pub fn published(&self) -> bool {
        self.cycle
            .as_ref()
            .is_some_and(|cycle| cycle.published_run_id.is_some())
    }

    /// Whether the student holds a seat in the cycle.
    pub fn placed(&self) -> bool {
        self.placement
            .as_ref()
            .is_some_and(|placement| placement.status.holds_seat())
    }

    /// The bases of the second round: open to the student with a free seat, while the
    /// student holds none.
    pub fn second_round(&self) -> Vec<&BaseCard> {
        if !self.published() || self.placed() {
            return Vec::new();
        }
        self.open_bases
            .iter()
            .filter_map(|id| self.cards.get(id))
            .filter(|card| card.free > 0)
            .collect()
    }
}

type BaseRow = (Base, Option<i32>, Option<i32>);

/// The student's view of the current cycle.
pub fn load(conn: &mut DbConn, student_id: StudentId) -> Result<StudentView, DomainError> {
    let student = lookup::student(conn, student_id)?;
    let (program_code, program_name): (String, String) = dispatch!(conn, |c| programs::table
        .find(student.program_id)
        .select((programs::code, programs::name))
        .first(c))?;
    let university_name: String = dispatch!(conn, |c| universities::table
        .find(student.university_id)
        .select(universities::name)
        .first(c))?;
    let cycle = crate::services::cycles::current(conn)?;
    let mut view = StudentView {
        name: student.name,
        program_code,
        program_name,
        university_name,
        cycle: None,
        cards: HashMap::new(),
        open_bases: Vec::new(),
        listed: Vec::new(),
        saved_at: None,
        placement: None,
        first_round: FirstRound::NotPublished,
        direct: Vec::new(),
        receipt: None,
    };
    let Some(cycle) = cycle else {
        return Ok(view);
    };
    let cycle_id = cycle.id;
    let rows: Vec<BaseRow> = dispatch!(conn, |c| bases::table
        .left_join(
            cycle_seats::table.on(cycle_seats::base_id
                .eq(bases::id)
                .and(cycle_seats::cycle_id.eq(cycle_id))),
        )
        .select((
            Base::as_select(),
            cycle_seats::seats.nullable(),
            cycle_seats::taken.nullable(),
        ))
        .order(bases::name)
        .load(c))?;
    let ids: Vec<BaseId> = rows.iter().map(|(base, _, _)| base.id).collect();
    let mut programs = lookup::program_codes_of_bases(conn, &ids)?;
    let mut contacts = HashMap::new();
    for (base, seats, taken) in rows {
        let codes = programs.remove(&base.id).unwrap_or_default();
        let seats = seats.unwrap_or(0);
        let open = base.active && seats > 0 && codes.contains(&view.program_code);
        if open {
            view.open_bases.push(base.id);
        }
        contacts.insert(
            base.id,
            Contact {
                name: base.coordinator_name,
                email: base.coordinator_email,
                phone: base.coordinator_phone,
            },
        );
        view.cards.insert(
            base.id,
            BaseCard {
                id: base.id,
                name: base.name,
                organisation: base.organisation,
                city: base.city,
                programs: codes,
                seats,
                free: (seats - taken.unwrap_or(0)).max(0),
                open_to_student: open,
            },
        );
    }
    let application: Option<(ApplicationId, Timestamp)> = dispatch!(conn, |c| applications::table
        .filter(applications::cycle_id.eq(cycle_id))
        .filter(applications::student_id.eq(student_id))
        .select((applications::id, applications::updated_at))
        .first(c)
        .optional())?;
    if let Some((application_id, saved_at)) = application {
        view.saved_at = Some(saved_at);
        view.listed = dispatch!(conn, |c| application_preferences::table
            .filter(application_preferences::application_id.eq(application_id))
            .order(application_preferences::position)
            .select(application_preferences::base_id)
            .load(c))?;
    }
    view.placement = placement(conn, cycle_id, student_id, &view.cards, &mut contacts)?;
    if let Some(run) = cycle.published_run_id {
        view.first_round = first_round(conn, run, student_id, &view.cards)?;
        view.direct = dispatch!(conn, |c| direct_applications::table
            .filter(direct_applications::cycle_id.eq(cycle_id))
            .filter(direct_applications::student_id.eq(student_id))
            .order(direct_applications::created_at.desc())
            .select((
                direct_applications::base_id,
                direct_applications::status,
                direct_applications::created_at,
                direct_applications::reason,
            ))
            .load::<(BaseId, DirectApplicationStatus, Timestamp, Option<String>)>(c))?
        .into_iter()
        .map(|(base, status, created_at, reason)| DirectCard {
            base_name: view
                .cards
                .get(&base)
                .map(|card| card.name.clone())
                .unwrap_or_default(),
            status,
            created_at,
            reason,
        })
        .collect();
    }
    view.cycle = Some(cycle);
    Ok(view)
}

/// The student's latest placement in the cycle, with its history.
fn placement(
    conn: &mut DbConn,
    cycle_id: CycleId,
    student_id: StudentId,
    cards: &HashMap<BaseId, BaseCard>,
    contacts: &mut HashMap<BaseId, Contact>,
) -> Result<Option<PlacementCard>, DomainError> {
    let row: Option<PlacementRow> = dispatch!(conn, |c| placements::table
        .filter(placements::cycle_id.eq(cycle_id))
        .filter(placements::student_id.eq(student_id))
        .order(placements::updated_at.desc())
        .select(PlacementRow::as_select())
        .first(c)
        .optional())?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (Some(base), Some(contact)) = (cards.get(&row.base_id), contacts.remove(&row.base_id))
    else {
        return Err(DomainError::not_found("base"));
    };
    let history = lifecycle::history(conn, &[row.id])?
        .remove(&row.id)
        .unwrap_or_default();
    Ok(Some(PlacementCard {
        id: row.id,
        status: row.status,
        base: base.clone(),
        contact,
        history,
    }))
}

/// How the published run left the student, with the engine's explanation when unmatched.
fn first_round(
    conn: &mut DbConn,
    run: MatchRunId,
    student_id: StudentId,
    cards: &HashMap<BaseId, BaseCard>,
) -> Result<FirstRound, DomainError> {
    let assignment: Option<(Option<BaseId>, Option<String>)> =
        dispatch!(conn, |c| match_assignments::table
            .filter(match_assignments::run_id.eq(run))
            .filter(match_assignments::student_id.eq(student_id))
            .select((
                match_assignments::base_id,
                match_assignments::unmatched_reason
            ))
            .first(c)
            .optional())?;
    let Some((base, reason)) = assignment else {
        return Ok(FirstRound::NotApplied);
    };
    if base.is_some() {
        return Ok(FirstRound::Matched);
    }
    let refusals: Vec<BaseRefusal> = reason
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(DomainError::internal)?
        .unwrap_or_default();
    Ok(FirstRound::Unmatched(
        refusals
            .into_iter()
            .map(|refusal| Refusal {
                base_name: cards
                    .get(&refusal.base_id)
                    .map(|card| card.name.clone())
                    .unwrap_or_default(),
                refusal,
            })
            .collect(),
    ))
}

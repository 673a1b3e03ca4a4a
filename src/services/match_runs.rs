//! A match run: read a cycle's applications, rankings and seats, match with the engine,
//! store the result beside the cycle; and publishing a run as offers.

use crate::auth::Caller;
use crate::db::models::{AssignmentRow, MatchRunRow, PlacementEventRow, PlacementRow};
use crate::db::schema::*;
use crate::db::{read_transaction, with_page_cache, Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use crate::matching::{self, Explainer, Market, Matching, RefusalReason, Statistics};
use crate::services::{inputs, run_bundles};
use diesel::prelude::*;
use rand::Rng;
use std::collections::HashMap;
use std::time::Instant;

/// A cycle's matching inputs, indexed densely for the engine.
pub struct RunInputs {
    pub cycle: CycleId,
    pub version: i64,
    /// Engine base index → base.
    pub bases: Vec<BaseId>,
    pub capacities: Vec<u32>,
    /// Engine student index → student, in id order so that lottery numbers do not depend
    /// on the order rows come back in.
    pub students: Vec<StudentId>,
    pub scores: Vec<Option<f64>>,
    pub preferences: Vec<Vec<u32>>,
    /// Per base, the coordinator's ranking as student indices.
    pub rankings: Vec<Vec<u32>>,
}

/// Reads the inputs of a cycle in one consistent snapshot.
pub fn load_inputs(conn: &mut DbConn, cycle: CycleId) -> Result<RunInputs, DomainError> {
    read_transaction(conn, |conn| read_inputs(conn, cycle))
}

/// Reads the inputs of a cycle, inside the caller's transaction.
pub fn read_inputs(conn: &mut DbConn, cycle: CycleId) -> Result<RunInputs, DomainError> {
    let row = crate::db::lookup::cycle(conn, cycle)?;
    let version = inputs::version(conn, &row)?;
    let seat_rows: Vec<(BaseId, i32, bool)> = dispatch!(conn, |c| cycle_seats::table
        .inner_join(bases::table)
        .filter(cycle_seats::cycle_id.eq(cycle))
        .select((cycle_seats::base_id, cycle_seats::seats, bases::active))
        .order(cycle_seats::base_id)
        .load(c))?;
    let listed: Vec<(StudentId, BaseId)> = dispatch!(conn, |c| application_preferences::table
        .inner_join(applications::table)
        .filter(applications::cycle_id.eq(cycle))
        .select((applications::student_id, application_preferences::base_id))
        .order((applications::student_id, application_preferences::position))
        .load(c))?;
    let scores: Vec<(StudentId, Option<f64>)> = dispatch!(conn, |c| students::table
        .inner_join(applications::table)
        .filter(applications::cycle_id.eq(cycle))
        .select((students::id, students::score))
        .order(students::id)
        .load(c))?;
    let ranked: Vec<(BaseId, StudentId)> = dispatch!(conn, |c| base_rankings::table
        .filter(base_rankings::cycle_id.eq(cycle))
        .select((base_rankings::base_id, base_rankings::student_id))
        .order((base_rankings::base_id, base_rankings::position))
        .load(c))?;
    Ok(index_inputs(
        cycle, version, seat_rows, listed, scores, ranked,
    ))
}

fn index_inputs(
    cycle: CycleId,
    version: i64,
    seat_rows: Vec<(BaseId, i32, bool)>,
    listed: Vec<(StudentId, BaseId)>,
    scores: Vec<(StudentId, Option<f64>)>,
    ranked: Vec<(BaseId, StudentId)>,
) -> RunInputs {
    let mut bases = Vec::with_capacity(seat_rows.len());
    let mut capacities = Vec::with_capacity(seat_rows.len());
    let mut base_index: HashMap<BaseId, u32> = HashMap::with_capacity(seat_rows.len());
    for (base, seats, active) in seat_rows {
        base_index.insert(base, bases.len() as u32);
        bases.push(base);
        capacities.push(if active { seats.max(0) as u32 } else { 0 });
    }
    let mut students = Vec::with_capacity(scores.len());
    let mut student_scores = Vec::with_capacity(scores.len());
    let mut student_index: HashMap<StudentId, u32> = HashMap::with_capacity(scores.len());
    for (student, score) in scores {
        student_index.insert(student, students.len() as u32);
        students.push(student);
        student_scores.push(score);
    }
    let mut preferences = vec![Vec::new(); students.len()];
    for (student, base) in listed {
        // A base taken out of the cycle after the student applied has no seats now.
        let base = *base_index.entry(base).or_insert_with(|| {
            bases.push(base);
            capacities.push(0);
            bases.len() as u32 - 1
        });
        if let Some(&index) = student_index.get(&student) {
            preferences[index as usize].push(base);
        }
    }
    let mut rankings = vec![Vec::new(); bases.len()];
    for (base, student) in ranked {
        if let (Some(&b), Some(&s)) = (base_index.get(&base), student_index.get(&student)) {
            rankings[b as usize].push(s);
        }
    }
    RunInputs {
        cycle,
        version,
        bases,
        capacities,
        students,
        scores: student_scores,
        preferences,
        rankings,
    }
}

/// The engine's answer for a cycle.
pub struct Computed {
    pub market: Market,
    pub matching: Matching,
    /// Per base, how many of its ranking's first students its coordinator ranked.
    pub ranked_by_coordinator: Vec<u32>,
}

/// Builds the market — each base's order is its coordinator's ranking, then the other
/// applicants by score and by the run's lottery — and matches.
pub fn compute(inputs: &RunInputs, seed: u64) -> Result<Computed, DomainError> {
    let lottery = matching::lottery_numbers(seed, inputs.students.len());
    let mut applicants: Vec<Vec<u32>> = vec![Vec::new(); inputs.bases.len()];
    for (student, list) in inputs.preferences.iter().enumerate() {
        for &base in list {
            applicants[base as usize].push(student as u32);
        }
    }
    let mut builder = Market::builder(inputs.capacities.clone());
    let mut ranked_by_coordinator = Vec::with_capacity(inputs.bases.len());
    for list in &inputs.preferences {
        builder.add_student(list);
    }
    for (base, base_applicants) in applicants.iter().enumerate() {
        let ranked: Vec<u32> = inputs.rankings[base]
            .iter()
            .copied()
            .filter(|student| base_applicants.binary_search(student).is_ok())
            .collect();
        let unranked: Vec<(u32, Option<f64>)> = base_applicants
            .iter()
            .filter(|student| !ranked.contains(student))
            .map(|&student| (student, inputs.scores[student as usize]))
            .collect();
        ranked_by_coordinator.push(ranked.len() as u32);
        builder.set_ranking(
            base as u32,
            &matching::order_applicants(&ranked, &unranked, &lottery),
        );
    }
    let market = builder.build().map_err(|e| {
        DomainError::Internal(anyhow::anyhow!(
            "the cycle's inputs do not form a market: {e}"
        ))
    })?;
    let matching = matching::run(&market);
    Ok(Computed {
        market,
        matching,
        ranked_by_coordinator,
    })
}

/// The figures of a run.
pub fn statistics(inputs: &RunInputs, computed: &Computed) -> RunStats {
    let figures = Statistics::new(&computed.market, &computed.matching);
    let bases = inputs
        .bases
        .iter()
        .enumerate()
        .map(|(index, &base_id)| BaseFill {
            base_id,
            seats: inputs.capacities[index],
            filled: computed.matching.interns(index as u32).len() as u32,
        })
        .collect();
    RunStats {
        applicants: figures.applicants,
        matched: figures.matched,
        unmatched: figures.applicants - figures.matched.min(figures.applicants),
        seats: figures.seats,
        filled: figures.seats_filled,
        fill_rate: if figures.seats == 0 {
            0.0
        } else {
            figures.seats_filled as f64 / figures.seats as f64
        },
        rank_histogram: figures
            .choice_rank_histogram
            .iter()
            .enumerate()
            .map(|(index, count)| ((index + 1).to_string(), *count))
            .collect(),
        bases,
    }
}

/// One row per applicant: its base, its choice rank and, where it did not get its first
/// choice, why.
pub fn assignments(
    inputs: &RunInputs,
    computed: &Computed,
    run: MatchRunId,
) -> Result<Vec<AssignmentRow>, DomainError> {
    let explainer = Explainer::new(&computed.market, &computed.matching);
    inputs
        .students
        .iter()
        .enumerate()
        .map(|(index, &student_id)| {
            let student = index as u32;
            let base = computed.matching.base_of(student);
            let refusals: Vec<BaseRefusal> = explainer
                .explain(student)
                .into_iter()
                .map(|refusal| {
                    describe(
                        inputs.bases[refusal.base as usize],
                        refusal.preference_rank,
                        refusal.reason,
                    )
                })
                .collect();
            let reason = if refusals.is_empty() {
                None
            } else {
                Some(
                    serde_json::to_string(&refusals)
                        .map_err(|e| DomainError::Internal(e.into()))?,
                )
            };
            Ok(AssignmentRow {
                run_id: run,
                student_id,
                base_id: base.map(|b| inputs.bases[b as usize]),
                choice_rank: computed
                    .matching
                    .choice_rank(student)
                    .map(|rank| rank as i32),
                unmatched_reason: reason,
            })
        })
        .collect()
}

fn describe(base_id: BaseId, preference_rank: u32, reason: RefusalReason) -> BaseRefusal {
    let plain = |reason: &str, message: String| BaseRefusal {
        base_id,
        preference_rank,
        reason: reason.into(),
        seats: None,
        kept: None,
        last_kept_rank: None,
        student_rank: None,
        message,
    };
    match reason {
        RefusalReason::NoSeats => plain("no_seats", format!("choice {preference_rank}: the base has no seats in this cycle")),
        RefusalReason::NotRanked | RefusalReason::WouldAccept => plain(
            "not_ranked",
            format!("choice {preference_rank}: the base does not accept this student"),
        ),
        RefusalReason::FullWithHigherRanked {
            seats,
            kept,
            last_kept_rank,
            student_rank,
        } => BaseRefusal {
            base_id,
            preference_rank,
            reason: "full_with_higher_ranked".into(),
            seats: Some(seats),
            kept: Some(kept),
            last_kept_rank: Some(last_kept_rank),
            student_rank: Some(student_rank),
            message: format!(
                "choice {preference_rank}: the base filled its {seats} seats with {kept} applicants it ranks higher \
                 (the last it kept is ranked {last_kept_rank}; this student is ranked {student_rank})"
            ),
        },
    }
}

/// Runs the match over a cycle's current inputs (alliance admin), with the seed given or a
/// random one. Placements do not change until a run is published.
pub async fn run(
    db: &Database,
    caller: &Caller,
    cycle: CycleId,
    seed: Option<i64>,
) -> Result<MatchRunRow, DomainError> {
    caller.require_alliance_admin()?;
    let seed = match seed {
        Some(seed) if seed < 0 => return Err(DomainError::invalid("seed", "must not be negative")),
        Some(seed) => seed,
        None => rand::thread_rng().gen_range(0..i64::MAX),
    };
    let db = db.clone();
    let created_by = caller.user_id;
    tokio::task::spawn_blocking(move || run_cycle(&db, cycle, seed, created_by))
        .await
        .map_err(|e| DomainError::internal(anyhow::anyhow!("the match run failed: {e}")))?
}

/// Whether the inputs of a run's cycle changed after it, so that it can no longer be
/// published.
pub fn is_stale(run: &MatchRunRow, current_version: i64) -> bool {
    run.status != RunStatus::Published && run.inputs_version != current_version
}

/// Publishes a run as offers (alliance admin); see `publish`.
pub async fn publish_run(
    db: &Database,
    caller: &Caller,
    run_id: MatchRunId,
) -> Result<MatchRunRow, DomainError> {
    caller.require_alliance_admin()?;
    let actor = caller.user_id;
    db.write(move |conn| publish(conn, run_id, actor)).await
}

/// Runs the engine over a cycle and stores the run with its assignments.
/// The inputs are read on a reading connection; only storing the result takes the writer.
pub fn run_cycle(
    db: &Database,
    cycle: CycleId,
    seed: i64,
    created_by: UserId,
) -> Result<MatchRunRow, DomainError> {
    let started = Instant::now();
    let key = run_bundles::pseudonym_key(db, cycle)?;
    let (inputs, labels) = read_transaction(&mut db.reader()?, |conn| {
        Ok::<_, DomainError>((
            read_inputs(conn, cycle)?,
            run_bundles::load_labels(conn, cycle)?,
        ))
    })?;
    let loaded = Instant::now();
    let computed = compute(&inputs, seed as u64)?;
    let stats = statistics(&inputs, &computed);
    let id = MatchRunId::generate();
    let rows = assignments(&inputs, &computed, id)?;
    let instance = run_bundles::instance(&inputs, &computed, &labels, &key);
    let assigned: Vec<Option<u32>> = (0..inputs.students.len() as u32)
        .map(|student| computed.matching.base_of(student))
        .collect();
    let (instance_sha256, result_sha256) =
        run_bundles::digests(&instance, &run_bundles::assignments(&instance, &assigned));
    let matched = Instant::now();
    let mut run = MatchRunRow {
        id,
        cycle_id: cycle,
        seed,
        status: RunStatus::Completed,
        inputs_version: inputs.version,
        applicants: stats.applicants as i32,
        matched: stats.matched as i32,
        unmatched: stats.unmatched as i32,
        seats: stats.seats.min(i32::MAX as u64) as i32,
        stats: serde_json::to_string(&stats).map_err(|e| DomainError::Internal(e.into()))?,
        load_ms: (loaded - started).as_secs_f64() * 1000.0,
        engine_ms: (matched - loaded).as_secs_f64() * 1000.0,
        store_ms: 0.0,
        created_by,
        created_at: Timestamp::now(),
        published_at: None,
        instance_sha256: Some(instance_sha256),
        result_sha256: Some(result_sha256),
    };
    db.write_blocking(|conn| -> Result<(), DomainError> {
        dispatch!(conn, |c| diesel::insert_into(match_runs::table)
            .values(&run)
            .execute(c))?;
        for chunk in rows.chunks(1000) {
            dispatch!(conn, |c| diesel::insert_into(match_assignments::table)
                .values(chunk)
                .execute(c))?;
        }
        run.store_ms = matched.elapsed().as_secs_f64() * 1000.0;
        dispatch!(conn, |c| diesel::update(match_runs::table.find(id))
            .set(match_runs::store_ms.eq(run.store_ms))
            .execute(c))?;
        Ok(())
    })?;
    Ok(run)
}

/// Turns a run's assignments into offers, once per cycle, and only while the run is
/// current (no application, ranking or seat changed since).
pub fn publish(
    conn: &mut DbConn,
    run_id: MatchRunId,
    actor: UserId,
) -> Result<MatchRunRow, DomainError> {
    let run: MatchRunRow = dispatch!(conn, |c| match_runs::table
        .find(run_id)
        .select(MatchRunRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| DomainError::not_found("match run"))?;
    let now = Timestamp::now();
    // The cycle's row is claimed first: an input change holding it makes this wait and
    // then see the change, and one that comes later finds the cycle published (see
    // `inputs`).
    let cycle =
        inputs::claim(conn, run.cycle_id)?.ok_or_else(|| DomainError::not_found("cycle"))?;
    if let Some(published) = cycle.published_run_id {
        return Err(DomainError::conflict(
            Conflict::CyclePublished,
            format!("the cycle's match is published already (run {published})"),
        ));
    }
    if inputs::version(conn, &cycle)? != run.inputs_version {
        return Err(DomainError::conflict(
            Conflict::RunStale,
            "the run is stale: applications, rankings or seats changed after it; run the match again",
        ));
    }
    dispatch!(conn, |c| diesel::update(cycles::table.find(run.cycle_id))
        .set((
            cycles::published_run_id.eq(Some(run_id)),
            cycles::updated_at.eq(now),
        ))
        .execute(c))?;
    let matched: Vec<(StudentId, Option<BaseId>, UniversityId, ProgramId)> =
        dispatch!(conn, |c| match_assignments::table
            .inner_join(students::table)
            .filter(match_assignments::run_id.eq(run_id))
            .filter(match_assignments::base_id.is_not_null())
            .select((
                match_assignments::student_id,
                match_assignments::base_id,
                students::university_id,
                students::program_id,
            ))
            .load(c))?;
    let mut placements_rows = Vec::with_capacity(matched.len());
    let mut per_base: HashMap<BaseId, i32> = HashMap::new();
    for (student_id, base, university_id, program_id) in matched {
        let Some(base_id) = base else { continue };
        *per_base.entry(base_id).or_default() += 1;
        placements_rows.push(PlacementRow {
            id: PlacementId::generate(),
            cycle_id: run.cycle_id,
            student_id,
            base_id,
            status: PlacementStatus::Offered,
            source: PlacementSource::Match,
            run_id: Some(run_id),
            decline_reason: None,
            created_at: now,
            updated_at: now,
            university_id,
            program_id,
        });
    }
    let events: Vec<PlacementEventRow> = placements_rows
        .iter()
        .map(|placement| PlacementEventRow {
            id: PlacementEventId::generate(),
            placement_id: placement.id,
            at: now,
            actor_user_id: Some(actor),
            from_status: None,
            to_status: PlacementStatus::Offered,
            reason: Some(format!("match run {run_id} published")),
        })
        .collect();
    // A placement and its event for each placed student: tens of thousands of rows at ten
    // alliances' size, landing at random in the placements' indexes by base and by group.
    with_page_cache(conn, |conn| -> Result<(), DomainError> {
        for chunk in placements_rows.chunks(1000) {
            dispatch!(conn, |c| diesel::insert_into(placements::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in events.chunks(1000) {
            dispatch!(conn, |c| diesel::insert_into(placement_events::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok(())
    })?;
    for (base, count) in per_base {
        let updated = dispatch!(conn, |c| diesel::update(
            cycle_seats::table.find((run.cycle_id, base))
        )
        .filter((cycle_seats::taken + count).le(cycle_seats::seats))
        .set(cycle_seats::taken.eq(cycle_seats::taken + count))
        .execute(c))?;
        if updated != 1 {
            return Err(DomainError::conflict(
                Conflict::NoFreeSeat,
                format!("base {base} has fewer free seats than the run assigns"),
            ));
        }
    }
    dispatch!(conn, |c| diesel::update(match_runs::table.find(run_id))
        .set((
            match_runs::status.eq(RunStatus::Published),
            match_runs::published_at.eq(Some(now)),
        ))
        .execute(c))?;
    Ok(MatchRunRow {
        status: RunStatus::Published,
        published_at: Some(now),
        ..run
    })
}

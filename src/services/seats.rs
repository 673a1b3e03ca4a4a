//! How many interns a base takes in a cycle: set by the alliance admin or the base's
//! coordinator, never below the seats its live placements already hold.

use crate::auth::Caller;
use crate::db::lookup;
use crate::db::models::CycleSeats;
use crate::db::schema::cycle_seats;
use crate::db::Database;
use crate::dispatch;
use crate::domain::*;
use crate::services::inputs;
use diesel::prelude::*;

/// The most seats one base offers in a cycle.
pub const MAX_SEATS: i32 = 10_000;

/// Sets the seats of a base in a cycle and records that the cycle's inputs changed.
pub async fn set(
    db: &Database,
    caller: &Caller,
    cycle_id: CycleId,
    base_id: BaseId,
    seats: i32,
) -> Result<CycleSeats, DomainError> {
    caller.scope()?.require_base(base_id)?;
    if !(0..=MAX_SEATS).contains(&seats) {
        return Err(DomainError::invalid(
            "seats",
            format!("must be between 0 and {MAX_SEATS}"),
        ));
    }
    db.write(move |conn| {
        lookup::cycle(conn, cycle_id)?;
        lookup::base(conn, base_id)?;
        // Seats still change after publication (the second round offers the free ones), so
        // a published cycle only means no run to mark stale. The version is bumped first:
        // it takes the cycle row before the seat row, in the order a publish takes them.
        inputs::touch(conn, cycle_id)?;
        let now = Timestamp::now();
        let existing: Option<CycleSeats> = dispatch!(conn, |c| cycle_seats::table
            .find((cycle_id, base_id))
            .select(CycleSeats::as_select())
            .first(c)
            .optional())?;
        let stored = match existing {
            Some(current) if seats < current.taken => {
                return Err(DomainError::Conflict(
                    Conflict::SeatsBelowTaken,
                    format!(
                    "the base holds {} live placements in this cycle; seats cannot go below that",
                    current.taken
                ),
                ))
            }
            Some(current) => {
                dispatch!(conn, |c| diesel::update(
                    cycle_seats::table.find((cycle_id, base_id))
                )
                .set((
                    cycle_seats::seats.eq(seats),
                    cycle_seats::updated_at.eq(now)
                ))
                .execute(c))?;
                CycleSeats {
                    seats,
                    updated_at: now,
                    ..current
                }
            }
            None => {
                let fresh = CycleSeats {
                    cycle_id,
                    base_id,
                    seats,
                    taken: 0,
                    updated_at: now,
                };
                dispatch!(conn, |c| diesel::insert_into(cycle_seats::table)
                    .values(&fresh)
                    .execute(c))?;
                fresh
            }
        };
        Ok(stored)
    })
    .await
}

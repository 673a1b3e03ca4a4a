//! Why a student did not get the bases it preferred to its placement.

use serde::Serialize;

use super::engine::Matching;
use super::market::{rank_to_one_based, Market};

/// A base the student listed above its placement (or any listed base, when unmatched), and
/// why that base did not take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub base: u32,
    /// 1-based position of the base in the student's list.
    pub preference_rank: u32,
    pub reason: RefusalReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RefusalReason {
    /// The base has no seats.
    NoSeats,
    /// The base does not rank the student, so it does not accept it.
    NotRanked,
    /// The base filled its `seats` with `kept` students it ranks above the student; ranks
    /// are 1-based positions in the base's ranking.
    FullWithHigherRanked {
        seats: u32,
        kept: u32,
        last_kept_rank: u32,
        student_rank: u32,
    },
    /// The base has a free seat or ranks the student above an intern: it would take the
    /// student, so the matching is not stable. Only a matching that fails
    /// [`super::check`] gives this.
    WouldAccept,
}

/// One [`Refusal`] per base `student` listed above its placement, in its order of
/// preference (all listed bases when unmatched). Reads only the bases the student listed;
/// to explain many students of one matching, use [`Explainer`].
///
/// # Panics
/// If `student` is not a student of `market`, or `matching` is not a matching of `market`
/// (one that [`super::check`] would report as `SizeMismatch`).
pub fn explain(market: &Market, matching: &Matching, student: u32) -> Vec<Refusal> {
    refusals(market, matching, student, |base| {
        matching
            .lowest_ranked_intern(market, base)
            .map(|(rank, _)| rank)
    })
}

/// Explains many students of one matching, after finding each base's lowest-ranked intern
/// once.
#[derive(Debug, Clone)]
pub struct Explainer<'a> {
    market: &'a Market,
    matching: &'a Matching,
    lowest_kept_rank: Vec<Option<u32>>,
}

impl<'a> Explainer<'a> {
    pub fn new(market: &'a Market, matching: &'a Matching) -> Self {
        let lowest_kept_rank = (0..market.base_count() as u32)
            .map(|base| {
                matching
                    .lowest_ranked_intern(market, base)
                    .map(|(rank, _)| rank)
            })
            .collect();
        Self {
            market,
            matching,
            lowest_kept_rank,
        }
    }

    /// The same as [`explain`] for `student`, with the same panics.
    pub fn explain(&self, student: u32) -> Vec<Refusal> {
        refusals(self.market, self.matching, student, |base| {
            self.lowest_kept_rank[base as usize]
        })
    }
}

/// `lowest_kept_rank(base)`: the 0-based rank of the base's lowest-ranked intern
/// (`NOT_RANKED` for one it does not rank), `None` without interns.
fn refusals(
    market: &Market,
    matching: &Matching,
    student: u32,
    lowest_kept_rank: impl Fn(u32) -> Option<u32>,
) -> Vec<Refusal> {
    let listings = market.listing_range(student);
    let refused_count = match matching.choice_rank(student) {
        Some(choice) => choice as usize - 1,
        None => listings.len(),
    };
    let refused = listings.start..listings.start + refused_count;
    (1..)
        .zip(&market.listing_bases()[refused.clone()])
        .zip(&market.listing_ranks()[refused])
        .map(|((preference_rank, &base), &student_rank)| Refusal {
            base,
            preference_rank,
            reason: refusal_reason(market, matching, base, student_rank, lowest_kept_rank(base)),
        })
        .collect()
}

/// `student_rank` and `lowest_kept_rank` are 0-based ranks at `base`.
fn refusal_reason(
    market: &Market,
    matching: &Matching,
    base: u32,
    student_rank: u32,
    lowest_kept_rank: Option<u32>,
) -> RefusalReason {
    let seats = market.capacity(base);
    if seats == 0 {
        return RefusalReason::NoSeats;
    }
    let Some(student_rank) = rank_to_one_based(student_rank) else {
        return RefusalReason::NotRanked;
    };
    let kept = matching.interns(base).len() as u32;
    match lowest_kept_rank.and_then(rank_to_one_based) {
        Some(last_kept_rank) if kept >= seats && last_kept_rank < student_rank => {
            RefusalReason::FullWithHigherRanked {
                seats,
                kept,
                last_kept_rank,
                student_rank,
            }
        }
        _ => RefusalReason::WouldAccept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::run;

    /// Student 3 lists bases 0, 1, 2, 3 in that order. Base 0 has no seats, base 1 does not
    /// rank student 3, base 2 (two seats) keeps students 0 and 1, whom it ranks 1st and
    /// 3rd, above student 3 (4th); base 3 takes student 3.
    fn market() -> Market {
        let mut builder = Market::builder(vec![0, 1, 2, 1]);
        builder.add_student(&[2]);
        builder.add_student(&[2]);
        builder.add_student(&[1]);
        builder.add_student(&[0, 1, 2, 3]);
        builder.set_ranking(0, &[3]);
        builder.set_ranking(1, &[2]);
        builder.set_ranking(2, &[0, 2, 1, 3]);
        builder.set_ranking(3, &[3]);
        builder.build().unwrap()
    }

    #[test]
    fn each_base_above_the_placement_gives_its_reason() {
        let market = market();
        let matching = run(&market);
        assert_eq!(matching.base_of(3), Some(3));
        let expected = vec![
            Refusal {
                base: 0,
                preference_rank: 1,
                reason: RefusalReason::NoSeats,
            },
            Refusal {
                base: 1,
                preference_rank: 2,
                reason: RefusalReason::NotRanked,
            },
            Refusal {
                base: 2,
                preference_rank: 3,
                reason: RefusalReason::FullWithHigherRanked {
                    seats: 2,
                    kept: 2,
                    last_kept_rank: 3,
                    student_rank: 4,
                },
            },
        ];
        assert_eq!(explain(&market, &matching, 3), expected);
        assert_eq!(Explainer::new(&market, &matching).explain(3), expected);
    }

    #[test]
    fn a_student_at_its_first_choice_or_with_an_empty_list_has_no_refusals() {
        let mut builder = Market::builder(vec![1]);
        let placed = builder.add_student(&[0]);
        let silent = builder.add_student(&[]);
        builder.set_ranking(0, &[placed]);
        let market = builder.build().unwrap();
        let matching = run(&market);
        assert!(explain(&market, &matching, placed).is_empty());
        assert!(explain(&market, &matching, silent).is_empty());
    }

    #[test]
    fn an_unmatched_student_gets_a_refusal_for_every_listed_base() {
        let mut builder = Market::builder(vec![1, 1]);
        builder.add_student(&[0, 1]);
        builder.add_student(&[1, 0]);
        let loser = builder.add_student(&[0, 1]);
        builder.set_ranking(0, &[0, 1, 2]);
        builder.set_ranking(1, &[1, 2]);
        let market = builder.build().unwrap();
        let matching = run(&market);
        assert_eq!(matching.base_of(loser), None);
        let full = |student_rank| RefusalReason::FullWithHigherRanked {
            seats: 1,
            kept: 1,
            last_kept_rank: 1,
            student_rank,
        };
        assert_eq!(
            explain(&market, &matching, loser),
            vec![
                Refusal {
                    base: 0,
                    preference_rank: 1,
                    reason: full(3)
                },
                Refusal {
                    base: 1,
                    preference_rank: 2,
                    reason: full(2)
                },
            ]
        );
    }

    #[test]
    fn a_base_that_would_take_the_student_is_flagged_in_an_unstable_matching() {
        let market = market();
        let unstable =
            Matching::from_assignments(&market, &[None, None, Some(1), Some(3)]).unwrap();
        assert_eq!(
            explain(&market, &unstable, 3)[2],
            Refusal {
                base: 2,
                preference_rank: 3,
                reason: RefusalReason::WouldAccept
            }
        );
    }

    #[test]
    fn reasons_serialize_with_a_reason_tag() {
        let reason = RefusalReason::FullWithHigherRanked {
            seats: 12,
            kept: 12,
            last_kept_rank: 40,
            student_rank: 57,
        };
        assert_eq!(
            serde_json::to_string(&reason).unwrap(),
            r#"{"reason":"full_with_higher_ranked","seats":12,"kept":12,"last_kept_rank":40,"student_rank":57}"#
        );
        assert_eq!(
            serde_json::to_string(&RefusalReason::NoSeats).unwrap(),
            r#"{"reason":"no_seats"}"#
        );
    }
}

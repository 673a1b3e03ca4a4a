//! Student-proposing deferred acceptance (Gale and Shapley, 1962; Roth, 1984).
//!
//! Each student proposes to the bases on its list in order; a base keeps the best-ranked
//! proposers up to its seats and turns the others away. The result is the student-optimal
//! stable matching, and no student can get a better base by misreporting its list.
//!
//! The order in which free students propose does not change the result, so students are
//! taken one after another and a student a base turns away proposes again at once. A base
//! keeps flags over its ranking positions and a pointer to the lowest-ranked student it
//! keeps. Once a base is full, that pointer only moves up its ranking, so all the searches
//! for the next lowest-ranked student together read each ranking once: the run takes time
//! linear in the number of listings and ranking entries.

use thiserror::Error;

use super::market::{Market, NOT_RANKED};

const UNMATCHED: u32 = u32::MAX;

/// Which base each student got and which students each base got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matching {
    base_of_student: Vec<u32>,
    /// 1-based position of the student's base in its list; 0 when unmatched or when the
    /// base is not on its list.
    choice_rank_of_student: Vec<u32>,
    intern_offsets: Vec<u32>,
    interns: Vec<u32>,
}

/// Runs student-proposing deferred acceptance on `market`.
pub fn run(market: &Market) -> Matching {
    let listing_offsets = market.listing_offsets();
    let listing_bases = market.listing_bases();
    let listing_ranks = market.listing_ranks();
    let ranked_students = market.ranked_students();
    let ranking_offsets = market.ranking_offsets();
    let student_count = market.student_count();

    let mut bases: Vec<BaseState> = market
        .capacities()
        .iter()
        .zip(ranking_offsets)
        .map(|(&seats, &ranking_offset)| BaseState {
            seats,
            kept: 0,
            lowest_kept: 0,
            ranking_offset,
        })
        .collect();
    // The listing each student is proposing to or held at; its list's end when it has none
    // left.
    let mut current_listing: Vec<u32> = listing_offsets[..student_count].to_vec();
    let mut kept_at_position = vec![false; ranked_students.len()];

    for first_proposer in 0..student_count {
        let mut proposer = first_proposer;
        loop {
            let listing = current_listing[proposer];
            if listing == listing_offsets[proposer + 1] {
                break;
            }
            let rank = listing_ranks[listing as usize];
            let base = &mut bases[listing_bases[listing as usize] as usize];
            if rank == NOT_RANKED {
                current_listing[proposer] += 1;
                continue;
            }
            if base.kept < base.seats {
                kept_at_position[(base.ranking_offset + rank) as usize] = true;
                base.kept += 1;
                base.lowest_kept = base.lowest_kept.max(rank);
                break;
            }
            // A base with no seats has `lowest_kept` 0, so it turns every proposer away here.
            if rank >= base.lowest_kept {
                current_listing[proposer] += 1;
                continue;
            }
            let offset = base.ranking_offset as usize;
            kept_at_position[offset + rank as usize] = true;
            kept_at_position[offset + base.lowest_kept as usize] = false;
            let displaced = ranked_students[offset + base.lowest_kept as usize] as usize;
            // The proposer is now kept and ranks above the old lowest, so this stops.
            let mut position = base.lowest_kept - 1;
            while !kept_at_position[offset + position as usize] {
                position -= 1;
            }
            base.lowest_kept = position;
            current_listing[displaced] += 1;
            proposer = displaced;
        }
    }

    let mut base_of_student = vec![UNMATCHED; student_count];
    let mut choice_rank_of_student = vec![0; student_count];
    for (student, window) in listing_offsets.windows(2).enumerate() {
        let listing = current_listing[student];
        if listing < window[1] {
            base_of_student[student] = listing_bases[listing as usize];
            choice_rank_of_student[student] = listing - window[0] + 1;
        }
    }
    Matching::assemble(base_of_student, choice_rank_of_student, market.base_count())
}

struct BaseState {
    seats: u32,
    kept: u32,
    /// 0-based ranking position of the lowest-ranked student kept; 0 while the base keeps
    /// nobody.
    lowest_kept: u32,
    ranking_offset: u32,
}

impl Matching {
    /// A matching given as each student's base (`None`: unmatched), for example one stored
    /// earlier, so that it can be checked against `market` with [`super::check`].
    pub fn from_assignments(
        market: &Market,
        assignments: &[Option<u32>],
    ) -> Result<Matching, MatchingError> {
        if assignments.len() != market.student_count() {
            return Err(MatchingError::StudentCountMismatch {
                market: market.student_count(),
                assignments: assignments.len(),
            });
        }
        let mut base_of_student = Vec::with_capacity(assignments.len());
        let mut choice_rank_of_student = Vec::with_capacity(assignments.len());
        for (student, assignment) in (0..).zip(assignments) {
            match *assignment {
                None => {
                    base_of_student.push(UNMATCHED);
                    choice_rank_of_student.push(0);
                }
                Some(base) if (base as usize) < market.base_count() => {
                    let choice = market
                        .preferences(student)
                        .iter()
                        .position(|&listed| listed == base)
                        .map_or(0, |position| position as u32 + 1);
                    base_of_student.push(base);
                    choice_rank_of_student.push(choice);
                }
                Some(base) => {
                    return Err(MatchingError::UnknownBase {
                        student,
                        base,
                        base_count: market.base_count(),
                    })
                }
            }
        }
        Ok(Self::assemble(
            base_of_student,
            choice_rank_of_student,
            market.base_count(),
        ))
    }

    /// Groups the interns of each base, in student order.
    fn assemble(
        base_of_student: Vec<u32>,
        choice_rank_of_student: Vec<u32>,
        base_count: usize,
    ) -> Matching {
        let mut intern_offsets = vec![0u32; base_count + 1];
        for &base in &base_of_student {
            if base != UNMATCHED {
                intern_offsets[base as usize + 1] += 1;
            }
        }
        for base in 0..base_count {
            intern_offsets[base + 1] += intern_offsets[base];
        }
        let mut next_free = intern_offsets.clone();
        let mut interns = vec![0; intern_offsets[base_count] as usize];
        for (student, &base) in (0..).zip(&base_of_student) {
            if base != UNMATCHED {
                let slot = &mut next_free[base as usize];
                interns[*slot as usize] = student;
                *slot += 1;
            }
        }
        Matching {
            base_of_student,
            choice_rank_of_student,
            intern_offsets,
            interns,
        }
    }

    pub fn student_count(&self) -> usize {
        self.base_of_student.len()
    }

    pub fn base_count(&self) -> usize {
        self.intern_offsets.len() - 1
    }

    /// The base `student` is placed at; `None` when it is unmatched or not a student here.
    pub fn base_of(&self, student: u32) -> Option<u32> {
        self.base_of_student
            .get(student as usize)
            .copied()
            .filter(|&base| base != UNMATCHED)
    }

    /// The 1-based position of `student`'s base in its list; `None` when it is unmatched
    /// (or, in a matching from [`Matching::from_assignments`], placed at a base it did not
    /// list).
    pub fn choice_rank(&self, student: u32) -> Option<u32> {
        self.choice_rank_of_student
            .get(student as usize)
            .copied()
            .filter(|&rank| rank != 0)
    }

    /// The students placed at `base`, in student order; empty for an unknown base.
    pub fn interns(&self, base: u32) -> &[u32] {
        let base = base as usize;
        match (
            self.intern_offsets.get(base),
            self.intern_offsets.get(base + 1),
        ) {
            (Some(&start), Some(&end)) => &self.interns[start as usize..end as usize],
            _ => &[],
        }
    }

    pub fn matched_count(&self) -> usize {
        self.interns.len()
    }

    /// The intern `base` ranks lowest, with its 0-based rank there; an intern the base
    /// does not rank (possible only in a matching from [`Matching::from_assignments`])
    /// counts as ranked below all others, with rank `NOT_RANKED`.
    pub(crate) fn lowest_ranked_intern(&self, market: &Market, base: u32) -> Option<(u32, u32)> {
        self.interns(base)
            .iter()
            .map(|&intern| (self.rank_at_own_base(market, intern), intern))
            .max_by_key(|&(rank, _)| rank)
    }

    fn rank_at_own_base(&self, market: &Market, student: u32) -> u32 {
        match self.choice_rank(student) {
            Some(choice) => {
                let listing = market.listing_range(student).start + choice as usize - 1;
                market.listing_ranks()[listing]
            }
            None => NOT_RANKED,
        }
    }
}

/// Why [`Matching::from_assignments`] refused a list of assignments.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatchingError {
    #[error("{assignments} assignments given for a market of {market} students")]
    StudentCountMismatch { market: usize, assignments: usize },
    #[error("student {student} is assigned to base {base}, but there are only {base_count} bases")]
    UnknownBase {
        student: u32,
        base: u32,
        base_count: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three students who all want base 0 first; base 0 has one seat and prefers student 2,
    /// then 1, then 0; base 1 has two seats and ranks everyone.
    fn contested_market() -> Market {
        let mut builder = Market::builder(vec![1, 2]);
        for _ in 0..3 {
            builder.add_student(&[0, 1]);
        }
        builder.set_ranking(0, &[2, 1, 0]);
        builder.set_ranking(1, &[0, 1, 2]);
        builder.build().unwrap()
    }

    #[test]
    fn the_base_keeps_its_best_ranked_proposers() {
        let matching = run(&contested_market());
        assert_eq!(matching.base_of(2), Some(0));
        assert_eq!(matching.choice_rank(2), Some(1));
        assert_eq!(matching.base_of(0), Some(1));
        assert_eq!(matching.base_of(1), Some(1));
        assert_eq!(matching.choice_rank(1), Some(2));
        assert_eq!(matching.interns(0), &[2]);
        assert_eq!(matching.interns(1), &[0, 1]);
        assert_eq!(matching.matched_count(), 3);
    }

    #[test]
    fn students_the_base_does_not_rank_or_with_no_seats_stay_unmatched() {
        let mut builder = Market::builder(vec![3, 0]);
        let unranked = builder.add_student(&[0]);
        let seatless = builder.add_student(&[1]);
        let silent = builder.add_student(&[]);
        builder.set_ranking(1, &[seatless]);
        let matching = run(&builder.build().unwrap());
        for student in [unranked, seatless, silent] {
            assert_eq!(matching.base_of(student), None);
            assert_eq!(matching.choice_rank(student), None);
        }
        assert_eq!(matching.matched_count(), 0);
    }

    #[test]
    fn a_displaced_student_moves_down_its_list() {
        // Student 0 is held at base 0 until student 1 displaces it; it then falls to base 1.
        let mut builder = Market::builder(vec![1, 1]);
        builder.add_student(&[0, 1]);
        builder.add_student(&[0]);
        builder.set_ranking(0, &[1, 0]);
        builder.set_ranking(1, &[0]);
        let matching = run(&builder.build().unwrap());
        assert_eq!(matching.base_of(0), Some(1));
        assert_eq!(matching.base_of(1), Some(0));
    }

    #[test]
    fn out_of_range_queries_answer_nothing() {
        let matching = run(&contested_market());
        assert_eq!(matching.base_of(99), None);
        assert_eq!(matching.choice_rank(99), None);
        assert!(matching.interns(99).is_empty());
    }

    #[test]
    fn from_assignments_rebuilds_the_engines_matching() {
        let market = contested_market();
        let matching = run(&market);
        let assignments: Vec<Option<u32>> =
            (0..3).map(|student| matching.base_of(student)).collect();
        assert_eq!(
            Matching::from_assignments(&market, &assignments),
            Ok(matching)
        );
    }

    #[test]
    fn from_assignments_refuses_wrong_lengths_and_unknown_bases() {
        let market = contested_market();
        assert_eq!(
            Matching::from_assignments(&market, &[None]),
            Err(MatchingError::StudentCountMismatch {
                market: 3,
                assignments: 1
            })
        );
        assert_eq!(
            Matching::from_assignments(&market, &[None, Some(2), None]),
            Err(MatchingError::UnknownBase {
                student: 1,
                base: 2,
                base_count: 2
            })
        );
    }
}

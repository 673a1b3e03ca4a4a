//! The matching market in dense integer form: students `0..n`, bases `0..m`.
//!
//! Every list lives in one flat vector with an offset table (compressed sparse rows), so a
//! market of a million students is a handful of allocations and the engine's inner loop
//! reads consecutive memory.

use std::ops::Range;

use thiserror::Error;

/// Marks a listing whose base does not rank the student.
pub(crate) const NOT_RANKED: u32 = u32::MAX;

/// Students' preference lists, bases' seats and bases' rankings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    seats: Vec<u32>,
    preference_offsets: Vec<u32>,
    preference_bases: Vec<u32>,
    /// Parallel to `preference_bases`: the student's 0-based position in that base's
    /// ranking, or `NOT_RANKED`. Stored per listing rather than per base so that a proposal
    /// costs one read and the market never needs a students × bases table.
    preference_ranks: Vec<u32>,
    ranking_offsets: Vec<u32>,
    ranked_students: Vec<u32>,
}

impl Market {
    /// Starts a market whose base `i` has `base_capacities[i]` seats.
    pub fn builder(base_capacities: Vec<u32>) -> MarketBuilder {
        MarketBuilder {
            seats: base_capacities,
            preference_offsets: vec![0],
            preference_bases: Vec::new(),
            rankings: Vec::new(),
            invalid_ranking_call: None,
        }
    }

    pub fn student_count(&self) -> usize {
        self.preference_offsets.len() - 1
    }

    pub fn base_count(&self) -> usize {
        self.seats.len()
    }

    /// The seats of `base`.
    ///
    /// # Panics
    /// If `base` is not a base of the market.
    pub fn capacity(&self, base: u32) -> u32 {
        self.seats[base as usize]
    }

    /// The seats of every base, indexed by base.
    pub fn capacities(&self) -> &[u32] {
        &self.seats
    }

    /// The bases `student` listed, most wanted first.
    ///
    /// # Panics
    /// If `student` is not a student of the market.
    pub fn preferences(&self, student: u32) -> &[u32] {
        &self.preference_bases[self.listing_range(student)]
    }

    /// The students `base` ranked, best first, as the ranking was given (it may name
    /// students who did not list the base).
    ///
    /// # Panics
    /// If `base` is not a base of the market.
    pub fn ranking(&self, base: u32) -> &[u32] {
        let base = base as usize;
        let start = self.ranking_offsets[base] as usize;
        let end = self.ranking_offsets[base + 1] as usize;
        &self.ranked_students[start..end]
    }

    /// The 1-based position of `student` in the ranking of a base it listed; `None` when
    /// the student did not list the base or the base does not rank it.
    ///
    /// # Panics
    /// If `student` is not a student of the market.
    pub fn rank_at(&self, student: u32, base: u32) -> Option<u32> {
        let range = self.listing_range(student);
        let position = self.preference_bases[range.clone()]
            .iter()
            .position(|&listed| listed == base)?;
        rank_to_one_based(self.preference_ranks[range.start + position])
    }

    /// Indices into the flat listing vectors that hold `student`'s list.
    pub(crate) fn listing_range(&self, student: u32) -> Range<usize> {
        let student = student as usize;
        self.preference_offsets[student] as usize..self.preference_offsets[student + 1] as usize
    }

    pub(crate) fn listing_bases(&self) -> &[u32] {
        &self.preference_bases
    }

    /// Parallel to [`Market::listing_bases`]: 0-based ranks or `NOT_RANKED`.
    pub(crate) fn listing_ranks(&self) -> &[u32] {
        &self.preference_ranks
    }

    pub(crate) fn listing_offsets(&self) -> &[u32] {
        &self.preference_offsets
    }

    pub(crate) fn ranking_offsets(&self) -> &[u32] {
        &self.ranking_offsets
    }

    pub(crate) fn ranked_students(&self) -> &[u32] {
        &self.ranked_students
    }
}

pub(crate) fn rank_to_one_based(rank: u32) -> Option<u32> {
    (rank != NOT_RANKED).then(|| rank + 1)
}

/// Collects a market's lists; [`MarketBuilder::build`] validates them.
#[derive(Debug, Clone)]
pub struct MarketBuilder {
    seats: Vec<u32>,
    preference_offsets: Vec<u32>,
    preference_bases: Vec<u32>,
    rankings: Vec<Vec<u32>>,
    invalid_ranking_call: Option<MarketError>,
}

impl MarketBuilder {
    /// Adds the next student with its preferences (base indices, most wanted first) and
    /// returns the student's index.
    pub fn add_student(&mut self, preferences: &[u32]) -> u32 {
        let student = saturating_u32(self.preference_offsets.len() - 1);
        self.preference_bases.extend_from_slice(preferences);
        self.preference_offsets
            .push(saturating_u32(self.preference_bases.len()));
        student
    }

    /// Sets `base`'s order of students, best first; the base does not accept a student it
    /// does not rank. Setting a base's ranking again replaces it.
    pub fn set_ranking(&mut self, base: u32, students: &[u32]) {
        let base_count = self.seats.len();
        match usize::try_from(base) {
            Ok(index) if index < base_count => {
                if self.rankings.len() < base_count {
                    self.rankings.resize_with(base_count, Vec::new);
                }
                self.rankings[index] = students.to_vec();
            }
            _ => {
                self.invalid_ranking_call
                    .get_or_insert(MarketError::RankingOfUnknownBase { base, base_count });
            }
        }
    }

    /// Validates the lists and builds the market. Errors name the first offending entry,
    /// looking at the students' lists in student order before the rankings in base order.
    pub fn build(self) -> Result<Market, MarketError> {
        if let Some(error) = self.invalid_ranking_call {
            validate_lists(
                &self.seats,
                &self.preference_offsets,
                &self.preference_bases,
                self.rankings.iter().map(Vec::len).sum(),
            )?;
            return Err(error);
        }
        let mut rankings = self.rankings;
        rankings.resize_with(self.seats.len(), Vec::new);
        let (ranking_offsets, ranked_students) = flatten(&rankings);
        drop(rankings);
        Market::from_lists(
            self.seats,
            self.preference_offsets,
            self.preference_bases,
            ranking_offsets,
            ranked_students,
        )
    }
}

impl Market {
    /// Validates lists already laid out flat and builds the market, as
    /// [`MarketBuilder::build`] does: student `s` listed
    /// `preference_bases[preference_offsets[s]..preference_offsets[s + 1]]` and base `b`
    /// ranked `ranked_students[ranking_offsets[b]..ranking_offsets[b + 1]]`.
    pub(crate) fn from_lists(
        seats: Vec<u32>,
        preference_offsets: Vec<u32>,
        preference_bases: Vec<u32>,
        ranking_offsets: Vec<u32>,
        ranked_students: Vec<u32>,
    ) -> Result<Market, MarketError> {
        debug_assert_eq!(ranking_offsets.len(), seats.len() + 1);
        validate_lists(
            &seats,
            &preference_offsets,
            &preference_bases,
            ranked_students.len(),
        )?;
        let preference_ranks = rank_listings(
            &preference_offsets,
            &preference_bases,
            &ranking_offsets,
            &ranked_students,
            preference_offsets.len() - 1,
        )?;
        Ok(Market {
            seats,
            preference_offsets,
            preference_bases,
            preference_ranks,
            ranking_offsets,
            ranked_students,
        })
    }
}

/// Checks the sizes and the students' lists.
fn validate_lists(
    seats: &[u32],
    preference_offsets: &[u32],
    preference_bases: &[u32],
    ranking_entries: usize,
) -> Result<(), MarketError> {
    // Indices and offsets are u32 to halve the market's memory; the largest index of each
    // kind stays reserved for the "none" markers.
    for (what, count) in [
        ("students", preference_offsets.len() - 1),
        ("bases", seats.len()),
        ("preferences", preference_bases.len()),
        ("ranking entries", ranking_entries),
    ] {
        if count >= u32::MAX as usize {
            return Err(MarketError::TooLarge { what, count });
        }
    }
    validate_preferences(preference_offsets, preference_bases, seats.len())
}

fn saturating_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn validate_preferences(
    offsets: &[u32],
    bases: &[u32],
    base_count: usize,
) -> Result<(), MarketError> {
    // `listed_by[b]` holds 1 + the last student seen listing base b, so no clearing between
    // students is needed.
    let mut listed_by = vec![0u32; base_count];
    for (student, window) in offsets.windows(2).enumerate() {
        let student_marker = student as u32 + 1;
        let list = &bases[window[0] as usize..window[1] as usize];
        for (position, &base) in list.iter().enumerate() {
            let Some(marker) = listed_by.get_mut(base as usize) else {
                return Err(MarketError::PreferenceOutOfRange {
                    student: student as u32,
                    position: position as u32 + 1,
                    base,
                    base_count,
                });
            };
            if *marker == student_marker {
                let first_position = list.iter().position(|&listed| listed == base).unwrap_or(0);
                return Err(MarketError::DuplicatePreference {
                    student: student as u32,
                    position: position as u32 + 1,
                    first_position: first_position as u32 + 1,
                    base,
                });
            }
            *marker = student_marker;
        }
    }
    Ok(())
}

fn flatten(lists: &[Vec<u32>]) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = Vec::with_capacity(lists.len() + 1);
    let mut flat = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    offsets.push(0);
    for list in lists {
        flat.extend_from_slice(list);
        offsets.push(flat.len() as u32);
    }
    (offsets, flat)
}

/// Validates the rankings and finds, for every listing, the student's position in the
/// listed base's ranking, in time linear in the number of listings and ranking entries.
fn rank_listings(
    preference_offsets: &[u32],
    preference_bases: &[u32],
    ranking_offsets: &[u32],
    ranked_students: &[u32],
    student_count: usize,
) -> Result<Vec<u32>, MarketError> {
    let base_count = ranking_offsets.len() - 1;
    let applicants = ApplicantsByBase::new(preference_offsets, preference_bases, base_count);
    let mut preference_ranks = vec![NOT_RANKED; preference_bases.len()];
    // `ranked_by[s]` holds 1 + the base whose ranking was read last that names student s,
    // and `position_in_ranking[s]` the student's position there.
    let mut ranked_by = vec![0u32; student_count];
    let mut position_in_ranking = vec![0u32; student_count];
    for base in 0..base_count {
        let base_marker = base as u32 + 1;
        let ranking =
            &ranked_students[ranking_offsets[base] as usize..ranking_offsets[base + 1] as usize];
        for (position, &student) in ranking.iter().enumerate() {
            let Some(marker) = ranked_by.get_mut(student as usize) else {
                return Err(MarketError::RankedStudentOutOfRange {
                    base: base as u32,
                    position: position as u32 + 1,
                    student,
                    student_count,
                });
            };
            if *marker == base_marker {
                return Err(MarketError::DuplicateRanked {
                    base: base as u32,
                    position: position as u32 + 1,
                    first_position: position_in_ranking[student as usize] + 1,
                    student,
                });
            }
            *marker = base_marker;
            position_in_ranking[student as usize] = position as u32;
        }
        for &(student, listing) in applicants.of(base) {
            if ranked_by[student as usize] == base_marker {
                preference_ranks[listing as usize] = position_in_ranking[student as usize];
            }
        }
    }
    Ok(preference_ranks)
}

/// For every base, the (student, listing index) pairs of the students who listed it.
struct ApplicantsByBase {
    offsets: Vec<u32>,
    entries: Vec<(u32, u32)>,
}

impl ApplicantsByBase {
    fn new(preference_offsets: &[u32], preference_bases: &[u32], base_count: usize) -> Self {
        let mut offsets = vec![0u32; base_count + 1];
        for &base in preference_bases {
            offsets[base as usize + 1] += 1;
        }
        for base in 0..base_count {
            offsets[base + 1] += offsets[base];
        }
        let mut next_free = offsets.clone();
        let mut entries = vec![(0, 0); preference_bases.len()];
        for (student, window) in preference_offsets.windows(2).enumerate() {
            for listing in window[0]..window[1] {
                let slot = &mut next_free[preference_bases[listing as usize] as usize];
                entries[*slot as usize] = (student as u32, listing);
                *slot += 1;
            }
        }
        Self { offsets, entries }
    }

    fn of(&self, base: usize) -> &[(u32, u32)] {
        &self.entries[self.offsets[base] as usize..self.offsets[base + 1] as usize]
    }
}

/// Why a market's lists were refused; positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarketError {
    #[error("student {student}: preference {position} names base {base}, but there are only {base_count} bases")]
    PreferenceOutOfRange {
        student: u32,
        position: u32,
        base: u32,
        base_count: usize,
    },
    #[error("student {student}: preference {position} repeats base {base} (already preference {first_position})")]
    DuplicatePreference {
        student: u32,
        position: u32,
        first_position: u32,
        base: u32,
    },
    #[error("a ranking was given for base {base}, but there are only {base_count} bases")]
    RankingOfUnknownBase { base: u32, base_count: usize },
    #[error("base {base}: ranking entry {position} names student {student}, but there are only {student_count} students")]
    RankedStudentOutOfRange {
        base: u32,
        position: u32,
        student: u32,
        student_count: usize,
    },
    #[error("base {base}: ranking entry {position} repeats student {student} (already entry {first_position})")]
    DuplicateRanked {
        base: u32,
        position: u32,
        first_position: u32,
        student: u32,
    },
    #[error("too many {what} for one market: {count}")]
    TooLarge { what: &'static str, count: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_base_builder() -> MarketBuilder {
        Market::builder(vec![1, 2])
    }

    #[test]
    fn listings_carry_the_listed_bases_rank_of_the_student() {
        let mut builder = two_base_builder();
        let first = builder.add_student(&[1, 0]);
        let second = builder.add_student(&[1]);
        let silent = builder.add_student(&[]);
        builder.set_ranking(0, &[silent, first]);
        builder.set_ranking(1, &[second]);
        let market = builder.build().unwrap();
        assert_eq!((first, second, silent), (0, 1, 2));
        assert_eq!(market.student_count(), 3);
        assert_eq!(market.base_count(), 2);
        assert_eq!(market.preferences(first), &[1, 0]);
        assert_eq!(market.ranking(0), &[2, 0]);
        assert_eq!(market.rank_at(first, 0), Some(2));
        assert_eq!(market.rank_at(first, 1), None);
        assert_eq!(market.rank_at(second, 1), Some(1));
        assert_eq!(
            market.rank_at(silent, 0),
            None,
            "ranked but did not list the base"
        );
    }

    #[test]
    fn setting_a_ranking_again_replaces_it() {
        let mut builder = two_base_builder();
        let student = builder.add_student(&[0]);
        builder.set_ranking(0, &[]);
        builder.set_ranking(0, &[student]);
        assert_eq!(builder.build().unwrap().rank_at(student, 0), Some(1));
    }

    #[test]
    fn a_preference_outside_the_bases_is_refused() {
        let mut builder = two_base_builder();
        builder.add_student(&[0]);
        builder.add_student(&[1, 2, 7]);
        assert_eq!(
            builder.build().unwrap_err(),
            MarketError::PreferenceOutOfRange {
                student: 1,
                position: 2,
                base: 2,
                base_count: 2
            }
        );
    }

    #[test]
    fn a_repeated_preference_is_refused() {
        let mut builder = two_base_builder();
        builder.add_student(&[1, 0, 1]);
        let error = builder.build().unwrap_err();
        assert_eq!(
            error,
            MarketError::DuplicatePreference {
                student: 0,
                position: 3,
                first_position: 1,
                base: 1
            }
        );
        assert_eq!(
            error.to_string(),
            "student 0: preference 3 repeats base 1 (already preference 1)"
        );
    }

    #[test]
    fn a_ranking_of_an_unknown_base_is_refused() {
        let mut builder = two_base_builder();
        builder.add_student(&[0]);
        builder.set_ranking(5, &[0]);
        builder.set_ranking(6, &[0]);
        assert_eq!(
            builder.build().unwrap_err(),
            MarketError::RankingOfUnknownBase {
                base: 5,
                base_count: 2
            }
        );
    }

    #[test]
    fn a_ranked_student_outside_the_students_is_refused() {
        let mut builder = two_base_builder();
        builder.add_student(&[0]);
        builder.set_ranking(1, &[0, 3]);
        assert_eq!(
            builder.build().unwrap_err(),
            MarketError::RankedStudentOutOfRange {
                base: 1,
                position: 2,
                student: 3,
                student_count: 1
            }
        );
    }

    #[test]
    fn a_student_ranked_twice_by_a_base_is_refused() {
        let mut builder = two_base_builder();
        builder.add_student(&[0]);
        builder.add_student(&[0]);
        builder.set_ranking(0, &[1, 0, 1]);
        assert_eq!(
            builder.build().unwrap_err(),
            MarketError::DuplicateRanked {
                base: 0,
                position: 3,
                first_position: 1,
                student: 1
            }
        );
    }

    #[test]
    fn the_same_student_may_be_ranked_by_several_bases() {
        let mut builder = two_base_builder();
        let student = builder.add_student(&[0, 1]);
        builder.set_ranking(0, &[student]);
        builder.set_ranking(1, &[student]);
        let market = builder.build().unwrap();
        assert_eq!(market.rank_at(student, 0), Some(1));
        assert_eq!(market.rank_at(student, 1), Some(1));
    }
}

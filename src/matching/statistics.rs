//! Summary figures of a matching.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::engine::Matching;
use super::market::Market;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statistics {
    pub students: u32,
    /// Students who listed at least one base.
    pub applicants: u32,
    pub matched: u32,
    pub unmatched: u32,
    pub bases: u32,
    /// Bases with seats that filled all of them.
    pub bases_full: u32,
    pub seats: u64,
    pub seats_filled: u64,
    /// Entry `i` counts the students placed at their choice `i + 1`; serialized as an
    /// object keyed by the 1-based choice.
    #[serde(serialize_with = "serialize_by_choice")]
    pub choice_rank_histogram: Vec<u32>,
}

impl Statistics {
    /// # Panics
    /// If `matching` is not a matching of `market`.
    pub fn new(market: &Market, matching: &Matching) -> Self {
        let student_count = market.student_count() as u32;
        let mut choice_rank_histogram = Vec::new();
        let mut applicants = 0;
        for student in 0..student_count {
            if !market.preferences(student).is_empty() {
                applicants += 1;
            }
            if let Some(choice) = matching.choice_rank(student) {
                let index = choice as usize - 1;
                if choice_rank_histogram.len() <= index {
                    choice_rank_histogram.resize(index + 1, 0);
                }
                choice_rank_histogram[index] += 1;
            }
        }
        let base_count = market.base_count() as u32;
        let matched = matching.matched_count() as u32;
        Self {
            students: student_count,
            applicants,
            matched,
            unmatched: student_count - matched,
            bases: base_count,
            bases_full: (0..base_count)
                .filter(|&base| {
                    let seats = market.capacity(base);
                    seats > 0 && matching.interns(base).len() as u32 >= seats
                })
                .count() as u32,
            seats: market
                .capacities()
                .iter()
                .map(|&seats| u64::from(seats))
                .sum(),
            seats_filled: matched.into(),
            choice_rank_histogram,
        }
    }
}

fn serialize_by_choice<S: Serializer>(histogram: &[u32], serializer: S) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(histogram.len()))?;
    for (choice, count) in (1u32..).zip(histogram) {
        map.serialize_entry(&choice, count)?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::run;

    #[test]
    fn counts_students_seats_and_choices() {
        let mut builder = Market::builder(vec![1, 2, 0]);
        builder.add_student(&[0, 1]);
        builder.add_student(&[0, 1]);
        builder.add_student(&[2]);
        builder.add_student(&[]);
        builder.set_ranking(0, &[0, 1]);
        builder.set_ranking(1, &[0, 1]);
        builder.set_ranking(2, &[2]);
        let market = builder.build().unwrap();
        let statistics = Statistics::new(&market, &run(&market));
        assert_eq!(
            statistics,
            Statistics {
                students: 4,
                applicants: 3,
                matched: 2,
                unmatched: 2,
                bases: 3,
                bases_full: 1,
                seats: 3,
                seats_filled: 2,
                choice_rank_histogram: vec![1, 1],
            }
        );
        let json = serde_json::to_value(&statistics).unwrap();
        assert_eq!(
            json["choice_rank_histogram"],
            serde_json::json!({"1": 1, "2": 1})
        );
    }
}

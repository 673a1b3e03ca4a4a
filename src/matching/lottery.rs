//! Seeded lottery numbers and the order of a base's applicants.
//!
//! A match run draws one lottery number per student from the run's seed and uses the same
//! number at every base (single tie-breaking), so a run can be reproduced from its seed.
//! The generator is SplitMix64: a few integer operations with wrapping arithmetic, so the
//! same seed gives the same numbers on every platform and in every build.

use std::cmp::Ordering;

/// The SplitMix64 pseudo-random generator (Steele, Lea and Flood, 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The first `count` lottery numbers of the run seeded with `seed`; number `i` belongs to
/// student index `i`.
pub fn lottery_numbers(seed: u64, count: usize) -> Vec<u64> {
    let mut generator = SplitMix64::new(seed);
    (0..count).map(|_| generator.next_u64()).collect()
}

/// Orders a base's applicants: the ranked ones first in the coordinator's order, then the
/// unranked ones by score (higher first, None last), then by lottery number (lower first).
/// `lottery` is indexed by student index.
///
/// `unranked` must not repeat students of `ranked`. A score that is not a number counts as
/// no score; a student without a lottery number comes after those with one, and the student
/// index breaks any tie that remains, so the order is total and reproducible.
pub fn order_applicants(
    ranked: &[u32],
    unranked: &[(u32, Option<f64>)],
    lottery: &[u64],
) -> Vec<u32> {
    let mut by_score: Vec<(u32, Option<f64>)> = unranked.to_vec();
    by_score.sort_by(|&left, &right| applicant_order(left, right, lottery));
    ranked
        .iter()
        .copied()
        .chain(by_score.into_iter().map(|(student, _)| student))
        .collect()
}

/// The order of two applicants a coordinator did not rank, `(student, score)` each:
/// by score (higher first, none or not a number last), then lottery number, then student
/// index. `Ordering::Less` puts `left` first.
pub fn applicant_order(
    (left, left_score): (u32, Option<f64>),
    (right, right_score): (u32, Option<f64>),
    lottery: &[u64],
) -> Ordering {
    let lottery_number = |student: u32| {
        usize::try_from(student)
            .ok()
            .and_then(|index| lottery.get(index))
            .copied()
            .unwrap_or(u64::MAX)
    };
    let number = |score: Option<f64>| score.filter(|value| !value.is_nan());
    compare_scores_best_first(number(left_score), number(right_score))
        .then_with(|| lottery_number(left).cmp(&lottery_number(right)))
        .then_with(|| left.cmp(&right))
}

fn compare_scores_best_first(left: Option<f64>, right: Option<f64>) -> Ordering {
    match (left, right) {
        (Some(left), Some(right)) => right.total_cmp(&left),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lottery_numbers_are_the_splitmix64_sequence_of_the_seed() {
        assert_eq!(
            lottery_numbers(1_234_567, 5),
            vec![
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
        assert_eq!(
            lottery_numbers(0, 3),
            vec![
                16_294_208_416_658_607_535,
                7_960_286_522_194_355_700,
                487_617_019_471_545_679,
            ]
        );
    }

    #[test]
    fn lottery_is_reproducible_and_prefix_stable() {
        let long = lottery_numbers(2027, 1_000);
        assert_eq!(long, lottery_numbers(2027, 1_000));
        assert_eq!(&long[..10], lottery_numbers(2027, 10).as_slice());
        assert_ne!(long, lottery_numbers(2028, 1_000));
        assert!(lottery_numbers(7, 0).is_empty());
    }

    #[test]
    fn ranked_applicants_keep_the_coordinators_order_before_unranked_ones() {
        let lottery = vec![0; 10];
        let order = order_applicants(&[7, 2, 9], &[(1, Some(99.0)), (4, Some(50.0))], &lottery);
        assert_eq!(order, vec![7, 2, 9, 1, 4]);
    }

    #[test]
    fn unranked_applicants_go_by_score_then_lottery_with_missing_scores_last() {
        let lottery = vec![50, 40, 30, 20, 10, 5];
        let unranked = [
            (0, None),
            (1, Some(80.0)),
            (2, Some(90.5)),
            (3, Some(80.0)),
            (4, None),
            (5, Some(f64::NAN)),
        ];
        // 3 beats 1 on the lottery at equal scores; 5 (no usable score) beats 4 and 0 on it.
        assert_eq!(
            order_applicants(&[], &unranked, &lottery),
            vec![2, 3, 1, 5, 4, 0]
        );
    }

    #[test]
    fn students_without_lottery_numbers_come_last_then_by_index() {
        let lottery = vec![9, 8];
        let unranked = [
            (5, Some(70.0)),
            (1, Some(70.0)),
            (4, Some(70.0)),
            (0, Some(70.0)),
        ];
        assert_eq!(order_applicants(&[], &unranked, &lottery), vec![1, 0, 4, 5]);
    }
}

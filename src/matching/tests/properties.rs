//! Properties of the engine on random small markets, against brute force.

use proptest::prelude::*;
use proptest::sample::subsequence;

use crate::matching::{check, explain, generate, run, Market, Matching, RefusalReason};

/// A market small enough to enumerate every matching.
#[derive(Debug, Clone)]
struct SmallMarket {
    capacities: Vec<u32>,
    preferences: Vec<Vec<u32>>,
    rankings: Vec<Vec<u32>>,
}

impl SmallMarket {
    fn build(&self) -> Market {
        let mut builder = Market::builder(self.capacities.clone());
        for list in &self.preferences {
            builder.add_student(list);
        }
        for (base, ranking) in (0..).zip(&self.rankings) {
            builder.set_ranking(base, ranking);
        }
        builder.build().unwrap()
    }

    fn with_preferences(&self, student: usize, list: Vec<u32>) -> SmallMarket {
        let mut changed = self.clone();
        changed.preferences[student] = list;
        changed
    }

    fn rank(&self, base: u32, student: u32) -> Option<usize> {
        self.rankings[base as usize]
            .iter()
            .position(|&ranked| ranked == student)
    }

    /// Position in the student's list; unmatched (and unlisted) counts as after the list.
    fn preference(&self, student: usize, base: Option<u32>) -> usize {
        let list = &self.preferences[student];
        base.and_then(|base| list.iter().position(|&listed| listed == base))
            .unwrap_or(list.len())
    }

    fn acceptable(&self, student: usize, base: u32) -> bool {
        self.preferences[student].contains(&base) && self.rank(base, student as u32).is_some()
    }

    /// Every assignment respecting capacity and acceptability.
    fn all_matchings(&self) -> Vec<Vec<Option<u32>>> {
        let mut all = Vec::new();
        let mut current = Vec::new();
        let mut free = self.capacities.clone();
        self.extend(&mut current, &mut free, &mut all);
        all
    }

    fn extend(
        &self,
        current: &mut Vec<Option<u32>>,
        free: &mut Vec<u32>,
        all: &mut Vec<Vec<Option<u32>>>,
    ) {
        let student = current.len();
        if student == self.preferences.len() {
            all.push(current.clone());
            return;
        }
        current.push(None);
        self.extend(current, free, all);
        current.pop();
        for &base in &self.preferences[student] {
            if self.acceptable(student, base) && free[base as usize] > 0 {
                free[base as usize] -= 1;
                current.push(Some(base));
                self.extend(current, free, all);
                current.pop();
                free[base as usize] += 1;
            }
        }
    }

    fn is_stable(&self, assignment: &[Option<u32>]) -> bool {
        (0..self.preferences.len()).all(|student| {
            let own = self.preference(student, assignment[student]);
            self.preferences[student][..own].iter().all(|&base| {
                let Some(student_rank) = self.rank(base, student as u32) else {
                    return true;
                };
                let interns: Vec<u32> = (0..assignment.len() as u32)
                    .filter(|&other| assignment[other as usize] == Some(base))
                    .collect();
                let has_free_seat = (interns.len() as u32) < self.capacities[base as usize];
                let prefers_student = interns.iter().any(|&intern| {
                    self.rank(base, intern)
                        .is_some_and(|rank| rank > student_rank)
                });
                !has_free_seat && !prefers_student
            })
        })
    }

    /// The stable matching every student weakly prefers to every other stable matching.
    fn student_optimal_stable(&self) -> Vec<Option<u32>> {
        let stable: Vec<Vec<Option<u32>>> = self
            .all_matchings()
            .into_iter()
            .filter(|assignment| self.is_stable(assignment))
            .collect();
        let optimal = stable
            .iter()
            .find(|candidate| {
                stable.iter().all(|other| {
                    (0..self.preferences.len()).all(|student| {
                        self.preference(student, candidate[student])
                            <= self.preference(student, other[student])
                    })
                })
            })
            .expect("a student-optimal stable matching exists");
        optimal.clone()
    }
}

fn assignments(matching: &Matching, student_count: usize) -> Vec<Option<u32>> {
    (0..student_count as u32)
        .map(|student| matching.base_of(student))
        .collect()
}

/// A random order of a random subset of `0..count`.
fn ordered_subset(count: usize) -> impl Strategy<Value = Vec<u32>> {
    subsequence((0..count as u32).collect::<Vec<_>>(), 0..=count).prop_shuffle()
}

/// Up to 6 students and 3 bases; rankings are independent of the lists, so a base may rank
/// a student who did not list it and must ignore one it does not rank.
fn small_market() -> impl Strategy<Value = SmallMarket> {
    (1usize..=6, 1usize..=3).prop_flat_map(|(students, bases)| {
        (
            proptest::collection::vec(0u32..=2, bases),
            proptest::collection::vec(ordered_subset(bases), students),
            proptest::collection::vec(ordered_subset(students), bases),
        )
            .prop_map(|(capacities, preferences, rankings)| SmallMarket {
                capacities,
                preferences,
                rankings,
            })
    })
}

/// Every list a student could submit: each ordered subset of the bases.
fn every_list(bases: usize) -> Vec<Vec<u32>> {
    let mut lists = vec![Vec::new()];
    let mut frontier = vec![Vec::new()];
    for _ in 0..bases {
        let mut longer = Vec::new();
        for list in &frontier {
            for base in 0..bases as u32 {
                if !list.contains(&base) {
                    let mut extended: Vec<u32> = list.clone();
                    extended.push(base);
                    longer.push(extended);
                }
            }
        }
        lists.extend(longer.iter().cloned());
        frontier = longer;
    }
    lists
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_engines_matching_passes_check(small in small_market()) {
        let market = small.build();
        prop_assert_eq!(check(&market, &run(&market)), Ok(()));
    }

    #[test]
    fn the_engine_finds_the_student_optimal_stable_matching(small in small_market()) {
        let market = small.build();
        let matching = run(&market);
        prop_assert_eq!(assignments(&matching, small.preferences.len()), small.student_optimal_stable());
    }

    #[test]
    fn no_student_gains_by_submitting_another_list(small in small_market()) {
        let truthful = assignments(&run(&small.build()), small.preferences.len());
        for (student, &truthful_base) in truthful.iter().enumerate() {
            let honest = small.preference(student, truthful_base);
            for list in every_list(small.capacities.len()) {
                let manipulated = small.with_preferences(student, list.clone());
                let outcome = run(&manipulated.build()).base_of(student as u32);
                prop_assert!(
                    small.preference(student, outcome) >= honest,
                    "student {} gets {:?} with {:?} instead of {:?}", student, outcome, list, truthful_base
                );
            }
        }
    }

    #[test]
    fn every_refusal_of_a_stable_matching_has_a_valid_reason(small in small_market()) {
        let market = small.build();
        let matching = run(&market);
        for student in 0..small.preferences.len() as u32 {
            for refusal in explain(&market, &matching, student) {
                match refusal.reason {
                    RefusalReason::NoSeats => prop_assert_eq!(market.capacity(refusal.base), 0),
                    RefusalReason::NotRanked => prop_assert_eq!(small.rank(refusal.base, student), None),
                    RefusalReason::FullWithHigherRanked { seats, kept, last_kept_rank, student_rank } => {
                        prop_assert_eq!(seats, kept);
                        prop_assert!(last_kept_rank < student_rank);
                    }
                    RefusalReason::WouldAccept => prop_assert!(false, "stable matchings refuse for a reason"),
                }
            }
        }
    }

    #[test]
    fn the_order_of_students_does_not_change_the_matching(small in small_market()) {
        // Renumber students in reverse: the same market under other indices.
        let count = small.preferences.len() as u32;
        let renumber = |student: u32| count - 1 - student;
        let renumbered = SmallMarket {
            capacities: small.capacities.clone(),
            preferences: small.preferences.iter().rev().cloned().collect(),
            rankings: small.rankings.iter().map(|ranking| ranking.iter().map(|&student| renumber(student)).collect()).collect(),
        };
        let original = run(&small.build());
        let other = run(&renumbered.build());
        for student in 0..count {
            prop_assert_eq!(original.base_of(student), other.base_of(renumber(student)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn generated_instances_give_stable_matchings(seed in any::<u64>(), preferences in 1usize..=10, seat_ratio in 0.2f64..1.2) {
        let instance = generate(2_000, 80, seed, preferences, seat_ratio);
        let indexed = instance.index().unwrap();
        let matching = run(&indexed.market);
        prop_assert_eq!(check(&indexed.market, &matching), Ok(()));
    }
}

//! Random instances shaped like the alliance, for tests and benchmarks.
//!
//! Follows `matching/gen_instance.py` step by step: 24 degree programs; each base accepts
//! 2 to 6 of them and has a Pareto-distributed popularity; each student lists up to
//! `preferences` distinct bases accepting its program, drawn by popularity; seats total
//! about `seat_ratio` × students, spread by popularity (at least one per base); each base
//! ranks the students who listed it by score plus Gaussian noise. The random numbers come
//! from [`SplitMix64`], so they differ from the script's but not in shape.

use std::borrow::Cow;
use std::f64::consts::TAU;

use super::instance::{BaseEntry, Instance, StudentEntry};
use super::lottery::SplitMix64;

const PROGRAM_COUNT: usize = 24;
const UNIVERSITIES: [&str; 6] = ["NJTECH", "ZJUT", "USST", "UJS", "AHUT", "AUST"];
const POPULARITY_SHAPE: f64 = 1.2;
const RANKING_NOISE: f64 = 5.0;

/// A random instance of `students` students and `bases` bases; the same arguments give the
/// same instance.
pub fn generate(
    students: usize,
    bases: usize,
    seed: u64,
    preferences: usize,
    seat_ratio: f64,
) -> Instance<'static> {
    let mut random = Random(SplitMix64::new(seed));
    let programs: Vec<String> = (0..PROGRAM_COUNT)
        .map(|program| format!("P{program:02}"))
        .collect();

    let mut base_programs = Vec::with_capacity(bases);
    let mut popularity = Vec::with_capacity(bases);
    for _ in 0..bases {
        let accepted_count = random.inclusive(2, 6);
        let mut accepted = random.sample(PROGRAM_COUNT, accepted_count);
        accepted.sort_unstable();
        base_programs.push(accepted);
        popularity.push(random.pareto(POPULARITY_SHAPE));
    }
    let eligible = EligibleBases::new(&base_programs, &popularity);

    let base_ids: Vec<String> = (0..bases).map(|base| format!("B{base:05}")).collect();
    let mut student_entries = Vec::with_capacity(students);
    let mut student_choices = Vec::with_capacity(students);
    let mut chosen_by = vec![usize::MAX; bases];
    let most_tries = 20 * preferences;
    for student in 0..students {
        let program = random.below(PROGRAM_COUNT);
        let (candidates, cumulative) = eligible.of(program);
        let wanted = preferences.min(candidates.len());
        let mut chosen = Vec::with_capacity(wanted);
        let mut tries = 0;
        while chosen.len() < wanted && tries < most_tries {
            tries += 1;
            let total = cumulative[cumulative.len() - 1];
            let drawn = random.unit() * total;
            let position = cumulative
                .partition_point(|&sum| sum <= drawn)
                .min(candidates.len() - 1);
            let base = candidates[position];
            if chosen_by[base] != student {
                chosen_by[base] = student;
                chosen.push(base);
            }
        }
        let university = UNIVERSITIES[random.below(UNIVERSITIES.len())];
        let score = (random.uniform(60.0, 100.0) * 1000.0).round() / 1000.0;
        student_entries.push(StudentEntry {
            id: Cow::Owned(format!("S{student:07}")),
            university: Some(Cow::Borrowed(university)),
            program: Some(Cow::Owned(programs[program].clone())),
            score: Some(score),
            preferences: chosen
                .iter()
                .map(|&base| Cow::Owned(base_ids[base].clone()))
                .collect(),
        });
        student_choices.push(chosen);
    }

    let total_seats = (students as f64 * seat_ratio) as u64;
    let total_popularity: f64 = popularity.iter().sum();
    let mut applicants: Vec<Vec<usize>> = vec![Vec::new(); bases];
    for (student, chosen) in student_choices.iter().enumerate() {
        for &base in chosen {
            applicants[base].push(student);
        }
    }
    let mut base_entries = Vec::with_capacity(bases);
    for (base, ((id, accepted), applicants)) in base_ids
        .into_iter()
        .zip(base_programs)
        .zip(applicants)
        .enumerate()
    {
        let seats = (total_seats as f64 * popularity[base] / total_popularity) as u64;
        let mut keyed: Vec<(f64, usize)> = applicants
            .into_iter()
            .map(|student| {
                let noisy_score =
                    student_entries[student].score.unwrap_or(0.0) + random.gauss(RANKING_NOISE);
                (noisy_score, student)
            })
            .collect();
        keyed.sort_by(|(left_score, left), (right_score, right)| {
            right_score
                .total_cmp(left_score)
                .then_with(|| student_entries[*left].id.cmp(&student_entries[*right].id))
        });
        base_entries.push(BaseEntry {
            id: Cow::Owned(id),
            programs: accepted
                .into_iter()
                .map(|program| Cow::Owned(programs[program].clone()))
                .collect(),
            capacity: u32::try_from(seats.max(1)).unwrap_or(u32::MAX),
            ranking: keyed
                .into_iter()
                .map(|(_, student)| student_entries[student].id.clone())
                .collect(),
        });
    }
    Instance {
        students: student_entries,
        bases: base_entries,
    }
}

/// For each program, the bases accepting it (in base order) and their running popularity
/// totals, to draw a base with probability proportional to its popularity.
struct EligibleBases {
    by_program: Vec<(Vec<usize>, Vec<f64>)>,
}

impl EligibleBases {
    fn new(base_programs: &[Vec<usize>], popularity: &[f64]) -> Self {
        let mut by_program: Vec<(Vec<usize>, Vec<f64>)> =
            vec![(Vec::new(), Vec::new()); PROGRAM_COUNT];
        for (base, accepted) in base_programs.iter().enumerate() {
            for &program in accepted {
                let (bases, cumulative) = &mut by_program[program];
                let running = cumulative.last().copied().unwrap_or(0.0);
                bases.push(base);
                cumulative.push(running + popularity[base]);
            }
        }
        Self { by_program }
    }

    fn of(&self, program: usize) -> (&[usize], &[f64]) {
        let (bases, cumulative) = &self.by_program[program];
        (bases, cumulative)
    }
}

/// The draws of Python's `random` module that the script uses, on SplitMix64.
struct Random(SplitMix64);

impl Random {
    /// Uniform in [0, 1), from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in `0..bound` without modulo bias (Lemire's multiply-and-reject); `bound`
    /// must be above 0.
    fn below(&mut self, bound: usize) -> usize {
        let bound = bound as u64;
        let rejected_below = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.0.next_u64()) * u128::from(bound);
            if product as u64 >= rejected_below {
                return (product >> 64) as usize;
            }
        }
    }

    fn inclusive(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// `count` distinct values of `0..population`, by a partial Fisher-Yates shuffle.
    fn sample(&mut self, population: usize, count: usize) -> Vec<usize> {
        let mut values: Vec<usize> = (0..population).collect();
        for drawn in 0..count {
            let pick = drawn + self.below(population - drawn);
            values.swap(drawn, pick);
        }
        values.truncate(count);
        values
    }

    fn pareto(&mut self, shape: f64) -> f64 {
        (1.0 - self.unit()).powf(-1.0 / shape)
    }

    /// Normal with mean 0, by the Box-Muller transform.
    fn gauss(&mut self, deviation: f64) -> f64 {
        let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        radius * (TAU * self.unit()).cos() * deviation
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn the_same_arguments_give_the_same_instance() {
        assert_eq!(generate(300, 20, 7, 8, 0.9), generate(300, 20, 7, 8, 0.9));
        assert_ne!(generate(300, 20, 7, 8, 0.9), generate(300, 20, 8, 8, 0.9));
    }

    #[test]
    fn the_instance_has_the_alliance_shape() {
        let instance = generate(3_000, 120, 2027, 8, 0.9);
        assert_eq!(instance.students.len(), 3_000);
        assert_eq!(instance.bases.len(), 120);
        assert_eq!(instance.students[42].id, "S0000042");
        assert_eq!(instance.bases[7].id, "B00007");

        let programs_of: HashMap<&str, &[Cow<str>]> = instance
            .bases
            .iter()
            .map(|base| (base.id.as_ref(), base.programs.as_slice()))
            .collect();
        for base in &instance.bases {
            assert!((2..=6).contains(&base.programs.len()), "{}", base.id);
            assert!(base.programs.windows(2).all(|pair| pair[0] < pair[1]));
            assert!(base.capacity >= 1);
        }
        let mut listing_count = 0;
        for student in &instance.students {
            let program = student.program.as_deref().unwrap();
            let score = student.score.unwrap();
            assert!((60.0..=100.0).contains(&score));
            assert!(student.preferences.len() <= 8);
            let distinct: HashSet<&str> = student.preferences.iter().map(AsRef::as_ref).collect();
            assert_eq!(distinct.len(), student.preferences.len());
            for base in &student.preferences {
                assert!(programs_of[base.as_ref()]
                    .iter()
                    .any(|accepted| accepted == program));
            }
            listing_count += student.preferences.len();
        }
        assert!(
            listing_count > 3_000 * 6,
            "most students list 8 bases: {listing_count}"
        );

        let seats: u64 = instance
            .bases
            .iter()
            .map(|base| u64::from(base.capacity))
            .sum();
        assert!(
            (2_500..=2_900).contains(&seats),
            "about 0.9 seats per student: {seats}"
        );

        let ranked: usize = instance.bases.iter().map(|base| base.ranking.len()).sum();
        assert_eq!(
            ranked, listing_count,
            "each base ranks exactly the students who listed it"
        );
        let capacities: Vec<u32> = instance.bases.iter().map(|base| base.capacity).collect();
        let most_popular = capacities.iter().max().unwrap();
        let median = {
            let mut sorted = capacities.clone();
            sorted.sort_unstable();
            sorted[sorted.len() / 2]
        };
        assert!(
            *most_popular > 4 * median,
            "popularity is skewed: {most_popular} vs {median}"
        );
    }

    #[test]
    fn rankings_follow_scores_up_to_noise() {
        let instance = generate(2_000, 10, 11, 8, 0.9);
        let score_of: HashMap<&str, f64> = instance
            .students
            .iter()
            .map(|student| (student.id.as_ref(), student.score.unwrap()))
            .collect();
        for base in &instance.bases {
            let half = base.ranking.len() / 2;
            let mean = |ids: &[Cow<str>]| {
                ids.iter().map(|id| score_of[id.as_ref()]).sum::<f64>() / ids.len() as f64
            };
            assert!(
                mean(&base.ranking[..half]) > mean(&base.ranking[half..]) + 5.0,
                "{}",
                base.id
            );
        }
    }

    #[test]
    fn the_generated_instance_indexes_and_matches() {
        let instance = generate(500, 30, 3, 5, 0.5);
        let indexed = instance.index().unwrap();
        let matching = crate::matching::run(&indexed.market);
        assert_eq!(crate::matching::check(&indexed.market, &matching), Ok(()));
    }

    #[test]
    fn uniform_draws_stay_in_range() {
        let mut random = Random(SplitMix64::new(5));
        for _ in 0..10_000 {
            assert!(random.below(7) < 7);
            assert!((2..=6).contains(&random.inclusive(2, 6)));
            let unit = random.unit();
            assert!((0.0..1.0).contains(&unit));
            assert!(random.pareto(1.2) >= 1.0);
        }
        let mut sample = random.sample(24, 6);
        sample.sort_unstable();
        sample.dedup();
        assert_eq!(sample.len(), 6);
    }
}

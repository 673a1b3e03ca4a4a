//! Verifies that a matching is stable for a market.

use std::fmt;

use super::engine::Matching;
use super::market::Market;

/// One way in which a matching breaks the rules of a stable placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The matching was made for a market of another size.
    SizeMismatch {
        market_students: usize,
        market_bases: usize,
        matching_students: usize,
        matching_bases: usize,
    },
    OverCapacity {
        base: u32,
        seats: u32,
        interns: u32,
    },
    /// The student is placed at a base it did not list.
    NotListed {
        student: u32,
        base: u32,
    },
    /// The student is placed at a base that does not rank it.
    NotRanked {
        student: u32,
        base: u32,
    },
    /// The student lists `base` above its placement (at `preference_rank`, 1-based), the
    /// base ranks the student, and the base has a free seat or keeps `displaceable`, whom
    /// it ranks below the student (or does not rank).
    BlockingPair {
        student: u32,
        base: u32,
        preference_rank: u32,
        displaceable: Option<u32>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::SizeMismatch {
                market_students,
                market_bases,
                matching_students,
                matching_bases,
            } => write!(
                formatter,
                "the matching has {matching_students} students and {matching_bases} bases, \
                 the market {market_students} students and {market_bases} bases"
            ),
            Violation::OverCapacity {
                base,
                seats,
                interns,
            } => {
                write!(
                    formatter,
                    "base {base} holds {interns} interns for {seats} seats"
                )
            }
            Violation::NotListed { student, base } => {
                write!(
                    formatter,
                    "student {student} is placed at base {base}, which it did not list"
                )
            }
            Violation::NotRanked { student, base } => write!(
                formatter,
                "student {student} is placed at base {base}, which does not rank it"
            ),
            Violation::BlockingPair {
                student,
                base,
                preference_rank,
                displaceable,
            } => {
                write!(
                    formatter,
                    "student {student} and base {base} block the matching: the student lists \
                     the base as choice {preference_rank}, above its placement, and the base "
                )?;
                match displaceable {
                    None => write!(formatter, "has a free seat"),
                    Some(intern) => {
                        write!(formatter, "ranks it above its intern {intern}")
                    }
                }
            }
        }
    }
}

/// Checks capacity, acceptability (every intern listed its base and the base ranks it)
/// and stability (no blocking pair). Returns every violation found, capacity ones first.
pub fn check(market: &Market, matching: &Matching) -> Result<(), Vec<Violation>> {
    if market.student_count() != matching.student_count()
        || market.base_count() != matching.base_count()
    {
        return Err(vec![Violation::SizeMismatch {
            market_students: market.student_count(),
            market_bases: market.base_count(),
            matching_students: matching.student_count(),
            matching_bases: matching.base_count(),
        }]);
    }
    let mut violations = Vec::new();
    let base_count = market.base_count() as u32;
    for base in 0..base_count {
        let interns = matching.interns(base).len() as u32;
        let seats = market.capacity(base);
        if interns > seats {
            violations.push(Violation::OverCapacity {
                base,
                seats,
                interns,
            });
        }
    }
    let student_count = market.student_count() as u32;
    for student in 0..student_count {
        let Some(base) = matching.base_of(student) else {
            continue;
        };
        if matching.choice_rank(student).is_none() {
            violations.push(Violation::NotListed { student, base });
        } else if market.rank_at(student, base).is_none() {
            violations.push(Violation::NotRanked { student, base });
        }
    }
    let lowest_ranked_interns: Vec<Option<(u32, u32)>> = (0..base_count)
        .map(|base| matching.lowest_ranked_intern(market, base))
        .collect();
    for student in 0..student_count {
        let listed = market.preferences(student);
        let preferred = match matching.choice_rank(student) {
            Some(choice) => &listed[..choice as usize - 1],
            None => listed,
        };
        for (position, &base) in preferred.iter().enumerate() {
            let Some(student_rank) = market.rank_at(student, base) else {
                continue;
            };
            let has_free_seat = (matching.interns(base).len() as u32) < market.capacity(base);
            // Both ranks 0-based; an intern the base does not rank has NOT_RANKED, the
            // largest value, so any ranked student is preferred to it.
            let displaceable = match lowest_ranked_interns[base as usize] {
                Some((intern_rank, intern)) if student_rank - 1 < intern_rank => Some(intern),
                _ => None,
            };
            if has_free_seat || displaceable.is_some() {
                violations.push(Violation::BlockingPair {
                    student,
                    base,
                    preference_rank: position as u32 + 1,
                    displaceable: if has_free_seat { None } else { displaceable },
                });
            }
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::run;

    /// Base 0 (one seat) ranks student 1 above student 0; base 1 (one seat) ranks both.
    /// Both students list base 0 first, then base 1.
    fn market() -> Market {
        let mut builder = Market::builder(vec![1, 1]);
        builder.add_student(&[0, 1]);
        builder.add_student(&[0, 1]);
        builder.set_ranking(0, &[1, 0]);
        builder.set_ranking(1, &[0, 1]);
        builder.build().unwrap()
    }

    fn matching(market: &Market, assignments: &[Option<u32>]) -> Matching {
        Matching::from_assignments(market, assignments).unwrap()
    }

    #[test]
    fn the_engines_matching_passes() {
        let market = market();
        assert_eq!(check(&market, &run(&market)), Ok(()));
    }

    #[test]
    fn a_base_over_its_seats_is_reported() {
        let market = market();
        let violations = check(&market, &matching(&market, &[Some(0), Some(0)])).unwrap_err();
        assert_eq!(
            violations[0],
            Violation::OverCapacity {
                base: 0,
                seats: 1,
                interns: 2
            }
        );
        assert_eq!(
            violations[0].to_string(),
            "base 0 holds 2 interns for 1 seats"
        );
    }

    #[test]
    fn a_placement_at_an_unlisted_or_unranking_base_is_reported() {
        let mut builder = Market::builder(vec![1, 1]);
        builder.add_student(&[0]);
        builder.add_student(&[1]);
        builder.set_ranking(0, &[0, 1]);
        let market = builder.build().unwrap();
        let violations = check(&market, &matching(&market, &[Some(1), Some(1)])).unwrap_err();
        assert!(violations.contains(&Violation::NotListed {
            student: 0,
            base: 1
        }));
        assert!(violations.contains(&Violation::NotRanked {
            student: 1,
            base: 1
        }));
    }

    #[test]
    fn a_blocking_pair_with_a_free_seat_is_reported() {
        let market = market();
        let violations = check(&market, &matching(&market, &[None, Some(0)])).unwrap_err();
        assert_eq!(
            violations,
            vec![Violation::BlockingPair {
                student: 0,
                base: 1,
                preference_rank: 2,
                displaceable: None
            }]
        );
        assert_eq!(
            violations[0].to_string(),
            "student 0 and base 1 block the matching: the student lists the base as choice 2, \
             above its placement, and the base has a free seat"
        );
    }

    #[test]
    fn a_blocking_pair_with_a_lower_ranked_intern_is_reported() {
        let market = market();
        let violations = check(&market, &matching(&market, &[Some(0), Some(1)])).unwrap_err();
        assert_eq!(
            violations,
            vec![Violation::BlockingPair {
                student: 1,
                base: 0,
                preference_rank: 1,
                displaceable: Some(0)
            }]
        );
    }

    #[test]
    fn a_matching_of_another_market_is_reported() {
        let market = market();
        let mut builder = Market::builder(vec![1]);
        builder.add_student(&[]);
        let other = builder.build().unwrap();
        let violations = check(&market, &run(&other)).unwrap_err();
        assert!(matches!(
            violations.as_slice(),
            [Violation::SizeMismatch { .. }]
        ));
    }
}

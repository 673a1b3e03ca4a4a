//! Who may see and touch what: the one place that decides it for every role. A list query
//! narrows itself with a scope's [`Limits`]; a single row is checked with
//! [`Scope::reaches`].

use super::{BaseId, DomainError, Role, StudentId, UniversityId};

/// What a signed-in account acts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The alliance admin: every university, base and student.
    Alliance,
    /// A placement officer: the students of one university and what concerns them.
    University(UniversityId),
    /// A base coordinator: one base, its seats, applicants and placements.
    Base(BaseId),
    /// A student: themselves.
    Student {
        id: StudentId,
        university: UniversityId,
    },
}

/// What a row concerns: a student of a university, and the base when there is one.
#[derive(Debug, Clone, Copy)]
pub struct Concerning {
    pub student: StudentId,
    pub university: UniversityId,
    pub base: Option<BaseId>,
}

/// The conditions a list query adds so that it returns only rows within a scope: rows of
/// this university's students, of this base, of this student. `None` adds nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub university: Option<UniversityId>,
    pub base: Option<BaseId>,
    pub student: Option<StudentId>,
}

impl Scope {
    /// The scope of an account from its role and the records it is tied to; an account
    /// missing the record its role needs reaches nothing.
    pub fn of(
        role: Role,
        university: Option<UniversityId>,
        base: Option<BaseId>,
        student: Option<StudentId>,
    ) -> Result<Scope, DomainError> {
        let missing = |what: &str| DomainError::Forbidden(format!("this account has no {what}"));
        Ok(match role {
            Role::AllianceAdmin => Scope::Alliance,
            Role::UniversityAdmin => {
                Scope::University(university.ok_or_else(|| missing("university"))?)
            }
            Role::BaseCoordinator => Scope::Base(base.ok_or_else(|| missing("base"))?),
            Role::Student => Scope::Student {
                id: student.ok_or_else(|| missing("student record"))?,
                university: university.ok_or_else(|| missing("university"))?,
            },
        })
    }

    /// The conditions that narrow a list to this scope.
    pub fn limits(self) -> Limits {
        match self {
            Scope::Alliance => Limits::default(),
            Scope::University(university) => Limits {
                university: Some(university),
                ..Limits::default()
            },
            Scope::Base(base) => Limits {
                base: Some(base),
                ..Limits::default()
            },
            Scope::Student { id, university } => Limits {
                university: Some(university),
                student: Some(id),
                ..Limits::default()
            },
        }
    }

    /// Whether a row about this student (at this base) lies within the scope.
    pub fn reaches(self, row: Concerning) -> bool {
        match self {
            Scope::Alliance => true,
            Scope::University(university) => row.university == university,
            Scope::Base(base) => row.base == Some(base),
            Scope::Student { id, .. } => row.student == id,
        }
    }

    /// Whether the scope manages the students of this university: adds, imports, edits and
    /// counts them.
    pub fn manages_university(self, university: UniversityId) -> bool {
        match self {
            Scope::Alliance => true,
            Scope::University(own) => own == university,
            Scope::Base(_) | Scope::Student { .. } => false,
        }
    }

    /// Whether the scope acts for this base: its seats, its ranking, its placements.
    pub fn acts_for_base(self, base: BaseId) -> bool {
        match self {
            Scope::Alliance => true,
            Scope::Base(own) => own == base,
            Scope::University(_) | Scope::Student { .. } => false,
        }
    }

    /// Refuses a scope that does not act for this base.
    pub fn require_base(self, base: BaseId) -> Result<(), DomainError> {
        if self.acts_for_base(base) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "this belongs to another base".into(),
            ))
        }
    }

    /// The university whose students a manager's list or count is limited to, given the one
    /// asked for: the alliance any (or all, `None`), an officer their own only; nobody else
    /// manages students.
    pub fn managed_students(
        self,
        asked: Option<UniversityId>,
    ) -> Result<Option<UniversityId>, DomainError> {
        match self {
            Scope::Alliance => Ok(asked),
            Scope::University(own) => match asked {
                Some(asked) if asked != own => Err(DomainError::Forbidden(
                    "a university admin sees its own students only".into(),
                )),
                _ => Ok(Some(own)),
            },
            Scope::Base(_) | Scope::Student { .. } => Err(DomainError::Forbidden(
                "only the alliance and placement officers manage students".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(student: StudentId, university: UniversityId, base: BaseId) -> Concerning {
        Concerning {
            student,
            university,
            base: Some(base),
        }
    }

    #[test]
    fn each_scope_reaches_its_own_rows_only() {
        let (u1, u2) = (UniversityId::generate(), UniversityId::generate());
        let (b1, b2) = (BaseId::generate(), BaseId::generate());
        let (s1, s2) = (StudentId::generate(), StudentId::generate());
        let mine = row(s1, u1, b1);
        let theirs = row(s2, u2, b2);
        for scope in [
            Scope::University(u1),
            Scope::Base(b1),
            Scope::Student {
                id: s1,
                university: u1,
            },
        ] {
            assert!(scope.reaches(mine), "{scope:?}");
            assert!(!scope.reaches(theirs), "{scope:?}");
        }
        assert!(Scope::Alliance.reaches(theirs));
    }

    #[test]
    fn an_account_without_its_record_reaches_nothing() {
        assert!(Scope::of(Role::UniversityAdmin, None, None, None).is_err());
        assert!(Scope::of(Role::BaseCoordinator, None, None, None).is_err());
        assert!(Scope::of(Role::Student, Some(UniversityId::generate()), None, None).is_err());
        assert_eq!(
            Scope::of(Role::AllianceAdmin, None, None, None).ok(),
            Some(Scope::Alliance)
        );
    }

    #[test]
    fn an_officer_manages_their_own_students_only() {
        let (own, other) = (UniversityId::generate(), UniversityId::generate());
        let officer = Scope::University(own);
        assert_eq!(officer.managed_students(None).ok(), Some(Some(own)));
        assert!(officer.managed_students(Some(other)).is_err());
        assert_eq!(
            Scope::Alliance.managed_students(Some(other)).ok(),
            Some(Some(other))
        );
        assert!(Scope::Base(BaseId::generate())
            .managed_students(None)
            .is_err());
    }
}

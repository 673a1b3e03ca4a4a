//! The JSON instance read by `placemat match` (string ids, see `matching/README.md`) and
//! the id-keyed parts of its result.
//!
//! Ids are borrowed from the JSON text wherever they contain no escapes, so reading a
//! million-student instance does not allocate a string for each of its 17 million ids.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::engine::Matching;
use super::explain::{Explainer, Refusal, RefusalReason};
use super::ids::IdTable;
use super::market::{Market, MarketError};

/// A matching instance; only ids, preferences, capacities and rankings decide the matching.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance<'a> {
    pub students: Vec<StudentEntry<'a>>,
    pub bases: Vec<BaseEntry<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentEntry<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(
        default,
        deserialize_with = "borrowed_optional_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub university: Option<Cow<'a, str>>,
    #[serde(
        default,
        deserialize_with = "borrowed_optional_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub program: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Base ids, most wanted first.
    #[serde(default, deserialize_with = "borrowed_strings")]
    pub preferences: Vec<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseEntry<'a> {
    pub id: Cow<'a, str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<Cow<'a, str>>,
    pub capacity: u32,
    /// Student ids, best first; it may name students who did not list the base.
    pub ranking: Vec<Cow<'a, str>>,
}

/// A base as written in the file, before its capacity is known to be a whole number.
#[derive(Deserialize)]
struct BaseRecord<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default, deserialize_with = "borrowed_strings")]
    programs: Vec<Cow<'a, str>>,
    capacity: serde_json::Number,
    #[serde(default, deserialize_with = "borrowed_strings")]
    ranking: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct InstanceRecord<'a> {
    #[serde(borrow)]
    students: Vec<StudentEntry<'a>>,
    #[serde(borrow)]
    bases: Vec<BaseRecord<'a>>,
}

/// Serde borrows a `Cow<str>` only when it is the field's own type, not inside a `Vec` or
/// an `Option`; this wrapper makes it the field's own type.
#[derive(Deserialize)]
pub(super) struct BorrowedString<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

pub(super) fn borrowed_optional_string<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<BorrowedString<'a>>::deserialize(deserializer)?.map(|string| string.0))
}

pub(super) fn borrowed_strings<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Cow<'a, str>>, D::Error> {
    struct StringsVisitor<'a>(std::marker::PhantomData<Cow<'a, str>>);

    impl<'de: 'a, 'a> Visitor<'de> for StringsVisitor<'a> {
        type Value = Vec<Cow<'a, str>>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a list of id strings")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
            let mut strings = Vec::with_capacity(sequence.size_hint().unwrap_or(0));
            while let Some(BorrowedString(string)) = sequence.next_element()? {
                strings.push(string);
            }
            Ok(strings)
        }
    }

    deserializer.deserialize_seq(StringsVisitor(std::marker::PhantomData))
}

impl<'a> Instance<'a> {
    /// Reads an instance from JSON text; ids without escapes are borrowed from `json`.
    pub fn parse(json: &'a str) -> Result<Self, InstanceError> {
        let record: InstanceRecord<'a> = serde_json::from_str(json).map_err(InstanceError::Json)?;
        let bases = record
            .bases
            .into_iter()
            .map(|base| {
                let capacity = base
                    .capacity
                    .as_u64()
                    .and_then(|capacity| u32::try_from(capacity).ok())
                    .ok_or_else(|| InstanceError::InvalidCapacity {
                        base: base.id.to_string(),
                        capacity: base.capacity.to_string(),
                    })?;
                Ok(BaseEntry {
                    id: base.id,
                    programs: base.programs,
                    capacity,
                    ranking: base.ranking,
                })
            })
            .collect::<Result<_, InstanceError>>()?;
        Ok(Instance {
            students: record.students,
            bases,
        })
    }

    /// Resolves the ids to dense indices (students and bases in instance order) and builds
    /// the market. Errors name the first offending entry.
    pub fn index(&self) -> Result<IndexedMarket, InstanceError> {
        for (what, count) in [
            ("students", self.students.len()),
            ("bases", self.bases.len()),
        ] {
            if count >= u32::MAX as usize {
                return Err(InstanceError::Market(MarketError::TooLarge { what, count }));
            }
        }
        let students = IdTable::new(self.students.iter().map(|student| student.id.as_ref()))
            .map_err(|repeated| InstanceError::DuplicateStudentId {
                id: repeated.id,
                first_entry: repeated.first + 1,
                entry: repeated.second + 1,
            })?;
        let bases =
            IdTable::new(self.bases.iter().map(|base| base.id.as_ref())).map_err(|repeated| {
                InstanceError::DuplicateBaseId {
                    id: repeated.id,
                    first_entry: repeated.first + 1,
                    entry: repeated.second + 1,
                }
            })?;

        let mut builder = Market::builder(self.bases.iter().map(|base| base.capacity).collect());
        let mut resolved = Vec::new();
        for student in &self.students {
            resolved.clear();
            bases
                .get_all(&student.preferences, &mut resolved)
                .map_err(|position| InstanceError::UnknownPreferenceBase {
                    student: student.id.to_string(),
                    position: position as u32 + 1,
                    base: student.preferences[position].to_string(),
                })?;
            builder.add_student(&resolved);
        }
        for (base_position, base) in (0..).zip(&self.bases) {
            resolved.clear();
            students
                .get_all(&base.ranking, &mut resolved)
                .map_err(|position| InstanceError::UnknownRankedStudent {
                    base: base.id.to_string(),
                    position: position as u32 + 1,
                    student: base.ranking[position].to_string(),
                })?;
            builder.set_ranking(base_position, &resolved);
        }
        let market = builder
            .build()
            .map_err(|error| name_entries(error, &students, &bases))?;
        Ok(IndexedMarket {
            market,
            students,
            bases,
        })
    }
}

pub(super) fn name_entries(
    error: MarketError,
    students: &IdTable,
    bases: &IdTable,
) -> InstanceError {
    let student = |index: u32| students.id(index).to_owned();
    let base = |index: u32| bases.id(index).to_owned();
    match error {
        MarketError::DuplicatePreference {
            student: student_index,
            position,
            first_position,
            base: base_index,
        } => InstanceError::DuplicatePreference {
            student: student(student_index),
            position,
            first_position,
            base: base(base_index),
        },
        MarketError::DuplicateRanked {
            base: base_index,
            position,
            first_position,
            student: student_index,
        } => InstanceError::DuplicateRanked {
            base: base(base_index),
            position,
            first_position,
            student: student(student_index),
        },
        other => InstanceError::Market(other),
    }
}

/// A market built from an instance, with the ids of its students and bases.
#[derive(Debug, Clone)]
pub struct IndexedMarket {
    pub market: Market,
    pub(super) students: IdTable,
    pub(super) bases: IdTable,
}

impl IndexedMarket {
    /// # Panics
    /// If `student` is not a student of the market.
    pub fn student_id(&self, student: u32) -> &str {
        self.students.id(student)
    }

    /// # Panics
    /// If `base` is not a base of the market.
    pub fn base_id(&self, base: u32) -> &str {
        self.bases.id(base)
    }

    pub fn student_index(&self, id: &str) -> Option<u32> {
        self.students.get(id)
    }

    pub fn base_index(&self, id: &str) -> Option<u32> {
        self.bases.get(id)
    }

    /// The result's `assignments`: every student in instance order with its base id or
    /// null.
    pub fn assignments<'r>(&'r self, matching: &'r Matching) -> AssignmentsById<'r> {
        AssignmentsById {
            indexed: self,
            matching,
        }
    }

    /// The result's `unmatched_reasons`: every unmatched student in instance order with
    /// one refusal per base it listed.
    pub fn unmatched_reasons<'r>(
        &'r self,
        matching: &'r Matching,
        explainer: &'r Explainer<'r>,
    ) -> UnmatchedReasonsById<'r> {
        UnmatchedReasonsById {
            indexed: self,
            matching,
            explainer,
        }
    }
}

/// Serializes as a JSON object in student order; see [`IndexedMarket::assignments`].
pub struct AssignmentsById<'r> {
    indexed: &'r IndexedMarket,
    matching: &'r Matching,
}

impl Serialize for AssignmentsById<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let student_count = self.indexed.market.student_count() as u32;
        let mut map = serializer.serialize_map(Some(student_count as usize))?;
        for student in 0..student_count {
            let base = self
                .matching
                .base_of(student)
                .map(|base| self.indexed.base_id(base));
            map.serialize_entry(self.indexed.student_id(student), &base)?;
        }
        map.end()
    }
}

/// Serializes as a JSON object in student order; see
/// [`IndexedMarket::unmatched_reasons`].
pub struct UnmatchedReasonsById<'r> {
    indexed: &'r IndexedMarket,
    matching: &'r Matching,
    explainer: &'r Explainer<'r>,
}

impl Serialize for UnmatchedReasonsById<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let student_count = self.indexed.market.student_count() as u32;
        let unmatched = student_count as usize - self.matching.matched_count();
        let mut map = serializer.serialize_map(Some(unmatched))?;
        for student in 0..student_count {
            if self.matching.base_of(student).is_none() {
                map.serialize_entry(
                    self.indexed.student_id(student),
                    &RefusalsById {
                        indexed: self.indexed,
                        refusals: self.explainer.explain(student),
                    },
                )?;
            }
        }
        map.end()
    }
}

struct RefusalsById<'r> {
    indexed: &'r IndexedMarket,
    refusals: Vec<Refusal>,
}

impl Serialize for RefusalsById<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.refusals.len()))?;
        for refusal in &self.refusals {
            sequence.serialize_element(&RefusalById {
                base: self.indexed.base_id(refusal.base),
                preference_rank: refusal.preference_rank,
                reason: refusal.reason,
            })?;
        }
        sequence.end()
    }
}

struct RefusalById<'r> {
    base: &'r str,
    preference_rank: u32,
    reason: RefusalReason,
}

/// Writes what `#[serde(flatten)]` of the reason would, without serde's buffering of
/// flattened fields: a command result holds a million refusals.
impl Serialize for RefusalById<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let details = match self.reason {
            RefusalReason::NoSeats => ("no_seats", None),
            RefusalReason::NotRanked => ("not_ranked", None),
            RefusalReason::WouldAccept => ("would_accept", None),
            RefusalReason::FullWithHigherRanked {
                seats,
                kept,
                last_kept_rank,
                student_rank,
            } => (
                "full_with_higher_ranked",
                Some([
                    ("seats", seats),
                    ("kept", kept),
                    ("last_kept_rank", last_kept_rank),
                    ("student_rank", student_rank),
                ]),
            ),
        };
        let (reason, fields) = details;
        let mut map =
            serializer.serialize_map(Some(3 + fields.map_or(0, |fields| fields.len())))?;
        map.serialize_entry("base", self.base)?;
        map.serialize_entry("preference_rank", &self.preference_rank)?;
        map.serialize_entry("reason", reason)?;
        for (name, value) in fields.into_iter().flatten() {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

/// Why an instance was refused; entries and positions are 1-based.
#[derive(Debug, Error)]
pub enum InstanceError {
    /// Not JSON, or not shaped like an instance; the message gives line and column.
    #[error("malformed instance: {0}")]
    Json(#[source] serde_json::Error),
    #[error("base {base}: capacity {capacity} is not a whole number from 0 to 4294967295")]
    InvalidCapacity { base: String, capacity: String },
    #[error("student id {id} appears twice: students {first_entry} and {entry}")]
    DuplicateStudentId {
        id: String,
        first_entry: u32,
        entry: u32,
    },
    #[error("base id {id} appears twice: bases {first_entry} and {entry}")]
    DuplicateBaseId {
        id: String,
        first_entry: u32,
        entry: u32,
    },
    #[error("student {student}: preference {position} names unknown base {base}")]
    UnknownPreferenceBase {
        student: String,
        position: u32,
        base: String,
    },
    #[error("base {base}: ranking entry {position} names unknown student {student}")]
    UnknownRankedStudent {
        base: String,
        position: u32,
        student: String,
    },
    #[error("student {student}: preference {position} repeats base {base} (already preference {first_position})")]
    DuplicatePreference {
        student: String,
        position: u32,
        first_position: u32,
        base: String,
    },
    #[error("base {base}: ranking entry {position} repeats student {student} (already entry {first_position})")]
    DuplicateRanked {
        base: String,
        position: u32,
        first_position: u32,
        student: String,
    },
    #[error(transparent)]
    Market(MarketError),
}

impl InstanceError {
    /// Line and column (1-based) of a JSON error.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            InstanceError::Json(error) => Some((error.line(), error.column())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::reader::InstanceLists;
    use crate::matching::run;

    const INSTANCE: &str = r#"{
        "students": [
            {"id": "S1", "university": "USST", "program": "P03", "score": 87.5, "preferences": ["B1", "B2"]},
            {"id": "S2", "preferences": ["B1"]},
            {"id": "S3", "preferences": []}
        ],
        "bases": [
            {"id": "B1", "programs": ["P03"], "capacity": 1, "ranking": ["S2", "S1"]},
            {"id": "B2", "capacity": 2, "ranking": ["S3", "S1"]}
        ]
    }"#;

    /// The error of an instance, which the command's reader reports word for word too.
    fn error_of(json: &str) -> String {
        let error = match Instance::parse(json) {
            Ok(instance) => match instance.index() {
                Ok(_) => panic!("instance accepted"),
                Err(error) => error,
            },
            Err(error) => error,
        };
        let streamed = match InstanceLists::parse(json).and_then(InstanceLists::index) {
            Ok(_) => panic!("instance accepted by the reader"),
            Err(error) => error,
        };
        assert_eq!(streamed.to_string(), error.to_string());
        error.to_string()
    }

    fn with(replace: &str, by: &str) -> String {
        assert!(INSTANCE.contains(replace), "{replace}");
        INSTANCE.replacen(replace, by, 1)
    }

    #[test]
    fn parses_borrowing_ids_and_indexes_in_file_order() {
        let instance = Instance::parse(INSTANCE).unwrap();
        assert!(matches!(instance.students[0].id, Cow::Borrowed("S1")));
        assert!(matches!(
            instance.students[0].preferences[1],
            Cow::Borrowed("B2")
        ));
        assert_eq!(instance.students[0].score, Some(87.5));
        assert_eq!(instance.students[1].university, None);
        assert_eq!(instance.bases[1].capacity, 2);
        let indexed = instance.index().unwrap();
        assert_eq!(indexed.student_index("S3"), Some(2));
        assert_eq!(indexed.base_index("B2"), Some(1));
        assert_eq!(indexed.student_id(1), "S2");
        assert_eq!(indexed.base_id(0), "B1");
        assert_eq!(indexed.student_index("S9"), None);
        assert_eq!(indexed.market.preferences(0), &[0, 1]);
        assert_eq!(indexed.market.rank_at(0, 1), Some(2));
    }

    #[test]
    fn ids_with_escapes_are_read_too() {
        let json = with(r#""id": "S3""#, r#""id": "S\u00e93""#);
        let instance = Instance::parse(&json).unwrap();
        assert_eq!(instance.students[2].id, "Sé3");
        assert!(matches!(instance.students[2].id, Cow::Owned(_)));
    }

    #[test]
    fn the_result_lists_every_student_in_order_with_reasons_for_the_unmatched() {
        let instance = Instance::parse(INSTANCE).unwrap();
        let indexed = instance.index().unwrap();
        let matching = run(&indexed.market);
        let explainer = Explainer::new(&indexed.market, &matching);
        assert_eq!(
            serde_json::to_string(&indexed.assignments(&matching)).unwrap(),
            r#"{"S1":"B2","S2":"B1","S3":null}"#
        );
        assert_eq!(
            serde_json::to_string(&indexed.unmatched_reasons(&matching, &explainer)).unwrap(),
            r#"{"S3":[]}"#
        );
    }

    #[test]
    fn reasons_name_bases_by_id() {
        let json = with(
            r#""capacity": 2, "ranking": ["S3", "S1"]"#,
            r#""capacity": 0, "ranking": ["S3", "S1"]"#,
        );
        let instance = Instance::parse(&json).unwrap();
        let indexed = instance.index().unwrap();
        let matching = run(&indexed.market);
        let explainer = Explainer::new(&indexed.market, &matching);
        assert_eq!(
            serde_json::to_string(&indexed.unmatched_reasons(&matching, &explainer)).unwrap(),
            concat!(
                r#"{"S1":[{"base":"B1","preference_rank":1,"reason":"full_with_higher_ranked","seats":1,"#,
                r#""kept":1,"last_kept_rank":1,"student_rank":2},"#,
                r#"{"base":"B2","preference_rank":2,"reason":"no_seats"}],"S3":[]}"#
            )
        );
    }

    #[test]
    fn a_ranking_may_name_students_who_did_not_list_the_base() {
        let instance = Instance::parse(INSTANCE).unwrap();
        let indexed = instance.index().unwrap();
        let trimmed = with(r#""ranking": ["S3", "S1"]"#, r#""ranking": ["S1"]"#);
        let trimmed_instance = Instance::parse(&trimmed).unwrap();
        let trimmed_indexed = trimmed_instance.index().unwrap();
        assert_eq!(run(&indexed.market), run(&trimmed_indexed.market));
    }

    #[test]
    fn a_refusal_is_written_as_its_base_its_rank_and_the_reasons_fields() {
        for reason in [
            RefusalReason::NoSeats,
            RefusalReason::NotRanked,
            RefusalReason::WouldAccept,
            RefusalReason::FullWithHigherRanked {
                seats: 3,
                kept: 3,
                last_kept_rank: 4,
                student_rank: 9,
            },
        ] {
            let mut expected = serde_json::json!({"base": "B1", "preference_rank": 2});
            let reason_fields = serde_json::to_value(reason).unwrap();
            expected
                .as_object_mut()
                .unwrap()
                .extend(reason_fields.as_object().unwrap().clone());
            let refusal = RefusalById {
                base: "B1",
                preference_rank: 2,
                reason,
            };
            assert_eq!(serde_json::to_value(&refusal).unwrap(), expected);
        }
    }

    #[test]
    fn malformed_json_is_refused_with_its_location() {
        let error = Instance::parse("{\"students\": [\n  {\"id\": \"S1\",,}]}").unwrap_err();
        assert_eq!(error.location(), Some((2, 15)));
        assert!(
            error.to_string().starts_with("malformed instance: "),
            "{error}"
        );
        assert!(
            error.to_string().ends_with("at line 2 column 15"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_field_or_wrong_type_is_malformed() {
        assert!(error_of(&with(r#""id": "S2", "#, "")).contains("missing field `id`"));
        assert!(error_of(&with(r#""capacity": 1"#, r#""capacity": "1""#))
            .starts_with("malformed instance"));
        assert!(error_of(r#"{"students": []}"#).contains("missing field `bases`"));
    }

    #[test]
    fn a_negative_capacity_is_refused() {
        assert_eq!(
            error_of(&with(r#""capacity": 2"#, r#""capacity": -3"#)),
            "base B2: capacity -3 is not a whole number from 0 to 4294967295"
        );
    }

    #[test]
    fn a_fractional_or_huge_capacity_is_refused() {
        assert_eq!(
            error_of(&with(r#""capacity": 1"#, r#""capacity": 1.5"#)),
            "base B1: capacity 1.5 is not a whole number from 0 to 4294967295"
        );
        assert_eq!(
            error_of(&with(r#""capacity": 1"#, r#""capacity": 4294967296"#)),
            "base B1: capacity 4294967296 is not a whole number from 0 to 4294967295"
        );
    }

    #[test]
    fn a_repeated_student_id_is_refused() {
        assert_eq!(
            error_of(&with(r#""id": "S3""#, r#""id": "S1""#)),
            "student id S1 appears twice: students 1 and 3"
        );
    }

    #[test]
    fn a_repeated_base_id_is_refused() {
        assert_eq!(
            error_of(&with(r#""id": "B2""#, r#""id": "B1""#)),
            "base id B1 appears twice: bases 1 and 2"
        );
    }

    #[test]
    fn a_preference_for_an_unknown_base_is_refused() {
        assert_eq!(
            error_of(&with(
                r#""preferences": ["B1", "B2"]"#,
                r#""preferences": ["B1", "B2", "B99999"]"#
            )),
            "student S1: preference 3 names unknown base B99999"
        );
    }

    #[test]
    fn a_ranking_of_an_unknown_student_is_refused() {
        assert_eq!(
            error_of(&with(
                r#""ranking": ["S2", "S1"]"#,
                r#""ranking": ["S2", "S7", "S1"]"#
            )),
            "base B1: ranking entry 2 names unknown student S7"
        );
    }

    #[test]
    fn a_repeated_preference_is_refused() {
        assert_eq!(
            error_of(&with(
                r#""preferences": ["B1", "B2"]"#,
                r#""preferences": ["B1", "B2", "B1"]"#
            )),
            "student S1: preference 3 repeats base B1 (already preference 1)"
        );
    }

    #[test]
    fn a_student_ranked_twice_is_refused() {
        assert_eq!(
            error_of(&with(
                r#""ranking": ["S3", "S1"]"#,
                r#""ranking": ["S3", "S1", "S3"]"#
            )),
            "base B2: ranking entry 3 repeats student S3 (already entry 1)"
        );
    }

    #[test]
    fn an_instance_round_trips_through_json() {
        let instance = Instance::parse(INSTANCE).unwrap();
        let json = serde_json::to_string(&instance).unwrap();
        assert_eq!(Instance::parse(&json).unwrap(), instance);
    }
}

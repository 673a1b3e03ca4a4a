//! Reads an instance file straight into flat lists of dense indices, for `placemat match`.
//!
//! [`Instance::parse`](super::Instance::parse) keeps every entry of the file as parsed,
//! with a string for each of the 17 million ids of a million-student instance, and only
//! then resolves them. Here each id goes to an id table as soon as it is read: a base
//! named in a preference before its entry gets the next base index and keeps it, and the
//! entries are put in file order afterwards by renumbering. The result and its errors are
//! those of `Instance::parse` followed by `Instance::index`.
//!
//! The parse and the lookups each take about half of the time. The lookups of a national
//! instance wait on memory: some 17 million ids, most of them at a random place in a table
//! of a million students that no processor cache holds. So the two run side by side: the
//! reading thread runs serde's visitors and hands what they find, in file order and in
//! chunks, to an indexing thread that looks the ids up and builds the lists. An id is
//! borrowed from the text unless it has escapes.

use std::borrow::Cow;
use std::fmt;
use std::mem;
use std::panic;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::ids::IdTable;
use super::instance::{name_entries, BorrowedString, IndexedMarket, InstanceError};
use super::market::Market;

/// Marks an id that no entry defines (yet).
const NO_ENTRY: u32 = u32::MAX;
/// What the reading hands to the indexing thread at a time.
const CHUNK: usize = 4096;
/// Full chunks that may wait for the indexing thread; the reading waits when it has one
/// more.
const CHUNKS_IN_FLIGHT: usize = 4;

/// An instance whose ids are resolved to table indices in the order they were first met.
pub(crate) struct InstanceLists {
    /// Every student id met, as an entry's id or in a ranking.
    students: IdTable,
    /// Every base id met, as an entry's id or in a preference.
    bases: IdTable,
    /// Entry number to student id index, and back (`NO_ENTRY` for an id no entry defines).
    student_ids: Vec<u32>,
    student_entries: Vec<u32>,
    base_ids: Vec<u32>,
    base_entries: Vec<u32>,
    /// By base entry.
    seats: Vec<u32>,
    /// By student entry; the bases as base id indices.
    preference_offsets: Vec<u32>,
    preference_bases: Vec<u32>,
    /// By base entry; the students as student id indices.
    ranking_offsets: Vec<u32>,
    ranked_students: Vec<u32>,
    /// The first error of each kind found while reading, reported once the whole file has
    /// proved to be well-formed JSON, in the order `Instance` reports them.
    invalid_capacity: Option<InstanceError>,
    repeated_student: Option<InstanceError>,
    repeated_base: Option<InstanceError>,
}

/// What the reading finds, in file order.
enum Found<'a> {
    /// A preference of the student entry being read.
    Preference(Cow<'a, str>),
    /// A student entry's id, once the entry has been read.
    Student(Cow<'a, str>),
    /// An id in the ranking of the base entry being read.
    Ranked(Cow<'a, str>),
    /// A base entry's id and seats, once the entry has been read.
    Base(Cow<'a, str>, u32),
}

impl AsRef<str> for Found<'_> {
    fn as_ref(&self) -> &str {
        match self {
            Found::Preference(id) | Found::Student(id) | Found::Ranked(id) | Found::Base(id, _) => {
                id
            }
        }
    }
}

impl InstanceLists {
    /// Reads an instance from JSON text (see `matching/README.md` for the format).
    pub(crate) fn parse(json: &str) -> Result<Self, InstanceError> {
        let (sender, receiver) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        let (give_back, given_back) = mpsc::channel();
        thread::scope(|scope| {
            let indexing = scope.spawn(move || InstanceLists::take_all(receiver, give_back));
            let mut reading = Reading {
                chunk: Vec::with_capacity(CHUNK),
                sender,
                given_back,
                invalid_capacity: None,
            };
            let mut deserializer = serde_json::Deserializer::from_str(json);
            let read = deserializer
                .deserialize_map(InstanceVisitor {
                    reading: &mut reading,
                })
                .and_then(|()| deserializer.end());
            let invalid_capacity = reading.invalid_capacity.take();
            // Hands over the last chunk and tells the indexing thread that nothing follows.
            drop(reading);
            let mut lists = indexing
                .join()
                .unwrap_or_else(|panicked| panic::resume_unwind(panicked));
            read.map_err(InstanceError::Json)?;
            lists.invalid_capacity = invalid_capacity;
            Ok(lists)
        })
    }

    /// Takes what the reading found, chunk by chunk until it stops sending, and gives each
    /// emptied chunk back to be filled again.
    fn take_all<'a>(chunks: Receiver<Vec<Found<'a>>>, give_back: Sender<Vec<Found<'a>>>) -> Self {
        let mut lists = InstanceLists {
            students: IdTable::with_capacity(0, 0),
            bases: IdTable::with_capacity(0, 0),
            student_ids: Vec::new(),
            student_entries: Vec::new(),
            base_ids: Vec::new(),
            base_entries: Vec::new(),
            seats: Vec::new(),
            preference_offsets: vec![0],
            preference_bases: Vec::new(),
            ranking_offsets: vec![0],
            ranked_students: Vec::new(),
            invalid_capacity: None,
            repeated_student: None,
            repeated_base: None,
        };
        for mut chunk in chunks {
            lists.take(&chunk);
            chunk.clear();
            // The reading takes no chunk back once it has sent the last one.
            let _ = give_back.send(chunk);
        }
        lists
    }

    /// Looks up the ids of `found`, the lists' ids in runs so that their lookups overlap
    /// (see [`IdTable::intern_all`]).
    fn take(&mut self, found: &[Found<'_>]) {
        let mut rest = found;
        while let Some(first) = rest.first() {
            match first {
                Found::Student(id) => {
                    self.define_student(id);
                    rest = &rest[1..];
                }
                Found::Base(id, seats) => {
                    self.define_base(id, *seats);
                    rest = &rest[1..];
                }
                Found::Preference(_) | Found::Ranked(_) => {
                    let kind = mem::discriminant(first);
                    let run = rest
                        .iter()
                        .take_while(|found| mem::discriminant(*found) == kind)
                        .count();
                    let (ids, after) = rest.split_at(run);
                    if let Found::Preference(_) = first {
                        self.bases.intern_all(ids, &mut self.preference_bases);
                    } else {
                        self.students.intern_all(ids, &mut self.ranked_students);
                    }
                    rest = after;
                }
            }
        }
    }

    /// Checks that every id names exactly one entry, renumbers students and bases in entry
    /// order and builds the market.
    pub(crate) fn index(mut self) -> Result<IndexedMarket, InstanceError> {
        if let Some(error) = self
            .invalid_capacity
            .take()
            .or_else(|| self.repeated_student.take())
            .or_else(|| self.repeated_base.take())
        {
            return Err(error);
        }
        self.student_entries.resize(self.students.len(), NO_ENTRY);
        self.base_entries.resize(self.bases.len(), NO_ENTRY);
        self.refuse_unknown_ids()?;

        let (students, renumbered) = in_entry_order(self.students, &self.student_ids);
        if renumbered {
            renumber(&mut self.ranked_students, &self.student_entries);
        }
        let (bases, renumbered) = in_entry_order(self.bases, &self.base_ids);
        if renumbered {
            renumber(&mut self.preference_bases, &self.base_entries);
        }
        let market = Market::from_lists(
            self.seats,
            self.preference_offsets,
            self.preference_bases,
            self.ranking_offsets,
            self.ranked_students,
        )
        .map_err(|error| name_entries(error, &students, &bases))?;
        Ok(IndexedMarket {
            market,
            students,
            bases,
        })
    }

    /// The first preference, in student order, then the first ranking entry, in base order,
    /// that names an id without an entry.
    fn refuse_unknown_ids(&self) -> Result<(), InstanceError> {
        if self.base_ids.len() < self.bases.len() {
            for (window, &student) in self.preference_offsets.windows(2).zip(&self.student_ids) {
                let list = &self.preference_bases[window[0] as usize..window[1] as usize];
                if let Some(position) = list
                    .iter()
                    .position(|&base| self.base_entries[base as usize] == NO_ENTRY)
                {
                    return Err(InstanceError::UnknownPreferenceBase {
                        student: self.students.id(student).to_owned(),
                        position: position as u32 + 1,
                        base: self.bases.id(list[position]).to_owned(),
                    });
                }
            }
        }
        if self.student_ids.len() < self.students.len() {
            for (window, &base) in self.ranking_offsets.windows(2).zip(&self.base_ids) {
                let list = &self.ranked_students[window[0] as usize..window[1] as usize];
                if let Some(position) = list
                    .iter()
                    .position(|&student| self.student_entries[student as usize] == NO_ENTRY)
                {
                    return Err(InstanceError::UnknownRankedStudent {
                        base: self.bases.id(base).to_owned(),
                        position: position as u32 + 1,
                        student: self.students.id(list[position]).to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Records that the entry now read defines `id`.
    fn define_student(&mut self, id: &str) {
        let (index, _) = self.students.intern(id);
        let entry = self.student_ids.len() as u32;
        if !define(&mut self.student_entries, index, entry) && self.repeated_student.is_none() {
            self.repeated_student = Some(InstanceError::DuplicateStudentId {
                id: id.to_owned(),
                first_entry: self.student_entries[index as usize] + 1,
                entry: entry + 1,
            });
        }
        self.student_ids.push(index);
        self.preference_offsets
            .push(self.preference_bases.len() as u32);
    }

    fn define_base(&mut self, id: &str, seats: u32) {
        let (index, _) = self.bases.intern(id);
        let entry = self.base_ids.len() as u32;
        if !define(&mut self.base_entries, index, entry) && self.repeated_base.is_none() {
            self.repeated_base = Some(InstanceError::DuplicateBaseId {
                id: id.to_owned(),
                first_entry: self.base_entries[index as usize] + 1,
                entry: entry + 1,
            });
        }
        self.base_ids.push(index);
        self.seats.push(seats);
        self.ranking_offsets.push(self.ranked_students.len() as u32);
    }
}

/// Sets `entries[index]` to `entry` unless it already has one; `false` if it had.
fn define(entries: &mut Vec<u32>, index: u32, entry: u32) -> bool {
    let index = index as usize;
    if entries.len() <= index {
        entries.resize(index + 1, NO_ENTRY);
    }
    if entries[index] != NO_ENTRY {
        return false;
    }
    entries[index] = entry;
    true
}

/// The table with its ids in entry order, and whether that changed their indices.
fn in_entry_order(table: IdTable, ids_by_entry: &[u32]) -> (IdTable, bool) {
    let in_order = ids_by_entry
        .iter()
        .enumerate()
        .all(|(entry, &index)| index as usize == entry);
    if in_order {
        return (table, false);
    }
    match IdTable::new(ids_by_entry.iter().map(|&index| table.id(index))) {
        Ok(ordered) => (ordered, true),
        // Every entry's id is distinct once the repeated ids are refused.
        Err(_) => (table, false),
    }
}

fn renumber(indices: &mut [u32], entries: &[u32]) {
    for index in indices {
        *index = entries[*index as usize];
    }
}

/// The reading thread's end of the way to the indexing thread.
struct Reading<'a> {
    chunk: Vec<Found<'a>>,
    sender: SyncSender<Vec<Found<'a>>>,
    given_back: Receiver<Vec<Found<'a>>>,
    /// The first base whose capacity is not a count of seats, for `InstanceLists`.
    invalid_capacity: Option<InstanceError>,
}

impl<'a> Reading<'a> {
    fn push(&mut self, found: Found<'a>) {
        self.chunk.push(found);
        if self.chunk.len() == CHUNK {
            let next = self
                .given_back
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
            let full = mem::replace(&mut self.chunk, next);
            self.send(full);
        }
    }

    fn send(&self, chunk: Vec<Found<'a>>) {
        // Fails only if the indexing thread has panicked; `parse` passes the panic on.
        let _ = self.sender.send(chunk);
    }

    /// The seats of a base entry, recording the first capacity that is not a count of them.
    fn seats(&mut self, id: &str, capacity: &serde_json::Number) -> u32 {
        let seats = capacity
            .as_u64()
            .and_then(|capacity| u32::try_from(capacity).ok());
        if seats.is_none() && self.invalid_capacity.is_none() {
            self.invalid_capacity = Some(InstanceError::InvalidCapacity {
                base: id.to_owned(),
                capacity: capacity.to_string(),
            });
        }
        seats.unwrap_or(0)
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        if !self.chunk.is_empty() {
            let last = mem::take(&mut self.chunk);
            self.send(last);
        }
    }
}

struct InstanceVisitor<'r, 'a> {
    reading: &'r mut Reading<'a>,
}

impl<'de> Visitor<'de> for InstanceVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an instance with students and bases")
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<(), M::Error> {
        let (mut students, mut bases) = (false, false);
        while let Some(key) = map.next_key::<BorrowedString<'de>>()? {
            match key.0.as_ref() {
                "students" => {
                    if std::mem::replace(&mut students, true) {
                        return Err(de::Error::duplicate_field("students"));
                    }
                    map.next_value_seed(Entries {
                        visitor: &mut self,
                        kind: EntryKind::Student,
                    })?;
                }
                "bases" => {
                    if std::mem::replace(&mut bases, true) {
                        return Err(de::Error::duplicate_field("bases"));
                    }
                    map.next_value_seed(Entries {
                        visitor: &mut self,
                        kind: EntryKind::Base,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !students {
            return Err(de::Error::missing_field("students"));
        }
        if !bases {
            return Err(de::Error::missing_field("bases"));
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum EntryKind {
    Student,
    Base,
}

/// The list of students or of bases.
struct Entries<'v, 'l, 'a> {
    visitor: &'v mut InstanceVisitor<'l, 'a>,
    kind: EntryKind,
}

impl<'de> DeserializeSeed<'de> for Entries<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a sequence")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut sequence: S) -> Result<(), S::Error> {
        while sequence
            .next_element_seed(Entry {
                visitor: &mut *self.visitor,
                kind: self.kind,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One student or base.
struct Entry<'v, 'l, 'a> {
    visitor: &'v mut InstanceVisitor<'l, 'a>,
    kind: EntryKind,
}

impl<'de> DeserializeSeed<'de> for Entry<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Entry<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self.kind {
            EntryKind::Student => "struct StudentEntry",
            EntryKind::Base => "struct BaseRecord",
        })
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let reading = &mut *self.visitor.reading;
        let mut id: Option<Cow<'de, str>> = None;
        let mut capacity: Option<serde_json::Number> = None;
        let mut seen = Fields::default();
        while let Some(key) = map.next_key::<BorrowedString<'de>>()? {
            match (self.kind, key.0.as_ref()) {
                (_, "id") => {
                    seen.first("id")?;
                    id = Some(map.next_value::<BorrowedString<'de>>()?.0);
                }
                (EntryKind::Student, "preferences") => {
                    seen.first("preferences")?;
                    map.next_value_seed(IdList {
                        reading: &mut *reading,
                        found: Found::Preference,
                    })?;
                }
                (EntryKind::Student, "university") => {
                    seen.first("university")?;
                    map.next_value::<Option<AnyString>>()?;
                }
                (EntryKind::Student, "program") => {
                    seen.first("program")?;
                    map.next_value::<Option<AnyString>>()?;
                }
                (EntryKind::Student, "score") => {
                    seen.first("score")?;
                    map.next_value::<Option<f64>>()?;
                }
                (EntryKind::Base, "programs") => {
                    seen.first("programs")?;
                    map.next_value::<Strings>()?;
                }
                (EntryKind::Base, "capacity") => {
                    seen.first("capacity")?;
                    capacity = Some(map.next_value()?);
                }
                (EntryKind::Base, "ranking") => {
                    seen.first("ranking")?;
                    map.next_value_seed(IdList {
                        reading: &mut *reading,
                        found: Found::Ranked,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let id = id.ok_or_else(|| de::Error::missing_field("id"))?;
        match self.kind {
            EntryKind::Student => reading.push(Found::Student(id)),
            EntryKind::Base => {
                let capacity = capacity.ok_or_else(|| de::Error::missing_field("capacity"))?;
                let seats = reading.seats(&id, &capacity);
                reading.push(Found::Base(id, seats));
            }
        }
        Ok(())
    }
}

/// The fields of an entry read so far: a field given twice is malformed, as serde's derived
/// readers have it. Kept in place rather than in a `Vec`: a national instance has a
/// million entries.
#[derive(Default)]
struct Fields {
    /// A student entry has five fields, a base entry four.
    names: [&'static str; 5],
    count: usize,
}

impl Fields {
    fn first<E: de::Error>(&mut self, field: &'static str) -> Result<(), E> {
        if self.names[..self.count].contains(&field) {
            return Err(E::duplicate_field(field));
        }
        self.names[self.count] = field;
        self.count += 1;
        Ok(())
    }
}

/// A list of ids, each handed to the indexing thread as what `found` makes of it.
struct IdList<'r, 'a, F> {
    reading: &'r mut Reading<'a>,
    found: F,
}

impl<'de, F: Fn(Cow<'de, str>) -> Found<'de>> DeserializeSeed<'de> for IdList<'_, 'de, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: Fn(Cow<'de, str>) -> Found<'de>> Visitor<'de> for IdList<'_, 'de, F> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a list of id strings")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut sequence: S) -> Result<(), S::Error> {
        while let Some(BorrowedString(id)) = sequence.next_element()? {
            self.reading.push((self.found)(id));
        }
        Ok(())
    }
}

/// A string that is checked and dropped.
struct AnyString;

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyStringVisitor;

        impl Visitor<'_> for AnyStringVisitor {
            type Value = AnyString;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyString, E> {
                Ok(AnyString)
            }
        }

        deserializer.deserialize_str(AnyStringVisitor)
    }
}

/// A list of strings that is checked and dropped.
struct Strings;

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringsVisitor;

        impl<'de> Visitor<'de> for StringsVisitor {
            type Value = Strings;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list of id strings")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut sequence: S) -> Result<Strings, S::Error> {
                while sequence.next_element::<AnyString>()?.is_some() {}
                Ok(Strings)
            }
        }

        deserializer.deserialize_seq(StringsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{generate, run, Instance};

    const INSTANCE: &str = r#"{
        "students": [
            {"id": "S1", "university": "USST", "program": "P03", "score": 87.5, "preferences": ["B2", "B1"]},
            {"preferences": ["B1"], "id": "S2", "note": {"any": [1, 2]}},
            {"id": "S3"}
        ],
        "bases": [
            {"id": "B1", "programs": ["P03"], "capacity": 1, "ranking": ["S2", "S1"]},
            {"id": "B2", "capacity": 2, "ranking": ["S3", "S1"]}
        ]
    }"#;

    fn indexed(json: &str) -> IndexedMarket {
        InstanceLists::parse(json)
            .and_then(InstanceLists::index)
            .unwrap()
    }

    fn assert_same_as_instance(json: &str) {
        let read = indexed(json);
        let parsed = Instance::parse(json).unwrap().index().unwrap();
        assert_eq!(read.market, parsed.market);
        for student in 0..parsed.market.student_count() as u32 {
            assert_eq!(read.student_id(student), parsed.student_id(student));
        }
        for base in 0..parsed.market.base_count() as u32 {
            assert_eq!(read.base_id(base), parsed.base_id(base));
        }
    }

    #[test]
    fn numbers_students_and_bases_in_entry_order() {
        let read = indexed(INSTANCE);
        assert_eq!(read.base_index("B1"), Some(0));
        assert_eq!(read.base_index("B2"), Some(1));
        assert_eq!(read.student_index("S3"), Some(2));
        assert_eq!(read.market.preferences(0), &[1, 0]);
        assert_eq!(read.market.ranking(1), &[2, 0]);
        assert_eq!(read.market.rank_at(0, 0), Some(2));
        assert_same_as_instance(INSTANCE);
    }

    #[test]
    fn bases_may_come_before_students() {
        let swapped = r#"{
            "bases": [
                {"id": "B1", "programs": ["P03"], "capacity": 1, "ranking": ["S2", "S1"]},
                {"id": "B2", "capacity": 2, "ranking": ["S3", "S1"]}
            ],
            "students": [
                {"id": "S1", "preferences": ["B2", "B1"]},
                {"id": "S2", "preferences": ["B1"]},
                {"id": "S3"}
            ]
        }"#;
        let read = indexed(swapped);
        assert_eq!(read.student_index("S1"), Some(0));
        assert_eq!(read.student_id(1), "S2");
        assert_eq!(read.market.ranking(0), &[1, 0]);
        assert_same_as_instance(swapped);
        assert_eq!(run(&read.market), run(&indexed(INSTANCE).market));
    }

    #[test]
    fn ids_with_escapes_are_read() {
        let json = INSTANCE.replace(r#""S3""#, r#""S\u00e93""#);
        let read = indexed(&json);
        assert_eq!(read.student_id(2), "Sé3");
        assert_eq!(read.market.ranking(1), &[2, 0]);
        assert_same_as_instance(&json);
    }

    /// A generated instance of 3,000 students, whose 24,000 preferences and as many
    /// ranking entries pass to the indexing thread in a dozen chunks.
    fn generated() -> String {
        let instance = generate(3_000, 120, 11, 8, 0.9);
        serde_json::to_string(&instance).unwrap()
    }

    #[test]
    fn an_instance_of_many_chunks_reads_as_the_whole_instance_does() {
        let json = generated();
        assert_same_as_instance(&json);
        let (students, bases) = json
            .trim_start_matches(r#"{"students":"#)
            .trim_end_matches('}')
            .split_once(r#","bases":"#)
            .unwrap();
        let bases_first = format!(r#"{{"bases":{bases},"students":{students}}}"#);
        assert_same_as_instance(&bases_first);
        assert_eq!(
            run(&indexed(&json).market),
            run(&indexed(&bases_first).market)
        );
    }

    #[test]
    fn an_error_far_into_the_file_is_the_one_reported() {
        let json = generated();
        let last_ranked = json.rfind(r#""S0001234""#).unwrap();
        assert!(last_ranked > json.find(r#""bases""#).unwrap());
        let mut broken = json.clone();
        broken.replace_range(last_ranked..last_ranked + 10, r#""S9999999""#);
        let error = InstanceLists::parse(&broken)
            .and_then(InstanceLists::index)
            .err()
            .unwrap();
        let expected = Instance::parse(&broken).unwrap().index().err().unwrap();
        assert_eq!(error.to_string(), expected.to_string());
        assert!(error.to_string().contains("S9999999"), "{error}");

        let truncated = &json[..json.len() - 2];
        let error = InstanceLists::parse(truncated).err().unwrap();
        let expected = Instance::parse(truncated).err().unwrap();
        assert_eq!(error.to_string(), expected.to_string());
        assert!(error.to_string().contains("EOF"), "{error}");
    }

    /// The error of `json` from this reader, checked to be word for word `Instance`'s.
    fn error_as_instance_has_it(json: &str) -> String {
        let error = InstanceLists::parse(json)
            .and_then(InstanceLists::index)
            .err()
            .unwrap();
        let expected = match Instance::parse(json) {
            Ok(instance) => instance.index().err().unwrap(),
            Err(error) => error,
        };
        assert_eq!(error.to_string(), expected.to_string());
        error.to_string()
    }

    /// Sets the capacity of the last base entry that starts before `before` to `capacity`;
    /// answers where that entry's capacity is.
    fn set_capacity(json: &mut String, before: usize, capacity: &str) -> usize {
        let key = r#""capacity":"#;
        let at = json[..before].rfind(key).unwrap();
        let start = at + key.len();
        let end = start + json[start..].find([',', '}']).unwrap();
        json.replace_range(start..end, capacity);
        at
    }

    #[test]
    fn errors_found_on_either_thread_keep_their_precedence() {
        let json = generated();
        // The indexing thread finds a repeated student id in the first chunk ...
        let repeated = json.replacen(r#""id":"S0000001""#, r#""id":"S0000000""#, 1);
        assert_ne!(repeated, json);
        assert!(error_as_instance_has_it(&repeated).contains("student id S0000000 appears twice"));
        // ... the reading thread two capacities that are no counts of seats, in the last
        // chunks: the first of them is reported, before the repeated id.
        let mut capacities = repeated.clone();
        let last = set_capacity(&mut capacities, repeated.len(), "-3");
        set_capacity(&mut capacities, last, "1.5");
        let error = error_as_instance_has_it(&capacities);
        assert!(error.contains("capacity 1.5 is not"), "{error}");
        // ... and a file that is not well-formed JSON is reported as such, before both.
        let error = error_as_instance_has_it(&capacities[..capacities.len() - 1]);
        assert!(error.contains("EOF"), "{error}");
    }

    #[test]
    fn a_field_given_twice_is_malformed() {
        let json = INSTANCE.replace(r#""id": "S3""#, r#""id": "S3", "id": "S4""#);
        let error = InstanceLists::parse(&json).err().unwrap();
        assert!(
            error.to_string().contains("duplicate field `id`"),
            "{error}"
        );
    }

    #[test]
    fn the_first_error_in_file_order_is_reported() {
        let json = INSTANCE
            .replace(r#""B2", "B1""#, r#""B7", "B1""#)
            .replace(r#""S3", "S1""#, r#""S9", "S1""#);
        let error = InstanceLists::parse(&json)
            .and_then(InstanceLists::index)
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "student S1: preference 1 names unknown base B7"
        );
    }
}

//! A compact map between string ids and dense indices.
//!
//! Resolving a million-student instance looks up some 16 million ids, each at a random
//! place, so lookups are bound by memory latency: a `HashMap<&str, u32>` whose keys point
//! into the JSON text costs several cache misses per lookup (bucket, then the key's text).
//! Here a slot holds an id of up to 11 bytes itself, so a lookup of such an id reads one
//! slot; a longer id is stored as its hash and checked against a copy of the ids kept one
//! after another. The hash is foldhash, seeded at random for each table: several times
//! faster than std's SipHash on ids this short, and still unknown to whoever writes the
//! file, who therefore cannot aim ids at one probe sequence.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;

const INLINE_CAPACITY: usize = 11;
/// First key byte of an id too long to be kept in its slot; above any inline length.
const LONG_ID: u8 = u8::MAX;
/// Ids hashed, and their slots requested from memory, before the first of them is probed
/// for.
const LOOKUP_BATCH: usize = 16;

#[derive(Debug, Clone)]
pub(crate) struct IdTable {
    /// Every id, one after another; id `i` is `text[offsets[i]..offsets[i + 1]]`.
    text: String,
    offsets: Vec<usize>,
    /// Open addressing with linear probing, at most half full.
    slots: Vec<Slot>,
    hasher: RandomState,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// 0 for an empty slot.
    index_plus_one: u32,
    key: SlotKey,
}

/// An id of up to `INLINE_CAPACITY` bytes as its length and bytes; a longer id as
/// `LONG_ID` and its hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SlotKey([u8; INLINE_CAPACITY + 1]);

impl SlotKey {
    fn new(id: &str, hash: u64) -> Self {
        let mut key = [0; INLINE_CAPACITY + 1];
        let bytes = id.as_bytes();
        if bytes.len() <= INLINE_CAPACITY {
            key[0] = bytes.len() as u8;
            key[1..=bytes.len()].copy_from_slice(bytes);
        } else {
            key[0] = LONG_ID;
            key[1..9].copy_from_slice(&hash.to_le_bytes());
        }
        Self(key)
    }

    fn is_whole_id(&self) -> bool {
        self.0[0] != LONG_ID
    }
}

/// An id that occurs twice, with the 0-based positions of both occurrences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepeatedId {
    pub(crate) id: String,
    pub(crate) first: u32,
    pub(crate) second: u32,
}

impl IdTable {
    /// Indexes `ids` in order. The caller guarantees fewer than `u32::MAX` ids.
    pub(crate) fn new<'a>(
        ids: impl ExactSizeIterator<Item = &'a str> + Clone,
    ) -> Result<Self, RepeatedId> {
        let mut table = Self::with_capacity(ids.len(), ids.clone().map(str::len).sum());
        for (index, id) in (0u32..).zip(ids) {
            let (existing, added) = table.intern_hashed(id, table.hasher.hash_one(id));
            if !added {
                return Err(RepeatedId {
                    id: id.to_owned(),
                    first: existing,
                    second: index,
                });
            }
        }
        Ok(table)
    }

    /// An empty table with room for `count` ids of `text_len` bytes in all before it grows.
    pub(crate) fn with_capacity(count: usize, text_len: usize) -> Self {
        let mut offsets = Vec::with_capacity(count + 1);
        offsets.push(0);
        IdTable {
            text: String::with_capacity(text_len),
            offsets,
            slots: vec![Slot::default(); (count * 2).next_power_of_two().max(8)],
            hasher: RandomState::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The index of `id`, adding it as the next index if it is new; `true` when it was
    /// added. The caller guarantees fewer than `u32::MAX` ids.
    pub(crate) fn intern(&mut self, id: &str) -> (u32, bool) {
        self.intern_hashed(id, self.hasher.hash_one(id))
    }

    /// [`IdTable::intern`] for every id of `ids`, appending their indices to `indices`.
    /// Hashes and prefetches a batch of ids before probing for any, as
    /// [`IdTable::get_all`] does.
    pub(crate) fn intern_all<S: AsRef<str>>(&mut self, ids: &[S], indices: &mut Vec<u32>) {
        let mut hashes = [0u64; LOOKUP_BATCH];
        for batch in ids.chunks(LOOKUP_BATCH) {
            self.hash_and_prefetch(batch, &mut hashes);
            for (id, &hash) in batch.iter().zip(&hashes) {
                indices.push(self.intern_hashed(id.as_ref(), hash).0);
            }
        }
    }

    fn intern_hashed(&mut self, id: &str, hash: u64) -> (u32, bool) {
        let free_slot = match self.find(id, hash) {
            Ok(existing) => return (existing, false),
            Err(free_slot) => free_slot,
        };
        let index = self.len() as u32;
        self.text.push_str(id);
        self.offsets.push(self.text.len());
        let slot = Slot {
            index_plus_one: index + 1,
            key: SlotKey::new(id, hash),
        };
        // At most half full, so that probe sequences stay short.
        if self.len() * 2 > self.slots.len() {
            self.grow();
        } else {
            self.slots[free_slot] = slot;
            return (index, true);
        }
        let position = self.free_position(hash);
        self.slots[position] = slot;
        (index, true)
    }

    /// Doubles the slots and places every id but the last one added, which the caller
    /// places.
    fn grow(&mut self) {
        self.slots = vec![Slot::default(); self.slots.len() * 2];
        for index in 0..self.len() as u32 - 1 {
            let id = self.id(index);
            let hash = self.hasher.hash_one(id);
            let slot = Slot {
                index_plus_one: index + 1,
                key: SlotKey::new(id, hash),
            };
            let position = self.free_position(hash);
            self.slots[position] = slot;
        }
    }

    fn free_position(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut position = hash as usize & mask;
        while self.slots[position].index_plus_one != 0 {
            position = (position + 1) & mask;
        }
        position
    }

    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        self.find(id, self.hasher.hash_one(id)).ok()
    }

    /// Appends the indices of `ids` to `indices`; on an unknown id, returns its position in
    /// `ids`. Hashes and prefetches a batch of ids before probing for any, so that the
    /// processor waits for several slots from memory at once rather than one after another.
    pub(crate) fn get_all<S: AsRef<str>>(
        &self,
        ids: &[S],
        indices: &mut Vec<u32>,
    ) -> Result<(), usize> {
        let mut hashes = [0u64; LOOKUP_BATCH];
        for (batch_number, batch) in ids.chunks(LOOKUP_BATCH).enumerate() {
            self.hash_and_prefetch(batch, &mut hashes);
            for (offset, (id, &hash)) in batch.iter().zip(&hashes).enumerate() {
                let index = self
                    .find(id.as_ref(), hash)
                    .map_err(|_| batch_number * LOOKUP_BATCH + offset)?;
                indices.push(index);
            }
        }
        Ok(())
    }

    /// Hashes every id of `batch` into `hashes` and asks for the first slot of each: in a
    /// table of a million ids nearly every lookup misses the cache.
    fn hash_and_prefetch<S: AsRef<str>>(&self, batch: &[S], hashes: &mut [u64; LOOKUP_BATCH]) {
        let mask = self.slots.len() - 1;
        for (hash, id) in hashes.iter_mut().zip(batch) {
            *hash = self.hasher.hash_one(id.as_ref());
            prefetch(&self.slots[*hash as usize & mask]);
        }
    }

    /// # Panics
    /// If `index` is not below the number of ids.
    pub(crate) fn id(&self, index: u32) -> &str {
        let index = index as usize;
        &self.text[self.offsets[index]..self.offsets[index + 1]]
    }

    /// The index of `id`, or the empty slot where it would go.
    fn find(&self, id: &str, hash: u64) -> Result<u32, usize> {
        let key = SlotKey::new(id, hash);
        let mask = self.slots.len() - 1;
        let mut position = hash as usize & mask;
        loop {
            let slot = self.slots[position];
            if slot.index_plus_one == 0 {
                return Err(position);
            }
            let index = slot.index_plus_one - 1;
            if slot.key == key && (key.is_whole_id() || self.id(index) == id) {
                return Ok(index);
            }
            position = (position + 1) & mask;
        }
    }
}

/// Loads the start of `slot` without waiting for it: the loads of a batch are in flight
/// together, and the probes that follow find their slots in the cache.
fn prefetch(slot: &Slot) {
    std::hint::black_box(slot.index_plus_one);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_of(ids: &[String]) -> IdTable {
        IdTable::new(ids.iter().map(String::as_str)).unwrap()
    }

    #[test]
    fn maps_short_ids_to_their_positions_and_back() {
        let ids: Vec<String> = (0..1_000).map(|index| format!("S{index:07}")).collect();
        let table = table_of(&ids);
        for (index, id) in (0u32..).zip(&ids) {
            assert_eq!(table.get(id), Some(index));
            assert_eq!(table.id(index), id);
        }
        assert_eq!(table.get("S9999999"), None);
        assert_eq!(table.get("S000000"), None);
        assert_eq!(table.get(""), None);
    }

    #[test]
    fn maps_long_ids_that_share_a_prefix() {
        let ids: Vec<String> = (0..1_000)
            .map(|index| format!("0d6a1f0e-3b7c-4c1e-9a55-{index:012}"))
            .collect();
        let table = table_of(&ids);
        for (index, id) in (0u32..).zip(&ids) {
            assert_eq!(table.get(id), Some(index));
        }
        assert_eq!(table.get("0d6a1f0e-3b7c-4c1e-9a55-000000001000"), None);
    }

    #[test]
    fn ids_at_the_inline_limit_are_distinguished() {
        let ids = [
            "12345678901".to_owned(),
            "123456789012".to_owned(),
            "1234567890".to_owned(),
        ];
        let table = table_of(&ids);
        assert_eq!(table.get("12345678901"), Some(0));
        assert_eq!(table.get("123456789012"), Some(1));
        assert_eq!(table.get("1234567890"), Some(2));
        assert_eq!(table.get("1234567890123"), None);
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let table = IdTable::new(std::iter::empty()).unwrap();
        assert_eq!(table.get("B1"), None);
    }

    #[test]
    fn a_repeated_id_is_reported_with_both_positions() {
        let error = IdTable::new(["a", "b", "", "b"].into_iter()).unwrap_err();
        assert_eq!(
            error,
            RepeatedId {
                id: "b".to_owned(),
                first: 1,
                second: 3
            }
        );
        let long = "a-student-number-longer-than-a-slot";
        let error = IdTable::new([long, "x", long].into_iter()).unwrap_err();
        assert_eq!((error.first, error.second), (0, 2));
    }

    #[test]
    fn multibyte_ids_are_kept_whole() {
        let table = IdTable::new(["张伟", "B00007", "Zoë", "欧阳娜娜的学号"].into_iter()).unwrap();
        assert_eq!(table.get("Zoë"), Some(2));
        assert_eq!(table.get("欧阳娜娜的学号"), Some(3));
        assert_eq!(table.id(0), "张伟");
    }

    #[test]
    fn interning_grows_the_table_and_keeps_every_index() {
        let mut table = IdTable::with_capacity(0, 0);
        let ids: Vec<String> = (0..5_000)
            .map(|index| {
                if index % 3 == 0 {
                    format!("a-student-number-longer-than-a-slot-{index}")
                } else {
                    format!("S{index}")
                }
            })
            .collect();
        for (index, id) in (0u32..).zip(&ids) {
            assert_eq!(table.intern(id), (index, true));
        }
        let mut indices = Vec::new();
        table.intern_all(&ids[10..40], &mut indices);
        assert_eq!(indices, (10..40).collect::<Vec<u32>>());
        table.intern_all(&["S10", "new", "S11", "new"], &mut indices);
        assert_eq!(&indices[30..], &[10, 5_000, 11, 5_000]);
        assert_eq!(table.len(), 5_001);
        for (index, id) in (0u32..).zip(&ids) {
            assert_eq!(table.get(id), Some(index));
            assert_eq!(table.id(index), id);
        }
    }
}

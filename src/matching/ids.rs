//! A compact map between string ids and dense indices.
//!
//! Resolving a million-student instance looks up some 16 million ids, each at a random
//! place, so lookups are bound by memory latency: a `HashMap<&str, u32>` whose keys point
//! into the JSON text costs several cache misses per lookup (bucket, then the key's text).
//! Here a slot holds an id of up to 11 bytes itself, so a lookup of such an id reads one
//! slot; a longer id is stored as its hash and checked against a copy of the ids kept one
//! after another. The hash is std's keyed SipHash, so a crafted file cannot force
//! collisions.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

const INLINE_CAPACITY: usize = 11;
/// First key byte of an id too long to be kept in its slot; above any inline length.
const LONG_ID: u8 = u8::MAX;

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
        let count = ids.len();
        let mut table = IdTable {
            text: String::with_capacity(ids.clone().map(str::len).sum()),
            offsets: Vec::with_capacity(count + 1),
            slots: vec![Slot::default(); (count * 2).next_power_of_two().max(8)],
            hasher: RandomState::new(),
        };
        table.offsets.push(0);
        for (index, id) in (0u32..).zip(ids) {
            let hash = table.hasher.hash_one(id);
            match table.find(id, hash) {
                Ok(existing) => {
                    return Err(RepeatedId {
                        id: id.to_owned(),
                        first: existing,
                        second: index,
                    })
                }
                Err(free_slot) => {
                    table.slots[free_slot] = Slot {
                        index_plus_one: index + 1,
                        key: SlotKey::new(id, hash),
                    }
                }
            }
            table.text.push_str(id);
            table.offsets.push(table.text.len());
        }
        Ok(table)
    }

    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        self.find(id, self.hasher.hash_one(id)).ok()
    }

    /// Appends the indices of `ids` to `indices`; on an unknown id, returns its position in
    /// `ids`. Hashes a batch of ids before probing for any, so that the processor can wait
    /// for several slots from memory at once.
    pub(crate) fn get_all<S: AsRef<str>>(
        &self,
        ids: &[S],
        indices: &mut Vec<u32>,
    ) -> Result<(), usize> {
        const BATCH: usize = 16;
        let mut hashes = [0u64; BATCH];
        for (batch_number, batch) in ids.chunks(BATCH).enumerate() {
            for (hash, id) in hashes.iter_mut().zip(batch) {
                *hash = self.hasher.hash_one(id.as_ref());
            }
            for (offset, (id, &hash)) in batch.iter().zip(&hashes).enumerate() {
                let index = self
                    .find(id.as_ref(), hash)
                    .map_err(|_| batch_number * BATCH + offset)?;
                indices.push(index);
            }
        }
        Ok(())
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
}

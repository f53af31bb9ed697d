//! Copy-on-write containers that let a matrix snapshot share everything an update does not
//! touch.
//!
//! Cloning a container copies a handful of `Arc`s; changing one entry copies only the shard or
//! chunk that holds it (and only when an older snapshot still shares it).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::size_of;
use std::sync::Arc;

/// Passes a key that is already a good 64-bit hash straight through.
#[derive(Default, Clone, Copy)]
pub(crate) struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Mixes small integer keys (group ids) so both ends of the hash are well spread.
#[derive(Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0 ^ u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        // splitmix64's finaliser.
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }
}

/// A value stored under a string key.
pub(crate) trait Keyed {
    fn key(&self) -> &str;

    /// `self.key() == key`; a value may answer without following a pointer.
    #[inline]
    fn is_key(&self, key: &str) -> bool {
        self.key() == key
    }
}

/// One hash value; more than one entry only on a (vanishingly rare) 64-bit collision.
#[derive(Clone)]
enum Slot<V> {
    One(Arc<V>),
    Many(Vec<Arc<V>>),
}

type Shard<V> = HashMap<u64, Slot<V>, BuildHasherDefault<PrehashedHasher>>;

/// A top-level node of a [`ShardedMap`]: its list of shards.
type Node<V> = Arc<Vec<Arc<Shard<V>>>>;

/// A string-keyed map split into shards, each shared between snapshots until written.
///
/// Callers hash the key once (with the matrix's keyed SipHash) and pass the hash along with
/// the key: the shard is chosen by middle bits of the hash and the shard's table is keyed by
/// the hash itself, so a lookup hashes the string exactly once.
///
/// The shards hang off a two-level tree (about ∛n/2 nodes of ∛n/2 shards of 4∛n entries),
/// so a write copies (when an older snapshot still shares them) two short lists of `Arc`s and
/// one small table instead of one long list or one big table.
pub(crate) struct ShardedMap<V> {
    tree: Arc<Vec<Node<V>>>,
    /// log2 of the number of shards below one top-level node.
    mid_bits: u32,
    /// Number of shards minus one.
    mask: usize,
    len: usize,
}

impl<V> Clone for ShardedMap<V> {
    fn clone(&self) -> Self {
        ShardedMap {
            tree: Arc::clone(&self.tree),
            mid_bits: self.mid_bits,
            mask: self.mask,
            len: self.len,
        }
    }
}

/// Shards per level for about `expected` entries: a power of two near half the cube root,
/// which leaves about 8 × fan-out entries per shard. Smaller shards would make writes a little
/// cheaper but spread lookups over more shard headers.
fn fanout_bits_for(expected: usize) -> u32 {
    let root = (expected as f64).cbrt() as usize / 2;
    root.next_power_of_two().clamp(8, 1 << 12).trailing_zeros()
}

impl<V: Keyed + Clone> ShardedMap<V> {
    /// An empty map sized for about `expected` entries.
    pub(crate) fn with_capacity(expected: usize) -> Self {
        let bits = fanout_bits_for(expected);
        let fanout = 1usize << bits;
        let per_shard = expected / (fanout * fanout) + 1;
        let tree = (0..fanout)
            .map(|_| {
                Arc::new(
                    (0..fanout)
                        .map(|_| {
                            Arc::new(Shard::with_capacity_and_hasher(
                                per_shard,
                                Default::default(),
                            ))
                        })
                        .collect(),
                )
            })
            .collect();
        ShardedMap {
            tree: Arc::new(tree),
            mid_bits: bits,
            mask: fanout * fanout - 1,
            len: 0,
        }
    }

    /// (top, mid) position of the shard for a hash. Middle bits of the hash: the table inside
    /// a shard uses the low bits for the bucket and the top seven bits as its tag.
    #[inline]
    fn position(&self, hash: u64) -> (usize, usize) {
        let i = ((hash >> 24) as usize) & self.mask;
        (i >> self.mid_bits, i & ((1usize << self.mid_bits) - 1))
    }

    #[inline]
    fn shard(&self, hash: u64) -> Option<&Shard<V>> {
        let (t, m) = self.position(hash);
        self.tree.get(t)?.get(m).map(|s| &**s)
    }

    /// The shard for a hash, made unique to this map along its path.
    fn shard_mut(&mut self, hash: u64) -> &mut Shard<V> {
        let (t, m) = self.position(hash);
        // In bounds by construction: `position` masks the hash to the tree's size.
        let mid = Arc::make_mut(&mut Arc::make_mut(&mut self.tree)[t]);
        Arc::make_mut(&mut mid[m])
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn get(&self, hash: u64, key: &str) -> Option<&V> {
        match self.shard(hash)?.get(&hash)? {
            Slot::One(v) => v.is_key(key).then_some(&**v),
            Slot::Many(vs) => vs.iter().find(|v| v.is_key(key)).map(|v| &**v),
        }
    }

    /// The value, made unique to this map (copying the shard and the value if shared).
    pub(crate) fn get_mut(&mut self, hash: u64, key: &str) -> Option<&mut V> {
        self.get(hash, key)?;
        let arc = match self.shard_mut(hash).get_mut(&hash)? {
            Slot::One(v) => {
                if v.key() == key {
                    v
                } else {
                    return None;
                }
            }
            Slot::Many(vs) => vs.iter_mut().find(|v| v.key() == key)?,
        };
        Some(Arc::make_mut(arc))
    }

    /// The value for `key`, inserted with `make` first if absent; made unique to this map.
    pub(crate) fn get_or_insert_with(
        &mut self,
        hash: u64,
        key: &str,
        make: impl Fn() -> V,
    ) -> &mut V {
        if self.get(hash, key).is_none() {
            // Exactly one of the two insertion paths below runs.
            self.len += 1;
            self.grow_if_crowded();
        }
        let slot = self
            .shard_mut(hash)
            .entry(hash)
            .or_insert_with(|| Slot::One(Arc::new(make())));
        Arc::make_mut(find_or_push(slot, key, make))
    }

    /// Inserts or replaces the value with the same key.
    pub(crate) fn insert(&mut self, hash: u64, value: Arc<V>) {
        let shard = self.shard_mut(hash);
        let mut added = true;
        match shard.get_mut(&hash) {
            None => {
                shard.insert(hash, Slot::One(value));
            }
            Some(Slot::One(v)) if v.key() == value.key() => {
                *v = value;
                added = false;
            }
            Some(slot @ Slot::One(_)) => {
                let old = std::mem::replace(slot, Slot::Many(Vec::new()));
                if let (Slot::One(old), Slot::Many(vs)) = (old, slot) {
                    vs.push(old);
                    vs.push(value);
                }
            }
            Some(Slot::Many(vs)) => match vs.iter_mut().find(|v| v.key() == value.key()) {
                Some(v) => {
                    *v = value;
                    added = false;
                }
                None => vs.push(value),
            },
        }
        if added {
            self.len += 1;
            self.grow_if_crowded();
        }
    }

    /// Removes the value with the key, if present.
    pub(crate) fn remove(&mut self, hash: u64, key: &str) -> Option<Arc<V>> {
        self.get(hash, key)?;
        let shard = self.shard_mut(hash);
        let removed = match shard.get_mut(&hash)? {
            Slot::One(_) => match shard.remove(&hash) {
                Some(Slot::One(v)) => Some(v),
                _ => None,
            },
            Slot::Many(vs) => {
                let pos = vs.iter().position(|v| v.key() == key)?;
                let v = vs.remove(pos);
                if vs.is_empty() {
                    shard.remove(&hash);
                }
                Some(v)
            }
        };
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    fn shards(&self) -> impl Iterator<Item = &Shard<V>> {
        self.tree.iter().flat_map(|mid| mid.iter().map(|s| &**s))
    }

    /// Every value, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.shards()
            .flat_map(|shard| {
                shard.values().flat_map(|slot| match slot {
                    Slot::One(v) => std::slice::from_ref(v).iter(),
                    Slot::Many(vs) => vs.iter(),
                })
            })
            .map(|v| &**v)
    }

    /// Approximate bytes of the tree and the shard tables (not of the values).
    pub(crate) fn table_bytes(&self) -> usize {
        let per_entry = size_of::<u64>() + size_of::<Slot<V>>() + 1;
        let nodes = self.tree.capacity() * size_of::<Node<V>>()
            + self
                .tree
                .iter()
                .map(|mid| mid.capacity() * size_of::<Arc<Shard<V>>>() + 16)
                .sum::<usize>();
        nodes
            + self
                .shards()
                .map(|s| {
                    s.capacity() * per_entry
                        + size_of::<Shard<V>>()
                        + 16
                        + s.values()
                            .map(|slot| match slot {
                                Slot::One(_) => 0,
                                Slot::Many(vs) => vs.capacity() * size_of::<Arc<V>>(),
                            })
                            .sum::<usize>()
                })
                .sum::<usize>()
    }

    /// Re-splits into more shards once they hold four times the intended size, so a write
    /// keeps copying O(∛n) entries as the map grows. Amortised over the growth.
    fn grow_if_crowded(&mut self) {
        let fanout = 1usize << self.mid_bits;
        if self.len
            <= fanout
                .saturating_mul(fanout)
                .saturating_mul(fanout)
                .saturating_mul(32)
        {
            return;
        }
        let bits = fanout_bits_for(self.len);
        if bits <= self.mid_bits {
            return;
        }
        let mut grown = ShardedMap::<V>::with_capacity(self.len);
        grown.len = self.len;
        let mut moved: Vec<(u64, Slot<V>)> = Vec::with_capacity(self.len);
        for shard in self.shards() {
            moved.extend(shard.iter().map(|(h, slot)| (*h, slot.clone())));
        }
        for (hash, slot) in moved {
            grown.shard_mut(hash).insert(hash, slot);
        }
        *self = grown;
    }
}

/// The entry for `key` in a slot, pushed with `make` if the slot holds only other keys.
fn find_or_push<'s, V: Keyed>(
    slot: &'s mut Slot<V>,
    key: &str,
    make: impl Fn() -> V,
) -> &'s mut Arc<V> {
    if let Slot::One(v) = slot
        && v.key() != key
    {
        let other = Arc::clone(v);
        *slot = Slot::Many(vec![other]);
    }
    match slot {
        Slot::One(v) => v,
        Slot::Many(vs) => {
            let pos = match vs.iter().position(|v| v.key() == key) {
                Some(pos) => pos,
                None => {
                    vs.push(Arc::new(make()));
                    vs.len() - 1
                }
            };
            &mut vs[pos]
        }
    }
}

const CHUNK: usize = 64;

/// A vector split into chunks of 64 shared elements; a write copies one chunk of `Arc`s.
pub(crate) struct ChunkedVec<T> {
    chunks: Arc<Vec<Arc<Vec<Arc<T>>>>>,
    len: usize,
}

impl<T> Clone for ChunkedVec<T> {
    fn clone(&self) -> Self {
        ChunkedVec {
            chunks: Arc::clone(&self.chunks),
            len: self.len,
        }
    }
}

impl<T: Clone> ChunkedVec<T> {
    pub(crate) fn from_vec(items: Vec<T>) -> Self {
        let len = items.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut it = items.into_iter().map(Arc::new).peekable();
        while it.peek().is_some() {
            chunks.push(Arc::new(it.by_ref().take(CHUNK).collect::<Vec<_>>()));
        }
        ChunkedVec {
            chunks: Arc::new(chunks),
            len,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK).map(|a| &**a)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        let chunk = Arc::make_mut(Arc::make_mut(&mut self.chunks).get_mut(i / CHUNK)?);
        chunk.get_mut(i % CHUNK).map(Arc::make_mut)
    }

    pub(crate) fn push(&mut self, item: T) {
        let chunks = Arc::make_mut(&mut self.chunks);
        match chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(Arc::new(item)),
            _ => chunks.push(Arc::new(vec![Arc::new(item)])),
        }
        self.len += 1;
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter().map(|a| &**a))
    }

    /// Approximate bytes of the chunk structure (not of the elements' own heap data).
    pub(crate) fn table_bytes(&self) -> usize {
        self.chunks.capacity() * size_of::<Arc<Vec<Arc<T>>>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * size_of::<Arc<T>>() + c.len() * (size_of::<T>() + 16))
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[derive(Clone, Debug, PartialEq)]
    struct Row(String, u32);
    impl Keyed for Row {
        fn key(&self) -> &str {
            &self.0
        }
    }

    #[test]
    fn sharded_map_is_copy_on_write() {
        let hasher = std::collections::hash_map::RandomState::new();
        let h = |s: &str| hasher.hash_one(s);
        let mut map: ShardedMap<Row> = ShardedMap::with_capacity(0);
        for i in 0..20_000u32 {
            let key = format!("user{i}");
            map.insert(h(&key), Arc::new(Row(key, i)));
        }
        assert_eq!(map.len(), 20_000);
        assert!(map.mid_bits > 3, "the tree grew past its initial size");
        let snapshot = map.clone();
        map.get_mut(h("user7"), "user7").unwrap().1 = 70;
        map.remove(h("user8"), "user8");
        map.get_or_insert_with(h("new"), "new", || Row("new".into(), 1))
            .1 += 1;
        assert_eq!(map.get(h("user7"), "user7").unwrap().1, 70);
        assert_eq!(snapshot.get(h("user7"), "user7").unwrap().1, 7);
        assert!(map.get(h("user8"), "user8").is_none());
        assert!(snapshot.get(h("user8"), "user8").is_some());
        assert_eq!(map.get(h("new"), "new").unwrap().1, 2);
        assert!(snapshot.get(h("new"), "new").is_none());
        assert_eq!(map.len(), 20_000);
        assert_eq!(snapshot.values().count(), 20_000);
        assert!(map.get(h("nobody"), "nobody").is_none());
    }

    #[test]
    fn sharded_map_handles_colliding_hashes() {
        let mut map: ShardedMap<Row> = ShardedMap::with_capacity(4);
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            map.insert(42, Arc::new(Row(key.into(), i as u32)));
        }
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(42, "b").unwrap().1, 1);
        map.get_mut(42, "c").unwrap().1 = 9;
        map.get_or_insert_with(42, "d", || Row("d".into(), 4));
        assert_eq!(map.get(42, "c").unwrap().1, 9);
        assert_eq!(map.remove(42, "a").unwrap().1, 0);
        assert!(map.get(42, "a").is_none());
        assert_eq!(map.len(), 3);
        assert_eq!(map.values().count(), 3);
        map.insert(42, Arc::new(Row("b".into(), 5)));
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(42, "b").unwrap().1, 5);
    }

    #[test]
    fn chunked_vec_is_copy_on_write() {
        let mut v = ChunkedVec::from_vec((0..200u32).collect());
        let snapshot = v.clone();
        *v.get_mut(130).unwrap() = 7;
        v.push(999);
        assert_eq!(v.get(130), Some(&7));
        assert_eq!(snapshot.get(130), Some(&130));
        assert_eq!(v.len(), 201);
        assert_eq!(snapshot.len(), 200);
        assert_eq!(v.get(200), Some(&999));
        assert_eq!(v.iter().count(), 201);
        assert!(v.get_mut(500).is_none());
    }
}

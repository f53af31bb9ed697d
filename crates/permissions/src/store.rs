//! The storage behind a matrix snapshot: a flat, immutable base and a shared, append-only
//! log of the rows changed since the base was built.
//!
//! * The **base** holds every customer user's sets in a few long arrays (compressed sparse
//!   rows): one hash table from login to the user's place, one array of effective entries,
//!   one of direct entries, one of customer ids. An entry is five bytes: the group (or user, or
//!   company) as a `u32` and a one-byte code into the matrix's palette of permission sets.
//!   Group reverse lists and company rows are one shared row each.
//! * The **log** holds replacement rows, appended by writers. Every snapshot knows how many
//!   entries it sees; each row id has a head pointing at its newest entry, and each entry
//!   points at the previous one for the same id, so a snapshot walks back to the newest entry
//!   it may see. Readers never lock: entries are write-once cells, heads are atomics.
//!   Writers append under a mutex, and only a snapshot that is the log's newest one appends in
//!   place; any other first folds its view into a new base (see `PermissionMatrix::merge`).
//!   When the log is full, the next write folds it into a new base too.

use std::hash::BuildHasher;
use std::mem::size_of;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use hashbrown::HashTable;

/// The hasher for logins and customer ids: foldhash, seeded at random per matrix lineage, so
/// keys chosen by an outsider cannot be aimed at one bucket without knowing the seed.
pub(crate) type KeyHasher = foldhash::fast::RandomState;

/// An id (group, user or company index) with the palette code of its permission set.
///
/// Packed to five bytes: the matrix holds millions of them.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[repr(C, packed)]
pub(crate) struct Ent {
    id: u32,
    code: u8,
}

impl Ent {
    #[inline]
    pub(crate) fn new(id: u32, code: u8) -> Self {
        Ent { id, code }
    }

    #[inline]
    pub(crate) fn id(self) -> u32 {
        self.id
    }

    #[inline]
    pub(crate) fn code(self) -> u8 {
        self.code
    }
}

/// The code stored for `id` in a list sorted by id.
#[inline]
pub(crate) fn find(list: &[Ent], id: u32) -> Option<u8> {
    // A branch-light lower bound: the lists are short (tens of entries).
    let i = list.partition_point(|e| e.id() < id);
    match list.get(i) {
        Some(e) if e.id() == id => Some(e.code()),
        _ => None,
    }
}

/// A copy of `items` with room for one more, for lists an update is about to change.
fn with_room<T: Copy>(items: &[T]) -> Vec<T> {
    let mut v = Vec::with_capacity(items.len() + 1);
    v.extend_from_slice(items);
    v
}

/// Sets or removes (`None`) the entry for `id` in a list sorted by id.
pub(crate) fn upsert(list: &mut Vec<Ent>, id: u32, code: Option<u8>) {
    let i = list.partition_point(|e| e.id() < id);
    let found = list.get(i).is_some_and(|e| e.id() == id);
    match (found, code) {
        (true, None) => {
            list.remove(i);
        }
        (true, Some(c)) => {
            if let Some(e) = list.get_mut(i) {
                *e = Ent::new(id, c);
            }
        }
        (false, Some(c)) => list.insert(i, Ent::new(id, c)),
        (false, None) => {}
    }
}

/// "No id" in the `u32` fields that may be empty (a user's primary company).
pub(crate) const NONE: u32 = u32::MAX;

/// A customer user's row as written by an update (the base stores the same in arrays).
#[derive(Clone, Debug, Default)]
pub(crate) struct UserRow {
    /// The login, for users the base does not know; `None` for base users.
    pub(crate) login: Option<Box<str>>,
    /// Direct grants united with the "same customer" grants of every customer id, by group.
    pub(crate) eff: Vec<Ent>,
    /// Direct grants, by group.
    pub(crate) direct: Vec<Ent>,
    /// Company indices, in the order given.
    pub(crate) cids: Vec<u32>,
    /// The primary company's index, or [`NONE`].
    pub(crate) primary: u32,
    pub(crate) valid: bool,
}

/// A company's row. Sets are palette codes, stored with `rw` already expanded.
#[derive(Clone, Debug)]
pub(crate) struct CompanyRow {
    pub(crate) id: Box<str>,
    pub(crate) valid: Option<bool>,
    /// "Same customer" grants, by group.
    pub(crate) same: Vec<Ent>,
    /// "Other customers" grants, by group.
    pub(crate) other: Vec<Ent>,
    /// Grants in named contexts: (group, context name, code).
    pub(crate) named: Vec<(u32, Box<str>, u8)>,
    /// Users that list this company among their customer ids.
    pub(crate) members: Vec<u32>,
    /// Users whose primary customer id this is.
    pub(crate) primary_members: Vec<u32>,
}

impl CompanyRow {
    pub(crate) fn new(id: &str) -> Self {
        CompanyRow {
            id: Box::from(id),
            valid: None,
            same: Vec::new(),
            other: Vec::new(),
            named: Vec::new(),
            members: Vec::new(),
            primary_members: Vec::new(),
        }
    }

    pub(crate) fn is_default(&self) -> bool {
        self.valid.is_none()
            && self.same.is_empty()
            && self.other.is_empty()
            && self.named.is_empty()
            && self.members.is_empty()
            && self.primary_members.is_empty()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        size_of::<CompanyRow>()
            + 16
            + self.id.len()
            + (self.same.capacity() + self.other.capacity()) * size_of::<Ent>()
            + self.named.iter().map(|n| n.1.len()).sum::<usize>()
            + self.named.capacity() * size_of::<(u32, Box<str>, u8)>()
            + (self.members.capacity() + self.primary_members.capacity()) * size_of::<u32>()
    }
}

/// A group's reverse lists: who holds a direct grant (by user) and which companies hold a
/// "same customer" grant (by company).
#[derive(Clone, Debug, Default)]
pub(crate) struct RevRow {
    pub(crate) direct: Vec<Ent>,
    pub(crate) same: Vec<Ent>,
}

impl RevRow {
    /// A copy to change: room for one more entry in each list, so the insert a grant makes
    /// does not reallocate the copy it has just made.
    pub(crate) fn to_update(&self) -> RevRow {
        RevRow {
            direct: with_room(&self.direct),
            same: with_room(&self.same),
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        size_of::<RevRow>()
            + 16
            + (self.direct.capacity() + self.same.capacity()) * size_of::<Ent>()
    }
}

/// A user's place in the base, kept in the hash table itself so a lookup reaches the login
/// and the effective entries without another array in between.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub(crate) user: u32,
    login_off: u32,
    login_len: u32,
    eff_off: u32,
    eff_len: u32,
}

/// A base the arrays of which would not fit `u32` offsets.
#[derive(Debug)]
pub(crate) struct TooLarge;

fn off(n: usize) -> Result<u32, TooLarge> {
    u32::try_from(n).map_err(|_| TooLarge)
}

/// The users of a base, in compressed sparse rows indexed by user id.
#[derive(Clone, Debug, Default)]
pub(crate) struct UserArrays {
    pub(crate) table: HashTable<Slot>,
    logins: Box<str>,
    login_offs: Box<[u32]>,
    eff: Box<[Ent]>,
    eff_offs: Box<[u32]>,
    direct: Box<[Ent]>,
    direct_offs: Box<[u32]>,
    cids: Box<[u32]>,
    cid_offs: Box<[u32]>,
    primary: Box<[u32]>,
    valid: Box<[bool]>,
}

/// A user's row read from wherever it lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserView<'a> {
    pub(crate) id: u32,
    pub(crate) login: &'a str,
    pub(crate) eff: &'a [Ent],
    pub(crate) direct: &'a [Ent],
    pub(crate) cids: &'a [u32],
    pub(crate) primary: u32,
    pub(crate) valid: bool,
}

impl UserView<'_> {
    /// A row that says nothing beyond what an unknown login means.
    pub(crate) fn is_default(&self) -> bool {
        self.valid && self.primary == NONE && self.cids.is_empty() && self.direct.is_empty()
    }

    pub(crate) fn to_row(self, keep_login: bool) -> UserRow {
        UserRow {
            login: keep_login.then(|| Box::from(self.login)),
            eff: with_room(self.eff),
            direct: with_room(self.direct),
            cids: self.cids.to_vec(),
            primary: self.primary,
            valid: self.valid,
        }
    }
}

fn range<'a, T>(items: &'a [T], offs: &[u32], i: usize) -> &'a [T] {
    match (offs.get(i), offs.get(i + 1)) {
        (Some(&a), Some(&b)) => items.get(a as usize..b as usize).unwrap_or_default(),
        _ => &[],
    }
}

/// Builds [`UserArrays`] user by user, in id order.
pub(crate) struct UserArraysBuilder {
    logins: String,
    login_offs: Vec<u32>,
    eff: Vec<Ent>,
    eff_offs: Vec<u32>,
    direct: Vec<Ent>,
    direct_offs: Vec<u32>,
    cids: Vec<u32>,
    cid_offs: Vec<u32>,
    primary: Vec<u32>,
    valid: Vec<bool>,
}

impl UserArraysBuilder {
    pub(crate) fn with_capacity(users: usize, eff: usize, direct: usize, logins: usize) -> Self {
        let mut offs = Vec::with_capacity(users + 1);
        offs.push(0);
        UserArraysBuilder {
            logins: String::with_capacity(logins),
            login_offs: offs.clone(),
            eff: Vec::with_capacity(eff),
            eff_offs: offs.clone(),
            direct: Vec::with_capacity(direct),
            direct_offs: offs.clone(),
            cids: Vec::with_capacity(users * 2),
            cid_offs: offs,
            primary: Vec::with_capacity(users),
            valid: Vec::with_capacity(users),
        }
    }

    pub(crate) fn push(&mut self, user: &UserView<'_>) -> Result<(), TooLarge> {
        self.logins.push_str(user.login);
        self.login_offs.push(off(self.logins.len())?);
        self.eff.extend_from_slice(user.eff);
        self.eff_offs.push(off(self.eff.len())?);
        self.direct.extend_from_slice(user.direct);
        self.direct_offs.push(off(self.direct.len())?);
        self.cids.extend_from_slice(user.cids);
        self.cid_offs.push(off(self.cids.len())?);
        self.primary.push(user.primary);
        self.valid.push(user.valid);
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.primary.len()
    }

    /// Finishes the arrays. `old` is the table of an earlier base whose users keep their ids:
    /// its slots are reused (their offsets refreshed) and only the users beyond it are hashed.
    pub(crate) fn finish(
        self,
        hasher: &KeyHasher,
        old: Option<&HashTable<Slot>>,
    ) -> Result<UserArrays, TooLarge> {
        let mut arrays = UserArrays {
            table: HashTable::new(),
            logins: self.logins.into_boxed_str(),
            login_offs: self.login_offs.into_boxed_slice(),
            eff: self.eff.into_boxed_slice(),
            eff_offs: self.eff_offs.into_boxed_slice(),
            direct: self.direct.into_boxed_slice(),
            direct_offs: self.direct_offs.into_boxed_slice(),
            cids: self.cids.into_boxed_slice(),
            cid_offs: self.cid_offs.into_boxed_slice(),
            primary: self.primary.into_boxed_slice(),
            valid: self.valid.into_boxed_slice(),
        };
        let n = arrays.primary.len();
        let mut table = match old {
            Some(old) => {
                let mut table = old.clone();
                table.reserve(n.saturating_sub(table.len()), |s| {
                    hasher.hash_one(arrays.login_str(s))
                });
                for slot in table.iter_mut() {
                    *slot = arrays.slot(slot.user as usize)?;
                }
                table
            }
            None => HashTable::with_capacity(n),
        };
        let first_new = old.map_or(0, HashTable::len);
        for u in first_new..n {
            let slot = arrays.slot(u)?;
            let hash = hasher.hash_one(arrays.login_str(&slot));
            table.insert_unique(hash, slot, |s| hasher.hash_one(arrays.login_str(s)));
        }
        arrays.table = table;
        Ok(arrays)
    }
}

impl UserArrays {
    fn slot(&self, u: usize) -> Result<Slot, TooLarge> {
        let lo = self.login_offs.get(u).copied().unwrap_or(0);
        let hi = self.login_offs.get(u + 1).copied().unwrap_or(lo);
        let eo = self.eff_offs.get(u).copied().unwrap_or(0);
        let eh = self.eff_offs.get(u + 1).copied().unwrap_or(eo);
        Ok(Slot {
            user: off(u)?,
            login_off: lo,
            login_len: hi.saturating_sub(lo),
            eff_off: eo,
            eff_len: eh.saturating_sub(eo),
        })
    }

    #[inline]
    pub(crate) fn login_str(&self, slot: &Slot) -> &str {
        let start = slot.login_off as usize;
        self.logins
            .get(start..start + slot.login_len as usize)
            .unwrap_or_default()
    }

    #[inline]
    pub(crate) fn slot_eff(&self, slot: &Slot) -> &[Ent] {
        let start = slot.eff_off as usize;
        self.eff
            .get(start..start + slot.eff_len as usize)
            .unwrap_or_default()
    }

    /// The slot of a login, given its hash.
    #[inline]
    pub(crate) fn find(&self, hash: u64, login: &str) -> Option<&Slot> {
        self.table.find(hash, |s| {
            // Compare the length first: it is in the slot, the bytes are not.
            s.login_len as usize == login.len() && self.login_str(s) == login
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.primary.len()
    }

    /// (effective entries, direct entries, login bytes), for sizing a successor.
    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
        (self.eff.len(), self.direct.len(), self.logins.len())
    }

    pub(crate) fn view(&self, u: u32) -> UserView<'_> {
        let i = u as usize;
        UserView {
            id: u,
            login: self.login(u),
            eff: range(&self.eff, &self.eff_offs, i),
            direct: range(&self.direct, &self.direct_offs, i),
            cids: range(&self.cids, &self.cid_offs, i),
            primary: self.primary.get(i).copied().unwrap_or(NONE),
            valid: self.valid.get(i).copied().unwrap_or(true),
        }
    }

    /// Whether a base user has a customer id.
    pub(crate) fn has_cids(&self, u: u32) -> bool {
        !range(&self.cids, &self.cid_offs, u as usize).is_empty()
    }

    pub(crate) fn login(&self, u: u32) -> &str {
        let i = u as usize;
        match (self.login_offs.get(i), self.login_offs.get(i + 1)) {
            (Some(&a), Some(&b)) => self.logins.get(a as usize..b as usize).unwrap_or_default(),
            _ => "",
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.table.capacity() * (size_of::<Slot>() + 1)
            + self.logins.len()
            + (self.login_offs.len()
                + self.eff_offs.len()
                + self.direct_offs.len()
                + self.cid_offs.len()
                + self.primary.len()
                + self.cids.len())
                * size_of::<u32>()
            + (self.eff.len() + self.direct.len()) * size_of::<Ent>()
            + self.valid.len()
    }
}

/// The immutable part of a snapshot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Base {
    pub(crate) users: UserArrays,
    /// Per group (index below `revs.len()`).
    pub(crate) revs: Vec<Arc<RevRow>>,
    /// Per company index.
    pub(crate) companies: Vec<Arc<CompanyRow>>,
    /// Customer id → company index.
    pub(crate) company_table: HashTable<u32>,
}

impl Base {
    pub(crate) fn find_company(&self, hash: u64, id: &str) -> Option<u32> {
        self.company_table
            .find(hash, |&c| {
                self.companies
                    .get(c as usize)
                    .is_some_and(|row| *row.id == *id)
            })
            .copied()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.users.heap_bytes()
            + self.revs.capacity() * size_of::<Arc<RevRow>>()
            + self.revs.iter().map(|r| r.heap_bytes()).sum::<usize>()
            + self.companies.capacity() * size_of::<Arc<CompanyRow>>()
            + self.companies.iter().map(|c| c.heap_bytes()).sum::<usize>()
            + self.company_table.capacity() * (size_of::<u32>() + 1)
    }
}

/// What a log entry replaces.
#[derive(Debug)]
pub(crate) enum Row {
    User(Arc<UserRow>),
    Rev(Arc<RevRow>),
    Company(Arc<CompanyRow>),
}

#[derive(Debug)]
struct Entry {
    /// The previous entry for the same id, plus one (0: none).
    prev: u32,
    row: Row,
}

/// Which heads an id belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    User,
    Rev,
    Company,
}

/// The rows changed since the base was built, shared by every snapshot on that base.
#[derive(Debug)]
pub(crate) struct Log {
    entries: Box<[OnceLock<Entry>]>,
    /// Newest entry per id, plus one (0: none); one list per kind.
    users: Box<[AtomicU32]>,
    revs: Box<[AtomicU32]>,
    companies: Box<[AtomicU32]>,
    /// How many entries are written; held by writers only.
    tip: Mutex<usize>,
}

fn heads(n: usize) -> Box<[AtomicU32]> {
    (0..n).map(|_| AtomicU32::new(0)).collect()
}

impl Log {
    /// A log with room for `cap` entries over a base of the given sizes.
    pub(crate) fn new(cap: usize, users: usize, groups: usize, companies: usize) -> Self {
        Log {
            entries: (0..cap).map(|_| OnceLock::new()).collect(),
            users: heads(users + cap),
            revs: heads(groups + cap),
            companies: heads(companies + cap),
            tip: Mutex::new(0),
        }
    }

    fn heads(&self, kind: Kind) -> &[AtomicU32] {
        match kind {
            Kind::User => &self.users,
            Kind::Rev => &self.revs,
            Kind::Company => &self.companies,
        }
    }

    /// Whether an id of this kind has a head.
    pub(crate) fn covers(&self, kind: Kind, id: u32) -> bool {
        (id as usize) < self.heads(kind).len()
    }

    /// The newest row for `id` among the first `seen` entries.
    #[inline]
    pub(crate) fn get(&self, kind: Kind, id: u32, seen: usize) -> Option<&Row> {
        let mut h = self.heads(kind).get(id as usize)?.load(Ordering::Acquire) as usize;
        loop {
            let i = h.checked_sub(1)?;
            let entry = self.entries.get(i)?.get()?;
            if i < seen {
                return Some(&entry.row);
            }
            h = entry.prev as usize;
        }
    }

    /// Appends a row for `id` if the log holds exactly `seen` entries (the caller's snapshot is
    /// the newest) and has room; returns whether it did.
    pub(crate) fn append(&self, kind: Kind, id: u32, seen: usize, row: Row) -> Result<(), Row> {
        let mut tip = self.tip.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(head) = self.heads(kind).get(id as usize) else {
            return Err(row);
        };
        if *tip != seen || seen >= self.entries.len() {
            return Err(row);
        }
        let prev = head.load(Ordering::Acquire);
        let Some(cell) = self.entries.get(seen) else {
            return Err(row);
        };
        cell.set(Entry { prev, row }).map_err(|e| e.row)?;
        // `seen + 1` fits: it is at most the capacity, which the heads hold as `u32`s.
        head.store((seen + 1) as u32, Ordering::Release);
        *tip = seen + 1;
        Ok(())
    }

    /// Whether a snapshot that has seen `seen` entries may append in place.
    pub(crate) fn is_tip(&self, seen: usize) -> bool {
        *self.tip.lock().unwrap_or_else(PoisonError::into_inner) == seen
            && seen < self.entries.len()
    }

    /// Bytes of the log's own tables and of the rows among the first `seen` entries.
    pub(crate) fn heap_bytes(&self, seen: usize) -> usize {
        let rows = self
            .entries
            .iter()
            .take(seen)
            .filter_map(OnceLock::get)
            .map(|e| match &e.row {
                Row::User(r) => {
                    size_of::<UserRow>()
                        + 16
                        + r.login.as_ref().map_or(0, |l| l.len())
                        + (r.eff.capacity() + r.direct.capacity()) * size_of::<Ent>()
                        + r.cids.capacity() * size_of::<u32>()
                }
                Row::Rev(r) => r.heap_bytes(),
                Row::Company(c) => c.heap_bytes(),
            })
            .sum::<usize>();
        self.entries.len() * size_of::<OnceLock<Entry>>()
            + (self.users.len() + self.revs.len() + self.companies.len()) * size_of::<AtomicU32>()
            + rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_five_bytes_and_sorted_lookups_work() {
        assert_eq!(size_of::<Ent>(), 5);
        let mut list = Vec::new();
        upsert(&mut list, 7, Some(1));
        upsert(&mut list, 3, Some(2));
        upsert(&mut list, 9, Some(3));
        upsert(&mut list, 7, Some(4));
        assert_eq!(find(&list, 7), Some(4));
        assert_eq!(find(&list, 3), Some(2));
        assert_eq!(find(&list, 4), None);
        upsert(&mut list, 3, None);
        upsert(&mut list, 5, None);
        assert_eq!(list.iter().map(|e| e.id()).collect::<Vec<_>>(), [7, 9]);
    }

    #[test]
    fn log_snapshots_see_only_their_entries() {
        let log = Log::new(4, 2, 0, 0);
        let row = |n: u32| {
            Row::User(Arc::new(UserRow {
                primary: n,
                ..UserRow::default()
            }))
        };
        let primary = |r: Option<&Row>| match r {
            Some(Row::User(u)) => Some(u.primary),
            _ => None,
        };
        assert!(log.append(Kind::User, 1, 0, row(10)).is_ok());
        assert!(log.append(Kind::User, 0, 1, row(20)).is_ok());
        assert!(log.append(Kind::User, 1, 2, row(30)).is_ok());
        // A writer that has not seen the newest entries may not append.
        assert!(log.append(Kind::User, 1, 1, row(40)).is_err());
        assert!(!log.is_tip(2));
        assert!(log.is_tip(3));
        assert_eq!(primary(log.get(Kind::User, 1, 3)), Some(30));
        assert_eq!(primary(log.get(Kind::User, 1, 2)), Some(10));
        assert_eq!(primary(log.get(Kind::User, 1, 0)), None);
        assert_eq!(primary(log.get(Kind::User, 0, 1)), None);
        assert_eq!(primary(log.get(Kind::User, 0, 3)), Some(20));
        assert!(log.append(Kind::User, 0, 3, row(50)).is_ok());
        // Full.
        assert!(log.append(Kind::User, 0, 4, row(60)).is_err());
        assert!(!log.is_tip(4));
        // Out of range ids are refused, not a panic.
        assert!(log.append(Kind::Company, 0, 4, row(70)).is_err());
        assert!(log.get(Kind::User, 99, 4).is_none());
    }
}

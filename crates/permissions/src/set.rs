//! Permission sets: a 64-bit set over the configured permission types.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

use clientele_model::permission::{MAX_PERMISSION_TYPES, PermissionType, PermissionTypes};
use serde::{Deserialize, Serialize};

use crate::PermissionError;

/// The position of a permission type in the configured [`PermissionTypes`] list.
///
/// Queries take a `TypeIndex` rather than a name so that a check never compares strings; get one
/// from [`PermissionMatrix::type_index`](crate::PermissionMatrix::type_index) or
/// [`TypeIndex::of`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeIndex(u8);

impl TypeIndex {
    /// The index for a position, if it is below [`MAX_PERMISSION_TYPES`].
    pub fn new(index: usize) -> Option<Self> {
        if index < MAX_PERMISSION_TYPES {
            u8::try_from(index).ok().map(TypeIndex)
        } else {
            None
        }
    }

    /// An index known to be in range (callers pass a position of a validated list).
    pub(crate) fn clamped(index: usize) -> Self {
        TypeIndex(index.min(MAX_PERMISSION_TYPES - 1) as u8)
    }

    /// The index of a type name in a list of types, if it is configured there.
    pub fn of(types: &PermissionTypes, name: &str) -> Option<Self> {
        types.index_of(name).and_then(TypeIndex::new)
    }

    /// The position as a number.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

/// A set of permission types, as bits over the positions of a [`PermissionTypes`] list.
///
/// A set only has a meaning together with the list it was made for. Sets returned by the
/// matrix already include what `rw` implies: whenever `rw` is in an effective set, every
/// configured type is.
///
/// ```
/// use clientele_model::permission::PermissionTypes;
/// use clientele_permissions::{PermissionSet, TypeIndex};
///
/// let types = PermissionTypes::new(["ro", "move_into", "rw"]).unwrap();
/// let set = PermissionSet::from_names(&types, ["ro", "move_into"]).unwrap();
/// assert!(set.contains(TypeIndex::of(&types, "move_into").unwrap()));
/// assert!(!set.contains(TypeIndex::of(&types, "rw").unwrap()));
/// let names: Vec<&str> = set.names(&types).map(|t| t.as_str()).collect();
/// assert_eq!(names, ["ro", "move_into"]);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PermissionSet(u64);

impl PermissionSet {
    /// The empty set.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// A set from its raw bits (bit `i` = the type at position `i`).
    pub const fn from_bits(bits: u64) -> Self {
        PermissionSet(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set of one type.
    pub fn single(ty: TypeIndex) -> Self {
        PermissionSet(1u64 << ty.0)
    }

    /// Every type of a list (what `rw` grants).
    pub fn all(types: &PermissionTypes) -> Self {
        PermissionSet(mask(types.len()))
    }

    /// The set of the named types; a name that is not in `types` is an error.
    pub fn from_names<I, S>(types: &PermissionTypes, names: I) -> Result<Self, PermissionError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = PermissionSet::EMPTY;
        for name in names {
            let name = name.as_ref();
            let ty = TypeIndex::of(types, name).ok_or_else(|| {
                PermissionError::UnknownPermissionType {
                    name: name.to_owned(),
                    configured: configured_list(types),
                }
            })?;
            set.insert(ty);
        }
        Ok(set)
    }

    /// The set of the given types; a type that is not in `types` is an error.
    pub fn from_types<'a, I>(types: &PermissionTypes, names: I) -> Result<Self, PermissionError>
    where
        I: IntoIterator<Item = &'a PermissionType>,
    {
        Self::from_names(types, names.into_iter().map(PermissionType::as_str))
    }

    /// `true` when the type is in the set.
    #[inline]
    pub fn contains(self, ty: TypeIndex) -> bool {
        self.0 & (1u64 << ty.0) != 0
    }

    /// Adds a type.
    pub fn insert(&mut self, ty: TypeIndex) {
        self.0 |= 1u64 << ty.0;
    }

    /// Removes a type.
    pub fn remove(&mut self, ty: TypeIndex) {
        self.0 &= !(1u64 << ty.0);
    }

    /// `true` for the empty set.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many types are in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The types in the set, lowest position first.
    pub fn iter(self) -> impl Iterator<Item = TypeIndex> {
        (0..64u8)
            .filter(move |i| self.0 & (1u64 << i) != 0)
            .map(TypeIndex)
    }

    /// The names of the types in the set, in configured order.
    pub fn names(self, types: &PermissionTypes) -> impl Iterator<Item = &PermissionType> {
        types
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i < 64 && self.0 & (1u64 << i) != 0)
            .map(|(_, t)| t)
    }

    /// The names of the types in the set, as owned values.
    pub fn to_types(self, types: &PermissionTypes) -> Vec<PermissionType> {
        self.names(types).cloned().collect()
    }
}

/// The bits of the first `len` positions.
pub(crate) fn mask(len: usize) -> u64 {
    if len >= 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    }
}

pub(crate) fn configured_list(types: &PermissionTypes) -> String {
    types
        .iter()
        .map(PermissionType::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PermissionSet({:#b})", self.0)
    }
}

impl BitOr for PermissionSet {
    type Output = PermissionSet;
    fn bitor(self, rhs: Self) -> Self {
        PermissionSet(self.0 | rhs.0)
    }
}

impl BitOrAssign for PermissionSet {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for PermissionSet {
    type Output = PermissionSet;
    fn bitand(self, rhs: Self) -> Self {
        PermissionSet(self.0 & rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_names() {
        let types = PermissionTypes::new(["ro", "move_into", "create", "rw"]).unwrap();
        let set = PermissionSet::from_names(&types, ["create", "ro"]).unwrap();
        assert_eq!(set.bits(), 0b0101);
        assert_eq!(set.len(), 2);
        assert_eq!(
            set.iter().map(TypeIndex::get).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(PermissionSet::all(&types).bits(), 0b1111);
        assert!(matches!(
            PermissionSet::from_names(&types, ["owner"]),
            Err(PermissionError::UnknownPermissionType { name, .. }) if name == "owner"
        ));
        assert_eq!(mask(64), u64::MAX);
        assert_eq!(TypeIndex::new(64), None);
        assert_eq!(TypeIndex::new(63).map(TypeIndex::get), Some(63));
    }
}

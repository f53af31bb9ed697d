//! A shared, updatable matrix: readers take snapshots, writers publish new ones.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::{Change, PermissionError, PermissionFacts, PermissionMatrix};

/// Holds the current [`PermissionMatrix`] for many threads.
///
/// * Readers call [`snapshot`](Self::snapshot): a read lock held just long enough to clone an
///   `Arc`. They then query the snapshot for as long as they like without any lock, and
///   every answer comes from one consistent state.
/// * Writers call [`update`](Self::update) or [`apply`](Self::apply). Writers are serialised;
///   each copies the current matrix (cheap: rows are shared), changes only the rows the
///   change touches, and publishes the result with one pointer swap. A batch is all or
///   nothing: if any change fails, nothing is published. Readers never see half a change.
///
/// ```
/// use clientele_model::permission::{GroupId, PermissionType};
/// use clientele_permissions::{Change, PermissionConfig, PermissionFacts, PermissionResolver};
///
/// let mut facts = PermissionFacts::new(PermissionConfig {
///     customer_group_support: true,
///     always_groups: vec![],
///     company_always_groups: vec![],
///     ..PermissionConfig::default()
/// });
/// facts.group(1, "support", true).group(2, "sales", true);
/// let resolver = PermissionResolver::build(&facts).unwrap();
///
/// let before = resolver.snapshot();
/// resolver
///     .apply(&[Change::SetUserGrant {
///         login: "anna".into(),
///         group: GroupId(1),
///         permissions: vec![PermissionType::ro()],
///     }])
///     .unwrap();
/// let ro = before.type_index("ro").unwrap();
/// assert!(!before.has("anna", GroupId(1), ro)); // an old snapshot does not change
/// assert!(resolver.snapshot().has("anna", GroupId(1), ro));
/// ```
pub struct PermissionResolver {
    current: RwLock<Arc<PermissionMatrix>>,
    writer: Mutex<()>,
}

impl PermissionResolver {
    /// A resolver serving `matrix`.
    pub fn new(matrix: PermissionMatrix) -> Self {
        PermissionResolver {
            current: RwLock::new(Arc::new(matrix)),
            writer: Mutex::new(()),
        }
    }

    /// Builds the matrix from facts and serves it.
    pub fn build(facts: &PermissionFacts) -> Result<Self, PermissionError> {
        PermissionMatrix::build(facts).map(Self::new)
    }

    /// The current matrix. Queries on it never block writers and never see later changes.
    pub fn snapshot(&self) -> Arc<PermissionMatrix> {
        // A poisoned lock only means a thread panicked elsewhere while holding it; the `Arc`
        // inside is always a complete matrix.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `f` on a copy of the current matrix and publishes the copy if `f` succeeds.
    ///
    /// Writers run one at a time; readers keep using the old snapshot until the swap.
    pub fn update<T, E>(
        &self,
        f: impl FnOnce(&mut PermissionMatrix) -> Result<T, E>,
    ) -> Result<T, E> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = PermissionMatrix::clone(&self.snapshot());
        let out = f(&mut next)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(out)
    }

    /// Applies a batch of changes atomically: all of them are published together, or none
    /// if one fails (the error names it).
    pub fn apply(&self, changes: &[Change]) -> Result<(), PermissionError> {
        self.update(|m| changes.iter().try_for_each(|c| m.apply(c)))
    }

    /// Replaces the matrix wholesale (e.g. after a full reload of the facts).
    pub fn replace(&self, matrix: PermissionMatrix) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(matrix);
    }
}

impl fmt::Debug for PermissionResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermissionResolver")
            .field("current", &self.snapshot())
            .finish()
    }
}

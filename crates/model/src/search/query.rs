//! The query types a host hands to the Directory and a backend receives.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Expr, Pattern};

/// OTOBO's `CustomerUserSearchListLimit` default: the most rows one backend returns for a search.
pub const DEFAULT_SEARCH_LIMIT: usize = 250;

/// What a host asks the Directory for (OTOBO `CustomerSearch`): exactly one kind of search plus
/// the validity flag and an optional limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerUserSearch {
    /// Which search this is.
    pub kind: SearchKind,
    /// Only valid users (OTOBO `Valid => 1`, the default).
    pub valid_only: bool,
    /// At most this many results per backend; `None` = the backend's configured limit
    /// (OTOBO `CustomerUserSearchListLimit`, default 250).
    pub limit: Option<usize>,
}

/// The kinds of customer-user search OTOBO offers, with Clientele's meaning of each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchKind {
    /// The search language (OTOBO `Search`) over the backend's search fields, with the backend's
    /// prefix and suffix. `customer_user_only` drops the customer-id field (OTOBO `CustomerUserOnly`).
    Term {
        /// The user's term, e.g. `smi*+!john`.
        term: String,
        /// Leave the customer-id column out of the searched fields.
        customer_user_only: bool,
    },
    /// Exact, whole-value email match over the postmaster fields (OTOBO `PostMasterSearch`).
    Email(String),
    /// Login match: exact, `*` as an explicit wildcard (OTOBO `UserLogin`, which OTOBO's DB backend
    /// treats as a substring; see docs/otobo-differences.md).
    Login(String),
    /// Customer-id match with `*` wildcards and no implicit wrapping (OTOBO `CustomerID`).
    CustomerId(String),
    /// Exact customer-id match; `*` is literal (OTOBO `CustomerIDRaw`).
    CustomerIdRaw(String),
}

impl CustomerUserSearch {
    /// A search-language search for valid users with the default limit.
    pub fn term(term: impl Into<String>) -> Self {
        Self::of(SearchKind::Term {
            term: term.into(),
            customer_user_only: false,
        })
    }
    /// An exact email (postmaster) search for valid users.
    pub fn email(email: impl Into<String>) -> Self {
        Self::of(SearchKind::Email(email.into()))
    }
    /// A login search (`*` wildcard) for valid users.
    pub fn login(login: impl Into<String>) -> Self {
        Self::of(SearchKind::Login(login.into()))
    }
    /// A customer-id search (`*` wildcard) for valid users.
    pub fn customer_id(customer_id: impl Into<String>) -> Self {
        Self::of(SearchKind::CustomerId(customer_id.into()))
    }
    /// An exact customer-id search for valid users.
    pub fn customer_id_raw(customer_id: impl Into<String>) -> Self {
        Self::of(SearchKind::CustomerIdRaw(customer_id.into()))
    }
    fn of(kind: SearchKind) -> Self {
        CustomerUserSearch {
            kind,
            valid_only: true,
            limit: None,
        }
    }
    /// Include invalid and invalid-temporarily users too.
    pub fn include_invalid(mut self) -> Self {
        self.valid_only = false;
        self
    }
    /// Sets the per-backend limit.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// The set of fields a compiled query is matched against. Each backend knows which of its
/// columns or attributes belong to each set (its configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldSet {
    /// The backend's search fields (OTOBO `CustomerUserSearchFields`), optionally without the
    /// customer-id field.
    SearchFields {
        /// Leave out the customer-id field (OTOBO `CustomerUserOnly`).
        exclude_customer_id: bool,
    },
    /// The postmaster fields (OTOBO `CustomerUserPostMasterSearchFields`, default `email`).
    PostmasterFields,
    /// The customer key (login) alone.
    Login,
    /// The primary customer-id field alone.
    CustomerId,
}

/// A search as one backend receives it: the term already parsed (with that backend's prefix
/// and suffix) into an [`Expr`], the fields it applies to, and the rules to apply.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserQuery {
    /// Which fields each [`Expr::Match`] is tested against (any of them may match).
    pub fields: FieldSet,
    /// The boolean expression.
    pub expr: Expr,
    /// Only valid users.
    pub valid_only: bool,
    /// At most this many rows.
    pub limit: usize,
    /// Compare case-sensitively (OTOBO `SearchCaseSensitive`).
    pub case_sensitive: bool,
}

/// Sort direction for a detail search (OTOBO `OrderByDirection`: `Up` / `Down`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// Ascending (OTOBO `Up`).
    Ascending,
    /// Descending (OTOBO `Down`, OTOBO's default).
    #[default]
    Descending,
}

/// A per-attribute condition of a detail search.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldCondition {
    /// The attribute key from the attribute map, e.g. `UserFirstname`.
    pub attribute: String,
    /// The whole-value pattern (`*` wildcards, no implicit wrapping; case-insensitive as in OTOBO).
    pub pattern: Pattern,
}

/// A selection condition: the attribute's value is one of `values` (SQL `IN`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SelectionCondition {
    /// The attribute key, e.g. `UserCountry` or `ValidID`.
    pub attribute: String,
    /// Accepted values; an empty list adds no condition (as in OTOBO).
    pub values: Vec<String>,
}

/// A comparison of a dynamic-field condition (OTOBO `DynamicField_<Name> => { <Operator> =>
/// … }`, the operators of the dynamic-field drivers' `SearchSQLGet`).
///
/// On text types (`Text`, `TextArea`, `Dropdown`, `Multiselect`) every operator compares
/// case-insensitively; the ordering operators compare the lower-cased texts in code-point order.
/// On date types the operators compare moments, on a `Checkbox` the integers `0` and `1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DynamicFieldOperator {
    /// The stored value equals the search value.
    Equals,
    /// The stored value matches the search value as a whole-value pattern in which `*` is a
    /// wildcard (OTOBO turns `*` into SQL's `%`); every other character, `%` and `_` included,
    /// is literal. On a non-text type a value without `*` is an equality test.
    Like,
    /// The stored value is greater than the search value.
    GreaterThan,
    /// The stored value is greater than or equal to the search value.
    GreaterThanEquals,
    /// The stored value is smaller than the search value.
    SmallerThan,
    /// The stored value is smaller than or equal to the search value.
    SmallerThanEquals,
}

/// The conditions of a detail search on one dynamic-field attribute (a map row with storage
/// type `dynamic_field`), OTOBO's `DynamicField_<Name> => { Equals => [...], Like => ... }`.
///
/// The values of one operator are OR-ed; the operators are AND-ed, and, as in OTOBO, they all
/// apply to the same stored value (for a `Multiselect`: to one selected value). A value that is
/// empty or only `*` adds no condition (OTOBO skips it), so an operator left with no value adds
/// none either.
///
/// ```
/// use clientele_model::search::{DynamicFieldCondition, DynamicFieldOperator::*};
///
/// let since_2024 = DynamicFieldCondition::new("UserContractStart")
///     .with(GreaterThanEquals, ["2024-01-01"])
///     .with(Equals, ["", "*"]);
/// let active: Vec<_> = since_2024.active().collect();
/// assert_eq!(active, [(GreaterThanEquals, vec!["2024-01-01"])]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DynamicFieldCondition {
    /// The attribute key of the dynamic-field map row, e.g. `UserDepartment`.
    pub attribute: String,
    /// Operator → search values.
    pub operators: BTreeMap<DynamicFieldOperator, Vec<String>>,
}

impl DynamicFieldCondition {
    /// No condition yet on `attribute`.
    pub fn new(attribute: impl Into<String>) -> Self {
        DynamicFieldCondition {
            attribute: attribute.into(),
            operators: BTreeMap::new(),
        }
    }

    /// Adds search values to an operator.
    pub fn with<S: Into<String>>(
        mut self,
        operator: DynamicFieldOperator,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.operators
            .entry(operator)
            .or_default()
            .extend(values.into_iter().map(Into::into));
        self
    }

    /// The operators that add a condition, each with the values that count (not empty, not
    /// only `*`), in operator order.
    pub fn active(&self) -> impl Iterator<Item = (DynamicFieldOperator, Vec<&str>)> {
        self.operators.iter().filter_map(|(op, values)| {
            let kept: Vec<&str> = values
                .iter()
                .map(String::as_str)
                .filter(|v| !v.is_empty() && !v.chars().all(|c| c == '*'))
                .collect();
            (!kept.is_empty()).then_some((*op, kept))
        })
    }
}

/// OTOBO `CustomerSearchDetail`: per-field conditions, selections, dynamic-field conditions, an
/// exclusion list, a company-id list of any size and ordering. All conditions are AND-ed.
///
/// A field condition or selection on a dynamic-field attribute compares its stored values (a
/// condition as [`DynamicFieldOperator::Like`], a selection as
/// [`DynamicFieldOperator::Equals`]); a condition on an attribute the source does not store
/// matches nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DetailSearch {
    /// Input-field conditions (OTOBO scalar fields).
    pub conditions: Vec<FieldCondition>,
    /// Selection conditions.
    pub selections: Vec<SelectionCondition>,
    /// Conditions on dynamic-field attributes (OTOBO `DynamicField_<Name>`).
    #[serde(default)]
    pub dynamic_fields: Vec<DynamicFieldCondition>,
    /// Logins to leave out (OTOBO `ExcludeUserLogins`).
    pub exclude_logins: Vec<String>,
    /// When non-empty, only users whose primary customer id is in this list
    /// (OTOBO `CustomerCompanySearchCustomerIDs`); any length.
    pub customer_ids: Vec<String>,
    /// Sort keys (attribute key and direction); the login breaks ties.
    pub order_by: Vec<(String, Direction)>,
    /// Only valid users.
    pub valid_only: bool,
    /// At most this many logins (`None` = no limit).
    pub limit: Option<usize>,
}

/// A company search as a backend receives it (OTOBO `CustomerCompanyList`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompanyQuery {
    /// The parsed term over the company search fields; `None` lists every company.
    pub expr: Option<Expr>,
    /// Only valid companies.
    pub valid_only: bool,
    /// At most this many rows.
    pub limit: usize,
    /// Compare case-sensitively.
    pub case_sensitive: bool,
}

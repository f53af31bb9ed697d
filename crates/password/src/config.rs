//! How passwords are hashed, verified and generated.

use serde::{Deserialize, Serialize};

/// The algorithm new password hashes are written with.
///
/// OTOBO's `Customer::AuthModule::DB::CryptType` chose among `plain`, `crypt`, `md5`,
/// `apr1`, `sha1`, `sha2` (its default), `sha512` and `bcrypt`. Clientele reads all of
/// OTOBO's formats (see [`HashFormat`](super::HashFormat)) and writes argon2id by default;
/// beside a running OTOBO it writes one of the three formats OTOBO verifies
/// ([`otobo_verifies`](Self::otobo_verifies)), see [`PasswordConfig::beside_otobo`].
///
/// ```
/// use clientele_password::HashAlgorithm;
/// assert_eq!(HashAlgorithm::default(), HashAlgorithm::Argon2id);
/// assert!(HashAlgorithm::OtoboBcrypt.otobo_verifies());
/// assert!(!HashAlgorithm::Argon2id.otobo_verifies());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlgorithm {
    /// Argon2id, written as a PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
    #[default]
    Argon2id,
    /// Standard bcrypt, written as `$2b$<cost>$<salt><hash>`.
    Bcrypt,
    /// OTOBO's own bcrypt framing, `BCRYPT:<cost>:<16-character salt>:<hash>` (OTOBO
    /// CryptType `bcrypt`), at [`PasswordConfig::bcrypt_cost`]. OTOBO verifies it.
    OtoboBcrypt,
    /// Unsalted hex SHA-256, 64 digits (OTOBO CryptType `sha2`, its default). OTOBO
    /// verifies it; it is weak against a stolen table, so prefer `otobo-bcrypt`.
    Sha256,
    /// Unsalted hex SHA-512, 128 digits (OTOBO CryptType `sha512`). OTOBO verifies it;
    /// weak like `sha256`.
    Sha512,
}

impl HashAlgorithm {
    /// Whether OTOBO's `CustomerAuth::DB` verifies hashes of this algorithm (as long as its
    /// own CryptType is not `plain`).
    pub fn otobo_verifies(self) -> bool {
        matches!(
            self,
            HashAlgorithm::OtoboBcrypt | HashAlgorithm::Sha256 | HashAlgorithm::Sha512
        )
    }

    /// The name used in the configuration, e.g. `"otobo-bcrypt"`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Argon2id => "argon2id",
            HashAlgorithm::Bcrypt => "bcrypt",
            HashAlgorithm::OtoboBcrypt => "otobo-bcrypt",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }
}

/// OTOBO's `Customer::AuthModule::DB::CryptType`: how OTOBO writes customer passwords, and
/// for `plain`, how it compares them.
///
/// Clientele needs it for two things. With `plain`, the table holds raw passwords, some of
/// which may *look* like hashes (`Summer2024abc` has the shape of a DES crypt value), so
/// they are compared as raw text first ([`PlainText::First`]). And beside a running OTOBO
/// ([`PasswordConfig::beside_otobo`]) it picks the format Clientele writes.
///
/// ```
/// use clientele_password::{CryptType, HashAlgorithm};
/// assert_eq!(CryptType::default(), CryptType::Sha2);
/// assert_eq!(CryptType::Sha2.written_as(), Some(HashAlgorithm::Sha256));
/// assert_eq!(CryptType::Md5.written_as(), Some(HashAlgorithm::OtoboBcrypt));
/// assert_eq!(CryptType::Plain.written_as(), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CryptType {
    /// The password as is.
    Plain,
    /// DES `crypt(pw, login)`.
    Crypt,
    /// md5-crypt with the login as salt.
    Md5,
    /// Apache md5-crypt.
    Apr1,
    /// Hex SHA-1.
    Sha1,
    /// Hex SHA-256: OTOBO's default (any unknown CryptType means this too).
    #[default]
    #[serde(alias = "sha256")]
    Sha2,
    /// Hex SHA-512.
    Sha512,
    /// `BCRYPT:<cost>:<salt>:<hash>`.
    Bcrypt,
}

impl CryptType {
    /// The format Clientele writes beside an OTOBO configured with this CryptType: the same
    /// format for `bcrypt`, `sha512` and `sha2`; OTOBO's `BCRYPT:` for `crypt`, `md5`,
    /// `apr1` and `sha1`, whose formats Clientele does not write (OTOBO verifies `BCRYPT:`
    /// whatever its CryptType, except `plain`); `None` for `plain`, where OTOBO compares
    /// raw text and no hash would ever log in there.
    pub fn written_as(self) -> Option<HashAlgorithm> {
        match self {
            CryptType::Plain => None,
            CryptType::Sha2 => Some(HashAlgorithm::Sha256),
            CryptType::Sha512 => Some(HashAlgorithm::Sha512),
            CryptType::Crypt
            | CryptType::Md5
            | CryptType::Apr1
            | CryptType::Sha1
            | CryptType::Bcrypt => Some(HashAlgorithm::OtoboBcrypt),
        }
    }
}

/// How stored values are treated as plain text.
///
/// ```
/// use clientele_password::PlainText;
/// assert_eq!(PlainText::default(), PlainText::Fallback);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlainText {
    /// A value in none of the known formats is compared as plain text when
    /// [`PasswordConfig::accept_plain`] is set; a value shaped like a hash never is.
    #[default]
    Fallback,
    /// The table was written with OTOBO's CryptType `plain`: every stored value is compared
    /// as raw text first, then by its format. A raw match is upgraded on login like any
    /// legacy value (Clientele is the only writer).
    First,
    /// As [`First`](Self::First), and OTOBO still reads the table with CryptType `plain`:
    /// a raw match is never rehashed, and [`PasswordHasher::hash`](super::PasswordHasher::hash)
    /// refuses with [`PasswordError::PlainTextShared`](super::PasswordError::PlainTextShared),
    /// since any hash written would lock the user out of OTOBO and Clientele never stores
    /// plain text.
    Shared,
}

/// Argon2id cost parameters.
///
/// The defaults are OWASP's recommendation for argon2id: 19 MiB of memory, 2 iterations,
/// 1 lane.
///
/// ```
/// use clientele_password::Argon2Params;
/// let p = Argon2Params::default();
/// assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19_456, 2, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory per hash in KiB (`m`); at least 8 × `parallelism`, at most 1 GiB.
    pub memory_kib: u32,
    /// Number of passes over the memory (`t`); at least 1.
    pub iterations: u32,
    /// Number of lanes (`p`); at least 1. Lanes are computed one after another.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Password settings: the algorithm and cost of new hashes, what verification accepts, and
/// the length of generated passwords.
///
/// Deserialises from any serde format; missing fields take their defaults and unknown
/// fields are refused, so a typo in a config file is an error rather than a silent default.
///
/// ```
/// use clientele_password::{HashAlgorithm, PasswordConfig};
///
/// let config = PasswordConfig {
///     algorithm: HashAlgorithm::Bcrypt,
///     bcrypt_cost: 11,
///     accept_plain: false,
///     ..PasswordConfig::default()
/// };
/// assert!(config.rehash_legacy_on_login);
/// assert_eq!(config.generated_length, 16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Algorithm for new hashes. Default: argon2id.
    pub algorithm: HashAlgorithm,
    /// Argon2id cost. Default: [`Argon2Params::default`].
    pub argon2: Argon2Params,
    /// bcrypt cost (log2 of the rounds), 4..=31. Default: 12 (OTOBO's `bcryptCost`
    /// default too).
    pub bcrypt_cost: u32,
    /// When `true` (the default), a successful verification against any legacy OTOBO
    /// format reports `needs_rehash`, so the caller stores a fresh hash. Hashes in our own
    /// formats (argon2 PHC, `$2b$`) report `needs_rehash` whenever their algorithm or
    /// parameters differ from this config, whatever this flag says.
    pub rehash_legacy_on_login: bool,
    /// When `true` (the default, for databases written with OTOBO's CryptType `plain`), a
    /// stored value in none of the known formats is compared with the password as plain
    /// text. Set it to `false` when the table holds only hashes: then such a value never
    /// verifies. Empty values, crypt(3) failure tokens (`*0`, `*1`) and values in a known
    /// format never count as plain text, so a hash is never usable as its own password.
    pub accept_plain: bool,
    /// How stored values are treated as plain text (OTOBO's CryptType `plain`). Default:
    /// [`PlainText::Fallback`].
    pub plain_text: PlainText,
    /// Length of passwords from [`PasswordHasher::generate_password`]
    /// (`[0-9A-Za-z]`), 8..=1024. Default: 16. OTOBO's `GenerateRandomPassword` used 8.
    ///
    /// [`PasswordHasher::generate_password`]: super::PasswordHasher::generate_password
    pub generated_length: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            algorithm: HashAlgorithm::Argon2id,
            argon2: Argon2Params::default(),
            bcrypt_cost: 12,
            rehash_legacy_on_login: true,
            accept_plain: true,
            plain_text: PlainText::Fallback,
            generated_length: 16,
        }
    }
}

impl PasswordConfig {
    /// This configuration for a customer-user table that a running OTOBO shares, whose
    /// CryptType is `crypt_type`: never a hash OTOBO cannot verify.
    ///
    /// - The algorithm becomes [`CryptType::written_as`] unless it already is one OTOBO
    ///   verifies ([`HashAlgorithm::otobo_verifies`]); argon2id and `$2b$` never are.
    /// - With `plain`, [`plain_text`](Self::plain_text) becomes [`PlainText::Shared`]: raw
    ///   comparison first, no rehash, no hash written.
    ///
    /// ```
    /// use clientele_password::{CryptType, HashAlgorithm, PasswordConfig, PlainText};
    ///
    /// let c = PasswordConfig::default().beside_otobo(CryptType::Bcrypt);
    /// assert_eq!(c.algorithm, HashAlgorithm::OtoboBcrypt);
    /// let c = PasswordConfig::default().beside_otobo(CryptType::Sha512);
    /// assert_eq!(c.algorithm, HashAlgorithm::Sha512);
    /// let c = PasswordConfig::default().beside_otobo(CryptType::Plain);
    /// assert_eq!(c.plain_text, PlainText::Shared);
    /// ```
    pub fn beside_otobo(mut self, crypt_type: CryptType) -> PasswordConfig {
        match crypt_type.written_as() {
            Some(algorithm) => {
                if !self.algorithm.otobo_verifies() {
                    self.algorithm = algorithm;
                }
            }
            None => self.plain_text = PlainText::Shared,
        }
        self
    }

    /// This configuration for a table written with OTOBO CryptType `crypt_type` that only
    /// Clientele writes from now on: with `plain`, [`plain_text`](Self::plain_text) becomes
    /// [`PlainText::First`]; other types change nothing (their formats are recognised from
    /// the stored value).
    ///
    /// ```
    /// use clientele_password::{CryptType, PasswordConfig, PlainText};
    /// let c = PasswordConfig::default().migrated_from(CryptType::Plain);
    /// assert_eq!(c.plain_text, PlainText::First);
    /// ```
    pub fn migrated_from(mut self, crypt_type: CryptType) -> PasswordConfig {
        if crypt_type == CryptType::Plain && self.plain_text == PlainText::Fallback {
            self.plain_text = PlainText::First;
        }
        self
    }
}

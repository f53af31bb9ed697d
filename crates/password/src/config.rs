//! How passwords are hashed, verified and generated.

use serde::{Deserialize, Serialize};

/// The algorithm new password hashes are written with.
///
/// OTOBO's `Customer::AuthModule::DB::CryptType` chose among `plain`, `crypt`, `md5`,
/// `apr1`, `sha1`, `sha2` (its default), `sha512` and `bcrypt`; Clientele writes only these
/// two and reads all of OTOBO's (see [`HashFormat`](super::HashFormat)).
///
/// ```
/// use clientele_password::HashAlgorithm;
/// assert_eq!(HashAlgorithm::default(), HashAlgorithm::Argon2id);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// Argon2id, written as a PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
    #[default]
    Argon2id,
    /// Standard bcrypt, written as `$2b$<cost>$<salt><hash>`.
    Bcrypt,
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
            generated_length: 16,
        }
    }
}

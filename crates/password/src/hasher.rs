//! [`PasswordHasher`]: hashing, verification against every stored format, rehash advice.

use std::fmt;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use clientele_model::Password;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::config::{HashAlgorithm, PasswordConfig, PlainText};
use crate::format::{HashFormat, split_md5_crypt};
use crate::generate::{MAX_GENERATED_LENGTH, lower_hex, random_alphanumeric, random_bytes};
use crate::{PasswordError, md5_crypt, otobo_bcrypt, unix_crypt};

/// Largest argon2 memory cost accepted, in KiB (1 GiB), both in the config and in stored
/// hashes: a corrupt or hostile stored value must not make verification allocate without
/// bound.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 1024 * 1024;
/// bcrypt costs accepted for new `$2b$` hashes.
const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=31;
/// bcrypt reads at most 72 bytes of a password.
const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;
/// Shortest configurable generated-password length.
const MIN_GENERATED_LENGTH: usize = 8;
/// Argon2 output length we write (the argon2 crate's default).
const ARGON2_OUTPUT_LEN: usize = 32;
/// Salt length for new hashes (argon2 and bcrypt alike).
const SALT_LEN: usize = 16;

/// A password hash as produced by [`PasswordHasher::hash`], ready to be stored.
///
/// It is a hash, not a secret, so its `Debug` shows it; it has no `Display`, so it does
/// not slip into log messages by accident. Use [`as_str`](Self::as_str) or
/// [`into_string`](Self::into_string) to store it.
///
/// ```
/// use clientele_password::{Argon2Params, PasswordConfig, PasswordHasher};
/// use clientele_model::Password;
///
/// let config = PasswordConfig {
///     argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
///     ..PasswordConfig::default()
/// };
/// let hash = PasswordHasher::new(config).unwrap().hash(&Password::new("pw")).unwrap();
/// assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
/// let column: String = hash.into_string();
/// # let _ = column;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredHash(String);

impl StoredHash {
    /// The hash string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash string, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for StoredHash {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<StoredHash> for String {
    fn from(hash: StoredHash) -> String {
        hash.0
    }
}

/// The outcome of [`PasswordHasher::verify`].
///
/// ```
/// use clientele_password::Verification;
///
/// let v = Verification::Valid { needs_rehash: true };
/// assert!(v.is_valid() && v.needs_rehash());
/// assert!(!Verification::Invalid.is_valid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "a verification result must be checked"]
pub enum Verification {
    /// The password does not match (or was empty, or the stored value is unusable).
    Invalid,
    /// The password matches.
    Valid {
        /// The caller should store [`PasswordHasher::hash`] of this password now: the
        /// stored value is a legacy format (and `rehash_legacy_on_login` is on) or an
        /// argon2/bcrypt hash with another algorithm or other parameters than the config.
        needs_rehash: bool,
    },
}

impl Verification {
    /// `true` for [`Verification::Valid`].
    pub fn is_valid(self) -> bool {
        matches!(self, Verification::Valid { .. })
    }

    /// `true` when valid and the stored value should be replaced by a fresh hash.
    pub fn needs_rehash(self) -> bool {
        matches!(self, Verification::Valid { needs_rehash: true })
    }
}

/// Hashes new passwords with the configured algorithm and verifies passwords against
/// every format an OTOBO customer-user table may hold (see [`HashFormat`]).
///
/// Build it once and share it: it is `Send + Sync`, and a clone is a cheap handle to the
/// same hasher (sharing the dummy hash of [`dummy_verify`](Self::dummy_verify)). Hashing
/// and verifying are CPU-bound and take tens of milliseconds at the default cost: in async
/// code, move a clone into `tokio::task::spawn_blocking` or similar.
///
/// ```
/// use clientele_password::{Argon2Params, PasswordConfig, PasswordHasher, Verification};
/// use clientele_model::Password;
///
/// // Small parameters to keep the example fast; the defaults are OWASP's.
/// let config = PasswordConfig {
///     argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
///     ..PasswordConfig::default()
/// };
/// let hasher = PasswordHasher::new(config)?;
/// let pw = Password::new("correct horse");
///
/// let stored = hasher.hash(&pw)?;
/// assert_eq!(
///     hasher.verify(stored.as_str(), "jdoe", &pw),
///     Verification::Valid { needs_rehash: false },
/// );
/// assert_eq!(hasher.verify(stored.as_str(), "jdoe", &Password::new("wrong")), Verification::Invalid);
///
/// // A legacy OTOBO value (hex SHA-256, OTOBO's default) verifies and asks for a rehash.
/// let sha2 = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
/// let v = hasher.verify(sha2, "jdoe", &Password::new("password"));
/// assert_eq!(v, Verification::Valid { needs_rehash: true });
/// # Ok::<(), clientele_password::PasswordError>(())
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    config: PasswordConfig,
    argon2: Argon2<'static>,
    /// A hash of a random password under the current config, made on first use by
    /// [`PasswordHasher::dummy_verify`].
    dummy: OnceLock<Option<StoredHash>>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("config", &self.inner.config)
            .field("dummy_ready", &self.inner.dummy.get().is_some())
            .finish()
    }
}

impl PasswordHasher {
    /// Checks `config` and builds a hasher.
    ///
    /// # Errors
    ///
    /// [`PasswordError::InvalidArgon2Params`] (memory below 8 × parallelism or above
    /// 1 GiB, zero iterations or parallelism), [`PasswordError::InvalidBcryptCost`]
    /// (outside 4..=31), [`PasswordError::InvalidPasswordLength`] (generated length
    /// outside 8..=1024). Argon2 parameters are checked even when bcrypt is selected, so a
    /// later switch cannot fail.
    pub fn new(config: PasswordConfig) -> Result<Self, PasswordError> {
        let a = config.argon2;
        let invalid = |reason: String| PasswordError::InvalidArgon2Params {
            memory_kib: a.memory_kib,
            iterations: a.iterations,
            parallelism: a.parallelism,
            reason,
        };
        if a.memory_kib > MAX_ARGON2_MEMORY_KIB {
            return Err(invalid(format!("memory above {MAX_ARGON2_MEMORY_KIB} KiB")));
        }
        let params = argon2::Params::new(
            a.memory_kib,
            a.iterations,
            a.parallelism,
            Some(ARGON2_OUTPUT_LEN),
        )
        .map_err(|e| invalid(e.to_string()))?;
        if !BCRYPT_COSTS.contains(&config.bcrypt_cost) {
            return Err(PasswordError::InvalidBcryptCost {
                cost: config.bcrypt_cost,
                min: *BCRYPT_COSTS.start(),
                max: *BCRYPT_COSTS.end(),
            });
        }
        let length = config.generated_length;
        if !(MIN_GENERATED_LENGTH..=MAX_GENERATED_LENGTH).contains(&length) {
            return Err(PasswordError::InvalidPasswordLength {
                length,
                min: MIN_GENERATED_LENGTH,
                max: MAX_GENERATED_LENGTH,
            });
        }
        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                argon2: Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params),
                config,
                dummy: OnceLock::new(),
            }),
        })
    }

    /// The configuration this hasher was built with.
    pub fn config(&self) -> &PasswordConfig {
        &self.inner.config
    }

    /// Hashes `password` with the configured algorithm and a fresh random salt (16 bytes;
    /// for OTOBO's `BCRYPT:` 16 characters of `[0-9A-Za-z]`, as OTOBO makes them; the
    /// unsalted hex digests OTOBO verifies take none).
    ///
    /// # Errors
    ///
    /// [`PasswordError::EmptyPassword`]; [`PasswordError::PlainTextShared`] under
    /// [`PlainText::Shared`](crate::PlainText::Shared); [`PasswordError::PasswordTooLong`]
    /// for bcrypt and a password over 72 bytes, or OTOBO's `BCRYPT:` and one over 71 bytes
    /// (either would ignore the rest); [`PasswordError::Hashing`] if the crate fails (e.g.
    /// memory cannot be allocated).
    pub fn hash(&self, password: &Password) -> Result<StoredHash, PasswordError> {
        if password.is_empty() {
            return Err(PasswordError::EmptyPassword);
        }
        if self.inner.config.plain_text == PlainText::Shared {
            return Err(PasswordError::PlainTextShared);
        }
        let mut salt = [0u8; SALT_LEN];
        random_bytes(&mut salt);
        let bytes = password.expose().as_bytes();
        match self.inner.config.algorithm {
            HashAlgorithm::OtoboBcrypt => {
                if bytes.len() > otobo_bcrypt::MAX_PASSWORD_BYTES {
                    return Err(PasswordError::PasswordTooLong {
                        algorithm: "OTOBO's bcrypt",
                        max_bytes: otobo_bcrypt::MAX_PASSWORD_BYTES,
                    });
                }
                let salt = random_alphanumeric(SALT_LEN);
                otobo_bcrypt::new_value(self.inner.config.bcrypt_cost, &salt, bytes)
                    .map(StoredHash)
                    .ok_or_else(|| PasswordError::Hashing {
                        algorithm: "otobo-bcrypt",
                        reason: "the cost is above 31".into(),
                    })
            }
            HashAlgorithm::Sha256 => Ok(StoredHash(lower_hex(&Sha256::digest(bytes)))),
            HashAlgorithm::Sha512 => Ok(StoredHash(lower_hex(&Sha512::digest(bytes)))),
            HashAlgorithm::Argon2id => self
                .inner
                .argon2
                .hash_password_with_salt(bytes, &salt)
                .map(|phc| StoredHash(phc.to_string()))
                .map_err(|e| PasswordError::Hashing {
                    algorithm: "argon2id",
                    reason: e.to_string(),
                }),
            HashAlgorithm::Bcrypt => {
                if bytes.len() > BCRYPT_MAX_PASSWORD_BYTES {
                    return Err(PasswordError::PasswordTooLong {
                        algorithm: "bcrypt",
                        max_bytes: BCRYPT_MAX_PASSWORD_BYTES,
                    });
                }
                bcrypt::hash_with_salt(bytes, self.inner.config.bcrypt_cost, salt)
                    .map(|parts| StoredHash(parts.format_for_version(bcrypt::Version::TwoB)))
                    .map_err(|e| PasswordError::Hashing {
                        algorithm: "bcrypt",
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// Verifies `password` against the `stored` value of the user whose login (as stored
    /// in the user table) is `login`.
    ///
    /// The format is read from the stored value ([`HashFormat::detect`]), as OTOBO does.
    /// Passwords and logins are hashed as their UTF-8 bytes, without normalisation. All
    /// comparisons are constant-time. An empty password is always
    /// [`Verification::Invalid`], as in OTOBO.
    ///
    /// Per format: argon2/bcrypt by their crates with the stored parameters; OTOBO
    /// `BCRYPT:` by eksblowfish with the stored cost and salt; md5-crypt/apr1 with the
    /// stored salt; hex digests compared case-insensitively; DES with the first two
    /// stored characters as salt; [`HashFormat::Other`] first by OTOBO's
    /// `crypt(password, login)` (bigcrypt or BSDi DES for logins that select them), then
    /// as plain text if [`PasswordConfig::accept_plain`] is set and the value does not
    /// have the shape of that crypt output.
    ///
    /// With [`PlainText::First`](crate::PlainText::First) or
    /// [`Shared`](crate::PlainText::Shared) (OTOBO's CryptType `plain`), the stored value
    /// is first compared with the password as raw text, whatever it looks like.
    ///
    /// `needs_rehash` is never true under `Shared`. Otherwise it is true for a raw match
    /// under `First` and for a legacy format when
    /// [`PasswordConfig::rehash_legacy_on_login`] is set, and for an argon2 or bcrypt hash
    /// whose algorithm, version or cost differs from the config; a stored value in the
    /// configured OTOBO format (`BCRYPT:` at the configured cost, or the configured hex
    /// digest) is current.
    pub fn verify(&self, stored: &str, login: &str, password: &Password) -> Verification {
        if password.is_empty() {
            return Verification::Invalid;
        }
        let plain_text = self.inner.config.plain_text;
        if plain_text != PlainText::Fallback
            && !stored.is_empty()
            && bool::from(password.expose().as_bytes().ct_eq(stored.as_bytes()))
        {
            return Verification::Valid {
                needs_rehash: plain_text == PlainText::First
                    && self.inner.config.rehash_legacy_on_login,
            };
        }
        let format = HashFormat::detect(stored);
        if self.matches(format, stored, login, password.expose().as_bytes()) {
            Verification::Valid {
                needs_rehash: self.needs_rehash_as(format, stored),
            }
        } else {
            Verification::Invalid
        }
    }

    /// Whether a successful login against `stored` should replace it with a fresh hash
    /// (see [`Verification::Valid`]). Useful for reporting how many users still carry
    /// legacy hashes.
    ///
    /// ```
    /// use clientele_password::{PasswordConfig, PasswordHasher};
    ///
    /// let hasher = PasswordHasher::new(PasswordConfig::default()).unwrap();
    /// assert!(hasher.needs_rehash("$1$mgr$YmxCrgiPcBnE3fyljVimC/"));
    /// assert!(hasher.needs_rehash("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM"));
    /// ```
    pub fn needs_rehash(&self, stored: &str) -> bool {
        self.needs_rehash_as(HashFormat::detect(stored), stored)
    }

    /// Costs about what verifying a hash of the current config costs, and always answers
    /// [`Verification::Invalid`]: call it when the login is unknown, so that unknown users
    /// and wrong passwords take comparable time.
    ///
    /// The hash it verifies against is made (once) on the first call, which therefore
    /// costs a hash more; call it once at start-up to avoid that.
    ///
    /// ```
    /// use clientele_password::{Argon2Params, PasswordConfig, PasswordHasher, Verification};
    /// use clientele_model::Password;
    ///
    /// let config = PasswordConfig {
    ///     argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
    ///     ..PasswordConfig::default()
    /// };
    /// let hasher = PasswordHasher::new(config).unwrap();
    /// assert_eq!(hasher.dummy_verify(&Password::new("anything")), Verification::Invalid);
    /// ```
    pub fn dummy_verify(&self, password: &Password) -> Verification {
        let dummy = self
            .inner
            .dummy
            .get_or_init(|| self.hash(&Password::new(random_alphanumeric(32))).ok());
        if let Some(dummy) = dummy {
            let _ = std::hint::black_box(self.verify(dummy.as_str(), "", password));
        }
        Verification::Invalid
    }

    /// A random password of the configured length from `[0-9A-Za-z]` (see
    /// [`generate_password`](crate::generate_password)).
    pub fn generate_password(&self) -> Password {
        // The length was checked in `new`.
        Password::new(random_alphanumeric(self.inner.config.generated_length))
    }

    fn matches(&self, format: HashFormat, stored: &str, login: &str, password: &[u8]) -> bool {
        match format {
            HashFormat::Argon2 => verify_argon2(stored, password),
            HashFormat::Bcrypt => bcrypt::verify(password, stored).unwrap_or(false),
            HashFormat::OtoboBcrypt => otobo_bcrypt::verify(stored, password),
            HashFormat::Md5Crypt => verify_md5_crypt(stored, "$1$", password),
            HashFormat::Apr1 => verify_md5_crypt(stored, "$apr1$", password),
            HashFormat::Sha1Hex => hex_matches(&Sha1::digest(password), stored),
            HashFormat::Sha256Hex => hex_matches(&Sha256::digest(password), stored),
            HashFormat::Sha512Hex => hex_matches(&Sha512::digest(password), stored),
            HashFormat::DesCrypt => unix_crypt::des_crypt(password, stored.as_bytes())
                .is_some_and(|computed| computed.as_bytes().ct_eq(stored.as_bytes()).into()),
            HashFormat::Other => self.matches_other(stored, login, password),
            _ => false,
        }
    }

    /// OTOBO's last branch, `crypt(pw, login)` (only ever equal to a value that is not 13
    /// characters long), then plain text if accepted.
    fn matches_other(&self, stored: &str, login: &str, password: &[u8]) -> bool {
        if stored.len() != 13
            && unix_crypt::crypt(password, login.as_bytes())
                .is_some_and(|computed| bool::from(computed.as_bytes().ct_eq(stored.as_bytes())))
        {
            return true;
        }
        self.inner.config.accept_plain
            && !unix_crypt::looks_like_login_crypt(stored, login)
            && bool::from(password.ct_eq(stored.as_bytes()))
    }

    fn needs_rehash_as(&self, format: HashFormat, stored: &str) -> bool {
        let algorithm = self.inner.config.algorithm;
        if self.inner.config.plain_text == PlainText::Shared {
            // Nothing may be written: OTOBO compares raw text.
            return false;
        }
        match format {
            HashFormat::OtoboBcrypt if algorithm == HashAlgorithm::OtoboBcrypt => {
                otobo_bcrypt::cost_of(stored) != Some(self.inner.config.bcrypt_cost)
            }
            HashFormat::Sha256Hex if algorithm == HashAlgorithm::Sha256 => false,
            HashFormat::Sha512Hex if algorithm == HashAlgorithm::Sha512 => false,
            HashFormat::Argon2 => self.argon2_differs(stored),
            HashFormat::Bcrypt => {
                self.inner.config.algorithm != HashAlgorithm::Bcrypt
                    || !stored.starts_with("$2b$")
                    || stored.get(4..6).and_then(|cost| cost.parse::<u32>().ok())
                        != Some(self.inner.config.bcrypt_cost)
            }
            _ => self.inner.config.rehash_legacy_on_login,
        }
    }

    fn argon2_differs(&self, stored: &str) -> bool {
        if self.inner.config.algorithm != HashAlgorithm::Argon2id {
            return true;
        }
        let Ok(hash) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(params) = argon2::Params::try_from(&hash) else {
            return true;
        };
        let want = self.inner.argon2.params();
        hash.algorithm.as_str() != "argon2id"
            || hash.version != Some(argon2::Version::V0x13.into())
            || params.m_cost() != want.m_cost()
            || params.t_cost() != want.t_cost()
            || params.p_cost() != want.p_cost()
            || hash.hash.as_ref().map(|output| output.len()) != Some(ARGON2_OUTPUT_LEN)
    }
}

fn verify_argon2(stored: &str, password: &[u8]) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    match argon2::Params::try_from(&hash) {
        Ok(params) if params.m_cost() <= MAX_ARGON2_MEMORY_KIB => {}
        _ => return false,
    }
    Argon2::default().verify_password(password, &hash).is_ok()
}

fn verify_md5_crypt(stored: &str, magic: &str, password: &[u8]) -> bool {
    let Some(salt) = split_md5_crypt(stored, magic) else {
        return false;
    };
    let computed = md5_crypt::md5_crypt(magic.as_bytes(), password, salt.as_bytes());
    computed.ct_eq(stored.as_bytes()).into()
}

/// Compares a digest with stored hex, ignoring the case of the stored digits (OTOBO's
/// detection accepted upper case but then compared with lower-case output).
fn hex_matches(digest: &[u8], stored: &str) -> bool {
    lower_hex(digest)
        .as_bytes()
        .ct_eq(stored.to_ascii_lowercase().as_bytes())
        .into()
}

//! The one error type of the password module.

/// What went wrong while configuring a [`PasswordHasher`](super::PasswordHasher), hashing a
/// password or generating one.
///
/// No variant ever carries a password, a part of one, or its length.
///
/// ```
/// use clientele_password::{PasswordConfig, PasswordError, PasswordHasher};
///
/// let config = PasswordConfig { bcrypt_cost: 3, ..PasswordConfig::default() };
/// let err = PasswordHasher::new(config).unwrap_err();
/// assert!(matches!(err, PasswordError::InvalidBcryptCost { cost: 3, .. }));
/// assert_eq!(err.to_string(), "invalid bcrypt cost 3: must be 4..=31");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// An empty password was given to [`PasswordHasher::hash`](super::PasswordHasher::hash).
    #[error("an empty password cannot be hashed")]
    EmptyPassword,

    /// The password is longer than the configured algorithm reads; hashing it would
    /// silently ignore the rest (bcrypt reads 72 bytes).
    #[error("the password is longer than the {max_bytes} bytes {algorithm} reads")]
    PasswordTooLong {
        /// The algorithm that would truncate.
        algorithm: &'static str,
        /// How many bytes of a password it reads.
        max_bytes: usize,
    },

    /// The configured argon2 parameters are not usable.
    #[error(
        "invalid argon2 parameters (memory {memory_kib} KiB, iterations {iterations}, \
         parallelism {parallelism}): {reason}"
    )]
    InvalidArgon2Params {
        /// Configured memory in KiB.
        memory_kib: u32,
        /// Configured iterations (time cost).
        iterations: u32,
        /// Configured parallelism (lanes).
        parallelism: u32,
        /// Why they were refused.
        reason: String,
    },

    /// The configured bcrypt cost is outside what bcrypt accepts.
    #[error("invalid bcrypt cost {cost}: must be {min}..={max}")]
    InvalidBcryptCost {
        /// The configured cost.
        cost: u32,
        /// Smallest accepted cost.
        min: u32,
        /// Largest accepted cost.
        max: u32,
    },

    /// A generated password or token length is out of range.
    #[error("invalid generated password length {length}: must be {min}..={max}")]
    InvalidPasswordLength {
        /// The requested length.
        length: usize,
        /// Smallest accepted length.
        min: usize,
        /// Largest accepted length.
        max: usize,
    },

    /// The table is shared with an OTOBO whose CryptType is `plain` ([`PlainText::Shared`]):
    /// OTOBO compares raw text, so any hash written would lock the user out of OTOBO, and
    /// Clientele never stores plain text.
    ///
    /// [`PlainText::Shared`]: super::PlainText::Shared
    #[error(
        "the customer-user table is shared with OTOBO, whose CryptType is plain: a hash written \
         now would lock the user out of OTOBO, and Clientele does not store plain text. Switch \
         OTOBO's Customer::AuthModule::DB::CryptType to bcrypt first, then set crypt_type = \
         \"bcrypt\" under [otobo]"
    )]
    PlainTextShared,

    /// The hashing crate reported a failure (for example the system could not allocate the
    /// configured argon2 memory).
    #[error("{algorithm} hashing failed: {reason}")]
    Hashing {
        /// The algorithm that failed.
        algorithm: &'static str,
        /// The crate's description of the failure.
        reason: String,
    },
}

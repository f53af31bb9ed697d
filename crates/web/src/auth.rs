//! Who is asking: the [`Authenticator`] a host plugs in, the [`Principal`] it answers with, and
//! [`BearerTokens`], the authenticator `clientele serve` uses.
//!
//! Every route of the [`router`](crate::router) asks the authenticator first; a request it
//! answers `None` for gets `401 Unauthorized` as problem details and reaches no handler. Writes
//! are made by the principal's [`Actor`], so the audit columns name who made them.

use std::fmt;

use async_trait::async_trait;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use clientele_model::Actor;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Who a request comes from, as the [`Authenticator`] found: the name shown in logs and the
/// actor every write of the request is recorded as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The actor of the request's writes (the audit columns' `create_by` / `change_by`).
    pub actor: Actor,
}

impl Principal {
    /// A principal whose writes are made by `actor` (a name, or an OTOBO agent id as text).
    pub fn new(actor: impl Into<Actor>) -> Self {
        Principal {
            actor: actor.into(),
        }
    }
}

/// Decides who a request comes from. The host implements it over its own agent session (a
/// cookie, a header its proxy sets, …); `clientele serve` uses [`BearerTokens`].
///
/// Only the request's head is given: the body has not been read when the decision is made.
///
/// ```
/// use async_trait::async_trait;
/// use axum::http::request::Parts;
/// use clientele_web::{Authenticator, Principal};
///
/// /// Trusts the agent name a reverse proxy puts in `X-Agent` after its own login.
/// struct ProxyAgent;
///
/// #[async_trait]
/// impl Authenticator for ProxyAgent {
///     async fn authenticate(&self, parts: &Parts) -> Option<Principal> {
///         let name = parts.headers.get("x-agent")?.to_str().ok()?;
///         (!name.is_empty()).then(|| Principal::new(name))
///     }
/// }
/// ```
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The principal the request acts as, or `None` to refuse it with `401`.
    async fn authenticate(&self, parts: &Parts) -> Option<Principal>;
}

/// The length of a token's random part, in bytes: 256 bits, above the 128 the issue asks for.
const TOKEN_BYTES: usize = 32;

/// What every token starts with, so a leaked one is recognisable (and greppable) as ours.
pub const TOKEN_PREFIX: &str = "clientele_";

/// What a token opens: the JSON API (`api`, the default, so configurations written before
/// scopes existed keep working) or SCIM provisioning (`scim`). A token opens one part only, so
/// an identity provider's SCIM token cannot reach the admin API, nor an admin token SCIM.
///
/// ```
/// use clientele_web::TokenScope;
///
/// assert_eq!(TokenScope::default(), TokenScope::Api);
/// assert_eq!("scim".parse::<TokenScope>().ok(), Some(TokenScope::Scim));
/// assert_eq!(TokenScope::Scim.to_string(), "scim");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// The JSON API under `/api/v1`.
    #[default]
    Api,
    /// SCIM 2.0 under `/scim/v2`.
    Scim,
}

impl TokenScope {
    /// The scope's name in the configuration: `api` or `scim`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Api => "api",
            TokenScope::Scim => "scim",
        }
    }

    fn is_api(&self) -> bool {
        *self == TokenScope::Api
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenScope {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, TokenError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "api" => Ok(TokenScope::Api),
            "scim" => Ok(TokenScope::Scim),
            _ => Err(TokenError::UnknownScope(s.to_owned())),
        }
    }
}

/// A bearer token as the configuration keeps it: its id, the actor it acts as, its scope and
/// the SHA-256 digest of the token. The token itself is never stored.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoredToken {
    /// A short public name for the token (the first 12 hex digits of its digest), used to
    /// revoke it and shown in logs instead of the token.
    pub id: String,
    /// The actor the token's requests write as.
    pub actor: String,
    /// The token's SHA-256 digest, 64 lower-case hex digits.
    pub sha256: String,
    /// What the token opens; `api` when the entry has no `scope`.
    #[serde(default, skip_serializing_if = "TokenScope::is_api")]
    pub scope: TokenScope,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digest is not a secret, but nothing gains from printing it.
        f.debug_struct("StoredToken")
            .field("id", &self.id)
            .field("actor", &self.actor)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A token just issued: the secret, shown once, and what the configuration stores.
pub struct IssuedToken {
    /// The token to hand to the client; wiped from memory when dropped.
    pub token: Zeroizing<String>,
    /// Its stored form.
    pub stored: StoredToken,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

/// Why a token could not be issued or a stored one read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The operating system's random generator failed.
    #[error("the system's random generator failed: {0}")]
    Random(String),
    /// The actor name is empty.
    #[error("actor: a token needs an actor name")]
    EmptyActor,
    /// A stored token's `sha256` is not 64 hex digits.
    #[error("web.token {id:?}: sha256 must be 64 hex digits")]
    BadDigest {
        /// The stored token's id.
        id: String,
    },
    /// A scope other than `api` or `scim`.
    #[error("scope: {0:?} is not a token scope; give api or scim")]
    UnknownScope(String),
}

/// The SHA-256 digest of `token`, as lower-case hex.
pub fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Issues a new token for `actor`: 256 random bits from the operating system, hex-encoded after
/// [`TOKEN_PREFIX`]. Only [`IssuedToken::stored`] is meant to be kept.
///
/// ```
/// let issued = clientele_web::issue_token("alice")?;
/// assert!(issued.token.starts_with("clientele_"));
/// assert_eq!(issued.stored.actor, "alice");
/// assert_eq!(issued.stored.sha256, clientele_web::token_digest(&issued.token));
/// # Ok::<(), clientele_web::TokenError>(())
/// ```
pub fn issue_token(actor: &str) -> Result<IssuedToken, TokenError> {
    issue_scoped_token(actor, TokenScope::Api)
}

/// Issues a new token for `actor` that opens only the part `scope` names.
///
/// ```
/// use clientele_web::{TokenScope, issue_scoped_token};
///
/// let issued = issue_scoped_token("entra", TokenScope::Scim)?;
/// assert_eq!(issued.stored.scope, TokenScope::Scim);
/// # Ok::<(), clientele_web::TokenError>(())
/// ```
pub fn issue_scoped_token(actor: &str, scope: TokenScope) -> Result<IssuedToken, TokenError> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(TokenError::EmptyActor);
    }
    let mut random = Zeroizing::new([0u8; TOKEN_BYTES]);
    getrandom::fill(random.as_mut()).map_err(|e| TokenError::Random(e.to_string()))?;
    let token = Zeroizing::new(format!("{TOKEN_PREFIX}{}", hex(random.as_ref())));
    let sha256 = token_digest(&token);
    Ok(IssuedToken {
        stored: StoredToken {
            id: sha256[..12].to_owned(),
            actor: actor.to_owned(),
            sha256,
            scope,
        },
        token,
    })
}

/// The bearer-token authenticator of `clientele serve`: a request with
/// `Authorization: Bearer <token>` whose SHA-256 digest is one of the stored ones of its scope
/// acts as that token's actor. [`BearerTokens::new`] keeps the `api` tokens,
/// [`BearerTokens::scoped`] those of another scope; the others are not known to it at all.
///
/// Every stored digest is compared, in constant time, whatever matched before, so the answer's
/// timing does not tell how much of a digest was right.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use axum::http::Request;
/// use clientele_web::{Authenticator, BearerTokens, issue_token};
///
/// let issued = issue_token("alice")?;
/// let tokens = BearerTokens::new(&[issued.stored.clone()])?;
/// let (parts, _) = Request::get("/")
///     .header("authorization", format!("Bearer {}", issued.token.as_str()))
///     .body(())
///     .unwrap()
///     .into_parts();
/// let who = tokens.authenticate(&parts).await.expect("a known token");
/// assert_eq!(who.actor.to_string(), "alice");
/// # Ok::<(), clientele_web::TokenError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct BearerTokens {
    tokens: Vec<([u8; 32], Actor)>,
}

impl fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokens")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl BearerTokens {
    /// The authenticator for the `api` tokens among these stored ones; refuses a digest that is
    /// not 64 hex digits.
    pub fn new(stored: &[StoredToken]) -> Result<Self, TokenError> {
        Self::scoped(stored, TokenScope::Api)
    }

    /// The authenticator for the tokens of `scope` among these stored ones (every digest is
    /// checked, whatever its scope).
    ///
    /// ```
    /// use clientele_web::{BearerTokens, TokenScope, issue_scoped_token, issue_token};
    ///
    /// let api = issue_token("admin")?;
    /// let scim = issue_scoped_token("idp", TokenScope::Scim)?;
    /// let stored = [api.stored.clone(), scim.stored.clone()];
    /// let for_scim = BearerTokens::scoped(&stored, TokenScope::Scim)?;
    /// assert!(for_scim.actor_of(&scim.token).is_some());
    /// assert!(for_scim.actor_of(&api.token).is_none());
    /// # Ok::<(), clientele_web::TokenError>(())
    /// ```
    pub fn scoped(stored: &[StoredToken], scope: TokenScope) -> Result<Self, TokenError> {
        let checked = stored
            .iter()
            .map(|t| {
                unhex(&t.sha256.to_ascii_lowercase())
                    .map(|d| (d, t))
                    .ok_or_else(|| TokenError::BadDigest { id: t.id.clone() })
            })
            .collect::<Result<Vec<_>, TokenError>>()?;
        let tokens = checked
            .into_iter()
            .filter(|(_, t)| t.scope == scope)
            .map(|(digest, t)| (digest, Actor::from(t.actor.as_str())))
            .collect();
        Ok(BearerTokens { tokens })
    }

    /// The actor of `token`, when its digest is stored.
    pub fn actor_of(&self, token: &str) -> Option<&Actor> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (stored, actor) in &self.tokens {
            if bool::from(stored.ct_eq(&digest)) {
                found = Some(actor);
            }
        }
        found
    }
}

#[async_trait]
impl Authenticator for BearerTokens {
    async fn authenticate(&self, parts: &Parts) -> Option<Principal> {
        let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        self.actor_of(token.trim()).map(|actor| Principal {
            actor: actor.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_long() {
        let a = issue_token("a").unwrap();
        let b = issue_token("a").unwrap();
        assert_ne!(a.token.as_str(), b.token.as_str());
        assert_eq!(a.token.len(), TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        assert_eq!(a.stored.id, &a.stored.sha256[..12]);
    }

    #[test]
    fn only_a_stored_token_is_known() {
        let a = issue_token("alice").unwrap();
        let b = issue_token("bob").unwrap();
        let tokens = BearerTokens::new(&[a.stored.clone(), b.stored.clone()]).unwrap();
        assert_eq!(tokens.actor_of(&a.token), Some(&Actor::from("alice")));
        assert_eq!(tokens.actor_of(&b.token), Some(&Actor::from("bob")));
        assert_eq!(tokens.actor_of("clientele_00"), None);
        assert_eq!(tokens.actor_of(&a.stored.sha256), None);
    }

    #[test]
    fn a_bad_digest_names_its_token() {
        let bad = StoredToken {
            id: "abc".into(),
            actor: "x".into(),
            sha256: "zz".into(),
            scope: TokenScope::Scim,
        };
        let e = BearerTokens::new(&[bad]).unwrap_err();
        assert!(e.to_string().contains("\"abc\""), "{e}");
    }

    #[test]
    fn a_token_opens_only_its_scope() {
        let api = issue_token("admin").unwrap();
        let scim = issue_scoped_token("idp", TokenScope::Scim).unwrap();
        let stored = [api.stored.clone(), scim.stored.clone()];
        let for_api = BearerTokens::new(&stored).unwrap();
        let for_scim = BearerTokens::scoped(&stored, TokenScope::Scim).unwrap();
        assert!(for_api.actor_of(&api.token).is_some());
        assert!(for_api.actor_of(&scim.token).is_none());
        assert!(for_scim.actor_of(&scim.token).is_some());
        assert!(for_scim.actor_of(&api.token).is_none());
    }

    #[test]
    fn a_stored_token_without_scope_is_an_api_token() {
        let t: StoredToken =
            serde_json::from_str(r#"{"id":"a","actor":"b","sha256":"c"}"#).unwrap();
        assert_eq!(t.scope, TokenScope::Api);
        assert!("admin".parse::<TokenScope>().is_err());
    }

    #[test]
    fn an_empty_actor_is_refused() {
        assert!(matches!(issue_token("  "), Err(TokenError::EmptyActor)));
    }
}

//! Browser sessions of the admin screens and their CSRF tokens.
//!
//! A session id is 128 random bits from the operating system, sent as a cookie that is
//! `HttpOnly`, `SameSite=Strict`, scoped to the screens' path and `Secure` when configured. The
//! server keeps only the SHA-256 digest of each id (a look-up cannot be timed against a stored
//! id, and a memory dump holds no usable cookie), the actor it acts as, its CSRF token and
//! when it ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use clientele_model::Actor;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "clientele_session";

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Random bytes in a session id and a CSRF token: 128 bits each.
const RANDOM_BYTES: usize = 16;

/// The most sessions kept at once; the one ending first makes room for a new one.
const MAX_SESSIONS: usize = 10_000;

/// What the server keeps of a session.
#[derive(Clone)]
pub(crate) struct Session {
    /// Who it acts as; `None` before login (the login form's own CSRF token).
    pub(crate) actor: Option<Actor>,
    /// The CSRF token every form of the session carries.
    pub(crate) csrf: String,
    expires: Instant,
}

/// The sessions of one router.
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    ttl: Duration,
}

/// A new session: the id for the cookie and its CSRF token.
pub(crate) struct Started {
    pub(crate) id: String,
    pub(crate) csrf: String,
}

impl Sessions {
    pub(crate) fn new(ttl: Duration) -> Self {
        Sessions {
            map: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// How long a session lasts.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session acting as `actor` (`None`: the anonymous one of the login form).
    /// `None` when the system's random generator fails.
    pub(crate) fn start(&self, actor: Option<Actor>) -> Option<Started> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            // Anonymous sessions go first, then the one ending soonest.
            let victim = map
                .iter()
                .min_by_key(|(_, s)| (s.actor.is_some(), s.expires))
                .map(|(k, _)| *k);
            if let Some(k) = victim {
                map.remove(&k);
            }
        }
        map.insert(
            digest(&id),
            Session {
                actor,
                csrf: csrf.clone(),
                expires: now + self.ttl,
            },
        );
        Some(Started { id, csrf })
    }

    /// The live session with this id.
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let key = digest(id);
        match map.get(&key) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends the session with this id.
    pub(crate) fn end(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&digest(id));
    }
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_hex() -> Option<String> {
    use std::fmt::Write;
    let mut bytes = [0u8; RANDOM_BYTES];
    getrandom::fill(&mut bytes).ok()?;
    let mut s = String::with_capacity(RANDOM_BYTES * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    Some(s)
}

/// The session id the request's `Cookie` header carries.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value of a session: scoped to `path`, `max_age` long.
pub(crate) fn cookie(id: &str, path: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path={path}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn removal(path: &str, secure: bool) -> String {
    cookie("", path, Duration::ZERO, secure)
}

/// Whether `given` is the session's CSRF token, compared in constant time.
pub(crate) fn csrf_matches(expected: &str, given: Option<&str>) -> bool {
    match given {
        Some(g) if g.len() == expected.len() => bool::from(g.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_long_enough() {
        let s = Sessions::new(Duration::from_secs(60));
        let a = s.start(Some(Actor::from("a"))).unwrap();
        let b = s.start(Some(Actor::from("a"))).unwrap();
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.id.len(), 32);
        assert_eq!(s.get(&a.id).unwrap().actor, Some(Actor::from("a")));
        s.end(&a.id);
        assert!(s.get(&a.id).is_none());
        assert!(s.get(&b.id).is_some());
    }

    #[test]
    fn an_expired_session_is_gone() {
        let s = Sessions::new(Duration::ZERO);
        let a = s.start(None).unwrap();
        assert!(s.get(&a.id).is_none());
    }

    #[test]
    fn csrf_needs_the_exact_token() {
        assert!(csrf_matches("abcd", Some("abcd")));
        assert!(!csrf_matches("abcd", Some("abce")));
        assert!(!csrf_matches("abcd", Some("abc")));
        assert!(!csrf_matches("abcd", None));
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=1; clientele_session=xyz; b=2".parse().unwrap());
        assert_eq!(session_id(&h).as_deref(), Some("xyz"));
        let c = cookie("xyz", "/admin", Duration::from_secs(5), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(c.contains("Path=/admin"));
    }
}

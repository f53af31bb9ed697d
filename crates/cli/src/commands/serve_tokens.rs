//! The bearer tokens of a running `clientele serve`, re-read from the configuration file when
//! it changes: `clientele serve token revoke` (or `add`) takes effect within a second, without a
//! restart.
//!
//! [`ReloadingTokens`] answers each request from the token list it holds. At most once a second
//! it looks at the file's modification time and size; when either changed it reads the file
//! again and, when the file still reads as a configuration with a valid `[[web.token]]` list,
//! answers from the new list from then on. A file that cannot be read, or does not read as a
//! configuration, keeps the previous list and logs one warning naming the file, never its
//! contents (a configuration holds database passwords).

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use clientele::config::Config;
use clientele::web::axum::http::request::Parts;
use clientele::web::{Authenticator, BearerTokens, Principal, TokenScope, async_trait};

/// How often the file is looked at, at most.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What identifies a version of the file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    fn of(meta: &Metadata) -> Self {
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        }
    }
}

struct State {
    tokens: Arc<BearerTokens>,
    /// The version of the file `tokens` came from, or the last one that failed to read (so a
    /// broken file is warned about once, not every second).
    stamp: Option<Stamp>,
    checked: Instant,
}

/// An [`Authenticator`] over the `[[web.token]]` list of a configuration file that follows the
/// file's changes (see the module documentation).
pub struct ReloadingTokens {
    path: PathBuf,
    scope: TokenScope,
    interval: Duration,
    state: Mutex<State>,
}

impl std::fmt::Debug for ReloadingTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingTokens")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ReloadingTokens {
    /// Starts from `tokens` (the list the server was started with, read from `path`) and
    /// follows `path` from then on.
    pub fn new(path: impl Into<PathBuf>, tokens: BearerTokens) -> Self {
        Self::scoped(path, tokens, TokenScope::Api)
    }

    /// Like [`ReloadingTokens::new`], for the tokens of `scope` (those of `tokens`, and those
    /// of that scope the file lists later).
    pub fn scoped(path: impl Into<PathBuf>, tokens: BearerTokens, scope: TokenScope) -> Self {
        let path = path.into();
        let stamp = std::fs::metadata(&path).ok().map(|m| Stamp::of(&m));
        ReloadingTokens {
            path,
            scope,
            interval: CHECK_INTERVAL,
            state: Mutex::new(State {
                tokens: Arc::new(tokens),
                stamp,
                checked: Instant::now(),
            }),
        }
    }

    /// Looks at the file more (or less) often than [`CHECK_INTERVAL`].
    #[cfg(test)]
    fn check_every(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The token list to answer from now, re-read first when it is time to look and the file
    /// changed.
    fn current(&self) -> Arc<BearerTokens> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.checked.elapsed() >= self.interval {
            state.checked = Instant::now();
            self.refresh(&mut state);
        }
        state.tokens.clone()
    }

    fn refresh(&self, state: &mut State) {
        let stamp = match std::fs::metadata(&self.path) {
            Ok(meta) => Stamp::of(&meta),
            Err(e) => {
                if state.stamp.is_some() {
                    tracing::warn!(
                        file = %self.path.display(),
                        error = %e.kind(),
                        "the configuration file cannot be read; the previous token list stays"
                    );
                    state.stamp = None;
                }
                return;
            }
        };
        if state.stamp == Some(stamp) {
            return;
        }
        state.stamp = Some(stamp);
        match read_tokens(&self.path, self.scope) {
            Ok(tokens) => {
                tracing::info!(
                    file = %self.path.display(),
                    tokens = tokens.1,
                    "the token list was re-read"
                );
                state.tokens = Arc::new(tokens.0);
            }
            Err(why) => tracing::warn!(
                file = %self.path.display(),
                reason = why,
                "the token list could not be re-read; the previous one stays"
            ),
        }
    }
}

/// The `[[web.token]]` list of the configuration file at `path` and its length; on failure a
/// reason that quotes nothing of the file.
fn read_tokens(path: &Path, scope: TokenScope) -> Result<(BearerTokens, usize), &'static str> {
    let text = std::fs::read_to_string(path).map_err(|_| "the file cannot be read")?;
    // The error would quote the file (a database URL with its password, say): only its kind.
    let config =
        Config::from_toml_str(&text).map_err(|_| "the file does not read as a configuration")?;
    let count = config.web.token.iter().filter(|t| t.scope == scope).count();
    let tokens = BearerTokens::scoped(&config.web.token, scope)
        .map_err(|_| "a [[web.token]] entry's sha256 is not 64 hex digits")?;
    Ok((tokens, count))
}

#[async_trait]
impl Authenticator for ReloadingTokens {
    async fn authenticate(&self, parts: &Parts) -> Option<Principal> {
        let tokens = self.current();
        tokens.authenticate(parts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele::web::axum::http::Request;
    use clientele::web::issue_token;

    fn parts(token: &str) -> Parts {
        Request::get("/")
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn config_with(tokens: &[&clientele::web::StoredToken], extra: &str) -> String {
        let mut text = String::from(
            "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite://x.sqlite?mode=rwc\"\n",
        );
        for t in tokens {
            text.push_str(&format!(
                "\n[[web.token]]\nid = \"{}\"\nactor = \"{}\"\nsha256 = \"{}\"\n",
                t.id, t.actor, t.sha256
            ));
        }
        text.push_str(extra);
        text
    }

    fn authenticator(path: &Path) -> ReloadingTokens {
        let config = Config::from_path(path).unwrap();
        ReloadingTokens::new(path, BearerTokens::new(&config.web.token).unwrap())
            .check_every(Duration::ZERO)
    }

    #[tokio::test]
    async fn a_revoked_token_is_refused_and_an_added_one_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clientele.toml");
        let a = issue_token("alice").unwrap();
        let b = issue_token("bob").unwrap();
        std::fs::write(&path, config_with(&[&a.stored], "")).unwrap();
        let auth = authenticator(&path);
        assert!(auth.authenticate(&parts(&a.token)).await.is_some());
        assert!(auth.authenticate(&parts(&b.token)).await.is_none());

        std::fs::write(&path, config_with(&[&b.stored], "")).unwrap();
        assert!(auth.authenticate(&parts(&a.token)).await.is_none());
        let who = auth.authenticate(&parts(&b.token)).await.unwrap();
        assert_eq!(who.actor.to_string(), "bob");
    }

    #[tokio::test]
    async fn a_broken_file_keeps_the_previous_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clientele.toml");
        let a = issue_token("alice").unwrap();
        std::fs::write(&path, config_with(&[&a.stored], "")).unwrap();
        let auth = authenticator(&path);
        for broken in [
            config_with(&[&a.stored], "[web\n"),
            config_with(&[&a.stored], "\n[web.nope]\n"),
            "[[web.token]]\nid = \"x\"\nactor = \"y\"\nsha256 = \"zz\"\n".to_owned(),
        ] {
            std::fs::write(&path, broken).unwrap();
            assert!(auth.authenticate(&parts(&a.token)).await.is_some());
        }
        std::fs::remove_file(&path).unwrap();
        assert!(auth.authenticate(&parts(&a.token)).await.is_some());
        // Readable again without the token: refused from then on.
        std::fs::write(&path, config_with(&[], "")).unwrap();
        assert!(auth.authenticate(&parts(&a.token)).await.is_none());
    }

    #[tokio::test]
    async fn the_file_is_looked_at_at_most_once_an_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clientele.toml");
        let a = issue_token("alice").unwrap();
        std::fs::write(&path, config_with(&[&a.stored], "")).unwrap();
        let config = Config::from_path(&path).unwrap();
        let auth = ReloadingTokens::new(&path, BearerTokens::new(&config.web.token).unwrap())
            .check_every(Duration::from_secs(3600));
        std::fs::write(&path, config_with(&[], "")).unwrap();
        // Within the interval the list held is used, whatever the file says now.
        assert!(auth.authenticate(&parts(&a.token)).await.is_some());
    }
}

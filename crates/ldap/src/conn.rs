//! Connections: opening one (URL list, TLS, timeouts), the shared service connection with lazy
//! (re)connect, and running an operation on it.
//!
//! The service connection is one multiplexed ldap3 [`Ldap`] handle: clones share the socket and
//! run concurrently. It sits behind a `std::sync::Mutex` that is only held to clone or replace
//! the handle, never across an await. A connection that turns out to be dead is dropped and the
//! next call (or one immediate retry of a read) opens a new one, so a restarted server is picked
//! up without rebuilding anything.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use clientele_backend::error::{Error, Result};
use clientele_model::Password;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};

use crate::config::config_err;
use crate::error::{Failure, LdapSourceError, map_ldap_error, result_name};

/// Opens connections to the configured servers.
pub(crate) struct Connector {
    pub(crate) backend: String,
    urls: Vec<String>,
    settings: LdapConnSettings,
    pub(crate) connect_timeout: Duration,
    pub(crate) op_timeout: Duration,
}

impl Connector {
    pub(crate) fn new(
        backend: String,
        urls: Vec<String>,
        starttls: bool,
        tls: Option<Arc<rustls::ClientConfig>>,
        tls_no_verify: bool,
        connect_timeout: Duration,
        op_timeout: Duration,
    ) -> Self {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(connect_timeout)
            .set_starttls(starttls)
            .set_no_tls_verify(tls_no_verify);
        if let Some(config) = tls {
            settings = settings.set_config(config);
        }
        Connector {
            backend,
            urls,
            settings,
            connect_timeout,
            op_timeout,
        }
    }

    /// A new connection to the first server that accepts one (with TLS when configured), its
    /// driver spawned on the current runtime. Not bound: the caller binds as whom it needs.
    pub(crate) async fn open(&self) -> Result<Ldap> {
        let mut last = None;
        for url in &self.urls {
            match LdapConnAsync::with_settings(self.settings.clone(), url).await {
                Ok((conn, ldap)) => {
                    let url = url.clone();
                    tokio::spawn(async move {
                        if let Err(e) = conn.drive().await {
                            tracing::debug!(%url, error = %e, "LDAP connection ended");
                        }
                    });
                    return Ok(ldap);
                }
                Err(e) => {
                    let err = map_ldap_error(&self.backend, e, self.connect_timeout, Some(url));
                    tracing::debug!(%url, error = %err, "LDAP connect failed");
                    // A TLS failure is a configuration problem; trying the next server with the
                    // same trust settings is still right (it may have a different certificate).
                    last = Some(err);
                }
            }
        }
        Err(last.unwrap_or_else(|| config_err("no server URL configured")))
    }

    /// A simple bind with the operation timeout. `Ok(false)` for invalid credentials.
    pub(crate) async fn bind(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        password: &str,
    ) -> std::result::Result<bool, Failure> {
        let res = ldap
            .with_timeout(self.op_timeout)
            .simple_bind(dn, password)
            .await?;
        match res.rc {
            0 => Ok(true),
            49 => Ok(false),
            _ => Err(Failure::Result("bind", res)),
        }
    }
}

/// The shared, lazily (re)connected service connection.
pub(crate) struct ServiceConnection {
    pub(crate) connector: Connector,
    bind: Option<(String, Password)>,
    slot: Mutex<Option<(u64, Ldap)>>,
    generation: AtomicU64,
}

impl ServiceConnection {
    pub(crate) fn new(connector: Connector, bind: Option<(String, Password)>) -> Self {
        ServiceConnection {
            connector,
            bind,
            slot: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    fn slot(&self) -> MutexGuard<'_, Option<(u64, Ldap)>> {
        // The slot holds a handle or nothing; a panic elsewhere cannot leave it half-written.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached handle if its connection is still open.
    fn cached(&self) -> Option<(u64, Ldap)> {
        let mut slot = self.slot();
        let (gen_, ldap) = slot.as_mut()?;
        if ldap.is_closed() {
            *slot = None;
            return None;
        }
        Some((*gen_, ldap.clone()))
    }

    /// Drops the cached handle if it is still the one of generation `gen_`.
    fn invalidate(&self, gen_: u64) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|(g, _)| *g == gen_) {
            *slot = None;
        }
    }

    /// Opens and binds a new service connection and caches it.
    async fn connect(&self) -> Result<(u64, Ldap)> {
        let mut ldap = self.connector.open().await?;
        if let Some((dn, pw)) = &self.bind {
            match self.connector.bind(&mut ldap, dn, pw.expose()).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Error::Backend {
                        backend: self.connector.backend.clone(),
                        source: Box::new(LdapSourceError::ServiceBind {
                            dn: dn.clone(),
                            rc: 49,
                            text: result_name(49).to_owned(),
                        }),
                    });
                }
                Err(Failure::Result(_, r)) if !matches!(r.rc, 51 | 52 | 80 | 81) => {
                    return Err(Error::Backend {
                        backend: self.connector.backend.clone(),
                        source: Box::new(LdapSourceError::ServiceBind {
                            dn: dn.clone(),
                            rc: r.rc,
                            text: r.text,
                        }),
                    });
                }
                Err(f) => {
                    return Err(f.into_error(&self.connector.backend, self.connector.op_timeout));
                }
            }
        }
        let gen_ = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let mut slot = self.slot();
        if let Some((g, existing)) = slot.as_mut()
            && !existing.is_closed()
        {
            // Another call connected meanwhile; use that one and let ours close.
            return Ok((*g, existing.clone()));
        }
        *slot = Some((gen_, ldap.clone()));
        Ok((gen_, ldap))
    }

    /// Runs a read on the service connection. When it fails because the (cached) connection
    /// was dead, it is retried once on a fresh connection; reads are idempotent.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(Ldap) -> Fut,
        Fut: Future<Output = std::result::Result<T, Failure>>,
    {
        let (gen_, ldap, fresh) = match self.cached() {
            Some((g, l)) => (g, l, false),
            None => {
                let (g, l) = self.connect().await?;
                (g, l, true)
            }
        };
        match op(ldap).await {
            Ok(v) => Ok(v),
            Err(f) if f.connection_lost() => {
                self.invalidate(gen_);
                if fresh {
                    return Err(f.into_error(&self.connector.backend, self.connector.op_timeout));
                }
                tracing::debug!(backend = %self.connector.backend, "LDAP connection lost; reconnecting once");
                let (gen_, ldap) = self.connect().await?;
                op(ldap).await.map_err(|f| {
                    if f.connection_lost() {
                        self.invalidate(gen_);
                    }
                    f.into_error(&self.connector.backend, self.connector.op_timeout)
                })
            }
            Err(f) => Err(f.into_error(&self.connector.backend, self.connector.op_timeout)),
        }
    }
}

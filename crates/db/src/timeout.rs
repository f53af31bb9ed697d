//! The client-side limit on one backend operation ([`DbConfig::query_timeout_ms`]).
//!
//! The pool's acquire and connect timeouts only cover getting a connection. A server that stops
//! answering once a statement is on the wire — a frozen VM, a network partition, a stopped
//! process — leaves the statement waiting for a reply that never comes, and the caller with it.
//! Every operation of the backend's store traits therefore runs under [`DbBackend::bounded`].
//!
//! [`DbConfig::query_timeout_ms`]: crate::DbConfig::query_timeout_ms

use std::future::Future;

use clientele_backend::{Error, Result};

use crate::DbBackend;

impl DbBackend {
    /// Runs one operation of the store named `backend` under the configured query timeout.
    ///
    /// When the limit expires the operation is dropped — a transaction in it is rolled back when
    /// its connection is next usable — and the caller gets [`Error::Timeout`] naming the backend
    /// and the limit, an outage error (`is_outage()`, `is_retryable()`). A write cut this way
    /// may or may not have been committed: the commit may have reached the server before the
    /// reply was lost. `query_timeout_ms = 0` runs the operation without a limit.
    pub(crate) async fn bounded<T>(
        &self,
        backend: &str,
        op: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(limit) = self.config.query_timeout() else {
            return op.await;
        };
        match tokio::time::timeout(limit, op).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(
                    backend,
                    millis = self.config.query_timeout_ms,
                    "database operation cut by the query timeout"
                );
                Err(Error::Timeout {
                    backend: backend.to_owned(),
                    millis: self.config.query_timeout_ms,
                })
            }
        }
    }
}

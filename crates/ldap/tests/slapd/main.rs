//! Behaviour tests of the LDAP backend against a real OpenLDAP server.
//!
//! Every test marked `ignore` starts its own throwaway slapd with `scripts/slapd.sh` (about a
//! quarter of a second) and stops it when done; if slapd cannot be started the test fails.
//! Run them with `scripts/test.sh`, or `cargo test -p clientele-ldap -- --include-ignored`.

mod auth;
mod bind_count;
mod chained;
mod charset;
mod common;
mod injection;
mod offline;
mod outage;
mod paging;
mod queries;
mod read_side;
mod server;
mod tls;

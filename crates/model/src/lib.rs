//! Clientele's vocabulary (crate docs are completed below).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod permission;
pub mod search;
pub mod secret;

pub use secret::Password;

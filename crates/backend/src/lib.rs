//! Clientele backend (being written).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod settings;
pub mod traits;

pub use error::{BoxError, Entity, Error, Result};
pub use settings::{CompanySettings, SourceSettings};
pub use traits::*;

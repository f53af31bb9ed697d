//! Clientele backend (crate docs completed below).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
#[cfg(feature = "testkit")]
pub mod conformance;
pub mod directory;
pub mod error;
pub mod matching;
mod memory;
pub mod password;
pub mod settings;
pub mod traits;

pub use directory::{Added, Directory, DirectoryBuilder, DirectoryConfig, SearchHit, Source};
pub use error::{BoxError, Entity, Error, Result};
pub use memory::InMemoryBackend;
pub use settings::{CompanySettings, SourceSettings};
pub use traits::*;

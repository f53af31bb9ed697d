//! Clientele facade.

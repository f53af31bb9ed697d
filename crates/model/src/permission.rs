//! Permission types (being written).

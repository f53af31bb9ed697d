//! Backend (being written).

//! The case catalog.

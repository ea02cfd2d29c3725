//! The embedded backend (not yet written).

//! The store conformance suite (not yet written).

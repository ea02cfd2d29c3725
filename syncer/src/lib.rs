//! Warren's syncer: maps tenant objects down to the super cluster and status back up.
//!
//! Nothing is here yet; the tenant API server comes first (see the README's limits).
#![forbid(unsafe_code)]

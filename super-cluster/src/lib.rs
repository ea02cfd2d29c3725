//! Warren's platform side: the `Tenant` custom resource, its operator and the `warren` CLI.
//!
//! Nothing is here yet; the tenant API server comes first (see the README's limits).
#![forbid(unsafe_code)]

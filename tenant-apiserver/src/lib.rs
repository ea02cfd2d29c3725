//! Warren's tenant API server.
#![forbid(unsafe_code)]

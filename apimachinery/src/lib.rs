//! Kubernetes API machinery for Warren, free of any runtime (no tokio, no hyper).
//!
//! Sits under the tenant API server's handlers: the [`registry`] says which resources exist,
//! [`kinds`] holds each built-in kind's strategy (defaults, validation, field selectors),
//! [`validation`] the shared name and metadata rules, [`selectors`] label and field selectors,
//! [`table`] server-side printing, and [`error`] the one translation of failures into
//! `meta/v1 Status`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod apply;
pub mod crd;
pub mod error;
pub mod field_validation;
pub mod kinds;
pub mod openapi;
pub mod openapi_v2_proto;
pub mod pod_security;
pub mod protobuf;
pub mod rbac;
pub mod registry;
pub mod schema;
pub mod selectors;
pub mod strategic_merge;
pub mod table;
pub mod validation;

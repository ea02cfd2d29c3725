//! Fuzzes the request-decoding surface (see `tenant_apiserver::fuzzing`).
//! Run: `cargo install cargo-fuzz && cd fuzz && cargo fuzz run decode_request -s none`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tenant_apiserver::fuzzing::decode_request(data));

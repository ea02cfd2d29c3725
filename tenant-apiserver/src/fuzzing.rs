//! The request-decoding surface in one function, for the fuzz target (`fuzz/`) and the
//! deterministic smoke run in the unit tests: everything the server does with untrusted request
//! bytes before touching the store must return an error, never panic.

use serde_json::json;
use warren_apimachinery::registry::Registry;

use crate::codec::{self, BodyType};

/// Feeds `data` through path and query parsing, content negotiation, body decoding, patching,
/// selectors, continue tokens and delete options. The first line is `path?query`, the rest the body.
pub fn decode_request(data: &[u8]) {
    let (head, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let head = String::from_utf8_lossy(head);
    let (path, query) = head.split_once('?').unwrap_or((&head, ""));
    let _ = crate::request::parse_path(path);
    let query = crate::request::parse_query(Some(query));
    let _ = codec::negotiate(Some(&head));
    let _ = codec::body_type(Some(&head));
    let registry = Registry::new();
    let pods = registry
        .lookup("", "v1", "pods")
        .expect("pods are registered");
    let _ = crate::filter::ListFilter::from_query(&pods, &query);
    let _ = crate::handlers::decode_continue(&head, "/registry/core/pods/");
    let _ = crate::handlers::DeleteOptions::parse(&query, body);
    let old = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    for ty in [
        BodyType::Json,
        BodyType::Yaml,
        BodyType::MergePatch,
        BodyType::JsonPatch,
        BodyType::StrategicMergePatch,
    ] {
        if let Ok(v) = codec::decode_body(body, ty) {
            let _ = warren_apimachinery::kinds::validate(&pods, &v, None);
            let mut d = v.clone();
            warren_apimachinery::kinds::apply_defaults(&pods, &mut d);
            let _ = crate::handlers::merge_for_update(&pods, &old, v, None);
        }
        let _ = crate::patch::apply(&pods, &old, body, ty);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift) so the smoke run needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    const SEEDS: &[&str] = &[
        "/api/v1/namespaces/default/pods?labelSelector=a%3Db,c+in+(d)&fieldSelector=spec.nodeName%3Dn\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}",
        "/apis/apps/v1/watch/deployments?resourceVersion=5\nkind: Pod\nmetadata:\n  name: y\n  labels: {a: b}\n",
        "application/json;as=Table;v=v1;g=meta.k8s.io\n[{\"op\":\"add\",\"path\":\"/metadata/labels/x\",\"value\":\"y\"}]",
        "/api/v1/pods?gracePeriodSeconds=0\n{\"spec\":{\"containers\":[{\"name\":\"c\",\"$patch\":\"delete\"}],\"$retainKeys\":[\"a\"]}}",
        "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6Miwic3RhcnQiOiJhIn0=\n{\"preconditions\":{\"uid\":\"u\"},\"propagationPolicy\":\"Foreground\"}",
    ];

    #[test]
    fn decoding_never_panics_on_mutated_requests() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..4000 {
            let seed = SEEDS[(rng.next() % SEEDS.len() as u64) as usize].as_bytes();
            let mut data = seed.to_vec();
            for _ in 0..(rng.next() % 8) {
                let pos = (rng.next() as usize) % (data.len() + 1);
                match rng.next() % 4 {
                    0 if pos < data.len() => data[pos] = rng.next() as u8,
                    1 if pos < data.len() => {
                        data.remove(pos);
                    }
                    2 => data.insert(pos, b"{}[]\":,$%\n"[(rng.next() % 10) as usize]),
                    _ => data.truncate(pos),
                }
            }
            decode_request(&data);
        }
    }
}

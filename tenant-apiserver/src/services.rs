//! Service cluster IP and node port allocation, as kube-apiserver's service registry does it.
//!
//! Cluster IPs come from `10.96.0.0/12` (the `kubernetes` Service holds `10.96.0.1`), node
//! ports from `30000-32767`. The caller holds [`ApiServer::service_alloc`], and allocation reads
//! the Services in the store, so it survives restarts without a separate bitmap.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, FieldError};

use crate::handlers::plain_store_error;
use crate::object;
use crate::server::ApiServer;

const SERVICE_PREFIX: &str = "/registry/core/services/";
const CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const CIDR_SIZE: u32 = 1 << 20; // a /12
const NODE_PORT_MIN: i64 = 30000;
const NODE_PORT_MAX: i64 = 32767;

fn in_range(ip: Ipv4Addr) -> bool {
    let v = u32::from(ip);
    v > CIDR_BASE && v < CIDR_BASE + CIDR_SIZE - 1
}

/// Fills `spec.clusterIP(s)` and node ports of a Service being created (`old` None) or updated.
pub async fn allocate(
    api: &ApiServer,
    svc: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let name = object::name(svc).to_string();
    let svc_type = svc
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let me = (
        object::meta_str(svc, "namespace").unwrap_or("").to_string(),
        name.clone(),
    );
    let existing = api
        .store
        .range(SERVICE_PREFIX, "", 0, None)
        .await
        .map_err(plain_store_error)?;
    let mut used_ips = HashSet::new();
    let mut used_ports = HashSet::new();
    for kv in &existing.kvs {
        let other = object::decode_stored(&kv.value, kv.mod_revision);
        let who = (
            object::meta_str(&other, "namespace")
                .unwrap_or("")
                .to_string(),
            object::name(&other).to_string(),
        );
        if who == me {
            continue;
        }
        if let Some(ip) = other.pointer("/spec/clusterIP").and_then(Value::as_str) {
            used_ips.insert(ip.to_string());
        }
        for p in other
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                used_ports.insert(np);
            }
        }
    }
    let invalid = |field: &str, value: String, detail: &str| {
        ApiError::invalid(
            "",
            "Service",
            &name,
            &[FieldError::invalid(field, value, detail)],
        )
    };
    // Cluster IP.
    if svc_type == "ExternalName" {
        if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
    } else {
        let old_ip = old
            .and_then(|o| o.pointer("/spec/clusterIP"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let requested = svc
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ip = match (requested.as_str(), old_ip) {
            ("", Some(old_ip)) => old_ip,
            ("None", _) => "None".to_string(),
            ("", None) => {
                let mut found = None;
                // Start at .10 upwards, skipping the kubernetes Service address.
                for offset in 10..CIDR_SIZE - 1 {
                    let ip = Ipv4Addr::from(CIDR_BASE + offset).to_string();
                    if !used_ips.contains(&ip) {
                        found = Some(ip);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    ApiError::internal("failed to allocate a serviceIP: range is full")
                })?
            }
            (req, old_ip) => {
                if old_ip.as_deref().is_some_and(|o| o != req) {
                    return Err(invalid(
                        "spec.clusterIPs[0]",
                        req.to_string(),
                        "may not change once set",
                    ));
                }
                let parsed: Ipv4Addr = req.parse().map_err(|_| {
                    invalid(
                        "spec.clusterIPs[0]",
                        req.to_string(),
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )
                })?;
                if !in_range(parsed) {
                    return Err(invalid(
                        "spec.clusterIPs",
                        format!("[]string{{\"{req}\"}}"),
                        "failed to allocate IP: the provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12",
                    ));
                }
                if old_ip.is_none() && used_ips.contains(req) {
                    return Err(invalid(
                        "spec.clusterIPs",
                        format!("[]string{{\"{req}\"}}"),
                        &format!("failed to allocate IP {req}: provided IP is already allocated"),
                    ));
                }
                req.to_string()
            }
        };
        svc["spec"]["clusterIP"] = json!(ip);
        svc["spec"]["clusterIPs"] = json!([ip]);
    }
    // Node ports.
    if matches!(svc_type.as_str(), "NodePort" | "LoadBalancer") {
        let old_ports: Vec<Value> = old
            .and_then(|o| o.pointer("/spec/ports"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(ports) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            let mut taken: HashSet<i64> = used_ports;
            for p in ports.iter() {
                if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                    taken.insert(np);
                }
            }
            for (i, p) in ports.iter_mut().enumerate() {
                if p.get("nodePort").and_then(Value::as_i64).is_some() {
                    continue;
                }
                let reuse = old_ports
                    .iter()
                    .find(|o| {
                        o.get("port") == p.get("port") && o.get("protocol") == p.get("protocol")
                    })
                    .and_then(|o| o.get("nodePort").and_then(Value::as_i64));
                let np = match reuse {
                    Some(np) => np,
                    None => (NODE_PORT_MIN..=NODE_PORT_MAX)
                        .find(|n| !taken.contains(n))
                        .ok_or_else(|| {
                            invalid(
                                &format!("spec.ports[{i}].nodePort"),
                                String::new(),
                                "range is full",
                            )
                        })?,
                };
                taken.insert(np);
                p["nodePort"] = json!(np);
            }
        }
    }
    Ok(())
}

//! The tenant's PKI: a CA, the serving certificate, the admin client certificate and the
//! service-account signing key, made with rcgen on first start and reused afterwards.
//!
//! Files live in `DATA_DIR/pki/` (`ca.crt`, `ca.key`, `server.crt`, `server.key`, `admin.crt`,
//! `admin.key`, `sa.key`, `sa.pub`). The serving certificate is re-issued by the same CA when the
//! requested SANs change; nothing else is ever regenerated, so kubeconfigs stay valid.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

/// Errors while making or loading the PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// rcgen refused to make or parse a certificate or key.
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("tls: {0}")]
    Tls(#[from] rustls::Error),
    /// A PEM file held nothing usable.
    #[error("{0}: no usable PEM data")]
    BadPem(PathBuf),
}

/// The tenant's loaded PKI.
#[derive(Clone)]
pub struct Pki {
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// The serving certificate (PEM).
    pub server_cert_pem: String,
    /// The serving key (PEM).
    pub server_key_pem: String,
    /// The admin client certificate (PEM), `CN=admin, O=system:masters`.
    pub admin_cert_pem: String,
    /// The admin client key (PEM).
    pub admin_key_pem: String,
    /// The service-account signing key (PKCS#8 PEM).
    pub sa_key_pem: String,
    /// The CA's key, kept to issue client certificates (PEM).
    ca_key_pem: String,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print keys.
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Option<String>, PkiError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a file atomically (temp file + rename), private to the owner when `secret`.
fn write(path: &Path, contents: &str, secret: bool) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if secret { 0o600 } else { 0o644 });
        }
        let mut f = opts.open(&tmp).map_err(io_err)?;
        f.write_all(contents.as_bytes()).map_err(io_err)?;
        f.sync_all().map_err(io_err)?;
    }
    fs::rename(&tmp, path).map_err(io_err)
}

fn validity(params: &mut CertificateParams, years: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(365 * years);
}

fn client_params(user: &str, groups: &[&str]) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    for g in groups {
        dn.push(DnType::OrganizationName, *g);
    }
    dn.push(DnType::CommonName, user);
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut params, 1);
    Ok(params)
}

impl Pki {
    /// Loads the PKI from `dir/pki`, making what is missing. `sans` are the serving
    /// certificate's subject alternative names on top of `127.0.0.1` and `localhost`.
    pub fn load_or_create(dir: &Path, sans: &[String]) -> Result<Pki, PkiError> {
        let pki_dir = dir.join("pki");
        fs::create_dir_all(&pki_dir).map_err(|source| PkiError::Io {
            path: pki_dir.clone(),
            source,
        })?;
        let p = |name: &str| pki_dir.join(name);

        // The CA.
        let (ca_pem, ca_key_pem) = match (read(&p("ca.crt"))?, read(&p("ca.key"))?) {
            (Some(c), Some(k)) => (c, k),
            _ => {
                let key = KeyPair::generate()?;
                let mut params = CertificateParams::new(Vec::<String>::new())?;
                let mut dn = DistinguishedName::new();
                dn.push(DnType::CommonName, "warren-tenant-ca");
                params.distinguished_name = dn;
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ];
                validity(&mut params, 10);
                let cert = params.self_signed(&key)?;
                let (c, k) = (cert.pem(), key.serialize_pem());
                write(&p("ca.key"), &k, true)?;
                write(&p("ca.crt"), &c, false)?;
                // A new CA invalidates every certificate it did not sign.
                for stale in [
                    "server.crt",
                    "server.key",
                    "server.sans",
                    "admin.crt",
                    "admin.key",
                ] {
                    let _ = fs::remove_file(p(stale));
                }
                (c, k)
            }
        };
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)?;

        // The serving certificate, re-issued when the SANs change.
        let mut all_sans = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        for s in sans {
            if !all_sans.contains(s) {
                all_sans.push(s.clone());
            }
        }
        let sans_line = all_sans.join(",");
        let (server_cert_pem, server_key_pem) = match (
            read(&p("server.crt"))?,
            read(&p("server.key"))?,
            read(&p("server.sans"))?,
        ) {
            (Some(c), Some(k), Some(s)) if s.trim() == sans_line => (c, k),
            _ => {
                let key = KeyPair::generate()?;
                let mut params = CertificateParams::new(all_sans.clone())?;
                let mut dn = DistinguishedName::new();
                dn.push(DnType::CommonName, "warren-tenant-apiserver");
                params.distinguished_name = dn;
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                validity(&mut params, 1);
                let cert = params.signed_by(&key, &issuer)?;
                let (c, k) = (cert.pem(), key.serialize_pem());
                write(&p("server.key"), &k, true)?;
                write(&p("server.crt"), &c, false)?;
                write(&p("server.sans"), &sans_line, false)?;
                (c, k)
            }
        };

        // The admin client certificate.
        let (admin_cert_pem, admin_key_pem) = match (read(&p("admin.crt"))?, read(&p("admin.key"))?)
        {
            (Some(c), Some(k)) => (c, k),
            _ => {
                let key = KeyPair::generate()?;
                let cert = client_params("admin", &["system:masters"])?.signed_by(&key, &issuer)?;
                let (c, k) = (cert.pem(), key.serialize_pem());
                write(&p("admin.key"), &k, true)?;
                write(&p("admin.crt"), &c, false)?;
                (c, k)
            }
        };

        // The service-account signing key.
        let sa_key_pem = match read(&p("sa.key"))? {
            Some(k) => k,
            None => {
                let key = KeyPair::generate()?;
                let k = key.serialize_pem();
                write(&p("sa.key"), &k, true)?;
                write(&p("sa.pub"), &key.public_key_pem(), false)?;
                k
            }
        };

        Ok(Pki {
            ca_pem,
            server_cert_pem,
            server_key_pem,
            admin_cert_pem,
            admin_key_pem,
            sa_key_pem,
            ca_key_pem,
        })
    }

    /// Issues a client certificate for `user` in `groups`; returns (cert PEM, key PEM).
    pub fn issue_client_cert(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<(String, String), PkiError> {
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, KeyPair::from_pem(&self.ca_key_pem)?)?;
        let key = KeyPair::generate()?;
        let cert = client_params(user, groups)?.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The rustls server configuration: our serving certificate, ALPN h2 and http/1.1, and
    /// client certificates requested but not required (see [`Pki::server_tls`]).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, PkiError> {
        Ok(self.server_tls()?.config)
    }

    /// The server's TLS: any client certificate is accepted in the handshake (the client must
    /// still prove it holds the key), and [`ServerTls::verify_client`] decides afterwards
    /// whether the tenant CA issued it, so that a certificate from another CA gets a 401
    /// rather than a failed handshake, as kube-apiserver (which requests client certificates
    /// and checks them in its x509 authenticator) answers.
    pub fn server_tls(&self) -> Result<ServerTls, PkiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in pem_certs(&self.ca_pem)? {
            roots.add(cert)?;
        }
        let tenant_ca = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| PkiError::Tls(rustls::Error::General(e.to_string())))?;
        let key = pem_key(&self.server_key_pem)?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(AnyClientCert {
                inner: tenant_ca.clone(),
            }))
            .with_single_cert(pem_certs(&self.server_cert_pem)?, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(ServerTls {
            config: Arc::new(config),
            tenant_ca,
        })
    }

    /// A kubeconfig for the admin user against `server_url`.
    pub fn admin_kubeconfig(&self, server_url: &str, cluster_name: &str) -> String {
        kubeconfig(
            server_url,
            cluster_name,
            "admin",
            &self.ca_pem,
            &self.admin_cert_pem,
            &self.admin_key_pem,
        )
    }
}

/// The server's TLS configuration and the tenant CA's check of client certificates.
#[derive(Clone)]
pub struct ServerTls {
    /// The rustls configuration.
    pub config: Arc<rustls::ServerConfig>,
    tenant_ca: Arc<dyn rustls::server::danger::ClientCertVerifier>,
}

impl ServerTls {
    /// Whether the tenant CA issued this client chain (leaf first) and it is valid now.
    pub fn verify_client(&self, chain: &[rustls::pki_types::CertificateDer<'_>]) -> bool {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return false;
        };
        self.tenant_ca
            .verify_client_cert(leaf, intermediates, rustls::pki_types::UnixTime::now())
            .is_ok()
    }
}

/// Accepts every client certificate chain in the handshake, but checks the handshake
/// signatures (possession of the key) with the tenant CA's verifier.
#[derive(Debug)]
struct AnyClientCert {
    inner: Arc<dyn rustls::server::danger::ClientCertVerifier>,
}

impl rustls::server::danger::ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        // No hints: clients offer whatever certificate they have.
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Renders a kubeconfig with embedded certificate data.
pub fn kubeconfig(
    server_url: &str,
    cluster: &str,
    user: &str,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server_url}\n  name: {cluster}\ncontexts:\n- context:\n    cluster: {cluster}\n    user: {user}\n  name: {cluster}\ncurrent-context: {cluster}\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = b64(ca_pem),
        cert = b64(cert_pem),
        key = b64(key_pem),
    )
}

/// Writes a kubeconfig file (mode 0600, atomically).
pub fn write_kubeconfig(path: &Path, contents: &str) -> Result<(), PkiError> {
    write(path, contents, true)
}

fn pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|source| PkiError::Io {
            path: PathBuf::from("<pem>"),
            source,
        })?;
    if certs.is_empty() {
        return Err(PkiError::BadPem(PathBuf::from("<certificate>")));
    }
    Ok(certs)
}

fn pem_key(pem: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|source| PkiError::Io {
            path: PathBuf::from("<pem>"),
            source,
        })?
        .ok_or_else(|| PkiError::BadPem(PathBuf::from("<key>")))
}

/// An authenticated user (upstream's `user.Info`): from a client certificate (CN is the user,
/// each O a group), a bearer token or impersonation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name.
    pub name: String,
    /// The uid (empty when the authenticator gives none, as for certificates).
    pub uid: String,
    /// The groups.
    pub groups: Vec<String>,
    /// Extra attributes (a service-account token's `authentication.kubernetes.io/pod-name`...).
    pub extra: std::collections::BTreeMap<String, Vec<String>>,
}

/// Reads the user from a verified client certificate.
pub fn user_from_cert(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    groups.push("system:authenticated".to_string());
    Some(UserInfo {
        name,
        groups,
        ..Default::default()
    })
}

/// Whether an address is an IP (for SAN handling of `--advertise-address`).
pub fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Malformed and tampered client certificates never panic and never authenticate: random
    /// bytes, truncations and bit flips of a real certificate, and a certificate of another CA.
    #[test]
    fn malformed_client_certificates_authenticate_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
        let tls = pki.server_tls().unwrap();
        let other = tempfile::tempdir().unwrap();
        let foreign = Pki::load_or_create(other.path(), &[]).unwrap();
        let der = |pem: &str| pem_certs(pem).unwrap().remove(0);
        let good = der(&pki.admin_cert_pem);
        assert!(tls.verify_client(std::slice::from_ref(&good)));
        assert!(!tls.verify_client(&[der(&foreign.admin_cert_pem)]));
        assert!(!tls.verify_client(&[]));
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let bytes = good.as_ref().to_vec();
        for i in 0..3000 {
            let mut candidate = match i % 3 {
                0 => (0..(next() % 600))
                    .map(|_| next() as u8)
                    .collect::<Vec<u8>>(),
                1 => bytes[..(next() as usize % bytes.len())].to_vec(),
                _ => bytes.clone(),
            };
            if i % 3 == 2 {
                let at = next() as usize % candidate.len();
                candidate[at] ^= 1 << (next() % 8);
            }
            let _ = user_from_cert(&candidate);
            let cert = rustls::pki_types::CertificateDer::from(candidate.clone());
            if candidate != bytes {
                assert!(
                    !tls.verify_client(&[cert]),
                    "a tampered certificate verified (case {i})"
                );
            }
        }
    }

    #[test]
    fn pki_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = Pki::load_or_create(dir.path(), &[]).unwrap();
        let b = Pki::load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(a.ca_pem, b.ca_pem);
        assert_eq!(a.server_cert_pem, b.server_cert_pem);
        assert_eq!(a.admin_cert_pem, b.admin_cert_pem);
        assert_eq!(a.sa_key_pem, b.sa_key_pem);
        // A new SAN re-issues only the serving certificate.
        let c = Pki::load_or_create(dir.path(), &["tenant.example".to_string()]).unwrap();
        assert_eq!(a.ca_pem, c.ca_pem);
        assert_ne!(a.server_cert_pem, c.server_cert_pem);
        assert_eq!(a.admin_cert_pem, c.admin_cert_pem);
        c.server_config().unwrap();
    }

    #[test]
    fn admin_cert_names_system_masters() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
        let der = pem_certs(&pki.admin_cert_pem).unwrap().remove(0);
        let user = user_from_cert(&der).unwrap();
        assert_eq!(user.name, "admin");
        assert!(user.groups.contains(&"system:masters".to_string()));
    }
}

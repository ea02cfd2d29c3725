//! Which store the server keeps its objects in, picked by URL (`--store`), and opening it.
//!
//! - `embedded://PATH`: the embedded store in directory `PATH` (the default is
//!   `DATA_DIR/store`).
//! - `etcd://HOST:PORT[,HOST:PORT…]/PREFIX`: etcd, every key under `PREFIX` (e.g.
//!   `etcd://10.0.0.5:2379,10.0.0.6:2379/warren/tenant-a`). With TLS files (`--etcd-cafile`,
//!   `--etcd-certfile`, `--etcd-keyfile`) the endpoints are `https`.
//!
//! The URL holds no credentials (one with `user@` is refused without echoing it), so it and
//! the [`StoreConfig`] built from it may be logged.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use warren_store::etcd::{EtcdConfig, EtcdStore, EtcdTls};
use warren_store::{Store, StoreError};

/// A parsed `--store` URL, before TLS settings are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    /// `embedded://PATH`.
    Embedded(PathBuf),
    /// `etcd://HOST:PORT[,HOST:PORT…]/PREFIX`.
    Etcd {
        /// `HOST:PORT` of each member.
        endpoints: Vec<String>,
        /// The key prefix, starting with `/`.
        prefix: String,
    },
}

/// Why a `--store` URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreUrlError {
    /// Neither `embedded://` nor `etcd://`.
    #[error("unknown store {0:?}: use embedded://PATH or etcd://HOST:PORT[,HOST:PORT...]/PREFIX")]
    UnknownScheme(String),
    /// `embedded://` without a path.
    #[error("embedded:// needs a directory: embedded://PATH")]
    EmbeddedWithoutPath,
    /// An etcd URL without endpoints or a prefix, or with something else than `HOST:PORT`.
    #[error("{0}: use etcd://HOST:PORT[,HOST:PORT...]/PREFIX")]
    BadEtcd(&'static str),
    /// TLS files that do not go together.
    #[error("{0}")]
    BadTls(&'static str),
}

impl FromStr for StoreUrl {
    type Err = StoreUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("embedded://") {
            if path.is_empty() {
                return Err(StoreUrlError::EmbeddedWithoutPath);
            }
            return Ok(StoreUrl::Embedded(PathBuf::from(path)));
        }
        let Some(rest) = s.strip_prefix("etcd://") else {
            // Only the scheme is echoed: the rest might hold a password.
            let scheme = s.split_once("://").map_or("", |(scheme, _)| scheme);
            return Err(StoreUrlError::UnknownScheme(scheme.to_string()));
        };
        let (hosts, prefix) = rest
            .find('/')
            .map(|at| rest.split_at(at))
            .ok_or(StoreUrlError::BadEtcd("the etcd store needs a key prefix"))?;
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return Err(StoreUrlError::BadEtcd("the etcd store needs a key prefix"));
        }
        if hosts.contains('@') {
            return Err(StoreUrlError::BadEtcd(
                "credentials in the etcd URL are not supported (use client certificates)",
            ));
        }
        let endpoints: Vec<String> = hosts.split(',').map(str::to_string).collect();
        let valid = |e: &String| {
            e.rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        };
        if !endpoints.iter().all(valid) {
            return Err(StoreUrlError::BadEtcd(
                "every etcd endpoint must be HOST:PORT",
            ));
        }
        Ok(StoreUrl::Etcd {
            endpoints,
            prefix: prefix.to_string(),
        })
    }
}

/// TLS files for etcd, as given on the command line.
#[derive(Clone, Debug, Default)]
pub struct EtcdTlsFiles {
    /// `--etcd-cafile`.
    pub ca_file: Option<PathBuf>,
    /// `--etcd-certfile`.
    pub cert_file: Option<PathBuf>,
    /// `--etcd-keyfile`.
    pub key_file: Option<PathBuf>,
}

/// The store to open.
#[derive(Clone, Debug)]
pub enum StoreConfig {
    /// The embedded store in this directory.
    Embedded(PathBuf),
    /// etcd.
    Etcd(EtcdConfig),
}

impl StoreConfig {
    /// The store `url` names, with the TLS files for etcd (which must be empty for the
    /// embedded store).
    pub fn new(url: StoreUrl, tls: EtcdTlsFiles) -> Result<StoreConfig, StoreUrlError> {
        let any_tls = tls.ca_file.is_some() || tls.cert_file.is_some() || tls.key_file.is_some();
        match url {
            StoreUrl::Embedded(_) if any_tls => Err(StoreUrlError::BadTls(
                "--etcd-cafile, --etcd-certfile and --etcd-keyfile need an etcd:// store",
            )),
            StoreUrl::Embedded(path) => Ok(StoreConfig::Embedded(path)),
            StoreUrl::Etcd { endpoints, prefix } => {
                let mut config = EtcdConfig::new(endpoints, prefix);
                if any_tls {
                    let ca_file = tls.ca_file.ok_or(StoreUrlError::BadTls(
                        "TLS towards etcd needs --etcd-cafile",
                    ))?;
                    let client_cert = match (tls.cert_file, tls.key_file) {
                        (Some(cert), Some(key)) => Some((cert, key)),
                        (None, None) => None,
                        _ => {
                            return Err(StoreUrlError::BadTls(
                                "--etcd-certfile and --etcd-keyfile go together",
                            ));
                        }
                    };
                    config.tls = Some(EtcdTls {
                        ca_file,
                        client_cert,
                    });
                }
                Ok(StoreConfig::Etcd(config))
            }
        }
    }

    /// Opens (or connects to) the store.
    pub async fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            StoreConfig::Embedded(path) => {
                Arc::new(warren_store::embedded::EmbeddedStore::open(path)?)
            }
            StoreConfig::Etcd(config) => Arc::new(EtcdStore::connect(config.clone()).await?),
        })
    }
}

/// For logs: the kind, where, and the TLS file paths (no credentials are ever part of it).
impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Embedded(path) => write!(f, "embedded://{}", path.display()),
            StoreConfig::Etcd(config) => {
                write!(f, "etcd://{}{}", config.endpoints.join(","), config.prefix)?;
                if let Some(tls) = &config.tls {
                    write!(f, " (https, ca {}", tls.ca_file.display())?;
                    if let Some((cert, key)) = &tls.client_cert {
                        write!(f, ", cert {}, key {}", cert.display(), key.display())?;
                    }
                    write!(f, ")")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etcd(endpoints: &[&str], prefix: &str) -> StoreUrl {
        StoreUrl::Etcd {
            endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn store_urls() {
        assert_eq!(
            "embedded:///var/lib/warren/store"
                .parse::<StoreUrl>()
                .unwrap(),
            StoreUrl::Embedded("/var/lib/warren/store".into())
        );
        assert_eq!(
            "etcd://127.0.0.1:2379/tenant-a"
                .parse::<StoreUrl>()
                .unwrap(),
            etcd(&["127.0.0.1:2379"], "/tenant-a")
        );
        assert_eq!(
            "etcd://etcd-0:2379,etcd-1:2379/warren/tenant-a/"
                .parse::<StoreUrl>()
                .unwrap(),
            etcd(&["etcd-0:2379", "etcd-1:2379"], "/warren/tenant-a")
        );
        for bad in [
            "embedded://",
            "etcd://127.0.0.1:2379",
            "etcd://127.0.0.1:2379/",
            "etcd:///tenant-a",
            "etcd://127.0.0.1/tenant-a",
            "etcd://a:1,/tenant-a",
            "redis://h:1/x",
            "/var/lib/store",
        ] {
            assert!(bad.parse::<StoreUrl>().is_err(), "{bad} was accepted");
        }
        let err = "etcd://root:s3cret@h:2379/t"
            .parse::<StoreUrl>()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
        let err = "postgres://root:s3cret@h/db"
            .parse::<StoreUrl>()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn tls_files() {
        let url = || etcd(&["h:2379"], "/t");
        let files = |ca: bool, cert: bool, key: bool| EtcdTlsFiles {
            ca_file: ca.then(|| "/pki/ca.crt".into()),
            cert_file: cert.then(|| "/pki/client.crt".into()),
            key_file: key.then(|| "/pki/client.key".into()),
        };
        let plain = StoreConfig::new(url(), files(false, false, false)).unwrap();
        assert_eq!(plain.to_string(), "etcd://h:2379/t");
        let mutual = StoreConfig::new(url(), files(true, true, true)).unwrap();
        assert_eq!(
            mutual.to_string(),
            "etcd://h:2379/t (https, ca /pki/ca.crt, cert /pki/client.crt, key /pki/client.key)"
        );
        assert!(StoreConfig::new(url(), files(true, false, false)).is_ok());
        assert!(StoreConfig::new(url(), files(false, true, true)).is_err());
        assert!(StoreConfig::new(url(), files(true, true, false)).is_err());
        assert!(
            StoreConfig::new(StoreUrl::Embedded("/s".into()), files(true, false, false)).is_err()
        );
    }
}

//! Static bearer tokens (`--token-auth-file`), kube-apiserver's bootstrap authenticator: a CSV
//! file of `token,user,uid[,"group1,group2"]` lines. A request without a verified client
//! certificate that carries `Authorization: Bearer TOKEN` is that user.

use std::collections::HashMap;
use std::path::Path;

use crate::pki::UserInfo;

/// The tokens of a token file.
#[derive(Clone, Debug, Default)]
pub struct StaticTokens {
    users: HashMap<String, UserInfo>,
}

/// Why a token file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("token file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `token,user,uid[,groups]`.
    #[error("token file {path}, line {line}: {why}")]
    Line {
        /// The file.
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong (never the token itself).
        why: &'static str,
    },
}

impl StaticTokens {
    /// Reads a token file.
    pub fn load(path: &Path) -> Result<StaticTokens, TokenFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, why)| TokenFileError::Line {
            path: path.display().to_string(),
            line,
            why,
        })
    }

    /// Parses the CSV text: `(line, reason)` on a bad line.
    pub fn parse(text: &str) -> Result<StaticTokens, (usize, &'static str)> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line).ok_or((i + 1, "unbalanced quotes"))?;
            if fields.len() < 3 {
                return Err((i + 1, "expected at least 3 columns: token,user,uid"));
            }
            let token = fields[0].trim();
            let user = fields[1].trim();
            let uid = fields[2].trim();
            if token.is_empty() || user.is_empty() {
                return Err((i + 1, "empty token or user"));
            }
            let groups = fields
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            users.insert(
                token.to_string(),
                UserInfo {
                    name: user.to_string(),
                    uid: uid.to_string(),
                    groups,
                    ..Default::default()
                },
            );
        }
        Ok(StaticTokens { users })
    }

    /// The user of an `Authorization` header value (`Bearer TOKEN`), if the token is known.
    pub fn authenticate(&self, authorization: &str) -> Option<UserInfo> {
        let token = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))?
            .trim();
        if token.is_empty() {
            return None;
        }
        self.users.get(token).cloned()
    }
}

/// Splits one CSV line (double quotes group commas; `""` is a quote inside quotes).
fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(cur);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_apiserver_token_files() {
        let t = StaticTokens::parse(
            "# bootstrap\ns3cret,dave,uid-1,\"team-leads,ops\"\nother,erin,uid-2\n",
        )
        .unwrap();
        let dave = t.authenticate("Bearer s3cret").unwrap();
        assert_eq!(dave.name, "dave");
        assert_eq!(dave.groups, vec!["team-leads", "ops"]);
        assert_eq!(
            t.authenticate("Bearer other").unwrap().groups,
            Vec::<String>::new()
        );
        for bad in ["Bearer nope", "Bearer ", "Basic s3cret", "s3cret", ""] {
            assert!(t.authenticate(bad).is_none(), "{bad:?}");
        }
        assert_eq!(StaticTokens::parse("a,b\n").unwrap_err().0, 1);
        assert_eq!(StaticTokens::parse("x,y,z\n\"a,b,c\n").unwrap_err().0, 2);
    }

    #[test]
    fn arbitrary_headers_and_files_never_panic() {
        // A cheap property check over many generated inputs.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet: Vec<char> = "ab,\" \n\t#Bearer:é\u{0}".chars().collect();
        for _ in 0..5000 {
            let len = (next() % 40) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let parsed = StaticTokens::parse(&s);
            if let Ok(t) = parsed {
                let _ = t.authenticate(&s);
                let _ = t.authenticate(&format!("Bearer {s}"));
            }
        }
    }
}

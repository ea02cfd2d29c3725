//! The `fieldValidation` query parameter of create, update and patch (kube-apiserver's
//! server-side field validation): `Strict` rejects unknown and duplicate fields with a 400,
//! `Warn` (the default) accepts the object and returns one `Warning` header per field, `Ignore`
//! drops them silently.
//!
//! Built-in kinds find their unknown fields here, against the built-in OpenAPI definitions
//! ([`unknown_fields`], [`strip_unknown`]); custom resources through
//! [`crate::crd::prune`]. Duplicate keys are found in the raw body
//! ([`duplicate_fields_json`], [`duplicate_fields_yaml`]). Paths and messages follow
//! `sigs.k8s.io/json` strict decoding: `unknown field "spec.containers[0].foo"`,
//! `duplicate field "metadata.name"`.

use serde_json::Value;

use crate::error::{ApiError, FieldError};
use crate::schema::Schema;

/// The three modes of `fieldValidation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Reject unknown and duplicate fields (400 BadRequest).
    Strict,
    /// Accept, with a warning per field (the default when the parameter is absent or empty).
    Warn,
    /// Drop unknown fields silently.
    Ignore,
}

/// Parses `fieldValidation` for a create (see [`mode_for`] for update and patch).
pub fn mode(query_value: Option<&str>) -> Result<Mode, ApiError> {
    mode_for(query_value, "CreateOptions")
}

/// Parses `fieldValidation`; `options_kind` is `CreateOptions`, `UpdateOptions` or
/// `PatchOptions`, named in the 422 for an unsupported value, as upstream:
/// `CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "x":
/// supported values: "", "Ignore", "Strict", "Warn"`.
pub fn mode_for(query_value: Option<&str>, options_kind: &str) -> Result<Mode, ApiError> {
    match query_value.unwrap_or("") {
        "" | "Warn" => Ok(Mode::Warn),
        "Strict" => Ok(Mode::Strict),
        "Ignore" => Ok(Mode::Ignore),
        other => Err(ApiError::invalid(
            "meta.k8s.io",
            options_kind,
            "",
            &[FieldError::not_supported(
                "fieldValidation",
                other,
                &["", "Ignore", "Strict", "Warn"],
            )],
        )),
    }
}

/// `unknown field "path"`.
pub fn unknown_message(path: &str) -> String {
    format!("unknown field \"{path}\"")
}

/// `duplicate field "path"`.
pub fn duplicate_message(path: &str) -> String {
    format!("duplicate field \"{path}\"")
}

/// The problems of a body in the order strict decoding reports them: duplicate fields (found
/// while decoding), then unknown fields.
pub fn problems(duplicates: &[String], unknown: &[String]) -> Vec<String> {
    duplicates
        .iter()
        .map(|p| duplicate_message(p))
        .chain(unknown.iter().map(|p| unknown_message(p)))
        .collect()
}

/// The 400 of `Strict`: `Deployment in version "v1" cannot be handled as a Deployment: strict
/// decoding error: unknown field "spec.foo", duplicate field "metadata.name"` (`problems` as
/// from [`problems`]).
pub fn strict_error(kind: &str, version: &str, problems: &[String]) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
        problems.join(", ")
    ))
}

/// The value of one `Warning` header for a problem: `299 - "unknown field \"spec.foo\""`.
pub fn warning_header(problem: &str) -> String {
    let escaped = problem.replace('\\', "\\\\").replace('"', "\\\"");
    format!("299 - \"{escaped}\"")
}

// ---------------------------------------------------------------------------------------------
// Duplicate keys.

/// The paths of duplicated object keys in a JSON document (`metadata.name`,
/// `spec.containers[0].image`), each once, in document order. Never panics: on malformed
/// input it reports what it found before the error.
pub fn duplicate_fields_json(raw: &[u8]) -> Vec<String> {
    let mut p = JsonScanner {
        s: raw,
        i: 0,
        out: Vec::new(),
    };
    p.ws();
    let _ = p.value("", 0);
    p.out
}

struct JsonScanner<'a> {
    s: &'a [u8],
    i: usize,
    out: Vec<String>,
}

/// Deeper documents stop the scan (kube rejects them anyway); keeps the stack small.
const MAX_DEPTH: usize = 1_000;

impl JsonScanner<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn value(&mut self, path: &str, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut keys: Vec<String> = Vec::new();
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if keys.contains(&key) {
                        if !self.out.contains(&child) {
                            self.out.push(child.clone());
                        }
                    } else {
                        keys.push(key);
                    }
                    self.ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    self.value(&child, depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                let mut n = 0;
                loop {
                    self.value(&format!("{path}[{n}]"), depth + 1)?;
                    n += 1;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            _ => {
                // A number or literal: skip to a delimiter.
                let start = self.i;
                while self.i < self.s.len()
                    && !matches!(
                        self.s[self.i],
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }

    /// A JSON string, decoded (escapes included) so that `"a"` and `"\u0061"` are the same key.
    fn string(&mut self) -> Option<String> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
        let raw = self.s.get(start..self.i)?;
        serde_json::from_slice::<String>(raw)
            .ok()
            .or_else(|| Some(String::from_utf8_lossy(&raw[1..raw.len() - 1]).into_owned()))
    }
}

/// The paths of duplicated mapping keys in a YAML document (block and flow mappings of the
/// usual shapes kubectl sends), in document order. Best effort over the text: keys are read
/// per indentation level; anchors, multi-line scalars and complex keys are skipped. Never
/// panics.
pub fn duplicate_fields_yaml(raw: &str) -> Vec<String> {
    yaml_duplicates(raw).into_iter().map(|d| d.0).collect()
}

/// The duplicate keys of a YAML document as kube-apiserver words them for YAML bodies (the
/// YAML decoder's strict error, `line 5: key "name" already set in map`), in document order.
pub fn duplicate_fields_yaml_messages(raw: &str) -> Vec<String> {
    yaml_duplicates(raw)
        .into_iter()
        .map(|(_, line, key)| format!("line {line}: key {key:?} already set in map"))
        .collect()
}

/// `(path, 1-based line, key)` of every duplicate key.
fn yaml_duplicates(raw: &str) -> Vec<(String, usize, String)> {
    /// A block mapping (`seq: None`) or sequence (`seq: Some(last index)`) being read.
    struct Level {
        indent: usize,
        path: String,
        keys: Vec<String>,
        seq: Option<usize>,
    }
    let mut out = Vec::new();
    let mut stack: Vec<Level> = vec![Level {
        indent: 0,
        path: String::new(),
        keys: Vec::new(),
        seq: None,
    }];
    let mut block_scalar_indent: Option<usize> = None;
    for (line_no, line) in raw.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(bi) = block_scalar_indent {
            if trimmed.is_empty() || indent > bi {
                continue;
            }
            block_scalar_indent = None;
        }
        if trimmed == "---" || trimmed == "..." {
            return out;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut content = trimmed;
        let mut content_indent = indent;
        // Sequence items, possibly nested on one line (`- - a`).
        while let Some(rest) = content
            .strip_prefix("- ")
            .or_else(|| (content == "-").then_some(""))
        {
            let dash = content_indent;
            while stack.len() > 1 && stack.last().is_some_and(|l| l.indent > dash) {
                stack.pop();
            }
            let top = stack.last_mut().expect("root level");
            if top.seq.is_some() && top.indent == dash {
                top.seq = top.seq.map(|n| n + 1);
            } else {
                let path = join(&top.path, top.keys.last().map_or("", String::as_str));
                stack.push(Level {
                    indent: dash,
                    path,
                    keys: Vec::new(),
                    seq: Some(0),
                });
            }
            let seq = stack.last().expect("sequence");
            let item_path = format!("{}[{}]", seq.path, seq.seq.unwrap_or(0));
            let rest_trim = rest.trim_start();
            content_indent = dash + 2 + (rest.len() - rest_trim.len());
            content = rest_trim;
            stack.push(Level {
                indent: content_indent,
                path: item_path,
                keys: Vec::new(),
                seq: None,
            });
        }
        let Some((key, rest)) = split_key(content) else {
            continue;
        };
        while stack.len() > 1
            && stack.last().is_some_and(|l| {
                l.indent > content_indent || (l.seq.is_some() && l.indent >= content_indent)
            })
        {
            stack.pop();
        }
        let top = stack.last_mut().expect("a level");
        if top.indent < content_indent {
            let path = join(&top.path, top.keys.last().map_or("", String::as_str));
            stack.push(Level {
                indent: content_indent,
                path,
                keys: Vec::new(),
                seq: None,
            });
        }
        let level = stack.last_mut().expect("a level");
        let full = join(&level.path, &key);
        if level.keys.contains(&key) {
            if !out.iter().any(|(p, _, _)| *p == full) {
                out.push((full, line_no + 1, key));
            }
        } else {
            level.keys.push(key);
        }
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            block_scalar_indent = Some(content_indent);
        }
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `key: rest` of a block mapping line (plain or quoted key), if the line is one.
fn split_key(content: &str) -> Option<(String, &str)> {
    if let Some(q) = content.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = content[1..].find(q)? + 1;
        let key = content[1..end].to_string();
        let rest = content[end + 1..].trim_start().strip_prefix(':')?;
        return Some((key, rest));
    }
    if content.starts_with(['{', '[', '&', '*', '!', '?', '|', '>']) {
        return None;
    }
    let mut idx = None;
    let bytes = content.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') {
            idx = Some(i);
            break;
        }
        if *b == b'#' && i > 0 && bytes[i - 1] == b' ' {
            return None;
        }
    }
    let i = idx?;
    Some((content[..i].trim_end().to_string(), &content[i + 1..]))
}

// ---------------------------------------------------------------------------------------------
// Unknown fields of built-in kinds.

fn is_open(s: &Schema<'_>) -> bool {
    s.preserves_unknown_fields() || (!s.has_properties() && s.additional_properties().is_none())
}

/// The unknown fields of a built-in object, against its OpenAPI definition (e.g.
/// `Schema::definition(builtin_definitions(), "io.k8s.api.apps.v1.Deployment")`): fields the
/// definition does not declare, except `apiVersion`/`kind` at the root and anything under a
/// map (`additionalProperties`), `x-kubernetes-preserve-unknown-fields`, or an object schema
/// without properties (`RawExtension`, `JSON`). Paths as strict decoding prints them.
pub fn unknown_fields(obj: &Value, schema: Schema<'_>) -> Vec<String> {
    let mut out = Vec::new();
    walk_unknown(obj, schema, "", true, &mut out);
    out
}

fn walk_unknown(v: &Value, s: Schema<'_>, path: &str, root: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if s.is_int_or_string() {
                return;
            }
            if let Some(ap) = s.additional_properties() {
                for (k, val) in m {
                    walk_unknown(val, ap, &join(path, k), false, out);
                }
                return;
            }
            if is_open(&s) {
                return;
            }
            for (k, val) in m {
                if root && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                match s.property(k) {
                    Some(sub) => walk_unknown(val, sub, &join(path, k), false, out),
                    None => out.push(join(path, k)),
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = s.items() {
                for (i, x) in list.iter().enumerate() {
                    walk_unknown(x, items, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

/// Drops the fields [`unknown_fields`] reports (what decoding into the typed object does for
/// `Warn` and `Ignore`).
pub fn strip_unknown(obj: &mut Value, schema: Schema<'_>) {
    strip(obj, schema, true);
}

fn strip(v: &mut Value, s: Schema<'_>, root: bool) {
    match v {
        Value::Object(m) => {
            if s.is_int_or_string() {
                return;
            }
            if let Some(ap) = s.additional_properties() {
                for val in m.values_mut() {
                    strip(val, ap, false);
                }
                return;
            }
            if is_open(&s) {
                return;
            }
            m.retain(|k, _| {
                (root && (k == "apiVersion" || k == "kind")) || s.property(k).is_some()
            });
            for (k, val) in m.iter_mut() {
                if let Some(sub) = s.property(k) {
                    strip(val, sub, false);
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = s.items() {
                for x in list {
                    strip(x, items, false);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;

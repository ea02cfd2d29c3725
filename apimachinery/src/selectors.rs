//! Label selectors and field selectors, parsed from query strings and matched against objects.
//!
//! [`LabelSelector`] ports `k8s.io/apimachinery/pkg/labels` (the `labelSelector` query syntax
//! and `metav1.LabelSelectorAsSelector`), [`FieldSelector`] ports `k8s.io/apimachinery/pkg/fields`
//! (the `fieldSelector` query syntax with its `\,` `\=` `\\` escapes). Parse errors carry the
//! messages kube-apiserver sends in its 400 BadRequest, so clients that show them read the same.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::ApiError;

/// How a label requirement relates a key to its values (`k8s.io/apimachinery/pkg/selection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `key in (a,b)`: the label exists and its value is one of the values.
    In,
    /// `key notin (a,b)`: the label is missing or its value is none of the values.
    NotIn,
    /// `key=value`.
    Equals,
    /// `key==value` (same meaning as `=`).
    DoubleEquals,
    /// `key!=value`: the label is missing or has another value.
    NotEquals,
    /// `key`: the label exists.
    Exists,
    /// `!key`: the label does not exist.
    DoesNotExist,
    /// `key>5`: the label's value is an integer greater than the value.
    GreaterThan,
    /// `key<5`: the label's value is an integer less than the value.
    LessThan,
}

/// The binary operators in the order kube lists them in its "expected:" messages.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

/// One `key op values` term of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating the key, the values and their number as
    /// `labels.NewRequirement` does; the error text is kube's.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, String> {
        let mut errors = Vec::new();
        if let Err(e) = validate_label_key(key, "key") {
            errors.push(e);
        }
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => errors.push(format!(
                "values: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty",
                go_string_slice(&values)
            )),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                errors.push(format!(
                    "values: Invalid value: {}: exact-match compatibility requires one single value",
                    go_string_slice(&values)
                ))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                errors.push(format!(
                    "values: Invalid value: {}: values set must be empty for exists and does not exist",
                    go_string_slice(&values)
                ))
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errors.push(format!(
                        "values: Invalid value: {}: for 'Gt', 'Lt' operators, exactly one value is required",
                        go_string_slice(&values)
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errors.push(format!(
                            "values[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value must be an integer",
                            go_quote(v)
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            let problems = label_value_problems(v);
            if !problems.is_empty() {
                errors.push(format!(
                    "values[{i}][{key}]: Invalid value: {}: {}",
                    go_quote(v),
                    problems.join("; ")
                ));
            }
        }
        if errors.is_empty() {
            Ok(Requirement {
                key: key.to_string(),
                operator,
                values,
            })
        } else {
            Err(aggregate(errors))
        }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values (empty for `Exists` and `DoesNotExist`).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a label set satisfies this requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let value = labels
            .get(&self.key)
            .map(|v| v.as_str().unwrap_or_default());
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.iter().any(|x| x == v))
            }
            Operator::NotIn | Operator::NotEquals => {
                value.is_none_or(|v| !self.values.iter().any(|x| x == v))
            }
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(have) = value.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// kube's `Requirement.String()`: `!a`, `a`, `a=b`, `a in (x,y)` (values sorted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        let mut values = self.values.clone();
        values.sort();
        f.write_str(&values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A label selector: requirements that must all hold, or the selector that matches nothing
/// (a missing `metav1.LabelSelector`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// The selector that matches no object (what a null `metav1.LabelSelector` means).
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Parses the `labelSelector` query syntax (`a=b,c!=d,e in (f,g),h notin (i),j,!k`, plus
    /// `l>1` / `m<2`). Errors are 400 BadRequest with kube's wording
    /// (`unable to parse requirement: ...`, `found ',', expected: ...`).
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut parser = Parser::new(s);
        let mut requirements = parser.parse().map_err(ApiError::bad_request)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// Converts a `metav1.LabelSelector` object (`matchLabels` and `matchExpressions` with
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`) as `metav1.LabelSelectorAsSelector` does: null
    /// matches nothing, `{}` matches everything. Errors are 400 BadRequest.
    pub fn from_label_selector_json(sel: &Value) -> Result<Self, ApiError> {
        let obj = match sel {
            Value::Null => return Ok(Self::nothing()),
            Value::Object(obj) => obj,
            other => {
                return Err(ApiError::bad_request(format!(
                    "a label selector must be an object, not {other}"
                )));
            }
        };
        let mut requirements = Vec::new();
        if let Some(labels) = obj.get("matchLabels").filter(|v| !v.is_null()) {
            let labels = labels.as_object().ok_or_else(|| {
                ApiError::bad_request("matchLabels must be a map of strings to strings")
            })?;
            for (k, v) in labels {
                let v = v.as_str().ok_or_else(|| {
                    ApiError::bad_request("matchLabels must be a map of strings to strings")
                })?;
                let r = Requirement::new(k, Operator::Equals, vec![v.to_string()])
                    .map_err(ApiError::bad_request)?;
                requirements.push(r);
            }
        }
        if let Some(exprs) = obj.get("matchExpressions").filter(|v| !v.is_null()) {
            let exprs = exprs
                .as_array()
                .ok_or_else(|| ApiError::bad_request("matchExpressions must be a list"))?;
            for expr in exprs {
                let key = expr["key"].as_str().unwrap_or_default();
                let op = expr["operator"].as_str().unwrap_or_default();
                let operator = match op {
                    "In" => Operator::In,
                    "NotIn" => Operator::NotIn,
                    "Exists" => Operator::Exists,
                    "DoesNotExist" => Operator::DoesNotExist,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "{} is not a valid label selector operator",
                            go_quote(op)
                        )));
                    }
                };
                let values: Vec<String> = expr["values"]
                    .as_array()
                    .map(|vs| {
                        vs.iter()
                            .map(|v| v.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let r = Requirement::new(key, operator, values).map_err(ApiError::bad_request)?;
                requirements.push(r);
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// The selector matching exactly a label set (`labels.SelectorFromSet`), as a Service's
    /// `spec.selector` or a ReplicationController's `spec.selector` means it; not validated.
    /// An empty set matches everything.
    pub fn from_set(set: &Map<String, Value>) -> Self {
        let mut requirements: Vec<Requirement> = set
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                operator: Operator::Equals,
                values: vec![v.as_str().unwrap_or_default().to_string()],
            })
            .collect();
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Whether the selector does not restrict anything (matches every object).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether this is the selector that matches nothing.
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether a label set (an object's `metadata.labels`) satisfies every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether an object's `metadata.labels` satisfy the selector.
    pub fn matches_object(&self, obj: &Value) -> bool {
        match obj.pointer("/metadata/labels").and_then(Value::as_object) {
            Some(labels) => self.matches(labels),
            None => self.matches(&Map::new()),
        }
    }

    /// The one value the selector demands for `key` (`key=v`, `key==v` or `key in (v)`), if any.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    /// kube's `Selector.String()`: the requirements joined by `,` (empty for everything and
    /// for nothing), the form `status.selector` of a scale subresource carries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The label selector lexer and parser, a port of labels/selector.go (same tokens, same messages).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// The token a literal spells, if it is one.
fn keyword(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits a selector into tokens. Tokens end only at ASCII bytes, so every literal is a
/// valid `&str` slice.
fn lex(s: &str) -> Vec<(Token, String)> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut items = Vec::new();
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            items.push((Token::EndOfString, String::new()));
            return items;
        }
        let start = pos;
        if is_special(bytes[pos]) {
            // The longest run of special symbols that still spells a token.
            let mut last: Option<(Token, usize)> = None;
            while pos < bytes.len() && is_special(bytes[pos]) {
                match keyword(&s[start..=pos]) {
                    Some(t) => last = Some((t, pos + 1)),
                    None if last.is_some() => break,
                    None => {}
                }
                pos += 1;
            }
            match last {
                Some((t, end)) => {
                    pos = end;
                    items.push((t, s[start..end].to_string()));
                }
                None => items.push((
                    Token::Error,
                    format!("error expected: keyword found '{}'", &s[start..pos]),
                )),
            }
        } else {
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let lit = &s[start..pos];
            items.push((keyword(lit).unwrap_or(Token::Identifier), lit.to_string()));
        }
    }
}

/// Whether `in` and `notin` read as operators (after a key) or as plain values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn new(s: &str) -> Self {
        Parser {
            items: lex(s),
            position: 0,
        }
    }

    fn token_at(&self, index: usize, context: Context) -> (Token, String) {
        let index = index.min(self.items.len() - 1);
        let (tok, lit) = self.items[index].clone();
        let tok = match (context, tok) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            _ => tok,
        };
        (tok, lit)
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        self.token_at(self.position, context)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.token_at(self.position, context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!("found '{l}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, operator) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = operator {
            return Requirement::new(&key, op, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(&key, operator, values)
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut operator = None;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        validate_label_key(&lit, "<nil>")?;
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) && operator.is_none() {
            operator = Some(Operator::Exists);
        }
        Ok((lit, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    /// `(a,b,c)`; empty entries are the empty value. Returns a sorted set, as kube does.
    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let (tok, _) = self.consume(Context::Values);
                if tok != Token::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, String> {
        let mut set = std::collections::BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    set.insert(lit);
                    let (tok2, lit2) = self.lookahead(Context::Values);
                    match tok2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(set.into_iter().collect()),
                        _ => return Err(format!("found '{lit2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (tok2, _) = self.lookahead(Context::Values);
                    if tok2 == Token::ClosedPar {
                        set.insert(String::new());
                        return Ok(set.into_iter().collect());
                    }
                    if tok2 == Token::Comma {
                        self.consume(Context::Values);
                        set.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, String> {
        let (tok, _) = self.lookahead(Context::Values);
        if matches!(tok, Token::EndOfString | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Token::Identifier {
            Ok(vec![lit])
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Label key and value validity (k8s.io/apimachinery/pkg/util/validation), with kube's messages.

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// `validation.RegexError`: the message, examples and the regex.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push_str(&format!("'{e}', "));
    }
    s.push_str(&format!("regex used for validation is '{fmt}')"));
    s
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    })
}

/// `validation.IsQualifiedName`: the problems with a label key, empty when valid.
fn qualified_name_problems(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > 253 {
                    errs.push("prefix part must be no more than 253 characters".to_string());
                }
                if !is_dns1123_subdomain(prefix) {
                    errs.push(format!(
                        "prefix part {}",
                        regex_error(
                            DNS1123_SUBDOMAIN_MSG,
                            DNS1123_SUBDOMAIN_FMT,
                            &["example.com"]
                        )
                    ));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `validation.IsValidLabelValue`: the problems with a label value, empty when valid.
fn label_value_problems(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Validates a label key; `path` is the field path kube renders (`<nil>` inside the parser).
fn validate_label_key(key: &str, path: &str) -> Result<(), String> {
    let problems = qualified_name_problems(key);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{path}: Invalid value: {}: {}",
            go_quote(key),
            problems.join("; ")
        ))
    }
}

/// Whether a string is a valid label key (`prefix/name`).
pub fn is_valid_label_key(key: &str) -> bool {
    qualified_name_problems(key).is_empty()
}

/// Whether a string is a valid label value.
pub fn is_valid_label_value(value: &str) -> bool {
    label_value_problems(value).is_empty()
}

/// `utilerrors.NewAggregate(...).Error()`: one message alone, several in brackets.
fn aggregate(mut errors: Vec<String>) -> String {
    errors.dedup();
    if errors.len() == 1 {
        errors.remove(0)
    } else {
        format!("[{}]", errors.join(", "))
    }
}

/// Go's `%q` of a string.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%#v` of a `[]string`.
fn go_string_slice(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Field selectors.

/// One `field=value` or `field!=value` term of a field selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field path, e.g. `metadata.name` or `status.phase`.
    pub field: String,
    /// The unescaped value.
    pub value: String,
    /// `!=` rather than `=`/`==`.
    pub negated: bool,
}

/// A field selector: terms that must all hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// Parses the `fieldSelector` query syntax: `f=v`, `f==v`, `f!=v`, comma-separated, with
    /// `\,` `\=` `\\` escapes in values. Errors are 400 BadRequest with kube's wording.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape_value(rhs).map_err(ApiError::bad_request)?;
            terms.push(FieldTerm {
                field: lhs.to_string(),
                value,
                negated: op == "!=",
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The terms, in kube's (sorted) order.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// The fields the selector names, so a handler can refuse unsupported ones up front.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.field.as_str())
    }

    /// Whether the selector does not restrict anything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an object matches, reading each field through `get`; a field `get` does not
    /// know (`None`) is 400 `field label not supported: <field>`, as kube answers.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> Result<bool, ApiError> {
        // Every field is looked up before any verdict, so an unsupported field is an error
        // whatever the object, as kube's up-front field label conversion makes it.
        let mut all = true;
        for term in &self.terms {
            let Some(have) = get(&term.field) else {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {}",
                    term.field
                )));
            };
            if (have == term.value) == term.negated {
                all = false;
            }
        }
        Ok(all)
    }

    /// The one value the selector demands for `field` (`field=v`), if any.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && !t.negated)
            .map(|t| t.value.as_str())
    }

    /// The name a `metadata.name=x` term pins, which lets a watch or list look up one key.
    pub fn exact_name(&self) -> Option<&str> {
        self.requires_exact_match("metadata.name")
    }
}

impl fmt::Display for FieldSelector {
    /// kube's `Selector.String()`: `f=v,g!=w` with values escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if t.negated { "!=" } else { "=" };
            write!(f, "{}{op}{}", t.field, escape_field_value(&t.value))?;
        }
        Ok(())
    }
}

/// `fields.EscapeValue`: prefixes `\`, `,` and `=` with a backslash.
pub fn escape_field_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits at commas that are not escaped; the escapes stay in the terms.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator (`!=`, `==`, `=` tried in that order at each position).
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if rest.starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

/// `fields.UnescapeValue`, with kube's messages.
fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ));
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go prints the rune with %v, i.e. as its number.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn parse_err(s: &str) -> String {
        let e = LabelSelector::parse(s).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(e.reason, "BadRequest");
        e.message
    }

    #[test]
    fn equality_operators() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        assert!(LabelSelector::parse("app=web").unwrap().matches(&l));
        assert!(LabelSelector::parse("app==web").unwrap().matches(&l));
        assert!(!LabelSelector::parse("app=db").unwrap().matches(&l));
        assert!(LabelSelector::parse("app!=db").unwrap().matches(&l));
        assert!(!LabelSelector::parse("app!=web").unwrap().matches(&l));
        // != matches a missing label.
        assert!(LabelSelector::parse("missing!=x").unwrap().matches(&l));
        assert!(
            LabelSelector::parse(" app = web , tier==front ")
                .unwrap()
                .matches(&l)
        );
        assert!(
            !LabelSelector::parse("app=web,tier=back")
                .unwrap()
                .matches(&l)
        );
    }

    #[test]
    fn set_operators() {
        let l = labels(json!({"env": "prod"}));
        assert!(
            LabelSelector::parse("env in (prod, staging)")
                .unwrap()
                .matches(&l)
        );
        assert!(!LabelSelector::parse("env in (dev)").unwrap().matches(&l));
        assert!(
            !LabelSelector::parse("env notin (prod)")
                .unwrap()
                .matches(&l)
        );
        assert!(LabelSelector::parse("env notin (dev)").unwrap().matches(&l));
        assert!(LabelSelector::parse("other notin (x)").unwrap().matches(&l));
        assert!(!LabelSelector::parse("other in (x)").unwrap().matches(&l));
        // `in` and `notin` are plain values inside the parentheses.
        let l2 = labels(json!({"x": "in"}));
        assert!(
            LabelSelector::parse("x in (in,notin)")
                .unwrap()
                .matches(&l2)
        );
        // Empty entries are the empty value.
        let sel = LabelSelector::parse("x in (,a)").unwrap();
        assert_eq!(sel.requirements()[0].values(), ["", "a"]);
        let sel = LabelSelector::parse("x in ()").unwrap();
        assert_eq!(sel.requirements()[0].values(), [""]);
    }

    #[test]
    fn existence_operators() {
        let l = labels(json!({"a": ""}));
        assert!(LabelSelector::parse("a").unwrap().matches(&l));
        assert!(!LabelSelector::parse("!a").unwrap().matches(&l));
        assert!(LabelSelector::parse("!b").unwrap().matches(&l));
        assert!(!LabelSelector::parse("b").unwrap().matches(&l));
        assert!(LabelSelector::parse("a=").unwrap().matches(&l));
        assert!(LabelSelector::parse("a,!b").unwrap().matches(&l));
    }

    #[test]
    fn numeric_operators() {
        let l = labels(json!({"n": "5"}));
        assert!(LabelSelector::parse("n>4").unwrap().matches(&l));
        assert!(!LabelSelector::parse("n>5").unwrap().matches(&l));
        assert!(LabelSelector::parse("n<6").unwrap().matches(&l));
        assert!(!LabelSelector::parse("m<6").unwrap().matches(&l));
        assert_eq!(
            parse_err("n>x"),
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
    }

    #[test]
    fn empty_and_display() {
        assert!(LabelSelector::parse("").unwrap().is_empty());
        assert!(LabelSelector::parse("  ").unwrap().is_empty());
        assert!(LabelSelector::parse("").unwrap().matches(&Map::new()));
        let sel = LabelSelector::parse("z=1,a in (y,x),!b,c,d notin (q)").unwrap();
        assert!(!sel.is_empty());
        assert_eq!(sel.to_string(), "a in (x,y),!b,c,d notin (q),z=1");
        assert_eq!(sel.requires_exact_match("z"), Some("1"));
        assert_eq!(sel.requires_exact_match("a"), None);
    }

    #[test]
    fn syntax_errors_read_like_kube() {
        assert_eq!(
            parse_err("a in b"),
            "unable to parse requirement: found 'b' expected: '('"
        );
        assert_eq!(
            parse_err("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            parse_err("a=b,"),
            "found '', expected: identifier after ','"
        );
        assert_eq!(
            parse_err(",a"),
            "found ',', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            parse_err("a=b c"),
            "found 'c', expected: ',' or 'end of string'"
        );
        assert_eq!(
            parse_err("a in (x"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            parse_err("a=!b"),
            "unable to parse requirement: found '!', expected: identifier"
        );
        assert_eq!(
            parse_err("!=a"),
            "found '!=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            parse_err("!"),
            "unable to parse requirement: found '', expected: identifier"
        );
    }

    #[test]
    fn invalid_keys_and_values() {
        assert_eq!(
            parse_err("a$b=c"),
            "unable to parse requirement: <nil>: Invalid value: \"a$b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            parse_err("app=-x"),
            "unable to parse requirement: values[0][app]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        let long = "a".repeat(64);
        assert!(
            parse_err(&format!("{long}=x"))
                .contains("name part must be no more than 63 characters")
        );
        assert!(parse_err(&format!("k={long}")).contains("must be no more than 63 characters"));
        assert!(
            parse_err("Example.com/a=b").contains("prefix part a lowercase RFC 1123 subdomain")
        );
        assert!(parse_err("/a=b").contains("prefix part must be non-empty"));
        assert!(parse_err("a/b/c=d").contains("a qualified name must consist of"));
        LabelSelector::parse("example.com/app-name=my_value.1").unwrap();
        assert!(is_valid_label_key("kubernetes.io/role"));
        assert!(!is_valid_label_value("a b"));
    }

    #[test]
    fn metav1_label_selector() {
        let sel = LabelSelector::from_label_selector_json(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "staging"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "tier", "operator": "Exists"},
                {"key": "zone", "operator": "NotIn", "values": ["b"]},
            ]
        }))
        .unwrap();
        assert_eq!(
            sel.to_string(),
            "app=web,!canary,env in (prod,staging),tier,zone notin (b)"
        );
        assert!(sel.matches(&labels(
            json!({"app": "web", "env": "prod", "tier": "x", "zone": "a"})
        )));
        assert!(!sel.matches(&labels(
            json!({"app": "web", "env": "prod", "tier": "x", "canary": "1"})
        )));
        assert!(sel.matches_object(
            &json!({"metadata": {"labels": {"app": "web", "env": "staging", "tier": ""}}})
        ));

        let everything = LabelSelector::from_label_selector_json(&json!({})).unwrap();
        assert!(everything.is_empty());
        assert!(everything.matches(&Map::new()));
        let nothing = LabelSelector::from_label_selector_json(&Value::Null).unwrap();
        assert!(!nothing.is_empty());
        assert!(nothing.matches_nothing());
        assert!(!nothing.matches(&Map::new()));

        let e = LabelSelector::from_label_selector_json(&json!({
            "matchExpressions": [{"key": "a", "operator": "Foo"}]
        }))
        .unwrap_err();
        assert_eq!(e.message, "\"Foo\" is not a valid label selector operator");
        let e = LabelSelector::from_label_selector_json(&json!({
            "matchExpressions": [{"key": "a", "operator": "In", "values": []}]
        }))
        .unwrap_err();
        assert_eq!(
            e.message,
            "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
        );
        let e = LabelSelector::from_label_selector_json(&json!({
            "matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]
        }))
        .unwrap_err();
        assert_eq!(
            e.message,
            "values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist"
        );
        let e = LabelSelector::from_label_selector_json(&json!({"matchLabels": {"a b": "c"}}))
            .unwrap_err();
        assert!(
            e.message
                .starts_with("key: Invalid value: \"a b\": name part")
        );
    }

    #[test]
    fn from_set_matches_exactly() {
        let sel = LabelSelector::from_set(&labels(json!({"b": "2", "a": "1"})));
        assert_eq!(sel.to_string(), "a=1,b=2");
        assert!(sel.matches(&labels(json!({"a": "1", "b": "2", "c": "3"}))));
        assert!(!sel.matches(&labels(json!({"a": "1"}))));
        assert!(LabelSelector::from_set(&Map::new()).is_empty());
    }

    fn pod_field(field: &str) -> Option<String> {
        match field {
            "metadata.name" => Some("web-1".into()),
            "metadata.namespace" => Some("default".into()),
            "status.phase" => Some("Running".into()),
            "spec.nodeName" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn field_selector_operators() {
        let m = |s: &str| FieldSelector::parse(s).unwrap().matches(pod_field).unwrap();
        assert!(m("metadata.name=web-1"));
        assert!(m("metadata.name==web-1"));
        assert!(!m("metadata.name=web-2"));
        assert!(m("metadata.name!=web-2"));
        assert!(!m("metadata.name!=web-1"));
        assert!(m("status.phase=Running,metadata.namespace=default"));
        assert!(!m("status.phase=Running,metadata.namespace=kube-system"));
        assert!(m("spec.nodeName="));
        assert!(m(""));
        assert!(m("metadata.name=web-1,,"));
        assert!(FieldSelector::parse("").unwrap().is_empty());
    }

    #[test]
    fn field_selector_unsupported_field() {
        let sel = FieldSelector::parse("spec.foo=bar,metadata.name=x").unwrap();
        assert_eq!(
            sel.fields().collect::<Vec<_>>(),
            ["metadata.name", "spec.foo"]
        );
        let e = sel.matches(pod_field).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(e.message, "field label not supported: spec.foo");
    }

    #[test]
    fn field_selector_escaping() {
        let sel = FieldSelector::parse(r"metadata.name=a\,b\=c\\d,status.phase!=x").unwrap();
        assert_eq!(sel.terms()[0].value, r"a,b=c\d");
        assert_eq!(sel.to_string(), r"metadata.name=a\,b\=c\\d,status.phase!=x");
        assert_eq!(escape_field_value(r"a,b=c\"), r"a\,b\=c\\");
        let e = FieldSelector::parse(r"a=b\x").unwrap_err();
        assert_eq!(
            e.message,
            r"invalid field selector: invalid escape sequence: \x"
        );
        let e = FieldSelector::parse(r"a=b\").unwrap_err();
        assert_eq!(
            e.message,
            r"invalid field selector: invalid escape sequence: \"
        );
        let e = FieldSelector::parse("a=b=c").unwrap_err();
        assert_eq!(
            e.message,
            "invalid field selector: unescaped character in value: 61"
        );
        let e = FieldSelector::parse("nonsense").unwrap_err();
        assert_eq!(
            e.message,
            "invalid selector: 'nonsense'; can't understand 'nonsense'"
        );
        // The first operator wins, so `==` is never split as `=` + `=value`.
        let sel = FieldSelector::parse("a==b").unwrap();
        assert_eq!(sel.terms()[0].value, "b");
    }

    #[test]
    fn field_selector_exact_name() {
        assert_eq!(
            FieldSelector::parse("metadata.name=x")
                .unwrap()
                .exact_name(),
            Some("x")
        );
        assert_eq!(
            FieldSelector::parse("metadata.name!=x")
                .unwrap()
                .exact_name(),
            None
        );
        assert_eq!(
            FieldSelector::parse("status.phase=Running")
                .unwrap()
                .exact_name(),
            None
        );
    }
}

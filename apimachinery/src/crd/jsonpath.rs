//! The JSONPath subset CRD printer columns use (`k8s.io/client-go/util/jsonpath`): `.a.b`,
//! `['a.b']`, `[0]`, `[-1]`, `[*]`, `.*`, `[?(@.type=="Ready")]` (`==`, `!=`, `<`, `>`, `<=`,
//! `>=` against a string or number literal, or `[?(@.a)]` for presence). Missing keys give no
//! result (kube sets `AllowMissingKeys(true)` for columns).

use serde_json::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    Filter(Vec<String>, Option<(String, Value)>),
}

/// A parsed JSONPath expression.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// Parses an expression, with or without the surrounding `{}` and leading `$`; `Err` carries
/// a description of the problem.
pub fn parse_jsonpath(expr: &str) -> Result<JsonPath, String> {
    let mut s = expr.trim();
    if let Some(inner) = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
        s = inner.trim();
    }
    s = s.strip_prefix('$').unwrap_or(s);
    let chars: Vec<char> = s.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if i < chars.len() && chars[i] == '.' {
                    return Err("recursive descent is not supported".into());
                }
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name == "*" {
                    steps.push(Step::Wildcard);
                } else if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let start = i + 1;
                let mut depth = 0;
                let mut quote: Option<char> = None;
                let mut j = start;
                while j < chars.len() {
                    let c = chars[j];
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None if c == '\'' || c == '"' => quote = Some(c),
                        None if c == '(' => depth += 1,
                        None if c == ')' => depth -= 1,
                        None if c == ']' && depth == 0 => break,
                        None => {}
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(format!("unterminated array in {expr}"));
                }
                let inner: String = chars[start..j].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = j + 1;
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                // A bare first name (`spec.foo`).
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                steps.push(Step::Field(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(JsonPath { steps })
}

fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('\'')
        .and_then(|x| x.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(name) = unquote(inner) {
        return Ok(Step::Field(name.to_string()));
    }
    if let Ok(n) = inner.parse::<i64>() {
        return Ok(Step::Index(n));
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
        let filter = filter.trim();
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if let Some((lhs, rhs)) = filter.split_once(op) {
                let path = filter_path(lhs.trim())?;
                let rhs = rhs.trim();
                let lit = match unquote(rhs) {
                    Some(s) => Value::String(s.to_string()),
                    None => serde_json::from_str(rhs)
                        .map_err(|_| format!("unrecognized filter value {rhs}"))?,
                };
                return Ok(Step::Filter(path, Some((op.to_string(), lit))));
            }
        }
        return Ok(Step::Filter(filter_path(filter)?, None));
    }
    Err(format!("unrecognized array index {inner}"))
}

fn filter_path(s: &str) -> Result<Vec<String>, String> {
    let rest = s
        .strip_prefix('@')
        .ok_or_else(|| format!("unrecognized filter {s}"))?;
    Ok(rest
        .split('.')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

fn compare(a: &Value, op: &str, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            match op {
                "==" => x == y,
                "!=" => x != y,
                "<" => x < y,
                ">" => x > y,
                "<=" => x <= y,
                ">=" => x >= y,
                _ => false,
            }
        }
        (Value::String(x), Value::String(y)) => match op {
            "==" => x == y,
            "!=" => x != y,
            "<" => x < y,
            ">" => x > y,
            "<=" => x <= y,
            ">=" => x >= y,
            _ => false,
        },
        _ => match op {
            "==" => a == b,
            "!=" => a != b,
            _ => false,
        },
    }
}

impl JsonPath {
    /// Every value the path reaches in `root`, in document order.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut cur = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in cur {
                match step {
                    Step::Field(name) => {
                        if let Some(x) = v.get(name.as_str()) {
                            next.push(x);
                        }
                    }
                    Step::Index(n) => {
                        if let Some(list) = v.as_array() {
                            let i = if *n < 0 { list.len() as i64 + n } else { *n };
                            if i >= 0
                                && let Some(x) = list.get(i as usize)
                            {
                                next.push(x);
                            }
                        }
                    }
                    Step::Wildcard => match v {
                        Value::Array(list) => next.extend(list.iter()),
                        Value::Object(m) => next.extend(m.values()),
                        _ => {}
                    },
                    Step::Filter(path, cond) => {
                        let Some(list) = v.as_array() else { continue };
                        for item in list {
                            let mut at = Some(item);
                            for p in path {
                                at = at.and_then(|x| x.get(p.as_str()));
                            }
                            let keep = match (at, cond) {
                                (None, _) => false,
                                (Some(_), None) => true,
                                (Some(x), Some((op, lit))) => compare(x, op, lit),
                            };
                            if keep {
                                next.push(item);
                            }
                        }
                    }
                }
            }
            cur = next;
        }
        cur
    }
}

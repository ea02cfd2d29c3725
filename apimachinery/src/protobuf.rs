//! Decoding of Kubernetes protobuf request bodies into the JSON kube-apiserver would produce.
//!
//! kubectl's typed clients send `Content-Type: application/vnd.kubernetes.protobuf`: the
//! four bytes `k8s\0`, then a `runtime.Unknown` envelope whose `typeMeta` names the object's
//! apiVersion and kind and whose `raw` holds the object's own message. Warren stores JSON, so
//! the API server's body decoding calls [`decode`] for such bodies and continues with the
//! value exactly as if the client had sent JSON; a [`ProtobufError`] is a 400 BadRequest.
//!
//! The wire format is read by hand (varint, 64-bit, length-delimited and 32-bit fields;
//! unknown fields skipped; malformed input is an error, never a panic; nesting is bounded).
//! What each field means comes from `protobuf_schema.txt`, a table generated from the
//! `k8s-pb` (tags, wire types, nested message types) and `k8s-openapi` (JSON names, required
//! fields) crates. Regenerate it from the workspace root after bumping either crate:
//!
//! ```text
//! cargo fetch
//! cargo run -p proto-schema-gen -- --out apimachinery/src/protobuf_schema.txt
//! ```
//!
//! The JSON is what Go's types marshal after decoding the same bytes (checked against bodies
//! captured from kubectl 1.37, see the tests):
//!
//! * `meta/v1 Time` is RFC 3339 in whole seconds; the zero time is `null`, and an optional
//!   field holding it is left out, as Kubernetes' `omitzero` does. `MicroTime` has six
//!   fractional digits, `Duration` is a Go duration string (`1h0m0s`), `Quantity` its string,
//!   `IntOrString` a number or a string, `RawExtension`, `FieldsV1` and apiextensions `JSON`
//!   the embedded JSON, `bytes` base64.
//! * A field absent on the wire is absent in the JSON, except required fields (k8s-openapi's
//!   non-`Option` fields, which Go always emits): they get their zero value, `null` for lists
//!   and maps (as for RBAC `rules`).
//! * Go's typed clients put every non-pointer field on the wire, so an empty optional string,
//!   and a zero number or boolean the table flags as a plain Go value, are dropped as Go's
//!   `omitempty` drops them; other present zeros (`replicas: 0`, `suspend: false`) are kept.
//! * Embedded Go structs (`json:",inline"`, such as `Volume`'s `VolumeSource`) are flattened
//!   into their parent object, and fields keep Go's struct order after `kind` and
//!   `apiVersion`.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

/// The media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The prefix of every Kubernetes protobuf body.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// The generated schema table (see the module documentation).
const SCHEMA_TABLE: &str = include_str!("protobuf_schema.txt");

/// How deep messages may nest before a body is rejected.
const MAX_DEPTH: usize = 100;

/// `time.Time{}` as Unix seconds: Go encodes a zero `meta/v1 Time` with this value.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

const META_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// Why a protobuf body could not be decoded. Every variant is the client's fault: answer
/// 400 BadRequest with the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    #[error("protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"")]
    MissingMagic,
    /// The bytes are not valid protobuf (truncated, bad varint, group wire types, …).
    #[error("malformed protobuf in {message}: {reason}")]
    Malformed {
        /// The message being read.
        message: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// The envelope does not name both an apiVersion and a kind.
    #[error("protobuf envelope does not carry apiVersion and kind")]
    MissingTypeMeta,
    /// The envelope's payload is compressed or otherwise encoded.
    #[error("protobuf envelope content encoding {0:?} is not supported")]
    UnsupportedContentEncoding(String),
    /// No protobuf message is known for the envelope's apiVersion and kind.
    #[error("no protobuf schema for apiVersion {api_version:?}, kind {kind:?}")]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// A field holds something its type does not allow (wrong wire type, embedded JSON that
    /// does not parse, a time out of range, …).
    #[error("invalid field {field} of {message}: {reason}")]
    InvalidField {
        /// The message holding the field.
        message: String,
        /// The field's JSON name (or tag).
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// Messages nest deeper than the decoder allows.
    #[error("protobuf messages nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Decodes a Kubernetes protobuf body (`k8s\0` + `runtime.Unknown`) into the object's JSON,
/// with `apiVersion` and `kind` taken from the envelope.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let payload = body
        .strip_prefix(MAGIC)
        .ok_or(ProtobufError::MissingMagic)?;
    let envelope = Envelope::read(payload)?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedContentEncoding(
            envelope.content_encoding,
        ));
    }
    if envelope.api_version.is_empty() || envelope.kind.is_empty() {
        return Err(ProtobufError::MissingTypeMeta);
    }
    let schema = schema();
    let message = schema
        .message_for_kind(&envelope.api_version, &envelope.kind)
        .ok_or_else(|| ProtobufError::UnknownKind {
            api_version: envelope.api_version.clone(),
            kind: envelope.kind.clone(),
        })?;
    // Go's TypeMeta order: kind, then apiVersion.
    let mut object = Map::new();
    object.insert("kind".into(), Value::String(envelope.kind));
    object.insert("apiVersion".into(), Value::String(envelope.api_version));
    let decoder = Decoder { schema };
    decoder.fill_object(message, envelope.raw, 0, &mut object)?;
    Ok(Value::Object(object))
}

// ---------------------------------------------------------------------------------------------
// The envelope.

/// `runtime.Unknown`: {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
/// 4 contentType}.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

impl<'a> Envelope<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, ProtobufError> {
        const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";
        let mut envelope = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
        };
        for (tag, value) in read_fields(bytes, UNKNOWN)? {
            match (tag, value) {
                (1, Wire::Len(type_meta)) => {
                    for (tag, value) in read_fields(type_meta, "runtime.TypeMeta")? {
                        match (tag, value) {
                            (1, Wire::Len(v)) => envelope.api_version = lossy(v),
                            (2, Wire::Len(v)) => envelope.kind = lossy(v),
                            _ => {}
                        }
                    }
                }
                (2, Wire::Len(raw)) => envelope.raw = raw,
                (3, Wire::Len(encoding)) => envelope.content_encoding = lossy(encoding),
                _ => {}
            }
        }
        Ok(envelope)
    }
}

// ---------------------------------------------------------------------------------------------
// The wire format.

/// One field value as it appears on the wire.
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    /// A 32-bit field: no Kubernetes message has one, so it is only skipped.
    Fixed32,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    message: &'a str,
}

impl<'a> Reader<'a> {
    fn malformed(&self, reason: &'static str) -> ProtobufError {
        ProtobufError::Malformed {
            message: self.message.to_string(),
            reason,
        }
    }

    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| self.malformed("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.malformed("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.malformed("truncated field"))?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    fn field(&mut self) -> Result<(u32, Wire<'a>), ProtobufError> {
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3)
            .ok()
            .filter(|tag| *tag != 0)
            .ok_or_else(|| self.malformed("invalid field number"))?;
        let value = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                let bytes = self.take(8)?;
                Wire::Fixed64(u64::from_le_bytes(
                    bytes
                        .try_into()
                        .map_err(|_| self.malformed("truncated field"))?,
                ))
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| self.malformed("length out of range"))?;
                Wire::Len(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Wire::Fixed32
            }
            3 | 4 => return Err(self.malformed("group wire types are not used by Kubernetes")),
            _ => return Err(self.malformed("invalid wire type")),
        };
        Ok((tag, value))
    }
}

/// All fields of one message, in wire order.
fn read_fields<'a>(
    bytes: &'a [u8],
    message: &'a str,
) -> Result<Vec<(u32, Wire<'a>)>, ProtobufError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        message,
    };
    let mut fields = Vec::new();
    while reader.pos < bytes.len() {
        fields.push(reader.field()?);
    }
    Ok(fields)
}

/// Go converts proto strings without validating UTF-8, and `encoding/json` writes invalid
/// sequences as U+FFFD.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The schema table.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    Optional,
    Required,
    Repeated,
    Map,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
    Message(&'static str),
}

#[derive(Debug)]
struct Field {
    tag: u32,
    /// JSON name; `None` for an embedded (`json:",inline"`) message.
    json: Option<&'static str>,
    card: Card,
    ty: Type,
    /// Drop a present zero value (a plain Go field with `omitempty`).
    omit_zero: bool,
    /// Write an absent list or map as `null` (a Go slice or map without `omitempty`).
    null_if_empty: bool,
}

#[derive(Debug)]
struct Message {
    name: &'static str,
    /// In declaration order, which is Go's struct order.
    fields: Vec<Field>,
}

#[derive(Debug, Default)]
struct Schema {
    messages: HashMap<&'static str, Message>,
    /// Lowercase full name → full name, to find kinds whatever prost did to their case.
    lowercase: HashMap<String, &'static str>,
    /// apiVersion → proto package.
    packages: HashMap<&'static str, &'static str>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| parse_schema(SCHEMA_TABLE).0)
}

/// Parses the table; the second value lists lines that could not be read (a test keeps it
/// empty).
fn parse_schema(table: &'static str) -> (Schema, Vec<&'static str>) {
    let mut schema = Schema::default();
    let mut problems = Vec::new();
    let mut current: Option<Message> = None;
    for line in table.lines() {
        let mut parts = line.split(' ');
        match parts.next() {
            Some("G") => match (parts.next(), parts.next()) {
                (Some(api_version), Some(package)) => {
                    schema.packages.insert(api_version, package);
                }
                _ => problems.push(line),
            },
            Some("M") => {
                if let Some(done) = current.take() {
                    schema.insert(done);
                }
                match parts.next() {
                    Some(name) => {
                        current = Some(Message {
                            name,
                            fields: Vec::new(),
                        })
                    }
                    None => problems.push(line),
                }
            }
            Some("F") => match (parse_field(&mut parts), current.as_mut()) {
                (Some(field), Some(message)) => message.fields.push(field),
                _ => problems.push(line),
            },
            Some(comment) if comment.starts_with('#') || comment.is_empty() => {}
            _ => problems.push(line),
        }
    }
    if let Some(done) = current.take() {
        schema.insert(done);
    }
    (schema, problems)
}

fn parse_field(parts: &mut impl Iterator<Item = &'static str>) -> Option<Field> {
    let tag = parts.next()?.parse().ok()?;
    let json = match parts.next()? {
        "-" => None,
        name => Some(name),
    };
    let card = match parts.next()? {
        "opt" => Card::Optional,
        "req" => Card::Required,
        "rep" => Card::Repeated,
        "map" => Card::Map,
        _ => return None,
    };
    let ty = match parts.next()? {
        "string" => Type::String,
        "bytes" => Type::Bytes,
        "bool" => Type::Bool,
        "int32" => Type::Int32,
        "int64" => Type::Int64,
        "double" => Type::Double,
        name if name.starts_with("k8s.io.") => Type::Message(name),
        _ => return None,
    };
    let flag = parts.next();
    if !matches!(flag, None | Some("k" | "z" | "n")) || parts.next().is_some() {
        return None;
    }
    Some(Field {
        tag,
        json,
        card,
        ty,
        omit_zero: flag == Some("z"),
        null_if_empty: flag == Some("n"),
    })
}

impl Schema {
    fn insert(&mut self, message: Message) {
        self.lowercase
            .insert(message.name.to_ascii_lowercase(), message.name);
        self.messages.insert(message.name, message);
    }

    fn message(&self, name: &str) -> Option<&Message> {
        self.messages.get(name)
    }

    /// The message for an envelope's apiVersion and kind. Option kinds (`DeleteOptions`, …)
    /// live in `meta/v1` but are sent under any group version.
    fn message_for_kind(&self, api_version: &str, kind: &str) -> Option<&Message> {
        if kind.contains('.') {
            return None;
        }
        let in_package = |package: &str| {
            let full = format!("{package}.{kind}").to_ascii_lowercase();
            self.lowercase
                .get(&full)
                .and_then(|name| self.message(name))
        };
        self.packages
            .get(api_version)
            .and_then(|package| in_package(package))
            .or_else(|| in_package(META_V1).filter(|_| kind.ends_with("Options")))
    }
}

// ---------------------------------------------------------------------------------------------
// Messages to JSON.

struct Decoder {
    schema: &'static Schema,
}

impl Decoder {
    fn message(&self, name: &str) -> Result<&'static Message, ProtobufError> {
        self.schema
            .message(name)
            .ok_or_else(|| ProtobufError::InvalidField {
                message: name.to_string(),
                field: String::new(),
                reason: "message missing from the protobuf schema".into(),
            })
    }

    /// One message as JSON: the types with a JSON form of their own, else an object.
    fn decode_message(
        &self,
        name: &'static str,
        bytes: &[u8],
        depth: usize,
    ) -> Result<Value, ProtobufError> {
        if depth > MAX_DEPTH {
            return Err(ProtobufError::TooDeep);
        }
        if let Some(value) = self.decode_special(name, bytes, depth)? {
            return Ok(value);
        }
        let mut object = Map::new();
        self.fill_object(self.message(name)?, bytes, depth, &mut object)?;
        Ok(Value::Object(object))
    }

    /// Adds the JSON fields of `message` (read from `bytes`) to `object`.
    fn fill_object(
        &self,
        message: &'static Message,
        bytes: &[u8],
        depth: usize,
        object: &mut Map<String, Value>,
    ) -> Result<(), ProtobufError> {
        if depth > MAX_DEPTH {
            return Err(ProtobufError::TooDeep);
        }
        let mut wire = read_fields(bytes, message.name)?;
        wire.sort_by_key(|(tag, _)| *tag);
        for field in &message.fields {
            let start = wire.partition_point(|(tag, _)| *tag < field.tag);
            let end = wire.partition_point(|(tag, _)| *tag <= field.tag);
            let values: Vec<Wire<'_>> = wire[start..end].iter().map(|(_, v)| *v).collect();
            let value = match field.card {
                Card::Optional | Card::Required => {
                    self.singular(message, field, &values, depth, object)?
                }
                Card::Repeated => self.repeated(message, field, &values, depth)?,
                Card::Map => self.map(message, field, &values, depth)?,
            };
            if let (Some(value), Some(json)) = (value, field.json) {
                object.insert(json.to_string(), value);
            }
        }
        Ok(())
    }

    fn invalid(message: &Message, field: &Field, reason: impl Into<String>) -> ProtobufError {
        ProtobufError::InvalidField {
            message: message.name.to_string(),
            field: field
                .json
                .map_or_else(|| field.tag.to_string(), str::to_string),
            reason: reason.into(),
        }
    }

    fn singular(
        &self,
        message: &'static Message,
        field: &Field,
        values: &[Wire<'_>],
        depth: usize,
        object: &mut Map<String, Value>,
    ) -> Result<Option<Value>, ProtobufError> {
        if let Type::Message(name) = field.ty {
            // Repeated occurrences of a message field merge, as if concatenated.
            let mut merged = Vec::new();
            for value in values {
                match value {
                    Wire::Len(bytes) => merged.extend_from_slice(bytes),
                    _ => return Err(Self::invalid(message, field, "expected a message")),
                }
            }
            if values.is_empty() && field.card == Card::Optional {
                return Ok(None);
            }
            if field.json.is_none() {
                self.fill_object(self.message(name)?, &merged, depth + 1, object)?;
                return Ok(None);
            }
            // Kubernetes marks optional times `omitzero`: a zero `Time` (which is `null`)
            // disappears, as do other optional fields whose JSON is `null`.
            let value = self.decode_message(name, &merged, depth + 1)?;
            return Ok((field.card == Card::Required || !value.is_null()).then_some(value));
        }
        let Some(last) = values.last() else {
            return Ok(match field.card {
                Card::Required => Some(zero_value(field.ty)),
                _ => None,
            });
        };
        let value =
            scalar(field.ty, *last).map_err(|reason| Self::invalid(message, field, reason))?;
        if field.card == Card::Optional && field.omit_zero && is_zero(&value) {
            return Ok(None);
        }
        Ok(Some(value))
    }

    fn repeated(
        &self,
        message: &'static Message,
        field: &Field,
        values: &[Wire<'_>],
        depth: usize,
    ) -> Result<Option<Value>, ProtobufError> {
        let mut items = Vec::with_capacity(values.len());
        for value in values {
            match (field.ty, value) {
                (Type::Message(name), Wire::Len(bytes)) => {
                    items.push(self.decode_message(name, bytes, depth + 1)?);
                }
                (Type::Message(_), _) => {
                    return Err(Self::invalid(message, field, "expected a message"));
                }
                (Type::Bool | Type::Int32 | Type::Int64 | Type::Double, Wire::Len(packed)) => {
                    let mut reader = Reader {
                        bytes: packed,
                        pos: 0,
                        message: message.name,
                    };
                    while reader.pos < packed.len() {
                        let element = if field.ty == Type::Double {
                            Wire::Fixed64(u64::from_le_bytes(
                                reader
                                    .take(8)?
                                    .try_into()
                                    .map_err(|_| reader.malformed("truncated field"))?,
                            ))
                        } else {
                            Wire::Varint(reader.varint()?)
                        };
                        items.push(
                            scalar(field.ty, element)
                                .map_err(|reason| Self::invalid(message, field, reason))?,
                        );
                    }
                }
                (ty, value) => items.push(
                    scalar(ty, *value).map_err(|reason| Self::invalid(message, field, reason))?,
                ),
            }
        }
        Ok(if !items.is_empty() {
            Some(Value::Array(items))
        } else {
            field.null_if_empty.then_some(Value::Null)
        })
    }

    /// Maps are repeated entries {1 key, 2 value}; a later duplicate key wins, as in Go.
    fn map(
        &self,
        message: &'static Message,
        field: &Field,
        values: &[Wire<'_>],
        depth: usize,
    ) -> Result<Option<Value>, ProtobufError> {
        let mut entries = Map::new();
        for value in values {
            let Wire::Len(entry) = value else {
                return Err(Self::invalid(message, field, "expected a map entry"));
            };
            let mut key = String::new();
            let mut item = None;
            for (tag, part) in read_fields(entry, message.name)? {
                match (tag, part) {
                    (1, Wire::Len(bytes)) => key = lossy(bytes),
                    (1, _) => return Err(Self::invalid(message, field, "map key is not a string")),
                    (2, part) => item = Some(part),
                    _ => {}
                }
            }
            let item = match (field.ty, item) {
                (Type::Message(name), Some(Wire::Len(bytes))) => {
                    self.decode_message(name, bytes, depth + 1)?
                }
                (Type::Message(name), None) => self.decode_message(name, &[], depth + 1)?,
                (Type::Message(_), Some(_)) => {
                    return Err(Self::invalid(message, field, "map value is not a message"));
                }
                (ty, Some(part)) => {
                    scalar(ty, part).map_err(|reason| Self::invalid(message, field, reason))?
                }
                // Go decodes a missing bytes value as `[]byte{}`, which is `""`.
                (Type::Bytes, None) => Value::String(String::new()),
                (ty, None) => zero_value(ty),
            };
            entries.insert(key, item);
        }
        Ok(if !entries.is_empty() {
            Some(Value::Object(entries))
        } else {
            field.null_if_empty.then_some(Value::Null)
        })
    }

    /// Types whose JSON is not an object of their fields. `None` for ordinary messages.
    fn decode_special(
        &self,
        name: &'static str,
        bytes: &[u8],
        depth: usize,
    ) -> Result<Option<Value>, ProtobufError> {
        let short = name.rsplit('.').next().unwrap_or(name);
        let value = match name {
            "k8s.io.apimachinery.pkg.apis.meta.v1.Time" => {
                // Go drops the nanoseconds of a protobuf Time (JSON only carries seconds).
                if bytes.is_empty() {
                    Value::Null
                } else {
                    let fields = read_fields(bytes, name)?;
                    let seconds = last_varint(&fields, 1, name, "seconds")?.unwrap_or(0);
                    format_time(seconds as i64, 0, false, name)?
                }
            }
            "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => {
                if bytes.is_empty() {
                    Value::Null
                } else {
                    let fields = read_fields(bytes, name)?;
                    let seconds = last_varint(&fields, 1, name, "seconds")?.unwrap_or(0) as i64;
                    let nanos = last_varint(&fields, 2, name, "nanos")?.unwrap_or(0) as i32;
                    format_time(seconds, i64::from(nanos), true, name)?
                }
            }
            "k8s.io.apimachinery.pkg.apis.meta.v1.Duration" => {
                let fields = read_fields(bytes, name)?;
                let nanos = last_varint(&fields, 1, name, "duration")?.unwrap_or(0) as i64;
                Value::String(go_duration(nanos))
            }
            "k8s.io.apimachinery.pkg.api.resource.Quantity" => {
                let fields = read_fields(bytes, name)?;
                match last_bytes(&fields, 1, name, "string")? {
                    None => Value::String("0".into()),
                    Some([]) => {
                        return Err(ProtobufError::InvalidField {
                            message: name.into(),
                            field: "string".into(),
                            reason: "a quantity may not be empty".into(),
                        });
                    }
                    Some(text) => Value::String(lossy(text)),
                }
            }
            "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
                let fields = read_fields(bytes, name)?;
                match last_varint(&fields, 1, name, "type")?.unwrap_or(0) {
                    0 => {
                        let int = last_varint(&fields, 2, name, "intVal")?.unwrap_or(0);
                        Value::from(int as i32)
                    }
                    1 => {
                        let text = last_bytes(&fields, 3, name, "strVal")?.unwrap_or_default();
                        Value::String(lossy(text))
                    }
                    _ => {
                        return Err(ProtobufError::InvalidField {
                            message: name.into(),
                            field: "type".into(),
                            reason: "neither int (0) nor string (1)".into(),
                        });
                    }
                }
            }
            "k8s.io.apimachinery.pkg.runtime.RawExtension"
            | "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1" => {
                let fields = read_fields(bytes, name)?;
                embedded_json(last_bytes(&fields, 1, name, "raw")?, name)?
            }
            _ if short == "JSON" => {
                let fields = read_fields(bytes, name)?;
                embedded_json(last_bytes(&fields, 1, name, "raw")?, name)?
            }
            _ if short == "ExtraValue" || name == "k8s.io.apimachinery.pkg.apis.meta.v1.Verbs" => {
                let fields = read_fields(bytes, name)?;
                let mut items = Vec::new();
                for (tag, value) in fields {
                    match (tag, value) {
                        (1, Wire::Len(text)) => items.push(Value::String(lossy(text))),
                        (1, _) => return Err(wrong_wire(name, "items")),
                        _ => {}
                    }
                }
                if items.is_empty() {
                    Value::Null
                } else {
                    Value::Array(items)
                }
            }
            _ if short.starts_with("JSONSchemaPropsOr") => {
                return self
                    .decode_schema_props_or(name, short, bytes, depth)
                    .map(Some);
            }
            _ => return Ok(None),
        };
        Ok(Some(value))
    }

    /// apiextensions' `JSONSchemaPropsOrArray` (schema or list of schemas),
    /// `JSONSchemaPropsOrBool` (bool or schema) and `JSONSchemaPropsOrStringArray` (schema or
    /// list of strings).
    fn decode_schema_props_or(
        &self,
        name: &'static str,
        short: &str,
        bytes: &[u8],
        depth: usize,
    ) -> Result<Value, ProtobufError> {
        let package = &name[..name.len() - short.len()];
        let props = self
            .schema
            .lowercase
            .get(&format!("{package}jsonschemaprops"))
            .copied()
            .ok_or(ProtobufError::InvalidField {
                message: name.to_string(),
                field: String::new(),
                reason: "JSONSchemaProps missing from the protobuf schema".into(),
            })?;
        let fields = read_fields(bytes, name)?;
        let schema_tag = if short == "JSONSchemaPropsOrBool" {
            2
        } else {
            1
        };
        let schema = match last_bytes(&fields, schema_tag, name, "schema")? {
            Some(bytes) => Some(self.decode_message(props, bytes, depth + 1)?),
            None => None,
        };
        Ok(match short {
            "JSONSchemaPropsOrBool" => match schema {
                Some(schema) => schema,
                None => Value::Bool(last_varint(&fields, 1, name, "allows")?.unwrap_or(0) != 0),
            },
            _ => {
                let mut list = Vec::new();
                for (tag, value) in &fields {
                    match (*tag, value) {
                        (2, Wire::Len(item)) if short == "JSONSchemaPropsOrArray" => {
                            list.push(self.decode_message(props, item, depth + 1)?)
                        }
                        (2, Wire::Len(text)) => list.push(Value::String(lossy(text))),
                        (2, _) => return Err(wrong_wire(name, "items")),
                        _ => {}
                    }
                }
                if !list.is_empty() {
                    Value::Array(list)
                } else {
                    schema.unwrap_or(Value::Null)
                }
            }
        })
    }
}

fn wrong_wire(message: &str, field: &str) -> ProtobufError {
    ProtobufError::InvalidField {
        message: message.to_string(),
        field: field.to_string(),
        reason: "wrong wire type".into(),
    }
}

fn last_varint(
    fields: &[(u32, Wire<'_>)],
    tag: u32,
    message: &str,
    field: &str,
) -> Result<Option<u64>, ProtobufError> {
    match fields.iter().rev().find(|(t, _)| *t == tag) {
        None => Ok(None),
        Some((_, Wire::Varint(v))) => Ok(Some(*v)),
        Some(_) => Err(wrong_wire(message, field)),
    }
}

fn last_bytes<'a>(
    fields: &[(u32, Wire<'a>)],
    tag: u32,
    message: &str,
    field: &str,
) -> Result<Option<&'a [u8]>, ProtobufError> {
    match fields.iter().rev().find(|(t, _)| *t == tag) {
        None => Ok(None),
        Some((_, Wire::Len(v))) => Ok(Some(v)),
        Some(_) => Err(wrong_wire(message, field)),
    }
}

/// `RawExtension`, `FieldsV1` and `JSON` carry JSON text; empty is `null`.
fn embedded_json(raw: Option<&[u8]>, message: &str) -> Result<Value, ProtobufError> {
    match raw {
        None | Some([]) => Ok(Value::Null),
        Some(raw) => serde_json::from_slice(raw).map_err(|e| ProtobufError::InvalidField {
            message: message.to_string(),
            field: "raw".into(),
            reason: format!("embedded JSON does not parse: {e}"),
        }),
    }
}

/// A scalar field's JSON.
fn scalar(ty: Type, value: Wire<'_>) -> Result<Value, &'static str> {
    Ok(match (ty, value) {
        (Type::String, Wire::Len(bytes)) => Value::String(lossy(bytes)),
        (Type::Bytes, Wire::Len(bytes)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        (Type::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        // Go truncates int32 varints the same way.
        (Type::Int32, Wire::Varint(v)) => Value::from(v as i32),
        (Type::Int64, Wire::Varint(v)) => Value::from(v as i64),
        (Type::Double, Wire::Fixed64(bits)) => go_float(f64::from_bits(bits))?,
        _ => return Err("wrong wire type"),
    })
}

/// Go's `encoding/json` writes integral floats without a fraction and rejects NaN and ±Inf.
fn go_float(value: f64) -> Result<Value, &'static str> {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return Ok(Value::from(value as i64));
    }
    Number::from_f64(value)
        .map(Value::Number)
        .ok_or("NaN and infinity have no JSON form")
}

/// What Go emits for a required field that is absent.
fn zero_value(ty: Type) -> Value {
    match ty {
        Type::String => Value::String(String::new()),
        Type::Bool => Value::Bool(false),
        Type::Int32 | Type::Int64 | Type::Double => Value::from(0),
        Type::Bytes | Type::Message(_) => Value::Null,
    }
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        _ => false,
    }
}

/// `meta/v1 Time` (`2006-01-02T15:04:05Z`) or, with `micro`, `MicroTime`
/// (`2006-01-02T15:04:05.000000Z`); Go's zero time is `null`.
fn format_time(
    seconds: i64,
    nanos: i64,
    micro: bool,
    message: &str,
) -> Result<Value, ProtobufError> {
    let seconds = seconds.checked_add(nanos.div_euclid(1_000_000_000));
    let nanos = nanos.rem_euclid(1_000_000_000) as u32;
    if seconds == Some(GO_ZERO_TIME_SECONDS) && nanos == 0 {
        return Ok(Value::Null);
    }
    let time = seconds
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, nanos))
        .filter(|time| (0..=9999).contains(&chrono::Datelike::year(time)))
        .ok_or_else(|| ProtobufError::InvalidField {
            message: message.to_string(),
            field: "seconds".into(),
            reason: "time out of range".into(),
        })?;
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Value::String(time.format(format).to_string()))
}

/// Go's `time.Duration.String`: `1h0m0s`, `1m30s`, `1.5s`, `300ms`, `2µs`, `0s`.
fn go_duration(nanos: i64) -> String {
    fn with_fraction(value: u64, digits: u32) -> (u64, String) {
        let scale = 10u64.pow(digits);
        let fraction = value % scale;
        if fraction == 0 {
            return (value / scale, String::new());
        }
        let text = format!("{fraction:0width$}", width = digits as usize);
        (value / scale, format!(".{}", text.trim_end_matches('0')))
    }
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u < 1_000_000_000 {
        let (digits, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (whole, fraction) = with_fraction(u, digits);
        return format!("{sign}{whole}{fraction}{unit}");
    }
    let (seconds, fraction) = with_fraction(u, 9);
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}{fraction}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}{fraction}s")
    } else {
        format!("{sign}{seconds}{fraction}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_pb::api::apps::v1 as apps;
    use k8s_pb::api::batch::v1 as batch;
    use k8s_pb::api::coordination::v1 as coordination;
    use k8s_pb::api::core::v1 as core;
    use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
    use k8s_pb::apimachinery::pkg::api::resource::Quantity;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
    use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
    use prost::Message as _;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn s(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    /// `k8s\0` + `runtime.Unknown` around `object`, as client-go's protobuf serializer writes.
    fn body(api_version: &str, kind: &str, object: &impl prost::Message) -> Vec<u8> {
        let envelope = Unknown {
            type_meta: Some(TypeMeta {
                api_version: s(api_version),
                kind: s(kind),
            }),
            raw: Some(object.encode_to_vec()),
            content_encoding: s(""),
            content_type: s(""),
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend(envelope.encode_to_vec());
        bytes
    }

    fn int(value: i32) -> Option<IntOrString> {
        Some(IntOrString {
            r#type: Some(0),
            int_val: Some(value),
            str_val: s(""),
        })
    }

    fn string(value: &str) -> Option<IntOrString> {
        Some(IntOrString {
            r#type: Some(1),
            int_val: Some(0),
            str_val: s(value),
        })
    }

    fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Quantity { string: s(v) }))
            .collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// ObjectMeta as Go's typed clients put it on the wire: every plain field present, the
    /// zero creation time included.
    fn go_meta(name: &str, namespace: &str) -> Option<meta::ObjectMeta> {
        Some(meta::ObjectMeta {
            name: s(name),
            generate_name: s(""),
            namespace: s(namespace),
            self_link: s(""),
            uid: s(""),
            resource_version: s(""),
            generation: Some(0),
            creation_timestamp: Some(meta::Time {
                seconds: Some(GO_ZERO_TIME_SECONDS),
                nanos: Some(0),
            }),
            ..Default::default()
        })
    }

    fn pod_template(app: &str) -> Option<core::PodTemplateSpec> {
        Some(core::PodTemplateSpec {
            metadata: Some(meta::ObjectMeta {
                labels: labels(&[("app", app)]),
                ..go_meta("", "").unwrap()
            }),
            spec: Some(core::PodSpec {
                containers: vec![core::Container {
                    name: s("web"),
                    image: s("nginx:1.27"),
                    working_dir: s(""),
                    ports: vec![core::ContainerPort {
                        name: s("http"),
                        host_port: Some(0),
                        container_port: Some(80),
                        protocol: s("TCP"),
                        host_ip: s(""),
                    }],
                    env: vec![
                        core::EnvVar {
                            name: s("MODE"),
                            value: s("production"),
                            value_from: None,
                        },
                        core::EnvVar {
                            name: s("LEVEL"),
                            value: s(""),
                            value_from: Some(core::EnvVarSource {
                                config_map_key_ref: Some(core::ConfigMapKeySelector {
                                    local_object_reference: Some(core::LocalObjectReference {
                                        name: s("settings"),
                                    }),
                                    key: s("level"),
                                    optional: Some(false),
                                }),
                                ..Default::default()
                            }),
                        },
                    ],
                    resources: Some(core::ResourceRequirements {
                        limits: quantities(&[("cpu", "500m"), ("memory", "128Mi")]),
                        requests: quantities(&[("cpu", "250m")]),
                        claims: vec![],
                    }),
                    readiness_probe: Some(core::Probe {
                        handler: Some(core::ProbeHandler {
                            http_get: Some(core::HttpGetAction {
                                path: s("/healthz"),
                                port: string("http"),
                                host: s(""),
                                scheme: s("HTTP"),
                                http_headers: vec![],
                            }),
                            ..Default::default()
                        }),
                        initial_delay_seconds: Some(0),
                        timeout_seconds: Some(1),
                        period_seconds: Some(10),
                        success_threshold: Some(1),
                        failure_threshold: Some(3),
                        termination_grace_period_seconds: None,
                    }),
                    termination_message_path: s("/dev/termination-log"),
                    termination_message_policy: s("File"),
                    image_pull_policy: s("IfNotPresent"),
                    stdin: Some(false),
                    stdin_once: Some(false),
                    tty: Some(false),
                    ..Default::default()
                }],
                volumes: vec![core::Volume {
                    name: s("config"),
                    volume_source: Some(core::VolumeSource {
                        config_map: Some(core::ConfigMapVolumeSource {
                            local_object_reference: Some(core::LocalObjectReference {
                                name: s("settings"),
                            }),
                            items: vec![],
                            default_mode: Some(420),
                            optional: None,
                        }),
                        ..Default::default()
                    }),
                }],
                restart_policy: s("Always"),
                termination_grace_period_seconds: Some(30),
                dns_policy: s("ClusterFirst"),
                service_account_name: s(""),
                host_network: Some(false),
                host_pid: Some(false),
                host_ipc: Some(false),
                automount_service_account_token: Some(false),
                scheduler_name: s("default-scheduler"),
                ..Default::default()
            }),
        })
    }

    fn pod_template_json(app: &str) -> Value {
        json!({
            "metadata": {"labels": {"app": app}},
            "spec": {
                "volumes": [{"name": "config", "configMap": {"name": "settings", "defaultMode": 420}}],
                "containers": [{
                    "name": "web",
                    "image": "nginx:1.27",
                    "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                    "env": [
                        {"name": "MODE", "value": "production"},
                        {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {
                            "name": "settings", "key": "level", "optional": false}}}
                    ],
                    "resources": {
                        "limits": {"cpu": "500m", "memory": "128Mi"},
                        "requests": {"cpu": "250m"}
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                        "timeoutSeconds": 1,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "failureThreshold": 3
                    },
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent"
                }],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst",
                "automountServiceAccountToken": false,
                "schedulerName": "default-scheduler"
            }
        })
    }

    fn deployment() -> apps::Deployment {
        apps::Deployment {
            metadata: Some(meta::ObjectMeta {
                labels: labels(&[("app", "web")]),
                ..go_meta("web", "shop").unwrap()
            }),
            spec: Some(apps::DeploymentSpec {
                replicas: Some(0),
                selector: Some(meta::LabelSelector {
                    match_labels: labels(&[("app", "web")]),
                    match_expressions: vec![meta::LabelSelectorRequirement {
                        key: s("tier"),
                        operator: s("In"),
                        values: vec!["front".into(), "edge".into()],
                    }],
                }),
                template: pod_template("web"),
                strategy: Some(apps::DeploymentStrategy {
                    r#type: s("RollingUpdate"),
                    rolling_update: Some(apps::RollingUpdateDeployment {
                        max_unavailable: int(1),
                        max_surge: string("25%"),
                    }),
                }),
                min_ready_seconds: Some(0),
                revision_history_limit: Some(10),
                paused: Some(false),
                progress_deadline_seconds: Some(600),
            }),
            status: Some(apps::DeploymentStatus {
                observed_generation: Some(0),
                replicas: Some(0),
                updated_replicas: Some(0),
                ready_replicas: Some(0),
                available_replicas: Some(0),
                unavailable_replicas: Some(0),
                ..Default::default()
            }),
        }
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Bodies kubectl 1.37.1 sent (captured with a fake server) for `kubectl create namespace
    /// demo`, `kubectl create deployment web -n shop --image=nginx --port=80 --replicas=0`,
    /// `kubectl create service clusterip web -n shop --tcp=80:8080` and the commands named
    /// below, against the JSON the same kubectl prints with `--dry-run=client -o json` (Go's
    /// encoding of the same objects).
    #[test]
    fn real_kubectl_bodies() {
        let cases = [
            (
                "6b3873000a0f0a02763112094e616d657370616365121c0a140a0464656d6f12001a0022002a00\
                 32003800420012001a020a001a002200",
                json!({"kind":"Namespace","apiVersion":"v1","metadata":{"name":"demo"},
                       "spec":{},"status":{}}),
            ),
            (
                "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bc010a230a0377656212001a\
                 0473686f7022002a003200380042005a0a0a0361707012037765621286010800120c0a0a0a036170\
                 7012037765621a6c0a1c0a0012001a0022002a003200380042005a0a0a036170701203776562124c\
                 122e0a056e67696e7812056e67696e782a00320a0a001000185022002a0042006a00720080010088\
                 0100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00\
                 280038001a0c0800100018002000280038001a002200",
                json!({"kind":"Deployment","apiVersion":"apps/v1",
                       "metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},
                       "spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},
                               "template":{"metadata":{"labels":{"app":"web"}},
                                           "spec":{"containers":[{"name":"nginx","image":"nginx",
                                                   "ports":[{"containerPort":80}],"resources":{}}]}},
                               "strategy":{}},
                       "status":{}}),
            ),
            (
                "6b3873000a0d0a027631120753657276696365126d0a230a0377656212001a0473686f7022002a00\
                 3200380042005a0a0a03617070120377656212420a1b0a0738302d38303830120354435018502207\
                 080010903f1a002800120a0a0361707012037765621a002209436c757374657249503a0042005200\
                 5a00600068001a020a001a002200",
                json!({"kind":"Service","apiVersion":"v1",
                       "metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},
                       "spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080}],
                               "selector":{"app":"web"},"type":"ClusterIP"},
                       "status":{"loadBalancer":{}}}),
            ),
            // kubectl create clusterrole agg --aggregation-rule=rbac.example.com/aggregate=true
            (
                "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b436c7573\
                 746572526f6c65123d0a130a0361676712001a0022002a003200380042001a260a240a220a1a72626163\
                 2e6578616d706c652e636f6d2f6167677265676174651204747275651a002200",
                serde_json::from_str::<Value>(r#"{"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"agg"},"rules":null,"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"rbac.example.com/aggregate":"true"}}]}}"#).unwrap(),
            ),
            // kubectl create ingress ing -n shop --class=nginx --rule=foo.com/bar*=svc:8080,tls=sec --default-backend=def:http
            (
                "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e677265737312780a170a\
                 03696e6712001a0473686f7022002a0032003800420012590a11220f0a0364656612080a046874747010\
                 00120e0a07666f6f2e636f6d12037365631a2d0a07666f6f2e636f6d12220a200a1e0a042f626172120e\
                 220c0a0373766312050a0010903f1a0650726566697822056e67696e781a020a001a002200",
                serde_json::from_str::<Value>(r#"{"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"ing","namespace":"shop"},"spec":{"ingressClassName":"nginx","defaultBackend":{"service":{"name":"def","port":{"name":"http"}}},"tls":[{"hosts":["foo.com"],"secretName":"sec"}],"rules":[{"host":"foo.com","http":{"paths":[{"path":"/bar","pathType":"Prefix","backend":{"service":{"name":"svc","port":{"number":8080}}}}]}}]},"status":{"loadBalancer":{}}}"#).unwrap(),
            ),
            // kubectl create pdb pdb -n shop --selector=app=web --min-available=50%
            (
                "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e42756467657412400a17\
                 0a0370646212001a0473686f7022002a0032003800420012190a09080110001a03353025120c0a0a0a03\
                 61707012037765621a0a080018002000280030001a002200",
                serde_json::from_str::<Value>(r#"{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb","namespace":"shop"},"spec":{"minAvailable":"50%","selector":{"matchLabels":{"app":"web"}}},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}}"#).unwrap(),
            ),
            // kubectl create quota q -n shop --hard=cpu=1,memory=1Gi,pods=10 --scopes=NotTerminating
            (
                "6b3873000a130a027631120d5265736f7572636551756f746112560a150a017112001a0473686f702200\
                 2a00320038004200123b0a0a0a0363707512030a01310a0f0a066d656d6f727912050a033147690a0c0a\
                 04706f647312040a023130120e4e6f745465726d696e6174696e671a001a002200",
                serde_json::from_str::<Value>(r#"{"kind":"ResourceQuota","apiVersion":"v1","metadata":{"name":"q","namespace":"shop"},"spec":{"hard":{"cpu":"1","memory":"1Gi","pods":"10"},"scopes":["NotTerminating"]},"status":{}}"#).unwrap(),
            ),
            // kubectl create priorityclass high --value=1000 --global-default=false --description=important --preemption-policy=Never
            (
                "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479436c6173\
                 73122d0a140a046869676812001a0022002a0032003800420010e80718002209696d706f7274616e742a\
                 054e657665721a002200",
                serde_json::from_str::<Value>(r#"{"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"high"},"value":1000,"description":"important","preemptionPolicy":"Never"}"#).unwrap(),
            ),
            // kubectl create rolebinding rb -n shop --role=reader --user=alice --serviceaccount=shop:bot
            (
                "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f6c65\
                 42696e64696e67128e010a160a02726212001a0473686f7022002a00320038004200122a0a0455736572\
                 1219726261632e617574686f72697a6174696f6e2e6b38732e696f1a05616c6963652200121d0a0e5365\
                 72766963654163636f756e7412001a03626f74220473686f701a290a19726261632e617574686f72697a\
                 6174696f6e2e6b38732e696f1204526f6c651a067265616465721a002200",
                serde_json::from_str::<Value>(r#"{"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"rb","namespace":"shop"},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"alice"},{"kind":"ServiceAccount","name":"bot","namespace":"shop"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"}}"#).unwrap(),
            ),
            // kubectl create secret generic creds -n shop --from-literal=password=s3cr3t --type=Opaque
            (
                "6b3873000a0c0a027631120653656372657412370a190a05637265647312001a0473686f7022002a0032\
                 003800420012120a0870617373776f726412067333637233741a064f70617175651a002200",
                serde_json::from_str::<Value>(r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"creds","namespace":"shop"},"data":{"password":"czNjcjN0"},"type":"Opaque"}"#).unwrap(),
            ),
        ];
        for (hex, expected) in cases {
            let hex: String = hex.split_whitespace().collect();
            assert_eq!(decode(&unhex(&hex)).unwrap(), expected);
        }
    }

    #[test]
    fn schema_table_parses_and_is_closed() {
        let (schema, problems) = parse_schema(SCHEMA_TABLE);
        assert!(problems.is_empty(), "unreadable lines: {problems:?}");
        assert!(schema.messages.len() > 1000);
        for message in schema.messages.values() {
            for field in &message.fields {
                if let Type::Message(name) = field.ty {
                    assert!(schema.message(name).is_some(), "{} → {name}", message.name);
                }
            }
        }
        for api_version in ["v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1"] {
            assert!(schema.packages.contains_key(api_version), "{api_version}");
        }
    }

    #[test]
    fn namespace_as_kubectl_sends_it() {
        let namespace = core::Namespace {
            metadata: go_meta("demo", ""),
            spec: Some(core::NamespaceSpec { finalizers: vec![] }),
            status: Some(core::NamespaceStatus {
                phase: s(""),
                conditions: vec![],
            }),
        };
        let decoded = decode(&body("v1", "Namespace", &namespace)).unwrap();
        assert_eq!(
            decoded,
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "demo"},
                "spec": {},
                "status": {}
            })
        );
        let keys: Vec<&str> = decoded
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec", "status"]);
    }

    #[test]
    fn config_map_with_data_and_binary_data() {
        let config_map = core::ConfigMap {
            metadata: go_meta("settings", "shop"),
            immutable: Some(false),
            data: labels(&[("level", "debug"), ("empty", "")]),
            binary_data: [("blob".to_string(), vec![0u8, 1, 2, 0xff])].into(),
        };
        assert_eq!(
            decode(&body("v1", "ConfigMap", &config_map)).unwrap(),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "shop"},
                "immutable": false,
                "data": {"level": "debug", "empty": ""},
                "binaryData": {"blob": "AAEC/w=="}
            })
        );
    }

    #[test]
    fn secret_bytes_are_base64() {
        let secret = core::Secret {
            metadata: go_meta("creds", "shop"),
            immutable: None,
            data: [
                ("password".to_string(), b"s3cr3t".to_vec()),
                ("empty".to_string(), vec![]),
            ]
            .into(),
            string_data: BTreeMap::new(),
            r#type: s("Opaque"),
        };
        assert_eq!(
            decode(&body("v1", "Secret", &secret)).unwrap(),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "creds", "namespace": "shop"},
                "data": {"password": "czNjcjN0", "empty": ""},
                "type": "Opaque"
            })
        );
    }

    #[test]
    fn deployment_with_pod_template() {
        let decoded = decode(&body("apps/v1", "Deployment", &deployment())).unwrap();
        let expected = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "labels": {"app": "web"}
            },
            "spec": {
                "replicas": 0,
                "selector": {
                    "matchLabels": {"app": "web"},
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]}]
                },
                "template": pod_template_json("web"),
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            },
            "status": {}
        });
        assert_eq!(decoded, expected, "{decoded:#}");
    }

    #[test]
    fn service_with_int_and_string_target_ports() {
        let service = core::Service {
            metadata: go_meta("web", "shop"),
            spec: Some(core::ServiceSpec {
                ports: vec![
                    core::ServicePort {
                        name: s("http"),
                        protocol: s("TCP"),
                        app_protocol: None,
                        port: Some(80),
                        target_port: int(8080),
                        node_port: Some(0),
                    },
                    core::ServicePort {
                        name: s("metrics"),
                        protocol: s("TCP"),
                        app_protocol: None,
                        port: Some(9090),
                        target_port: string("metrics"),
                        node_port: Some(0),
                    },
                ],
                selector: labels(&[("app", "web")]),
                cluster_ip: s("10.96.0.10"),
                r#type: s("ClusterIP"),
                session_affinity: s(""),
                ip_families: vec!["IPv4".into()],
                ip_family_policy: s("SingleStack"),
                health_check_node_port: Some(0),
                publish_not_ready_addresses: Some(false),
                ..Default::default()
            }),
            status: Some(core::ServiceStatus {
                load_balancer: Some(core::LoadBalancerStatus { ingress: vec![] }),
                conditions: vec![],
            }),
        };
        assert_eq!(
            decode(&body("v1", "Service", &service)).unwrap(),
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {
                    "ports": [
                        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                        {"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": "metrics"}
                    ],
                    "selector": {"app": "web"},
                    "clusterIP": "10.96.0.10",
                    "type": "ClusterIP",
                    "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack"
                },
                "status": {"loadBalancer": {}}
            })
        );
    }

    #[test]
    fn job_with_counts_and_template() {
        let job = batch::Job {
            metadata: go_meta("migrate", "shop"),
            spec: Some(batch::JobSpec {
                parallelism: Some(2),
                completions: Some(4),
                backoff_limit: Some(0),
                suspend: Some(false),
                template: pod_template("migrate"),
                ..Default::default()
            }),
            status: Some(batch::JobStatus {
                active: Some(0),
                succeeded: Some(0),
                failed: Some(0),
                ..Default::default()
            }),
        };
        assert_eq!(
            decode(&body("batch/v1", "Job", &job)).unwrap(),
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "migrate", "namespace": "shop"},
                "spec": {
                    "parallelism": 2,
                    "completions": 4,
                    "backoffLimit": 0,
                    "template": pod_template_json("migrate"),
                    "suspend": false
                },
                "status": {}
            })
        );
    }

    #[test]
    fn object_meta_times_maps_and_owner_references() {
        let config_map = core::ConfigMap {
            metadata: Some(meta::ObjectMeta {
                name: s("owned"),
                uid: s("6f1c0c9e-0000-4000-8000-000000000001"),
                resource_version: s("42"),
                generation: Some(3),
                creation_timestamp: Some(meta::Time {
                    seconds: Some(1_714_979_289),
                    nanos: Some(123_000_000),
                }),
                deletion_grace_period_seconds: Some(0),
                labels: labels(&[("app", "web"), ("tier", "front")]),
                annotations: labels(&[("note", "kept"), ("blank", "")]),
                owner_references: vec![meta::OwnerReference {
                    api_version: s("apps/v1"),
                    kind: s("ReplicaSet"),
                    name: s("web-5d9f"),
                    uid: s("6f1c0c9e-0000-4000-8000-000000000002"),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }],
                finalizers: vec!["example.com/cleanup".into()],
                managed_fields: vec![meta::ManagedFieldsEntry {
                    manager: s("kubectl-create"),
                    operation: s("Update"),
                    api_version: s("v1"),
                    time: Some(meta::Time {
                        seconds: Some(1_714_979_289),
                        nanos: Some(0),
                    }),
                    fields_type: s("FieldsV1"),
                    fields_v1: Some(meta::FieldsV1 {
                        raw: Some(br#"{"f:data":{".":{}}}"#.to_vec()),
                    }),
                    subresource: s(""),
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            decode(&body("v1", "ConfigMap", &config_map)).unwrap()["metadata"],
            json!({
                "name": "owned",
                "uid": "6f1c0c9e-0000-4000-8000-000000000001",
                "resourceVersion": "42",
                "generation": 3,
                "creationTimestamp": "2024-05-06T07:08:09Z",
                "deletionGracePeriodSeconds": 0,
                "labels": {"app": "web", "tier": "front"},
                "annotations": {"note": "kept", "blank": ""},
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-5d9f",
                    "uid": "6f1c0c9e-0000-4000-8000-000000000002",
                    "controller": true,
                    "blockOwnerDeletion": true
                }],
                "finalizers": ["example.com/cleanup"],
                "managedFields": [{
                    "manager": "kubectl-create",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": "2024-05-06T07:08:09Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {".": {}}}
                }]
            })
        );
    }

    #[test]
    fn delete_options_under_meta_and_core() {
        let options = meta::DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: Some(meta::Preconditions {
                uid: s("6f1c0c9e-0000-4000-8000-000000000001"),
                resource_version: None,
            }),
            orphan_dependents: None,
            propagation_policy: s("Foreground"),
            dry_run: vec!["All".into()],
            ignore_store_read_error_with_cluster_breaking_potential: None,
        };
        for api_version in ["meta.k8s.io/v1", "v1", "apps/v1"] {
            assert_eq!(
                decode(&body(api_version, "DeleteOptions", &options)).unwrap(),
                json!({
                    "apiVersion": api_version,
                    "kind": "DeleteOptions",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": "6f1c0c9e-0000-4000-8000-000000000001"},
                    "propagationPolicy": "Foreground",
                    "dryRun": ["All"]
                })
            );
        }
    }

    #[test]
    fn micro_time_and_duration() {
        let lease = coordination::Lease {
            metadata: go_meta("leader", "kube-system"),
            spec: Some(coordination::LeaseSpec {
                holder_identity: s("node-a"),
                lease_duration_seconds: Some(15),
                renew_time: Some(meta::MicroTime {
                    seconds: Some(1_714_979_289),
                    nanos: Some(123_456_789),
                }),
                ..Default::default()
            }),
        };
        let decoded = decode(&body("coordination.k8s.io/v1", "Lease", &lease)).unwrap();
        assert_eq!(
            decoded["spec"],
            json!({
                "holderIdentity": "node-a",
                "leaseDurationSeconds": 15,
                "renewTime": "2024-05-06T07:08:09.123456Z"
            })
        );
        let cases = [
            (0, "0s"),
            (3_600_000_000_000, "1h0m0s"),
            (30_000_000_000, "30s"),
            (90_500_000_000, "1m30.5s"),
            (1_500_000, "1.5ms"),
            (2_000, "2µs"),
            (7, "7ns"),
            (-61_000_000_000, "-1m1s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(go_duration(nanos), text, "{nanos}");
        }
        assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
    }

    #[test]
    fn crd_schema_json_and_or_types() {
        let props = apiextensions::JsonSchemaProps {
            r#type: s("object"),
            properties: [(
                "size".to_string(),
                apiextensions::JsonSchemaProps {
                    r#type: s("integer"),
                    default: Some(apiextensions::Json {
                        raw: Some(b"3".to_vec()),
                    }),
                    ..Default::default()
                },
            )]
            .into(),
            additional_properties: Some(Box::new(apiextensions::JsonSchemaPropsOrBool {
                allows: Some(false),
                schema: None,
            })),
            x_kubernetes_preserve_unknown_fields: Some(true),
            ..Default::default()
        };
        let crd = apiextensions::CustomResourceDefinition {
            metadata: go_meta("widgets.example.com", ""),
            spec: Some(apiextensions::CustomResourceDefinitionSpec {
                group: s("example.com"),
                versions: vec![apiextensions::CustomResourceDefinitionVersion {
                    name: s("v1"),
                    served: Some(true),
                    storage: Some(true),
                    schema: Some(apiextensions::CustomResourceValidation {
                        open_apiv3_schema: Some(props),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: None,
        };
        let decoded = decode(&body(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            &crd,
        ))
        .unwrap();
        assert_eq!(
            decoded["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            json!({
                "type": "object",
                "properties": {"size": {"type": "integer", "default": 3}},
                "additionalProperties": false,
                "x-kubernetes-preserve-unknown-fields": true
            })
        );
    }

    #[test]
    fn errors_are_values_not_panics() {
        let good = body("v1", "Namespace", &core::Namespace::default());
        assert_eq!(decode(b"{}"), Err(ProtobufError::MissingMagic));
        assert_eq!(decode(&good[1..]), Err(ProtobufError::MissingMagic));
        assert!(matches!(
            decode(&good[..good.len() - 1]),
            Err(ProtobufError::Malformed { .. })
        ));
        assert!(matches!(
            decode(&body("v1", "Gadget", &core::Namespace::default())),
            Err(ProtobufError::UnknownKind { .. })
        ));
        assert!(matches!(
            decode(&body(
                "example.com/v1",
                "Namespace",
                &core::Namespace::default()
            )),
            Err(ProtobufError::UnknownKind { .. })
        ));
        assert_eq!(
            decode(&body("", "", &core::Namespace::default())),
            Err(ProtobufError::MissingTypeMeta)
        );
        let mut gzip = MAGIC.to_vec();
        gzip.extend(
            Unknown {
                type_meta: Some(TypeMeta {
                    api_version: s("v1"),
                    kind: s("Namespace"),
                }),
                raw: Some(vec![]),
                content_encoding: s("gzip"),
                content_type: None,
            }
            .encode_to_vec(),
        );
        assert!(matches!(
            decode(&gzip),
            Err(ProtobufError::UnsupportedContentEncoding(_))
        ));
        // ConfigMap field 1 (metadata) as a varint instead of a message.
        let mut wrong = MAGIC.to_vec();
        wrong.extend(
            Unknown {
                type_meta: Some(TypeMeta {
                    api_version: s("v1"),
                    kind: s("ConfigMap"),
                }),
                raw: Some(vec![0x08, 0x01]),
                content_encoding: None,
                content_type: None,
            }
            .encode_to_vec(),
        );
        assert!(matches!(
            decode(&wrong),
            Err(ProtobufError::InvalidField { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let mut props = apiextensions::JsonSchemaProps::default();
        for _ in 0..200 {
            props = apiextensions::JsonSchemaProps {
                not: Some(Box::new(props)),
                ..Default::default()
            };
        }
        let crd = apiextensions::CustomResourceDefinition {
            spec: Some(apiextensions::CustomResourceDefinitionSpec {
                versions: vec![apiextensions::CustomResourceDefinitionVersion {
                    schema: Some(apiextensions::CustomResourceValidation {
                        open_apiv3_schema: Some(props),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            decode(&body(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                &crd
            )),
            Err(ProtobufError::TooDeep)
        );
    }

    #[test]
    fn truncations_and_mutations_never_panic() {
        let good = body("apps/v1", "Deployment", &deployment());
        for len in 0..good.len() {
            let _ = decode(&good[..len]);
        }
        // A small deterministic xorshift drives byte mutations.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut mutated = good.clone();
            for _ in 0..=(next() % 4) {
                let at = 4 + (next() as usize) % (mutated.len() - 4);
                mutated[at] = next() as u8;
            }
            let _ = decode(&mutated);
        }
    }
}

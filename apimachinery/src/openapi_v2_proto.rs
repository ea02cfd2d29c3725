//! `/openapi/v2` as protobuf: the gnostic OpenAPI v2 messages and a swagger 2.0 JSON → bytes
//! encoder.
//!
//! kube-apiserver serves its swagger document also as
//! `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`: the messages of package
//! `openapi.v2` (`openapiv2/OpenAPIv2.proto` of github.com/google/gnostic-models), which
//! client-go's `OpenAPISchema()` decodes and kubectl's client-side validation walks
//! (kube-openapi's `proto.NewOpenAPIData` reads the definitions and their
//! `x-kubernetes-group-version-kind`). The messages below are written by hand with the field
//! numbers and types of that file; only the messages a Kubernetes swagger document uses are
//! here (no OAuth2 security, response headers or examples).
//!
//! [`encode_document`] converts as gnostic's `ParseDocument` does: `x-` keys become
//! [`NamedAny`]s and `default`, `example` and `enum` values [`Any`]s, each holding its value as
//! YAML text in [`Any::yaml`] (we write JSON, which is valid YAML). Keys gnostic does not know
//! (OpenAPI v3 ones such as `oneOf`, `anyOf`, `nullable`) are left out.
//!
//! Left out of the encoding (kubectl reads none of it): response `headers` and `examples`
//! (Warren's document has none), OAuth2 security definitions, and the `info` contact and
//! licence. `paths` carry their operations with tags, ids, media types, schemes,
//! parameters (body and non-body, or `$ref`), responses with their schema, and extensions.

use prost::Message;
use serde_json::{Map, Value};

/// `google.protobuf.Any`: a packed message and its type URL. Gnostic leaves it empty for
/// values read from JSON or YAML (it fills [`Any::yaml`] instead).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtobufAny {
    /// The type URL of the packed message.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The packed message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `AdditionalPropertiesItem`: a schema for the other properties, or whether they are allowed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AdditionalPropertiesItem {
    /// `schema` (1) or `boolean` (2).
    #[prost(oneof = "additional_properties_item::Oneof", tags = "1, 2")]
    pub oneof: Option<additional_properties_item::Oneof>,
}

/// The oneof of [`AdditionalPropertiesItem`].
pub mod additional_properties_item {
    /// `schema` or `boolean`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Oneof {
        /// The schema of every other property.
        #[prost(message, tag = "1")]
        Schema(Box<super::Schema>),
        /// Whether other properties are allowed.
        #[prost(bool, tag = "2")]
        Boolean(bool),
    }
}

/// `Any`: an arbitrary value, as YAML text.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    /// A packed protobuf message (unused for documents read from JSON).
    #[prost(message, optional, tag = "1")]
    pub value: Option<ProtobufAny>,
    /// The value as YAML.
    #[prost(string, tag = "2")]
    pub yaml: String,
}

/// `ApiKeySecurity`: a security definition of type `apiKey`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ApiKeySecurity {
    /// `apiKey`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// The header or query parameter name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// `header` or `query`.
    #[prost(string, tag = "3")]
    pub r#in: String,
    /// What the key is.
    #[prost(string, tag = "4")]
    pub description: String,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "5")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `BasicAuthenticationSecurity`: a security definition of type `basic`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BasicAuthenticationSecurity {
    /// `basic`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// What the credentials are.
    #[prost(string, tag = "2")]
    pub description: String,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "3")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `BodyParameter`: the request body of an operation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BodyParameter {
    /// What the body is.
    #[prost(string, tag = "1")]
    pub description: String,
    /// The parameter's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// `body`.
    #[prost(string, tag = "3")]
    pub r#in: String,
    /// Whether the body is required.
    #[prost(bool, tag = "4")]
    pub required: bool,
    /// The body's schema.
    #[prost(message, optional, tag = "5")]
    pub schema: Option<Schema>,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "6")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `Definitions`: the named schemas of the document.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Definitions {
    /// Every definition, in document order.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

/// `Document`: a swagger 2.0 document.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Document {
    /// `2.0`.
    #[prost(string, tag = "1")]
    pub swagger: String,
    /// Title and version.
    #[prost(message, optional, tag = "2")]
    pub info: Option<Info>,
    /// The host serving the API.
    #[prost(string, tag = "3")]
    pub host: String,
    /// The path the API is served under.
    #[prost(string, tag = "4")]
    pub base_path: String,
    /// Transfer protocols.
    #[prost(string, repeated, tag = "5")]
    pub schemes: Vec<String>,
    /// Media types the API accepts.
    #[prost(string, repeated, tag = "6")]
    pub consumes: Vec<String>,
    /// Media types the API produces.
    #[prost(string, repeated, tag = "7")]
    pub produces: Vec<String>,
    /// The paths and their operations.
    #[prost(message, optional, tag = "8")]
    pub paths: Option<Paths>,
    /// The named schemas.
    #[prost(message, optional, tag = "9")]
    pub definitions: Option<Definitions>,
    /// Shared parameters.
    #[prost(message, optional, tag = "10")]
    pub parameters: Option<ParameterDefinitions>,
    /// Shared responses.
    #[prost(message, optional, tag = "11")]
    pub responses: Option<ResponseDefinitions>,
    /// Security requirements of every operation.
    #[prost(message, repeated, tag = "12")]
    pub security: Vec<SecurityRequirement>,
    /// Security schemes.
    #[prost(message, optional, tag = "13")]
    pub security_definitions: Option<SecurityDefinitions>,
    /// Tags.
    #[prost(message, repeated, tag = "14")]
    pub tags: Vec<Tag>,
    /// External documentation.
    #[prost(message, optional, tag = "15")]
    pub external_docs: Option<ExternalDocs>,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "16")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `ExternalDocs`: a link to more documentation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExternalDocs {
    /// What the link is.
    #[prost(string, tag = "1")]
    pub description: String,
    /// The link.
    #[prost(string, tag = "2")]
    pub url: String,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "3")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `FileSchema`: the schema of a `file` response.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileSchema {
    /// `format`.
    #[prost(string, tag = "1")]
    pub format: String,
    /// `title`.
    #[prost(string, tag = "2")]
    pub title: String,
    /// `description`.
    #[prost(string, tag = "3")]
    pub description: String,
    /// `default`.
    #[prost(message, optional, tag = "4")]
    pub default: Option<Any>,
    /// `required`.
    #[prost(string, repeated, tag = "5")]
    pub required: Vec<String>,
    /// `file`.
    #[prost(string, tag = "6")]
    pub r#type: String,
    /// `readOnly`.
    #[prost(bool, tag = "7")]
    pub read_only: bool,
    /// `externalDocs`.
    #[prost(message, optional, tag = "8")]
    pub external_docs: Option<ExternalDocs>,
    /// `example`.
    #[prost(message, optional, tag = "9")]
    pub example: Option<Any>,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "10")]
    pub vendor_extension: Vec<NamedAny>,
}

/// A `formData` parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FormDataParameterSubSchema {
    /// Whether the parameter is required.
    #[prost(bool, tag = "1")]
    pub required: bool,
    /// `query`, `header`, `path` or `formData`.
    #[prost(string, tag = "2")]
    pub r#in: String,
    /// What the parameter is.
    #[prost(string, tag = "3")]
    pub description: String,
    /// The parameter's name.
    #[prost(string, tag = "4")]
    pub name: String,
    /// Whether the parameter may be sent without a value.
    #[prost(bool, tag = "5")]
    pub allow_empty_value: bool,
    /// `type`.
    #[prost(string, tag = "6")]
    pub r#type: String,
    /// `format`.
    #[prost(string, tag = "7")]
    pub format: String,
    /// `items`.
    #[prost(message, optional, tag = "8")]
    pub items: Option<PrimitivesItems>,
    /// `collectionFormat`.
    #[prost(string, tag = "9")]
    pub collection_format: String,
    /// `default`.
    #[prost(message, optional, tag = "10")]
    pub default: Option<Any>,
    /// `maximum`.
    #[prost(double, tag = "11")]
    pub maximum: f64,
    /// `exclusiveMaximum`.
    #[prost(bool, tag = "12")]
    pub exclusive_maximum: bool,
    /// `minimum`.
    #[prost(double, tag = "13")]
    pub minimum: f64,
    /// `exclusiveMinimum`.
    #[prost(bool, tag = "14")]
    pub exclusive_minimum: bool,
    /// `maxLength`.
    #[prost(int64, tag = "15")]
    pub max_length: i64,
    /// `minLength`.
    #[prost(int64, tag = "16")]
    pub min_length: i64,
    /// `pattern`.
    #[prost(string, tag = "17")]
    pub pattern: String,
    /// `maxItems`.
    #[prost(int64, tag = "18")]
    pub max_items: i64,
    /// `minItems`.
    #[prost(int64, tag = "19")]
    pub min_items: i64,
    /// `uniqueItems`.
    #[prost(bool, tag = "20")]
    pub unique_items: bool,
    /// `enum`.
    #[prost(message, repeated, tag = "21")]
    pub r#enum: Vec<Any>,
    /// `multipleOf`.
    #[prost(double, tag = "22")]
    pub multiple_of: f64,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "23")]
    pub vendor_extension: Vec<NamedAny>,
}

/// A `header` parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeaderParameterSubSchema {
    /// Whether the parameter is required.
    #[prost(bool, tag = "1")]
    pub required: bool,
    /// `query`, `header`, `path` or `formData`.
    #[prost(string, tag = "2")]
    pub r#in: String,
    /// What the parameter is.
    #[prost(string, tag = "3")]
    pub description: String,
    /// The parameter's name.
    #[prost(string, tag = "4")]
    pub name: String,
    /// `type`.
    #[prost(string, tag = "5")]
    pub r#type: String,
    /// `format`.
    #[prost(string, tag = "6")]
    pub format: String,
    /// `items`.
    #[prost(message, optional, tag = "7")]
    pub items: Option<PrimitivesItems>,
    /// `collectionFormat`.
    #[prost(string, tag = "8")]
    pub collection_format: String,
    /// `default`.
    #[prost(message, optional, tag = "9")]
    pub default: Option<Any>,
    /// `maximum`.
    #[prost(double, tag = "10")]
    pub maximum: f64,
    /// `exclusiveMaximum`.
    #[prost(bool, tag = "11")]
    pub exclusive_maximum: bool,
    /// `minimum`.
    #[prost(double, tag = "12")]
    pub minimum: f64,
    /// `exclusiveMinimum`.
    #[prost(bool, tag = "13")]
    pub exclusive_minimum: bool,
    /// `maxLength`.
    #[prost(int64, tag = "14")]
    pub max_length: i64,
    /// `minLength`.
    #[prost(int64, tag = "15")]
    pub min_length: i64,
    /// `pattern`.
    #[prost(string, tag = "16")]
    pub pattern: String,
    /// `maxItems`.
    #[prost(int64, tag = "17")]
    pub max_items: i64,
    /// `minItems`.
    #[prost(int64, tag = "18")]
    pub min_items: i64,
    /// `uniqueItems`.
    #[prost(bool, tag = "19")]
    pub unique_items: bool,
    /// `enum`.
    #[prost(message, repeated, tag = "20")]
    pub r#enum: Vec<Any>,
    /// `multipleOf`.
    #[prost(double, tag = "21")]
    pub multiple_of: f64,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "22")]
    pub vendor_extension: Vec<NamedAny>,
}

/// A `path` parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PathParameterSubSchema {
    /// Whether the parameter is required.
    #[prost(bool, tag = "1")]
    pub required: bool,
    /// `query`, `header`, `path` or `formData`.
    #[prost(string, tag = "2")]
    pub r#in: String,
    /// What the parameter is.
    #[prost(string, tag = "3")]
    pub description: String,
    /// The parameter's name.
    #[prost(string, tag = "4")]
    pub name: String,
    /// `type`.
    #[prost(string, tag = "5")]
    pub r#type: String,
    /// `format`.
    #[prost(string, tag = "6")]
    pub format: String,
    /// `items`.
    #[prost(message, optional, tag = "7")]
    pub items: Option<PrimitivesItems>,
    /// `collectionFormat`.
    #[prost(string, tag = "8")]
    pub collection_format: String,
    /// `default`.
    #[prost(message, optional, tag = "9")]
    pub default: Option<Any>,
    /// `maximum`.
    #[prost(double, tag = "10")]
    pub maximum: f64,
    /// `exclusiveMaximum`.
    #[prost(bool, tag = "11")]
    pub exclusive_maximum: bool,
    /// `minimum`.
    #[prost(double, tag = "12")]
    pub minimum: f64,
    /// `exclusiveMinimum`.
    #[prost(bool, tag = "13")]
    pub exclusive_minimum: bool,
    /// `maxLength`.
    #[prost(int64, tag = "14")]
    pub max_length: i64,
    /// `minLength`.
    #[prost(int64, tag = "15")]
    pub min_length: i64,
    /// `pattern`.
    #[prost(string, tag = "16")]
    pub pattern: String,
    /// `maxItems`.
    #[prost(int64, tag = "17")]
    pub max_items: i64,
    /// `minItems`.
    #[prost(int64, tag = "18")]
    pub min_items: i64,
    /// `uniqueItems`.
    #[prost(bool, tag = "19")]
    pub unique_items: bool,
    /// `enum`.
    #[prost(message, repeated, tag = "20")]
    pub r#enum: Vec<Any>,
    /// `multipleOf`.
    #[prost(double, tag = "21")]
    pub multiple_of: f64,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "22")]
    pub vendor_extension: Vec<NamedAny>,
}

/// A `query` parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryParameterSubSchema {
    /// Whether the parameter is required.
    #[prost(bool, tag = "1")]
    pub required: bool,
    /// `query`, `header`, `path` or `formData`.
    #[prost(string, tag = "2")]
    pub r#in: String,
    /// What the parameter is.
    #[prost(string, tag = "3")]
    pub description: String,
    /// The parameter's name.
    #[prost(string, tag = "4")]
    pub name: String,
    /// Whether the parameter may be sent without a value.
    #[prost(bool, tag = "5")]
    pub allow_empty_value: bool,
    /// `type`.
    #[prost(string, tag = "6")]
    pub r#type: String,
    /// `format`.
    #[prost(string, tag = "7")]
    pub format: String,
    /// `items`.
    #[prost(message, optional, tag = "8")]
    pub items: Option<PrimitivesItems>,
    /// `collectionFormat`.
    #[prost(string, tag = "9")]
    pub collection_format: String,
    /// `default`.
    #[prost(message, optional, tag = "10")]
    pub default: Option<Any>,
    /// `maximum`.
    #[prost(double, tag = "11")]
    pub maximum: f64,
    /// `exclusiveMaximum`.
    #[prost(bool, tag = "12")]
    pub exclusive_maximum: bool,
    /// `minimum`.
    #[prost(double, tag = "13")]
    pub minimum: f64,
    /// `exclusiveMinimum`.
    #[prost(bool, tag = "14")]
    pub exclusive_minimum: bool,
    /// `maxLength`.
    #[prost(int64, tag = "15")]
    pub max_length: i64,
    /// `minLength`.
    #[prost(int64, tag = "16")]
    pub min_length: i64,
    /// `pattern`.
    #[prost(string, tag = "17")]
    pub pattern: String,
    /// `maxItems`.
    #[prost(int64, tag = "18")]
    pub max_items: i64,
    /// `minItems`.
    #[prost(int64, tag = "19")]
    pub min_items: i64,
    /// `uniqueItems`.
    #[prost(bool, tag = "20")]
    pub unique_items: bool,
    /// `enum`.
    #[prost(message, repeated, tag = "21")]
    pub r#enum: Vec<Any>,
    /// `multipleOf`.
    #[prost(double, tag = "22")]
    pub multiple_of: f64,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "23")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `PrimitivesItems`: the items of an array-typed non-body parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PrimitivesItems {
    /// `type`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// `format`.
    #[prost(string, tag = "2")]
    pub format: String,
    /// `items`.
    #[prost(message, optional, boxed, tag = "3")]
    pub items: Option<Box<PrimitivesItems>>,
    /// `collectionFormat`.
    #[prost(string, tag = "4")]
    pub collection_format: String,
    /// `default`.
    #[prost(message, optional, tag = "5")]
    pub default: Option<Any>,
    /// `maximum`.
    #[prost(double, tag = "6")]
    pub maximum: f64,
    /// `exclusiveMaximum`.
    #[prost(bool, tag = "7")]
    pub exclusive_maximum: bool,
    /// `minimum`.
    #[prost(double, tag = "8")]
    pub minimum: f64,
    /// `exclusiveMinimum`.
    #[prost(bool, tag = "9")]
    pub exclusive_minimum: bool,
    /// `maxLength`.
    #[prost(int64, tag = "10")]
    pub max_length: i64,
    /// `minLength`.
    #[prost(int64, tag = "11")]
    pub min_length: i64,
    /// `pattern`.
    #[prost(string, tag = "12")]
    pub pattern: String,
    /// `maxItems`.
    #[prost(int64, tag = "13")]
    pub max_items: i64,
    /// `minItems`.
    #[prost(int64, tag = "14")]
    pub min_items: i64,
    /// `uniqueItems`.
    #[prost(bool, tag = "15")]
    pub unique_items: bool,
    /// `enum`.
    #[prost(message, repeated, tag = "16")]
    pub r#enum: Vec<Any>,
    /// `multipleOf`.
    #[prost(double, tag = "17")]
    pub multiple_of: f64,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "18")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `Contact`: who owns the API.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Contact {
    /// The person or organisation.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Their URL.
    #[prost(string, tag = "2")]
    pub url: String,
    /// Their e-mail address.
    #[prost(string, tag = "3")]
    pub email: String,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "4")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `Info`: general information about the API.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Info {
    /// The API's title (`Kubernetes`).
    #[prost(string, tag = "1")]
    pub title: String,
    /// The API's version (`v1.37.0`).
    #[prost(string, tag = "2")]
    pub version: String,
    /// What the API is.
    #[prost(string, tag = "3")]
    pub description: String,
    /// The terms of service.
    #[prost(string, tag = "4")]
    pub terms_of_service: String,
    /// Who owns the API (not encoded).
    #[prost(message, optional, tag = "5")]
    pub contact: Option<Contact>,
    /// The API's licence (not encoded).
    #[prost(message, optional, tag = "6")]
    pub license: Option<License>,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "7")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `ItemsItem`: the schema (or schemas) of an array's items.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ItemsItem {
    /// One schema, or one per position.
    #[prost(message, repeated, tag = "1")]
    pub schema: Vec<Schema>,
}

/// `JsonReference`: a `$ref` to a shared parameter or response.
#[derive(Clone, PartialEq, prost::Message)]
pub struct JsonReference {
    /// `$ref`.
    #[prost(string, tag = "1")]
    pub _ref: String,
    /// `description`.
    #[prost(string, tag = "2")]
    pub description: String,
}

/// `License`: the API's licence.
#[derive(Clone, PartialEq, prost::Message)]
pub struct License {
    /// The licence's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its URL.
    #[prost(string, tag = "2")]
    pub url: String,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "3")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `NamedAny`: one `x-` extension (or other map entry of arbitrary value).
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedAny {
    /// The key (`x-kubernetes-group-version-kind`).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<Any>,
}

/// `NamedParameter`: one shared parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedParameter {
    /// The parameter's key.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The parameter.
    #[prost(message, optional, tag = "2")]
    pub value: Option<Parameter>,
}

/// `NamedPathItem`: one path and its operations.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedPathItem {
    /// The path (`/api/v1/namespaces/{namespace}/pods`).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its operations.
    #[prost(message, optional, tag = "2")]
    pub value: Option<PathItem>,
}

/// `NamedResponse`: one shared response.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedResponse {
    /// The response's key.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The response.
    #[prost(message, optional, tag = "2")]
    pub value: Option<Response>,
}

/// `NamedResponseValue`: the response to one status code.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedResponseValue {
    /// The status code (`200`) or `default`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The response.
    #[prost(message, optional, tag = "2")]
    pub value: Option<ResponseValue>,
}

/// `NamedSchema`: one named schema (a definition or a property).
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedSchema {
    /// The name (`io.k8s.api.apps.v1.Deployment`, `spec`).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The schema.
    #[prost(message, optional, tag = "2")]
    pub value: Option<Schema>,
}

/// `NamedSecurityDefinitionsItem`: one security scheme.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedSecurityDefinitionsItem {
    /// The scheme's name (`BearerToken`).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The scheme.
    #[prost(message, optional, tag = "2")]
    pub value: Option<SecurityDefinitionsItem>,
}

/// `NamedStringArray`: one security requirement's scopes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedStringArray {
    /// The security scheme's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The scopes.
    #[prost(message, optional, tag = "2")]
    pub value: Option<StringArray>,
}

/// `NonBodyParameter`: a header, form, query or path parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NonBodyParameter {
    /// The parameter, by where it is sent.
    #[prost(oneof = "non_body_parameter::Oneof", tags = "1, 2, 3, 4")]
    pub oneof: Option<non_body_parameter::Oneof>,
}

/// The oneof of [`NonBodyParameter`].
pub mod non_body_parameter {
    /// A parameter by where it is sent.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Oneof {
        /// `in: header`.
        #[prost(message, tag = "1")]
        HeaderParameterSubSchema(super::HeaderParameterSubSchema),
        /// `in: formData`.
        #[prost(message, tag = "2")]
        FormDataParameterSubSchema(super::FormDataParameterSubSchema),
        /// `in: query`.
        #[prost(message, tag = "3")]
        QueryParameterSubSchema(super::QueryParameterSubSchema),
        /// `in: path`.
        #[prost(message, tag = "4")]
        PathParameterSubSchema(super::PathParameterSubSchema),
    }
}

/// `Operation`: one HTTP method on one path.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Operation {
    /// Tags.
    #[prost(string, repeated, tag = "1")]
    pub tags: Vec<String>,
    /// A short summary.
    #[prost(string, tag = "2")]
    pub summary: String,
    /// What the operation does.
    #[prost(string, tag = "3")]
    pub description: String,
    /// External documentation.
    #[prost(message, optional, tag = "4")]
    pub external_docs: Option<ExternalDocs>,
    /// `operationId` (`listCoreV1NamespacedPod`).
    #[prost(string, tag = "5")]
    pub operation_id: String,
    /// Media types the operation produces.
    #[prost(string, repeated, tag = "6")]
    pub produces: Vec<String>,
    /// Media types the operation accepts.
    #[prost(string, repeated, tag = "7")]
    pub consumes: Vec<String>,
    /// The operation's parameters.
    #[prost(message, repeated, tag = "8")]
    pub parameters: Vec<ParametersItem>,
    /// The responses by status code.
    #[prost(message, optional, tag = "9")]
    pub responses: Option<Responses>,
    /// Transfer protocols.
    #[prost(string, repeated, tag = "10")]
    pub schemes: Vec<String>,
    /// Whether the operation is deprecated.
    #[prost(bool, tag = "11")]
    pub deprecated: bool,
    /// Security requirements.
    #[prost(message, repeated, tag = "12")]
    pub security: Vec<SecurityRequirement>,
    /// `x-` extensions (`x-kubernetes-action`, `x-kubernetes-group-version-kind`).
    #[prost(message, repeated, tag = "13")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `Parameter`: a body or non-body parameter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Parameter {
    /// Body or not.
    #[prost(oneof = "parameter::Oneof", tags = "1, 2")]
    pub oneof: Option<parameter::Oneof>,
}

/// The oneof of [`Parameter`].
pub mod parameter {
    /// Body or not.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Oneof {
        /// `in: body`.
        #[prost(message, tag = "1")]
        BodyParameter(super::BodyParameter),
        /// Any other `in`.
        #[prost(message, tag = "2")]
        NonBodyParameter(super::NonBodyParameter),
    }
}

/// `ParameterDefinitions`: the document's shared parameters.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ParameterDefinitions {
    /// Every shared parameter.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedParameter>,
}

/// `ParametersItem`: a parameter, or a `$ref` to a shared one.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ParametersItem {
    /// The parameter or the reference.
    #[prost(oneof = "parameters_item::Oneof", tags = "1, 2")]
    pub oneof: Option<parameters_item::Oneof>,
}

/// The oneof of [`ParametersItem`].
pub mod parameters_item {
    /// The parameter or the reference.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Oneof {
        /// An inline parameter.
        #[prost(message, tag = "1")]
        Parameter(Box<super::Parameter>),
        /// A `$ref` to a shared parameter.
        #[prost(message, tag = "2")]
        JsonReference(super::JsonReference),
    }
}

/// `PathItem`: the operations of one path.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PathItem {
    /// `$ref`.
    #[prost(string, tag = "1")]
    pub _ref: String,
    /// GET.
    #[prost(message, optional, tag = "2")]
    pub get: Option<Operation>,
    /// PUT.
    #[prost(message, optional, tag = "3")]
    pub put: Option<Operation>,
    /// POST.
    #[prost(message, optional, tag = "4")]
    pub post: Option<Operation>,
    /// DELETE.
    #[prost(message, optional, tag = "5")]
    pub delete: Option<Operation>,
    /// OPTIONS.
    #[prost(message, optional, tag = "6")]
    pub options: Option<Operation>,
    /// HEAD.
    #[prost(message, optional, tag = "7")]
    pub head: Option<Operation>,
    /// PATCH.
    #[prost(message, optional, tag = "8")]
    pub patch: Option<Operation>,
    /// Parameters of every operation on the path.
    #[prost(message, repeated, tag = "9")]
    pub parameters: Vec<ParametersItem>,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "10")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `Paths`: every path of the API.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Paths {
    /// `x-` extensions.
    #[prost(message, repeated, tag = "1")]
    pub vendor_extension: Vec<NamedAny>,
    /// The paths, in document order.
    #[prost(message, repeated, tag = "2")]
    pub path: Vec<NamedPathItem>,
}

/// `Properties`: an object schema's properties.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Properties {
    /// Every property, in document order.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

/// `Response`: one response of an operation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    /// What the response means (`OK`).
    #[prost(string, tag = "1")]
    pub description: String,
    /// The body's schema.
    #[prost(message, optional, tag = "2")]
    pub schema: Option<SchemaItem>,
    // `headers` (3) and `examples` (4) are not encoded: see the module comment.
    /// `x-` extensions.
    #[prost(message, repeated, tag = "5")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `ResponseDefinitions`: the document's shared responses.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseDefinitions {
    /// Every shared response.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedResponse>,
}

/// `ResponseValue`: a response, or a `$ref` to a shared one.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseValue {
    /// The response or the reference.
    #[prost(oneof = "response_value::Oneof", tags = "1, 2")]
    pub oneof: Option<response_value::Oneof>,
}

/// The oneof of [`ResponseValue`].
pub mod response_value {
    /// The response or the reference.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Oneof {
        /// An inline response.
        #[prost(message, tag = "1")]
        Response(Box<super::Response>),
        /// A `$ref` to a shared response.
        #[prost(message, tag = "2")]
        JsonReference(super::JsonReference),
    }
}

/// `Responses`: an operation's responses by status code.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Responses {
    /// The responses, in document order.
    #[prost(message, repeated, tag = "1")]
    pub response_code: Vec<NamedResponseValue>,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "2")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `Schema`: a JSON schema as swagger 2.0 has it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Schema {
    /// `$ref` (`#/definitions/NAME`).
    #[prost(string, tag = "1")]
    pub _ref: String,
    /// `format`.
    #[prost(string, tag = "2")]
    pub format: String,
    /// `title`.
    #[prost(string, tag = "3")]
    pub title: String,
    /// `description`.
    #[prost(string, tag = "4")]
    pub description: String,
    /// `default`.
    #[prost(message, optional, tag = "5")]
    pub default: Option<Any>,
    /// `multipleOf`.
    #[prost(double, tag = "6")]
    pub multiple_of: f64,
    /// `maximum`.
    #[prost(double, tag = "7")]
    pub maximum: f64,
    /// `exclusiveMaximum`.
    #[prost(bool, tag = "8")]
    pub exclusive_maximum: bool,
    /// `minimum`.
    #[prost(double, tag = "9")]
    pub minimum: f64,
    /// `exclusiveMinimum`.
    #[prost(bool, tag = "10")]
    pub exclusive_minimum: bool,
    /// `maxLength`.
    #[prost(int64, tag = "11")]
    pub max_length: i64,
    /// `minLength`.
    #[prost(int64, tag = "12")]
    pub min_length: i64,
    /// `pattern`.
    #[prost(string, tag = "13")]
    pub pattern: String,
    /// `maxItems`.
    #[prost(int64, tag = "14")]
    pub max_items: i64,
    /// `minItems`.
    #[prost(int64, tag = "15")]
    pub min_items: i64,
    /// `uniqueItems`.
    #[prost(bool, tag = "16")]
    pub unique_items: bool,
    /// `maxProperties`.
    #[prost(int64, tag = "17")]
    pub max_properties: i64,
    /// `minProperties`.
    #[prost(int64, tag = "18")]
    pub min_properties: i64,
    /// `required`.
    #[prost(string, repeated, tag = "19")]
    pub required: Vec<String>,
    /// `enum`.
    #[prost(message, repeated, tag = "20")]
    pub r#enum: Vec<Any>,
    /// `additionalProperties`.
    #[prost(message, optional, boxed, tag = "21")]
    pub additional_properties: Option<Box<AdditionalPropertiesItem>>,
    /// `type`.
    #[prost(message, optional, tag = "22")]
    pub r#type: Option<TypeItem>,
    /// `items`.
    #[prost(message, optional, tag = "23")]
    pub items: Option<ItemsItem>,
    /// `allOf`.
    #[prost(message, repeated, tag = "24")]
    pub all_of: Vec<Schema>,
    /// `properties` (present, possibly empty, whenever the JSON has the key: kube-openapi tells
    /// an object with properties from a map by it).
    #[prost(message, optional, tag = "25")]
    pub properties: Option<Properties>,
    /// `discriminator`.
    #[prost(string, tag = "26")]
    pub discriminator: String,
    /// `readOnly`.
    #[prost(bool, tag = "27")]
    pub read_only: bool,
    /// `xml`.
    #[prost(message, optional, tag = "28")]
    pub xml: Option<Xml>,
    /// `externalDocs`.
    #[prost(message, optional, tag = "29")]
    pub external_docs: Option<ExternalDocs>,
    /// `example`.
    #[prost(message, optional, tag = "30")]
    pub example: Option<Any>,
    /// `x-` extensions (`x-kubernetes-group-version-kind`, `x-kubernetes-patch-strategy`...).
    #[prost(message, repeated, tag = "31")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `SchemaItem`: a response's schema.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SchemaItem {
    /// A schema, or a file.
    #[prost(oneof = "schema_item::Oneof", tags = "1, 2")]
    pub oneof: Option<schema_item::Oneof>,
}

/// The oneof of [`SchemaItem`].
pub mod schema_item {
    /// A schema, or a file.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Oneof {
        /// A JSON schema.
        #[prost(message, tag = "1")]
        Schema(Box<super::Schema>),
        /// `type: file`.
        #[prost(message, tag = "2")]
        FileSchema(Box<super::FileSchema>),
    }
}

/// `SecurityDefinitions`: the document's security schemes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecurityDefinitions {
    /// Every scheme.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSecurityDefinitionsItem>,
}

/// `SecurityDefinitionsItem`: one security scheme.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecurityDefinitionsItem {
    /// The scheme by type; the OAuth2 ones (3 to 6) are not encoded.
    #[prost(oneof = "security_definitions_item::Oneof", tags = "1, 2")]
    pub oneof: Option<security_definitions_item::Oneof>,
}

/// The oneof of [`SecurityDefinitionsItem`].
pub mod security_definitions_item {
    /// The scheme by type.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Oneof {
        /// `type: basic`.
        #[prost(message, tag = "1")]
        BasicAuthenticationSecurity(super::BasicAuthenticationSecurity),
        /// `type: apiKey`.
        #[prost(message, tag = "2")]
        ApiKeySecurity(super::ApiKeySecurity),
    }
}

/// `SecurityRequirement`: security schemes an operation needs, with their scopes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecurityRequirement {
    /// Scheme name → scopes.
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedStringArray>,
}

/// `StringArray`: a list of strings.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringArray {
    /// The strings.
    #[prost(string, repeated, tag = "1")]
    pub value: Vec<String>,
}

/// `Tag`: a tag for grouping operations.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Tag {
    /// The tag.
    #[prost(string, tag = "1")]
    pub name: String,
    /// What it groups.
    #[prost(string, tag = "2")]
    pub description: String,
    /// External documentation.
    #[prost(message, optional, tag = "3")]
    pub external_docs: Option<ExternalDocs>,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "4")]
    pub vendor_extension: Vec<NamedAny>,
}

/// `TypeItem`: a schema's `type`, one name or several.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeItem {
    /// The type names (`object`, `string`...).
    #[prost(string, repeated, tag = "1")]
    pub value: Vec<String>,
}

/// `Xml`: how a schema is written as XML.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Xml {
    /// The element name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The namespace.
    #[prost(string, tag = "2")]
    pub namespace: String,
    /// The prefix.
    #[prost(string, tag = "3")]
    pub prefix: String,
    /// Whether the property is an attribute.
    #[prost(bool, tag = "4")]
    pub attribute: bool,
    /// Whether an array is wrapped.
    #[prost(bool, tag = "5")]
    pub wrapped: bool,
    /// `x-` extensions.
    #[prost(message, repeated, tag = "6")]
    pub vendor_extension: Vec<NamedAny>,
}

// ---------------------------------------------------------------------------------------------
// Swagger 2.0 JSON → messages.

/// A swagger 2.0 JSON document as gnostic protobuf bytes (what kube-apiserver serves for
/// `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).
pub fn encode_document(doc: &Value) -> Vec<u8> {
    to_document(doc).encode_to_vec()
}

/// Decodes what [`encode_document`] (or kube-apiserver) wrote.
pub fn decode_document(bytes: &[u8]) -> Result<Document, prost::DecodeError> {
    Document::decode(bytes)
}

/// A swagger 2.0 JSON document as a [`Document`] (see the module comment for what is left out).
pub fn to_document(doc: &Value) -> Document {
    let empty = Map::new();
    let map = doc.as_object().unwrap_or(&empty);
    Document {
        swagger: string(map, "swagger"),
        info: map.get("info").and_then(Value::as_object).map(info),
        host: string(map, "host"),
        base_path: string(map, "basePath"),
        schemes: strings(map, "schemes"),
        consumes: strings(map, "consumes"),
        produces: strings(map, "produces"),
        // Always present: gnostic requires `paths`.
        paths: Some(paths(
            map.get("paths")
                .and_then(Value::as_object)
                .unwrap_or(&empty),
        )),
        definitions: map
            .get("definitions")
            .and_then(Value::as_object)
            .map(|defs| Definitions {
                additional_properties: named_schemas(defs),
            }),
        parameters: map
            .get("parameters")
            .and_then(Value::as_object)
            .map(|params| ParameterDefinitions {
                additional_properties: params
                    .iter()
                    .filter_map(|(name, p)| {
                        Some(NamedParameter {
                            name: name.clone(),
                            value: Some(parameter(p.as_object()?)?),
                        })
                    })
                    .collect(),
            }),
        responses: map
            .get("responses")
            .and_then(Value::as_object)
            .map(|responses| ResponseDefinitions {
                additional_properties: responses
                    .iter()
                    .filter_map(|(name, r)| {
                        Some(NamedResponse {
                            name: name.clone(),
                            value: Some(response(r.as_object()?)),
                        })
                    })
                    .collect(),
            }),
        security: security(map),
        security_definitions: map
            .get("securityDefinitions")
            .and_then(Value::as_object)
            .map(security_definitions),
        tags: objects(map, "tags").map(tag).collect(),
        external_docs: external_docs(map),
        vendor_extension: vendor_extensions(map),
    }
}

/// The value of `default`, `example`, an `enum` entry or an extension: YAML text. JSON is
/// valid YAML, and what kube-openapi's `yaml.Unmarshal` reads back is the same value.
fn any(value: &Value) -> Any {
    Any {
        value: None,
        yaml: serde_json::to_string(value).unwrap_or_default(),
    }
}

fn optional_any(map: &Map<String, Value>, key: &str) -> Option<Any> {
    map.get(key).map(any)
}

fn vendor_extensions(map: &Map<String, Value>) -> Vec<NamedAny> {
    map.iter()
        .filter(|(key, _)| key.starts_with("x-"))
        .map(|(key, value)| NamedAny {
            name: key.clone(),
            value: Some(any(value)),
        })
        .collect()
}

fn string(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(map: &Map<String, Value>, key: &str) -> Vec<String> {
    match map.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn boolean(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn double(map: &Map<String, Value>, key: &str) -> f64 {
    map.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn integer(map: &Map<String, Value>, key: &str) -> i64 {
    map.get(key)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .unwrap_or(0)
}

fn objects<'a>(
    map: &'a Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a Map<String, Value>> {
    map.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn info(map: &Map<String, Value>) -> Info {
    Info {
        title: string(map, "title"),
        version: string(map, "version"),
        description: string(map, "description"),
        terms_of_service: string(map, "termsOfService"),
        contact: None,
        license: None,
        vendor_extension: vendor_extensions(map),
    }
}

fn external_docs(map: &Map<String, Value>) -> Option<ExternalDocs> {
    let docs = map.get("externalDocs")?.as_object()?;
    Some(ExternalDocs {
        description: string(docs, "description"),
        url: string(docs, "url"),
        vendor_extension: vendor_extensions(docs),
    })
}

fn tag(map: &Map<String, Value>) -> Tag {
    Tag {
        name: string(map, "name"),
        description: string(map, "description"),
        external_docs: external_docs(map),
        vendor_extension: vendor_extensions(map),
    }
}

fn named_schemas(map: &Map<String, Value>) -> Vec<NamedSchema> {
    map.iter()
        .map(|(name, value)| NamedSchema {
            name: name.clone(),
            value: Some(schema(value)),
        })
        .collect()
}

/// A schema, with every field gnostic's `Schema` has; other keys (OpenAPI v3's `oneOf`,
/// `anyOf`, `nullable`...) are dropped.
pub fn schema(value: &Value) -> Schema {
    value.as_object().map(schema_of).unwrap_or_default()
}

fn schema_of(map: &Map<String, Value>) -> Schema {
    let additional_properties = match map.get("additionalProperties") {
        Some(Value::Bool(allowed)) => Some(additional_properties_item::Oneof::Boolean(*allowed)),
        Some(other @ Value::Object(_)) => Some(additional_properties_item::Oneof::Schema(
            Box::new(schema(other)),
        )),
        _ => None,
    };
    let items = match map.get("items") {
        Some(Value::Array(items)) => Some(ItemsItem {
            schema: items.iter().map(schema).collect(),
        }),
        Some(item @ Value::Object(_)) => Some(ItemsItem {
            schema: vec![schema(item)],
        }),
        _ => None,
    };
    Schema {
        _ref: string(map, "$ref"),
        format: string(map, "format"),
        title: string(map, "title"),
        description: string(map, "description"),
        default: optional_any(map, "default"),
        multiple_of: double(map, "multipleOf"),
        maximum: double(map, "maximum"),
        exclusive_maximum: boolean(map, "exclusiveMaximum"),
        minimum: double(map, "minimum"),
        exclusive_minimum: boolean(map, "exclusiveMinimum"),
        max_length: integer(map, "maxLength"),
        min_length: integer(map, "minLength"),
        pattern: string(map, "pattern"),
        max_items: integer(map, "maxItems"),
        min_items: integer(map, "minItems"),
        unique_items: boolean(map, "uniqueItems"),
        max_properties: integer(map, "maxProperties"),
        min_properties: integer(map, "minProperties"),
        required: strings(map, "required"),
        r#enum: enum_values(map),
        additional_properties: additional_properties
            .map(|oneof| Box::new(AdditionalPropertiesItem { oneof: Some(oneof) })),
        r#type: map.contains_key("type").then(|| TypeItem {
            value: strings(map, "type"),
        }),
        items,
        all_of: map
            .get("allOf")
            .and_then(Value::as_array)
            .map(|all| all.iter().map(schema).collect())
            .unwrap_or_default(),
        properties: map
            .get("properties")
            .and_then(Value::as_object)
            .map(|properties| Properties {
                additional_properties: named_schemas(properties),
            }),
        discriminator: string(map, "discriminator"),
        read_only: boolean(map, "readOnly"),
        xml: map.get("xml").and_then(Value::as_object).map(|xml| Xml {
            name: string(xml, "name"),
            namespace: string(xml, "namespace"),
            prefix: string(xml, "prefix"),
            attribute: boolean(xml, "attribute"),
            wrapped: boolean(xml, "wrapped"),
            vendor_extension: vendor_extensions(xml),
        }),
        external_docs: external_docs(map),
        example: optional_any(map, "example"),
        vendor_extension: vendor_extensions(map),
    }
}

fn enum_values(map: &Map<String, Value>) -> Vec<Any> {
    map.get("enum")
        .and_then(Value::as_array)
        .map(|values| values.iter().map(any).collect())
        .unwrap_or_default()
}

fn primitives_items(map: &Map<String, Value>) -> PrimitivesItems {
    PrimitivesItems {
        r#type: string(map, "type"),
        format: string(map, "format"),
        items: map
            .get("items")
            .and_then(Value::as_object)
            .map(|items| Box::new(primitives_items(items))),
        collection_format: string(map, "collectionFormat"),
        default: optional_any(map, "default"),
        maximum: double(map, "maximum"),
        exclusive_maximum: boolean(map, "exclusiveMaximum"),
        minimum: double(map, "minimum"),
        exclusive_minimum: boolean(map, "exclusiveMinimum"),
        max_length: integer(map, "maxLength"),
        min_length: integer(map, "minLength"),
        pattern: string(map, "pattern"),
        max_items: integer(map, "maxItems"),
        min_items: integer(map, "minItems"),
        unique_items: boolean(map, "uniqueItems"),
        r#enum: enum_values(map),
        multiple_of: double(map, "multipleOf"),
        vendor_extension: vendor_extensions(map),
    }
}

fn paths(map: &Map<String, Value>) -> Paths {
    Paths {
        vendor_extension: vendor_extensions(map),
        path: map
            .iter()
            .filter(|(key, _)| !key.starts_with("x-"))
            .filter_map(|(key, item)| {
                Some(NamedPathItem {
                    name: key.clone(),
                    value: Some(path_item(item.as_object()?)),
                })
            })
            .collect(),
    }
}

fn path_item(map: &Map<String, Value>) -> PathItem {
    let operation = |method: &str| map.get(method).and_then(Value::as_object).map(operation);
    PathItem {
        _ref: string(map, "$ref"),
        get: operation("get"),
        put: operation("put"),
        post: operation("post"),
        delete: operation("delete"),
        options: operation("options"),
        head: operation("head"),
        patch: operation("patch"),
        parameters: parameters_items(map),
        vendor_extension: vendor_extensions(map),
    }
}

fn operation(map: &Map<String, Value>) -> Operation {
    Operation {
        tags: strings(map, "tags"),
        summary: string(map, "summary"),
        description: string(map, "description"),
        external_docs: external_docs(map),
        operation_id: string(map, "operationId"),
        produces: strings(map, "produces"),
        consumes: strings(map, "consumes"),
        parameters: parameters_items(map),
        responses: map
            .get("responses")
            .and_then(Value::as_object)
            .map(responses),
        schemes: strings(map, "schemes"),
        deprecated: boolean(map, "deprecated"),
        security: security(map),
        vendor_extension: vendor_extensions(map),
    }
}

fn parameters_items(map: &Map<String, Value>) -> Vec<ParametersItem> {
    objects(map, "parameters")
        .filter_map(|p| {
            let oneof = if p.contains_key("$ref") {
                parameters_item::Oneof::JsonReference(JsonReference {
                    _ref: string(p, "$ref"),
                    description: string(p, "description"),
                })
            } else {
                parameters_item::Oneof::Parameter(Box::new(parameter(p)?))
            };
            Some(ParametersItem { oneof: Some(oneof) })
        })
        .collect()
}

/// An inline parameter by its `in`; `None` for an `in` swagger 2.0 does not have.
fn parameter(p: &Map<String, Value>) -> Option<Parameter> {
    use non_body_parameter::Oneof as NonBody;
    let non_body = match p.get("in").and_then(Value::as_str)? {
        "body" => {
            return Some(Parameter {
                oneof: Some(parameter::Oneof::BodyParameter(BodyParameter {
                    description: string(p, "description"),
                    name: string(p, "name"),
                    r#in: string(p, "in"),
                    required: boolean(p, "required"),
                    schema: p.get("schema").map(schema),
                    vendor_extension: vendor_extensions(p),
                })),
            });
        }
        "query" => NonBody::QueryParameterSubSchema(QueryParameterSubSchema {
            required: boolean(p, "required"),
            r#in: string(p, "in"),
            description: string(p, "description"),
            name: string(p, "name"),
            allow_empty_value: boolean(p, "allowEmptyValue"),
            r#type: string(p, "type"),
            format: string(p, "format"),
            items: p
                .get("items")
                .and_then(Value::as_object)
                .map(primitives_items),
            collection_format: string(p, "collectionFormat"),
            default: optional_any(p, "default"),
            maximum: double(p, "maximum"),
            exclusive_maximum: boolean(p, "exclusiveMaximum"),
            minimum: double(p, "minimum"),
            exclusive_minimum: boolean(p, "exclusiveMinimum"),
            max_length: integer(p, "maxLength"),
            min_length: integer(p, "minLength"),
            pattern: string(p, "pattern"),
            max_items: integer(p, "maxItems"),
            min_items: integer(p, "minItems"),
            unique_items: boolean(p, "uniqueItems"),
            r#enum: enum_values(p),
            multiple_of: double(p, "multipleOf"),
            vendor_extension: vendor_extensions(p),
        }),
        "formData" => NonBody::FormDataParameterSubSchema(FormDataParameterSubSchema {
            required: boolean(p, "required"),
            r#in: string(p, "in"),
            description: string(p, "description"),
            name: string(p, "name"),
            allow_empty_value: boolean(p, "allowEmptyValue"),
            r#type: string(p, "type"),
            format: string(p, "format"),
            items: p
                .get("items")
                .and_then(Value::as_object)
                .map(primitives_items),
            collection_format: string(p, "collectionFormat"),
            default: optional_any(p, "default"),
            maximum: double(p, "maximum"),
            exclusive_maximum: boolean(p, "exclusiveMaximum"),
            minimum: double(p, "minimum"),
            exclusive_minimum: boolean(p, "exclusiveMinimum"),
            max_length: integer(p, "maxLength"),
            min_length: integer(p, "minLength"),
            pattern: string(p, "pattern"),
            max_items: integer(p, "maxItems"),
            min_items: integer(p, "minItems"),
            unique_items: boolean(p, "uniqueItems"),
            r#enum: enum_values(p),
            multiple_of: double(p, "multipleOf"),
            vendor_extension: vendor_extensions(p),
        }),
        "header" => NonBody::HeaderParameterSubSchema(HeaderParameterSubSchema {
            required: boolean(p, "required"),
            r#in: string(p, "in"),
            description: string(p, "description"),
            name: string(p, "name"),
            r#type: string(p, "type"),
            format: string(p, "format"),
            items: p
                .get("items")
                .and_then(Value::as_object)
                .map(primitives_items),
            collection_format: string(p, "collectionFormat"),
            default: optional_any(p, "default"),
            maximum: double(p, "maximum"),
            exclusive_maximum: boolean(p, "exclusiveMaximum"),
            minimum: double(p, "minimum"),
            exclusive_minimum: boolean(p, "exclusiveMinimum"),
            max_length: integer(p, "maxLength"),
            min_length: integer(p, "minLength"),
            pattern: string(p, "pattern"),
            max_items: integer(p, "maxItems"),
            min_items: integer(p, "minItems"),
            unique_items: boolean(p, "uniqueItems"),
            r#enum: enum_values(p),
            multiple_of: double(p, "multipleOf"),
            vendor_extension: vendor_extensions(p),
        }),
        "path" => NonBody::PathParameterSubSchema(PathParameterSubSchema {
            required: boolean(p, "required"),
            r#in: string(p, "in"),
            description: string(p, "description"),
            name: string(p, "name"),
            r#type: string(p, "type"),
            format: string(p, "format"),
            items: p
                .get("items")
                .and_then(Value::as_object)
                .map(primitives_items),
            collection_format: string(p, "collectionFormat"),
            default: optional_any(p, "default"),
            maximum: double(p, "maximum"),
            exclusive_maximum: boolean(p, "exclusiveMaximum"),
            minimum: double(p, "minimum"),
            exclusive_minimum: boolean(p, "exclusiveMinimum"),
            max_length: integer(p, "maxLength"),
            min_length: integer(p, "minLength"),
            pattern: string(p, "pattern"),
            max_items: integer(p, "maxItems"),
            min_items: integer(p, "minItems"),
            unique_items: boolean(p, "uniqueItems"),
            r#enum: enum_values(p),
            multiple_of: double(p, "multipleOf"),
            vendor_extension: vendor_extensions(p),
        }),
        _ => return None,
    };
    Some(Parameter {
        oneof: Some(parameter::Oneof::NonBodyParameter(NonBodyParameter {
            oneof: Some(non_body),
        })),
    })
}

fn responses(map: &Map<String, Value>) -> Responses {
    Responses {
        response_code: map
            .iter()
            .filter(|(key, _)| !key.starts_with("x-"))
            .filter_map(|(code, r)| {
                let r = r.as_object()?;
                let oneof = if r.contains_key("$ref") {
                    response_value::Oneof::JsonReference(JsonReference {
                        _ref: string(r, "$ref"),
                        description: string(r, "description"),
                    })
                } else {
                    response_value::Oneof::Response(Box::new(response(r)))
                };
                Some(NamedResponseValue {
                    name: code.clone(),
                    value: Some(ResponseValue { oneof: Some(oneof) }),
                })
            })
            .collect(),
        vendor_extension: vendor_extensions(map),
    }
}

fn response(map: &Map<String, Value>) -> Response {
    let body = map.get("schema").and_then(Value::as_object).map(|s| {
        let oneof = if s.get("type").and_then(Value::as_str) == Some("file") {
            schema_item::Oneof::FileSchema(Box::new(FileSchema {
                format: string(s, "format"),
                title: string(s, "title"),
                description: string(s, "description"),
                default: optional_any(s, "default"),
                required: strings(s, "required"),
                r#type: string(s, "type"),
                read_only: boolean(s, "readOnly"),
                external_docs: external_docs(s),
                example: optional_any(s, "example"),
                vendor_extension: vendor_extensions(s),
            }))
        } else {
            schema_item::Oneof::Schema(Box::new(schema_of(s)))
        };
        SchemaItem { oneof: Some(oneof) }
    });
    Response {
        description: string(map, "description"),
        schema: body,
        vendor_extension: vendor_extensions(map),
    }
}

fn security(map: &Map<String, Value>) -> Vec<SecurityRequirement> {
    objects(map, "security")
        .map(|requirement| SecurityRequirement {
            additional_properties: requirement
                .keys()
                .map(|name| NamedStringArray {
                    name: name.clone(),
                    value: Some(StringArray {
                        value: strings(requirement, name),
                    }),
                })
                .collect(),
        })
        .collect()
}

fn security_definitions(map: &Map<String, Value>) -> SecurityDefinitions {
    use security_definitions_item::Oneof;
    SecurityDefinitions {
        additional_properties: map
            .iter()
            .filter_map(|(name, d)| {
                let d = d.as_object()?;
                let oneof = match d.get("type").and_then(Value::as_str)? {
                    "basic" => Oneof::BasicAuthenticationSecurity(BasicAuthenticationSecurity {
                        r#type: string(d, "type"),
                        description: string(d, "description"),
                        vendor_extension: vendor_extensions(d),
                    }),
                    "apiKey" => Oneof::ApiKeySecurity(ApiKeySecurity {
                        r#type: string(d, "type"),
                        name: string(d, "name"),
                        r#in: string(d, "in"),
                        description: string(d, "description"),
                        vendor_extension: vendor_extensions(d),
                    }),
                    _ => return None,
                };
                Some(NamedSecurityDefinitionsItem {
                    name: name.clone(),
                    value: Some(SecurityDefinitionsItem { oneof: Some(oneof) }),
                })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(doc: &Value) -> Document {
        decode_document(&encode_document(doc)).expect("decodes")
    }

    fn definition<'a>(doc: &'a Document, name: &str) -> &'a Schema {
        doc.definitions
            .as_ref()
            .expect("definitions")
            .additional_properties
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.value.as_ref())
            .unwrap_or_else(|| panic!("no definition {name}"))
    }

    fn property<'a>(schema: &'a Schema, name: &str) -> &'a Schema {
        schema
            .properties
            .as_ref()
            .expect("properties")
            .additional_properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.as_ref())
            .unwrap_or_else(|| panic!("no property {name}"))
    }

    fn types(schema: &Schema) -> Vec<&str> {
        schema
            .r#type
            .as_ref()
            .map(|t| t.value.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn yaml(any: Option<&Any>) -> Value {
        serde_json::from_str(&any.expect("value").yaml).expect("JSON text")
    }

    #[test]
    fn small_document_round_trips() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.37.0"},
            "paths": {
                "/apis/apps/v1/namespaces/{namespace}/deployments": {
                    "get": {
                        "operationId": "listAppsV1NamespacedDeployment",
                        "produces": ["application/json"],
                        "parameters": [
                            {"name": "limit", "in": "query", "type": "integer", "uniqueItems": true},
                            {"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/D"}},
                        ],
                        "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/D"}}},
                        "x-kubernetes-action": "list",
                    },
                    "parameters": [{"name": "namespace", "in": "path", "required": true, "type": "string"}],
                },
            },
            "definitions": {
                "io.k8s.api.apps.v1.Deployment": {
                    "description": "Deployment enables declarative updates.",
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.DeploymentSpec", "description": "Spec."},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "open": {"type": "object", "additionalProperties": true},
                        "containers": {
                            "type": "array",
                            "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container"},
                            "x-kubernetes-patch-merge-key": "name",
                            "x-kubernetes-patch-strategy": "merge",
                        },
                        "replicas": {"type": "integer", "format": "int32", "default": 1, "minimum": 0, "maxLength": 5},
                        "policy": {"type": "string", "enum": ["Always", "Never"]},
                    },
                    "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
                },
                "io.k8s.api.apps.v1.DeploymentSpec": {"type": "object", "properties": {}},
                "io.k8s.apimachinery.pkg.runtime.RawExtension": {"type": "object"},
                "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool": {
                    "oneOf": [{"type": "boolean"}],
                },
            },
        });
        let decoded = decode(&doc);
        assert_eq!(decoded.swagger, "2.0");
        let info = decoded.info.as_ref().expect("info");
        assert_eq!(
            (info.title.as_str(), info.version.as_str()),
            ("Kubernetes", "v1.37.0")
        );
        let names: Vec<&str> = decoded
            .definitions
            .as_ref()
            .expect("definitions")
            .additional_properties
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "io.k8s.api.apps.v1.Deployment",
                "io.k8s.api.apps.v1.DeploymentSpec",
                "io.k8s.apimachinery.pkg.runtime.RawExtension",
                "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
            ]
        );

        let deployment = definition(&decoded, "io.k8s.api.apps.v1.Deployment");
        assert_eq!(
            deployment.description,
            "Deployment enables declarative updates."
        );
        assert_eq!(types(deployment), ["object"]);
        assert_eq!(deployment.required, ["spec"]);
        let gvk = &deployment.vendor_extension[0];
        assert_eq!(gvk.name, "x-kubernetes-group-version-kind");
        assert_eq!(
            yaml(gvk.value.as_ref()),
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );

        let spec = property(deployment, "spec");
        assert_eq!(spec._ref, "#/definitions/io.k8s.api.apps.v1.DeploymentSpec");
        assert_eq!(spec.description, "Spec.");
        assert!(spec.r#type.is_none(), "a $ref has no type");

        let labels = property(deployment, "labels");
        match labels
            .additional_properties
            .as_deref()
            .and_then(|a| a.oneof.as_ref())
        {
            Some(additional_properties_item::Oneof::Schema(s)) => assert_eq!(types(s), ["string"]),
            other => panic!("labels: {other:?}"),
        }
        assert!(labels.properties.is_none(), "a map has no properties");
        assert_eq!(
            property(deployment, "open")
                .additional_properties
                .as_deref()
                .and_then(|a| a.oneof.clone()),
            Some(additional_properties_item::Oneof::Boolean(true))
        );

        let containers = property(deployment, "containers");
        assert_eq!(types(containers), ["array"]);
        let items = &containers.items.as_ref().expect("items").schema;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]._ref, "#/definitions/io.k8s.api.core.v1.Container");
        let extensions: Vec<(&str, Value)> = containers
            .vendor_extension
            .iter()
            .map(|e| (e.name.as_str(), yaml(e.value.as_ref())))
            .collect();
        assert_eq!(
            extensions,
            [
                ("x-kubernetes-patch-merge-key", json!("name")),
                ("x-kubernetes-patch-strategy", json!("merge")),
            ]
        );

        let replicas = property(deployment, "replicas");
        assert_eq!(replicas.format, "int32");
        assert_eq!(yaml(replicas.default.as_ref()), json!(1));
        assert_eq!(replicas.max_length, 5);
        let policy = property(deployment, "policy");
        let values: Vec<Value> = policy.r#enum.iter().map(|a| yaml(Some(a))).collect();
        assert_eq!(values, [json!("Always"), json!("Never")]);

        // An empty `properties` is still there: kube-openapi reads it as an object kind.
        let deployment_spec = definition(&decoded, "io.k8s.api.apps.v1.DeploymentSpec");
        assert_eq!(
            deployment_spec.properties,
            Some(Properties {
                additional_properties: vec![]
            })
        );
        assert!(
            definition(&decoded, "io.k8s.apimachinery.pkg.runtime.RawExtension")
                .properties
                .is_none()
        );
        // OpenAPI v3's oneOf has no place in v2: an untyped schema remains.
        let or_bool = definition(
            &decoded,
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
        );
        assert_eq!(or_bool, &Schema::default());

        // Paths: operations with their parameters, responses and extensions.
        let paths = decoded.paths.as_ref().expect("paths");
        assert_eq!(paths.path.len(), 1);
        let item = paths.path[0].value.as_ref().expect("path item");
        let list = item.get.as_ref().expect("get");
        assert_eq!(list.operation_id, "listAppsV1NamespacedDeployment");
        assert_eq!(list.vendor_extension[0].name, "x-kubernetes-action");
        let query = non_body(&list.parameters[0]);
        assert!(matches!(
            query,
            non_body_parameter::Oneof::QueryParameterSubSchema(q)
                if q.name == "limit" && q.r#type == "integer" && q.unique_items
        ));
        let body = match inline(&list.parameters[1]).oneof.as_ref() {
            Some(parameter::Oneof::BodyParameter(b)) => b,
            other => panic!("body: {other:?}"),
        };
        assert_eq!(
            body.schema.as_ref().expect("schema")._ref,
            "#/definitions/D"
        );
        let ok = &list.responses.as_ref().expect("responses").response_code[0];
        assert_eq!(ok.name, "200");
        let response = match ok.value.as_ref().and_then(|v| v.oneof.as_ref()) {
            Some(response_value::Oneof::Response(r)) => r,
            other => panic!("200: {other:?}"),
        };
        assert_eq!(response.description, "OK");
        assert!(matches!(
            response.schema.as_ref().and_then(|s| s.oneof.as_ref()),
            Some(schema_item::Oneof::Schema(s)) if s._ref == "#/definitions/D"
        ));
        assert!(matches!(
            non_body(&item.parameters[0]),
            non_body_parameter::Oneof::PathParameterSubSchema(p)
                if p.name == "namespace" && p.required
        ));
    }

    fn inline(item: &ParametersItem) -> &Parameter {
        match item.oneof.as_ref() {
            Some(parameters_item::Oneof::Parameter(p)) => p,
            other => panic!("not an inline parameter: {other:?}"),
        }
    }

    fn non_body(item: &ParametersItem) -> &non_body_parameter::Oneof {
        match inline(item).oneof.as_ref() {
            Some(parameter::Oneof::NonBodyParameter(NonBodyParameter { oneof: Some(p) })) => p,
            other => panic!("not a non-body parameter: {other:?}"),
        }
    }

    #[test]
    fn builtin_definitions_encode_and_decode() {
        let definitions = crate::openapi::builtin_definitions();
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.37.0"},
            "paths": {},
            "definitions": definitions,
        });
        let decoded = decode(&doc);
        let decoded_definitions = &decoded.definitions.as_ref().expect("definitions");
        assert_eq!(
            decoded_definitions.additional_properties.len(),
            definitions.len()
        );
        let deployment = definition(&decoded, "io.k8s.api.apps.v1.Deployment");
        let gvk = deployment
            .vendor_extension
            .iter()
            .find(|e| e.name == "x-kubernetes-group-version-kind")
            .expect("gvk");
        assert_eq!(
            yaml(gvk.value.as_ref()),
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        let containers = property(
            definition(&decoded, "io.k8s.api.core.v1.PodSpec"),
            "containers",
        );
        assert_eq!(
            containers.items.as_ref().expect("items").schema[0]._ref,
            "#/definitions/io.k8s.api.core.v1.Container"
        );
    }
}

//! The spec as users write it: `spec: v5c/1`.
//!
//! These types are the single source of `ir-schema/spec.schema.json`: doc comments become
//! descriptions, `deny_unknown_fields` everywhere. Values that hold a small language (field
//! types, flows, durations, sizes, rates, SLOs) are kept as text here and parsed while
//! lowering to the IR, where their spans let errors point inside the text.

use super::de::Spanned;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// Lower snake_case: fields, components, databases, ports, services.
pub const SNAKE_NAME: &str = r"^[a-z][a-z0-9_]{0,62}$";
/// PascalCase: entities.
pub const ENTITY_NAME: &str = r"^[A-Z][A-Za-z0-9]{0,62}$";
/// A URL path: `/`, or `/` followed by segments such as `/api/v1`.
pub const URL_PATH: &str = r"^/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?$";
/// A DNS label: the system and service names, which name containers and Kubernetes objects.
pub const DNS_NAME: &str = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$";

/// A v5c system spec: what the system is, what data it keeps, which components move that data,
/// how it is deployed and what it promises.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "v5c system spec")]
pub struct Spec {
    /// The version of this format. Always `v5c/1`.
    pub spec: SpecVersion,
    /// The system's name, description and version.
    pub system: SystemSpec,
    /// Databases by name. Stores put entities into them.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": SNAKE_NAME }))]
    pub databases: IndexMap<Spanned<String>, DatabaseSpec>,
    /// Entities by name (PascalCase): the records the system keeps and moves.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": ENTITY_NAME }))]
    pub entities: IndexMap<Spanned<String>, EntitySpec>,
    /// Components by name: sources, transformers, stores, sinks and APIs.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": SNAKE_NAME }))]
    pub components: IndexMap<Spanned<String>, ComponentSpec>,
    /// Flows of messages between component ports: `producer -> consumer`, chains
    /// `a -> b -> c`, or ports named `a.out -> b.in`.
    #[serde(default)]
    pub flows: Vec<FlowSpec>,
    /// Where and how the system runs. Defaults to one service holding every component,
    /// deployed with Docker Compose.
    #[serde(default)]
    pub deploy: DeploySpec,
    /// Monitoring and service-level objectives.
    #[serde(default)]
    pub observe: ObserveSpec,
    /// Template-folder backends to run on every build besides the built-in ones: folders
    /// holding a `backend.yaml`, relative to this file (see docs/backends.md).
    #[serde(default)]
    pub backends: Vec<Spanned<String>>,
}

/// The version of the spec format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum SpecVersion {
    /// Version 1.
    #[serde(rename = "v5c/1")]
    V1,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemSpec {
    /// The system's name: lower case letters, digits and dashes (it names containers and
    /// Kubernetes objects).
    #[schemars(regex(pattern = DNS_NAME))]
    pub name: Spanned<String>,
    /// What the system does, in a sentence or two.
    pub description: Option<String>,
    /// The system's version, as a text such as `0.1.0`. Defaults to `0.1.0`.
    pub version: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// The database engine. `mysql` covers MariaDB.
    pub engine: Engine,
    /// The connection pool each service holds to this database.
    pub pool: Option<PoolSpec>,
    /// The transaction isolation level. Defaults to the engine's own default:
    /// `read_committed` on PostgreSQL, `repeatable_read` on MySQL, `serializable` on SQLite.
    pub isolation: Option<Spanned<Isolation>>,
    /// The database is run elsewhere (a managed service): deployments connect to it and do
    /// not run it. Defaults to `false`.
    #[serde(default)]
    pub external: bool,
    /// What the database holds, for people.
    pub description: Option<String>,
}

/// A database engine.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    JsonSchema,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL 15 or later.
    Postgresql,
    /// MySQL 8 or MariaDB 10.11 or later.
    Mysql,
    /// SQLite 3.
    Sqlite,
}

/// How a source takes events in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ingest {
    /// An HTTP endpoint, `POST /ingest/NAME`.
    Http,
    /// The loop in the source's logic file.
    Logic,
}

/// A transaction isolation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Connections kept open when idle. Defaults to 1.
    #[schemars(range(max = 10_000))]
    pub min: Option<Spanned<u32>>,
    /// The most connections open at once. Defaults to 10 (1 on SQLite, which has one writer).
    #[schemars(range(min = 1, max = 10_000))]
    pub max: Option<Spanned<u32>>,
    /// How long a request waits for a free connection before failing, as a duration
    /// (`5s`). Defaults to `5s`.
    pub acquire_timeout: Option<Spanned<String>>,
    /// How long an unused connection stays open, as a duration (`10m`). Defaults to `10m`.
    pub idle_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitySpec {
    /// What the entity is, for people (and for table comments).
    pub description: Option<String>,
    /// The table name. Defaults to the entity name in snake_case, pluralised
    /// (`OrderLine` → `order_lines`).
    #[schemars(regex(pattern = SNAKE_NAME))]
    pub table: Option<Spanned<String>>,
    /// Fields by name (snake_case). A field is a type expression (`string(64)`) or a
    /// mapping with `type` and options.
    #[schemars(extend("propertyNames" = { "pattern": SNAKE_NAME }), length(min = 1))]
    pub fields: IndexMap<Spanned<String>, FieldDecl>,
    /// A primary key of several fields. For a single field, set `primary_key: true` on it.
    #[schemars(length(min = 1))]
    pub primary_key: Option<Vec<Spanned<String>>>,
    /// Indexes over one or more fields; `unique: true` makes a unique constraint.
    #[serde(default)]
    pub indexes: Vec<IndexSpec>,
}

/// A field: a type expression alone, or a mapping with `type` and options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename = "$v5c:by-shape")]
#[schemars(untagged, rename = "FieldDecl")]
pub enum FieldDecl {
    /// Just the type, such as `string(64)` or `ref(Customer)`.
    #[serde(rename = "text")]
    Type(Spanned<String>),
    /// The type and options.
    #[serde(rename = "mapping")]
    Full(Box<FieldSpec>),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // each flag is a key users write
pub struct FieldSpec {
    /// The type: `uuid`, `string`, `string(N)`, `text`, `int16`, `int32`, `int64`,
    /// `decimal(P,S)`, `float32`, `float64`, `bool`, `timestamp` (with time zone),
    /// `datetime` (without), `date`, `time`, `json`, `bytes`, `enum(a, b)`, `ref(Entity)`,
    /// `list<T>`.
    #[serde(rename = "type")]
    #[schemars(rename = "type")]
    pub ty: Spanned<String>,
    /// This field is the entity's primary key. Integer keys are generated by the database;
    /// uuid keys get a random default.
    #[serde(default)]
    pub primary_key: bool,
    /// The field may be empty (SQL NULL). Defaults to `false`.
    #[serde(default)]
    pub nullable: bool,
    /// No two rows may have the same value.
    #[serde(default)]
    pub unique: bool,
    /// Index this field for lookups.
    #[serde(default)]
    pub index: bool,
    /// The default value: a literal of the field's type, `now` for time fields, `random`
    /// for uuid fields.
    pub default: Option<Spanned<DefaultValue>>,
    /// For a reference: what happens to this row when the referenced row is deleted.
    /// Defaults to `restrict`.
    pub on_delete: Option<Spanned<RefAction>>,
    /// For a reference: what happens when the referenced key changes. Defaults to `cascade`.
    pub on_update: Option<Spanned<RefAction>>,
    /// The smallest allowed value, for numbers.
    pub min: Option<Spanned<f64>>,
    /// The largest allowed value, for numbers.
    pub max: Option<Spanned<f64>>,
    /// A format the text must have, for strings.
    pub format: Option<Spanned<StringFormat>>,
    /// The column name. Defaults to the field name.
    #[schemars(regex(pattern = SNAKE_NAME))]
    pub column: Option<Spanned<String>>,
    /// What the field means, for people (and for column comments).
    pub description: Option<String>,
}

/// A literal default value.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename = "$v5c:by-shape")]
#[schemars(untagged, rename = "DefaultValue")]
pub enum DefaultValue {
    #[serde(rename = "text")]
    Text(String),
    #[serde(rename = "integer")]
    Integer(i64),
    #[serde(rename = "number")]
    Number(f64),
    #[serde(rename = "boolean")]
    Boolean(bool),
}

/// What a reference does when the row it points at is deleted or re-keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefAction {
    /// Delete or update this row too.
    Cascade,
    /// Refuse the change while this row points at it.
    Restrict,
    /// Set this field to null (the field must be nullable).
    SetNull,
    /// Set this field to its default.
    SetDefault,
    /// Check only at the end of the statement.
    NoAction,
}

/// A format for text fields, checked by the generated service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StringFormat {
    Email,
    Url,
    Hostname,
    Ipv4,
    Ipv6,
    /// Lower-case words joined by dashes: `summer-sale-2026`.
    Slug,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    /// The fields, in index order.
    #[schemars(length(min = 1))]
    pub fields: Vec<Spanned<String>>,
    /// A unique index: no two rows may share these values.
    #[serde(default)]
    pub unique: bool,
    /// The index name. Defaults to a name made from the table and fields.
    #[schemars(regex(pattern = SNAKE_NAME))]
    pub name: Option<Spanned<String>>,
}

/// A component, by `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename = "$v5c:tagged-by-kind", deny_unknown_fields)]
#[schemars(tag = "kind", rename = "ComponentSpec")]
pub enum ComponentSpec {
    /// Brings messages into the system: by default an HTTP ingest endpoint.
    #[serde(rename = "source")]
    Source {
        /// What it emits: an entity name (one port, `out`), or port names mapped to entities.
        emits: Ports,
        /// The expected rate of messages, such as `5000/s`.
        rate: Option<Spanned<String>>,
        /// How events come in: `http` (the default), an endpoint `POST /ingest/NAME` taking
        /// one JSON event or an array of them; or `logic`, the loop the source's logic file
        /// runs (poll a URL, read a file, generate), with no endpoint.
        ingest: Option<Spanned<Ingest>>,
        /// What it does, for people.
        description: Option<String>,
    },
    /// Turns each message into zero, one or many messages.
    #[serde(rename = "transformer")]
    Transformer {
        /// What it consumes: an entity name (one port, `in`), or port names mapped to entities.
        consumes: Ports,
        /// What it emits: an entity name (one port, `out`), or port names mapped to entities.
        emits: Ports,
        /// A sink (or store) that receives each input the logic refuses or fails on, through
        /// an extra output port `dead_letter`: `SINK`, or `SINK.PORT` when it has several
        /// inputs. Without one, such inputs are counted, logged and dropped.
        dead_letter: Option<Spanned<String>>,
        /// What it does, for people.
        description: Option<String>,
    },
    /// Writes messages of one entity into a database table, in batches.
    #[serde(rename = "store")]
    Store {
        /// The database (a key of `databases`).
        database: Spanned<String>,
        /// The entity stored; also the type of its input port `in`.
        entity: Spanned<String>,
        /// How writes are batched.
        batch: Option<BatchSpec>,
        /// What it keeps, for people.
        description: Option<String>,
    },
    /// Consumes messages and sends them out of the system: a log, a webhook, an audit trail.
    #[serde(rename = "sink")]
    Sink {
        /// What it consumes: an entity name (one port, `in`), or port names mapped to entities.
        consumes: Ports,
        /// A store this sink appends its messages to (an audit trail).
        store: Option<Spanned<String>>,
        /// A sink (or store) that receives each message whose delivery failed, through an
        /// extra output port `dead_letter`: `SINK`, or `SINK.PORT` when it has several
        /// inputs. Without one, such messages are counted, logged and dropped.
        dead_letter: Option<Spanned<String>>,
        /// What it does, for people.
        description: Option<String>,
    },
    /// A REST API over stored entities.
    #[serde(rename = "api")]
    Api {
        /// The entities it exposes and the operations on each.
        #[schemars(length(min = 1))]
        expose: Vec<ExposeSpec>,
        /// The path prefix of every route. Defaults to `/api`.
        #[schemars(regex(pattern = URL_PATH))]
        prefix: Option<Spanned<String>>,
        /// What it offers, for people.
        description: Option<String>,
    },
}

/// Typed ports: an entity name for a single port, or port names mapped to entity names.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename = "$v5c:by-shape")]
#[schemars(untagged, rename = "Ports")]
pub enum Ports {
    /// One port of this entity type.
    #[serde(rename = "text")]
    One(Spanned<String>),
    /// Several named ports, each of an entity type.
    #[serde(rename = "mapping")]
    Named(
        #[schemars(extend("propertyNames" = { "pattern": SNAKE_NAME }, "minProperties" = 1))]
        IndexMap<Spanned<String>, Spanned<String>>,
    ),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSpec {
    /// Write at most this many messages in one transaction. Defaults to 500.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub size: Option<Spanned<u32>>,
    /// Write a partial batch after this long, as a duration (`200ms`). Defaults to `200ms`.
    pub flush: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposeSpec {
    /// The entity exposed.
    pub entity: Spanned<String>,
    /// The store that holds it. Needed only when several stores hold the entity.
    pub store: Option<Spanned<String>>,
    /// The operations offered. Defaults to all of them.
    #[schemars(extend("uniqueItems" = true))]
    pub ops: Option<Vec<Spanned<Operation>>>,
    /// The path of the collection under the API's prefix. Defaults to the table name with
    /// dashes (`/orders`, `/order-lines`).
    #[schemars(regex(pattern = URL_PATH))]
    pub path: Option<Spanned<String>>,
}

/// An operation of a REST API over an entity.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    JsonSchema,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// `GET /things`: a page of rows in a stable order.
    List,
    /// `GET /things/{id}`.
    Get,
    /// `POST /things`.
    Create,
    /// `PUT /things/{id}`.
    Update,
    /// `DELETE /things/{id}`.
    Delete,
}

/// A flow: text such as `ingest -> enrich -> events`, or a mapping with options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename = "$v5c:by-shape")]
#[schemars(untagged, rename = "FlowSpec")]
pub enum FlowSpec {
    #[serde(rename = "text")]
    Path(Spanned<String>),
    #[serde(rename = "mapping")]
    Detailed(FlowDetail),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDetail {
    /// The flow: `producer -> consumer`, a chain, or named ports.
    pub flow: Spanned<String>,
    /// How many messages each hop buffers before the producer waits. Defaults to 1024.
    #[schemars(range(min = 1, max = 100_000_000))]
    pub capacity: Option<Spanned<u32>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploySpec {
    /// Deployment targets. Defaults to `[compose]`.
    #[schemars(extend("uniqueItems" = true))]
    pub targets: Option<Vec<Spanned<Target>>>,
    /// Services by name (lower case with dashes): each runs some of the components as one
    /// process. Defaults to one service, named after the system, running every component.
    #[schemars(extend("propertyNames" = { "pattern": DNS_NAME }))]
    pub services: Option<IndexMap<Spanned<String>, ServiceSpec>>,
}

/// Where the system is deployed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    JsonSchema,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Docker Compose.
    Compose,
    /// Kubernetes.
    Kubernetes,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The components this service runs. One service may leave this out: it runs every
    /// component no other service names.
    pub components: Option<Vec<Spanned<String>>>,
    /// How many copies run. Defaults to 1.
    #[schemars(range(min = 1, max = 10_000))]
    pub replicas: Option<Spanned<u32>>,
    /// The port it serves HTTP on (API, ingest, health, metrics). Defaults to 8080.
    #[schemars(range(min = 1))]
    pub port: Option<Spanned<u16>>,
    /// CPU and memory for each copy.
    pub resources: Option<ResourcesSpec>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesSpec {
    /// CPU reserved: cores (`0.5`, `2`) or millicores (`250m`). Defaults to `100m`.
    pub cpu: Option<Spanned<Quantity>>,
    /// Memory reserved: a size such as `256Mi`, or a number of bytes. Defaults to `128Mi`.
    pub memory: Option<Spanned<Quantity>>,
    /// The most CPU a copy may use. Defaults to twice `cpu`.
    pub cpu_limit: Option<Spanned<Quantity>>,
    /// The most memory a copy may use; more and it is restarted. Defaults to twice `memory`.
    pub memory_limit: Option<Spanned<Quantity>>,
}

/// A quantity: a number, or text with a unit such as `250m` (CPU) or `256Mi` (memory).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename = "$v5c:by-shape")]
#[schemars(untagged, rename = "Quantity")]
pub enum Quantity {
    #[serde(rename = "text")]
    Text(String),
    #[serde(rename = "integer")]
    Integer(i64),
    #[serde(rename = "number")]
    Number(f64),
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObserveSpec {
    /// Generate monitoring: metrics scraping, alert rules and dashboards. Defaults to `true`.
    pub monitoring: Option<bool>,
    /// How often Prometheus scrapes each target, as a duration. Defaults to `15s`.
    pub scrape_interval: Option<Spanned<String>>,
    /// Service-level objectives, such as `api p99 latency < 20ms`.
    #[serde(default)]
    pub slos: Vec<SloSpec>,
}

/// An SLO: text such as `api availability >= 99.9%`, or a mapping with a name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename = "$v5c:by-shape")]
#[schemars(untagged, rename = "SloSpec")]
pub enum SloSpec {
    #[serde(rename = "text")]
    Text(Spanned<String>),
    #[serde(rename = "mapping")]
    Named(NamedSlo),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedSlo {
    /// The objective: `COMPONENT QUANTITY OP VALUE [over WINDOW]`.
    pub slo: Spanned<String>,
    /// A name for alerts and dashboards. Defaults to one made from the objective.
    #[schemars(regex(pattern = SNAKE_NAME))]
    pub name: Option<Spanned<String>>,
    /// Why the objective matters, for the person paged when it breaks.
    pub description: Option<String>,
}

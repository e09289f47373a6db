//! The IR (`v5c-ir/1`): what passes analyse and backends and plugins consume.
//!
//! Invariants, once the passes have run without error (see `passes::analyse`):
//! - every default is applied: nothing is optional that a backend would have to guess;
//! - every [`Ref`] is resolved, and names the item it points at;
//! - items keep the spec's declaration order, and every name is unique in its arena;
//! - spans live in [`Spans`], a side table that is never serialised, so dumps do not change
//!   when only positions in the spec move.
//!
//! Quantities carry their unit in their name: `_ms`, `_bytes`, `_millicores`, `_seconds`.

mod arena;
mod lower;
mod spans;

pub use arena::{Arena, Id, Ref};
pub use lower::spec_to_ir;
pub use spans::*;

pub use crate::spec::{Engine, Ingest, Isolation, Operation, RefAction, StringFormat, Target};
use schemars::JsonSchema;
use serde::Serialize;

pub const IR_VERSION: &str = "v5c-ir/1";

pub type DatabaseId = Id<Database>;
pub type EntityId = Id<Entity>;
pub type ComponentId = Id<Component>;
pub type FlowId = Id<Flow>;
pub type ServiceId = Id<Service>;
pub type SloId = Id<Slo>;

/// The system, lowered from a spec: the input of every pass and backend.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "v5c IR")]
pub struct Ir {
    /// The IR format version: `v5c-ir/1`.
    pub ir: String,
    pub system: System,
    /// Databases, in spec order.
    pub databases: Arena<Database>,
    /// Entities, in spec order.
    pub entities: Arena<Entity>,
    /// Components, in spec order.
    pub components: Arena<Component>,
    /// Flows, one per hop (a chain `a -> b -> c` is two flows), in spec order.
    pub flows: Arena<Flow>,
    /// Deployable services, each running some components as one process.
    pub services: Arena<Service>,
    /// Deployment targets.
    pub targets: Vec<Target>,
    /// Monitoring settings.
    pub monitoring: Monitoring,
    /// Template-folder backends the spec names, as written (relative to the spec file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<String>,
    /// Service-level objectives.
    pub slos: Arena<Slo>,
    #[serde(skip)]
    pub spans: Spans,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct System {
    /// A DNS label.
    pub name: String,
    /// What the system does; empty when the spec says nothing.
    pub description: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Database {
    pub name: String,
    pub engine: Engine,
    pub isolation: Isolation,
    pub pool: Pool,
    /// Run elsewhere: deployments connect to it rather than run it.
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Pool {
    pub min: u32,
    pub max: u32,
    pub acquire_timeout_ms: u64,
    pub idle_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Entity {
    /// PascalCase.
    pub name: String,
    /// The table name when the entity is stored.
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fields: Vec<Field>,
    /// The names of the primary key fields, in key order; empty when the entity has none.
    pub primary_key: Vec<String>,
    /// Every index and unique constraint, including those declared on single fields.
    pub indexes: Vec<Index>,
}

impl Entity {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The single primary key field, if the key is one field.
    pub fn single_key(&self) -> Option<&Field> {
        match self.primary_key.as_slice() {
            [one] => self.field(one),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Field {
    pub name: String,
    pub column: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub nullable: bool,
    /// An integer primary key whose values the database generates.
    pub identity: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<FieldDefault>,
    /// What a reference does when its target row is deleted; set for every reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<RefAction>,
    /// What a reference does when its target row's key changes; set for every reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_update: Option<RefAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<StringFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A field's type.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldType {
    Uuid,
    /// Text; `max_length` in characters, or unbounded.
    String {
        max_length: Option<u32>,
    },
    Int {
        bits: u8,
    },
    Decimal {
        precision: u32,
        scale: u32,
    },
    Float {
        bits: u8,
    },
    Bool,
    /// An instant: date and time with a time zone.
    Timestamp,
    /// A wall-clock date and time without a zone.
    Datetime,
    Date,
    Time,
    Json,
    Bytes,
    Enum {
        values: Vec<String>,
    },
    List {
        item: Box<FieldType>,
    },
    /// A reference to another entity's (single-field) primary key.
    Ref {
        entity: Ref<Entity>,
    },
}

impl FieldType {
    /// The type as it is written in a spec.
    pub fn spec_text(&self) -> String {
        match self {
            FieldType::Uuid => "uuid".into(),
            FieldType::String { max_length: None } => "string".into(),
            FieldType::String {
                max_length: Some(n),
            } => format!("string({n})"),
            FieldType::Int { bits } => format!("int{bits}"),
            FieldType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            FieldType::Float { bits } => format!("float{bits}"),
            FieldType::Bool => "bool".into(),
            FieldType::Timestamp => "timestamp".into(),
            FieldType::Datetime => "datetime".into(),
            FieldType::Date => "date".into(),
            FieldType::Time => "time".into(),
            FieldType::Json => "json".into(),
            FieldType::Bytes => "bytes".into(),
            FieldType::Enum { values } => format!("enum({})", values.join(", ")),
            FieldType::List { item } => format!("list<{}>", item.spec_text()),
            FieldType::Ref { entity } => format!("ref({})", entity.name),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            FieldType::Int { .. } | FieldType::Decimal { .. } | FieldType::Float { .. }
        )
    }

    pub fn is_time(&self) -> bool {
        matches!(
            self,
            FieldType::Timestamp | FieldType::Datetime | FieldType::Date | FieldType::Time
        )
    }
}

/// A field's default value.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum FieldDefault {
    Text(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
    /// The current time (date, time or timestamp, by the field's type).
    Now,
    /// A random (version 4) UUID.
    RandomUuid,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Index {
    /// The name the spec gave; otherwise each database names it (see the facts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub fields: Vec<String>,
    pub unique: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Component {
    pub name: String,
    #[serde(flatten)]
    pub kind: ComponentKind,
    /// Ports messages arrive on.
    pub inputs: Vec<Port>,
    /// Ports messages leave by.
    pub outputs: Vec<Port>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Component {
    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComponentKind {
    Source {
        /// The expected rate, in messages per second.
        rate_per_second: Option<f64>,
        /// How events come in: an HTTP endpoint, or the source's logic.
        ingest: Ingest,
    },
    Transformer,
    Store {
        database: Ref<Database>,
        entity: Ref<Entity>,
        batch: Batch,
    },
    Sink {
        /// A store the sink appends to.
        store: Option<Ref<Component>>,
    },
    Api {
        /// The path prefix of every route, such as `/api`.
        prefix: String,
        exposes: Vec<Exposure>,
    },
}

impl ComponentKind {
    pub fn name(&self) -> &'static str {
        match self {
            ComponentKind::Source { .. } => "source",
            ComponentKind::Transformer => "transformer",
            ComponentKind::Store { .. } => "store",
            ComponentKind::Sink { .. } => "sink",
            ComponentKind::Api { .. } => "api",
        }
    }

    /// Whether the component answers HTTP requests of its own: an api, or a source taking
    /// events at `/ingest/NAME`.
    pub fn serves_http(&self) -> bool {
        matches!(
            self,
            ComponentKind::Api { .. }
                | ComponentKind::Source {
                    ingest: Ingest::Http,
                    ..
                }
        )
    }
}

/// The output port through which a transformer or sink hands on what it failed on, when the
/// spec names a `dead_letter`.
pub const DEAD_LETTER_PORT: &str = "dead_letter";

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Batch {
    pub size: u32,
    pub flush_ms: u64,
}

/// An entity exposed by an API.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Exposure {
    pub entity: Ref<Entity>,
    /// The store component that holds the entity.
    pub store: Ref<Component>,
    /// In the order list, get, create, update, delete.
    pub operations: Vec<Operation>,
    /// The collection path under the prefix, such as `/orders`.
    pub path: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Port {
    pub name: String,
    /// The entity each message on the port is.
    pub entity: Ref<Entity>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Flow {
    pub from: PortRef,
    pub to: PortRef,
    /// Messages buffered between the two before the producer waits.
    pub capacity: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PortRef {
    pub component: Ref<Component>,
    /// The port's name; set by lowering when the component has one port that way, otherwise
    /// by the resolve pass (empty until then).
    pub port: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Service {
    /// A DNS label.
    pub name: String,
    pub components: Vec<Ref<Component>>,
    pub replicas: u32,
    /// The HTTP port: API, ingest, health and metrics.
    pub port: u16,
    pub resources: Resources,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Resources {
    pub cpu_millicores: u32,
    pub memory_bytes: u64,
    pub cpu_limit_millicores: u32,
    pub memory_limit_bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Monitoring {
    /// Generate scrape configuration, alerts and dashboards.
    pub enabled: bool,
    pub scrape_interval_ms: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Slo {
    /// Names alerts and dashboard panels.
    pub name: String,
    /// The objective as the spec wrote it.
    pub text: String,
    pub component: Ref<Component>,
    pub indicator: Indicator,
    pub comparison: Comparison,
    pub objective: Objective,
    /// The window the objective is measured over; defaults to 30 days.
    pub window_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Indicator {
    /// A percentile (such as 99 or 99.9) of request or write latency.
    Latency {
        percentile: f64,
    },
    Availability,
    Throughput,
    ErrorRate,
}

impl Indicator {
    pub fn words(self) -> String {
        match self {
            Indicator::Latency { percentile } => format!("p{percentile} latency"),
            Indicator::Availability => "availability".into(),
            Indicator::Throughput => "throughput".into(),
            Indicator::ErrorRate => "error rate".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }

    pub fn is_upper_bound(self) -> bool {
        matches!(self, Comparison::Lt | Comparison::Le)
    }
}

/// An objective's value in a base unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Objective {
    pub value: f64,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Seconds,
    Percent,
    PerSecond,
}

/// The JSON Schema of the IR, as checked in at `ir-schema/ir.schema.json`.
pub fn ir_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<crate::Analysed>();
    let mut value = serde_json::to_value(schema).expect("a schema is plain JSON");
    if let serde_json::Value::Object(map) = &mut value {
        map.insert(
            "$id".into(),
            serde_json::Value::String("https://v5c.dev/schema/ir.schema.json".into()),
        );
    }
    value
}

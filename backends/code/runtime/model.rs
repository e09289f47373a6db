//! The shapes `system.rs` describes the spec with: services, databases, tables and the
//! resources an api exposes.

use super::metrics::MetricDef;
use super::values::{Engine, Field};

pub struct System {
    pub name: &'static str,
    pub version: &'static str,
    pub services: &'static [Service],
    pub databases: &'static [Database],
}

pub struct Service {
    pub name: &'static str,
    pub port: u16,
    /// Indexes into `System::databases`.
    pub databases: &'static [usize],
    pub apis: &'static [Api],
    /// The catalogue's metrics this service exports.
    pub metrics: &'static [MetricDef],
    /// The dataflow series made at start-up: (metric, label values, value).
    pub series: &'static [(&'static str, &'static [&'static str], f64)],
    /// The dataflow components it runs, producers first.
    pub nodes: &'static [Node],
    /// The flows between them.
    pub flows: &'static [FlowDef],
}

/// A message type: an entity's fields, for checking what flows.
pub struct Message {
    pub entity: &'static str,
    pub fields: &'static [super::values::Field],
}

/// What a dataflow component does.
pub enum Role {
    /// Takes events over HTTP at `/ingest/NAME` (`endpoint`), or runs its logic's loop.
    Source {
        endpoint: bool,
    },
    Transformer,
    /// Writes what arrives to `table`, in batches.
    Store {
        table: &'static Table,
        batch_size: usize,
        flush_ms: u64,
    },
    /// Delivers what arrives; with a store, appends it there too.
    Sink {
        store: Option<&'static str>,
    },
}

/// A dataflow component.
pub struct Node {
    pub name: &'static str,
    pub role: Role,
    pub outputs: &'static [(&'static str, &'static Message)],
}

/// A flow: a bounded channel from a component's port to another's.
pub struct FlowDef {
    /// `FROM.PORT->TO.PORT`, its metrics' label.
    pub label: &'static str,
    pub from: (&'static str, &'static str),
    pub to: (&'static str, &'static str),
    pub capacity: usize,
}

pub struct Database {
    pub name: &'static str,
    /// The name in environment variables: `DB_{env}_URL`.
    pub env: &'static str,
    pub engine: Engine,
    pub engine_name: &'static str,
    pub isolation: &'static str,
    pub pool_min: u32,
    pub pool_max: u32,
    pub acquire_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    /// The sql backend's statements, in order.
    pub schema: &'static [&'static str],
    /// SHA-256 of the statements: which schema a database holds.
    pub schema_digest: &'static str,
}

pub struct Api {
    pub component: &'static str,
    pub resources: &'static [Resource],
    pub hooks: &'static Hooks,
}

/// An entity an api exposes at `path`.
pub struct Resource {
    pub entity: &'static str,
    pub path: &'static str,
    pub table: &'static Table,
    pub list: bool,
    pub get: bool,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
}

pub struct Table {
    pub entity: &'static str,
    /// The table's name, quoted for its engine.
    pub name: &'static str,
    /// Index into `System::databases`.
    pub database: usize,
    pub engine: Engine,
    pub fields: &'static [Field],
    /// The primary key's fields: indexes into `fields`, in key order.
    pub keys: &'static [usize],
    /// `read` of every field, comma-separated.
    pub select: &'static str,
    pub uniques: &'static [Unique],
    pub references: &'static [Reference],
    /// Whether INSERT and UPDATE can say `RETURNING`.
    pub returning: bool,
}

/// A unique index or constraint, to tell a client which fields clash.
pub struct Unique {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub fields: &'static [&'static str],
}

/// A reference field, to tell a client which one names a missing row.
pub struct Reference {
    pub field: &'static str,
    pub constraint: &'static str,
    /// `SELECT 1 FROM target WHERE key = {}`, with the placeholder.
    pub exists: &'static str,
}

/// A request's fields, as a logic hook sees and may change them.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// A logic hook's refusal.
#[derive(Debug, Clone)]
pub enum Rejection {
    /// 422: `field` (empty for the whole request) is not acceptable.
    Invalid { field: String, message: String },
    /// 409: the request clashes with what is stored.
    Conflict(String),
}

/// An api's logic hooks, by the resource's path under the api (generated in `hooks.rs`).
pub struct Hooks {
    pub before_create: fn(&str, &mut Record) -> Result<(), Rejection>,
    pub before_update: fn(&str, &serde_json::Value, &mut Record) -> Result<(), Rejection>,
    pub before_delete: fn(&str, &serde_json::Value) -> Result<(), Rejection>,
}

//! Lowering: the spec as written → the IR, with every embedded expression parsed and every
//! default applied. Names are kept as written; the resolve pass checks and links them.
//!
//! The defaults live here and nowhere else (the spec's doc comments state the same values):
//! see the `DEFAULT_*` constants.

use super::{
    Arena, Batch, Component, ComponentKind, ComponentSpans, DEAD_LETTER_PORT, Database,
    DatabaseSpans, Engine, Entity, EntitySpans, Exposure, ExposureSpans, Field, FieldDefault,
    FieldSpans, FieldType, Flow, FlowSpans, IR_VERSION, Index, IndexSpans, Ingest, Ir, Isolation,
    Monitoring, Objective, Operation, Pool, Port, PortRef, PortSpans, Ref, RefAction, Resources,
    Service, ServiceSpans, Slo, SloSpans, Spans, System, Target, Unit,
};
use crate::diag::{self, Code, Diagnostic, Diagnostics};
use crate::names;
use crate::source::Span;
use crate::spec::{self, Spanned};
use crate::syntax::{self, SyntaxError, TypeExpr};
use rustc_hash::{FxHashMap, FxHashSet};

const DEFAULT_VERSION: &str = "0.1.0";
const DEFAULT_POOL_MIN: u32 = 1;
const DEFAULT_POOL_MAX: u32 = 10;
const DEFAULT_ACQUIRE_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_IDLE_TIMEOUT_MS: u64 = 600_000;
const DEFAULT_BATCH_SIZE: u32 = 500;
const DEFAULT_FLUSH_MS: u64 = 200;
const DEFAULT_API_PREFIX: &str = "/api";
const DEFAULT_CAPACITY: u32 = 1024;
const DEFAULT_PORT: u16 = 8080;
const DEFAULT_REPLICAS: u32 = 1;
const DEFAULT_CPU_MILLICORES: u32 = 100;
const DEFAULT_MEMORY_BYTES: u64 = 128 * 1024 * 1024;
const DEFAULT_SCRAPE_INTERVAL_MS: u64 = 15_000;
const DEFAULT_SLO_WINDOW_MS: u64 = 30 * 24 * 3_600_000;
/// The fastest rate a spec may name, per second.
const MAX_RATE: f64 = 1e9;
/// No duration in a spec may be longer than a year; longer ones are mistakes.
const MAX_DURATION_MS: f64 = 366.0 * 24.0 * 3_600_000.0;
/// The canonical order of operations; exposures list them in this order.
const ALL_OPERATIONS: [Operation; 5] = [
    Operation::List,
    Operation::Get,
    Operation::Create,
    Operation::Update,
    Operation::Delete,
];
/// The type names a spec may write, for "did you mean".
const TYPE_NAMES: &[&str] = &[
    "uuid",
    "string",
    "text",
    "int16",
    "int32",
    "int64",
    "decimal",
    "float32",
    "float64",
    "bool",
    "timestamp",
    "datetime",
    "date",
    "time",
    "json",
    "bytes",
    "enum",
    "ref",
    "list",
];

/// Lowers a loaded spec. Errors are those of the embedded languages (types, flows, durations,
/// sizes, rates, SLOs); names are checked by the resolve pass.
pub fn spec_to_ir(spec: &spec::Spec) -> Result<Ir, Diagnostics> {
    let mut lower = Lower {
        spec,
        diags: Diagnostics::new(),
        spans: Spans::default(),
        types: FxHashMap::default(),
    };
    let ir = lower.ir();
    if lower.diags.has_errors() {
        Err(lower.diags)
    } else {
        Ok(ir)
    }
}

#[derive(Clone, Copy)]
enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    /// Base units (millicores, bytes) per unit of a bare number (a core, a byte).
    fn per_unit(self) -> f64 {
        match self {
            Resource::Cpu => 1000.0,
            Resource::Memory => 1.0,
        }
    }

    fn parse(self, text: &str) -> Result<f64, SyntaxError> {
        match self {
            Resource::Cpu => syntax::cpu(text),
            Resource::Memory => syntax::size(text),
        }
    }

    fn syntax_code(self) -> Code {
        match self {
            Resource::Cpu => Code::CpuSyntax,
            Resource::Memory => Code::SizeSyntax,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "CPU",
            Resource::Memory => "memory",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Resource::Cpu => "CPU quantity",
            Resource::Memory => "size",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Resource::Cpu => "CPU is a number of cores (`0.5`, `2`) or millicores (`250m`)",
            Resource::Memory => "memory is a size (`256Mi`, `1Gi`, `512MB`) or a number of bytes",
        }
    }

    /// The least and most a spec may ask for, in base units, and the range in words.
    fn range(self) -> (f64, f64, &'static str) {
        match self {
            Resource::Cpu => (1.0, 1_024_000.0, "between `1m` and 1024 cores"),
            Resource::Memory => (
                4.0 * 1024.0 * 1024.0,
                1024f64.powi(5),
                "between `4Mi` and `1Pi`",
            ),
        }
    }
}

struct Lower<'a> {
    spec: &'a spec::Spec,
    diags: Diagnostics,
    spans: Spans,
    /// Parsed type expressions by text: specs repeat the same few (`uuid`, `string(64)`), and
    /// a parse's byte ranges depend only on the text.
    types: FxHashMap<String, Result<TypeExpr, SyntaxError>>,
}

fn syntax_diag(code: Code, what: &str, text: &Spanned<String>, e: &SyntaxError) -> Diagnostic {
    Diagnostic::error(code, format!("malformed {what}: {}", e.message))
        .label(text.sub_span(e.range.clone()), "here")
}

fn round_u64(x: f64) -> u64 {
    // Values here are small and positive (milliseconds, bytes); saturate rather than wrap.
    // 1.8e19 is just below u64::MAX; `as` saturates anyway, this keeps the intent visible.
    if x.is_finite() && x > 0.0 && x < 1.8e19 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let v = x.round() as u64;
        v
    } else if x >= 1.8e19 {
        u64::MAX
    } else {
        0
    }
}

fn round_u32(x: f64) -> u32 {
    u32::try_from(round_u64(x)).unwrap_or(u32::MAX)
}

impl Lower<'_> {
    fn ir(&mut self) -> Ir {
        let spec = self.spec;
        self.spans.system_name = spec.system.name.span;
        let system = System {
            name: spec.system.name.value.clone(),
            description: spec.system.description.clone().unwrap_or_default(),
            version: spec
                .system
                .version
                .clone()
                .unwrap_or_else(|| DEFAULT_VERSION.into()),
        };
        let databases = self.databases();
        let entities = self.entities();
        let components = self.components();
        let flows = self.flows();
        let services = self.services();
        let targets = match &spec.deploy.targets {
            Some(targets) => targets.iter().map(|t| t.value).collect(),
            None => vec![Target::Compose],
        };
        self.spans.scrape_interval = spec.observe.scrape_interval.as_ref().map(|d| d.span);
        let monitoring = Monitoring {
            enabled: spec.observe.monitoring.unwrap_or(true),
            scrape_interval_ms: spec
                .observe
                .scrape_interval
                .as_ref()
                .and_then(|d| self.duration(d, "scrape interval"))
                .unwrap_or(DEFAULT_SCRAPE_INTERVAL_MS),
        };
        let slos = self.slos();
        self.spans.backends = spec.backends.iter().map(|b| b.span).collect();
        Ir {
            ir: IR_VERSION.into(),
            system,
            databases,
            entities,
            components,
            flows,
            services,
            targets,
            monitoring,
            backends: spec.backends.iter().map(|b| b.value.clone()).collect(),
            slos,
            spans: std::mem::take(&mut self.spans),
        }
    }

    /// A positive duration in milliseconds, or `None` after reporting why not.
    fn duration(&mut self, text: &Spanned<String>, what: &str) -> Option<u64> {
        match syntax::duration(text) {
            Ok(ms) if ms > MAX_DURATION_MS => {
                self.diags.push(
                    Diagnostic::error(
                        Code::DurationSyntax,
                        format!("the {what} is longer than a year"),
                    )
                    .label(text.span, "too long"),
                );
                None
            }
            Ok(ms) if ms > 0.0 => Some(round_u64(ms.max(1.0))),
            Ok(_) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::DurationSyntax,
                        format!("the {what} must be longer than zero"),
                    )
                    .label(text.span, "zero"),
                );
                None
            }
            Err(e) => {
                self.diags.push(
                    syntax_diag(Code::DurationSyntax, what, text, &e).help(
                        "a duration is a number and a unit: `200ms`, `5s`, `10m`, `1h`, `30d`",
                    ),
                );
                None
            }
        }
    }

    fn databases(&mut self) -> Arena<Database> {
        let mut arena = Arena::with_capacity(self.spec.databases.len());
        self.spans.databases.reserve(self.spec.databases.len());
        for (name, db) in &self.spec.databases {
            let is_sqlite = db.engine == Engine::Sqlite;
            let pool = db.pool.as_ref();
            let acquire_timeout_ms = pool
                .and_then(|p| p.acquire_timeout.as_ref())
                .and_then(|d| self.duration(d, "acquire timeout"))
                .unwrap_or(DEFAULT_ACQUIRE_TIMEOUT_MS);
            let idle_timeout_ms = pool
                .and_then(|p| p.idle_timeout.as_ref())
                .and_then(|d| self.duration(d, "idle timeout"))
                .unwrap_or(DEFAULT_IDLE_TIMEOUT_MS);
            let max = pool
                .and_then(|p| p.max.as_ref())
                .map_or(if is_sqlite { 1 } else { DEFAULT_POOL_MAX }, |m| m.value);
            let min = pool
                .and_then(|p| p.min.as_ref())
                .map_or(DEFAULT_POOL_MIN.min(max), |m| m.value);
            let isolation = db.isolation.as_ref().map_or(
                match db.engine {
                    Engine::Postgresql => Isolation::ReadCommitted,
                    Engine::Mysql => Isolation::RepeatableRead,
                    Engine::Sqlite => Isolation::Serializable,
                },
                |i| i.value,
            );
            self.spans.databases.push(DatabaseSpans {
                name: name.span,
                engine: name.span,
                isolation: db.isolation.as_ref().map(|i| i.span),
                pool: pool
                    .and_then(|p| p.min.as_ref().or(p.max.as_ref()))
                    .map(|m| m.span),
            });
            arena.push(Database {
                name: name.value.clone(),
                engine: db.engine,
                isolation,
                pool: Pool {
                    min,
                    max,
                    acquire_timeout_ms,
                    idle_timeout_ms,
                },
                external: db.external,
                description: db.description.clone(),
            });
        }
        arena
    }

    fn entities(&mut self) -> Arena<Entity> {
        let mut arena = Arena::with_capacity(self.spec.entities.len());
        self.spans.entities.reserve(self.spec.entities.len());
        for (name, spec) in &self.spec.entities {
            let (entity, spans) = self.entity(name, spec);
            self.spans.entities.push(spans);
            arena.push(entity);
        }
        arena
    }

    fn entity(&mut self, name: &Spanned<String>, spec: &spec::EntitySpec) -> (Entity, EntitySpans) {
        let mut fields = Vec::with_capacity(spec.fields.len());
        let mut field_spans = Vec::with_capacity(spec.fields.len());
        let mut indexes = Vec::new();
        let mut index_spans = Vec::new();
        let mut key_fields = Vec::new();
        for (field_name, decl) in &spec.fields {
            // A field written as its type alone takes every option's default.
            let (ty, field) = match decl {
                spec::FieldDecl::Full(f) => (&f.ty, f.as_ref()),
                spec::FieldDecl::Type(ty) => (ty, &*NO_OPTIONS),
            };
            if field.primary_key {
                key_fields.push(field_name);
            }
            if field.unique || field.index {
                indexes.push(Index {
                    name: None,
                    fields: vec![field_name.value.clone()],
                    unique: field.unique,
                });
                index_spans.push(IndexSpans {
                    whole: field_name.span,
                    name: None,
                    fields: vec![field_name.span],
                });
            }
            let (lowered, spans) = self.field(field_name, ty, field);
            fields.push(lowered);
            field_spans.push(spans);
        }

        let (primary_key, primary_key_spans) = match (&spec.primary_key, key_fields.as_slice()) {
            (Some(list), []) => (
                list.iter().map(|f| f.value.clone()).collect(),
                list.iter().map(|f| f.span).collect(),
            ),
            (Some(list), [first, ..]) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadPrimaryKey,
                        format!("the primary key of `{}` is given twice", name.value),
                    )
                    .label(first.span, "`primary_key: true` here")
                    .label(list[0].span, "and a `primary_key:` list here")
                    .help("keep one: the list for a key of several fields, the flag for one"),
                );
                (Vec::new(), Vec::new())
            }
            (None, keys) => (keys.iter().map(|k| k.value.clone()).collect(), Vec::new()),
        };

        // An integer key is generated by the database, a uuid key gets a random default,
        // unless the spec sets a default of its own.
        if let [key] = primary_key.as_slice() {
            if let Some(field) = fields.iter_mut().find(|f| &f.name == key) {
                match field.ty {
                    FieldType::Int { .. } if field.default.is_none() => field.identity = true,
                    FieldType::Uuid if field.default.is_none() => {
                        field.default = Some(FieldDefault::RandomUuid);
                    }
                    _ => {}
                }
            }
        }

        for index in &spec.indexes {
            indexes.push(Index {
                name: index.name.as_ref().map(|n| n.value.clone()),
                fields: index.fields.iter().map(|f| f.value.clone()).collect(),
                unique: index.unique,
            });
            let whole = index
                .fields
                .iter()
                .map(|f| f.span)
                .reduce(Span::join)
                .unwrap_or_default();
            index_spans.push(IndexSpans {
                whole,
                name: index.name.as_ref().map(|n| n.span),
                fields: index.fields.iter().map(|f| f.span).collect(),
            });
        }

        let table = spec
            .table
            .as_ref()
            .map_or_else(|| names::table_name(&name.value), |t| t.value.clone());
        let entity = Entity {
            name: name.value.clone(),
            table,
            description: spec.description.clone(),
            fields,
            primary_key,
            indexes,
        };
        let spans = EntitySpans {
            name: name.span,
            table: spec.table.as_ref().map_or(name.span, |t| t.span),
            fields: field_spans,
            primary_key: primary_key_spans,
            indexes: index_spans,
        };
        (entity, spans)
    }

    /// Lowers a field of type `ty` with the options in `spec` (whose own `ty` is not read).
    fn field(
        &mut self,
        name: &Spanned<String>,
        ty: &Spanned<String>,
        spec: &spec::FieldSpec,
    ) -> (Field, FieldSpans) {
        let mut spans = FieldSpans {
            name: name.span,
            ty: ty.span,
            ty_name: ty.span,
            rare: None,
        };
        let has_options = spec.column.is_some()
            || spec.default.is_some()
            || spec.on_delete.is_some()
            || spec.on_update.is_some()
            || spec.min.is_some()
            || spec.max.is_some()
            || spec.format.is_some();
        if has_options {
            let rare = spans.rare_mut();
            rare.column = spec.column.as_ref().map(|c| c.span);
            rare.default = spec.default.as_ref().map(|d| d.span);
            rare.on_delete = spec.on_delete.as_ref().map(|a| a.span);
            rare.on_update = spec.on_update.as_ref().map(|a| a.span);
            rare.min = spec.min.as_ref().map(|m| m.span);
            rare.max = spec.max.as_ref().map(|m| m.span);
            rare.format = spec.format.as_ref().map(|f| f.span);
        }
        let parsed = if let Some(parsed) = self.types.get(ty.as_str()) {
            parsed.clone()
        } else {
            let parsed = syntax::field_type(ty);
            self.types.insert(ty.value.clone(), parsed.clone());
            parsed
        };
        let ty = match parsed {
            Ok(expr) => self.field_type(&expr, ty, &mut spans),
            Err(e) => {
                self.diags.push(syntax_diag(Code::TypeSyntax, "type", ty, &e).help(
                    "types are written like `string(64)`, `decimal(12,2)`, `enum(a, b)`, `ref(Customer)` or `list<string>`",
                ));
                None
            }
        }
        // A placeholder keeps lowering going to find more errors; the IR is discarded.
        .unwrap_or(FieldType::Json);

        let default = spec.default.as_ref().map(|d| match &d.value {
            spec::DefaultValue::Text(t) if t == "now" && ty.is_time() => FieldDefault::Now,
            spec::DefaultValue::Text(t) if t == "random" && ty == FieldType::Uuid => {
                FieldDefault::RandomUuid
            }
            spec::DefaultValue::Text(t) => FieldDefault::Text(t.clone()),
            spec::DefaultValue::Integer(i) => FieldDefault::Integer(*i),
            spec::DefaultValue::Number(n) => FieldDefault::Number(*n),
            spec::DefaultValue::Boolean(b) => FieldDefault::Boolean(*b),
        });
        let is_ref = matches!(ty, FieldType::Ref { .. });
        let on_delete = spec
            .on_delete
            .as_ref()
            .map(|a| a.value)
            .or(is_ref.then_some(RefAction::Restrict));
        let on_update = spec
            .on_update
            .as_ref()
            .map(|a| a.value)
            .or(is_ref.then_some(RefAction::Cascade));
        let field = Field {
            name: name.value.clone(),
            column: spec
                .column
                .as_ref()
                .map_or_else(|| name.value.clone(), |c| c.value.clone()),
            ty,
            nullable: spec.nullable,
            identity: false,
            default,
            on_delete,
            on_update,
            min: spec.min.as_ref().map(|m| m.value),
            max: spec.max.as_ref().map(|m| m.value),
            format: spec.format.as_ref().map(|f| f.value),
            description: spec.description.clone(),
        };
        (field, spans)
    }

    fn field_type(
        &mut self,
        expr: &TypeExpr,
        text: &Spanned<String>,
        spans: &mut FieldSpans,
    ) -> Option<FieldType> {
        let at = |r: &std::ops::Range<usize>| text.sub_span(r.clone());
        match expr {
            TypeExpr::List(item, _) => {
                let item = self.field_type(item, text, spans)?;
                Some(FieldType::List {
                    item: Box::new(item),
                })
            }
            TypeExpr::Ref(entity) => {
                spans.ty_name = at(&entity.range);
                Some(FieldType::Ref {
                    entity: Ref::unresolved(entity.value.clone()),
                })
            }
            TypeExpr::Enum(values) => {
                spans.rare_mut().enum_values = values.iter().map(|v| at(&v.range)).collect();
                Some(FieldType::Enum {
                    values: values.iter().map(|v| v.value.clone()).collect(),
                })
            }
            TypeExpr::Named { name, args } => {
                spans.ty_name = at(&name.range);
                if !args.is_empty() {
                    spans.rare_mut().ty_args = args.iter().map(|a| at(&a.range)).collect();
                }
                // Each type: what it lowers to, how many arguments it takes, how it is written.
                let (ty, lo, hi, usage) = match name.value.as_str() {
                    "uuid" => (FieldType::Uuid, 0, 0, "`uuid`"),
                    "string" => {
                        let max_length = match args.first() {
                            Some(n) => Some(self.u32_arg(n, text)?),
                            None => None,
                        };
                        (
                            FieldType::String { max_length },
                            0,
                            1,
                            "`string` or `string(64)`",
                        )
                    }
                    "text" => (FieldType::String { max_length: None }, 0, 0, "`text`"),
                    "int16" | "smallint" => (FieldType::Int { bits: 16 }, 0, 0, "`int16`"),
                    "int32" | "int" | "integer" => (FieldType::Int { bits: 32 }, 0, 0, "`int32`"),
                    "int64" | "bigint" => (FieldType::Int { bits: 64 }, 0, 0, "`int64`"),
                    "decimal" | "numeric" => {
                        let precision = match args.first() {
                            Some(p) => self.u32_arg(p, text)?,
                            None => 0,
                        };
                        let scale = match args.get(1) {
                            Some(s) => self.u32_arg(s, text)?,
                            None => 0,
                        };
                        (
                            FieldType::Decimal { precision, scale },
                            1,
                            2,
                            "`decimal(12,2)`: a precision (digits in all) and a scale (digits after the point)",
                        )
                    }
                    "float32" | "real" => (FieldType::Float { bits: 32 }, 0, 0, "`float32`"),
                    "float64" | "float" | "double" => {
                        (FieldType::Float { bits: 64 }, 0, 0, "`float64`")
                    }
                    "bool" | "boolean" => (FieldType::Bool, 0, 0, "`bool`"),
                    "timestamp" | "timestamptz" => (FieldType::Timestamp, 0, 0, "`timestamp`"),
                    "datetime" => (FieldType::Datetime, 0, 0, "`datetime`"),
                    "date" => (FieldType::Date, 0, 0, "`date`"),
                    "time" => (FieldType::Time, 0, 0, "`time`"),
                    "json" => (FieldType::Json, 0, 0, "`json`"),
                    "bytes" | "blob" => (FieldType::Bytes, 0, 0, "`bytes`"),
                    // The grammar reads these with their brackets; alone they lack them.
                    "enum" | "ref" | "list" => (
                        FieldType::Json,
                        usize::MAX,
                        usize::MAX,
                        match name.value.as_str() {
                            "enum" => "`enum(a, b, c)`",
                            "ref" => "`ref(Entity)`",
                            _ => "`list<T>`",
                        },
                    ),
                    other => {
                        self.diags.push(
                            Diagnostic::error(Code::UnknownType, format!("unknown type `{other}`"))
                                .label(at(&name.range), "not a type")
                                .help(
                                    diag::suggest(other, TYPE_NAMES.iter().copied())
                                        .unwrap_or_else(|| {
                                            format!("the types are {}", diag::one_of(TYPE_NAMES))
                                        }),
                                ),
                        );
                        return None;
                    }
                };
                let n = args.len();
                if n < lo || n > hi {
                    let span = if args.is_empty() {
                        at(&name.range)
                    } else {
                        spans
                            .ty_args()
                            .iter()
                            .copied()
                            .reduce(Span::join)
                            .unwrap_or(text.span)
                    };
                    let t = &name.value;
                    let message = match (lo, hi) {
                        (usize::MAX, _) => format!("`{t}` needs its brackets"),
                        (0, 0) => format!("`{t}` takes no arguments"),
                        _ if n == 0 => format!("`{t}` needs arguments"),
                        (lo, hi) if lo == hi => format!("`{t}` takes {lo} argument(s), not {n}"),
                        (lo, hi) => format!("`{t}` takes {lo} to {hi} arguments, not {n}"),
                    };
                    self.diags.push(
                        Diagnostic::error(Code::TypeArguments, message)
                            .label(span, "here")
                            .help(format!("write {usage}")),
                    );
                    return None;
                }
                Some(ty)
            }
        }
    }

    fn u32_arg(&mut self, arg: &syntax::Part<u64>, text: &Spanned<String>) -> Option<u32> {
        if let Ok(v) = u32::try_from(arg.value) {
            return Some(v);
        }
        self.diags.push(
            Diagnostic::error(Code::BadTypeParameter, "this number is far too large")
                .label(text.sub_span(arg.range.clone()), "too large"),
        );
        None
    }

    fn ports(ports: &spec::Ports, default_name: &str) -> (Vec<Port>, Vec<PortSpans>) {
        match ports {
            spec::Ports::One(entity) => (
                vec![Port {
                    name: default_name.to_owned(),
                    entity: Ref::unresolved(entity.value.clone()),
                }],
                vec![PortSpans {
                    name: entity.span,
                    entity: entity.span,
                }],
            ),
            spec::Ports::Named(map) => map
                .iter()
                .map(|(name, entity)| {
                    (
                        Port {
                            name: name.value.clone(),
                            entity: Ref::unresolved(entity.value.clone()),
                        },
                        PortSpans {
                            name: name.span,
                            entity: entity.span,
                        },
                    )
                })
                .unzip(),
        }
    }

    /// The `dead_letter` output port of a transformer or sink that names a dead-letter sink:
    /// it carries what the component failed on, so it has the entity of every input.
    fn dead_letter_port(
        &mut self,
        inputs: &[Port],
        outputs: &mut (Vec<Port>, Vec<PortSpans>),
        dead_letter: Option<&Spanned<String>>,
    ) {
        // The name is the runtime's, with or without a dead-letter sink.
        if let Some(i) = outputs.0.iter().position(|p| p.name == DEAD_LETTER_PORT) {
            let mut diag = Diagnostic::error(
                Code::DeadLetter,
                format!("the port name `{DEAD_LETTER_PORT}` is kept for a dead-letter sink"),
            )
            .label(outputs.1[i].name, "a port of that name")
            .help("rename the port");
            if let Some(target) = dead_letter {
                diag = diag.label(target.span, "the dead-letter sink");
            }
            self.diags.push(diag);
            return;
        }
        let Some(target) = dead_letter else {
            return;
        };
        let mut entities = inputs.iter().map(|p| p.entity.name.as_str());
        let Some(entity) = entities.next() else {
            return;
        };
        if let Some(other) = entities.find(|e| *e != entity) {
            self.diags.push(
                Diagnostic::error(
                    Code::DeadLetter,
                    format!(
                        "a dead-letter sink takes one entity, but this component consumes `{entity}` and `{other}`"
                    ),
                )
                .label(target.span, "the dead-letter sink")
                .help("give each input its own transformer, or drop `dead_letter`"),
            );
            return;
        }
        outputs.0.push(Port {
            name: DEAD_LETTER_PORT.to_owned(),
            entity: Ref::unresolved(entity.to_owned()),
        });
        outputs.1.push(PortSpans {
            name: target.span,
            entity: target.span,
        });
    }

    fn components(&mut self) -> Arena<Component> {
        // Which stores hold each entity: an API exposure names its store only when several do.
        let mut stores_of: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
        for (name, component) in &self.spec.components {
            if let spec::ComponentSpec::Store { entity, .. } = component {
                stores_of
                    .entry(entity.value.as_str())
                    .or_default()
                    .push(name.value.as_str());
            }
        }
        let mut arena = Arena::with_capacity(self.spec.components.len());
        self.spans.components.reserve(self.spec.components.len());
        for (name, component) in &self.spec.components {
            let mut spans = ComponentSpans {
                name: name.span,
                kind: name.span,
                ..ComponentSpans::default()
            };
            let (kind, (inputs, input_spans), (outputs, output_spans), description) =
                match component {
                    spec::ComponentSpec::Source {
                        emits,
                        rate,
                        ingest,
                        description,
                    } => {
                        let rate_per_second = rate.as_ref().and_then(|r| match syntax::rate(r) {
                        Ok(v) if v > 0.0 && v <= MAX_RATE => Some(v),
                        Ok(_) => {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::RateSyntax,
                                    "a rate must be above zero and at most a billion per second",
                                )
                                .label(r.span, "out of range"),
                            );
                            None
                        }
                        Err(e) => {
                            self.diags.push(syntax_diag(Code::RateSyntax, "rate", r, &e).help(
                                "a rate is a count per time: `5000/s`, `5k/s`, `1000rps`, `600/min`",
                            ));
                            None
                        }
                    });
                        let mut outputs = Self::ports(emits, "out");
                        self.dead_letter_port(&[], &mut outputs, None);
                        (
                            ComponentKind::Source {
                                rate_per_second,
                                ingest: ingest.as_ref().map_or(Ingest::Http, |i| i.value),
                            },
                            (Vec::new(), Vec::new()),
                            outputs,
                            description,
                        )
                    }
                    spec::ComponentSpec::Transformer {
                        consumes,
                        emits,
                        dead_letter,
                        description,
                    } => {
                        let inputs = Self::ports(consumes, "in");
                        let mut outputs = Self::ports(emits, "out");
                        self.dead_letter_port(&inputs.0, &mut outputs, dead_letter.as_ref());
                        (ComponentKind::Transformer, inputs, outputs, description)
                    }
                    spec::ComponentSpec::Store {
                        database,
                        entity,
                        batch,
                        description,
                    } => {
                        spans.database = Some(database.span);
                        spans.entity = Some(entity.span);
                        let size = batch
                            .as_ref()
                            .and_then(|b| b.size.as_ref())
                            .map_or(DEFAULT_BATCH_SIZE, |s| s.value);
                        let flush_ms = batch
                            .as_ref()
                            .and_then(|b| b.flush.as_ref())
                            .and_then(|f| self.duration(f, "flush interval"))
                            .unwrap_or(DEFAULT_FLUSH_MS);
                        (
                            ComponentKind::Store {
                                database: Ref::unresolved(database.value.clone()),
                                entity: Ref::unresolved(entity.value.clone()),
                                batch: Batch { size, flush_ms },
                            },
                            (
                                vec![Port {
                                    name: "in".into(),
                                    entity: Ref::unresolved(entity.value.clone()),
                                }],
                                vec![PortSpans {
                                    name: entity.span,
                                    entity: entity.span,
                                }],
                            ),
                            (Vec::new(), Vec::new()),
                            description,
                        )
                    }
                    spec::ComponentSpec::Sink {
                        consumes,
                        store,
                        dead_letter,
                        description,
                    } => {
                        spans.store = store.as_ref().map(|s| s.span);
                        let inputs = Self::ports(consumes, "in");
                        let mut outputs = (Vec::new(), Vec::new());
                        self.dead_letter_port(&inputs.0, &mut outputs, dead_letter.as_ref());
                        (
                            ComponentKind::Sink {
                                store: store.as_ref().map(|s| Ref::unresolved(s.value.clone())),
                            },
                            inputs,
                            outputs,
                            description,
                        )
                    }
                    spec::ComponentSpec::Api {
                        expose,
                        prefix,
                        description,
                    } => {
                        let mut exposes = Vec::new();
                        for e in expose {
                            let store = match &e.store {
                                Some(s) => s.value.clone(),
                                None => {
                                    match stores_of.get(e.entity.value.as_str()).map(Vec::as_slice)
                                    {
                                        Some([only]) => (*only).to_owned(),
                                        // None or several: the resolve pass says which and why.
                                        _ => String::new(),
                                    }
                                }
                            };
                            let operations = match &e.ops {
                                Some(ops) => {
                                    let listed: FxHashSet<Operation> =
                                        ops.iter().map(|o| o.value).collect();
                                    ALL_OPERATIONS
                                        .into_iter()
                                        .filter(|o| listed.contains(o))
                                        .collect()
                                }
                                None => ALL_OPERATIONS.to_vec(),
                            };
                            let path = e.path.as_ref().map_or_else(
                                || format!("/{}", self.table_of(&e.entity.value).replace('_', "-")),
                                |p| p.value.clone(),
                            );
                            spans.exposes.push(ExposureSpans {
                                entity: e.entity.span,
                                store: e.store.as_ref().map(|s| s.span),
                                path: e.path.as_ref().map(|p| p.span),
                            });
                            exposes.push(Exposure {
                                entity: Ref::unresolved(e.entity.value.clone()),
                                store: Ref::unresolved(store),
                                operations,
                                path,
                            });
                        }
                        let prefix = prefix
                            .as_ref()
                            .map_or_else(|| DEFAULT_API_PREFIX.to_owned(), |p| p.value.clone());
                        (
                            ComponentKind::Api { prefix, exposes },
                            (Vec::new(), Vec::new()),
                            (Vec::new(), Vec::new()),
                            description,
                        )
                    }
                };
            spans.inputs = input_spans;
            spans.outputs = output_spans;
            self.spans.components.push(spans);
            arena.push(Component {
                name: name.value.clone(),
                kind,
                inputs,
                outputs,
                description: description.clone(),
            });
        }
        arena
    }

    /// The table name an entity will have, for default API paths.
    fn table_of(&self, entity: &str) -> String {
        self.spec
            .entities
            .get(entity)
            .and_then(|e| e.table.as_ref().map(|t| t.value.clone()))
            .unwrap_or_else(|| names::table_name(entity))
    }

    /// The only port of a component in one direction, by the spec, if it has exactly one.
    fn only_port(&self, component: &str, output: bool) -> String {
        let Some(spec) = self.spec.components.get(component) else {
            return String::new();
        };
        let ports = match (spec, output) {
            (
                spec::ComponentSpec::Source { emits, .. }
                | spec::ComponentSpec::Transformer { emits, .. },
                true,
            ) => Some((emits, "out")),
            (
                spec::ComponentSpec::Transformer { consumes, .. }
                | spec::ComponentSpec::Sink { consumes, .. },
                false,
            ) => Some((consumes, "in")),
            (spec::ComponentSpec::Store { .. }, false) => return "in".into(),
            _ => None,
        };
        match ports {
            Some((spec::Ports::One(_), name)) => name.to_owned(),
            Some((spec::Ports::Named(map), _)) if map.len() == 1 => map
                .keys()
                .next()
                .map(|k| k.value.clone())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn flows(&mut self) -> Arena<Flow> {
        let mut arena = Arena::with_capacity(self.spec.flows.len());
        self.spans.flows.reserve(self.spec.flows.len());
        for flow in &self.spec.flows {
            let (text, capacity) = match flow {
                spec::FlowSpec::Path(text) => (text, DEFAULT_CAPACITY),
                spec::FlowSpec::Detailed(d) => (
                    &d.flow,
                    d.capacity.as_ref().map_or(DEFAULT_CAPACITY, |c| c.value),
                ),
            };
            let endpoints = match syntax::flow(text) {
                Ok(endpoints) => endpoints,
                Err(e) => {
                    self.diags.push(syntax_diag(Code::FlowSyntax, "flow", text, &e).help(
                        "a flow is written `producer -> consumer`, `a -> b -> c`, or with ports `a.out -> b.in`",
                    ));
                    continue;
                }
            };
            let last = endpoints.len() - 1;
            for (i, middle) in endpoints.iter().enumerate() {
                if let (Some(port), true) = (&middle.port, i != 0 && i != last) {
                    self.diags.push(
                        Diagnostic::error(
                            Code::FlowSyntax,
                            "a port can only be named at either end of a chain",
                        )
                        .label(text.sub_span(port.range.clone()), "inside the chain")
                        .help("split the chain into separate flows to name the ports in between"),
                    );
                }
            }
            for pair in endpoints.windows(2) {
                let (from, to) = (&pair[0], &pair[1]);
                let from_port = from.port.as_ref().map_or_else(
                    || self.only_port(&from.component.value, true),
                    |p| p.value.clone(),
                );
                let to_port = to.port.as_ref().map_or_else(
                    || self.only_port(&to.component.value, false),
                    |p| p.value.clone(),
                );
                self.spans.flows.push(FlowSpans {
                    from: text.sub_span(from.range.clone()),
                    from_port: from.port.as_ref().map(|p| text.sub_span(p.range.clone())),
                    to: text.sub_span(to.range.clone()),
                    to_port: to.port.as_ref().map(|p| text.sub_span(p.range.clone())),
                    whole: text.span,
                });
                arena.push(Flow {
                    from: PortRef {
                        component: Ref::unresolved(from.component.value.clone()),
                        port: from_port,
                    },
                    to: PortRef {
                        component: Ref::unresolved(to.component.value.clone()),
                        port: to_port,
                    },
                    capacity,
                });
            }
        }
        // Each dead-letter sink is fed by a flow from the component's `dead_letter` port, so
        // that the passes check it like any flow (types, services, cycles) and it has metrics.
        for (name, component) in &self.spec.components {
            let (spec::ComponentSpec::Transformer {
                dead_letter: Some(target),
                ..
            }
            | spec::ComponentSpec::Sink {
                dead_letter: Some(target),
                ..
            }) = component
            else {
                continue;
            };
            // `SINK`, or `SINK.PORT` for a sink with several inputs.
            let (component, port, port_span) = match target.value.split_once('.') {
                Some((component, port)) => (
                    component.to_owned(),
                    port.to_owned(),
                    Some(target.sub_span(component.len() + 1..target.value.len())),
                ),
                None => (
                    target.value.clone(),
                    self.only_port(&target.value, false),
                    None,
                ),
            };
            self.spans.flows.push(FlowSpans {
                from: name.span,
                from_port: None,
                to: target.span,
                to_port: port_span,
                whole: target.span,
            });
            arena.push(Flow {
                from: PortRef {
                    component: Ref::unresolved(name.value.clone()),
                    port: DEAD_LETTER_PORT.to_owned(),
                },
                to: PortRef {
                    component: Ref::unresolved(component),
                    port,
                },
                capacity: DEFAULT_CAPACITY,
            });
        }
        arena
    }

    fn services(&mut self) -> Arena<Service> {
        let mut arena = Arena::default();
        let spec = self.spec;
        let Some(services) = &spec.deploy.services else {
            // Nothing to run, nothing to deploy.
            if spec.components.is_empty() {
                return arena;
            }
            self.spans.services.push(ServiceSpans {
                name: spec.system.name.span,
                ..ServiceSpans::default()
            });
            arena.push(Service {
                name: spec.system.name.value.clone(),
                components: spec
                    .components
                    .keys()
                    .map(|k| Ref::unresolved(k.value.clone()))
                    .collect(),
                replicas: DEFAULT_REPLICAS,
                port: DEFAULT_PORT,
                resources: Resources {
                    cpu_millicores: DEFAULT_CPU_MILLICORES,
                    memory_bytes: DEFAULT_MEMORY_BYTES,
                    cpu_limit_millicores: 2 * DEFAULT_CPU_MILLICORES,
                    memory_limit_bytes: 2 * DEFAULT_MEMORY_BYTES,
                },
            });
            return arena;
        };
        if let Some((first, _)) = services.first() {
            self.spans.deploy = first.span;
        }
        let listed: FxHashSet<&str> = services
            .values()
            .filter_map(|s| s.components.as_ref())
            .flatten()
            .map(|c| c.value.as_str())
            .collect();
        let mut rest_taken_by: Option<Span> = None;
        for (name, service) in services {
            let (components, component_spans) = match &service.components {
                Some(list) => (
                    list.iter()
                        .map(|c| Ref::unresolved(c.value.clone()))
                        .collect(),
                    list.iter().map(|c| c.span).collect(),
                ),
                None => {
                    if let Some(first) = rest_taken_by {
                        self.diags.push(
                            Diagnostic::error(
                                Code::ComponentPlacement,
                                format!(
                                    "service `{}` lists no components, and neither does another",
                                    name.value
                                ),
                            )
                            .label(name.span, "lists no components")
                            .label(first, "this one already runs the unlisted components")
                            .help("give one of them a `components:` list"),
                        );
                    }
                    rest_taken_by = Some(name.span);
                    (
                        spec.components
                            .keys()
                            .filter(|k| !listed.contains(k.value.as_str()))
                            .map(|k| Ref::unresolved(k.value.clone()))
                            .collect(),
                        Vec::new(),
                    )
                }
            };
            let resources = service.resources.as_ref();
            let cpu = resources
                .and_then(|r| r.cpu.as_ref())
                .and_then(|q| self.quantity(q, Resource::Cpu))
                .map_or(DEFAULT_CPU_MILLICORES, round_u32);
            let memory = resources
                .and_then(|r| r.memory.as_ref())
                .and_then(|m| self.quantity(m, Resource::Memory))
                .map_or(DEFAULT_MEMORY_BYTES, round_u64);
            let cpu_limit = resources
                .and_then(|r| r.cpu_limit.as_ref())
                .and_then(|q| self.quantity(q, Resource::Cpu))
                .map_or(cpu.saturating_mul(2), round_u32);
            let memory_limit = resources
                .and_then(|r| r.memory_limit.as_ref())
                .and_then(|m| self.quantity(m, Resource::Memory))
                .map_or(memory.saturating_mul(2), round_u64);
            self.spans.services.push(ServiceSpans {
                name: name.span,
                components: component_spans,
                replicas: service.replicas.as_ref().map(|r| r.span),
                port: service.port.as_ref().map(|p| p.span),
                cpu: resources.and_then(|r| r.cpu.as_ref()).map(|q| q.span),
                memory: resources.and_then(|r| r.memory.as_ref()).map(|m| m.span),
                cpu_limit: resources.and_then(|r| r.cpu_limit.as_ref()).map(|q| q.span),
                memory_limit: resources
                    .and_then(|r| r.memory_limit.as_ref())
                    .map(|m| m.span),
            });
            arena.push(Service {
                name: name.value.clone(),
                components,
                replicas: service
                    .replicas
                    .as_ref()
                    .map_or(DEFAULT_REPLICAS, |r| r.value),
                port: service.port.as_ref().map_or(DEFAULT_PORT, |p| p.value),
                resources: Resources {
                    cpu_millicores: cpu,
                    memory_bytes: memory,
                    cpu_limit_millicores: cpu_limit,
                    memory_limit_bytes: memory_limit,
                },
            });
        }
        arena
    }

    /// A quantity in its base unit (millicores, bytes), or `None` after reporting why not.
    fn quantity(&mut self, quantity: &Spanned<spec::Quantity>, what: Resource) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // quantities are far below 2^52
        let value = match &quantity.value {
            spec::Quantity::Integer(n) => *n as f64 * what.per_unit(),
            spec::Quantity::Number(n) => n * what.per_unit(),
            spec::Quantity::Text(text) => match what.parse(text) {
                Ok(v) => v,
                Err(e) => {
                    let spanned = Spanned::new(text.clone(), quantity.span);
                    self.diags.push(
                        syntax_diag(what.syntax_code(), what.words(), &spanned, &e)
                            .help(what.usage()),
                    );
                    return None;
                }
            },
        };
        let (least, most, range) = what.range();
        if !(least..=most).contains(&value) {
            self.diags.push(
                Diagnostic::error(
                    Code::BadResources,
                    format!("{} must be {range}", what.name()),
                )
                .label(quantity.span, "out of range"),
            );
            return None;
        }
        Some(value)
    }

    fn slos(&mut self) -> Arena<Slo> {
        let mut arena = Arena::with_capacity(self.spec.observe.slos.len());
        self.spans.slos.reserve(self.spec.observe.slos.len());
        for slo in &self.spec.observe.slos {
            let (text, name, description) = match slo {
                spec::SloSpec::Text(text) => (text, None, None),
                spec::SloSpec::Named(n) => (&n.slo, n.name.as_ref(), n.description.clone()),
            };
            let expr = match syntax::slo(text) {
                Ok(expr) => expr,
                Err(e) => {
                    self.diags.push(syntax_diag(Code::SloSyntax, "SLO", text, &e).help(
                        "an SLO is written like `api p99 latency < 20ms`, `api availability >= 99.9%`, `api throughput >= 1000rps` or `api error rate < 1%`",
                    ));
                    continue;
                }
            };
            let indicator = expr.indicator.value;
            let comparison = expr.comparison.value;
            let objective = match expr.value.value {
                syntax::SloValue::Percent(v) => Objective {
                    value: v,
                    unit: Unit::Percent,
                },
                syntax::SloValue::Milliseconds(ms) => Objective {
                    value: ms / 1000.0,
                    unit: Unit::Seconds,
                },
                syntax::SloValue::PerSecond(r) => Objective {
                    value: r,
                    unit: Unit::PerSecond,
                },
            };
            let default_name = format!(
                "{}_{}",
                expr.target.value,
                names::snake(&indicator.words().replace('.', "_"))
            );
            self.spans.slos.push(SloSpans {
                whole: text.span,
                component: text.sub_span(expr.target.range.clone()),
                indicator: text.sub_span(expr.indicator.range.clone()),
                comparison: text.sub_span(expr.comparison.range.clone()),
                value: text.sub_span(expr.value.range.clone()),
                name: name.map(|n| n.span),
            });
            arena.push(Slo {
                name: name.map_or(default_name, |n| n.value.clone()),
                text: text.value.clone(),
                component: Ref::unresolved(expr.target.value.clone()),
                indicator,
                comparison,
                objective,
                window_ms: expr
                    .window
                    .map_or(DEFAULT_SLO_WINDOW_MS, |w| round_u64(w.value)),
                description,
            });
        }
        arena
    }
}

/// The options of a field written as its type alone: every one takes its default.
static NO_OPTIONS: std::sync::LazyLock<spec::FieldSpec> =
    std::sync::LazyLock::new(|| spec::FieldSpec {
        ty: Spanned::new(String::new(), Span::default()),
        primary_key: false,
        nullable: false,
        unique: false,
        index: false,
        default: None,
        on_delete: None,
        on_update: None,
        min: None,
        max: None,
        format: None,
        column: None,
        description: None,
    });

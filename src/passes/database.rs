//! Databases: what each engine can hold, references that can become foreign keys, table and
//! index names that fit the engine, and the order to create tables in.
//!
//! An entity has a table in every database a store puts it in. Facts record, per database, the
//! tables in creation order (referenced tables first; a cycle of references is broken by
//! deferring the foreign keys that point forward, to be added after the tables), every index
//! and constraint name fitted to the engine's identifier limit, and the identifiers that are
//! reserved words of the engine.

use super::Facts;
use super::keywords::is_reserved;
use super::order::stable_order;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{ComponentKind, Engine, Entity, EntityId, FieldType, Ir, Isolation, RefAction};
use crate::source::Span;
use rustc_hash::FxHashMap;
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DatabaseFacts {
    pub database: String,
    pub engine: Engine,
    /// The stored entities' tables, in an order they can be created in.
    pub tables: Vec<TableFacts>,
    /// Table, column and index names used here that are reserved words of the engine; a
    /// backend quotes them.
    pub reserved_identifiers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TableFacts {
    pub entity: String,
    pub table: String,
    /// The primary key constraint's name.
    pub primary_key_name: String,
    pub primary_key_columns: Vec<String>,
    pub indexes: Vec<IndexFacts>,
    pub foreign_keys: Vec<ForeignKeyFacts>,
    /// The named enum types of this table's enum columns (and lists of enums), on engines
    /// that have them (PostgreSQL); empty elsewhere.
    pub enum_types: Vec<EnumTypeFacts>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnumTypeFacts {
    pub column: String,
    /// `TABLE_COLUMN_enum`, fitted; with a hash of the table and column before `_enum` when
    /// that name is taken by another type or a table (each table is also a row type).
    pub name: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IndexFacts {
    /// Fitted to the engine's identifier limit.
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ForeignKeyFacts {
    /// The constraint's name, fitted to the engine's identifier limit.
    pub name: String,
    pub field: String,
    pub column: String,
    /// The referenced entity, its table and its key column.
    pub references_entity: String,
    pub references_table: String,
    pub references_column: String,
    pub on_delete: RefAction,
    pub on_update: RefAction,
    /// Added after every table exists (`ALTER TABLE … ADD CONSTRAINT`), because the
    /// reference closes a cycle or points at a table created later.
    pub deferred: bool,
}

/// The longest identifier each engine accepts, in bytes.
fn identifier_limit(engine: Engine) -> Option<usize> {
    match engine {
        Engine::Postgresql => Some(63),
        Engine::Mysql => Some(64),
        Engine::Sqlite => None,
    }
}

/// A generated name that fits the engine: cut, with a stable hash of the full name appended
/// so that two long names that share a beginning stay different.
fn fit_identifier(name: &str, engine: Engine) -> String {
    match identifier_limit(engine) {
        Some(limit) if name.len() > limit => {
            let digest = Sha256::digest(name.as_bytes());
            let hash = digest[..4].iter().fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            let mut cut = limit - hash.len() - 1;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}_{hash}", name[..cut].trim_end_matches('_'))
        }
        _ => name.to_owned(),
    }
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgresql => "PostgreSQL",
        Engine::Mysql => "MySQL",
        Engine::Sqlite => "SQLite",
    }
}

/// Why `engine` cannot hold a column of type `ty`, if it cannot.
fn type_problem(engine: Engine, ty: &FieldType) -> Option<String> {
    match (engine, ty) {
        (Engine::Mysql, FieldType::Decimal { precision, .. }) if *precision > 65 => {
            Some("MySQL decimals hold at most 65 digits".into())
        }
        (Engine::Mysql, FieldType::Decimal { scale, .. }) if *scale > 30 => {
            Some("MySQL decimals hold at most 30 digits after the point".into())
        }
        (
            Engine::Mysql,
            FieldType::String {
                max_length: Some(n),
            },
        ) if *n > 16_383 => Some(
            "MySQL VARCHAR holds at most 16383 characters; write `string` for longer text".into(),
        ),
        (
            Engine::Postgresql,
            FieldType::String {
                max_length: Some(n),
            },
        ) if *n > 10_485_760 => Some(
            "PostgreSQL VARCHAR holds at most 10485760 characters; write `string` for longer text"
                .into(),
        ),
        _ => None,
    }
}

/// Why `engine` cannot index a column of type `ty`, if it cannot.
fn index_problem(engine: Engine, ty: &FieldType) -> Option<&'static str> {
    if engine != Engine::Mysql {
        return None;
    }
    match ty {
        FieldType::String { max_length: None } => Some(
            "MySQL cannot index text of unbounded length; give it a length such as `string(255)`",
        ),
        FieldType::String {
            max_length: Some(n),
        } if *n > 768 => Some(
            "MySQL index keys hold at most 3072 bytes, 768 characters of utf8mb4 text; shorten the string",
        ),
        FieldType::Json | FieldType::List { .. } => Some("MySQL cannot index JSON columns"),
        FieldType::Bytes => Some("MySQL cannot index blobs of unbounded length"),
        _ => None,
    }
}

/// The most bytes a value of `ty` takes in a MySQL index key (utf8mb4 text: 4 per character).
fn mysql_bytes(ir: &Ir, ty: &FieldType) -> u64 {
    match ty {
        FieldType::String {
            max_length: Some(n),
        } => 4 * u64::from(*n),
        FieldType::Uuid => 4 * 36,
        FieldType::Decimal { precision, .. } => u64::from(*precision) / 2 + 1,
        FieldType::Ref { entity } => entity
            .try_id()
            .and_then(|id| ir.entities[id].single_key())
            .filter(|key| !matches!(key.ty, FieldType::Ref { .. }))
            .map_or(8, |key| mysql_bytes(ir, &key.ty)),
        _ => 8,
    }
}

/// The most bytes a value of `ty` takes in a MySQL row: long text, JSON and blobs live
/// outside it, behind a pointer.
fn mysql_row_bytes(ir: &Ir, ty: &FieldType) -> u64 {
    match ty {
        FieldType::String {
            max_length: Some(n),
        } => 4 * u64::from(*n) + 2,
        FieldType::String { max_length: None }
        | FieldType::Json
        | FieldType::Bytes
        | FieldType::List { .. } => 12,
        _ => mysql_bytes(ir, ty),
    }
}

/// What a reference needs to know of its target, gathered once into a compact table:
/// references jump between entities, and the entities themselves are large and far apart.
struct Target<'a> {
    name: &'a str,
    table: &'a str,
    key_fields: usize,
    key_column: Option<&'a str>,
}

pub fn run(ir: &Ir, facts: &mut Facts, diags: &mut Diagnostics) {
    let targets: Vec<Target<'_>> = ir
        .entities
        .values()
        .map(|e| Target {
            name: &e.name,
            table: &e.table,
            key_fields: e.primary_key.len(),
            key_column: e.single_key().map(|k| k.column.as_str()),
        })
        .collect();
    // The entities each database stores, in declaration order.
    let mut stored: Vec<BTreeSet<EntityId>> = vec![BTreeSet::new(); ir.databases.len()];
    let mut store_span: FxHashMap<(usize, EntityId), Span> = FxHashMap::default();
    for (id, component) in ir.components.iter() {
        if let ComponentKind::Store {
            database, entity, ..
        } = &component.kind
        {
            let db = database.id().index();
            stored[db].insert(entity.id());
            store_span
                .entry((db, entity.id()))
                .or_insert(ir.spans.component(id).name);
        }
    }

    // Entities without a key, and keys that references cannot use, are reported once each.
    let mut reported_no_key: BTreeSet<EntityId> = BTreeSet::new();
    for (db_id, database) in ir.databases.iter() {
        let db_spans = ir.spans.database(db_id);
        let engine = database.engine;
        let entities = &stored[db_id.index()];

        if entities.is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::UnusedDatabase,
                    format!(
                        "database `{}` is declared but no store uses it",
                        database.name
                    ),
                )
                .label(db_spans.name, "unused"),
            );
        }
        if database.pool.min > database.pool.max {
            diags.push(
                Diagnostic::error(
                    Code::BadPool,
                    format!(
                        "the pool of `{}` keeps {} connections open but allows only {}",
                        database.name, database.pool.min, database.pool.max
                    ),
                )
                .label(db_spans.pool.unwrap_or(db_spans.name), "min > max"),
            );
        }
        if engine == Engine::Sqlite && database.isolation != Isolation::Serializable {
            diags.push(
                Diagnostic::error(
                    Code::EngineUnsupported,
                    "SQLite transactions are always serializable",
                )
                .label(db_spans.isolation.unwrap_or(db_spans.name), "not available")
                .help("remove `isolation:` or write `serializable`"),
            );
        }

        for &entity_id in entities {
            let entity = &ir.entities[entity_id];
            let spans = ir.spans.entity(entity_id);
            if entity.primary_key.is_empty() && reported_no_key.insert(entity_id) {
                diags.push(
                    Diagnostic::error(
                        Code::NoPrimaryKey,
                        format!("`{}` is stored but has no primary key", entity.name),
                    )
                    .label(spans.name, "no primary key")
                    .label(store_span[&(db_id.index(), entity_id)], "stored here")
                    .help("add a field such as `id: { type: uuid, primary_key: true }`"),
                );
            }
            let here = Here {
                engine,
                database: &database.name,
                stored: entities,
            };
            check_fields(&here, entity, spans, ir, &targets, diags);
            check_identifiers(engine, entity, spans, diags);
        }

        // Table names within one database. They are lower case already (the schema's name
        // pattern, or derived from the entity name), so they compare as they are.
        let mut tables: FxHashMap<&str, EntityId> = FxHashMap::default();
        for &entity_id in entities {
            let entity = &ir.entities[entity_id];
            if let Some(&other) = tables.get(entity.table.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::TableCollision,
                        format!(
                            "`{}` and `{}` would both be stored in table `{}` of `{}`",
                            ir.entities[other].name, entity.name, entity.table, database.name
                        ),
                    )
                    .label(ir.spans.entity(entity_id).table, "this table")
                    .label(ir.spans.entity(other).table, "the same table")
                    .help("set `table:` on one of them"),
                );
            } else {
                tables.insert(&entity.table, entity_id);
            }
        }

        facts.databases.push(database_facts(
            ir,
            &targets,
            engine,
            &database.name,
            entities,
            diags,
        ));
    }
}

/// The database being checked.
struct Here<'a> {
    engine: Engine,
    database: &'a str,
    /// The entities it stores.
    stored: &'a BTreeSet<EntityId>,
}

fn check_fields(
    here: &Here<'_>,
    entity: &Entity,
    spans: &crate::ir::EntitySpans,
    ir: &Ir,
    targets: &[Target<'_>],
    diags: &mut Diagnostics,
) {
    let Here {
        engine,
        database,
        stored: stored_here,
    } = *here;
    let indexed: Vec<&str> = entity
        .indexes
        .iter()
        .flat_map(|i| i.fields.iter())
        .chain(&entity.primary_key)
        .map(String::as_str)
        .collect();
    for (field, field_spans) in entity.fields.iter().zip(&spans.fields) {
        if let Some(problem) = type_problem(engine, &field.ty) {
            diags.push(Diagnostic::error(Code::EngineUnsupported, problem).label(
                field_spans.ty,
                format!("not supported by {}", engine_name(engine)),
            ));
        }
        if indexed.contains(&field.name.as_str()) {
            if let Some(problem) = index_problem(engine, &field.ty) {
                diags.push(Diagnostic::error(Code::EngineUnsupported, problem).label(
                    field_spans.ty,
                    "indexed here (a key, index or unique field)",
                ));
            }
        }
        let FieldType::Ref { entity: target } = &field.ty else {
            continue;
        };
        let target_id = target.id();
        if !stored_here.contains(&target_id) {
            diags.push(
                Diagnostic::error(
                    Code::RefAcrossDatabases,
                    format!(
                        "`{}.{}` refers to `{}`, which database `{database}` does not store",
                        entity.name, field.name, target.name
                    ),
                )
                .label(
                    field_spans.ty_name,
                    "a foreign key needs its target in the same database",
                )
                .help(format!(
                    "add a store `{{ kind: store, database: {database}, entity: {} }}`",
                    target.name
                )),
            );
        }
        let target_info = &targets[target_id.index()];
        if target_info.key_fields != 1 {
            let why = if target_info.key_fields == 0 {
                "has no primary key"
            } else {
                "has a primary key of several fields"
            };
            diags.push(
                Diagnostic::error(
                    Code::RefTargetNoKey,
                    format!("`{}.{}` refers to `{}`, which {why}", entity.name, field.name, target.name),
                )
                .label(field_spans.ty_name, "cannot be a foreign key")
                .label(ir.spans.entity(target_id).name, "this entity")
                .help("a reference points at one key field; give the target a single-field primary key"),
            );
        }
        if engine == Engine::Mysql {
            for (name, action, span) in [
                ("on_delete", field.on_delete, field_spans.on_delete()),
                ("on_update", field.on_update, field_spans.on_update()),
            ] {
                if action == Some(RefAction::SetDefault) {
                    diags.push(
                        Diagnostic::error(
                            Code::EngineUnsupported,
                            format!("MySQL and MariaDB (InnoDB) reject `{name}: set_default`"),
                        )
                        .label(span.unwrap_or(field_spans.name), "not supported by MySQL")
                        .help("choose `set_null`, `cascade` or `restrict`"),
                    );
                }
            }
        }
    }
    if engine == Engine::Mysql {
        let key_bytes = |fields: &[String]| -> u64 {
            fields
                .iter()
                .filter_map(|f| entity.field(f))
                .map(|f| mysql_bytes(ir, &f.ty))
                .sum()
        };
        let key_span = spans
            .primary_key
            .iter()
            .copied()
            .reduce(Span::join)
            .unwrap_or(spans.name);
        let key = std::iter::once((&entity.primary_key, key_span, "primary key"));
        let index_keys = entity
            .indexes
            .iter()
            .zip(&spans.indexes)
            .map(|(index, s)| (&index.fields, s.whole, "index"));
        for (fields, span, what) in key.chain(index_keys) {
            let bytes = key_bytes(fields);
            if fields.len() > 1 && bytes > 3072 {
                diags.push(
                    Diagnostic::error(
                        Code::EngineUnsupported,
                        format!("this {what} is up to {bytes} bytes long; MySQL allows 3072"),
                    )
                    .label(span, format!("{what} too wide for MySQL"))
                    .help(
                        "shorten its string fields (each character of utf8mb4 takes up to 4 bytes)",
                    ),
                );
            }
        }
        let row: u64 = entity
            .fields
            .iter()
            .map(|f| mysql_row_bytes(ir, &f.ty))
            .sum();
        if row > 65_535 {
            diags.push(
                Diagnostic::error(
                    Code::EngineUnsupported,
                    format!(
                        "a row of `{}` is up to {row} bytes; MySQL allows 65535",
                        entity.name
                    ),
                )
                .label(spans.name, "too wide for MySQL")
                .help("make the longest strings `text`, which MySQL keeps outside the row"),
            );
        }
    }
}

fn check_identifiers(
    engine: Engine,
    entity: &Entity,
    spans: &crate::ir::EntitySpans,
    diags: &mut Diagnostics,
) {
    let Some(limit) = identifier_limit(engine) else {
        return;
    };
    let mut check = |what: &str, name: &str, span: Span| {
        if name.len() > limit {
            diags.push(
                Diagnostic::error(
                    Code::IdentifierTooLong,
                    format!(
                        "{what} name `{name}` is {} bytes long; {} allows {limit}",
                        name.len(),
                        engine_name(engine)
                    ),
                )
                .label(span, "too long"),
            );
        }
    };
    check("table", &entity.table, spans.table);
    for (field, field_spans) in entity.fields.iter().zip(&spans.fields) {
        check("column", &field.column, field_spans.column());
    }
    for (index, index_spans) in entity.indexes.iter().zip(&spans.indexes) {
        if let (Some(name), Some(span)) = (&index.name, index_spans.name) {
            check("index", name, span);
        }
    }
}

fn database_facts<'a>(
    ir: &'a Ir,
    targets: &[Target<'_>],
    engine: Engine,
    database: &str,
    entities: &BTreeSet<EntityId>,
    diags: &mut Diagnostics,
) -> DatabaseFacts {
    let members: Vec<EntityId> = entities.iter().copied().collect();
    // Each entity's place among this database's members, if it is one.
    let mut position: Vec<Option<usize>> = vec![None; ir.entities.len()];
    for (i, &e) in members.iter().enumerate() {
        position[e.index()] = Some(i);
    }
    // before[i]: the tables entity i references (other than itself).
    let before: Vec<Vec<usize>> = members
        .iter()
        .map(|&e| {
            ir.entities[e]
                .fields
                .iter()
                .filter_map(|f| match &f.ty {
                    FieldType::Ref { entity } => position[entity.id().index()],
                    _ => None,
                })
                .filter(|&p| members[p] != e)
                .collect()
        })
        .collect();
    let groups = stable_order(members.len(), &before);
    let mut created_at = vec![0usize; members.len()];
    let mut order = Vec::with_capacity(members.len());
    // Each member's group, named by the group's first member, for constant-time membership.
    let mut group_leader = vec![0usize; members.len()];
    for group in &groups {
        for &i in group {
            group_leader[i] = group[0];
        }
    }
    for group in &groups {
        for &i in group {
            created_at[i] = order.len();
            order.push(i);
        }
        // A cycle in which every reference is required cannot get its first row.
        let closes_cycle = group.len() > 1
            || group.iter().any(|&i| {
                let e = &ir.entities[members[i]];
                e.fields.iter().any(|f| matches!(&f.ty, FieldType::Ref { entity } if entity.id() == members[i] && !f.nullable))
            });
        if closes_cycle {
            let in_group =
                |id: EntityId| position[id.index()].is_some_and(|p| group_leader[p] == group[0]);
            let all_required = group.iter().all(|&i| {
                ir.entities[members[i]].fields.iter().all(|f| match &f.ty {
                    FieldType::Ref { entity } if in_group(entity.id()) => !f.nullable,
                    _ => true,
                })
            });
            if all_required {
                let names: Vec<&str> = group
                    .iter()
                    .map(|&i| ir.entities[members[i]].name.as_str())
                    .collect();
                let first = members[group[0]];
                diags.push(
                    Diagnostic::warning(
                        Code::RequiredRefCycle,
                        format!(
                            "{} refer to each other through required references only",
                            crate::diag::all_of(&names)
                        ),
                    )
                    .label(ir.spans.entity(first).name, "part of the cycle")
                    .note("no row can be inserted first: each needs a row of the next to exist already")
                    .help("make one of the references `nullable: true`"),
                );
            }
        }
    }

    let mut reserved = BTreeSet::new();
    let mut note_reserved = |name: &str| {
        if is_reserved(engine, name) {
            reserved.insert(name.to_owned());
        }
    };
    // Index and constraint names share one namespace per database here, which is PostgreSQL's
    // and SQLite's rule for indexes and the strictest of the three. On those two, tables are in
    // it too.
    // Each name, with the label for its first use.
    let mut names: FxHashMap<String, (String, Span)> = FxHashMap::default();
    if engine != Engine::Mysql {
        for &i in &order {
            let entity = &ir.entities[members[i]];
            names.entry(entity.table.clone()).or_insert((
                format!("the table `{}`", entity.table),
                ir.spans.entity(members[i]).table,
            ));
        }
    }
    // PostgreSQL's types: each table's row type, then the enum types made below.
    let mut types: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
    if engine == Engine::Postgresql {
        types.extend(order.iter().map(|&i| ir.entities[members[i]].table.clone()));
    }
    let mut claim = |name: &str, owner: &'a str, span: Span, diags: &mut Diagnostics| {
        if let Some((first, first_span)) = names.get(name) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateIndexName,
                    format!(
                        "two tables, indexes or constraints in `{database}` would be named `{name}`"
                    ),
                )
                .label(span, format!("on `{owner}`"))
                .label(*first_span, format!("and {first}"))
                .help("name one of them with `name:`, or remove a duplicate index"),
            );
        } else {
            names.insert(name.to_owned(), (format!("on `{owner}`"), span));
        }
    };

    let mut tables = Vec::with_capacity(members.len());
    let mut table_names = rustc_hash::FxHashSet::default();
    for &i in &order {
        let entity_id = members[i];
        let entity = &ir.entities[entity_id];
        // A second entity in the same table is reported as a collision; its names would only
        // collide again.
        if !table_names.insert(entity.table.as_str()) {
            continue;
        }
        let spans = ir.spans.entity(entity_id);
        note_reserved(&entity.table);
        for field in &entity.fields {
            note_reserved(&field.column);
        }
        let column_of = |name: &str| {
            entity
                .field(name)
                .map_or_else(|| name.to_owned(), |f| f.column.clone())
        };
        let primary_key_name = fit_identifier(&format!("{}_pkey", entity.table), engine);
        claim(&primary_key_name, &entity.table, spans.name, diags);
        let mut indexes = Vec::new();
        for (index, index_spans) in entity.indexes.iter().zip(&spans.indexes) {
            let columns: Vec<String> = index.fields.iter().map(|f| column_of(f)).collect();
            let name = index.name.clone().unwrap_or_else(|| {
                let suffix = if index.unique { "key" } else { "idx" };
                fit_identifier(
                    &format!("{}_{}_{suffix}", entity.table, columns.join("_")),
                    engine,
                )
            });
            note_reserved(&name);
            claim(
                &name,
                &entity.table,
                index_spans.name.unwrap_or(index_spans.whole),
                diags,
            );
            indexes.push(IndexFacts {
                name,
                columns,
                unique: index.unique,
            });
        }
        let mut foreign_keys = Vec::new();
        for (field, field_spans) in entity.fields.iter().zip(&spans.fields) {
            let FieldType::Ref { entity: target } = &field.ty else {
                continue;
            };
            let target_info = &targets[target.id().index()];
            let name = fit_identifier(&format!("{}_{}_fkey", entity.table, field.column), engine);
            claim(&name, &entity.table, field_spans.name, diags);
            let deferred = position[target.id().index()]
                .is_some_and(|p| p != i && created_at[p] > created_at[i]);
            foreign_keys.push(ForeignKeyFacts {
                name,
                field: field.name.clone(),
                column: field.column.clone(),
                references_entity: target_info.name.to_owned(),
                references_table: target_info.table.to_owned(),
                references_column: target_info.key_column.unwrap_or_default().to_owned(),
                on_delete: field.on_delete.unwrap_or(RefAction::Restrict),
                on_update: field.on_update.unwrap_or(RefAction::Cascade),
                deferred,
            });
        }
        let mut enum_types = Vec::new();
        if engine == Engine::Postgresql {
            for field in &entity.fields {
                let mut ty = &field.ty;
                while let FieldType::List { item } = ty {
                    ty = item;
                }
                if !matches!(ty, FieldType::Enum { .. }) {
                    continue;
                }
                let mut name =
                    fit_identifier(&format!("{}_{}_enum", entity.table, field.column), engine);
                if types.contains(&name) {
                    // `a_b.c` and `a.b_c` meet at `a_b_c_enum`; the hash of the table and
                    // column tells them apart.
                    let digest = Sha256::digest(format!("{}.{}", entity.table, field.column));
                    let mut hash = String::new();
                    for byte in &digest[..4] {
                        let _ = write!(hash, "{byte:02x}");
                    }
                    let stem = format!("{}_{}", entity.table, field.column);
                    let room = identifier_limit(engine).unwrap_or(usize::MAX) - hash.len() - 6;
                    let stem = &stem[..stem.len().min(room)];
                    name = format!("{stem}_{hash}_enum");
                }
                types.insert(name.clone());
                enum_types.push(EnumTypeFacts {
                    column: field.column.clone(),
                    name,
                });
            }
        }
        tables.push(TableFacts {
            entity: entity.name.clone(),
            table: entity.table.clone(),
            primary_key_name,
            primary_key_columns: entity.primary_key.iter().map(|k| column_of(k)).collect(),
            indexes,
            foreign_keys,
            enum_types,
        });
    }

    DatabaseFacts {
        database: database.to_owned(),
        engine,
        tables,
        reserved_identifiers: reserved.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_names_are_short_stable_and_distinct() {
        let long_a = format!("{}_a_key", "t".repeat(70));
        let long_b = format!("{}_b_key", "t".repeat(70));
        let a = fit_identifier(&long_a, Engine::Postgresql);
        let b = fit_identifier(&long_b, Engine::Postgresql);
        assert!(a.len() <= 63 && b.len() <= 63);
        assert_ne!(a, b);
        assert_eq!(a, fit_identifier(&long_a, Engine::Postgresql));
        assert_eq!(fit_identifier("short_key", Engine::Mysql), "short_key");
        assert_eq!(fit_identifier(&long_a, Engine::Sqlite), long_a);
    }
}

//! The SQL backend against real servers: PostgreSQL 15, MariaDB 10.11 and SQLite 3.
//!
//! For every example and every database it declares, and for the fixture with every type
//! (`tests/fixtures/good/every-type.yaml`), each test:
//!
//! 1. applies the generated `schema.sql` as is, with the engine's own client, to a fresh
//!    database;
//! 2. inserts a row into every table in foreign-key order, giving only the columns that have no
//!    default (so the database fills in generated keys, `now` and random UUIDs), then two rows
//!    with every column; references that close a cycle are set by an `UPDATE` afterwards;
//! 3. shows that a row breaking a NOT NULL, UNIQUE (and primary key), CHECK (and type) or
//!    foreign key constraint is rejected, with the engine's message for that kind of failure,
//!    and that the same row without the fault is accepted;
//! 4. reads the catalogue back (`pg_catalog`, `information_schema`, `pragma_*`) and compares
//!    each table's columns, types, nullability, primary key, indexes and foreign keys with the
//!    IR and its database facts.
//!
//! They need the servers, so plain `cargo test` skips them; the full test command
//! (`tools/test-all`) starts the servers (`tools/databases`) and runs them. Run alone:
//! `eval "$(tools/databases start)"; cargo test --test databases -- --ignored`.

mod common;

use common::db::Database;
use common::{analyse, specs_in};

use std::fmt::Write as _;
use std::path::PathBuf;
use v5c::backends::Backend;
use v5c::backends::sql::SqlBackend;
use v5c::ir::{Engine, Entity, Field, FieldDefault, FieldType, Ir, RefAction};
use v5c::passes::{DatabaseFacts, TableFacts};

// ---------------------------------------------------------------------------------------------
// Servers and fresh databases.

// ---------------------------------------------------------------------------------------------
// Specs.

fn specs() -> Vec<PathBuf> {
    specs_in(&["examples", "tests/fixtures/good"])
}

fn engine_dir(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgresql => "postgresql",
        Engine::Mysql => "mysql",
        Engine::Sqlite => "sqlite",
    }
}

/// Runs the whole check for every spec and every database on `engine`.
fn check_engine(engine: Engine) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in specs() {
        let analysed = analyse(&path);
        let emitted = SqlBackend.emit(&analysed).unwrap_or_else(|d| {
            panic!(
                "{}: {}",
                path.display(),
                v5c::diag::render_graphical(&d, 100, false)
            )
        });
        let stem = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        for facts in analysed
            .facts()
            .databases
            .iter()
            .filter(|d| d.engine == engine)
        {
            let file = format!("sql/{}/{}/schema.sql", facts.database, engine_dir(engine));
            let ddl =
                std::str::from_utf8(emitted.files.get(&file).expect("schema file")).expect("UTF-8");
            let label = format!("{stem}_{}", facts.database);
            let run = Run {
                db: Database::fresh(engine, &label),
                ir: analysed.ir(),
                facts,
                failures: std::cell::RefCell::default(),
                context: format!("{} database `{}`", path.display(), facts.database),
            };
            run.all(ddl);
            checked += 1;
            failures.extend(run.failures.into_inner());
        }
    }
    assert!(checked > 0, "no spec declares a {engine:?} database");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
#[ignore = "needs PostgreSQL: run by tools/test-all"]
fn postgresql() {
    check_engine(Engine::Postgresql);
}

#[test]
#[ignore = "needs MariaDB: run by tools/test-all"]
fn mariadb() {
    check_engine(Engine::Mysql);
}

#[test]
#[ignore = "needs sqlite3: run by tools/test-all"]
fn sqlite() {
    check_engine(Engine::Sqlite);
}

// ---------------------------------------------------------------------------------------------
// One database's run.

struct Run<'a> {
    db: Database,
    ir: &'a Ir,
    facts: &'a DatabaseFacts,
    failures: std::cell::RefCell<Vec<String>>,
    context: String,
}

/// A row to insert: column name and SQL literal.
type Row = Vec<(String, String)>;

/// The kinds of failure, by the words each engine's message uses.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    NotNull,
    Unique,
    Check,
    /// The value does not fit the column's type (too long, not a member, not parseable).
    Type,
    ForeignKey,
}

impl Fault {
    fn matches(self, engine: Engine, message: &str) -> bool {
        let m = message.to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
        match (self, engine) {
            (Fault::NotNull, Engine::Postgresql) => any(&["violates not-null constraint"]),
            (Fault::NotNull, Engine::Mysql) => any(&["cannot be null"]),
            (Fault::NotNull, Engine::Sqlite) => any(&["not null constraint failed"]),
            (Fault::Unique, Engine::Postgresql) => any(&["violates unique constraint"]),
            (Fault::Unique, Engine::Mysql) => any(&["duplicate entry"]),
            (Fault::Unique, Engine::Sqlite) => any(&["unique constraint failed"]),
            (Fault::Check, Engine::Postgresql) => any(&["violates check constraint"]),
            (Fault::Check, Engine::Mysql) => m.contains("constraint `") && m.contains("` failed"),
            (Fault::Check, Engine::Sqlite) => any(&["check constraint failed"]),
            (Fault::Type, Engine::Postgresql) => any(&[
                "invalid input",
                "value too long",
                "malformed array literal",
                "is of type",
            ]),
            (Fault::Type, Engine::Mysql) => any(&[
                "data too long",
                "data truncated",
                "incorrect",
                "out of range",
            ]),
            (Fault::Type, Engine::Sqlite) => any(&["cannot store", "check constraint failed"]),
            (Fault::ForeignKey, Engine::Postgresql) => any(&["violates foreign key constraint"]),
            (Fault::ForeignKey, Engine::Mysql) => any(&["foreign key constraint fails"]),
            (Fault::ForeignKey, Engine::Sqlite) => any(&["foreign key constraint failed"]),
        }
    }
}

impl<'a> Run<'a> {
    fn fail(&self, what: impl std::fmt::Display) {
        self.failures
            .borrow_mut()
            .push(format!("{}: {what}", self.context));
    }

    fn entity(&self, table: &TableFacts) -> &'a Entity {
        self.ir
            .entities
            .values()
            .find(|e| e.name == table.entity)
            .expect("the table's entity")
    }

    fn all(&self, ddl: &str) {
        if let Err(e) = self.db.run(ddl) {
            self.fail(format!("the DDL does not apply:\n{e}"));
            return;
        }
        // A second application must fail: the schema file is for an empty database, and a
        // half-applied file would otherwise go unnoticed.
        if self.db.run(ddl).is_ok() {
            self.fail("applying the DDL twice succeeded; it should refuse existing tables");
        }
        if self.insert_rows() {
            self.constraints();
        }
        self.catalogue();
    }

    // -----------------------------------------------------------------------------------------
    // Values.

    /// The stored type of a field: a reference's is its target key's.
    fn stored<'f>(&'f self, field: &'f Field) -> &'f FieldType {
        let mut ty = &field.ty;
        while let FieldType::Ref { entity } = ty {
            let target = &self.ir.entities[entity.id()];
            ty = &target
                .single_key()
                .expect("a reference's target has one key")
                .ty;
        }
        ty
    }

    /// The `n`th value of a field: distinct for each `n`, within the field's bounds.
    fn value(&self, field: &Field, n: i64) -> String {
        let ty = self.stored(field);
        self.value_of(ty, (field.min, field.max), n)
    }

    #[allow(clippy::cast_possible_truncation)]
    #[allow(clippy::cast_precision_loss)]
    fn value_of(&self, ty: &FieldType, bounds: (Option<f64>, Option<f64>), n: i64) -> String {
        let engine = self.db.engine;
        // Numbers: the nth of a hundred steps from the lower bound to the upper.
        let lo = bounds
            .0
            .unwrap_or_else(|| bounds.1.map_or(0.0, |hi| hi.min(0.0) - 100.0));
        let hi = bounds.1.unwrap_or(lo + 1000.0);
        let step = |scale: u32| {
            let v = lo + (hi - lo) * (n as f64) / 100.0;
            let digits = scale as usize;
            let mut s = format!("{v:.digits$}");
            // Rounding may cross a bound; step back inside.
            if s.parse::<f64>().is_ok_and(|x| x < lo || x > hi) {
                s = format!("{:.digits$}", if v < lo { lo } else { hi });
            }
            s
        };
        match ty {
            FieldType::Uuid => text(&format!("00000000-0000-4000-8000-{n:012}")),
            FieldType::String { max_length } => {
                let s = format!("s{n}");
                let max = max_length.map_or(s.len(), |m| m as usize);
                text(&s[s.len().saturating_sub(max)..])
            }
            FieldType::Int { .. } => step(0),
            FieldType::Decimal { scale, .. } => {
                let v = step(*scale);
                if engine == Engine::Sqlite {
                    text(&v)
                } else {
                    v
                }
            }
            FieldType::Float { .. } => step(3),
            FieldType::Bool => match (engine, n % 2 == 0) {
                (Engine::Sqlite, b) => i32::from(b).to_string(),
                (_, b) => b.to_string(),
            },
            // SQLite keeps times as text in exactly the form strftime writes.
            FieldType::Timestamp => text(&match engine {
                Engine::Mysql => format!("{} 10:00:00.5", day(n)),
                Engine::Postgresql => format!("{}T10:00:00.5Z", day(n)),
                Engine::Sqlite => format!("{}T10:00:00.500Z", day(n)),
            }),
            FieldType::Datetime => text(&match engine {
                Engine::Mysql => format!("{} 10:00:00", day(n)),
                Engine::Postgresql => format!("{}T10:00:00", day(n)),
                Engine::Sqlite => format!("{}T10:00:00.000", day(n)),
            }),
            FieldType::Date => text(&day(n)),
            FieldType::Time => {
                let clock = format!("10:{:02}:{:02}", n / 60 % 60, n % 60);
                text(&match engine {
                    Engine::Sqlite => format!("{clock}.000"),
                    _ => clock,
                })
            }
            FieldType::Json => text(&format!("{{\"n\": {n}}}")),
            FieldType::Bytes => match engine {
                Engine::Postgresql => format!("'\\x01{n:02}'"),
                _ => format!("X'01{n:02}'"),
            },
            // The first value is left for row 0, which is never inserted.
            FieldType::Enum { values } => {
                let n = usize::try_from(n).expect("n");
                let i = if n == 0 || values.len() == 1 {
                    0
                } else {
                    1 + (n - 1) % (values.len() - 1)
                };
                text(&values[i])
            }
            FieldType::List { item } => {
                let one = self.value_of(item, (None, None), n);
                let bare = one.trim_matches('\'').to_owned();
                let quoted = one.starts_with('\'');
                match engine {
                    Engine::Postgresql if quoted => text(&format!("{{\"{bare}\"}}")),
                    Engine::Postgresql => text(&format!("{{{bare}}}")),
                    _ if quoted => text(&format!("[\"{bare}\"]")),
                    _ => text(&format!("[{bare}]")),
                }
            }
            FieldType::Ref { .. } => unreachable!("stored types are not references"),
        }
    }

    fn insert(&self, table: &str, row: &Row) -> Result<String, String> {
        if row.is_empty() {
            return self.db.run(&match self.db.engine {
                Engine::Mysql => format!("INSERT INTO {} () VALUES ();", self.db.quote(table)),
                _ => format!("INSERT INTO {} DEFAULT VALUES;", self.db.quote(table)),
            });
        }
        let columns: Vec<String> = row.iter().map(|(c, _)| self.db.quote(c)).collect();
        let values: Vec<&str> = row.iter().map(|(_, v)| v.as_str()).collect();
        self.db.run(&format!(
            "INSERT INTO {} ({}) VALUES ({});",
            self.db.quote(table),
            columns.join(", "),
            values.join(", ")
        ))
    }

    /// Whether a reference's foreign key waits for an `UPDATE` (it closes a cycle or points
    /// at its own table).
    fn later(table: &TableFacts, field: &Field) -> bool {
        table
            .foreign_keys
            .iter()
            .any(|fk| fk.field == field.name && (fk.deferred || fk.references_table == table.table))
    }

    /// The row with every column, `n`th values, references to the `target`th row of theirs.
    fn full_row(&self, table: &TableFacts, n: i64, target: i64) -> Row {
        let entity = self.entity(table);
        entity
            .fields
            .iter()
            .map(|f| {
                let value = if matches!(f.ty, FieldType::Ref { .. }) {
                    if Self::later(table, f) {
                        "NULL".to_owned()
                    } else {
                        self.value(f, target)
                    }
                } else {
                    self.value(f, n)
                };
                (f.column.clone(), value)
            })
            .collect()
    }

    /// Inserts rows 1 (defaults), 2 and 3 (every column) into every table, in order, and
    /// closes the deferred references. Whether it all went in.
    fn insert_rows(&self) -> bool {
        let facts = self.facts;
        // Row 1: only what has no default; the database makes the rest.
        for table in &facts.tables {
            let entity = self.entity(table);
            let mut row = Row::new();
            for field in &entity.fields {
                let is_ref = matches!(field.ty, FieldType::Ref { .. });
                // A reference's default names a row that may not be there: it is given.
                if field.identity || field.nullable || (field.default.is_some() && !is_ref) {
                    continue;
                }
                let value = match &field.ty {
                    FieldType::Ref { entity: target } => {
                        let target = &self.ir.entities[target.id()];
                        let key = target.single_key().expect("key");
                        let keys = self.db.query(&format!(
                            "SELECT {} FROM {};",
                            self.db.quote(&key.column),
                            self.db.quote(&target.table)
                        ));
                        match keys.as_slice() {
                            [one] => text(&one[0]),
                            _ => {
                                self.fail(format!(
                                    "{}: expected one row in {} to refer to, found {}",
                                    table.table,
                                    target.table,
                                    keys.len()
                                ));
                                return false;
                            }
                        }
                    }
                    _ => self.value(field, 1),
                };
                row.push((field.column.clone(), value));
            }
            if let Err(e) = self.insert(&table.table, &row) {
                self.fail(format!(
                    "{}: the row of defaults is refused: {e}",
                    table.table
                ));
                return false;
            }
            // What the database filled in is there.
            let filled: Vec<&Field> = entity
                .fields
                .iter()
                .filter(|f| {
                    f.identity || (f.default.is_some() && !matches!(f.ty, FieldType::Ref { .. }))
                })
                .collect();
            if !filled.is_empty() {
                let columns: Vec<String> =
                    filled.iter().map(|f| self.db.quote(&f.column)).collect();
                let got = self.db.query(&format!(
                    "SELECT {} FROM {};",
                    columns.join(", "),
                    self.db.quote(&table.table)
                ));
                for (i, field) in filled.iter().enumerate() {
                    let value = got.first().and_then(|r| r.get(i));
                    match value {
                        None => self.fail(format!(
                            "{}.{}: the database did not fill in its default",
                            table.table, field.column
                        )),
                        Some(v) if v == "NULL" => self.fail(format!(
                            "{}.{}: the database did not fill in its default",
                            table.table, field.column
                        )),
                        Some(v) => {
                            if let Some(problem) = self.default_differs(field, v) {
                                self.fail(format!(
                                    "{}.{}: the default reads back as {v:?}: {problem}",
                                    table.table, field.column
                                ));
                            }
                        }
                    }
                }
            }
        }
        // Rows 2 and 3: every column, keys given.
        for n in [2, 3] {
            for table in &facts.tables {
                let row = self.full_row(table, n, n);
                if let Err(e) = self.insert(&table.table, &row) {
                    self.fail(format!("{}: row {n} is refused: {e}\n{row:?}", table.table));
                    return false;
                }
            }
        }
        // Close the cycles and self-references: row 3 points at row 2.
        for table in &facts.tables {
            let entity = self.entity(table);
            for field in &entity.fields {
                if !matches!(field.ty, FieldType::Ref { .. }) || !Self::later(table, field) {
                    continue;
                }
                let key = self.key_condition(table, 3);
                let sql = format!(
                    "UPDATE {} SET {} = {} WHERE {key};",
                    self.db.quote(&table.table),
                    self.db.quote(&field.column),
                    self.value(field, 2)
                );
                if let Err(e) = self.db.run(&sql) {
                    self.fail(format!("{sql} is refused: {e}"));
                    return false;
                }
            }
        }
        true
    }

    /// How a literal default read back differs from the spec's value, if it does. Each
    /// engine prints values its own way, so both sides are brought to one form first.
    fn default_differs(&self, field: &Field, got: &str) -> Option<String> {
        let engine = self.db.engine;
        let ty = self.stored(field);
        let default = field.default.as_ref()?;
        let want: String = match (ty, default) {
            (_, FieldDefault::Now | FieldDefault::RandomUuid) => return None,
            (FieldType::Bool, FieldDefault::Boolean(b)) => match engine {
                Engine::Postgresql => if *b { "t" } else { "f" }.into(),
                _ => if *b { "1" } else { "0" }.into(),
            },
            (FieldType::Float { bits }, d) => {
                let want = match d {
                    FieldDefault::Number(n) => *n,
                    #[allow(clippy::cast_precision_loss)]
                    FieldDefault::Integer(i) => *i as f64,
                    _ => return Some(format!("unexpected default {d:?}")),
                };
                let got: f64 = got.parse().ok()?;
                let tolerance = if *bits == 32 { 1e-6 } else { 1e-12 };
                return ((got - want).abs() > tolerance * want.abs().max(f64::MIN_POSITIVE))
                    .then(|| format!("expected {want}"));
            }
            (FieldType::Decimal { .. }, d) => {
                let want = match d {
                    FieldDefault::Number(n) => n.to_string(),
                    FieldDefault::Integer(i) => i.to_string(),
                    FieldDefault::Text(t) => t.clone(),
                    _ => return Some(format!("unexpected default {d:?}")),
                };
                return (decimal_form(got) != decimal_form(&want))
                    .then(|| format!("expected {want}"));
            }
            (FieldType::Timestamp, FieldDefault::Text(t)) => {
                let got_at = instant(got)?;
                return (instant(t) != Some(got_at)).then(|| format!("expected the instant {t}"));
            }
            (FieldType::Datetime, FieldDefault::Text(t)) => {
                return (wall_clock(got) != wall_clock(t)).then(|| format!("expected {t}"));
            }
            (FieldType::Time, FieldDefault::Text(t)) => {
                return (wall_clock(&format!("2000-01-01 {got}"))
                    != wall_clock(&format!("2000-01-01 {t}")))
                .then(|| format!("expected {t}"));
            }
            (FieldType::Json, FieldDefault::Text(t)) => {
                let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
                return (parse(got) != parse(t)).then(|| format!("expected {t}"));
            }
            (_, FieldDefault::Text(t)) => t.clone(),
            (_, FieldDefault::Integer(i)) => i.to_string(),
            (_, d) => return Some(format!("unexpected default {d:?}")),
        };
        (got != want).then(|| format!("expected {want:?}"))
    }

    /// `WHERE` condition selecting row `n` by its primary key.
    fn key_condition(&self, table: &TableFacts, n: i64) -> String {
        let entity = self.entity(table);
        let row = self.full_row(table, n, n);
        entity
            .primary_key
            .iter()
            .map(|k| {
                let field = entity.field(k).expect("key field");
                let value = &row.iter().find(|(c, _)| *c == field.column).expect("key").1;
                format!("{} = {value}", self.db.quote(&field.column))
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    // -----------------------------------------------------------------------------------------
    // Constraints.

    fn expect_refused(&self, table: &TableFacts, row: &Row, fault: Fault, what: &str) {
        match self.insert(&table.table, row) {
            Ok(_) => self.fail(format!(
                "{}: a row with {what} was accepted; expected a {fault:?} failure",
                table.table
            )),
            Err(e) if !fault.matches(self.db.engine, &e) => self.fail(format!(
                "{}: a row with {what} was refused, but not for {fault:?}: {e}",
                table.table
            )),
            Err(_) => {}
        }
    }

    /// Values that the column must refuse, with the kind of failure, for each engine.
    fn bad_values(&self, field: &Field) -> Vec<(String, Fault, String)> {
        if matches!(field.ty, FieldType::Ref { .. }) {
            // A reference admits what its target holds: the dangling reference below.
            return Vec::new();
        }
        let engine = self.db.engine;
        let ty = self.stored(field);
        let mut bad = Vec::new();
        let check_or_type = |sqlite: Fault| {
            if engine == Engine::Sqlite {
                sqlite
            } else {
                Fault::Type
            }
        };
        match ty {
            FieldType::String {
                max_length: Some(n),
            } => bad.push((
                text(&"x".repeat(*n as usize + 1)),
                check_or_type(Fault::Check),
                format!("{} characters", n + 1),
            )),
            FieldType::Enum { .. } => bad.push((
                text("not-a-member"),
                check_or_type(Fault::Check),
                "a value outside the enum".into(),
            )),
            FieldType::Uuid => bad.push((
                text("not-a-uuid"),
                if engine == Engine::Postgresql {
                    Fault::Type
                } else {
                    Fault::Check
                },
                "a malformed UUID".into(),
            )),
            FieldType::Bool if engine != Engine::Postgresql => {
                bad.push(("2".into(), Fault::Check, "2 for a boolean".into()));
            }
            FieldType::Json => bad.push((
                text("{not json"),
                if engine == Engine::Postgresql {
                    Fault::Type
                } else {
                    Fault::Check
                },
                "malformed JSON".into(),
            )),
            FieldType::List { .. } => bad.push((
                text(if engine == Engine::Postgresql {
                    "[1, 2]"
                } else {
                    "{\"a\": 1}"
                }),
                if engine == Engine::Postgresql {
                    Fault::Type
                } else {
                    Fault::Check
                },
                "a list that is not an array".into(),
            )),
            FieldType::Timestamp | FieldType::Datetime | FieldType::Date | FieldType::Time => bad
                .push((
                    text("not a time"),
                    check_or_type(Fault::Check),
                    "a malformed date or time".into(),
                )),
            _ => {}
        }
        if let Some(min) = field.min {
            bad.push((
                format!("{}", min - 1.0),
                Fault::Check,
                format!("less than {min}"),
            ));
        }
        if let Some(max) = field.max {
            bad.push((
                format!("{}", max + 1.0),
                Fault::Check,
                format!("more than {max}"),
            ));
        }
        if engine == Engine::Sqlite && matches!(ty, FieldType::Decimal { .. }) {
            for (value, _, _) in &mut bad {
                *value = text(value);
            }
        }
        bad
    }

    fn constraints(&self) {
        let facts = self.facts;
        for table in &facts.tables {
            let entity = self.entity(table);
            // Row 4, with references to rows 4, which the tables before this one got after
            // their own faults: the row every fault below starts from.
            let good = self.full_row(table, 4, 4);
            let set = |row: &Row, column: &str, value: String| -> Row {
                row.iter()
                    .map(|(c, v)| {
                        (
                            c.clone(),
                            if c == column {
                                value.clone()
                            } else {
                                v.clone()
                            },
                        )
                    })
                    .collect()
            };
            for field in &entity.fields {
                // NOT NULL. Generated keys make their value when given NULL on MySQL and SQLite.
                let generated = field.identity && self.db.engine != Engine::Postgresql;
                if !field.nullable && !generated {
                    let row = set(&good, &field.column, "NULL".into());
                    self.expect_refused(
                        table,
                        &row,
                        Fault::NotNull,
                        &format!("NULL in {}", field.column),
                    );
                }
                // CHECK and type.
                for (value, fault, what) in self.bad_values(field) {
                    let row = set(&good, &field.column, value);
                    self.expect_refused(table, &row, fault, &format!("{what} in {}", field.column));
                }
            }
            // UNIQUE and the primary key: row 4 with row 2's values in the key's columns.
            let row2 = self.full_row(table, 2, 2);
            let mut unique_keys: Vec<(String, Vec<String>)> = table
                .indexes
                .iter()
                .filter(|i| i.unique)
                .map(|i| (i.name.clone(), i.columns.clone()))
                .collect();
            unique_keys.push((
                table.primary_key_name.clone(),
                table.primary_key_columns.clone(),
            ));
            for (name, columns) in unique_keys {
                let row: Row = good
                    .iter()
                    .map(|(c, v)| {
                        let from_2 = columns.contains(c);
                        let value = if from_2 {
                            row2.iter()
                                .find(|(c2, _)| c2 == c)
                                .expect("column")
                                .1
                                .clone()
                        } else {
                            v.clone()
                        };
                        (c.clone(), value)
                    })
                    .collect();
                self.expect_refused(table, &row, Fault::Unique, &format!("a duplicate {name}"));
            }
            // Foreign keys: a reference to a row that does not exist.
            for fk in &table.foreign_keys {
                let field = entity.field(&fk.field).expect("field");
                // Row 0 is never inserted (and an enum's first value is left out).
                let row = set(&good, &fk.column, self.value(field, 0));
                self.expect_refused(
                    table,
                    &row,
                    Fault::ForeignKey,
                    &format!("a dangling {}", fk.name),
                );
            }
            // Bounds are inclusive: a row at each bound is accepted (and removed again).
            for (k, field) in entity.fields.iter().enumerate() {
                if matches!(field.ty, FieldType::Ref { .. })
                    || entity.primary_key.contains(&field.name)
                {
                    continue;
                }
                let bounds = [field.min, field.max];
                for (j, bound) in bounds.iter().enumerate() {
                    let Some(bound) = bound else { continue };
                    let n = 60
                        + 2 * i64::try_from(k).expect("few fields")
                        + i64::try_from(j).expect("0 or 1");
                    let mut literal = bound.to_string();
                    if self.db.engine == Engine::Sqlite
                        && matches!(self.stored(field), FieldType::Decimal { .. })
                    {
                        literal = text(&literal);
                    }
                    let row = set(&self.full_row(table, n, 4), &field.column, literal);
                    match self.insert(&table.table, &row) {
                        Ok(_) => {
                            let _ = self.db.run(&format!(
                                "DELETE FROM {} WHERE {};",
                                self.db.quote(&table.table),
                                self.key_condition(table, n)
                            ));
                        }
                        Err(e) => self.fail(format!(
                            "{}: {} at its bound {bound} is refused: {e}",
                            table.table, field.column
                        )),
                    }
                }
            }
            // And the row itself is fine: the faults above were the only reason.
            if let Err(e) = self.insert(&table.table, &good) {
                self.fail(format!("{}: row 4 is refused: {e}", table.table));
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // The catalogue.

    fn catalogue(&self) {
        let facts = self.facts;
        for table in &facts.tables {
            let entity = self.entity(table);
            let expected: Vec<(String, String, bool)> = entity
                .fields
                .iter()
                .map(|f| {
                    let key = table.primary_key_columns.contains(&f.column);
                    (
                        f.column.clone(),
                        self.catalogue_type(table, f),
                        !f.nullable || key,
                    )
                })
                .collect();
            let got = self.columns(&table.table);
            if got != expected {
                let mut diff = String::new();
                for i in 0..expected.len().max(got.len()) {
                    let (e, g) = (expected.get(i), got.get(i));
                    if e != g {
                        let _ = writeln!(diff, "  expected {e:?}\n       got {g:?}");
                    }
                }
                self.fail(format!(
                    "{}: the columns differ from the IR:\n{diff}",
                    table.table
                ));
            }
            let pk = self.primary_key(&table.table);
            let want_pk = (
                (self.db.engine == Engine::Postgresql).then(|| table.primary_key_name.clone()),
                table.primary_key_columns.clone(),
            );
            if pk != want_pk {
                self.fail(format!(
                    "{}: primary key {pk:?}, expected {want_pk:?}",
                    table.table
                ));
            }
            let mut want_indexes: Vec<(String, Vec<String>, bool)> = table
                .indexes
                .iter()
                .map(|i| (i.name.clone(), i.columns.clone(), i.unique))
                .collect();
            want_indexes.sort();
            let indexes = self.indexes(table);
            if indexes != want_indexes {
                self.fail(format!(
                    "{}: indexes {indexes:#?}, expected {want_indexes:#?}",
                    table.table
                ));
            }
            let mut want_fks: Vec<ForeignKey> = table
                .foreign_keys
                .iter()
                .map(|fk| ForeignKey {
                    name: (self.db.engine != Engine::Sqlite).then(|| fk.name.clone()),
                    column: fk.column.clone(),
                    table: fk.references_table.clone(),
                    references: fk.references_column.clone(),
                    on_delete: action(fk.on_delete).to_owned(),
                    on_update: action(fk.on_update).to_owned(),
                })
                .collect();
            want_fks.sort_by(|a, b| a.column.cmp(&b.column));
            let fks = self.foreign_keys(&table.table);
            if fks != want_fks {
                self.fail(format!(
                    "{}: foreign keys {fks:#?}, expected {want_fks:#?}",
                    table.table
                ));
            }
        }
        if self.db.engine == Engine::Postgresql {
            self.enum_labels();
        }
        if self.db.engine != Engine::Sqlite {
            self.comments();
        }
        if self.db.engine == Engine::Mysql {
            // Text compares by code point, as on the other engines, whatever the database's
            // default (the test databases are made with utf8mb4_unicode_ci).
            for row in self.db.query(
                "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE();",
            ) {
                if row[1] != "utf8mb4_bin" {
                    self.fail(format!(
                        "{}: collation {}, expected utf8mb4_bin",
                        row[0], row[1]
                    ));
                }
            }
        }
    }

    /// The type the catalogue reports for a field, stated here independently of the backend.
    fn catalogue_type(&self, table: &TableFacts, field: &Field) -> String {
        // A reference is stored as its target key; an enum key's type belongs to its table.
        let (mut ty, mut owner, mut column) =
            (&field.ty, table.table.clone(), field.column.clone());
        while let FieldType::Ref { entity } = ty {
            let target = &self.ir.entities[entity.id()];
            let key = target.single_key().expect("key");
            owner.clone_from(&target.table);
            column.clone_from(&key.column);
            ty = &key.ty;
        }
        match self.db.engine {
            Engine::Postgresql => {
                let mut item = ty;
                while let FieldType::List { item: inner } = item {
                    item = inner;
                }
                let enum_name = if matches!(item, FieldType::Enum { .. }) {
                    self.enum_type(&owner, &column)
                } else {
                    String::new()
                };
                pg_type(ty, &enum_name)
            }
            Engine::Mysql => mysql_type(ty),
            Engine::Sqlite => sqlite_type(ty, field.identity).to_owned(),
        }
    }

    /// The name of PostgreSQL's enum type for a column, from the database facts; it must
    /// be `TABLE_COLUMN_enum` unless that is too long or taken.
    fn enum_type(&self, table: &str, column: &str) -> String {
        let made = self
            .facts
            .tables
            .iter()
            .find(|t| t.table == table)
            .and_then(|t| t.enum_types.iter().find(|e| e.column == column))
            .map(|e| e.name.clone());
        let plain = format!("{table}_{column}_enum");
        match made {
            Some(name) if name == plain || plain.len() > 63 || name.ends_with("_enum") => name,
            _ => {
                self.fail(format!("{table}.{column}: no enum type in the facts"));
                plain
            }
        }
    }

    /// Each column: name, type as the catalogue writes it, NOT NULL.
    fn columns(&self, table: &str) -> Vec<(String, String, bool)> {
        let sql = match self.db.engine {
            Engine::Postgresql => format!(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull \
                 FROM pg_attribute a WHERE a.attrelid = '{}'::regclass AND a.attnum > 0 \
                 AND NOT a.attisdropped ORDER BY a.attnum;",
                self.db.quote(table)
            ),
            Engine::Mysql => format!(
                "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'NO' FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION;",
                text(table)
            ),
            Engine::Sqlite => format!(
                "SELECT name, type, \"notnull\" OR pk > 0 FROM pragma_table_xinfo({}) ORDER BY cid;",
                text(table)
            ),
        };
        self.db
            .query(&sql)
            .into_iter()
            .map(|r| {
                let not_null = matches!(r[2].as_str(), "t" | "1");
                (r[0].clone(), r[1].clone(), not_null)
            })
            .collect()
    }

    /// The primary key's name (PostgreSQL keeps it; MySQL calls every one `PRIMARY`, SQLite
    /// none) and columns in key order.
    fn primary_key(&self, table: &str) -> (Option<String>, Vec<String>) {
        match self.db.engine {
            Engine::Postgresql => {
                let rows = self.db.query(&format!(
                    "SELECT c.conname, a.attname FROM pg_constraint c \
                     CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                     WHERE c.conrelid = '{}'::regclass AND c.contype = 'p' ORDER BY k.ord;",
                    self.db.quote(table)
                ));
                (
                    rows.first().map(|r| r[0].clone()),
                    rows.into_iter().map(|r| r[1].clone()).collect(),
                )
            }
            Engine::Mysql => {
                let rows = self.db.query(&format!(
                    "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
                     AND TABLE_NAME = {} AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX;",
                    text(table)
                ));
                (None, rows.into_iter().map(|r| r[0].clone()).collect())
            }
            Engine::Sqlite => {
                let rows = self.db.query(&format!(
                    "SELECT name FROM pragma_table_info({}) WHERE pk > 0 ORDER BY pk;",
                    text(table)
                ));
                (None, rows.into_iter().map(|r| r[0].clone()).collect())
            }
        }
    }

    /// The table's own indexes: name, columns, unique. Those that the engine makes for the
    /// primary key, and MySQL for foreign keys without one, are left out.
    fn indexes(&self, table: &TableFacts) -> Vec<(String, Vec<String>, bool)> {
        let rows = match self.db.engine {
            Engine::Postgresql => self.db.query(&format!(
                "SELECT ic.relname, a.attname, i.indisunique FROM pg_index i \
                 JOIN pg_class ic ON ic.oid = i.indexrelid \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = '{}'::regclass AND NOT i.indisprimary ORDER BY ic.relname, k.ord;",
                self.db.quote(&table.table)
            )),
            Engine::Mysql => self.db.query(&format!(
                "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE = 0 FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} AND INDEX_NAME <> 'PRIMARY' \
                 ORDER BY INDEX_NAME, SEQ_IN_INDEX;",
                text(&table.table)
            )),
            Engine::Sqlite => self.db.query(&format!(
                "SELECT l.name, i.name, l.\"unique\" FROM pragma_index_list({0}) l \
                 JOIN pragma_index_info(l.name) i WHERE l.origin = 'c' ORDER BY l.name, i.seqno;",
                text(&table.table)
            )),
        };
        let mut indexes: Vec<(String, Vec<String>, bool)> = Vec::new();
        for r in rows {
            let unique = matches!(r[2].as_str(), "t" | "1");
            match indexes.last_mut() {
                Some((name, columns, _)) if *name == r[0] => columns.push(r[1].clone()),
                _ => indexes.push((r[0].clone(), vec![r[1].clone()], unique)),
            }
        }
        if self.db.engine == Engine::Mysql {
            // InnoDB indexes each foreign key that has no index to use, under its name.
            indexes.retain(|(name, _, _)| !table.foreign_keys.iter().any(|fk| fk.name == *name));
        }
        indexes.sort();
        indexes
    }

    fn foreign_keys(&self, table: &str) -> Vec<ForeignKey> {
        let rows = match self.db.engine {
            Engine::Postgresql => self.db.query(&format!(
                "SELECT c.conname, a.attname, t.relname, ta.attname, r.delete_rule, r.update_rule \
                 FROM pg_constraint c \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                 JOIN pg_class t ON t.oid = c.confrelid \
                 JOIN pg_attribute ta ON ta.attrelid = c.confrelid AND ta.attnum = c.confkey[1] \
                 JOIN information_schema.referential_constraints r ON r.constraint_name = c.conname \
                 WHERE c.conrelid = '{}'::regclass AND c.contype = 'f';",
                self.db.quote(table)
            )),
            Engine::Mysql => self.db.query(&format!(
                "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
                 k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE \
                 FROM information_schema.KEY_COLUMN_USAGE k \
                 JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                   ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
                 WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = {} \
                   AND k.REFERENCED_TABLE_NAME IS NOT NULL;",
                text(table)
            )),
            Engine::Sqlite => self
                .db
                .query(&format!(
                    "SELECT NULL, \"from\", \"table\", \"to\", on_delete, on_update \
                     FROM pragma_foreign_key_list({});",
                    text(table)
                ))
                .into_iter()
                .map(|mut r| {
                    r[0] = String::new();
                    r
                })
                .collect(),
        };
        let mut fks: Vec<ForeignKey> = rows
            .into_iter()
            .map(|r| ForeignKey {
                name: (!r[0].is_empty()).then(|| r[0].clone()),
                column: r[1].clone(),
                table: r[2].clone(),
                references: r[3].clone(),
                on_delete: r[4].to_uppercase(),
                on_update: r[5].to_uppercase(),
            })
            .collect();
        fks.sort_by(|a, b| a.column.cmp(&b.column));
        fks
    }

    /// PostgreSQL's enum types hold the IR's values, in order.
    /// Descriptions are kept as comments: compared by SHA-256, so that any text survives the
    /// client's output. MySQL keeps comments in utf8mb3 (other characters become `?`) and
    /// cuts them at 1024 characters on a column, 2048 on a table.
    fn comments(&self) {
        use sha2::{Digest, Sha256};
        let engine = self.db.engine;
        let expected = |description: &str, limit: usize| -> String {
            let kept: String = if engine == Engine::Mysql {
                description
                    .chars()
                    .map(|c| if c > '\u{FFFF}' { '?' } else { c })
                    .take(limit)
                    .collect()
            } else {
                description.to_owned()
            };
            Sha256::digest(kept.as_bytes())
                .iter()
                .fold(String::new(), |mut hex, b| {
                    let _ = write!(hex, "{b:02x}");
                    hex
                })
        };
        for table in &self.facts.tables {
            let entity = self.entity(table);
            let (table_sql, columns_sql) = match engine {
                Engine::Postgresql => (
                    format!(
                        "SELECT coalesce(encode(sha256(convert_to(obj_description('{0}'::regclass, 'pg_class'), 'UTF8')), 'hex'), 'NULL');",
                        self.db.quote(&table.table)
                    ),
                    format!(
                        "SELECT a.attname, coalesce(encode(sha256(convert_to(col_description(a.attrelid, a.attnum), 'UTF8')), 'hex'), 'NULL') \
                         FROM pg_attribute a WHERE a.attrelid = '{0}'::regclass AND a.attnum > 0 AND NOT a.attisdropped;",
                        self.db.quote(&table.table)
                    ),
                ),
                _ => (
                    format!(
                        "SELECT IF(TABLE_COMMENT = '', 'NULL', SHA2(TABLE_COMMENT, 256)) FROM information_schema.TABLES \
                         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {};",
                        text(&table.table)
                    ),
                    format!(
                        "SELECT COLUMN_NAME, IF(COLUMN_COMMENT = '', 'NULL', SHA2(COLUMN_COMMENT, 256)) FROM information_schema.COLUMNS \
                         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {};",
                        text(&table.table)
                    ),
                ),
            };
            let got = self.db.query(&table_sql);
            let want = entity
                .description
                .as_deref()
                .map_or_else(|| "NULL".to_owned(), |d| expected(d, 2048));
            if got.first().map(|r| r[0].as_str()) != Some(want.as_str()) {
                self.fail(format!(
                    "{}: the table's comment is not its description",
                    table.table
                ));
            }
            for row in self.db.query(&columns_sql) {
                let Some(field) = entity.fields.iter().find(|f| f.column == row[0]) else {
                    continue;
                };
                let want = field
                    .description
                    .as_deref()
                    .map_or_else(|| "NULL".to_owned(), |d| expected(d, 1024));
                if row[1] != want {
                    self.fail(format!(
                        "{}.{}: the column's comment is not its description",
                        table.table, field.column
                    ));
                }
            }
        }
    }

    fn enum_labels(&self) {
        let facts = self.facts;
        for table in &facts.tables {
            let entity = self.entity(table);
            for field in &entity.fields {
                let mut ty = &field.ty;
                while let FieldType::List { item } = ty {
                    ty = item;
                }
                let FieldType::Enum { values } = ty else {
                    continue;
                };
                let name = self.enum_type(&table.table, &field.column);
                let labels: Vec<String> = self
                    .db
                    .query(&format!(
                        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid \
                         WHERE t.typname = {} ORDER BY e.enumsortorder;",
                        text(&name)
                    ))
                    .into_iter()
                    .map(|r| r[0].clone())
                    .collect();
                if labels != *values {
                    self.fail(format!(
                        "enum type {name} holds {labels:?}, expected {values:?}"
                    ));
                }
            }
        }
    }
}

/// The `n`th day, distinct for each `n` below 336.
fn day(n: i64) -> String {
    format!("2026-{:02}-{:02}", 1 + n / 28 % 12, 1 + n % 28)
}

/// A standard SQL text literal.
fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[derive(Debug, PartialEq)]
struct ForeignKey {
    /// SQLite keeps no constraint names.
    name: Option<String>,
    column: String,
    table: String,
    references: String,
    on_delete: String,
    on_update: String,
}

fn action(action: RefAction) -> &'static str {
    match action {
        RefAction::Cascade => "CASCADE",
        RefAction::Restrict => "RESTRICT",
        RefAction::SetNull => "SET NULL",
        RefAction::SetDefault => "SET DEFAULT",
        RefAction::NoAction => "NO ACTION",
    }
}

/// PostgreSQL's `format_type` for each IR type.
fn pg_type(ty: &FieldType, enum_name: &str) -> String {
    match ty {
        FieldType::Uuid => "uuid".into(),
        FieldType::String {
            max_length: Some(n),
        } => format!("character varying({n})"),
        FieldType::String { max_length: None } => "text".into(),
        FieldType::Int { bits: 16 } => "smallint".into(),
        FieldType::Int { bits: 32 } => "integer".into(),
        FieldType::Int { .. } => "bigint".into(),
        FieldType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
        FieldType::Float { bits: 32 } => "real".into(),
        FieldType::Float { .. } => "double precision".into(),
        FieldType::Bool => "boolean".into(),
        FieldType::Timestamp => "timestamp with time zone".into(),
        FieldType::Datetime => "timestamp without time zone".into(),
        FieldType::Date => "date".into(),
        FieldType::Time => "time without time zone".into(),
        FieldType::Json => "jsonb".into(),
        FieldType::Bytes => "bytea".into(),
        FieldType::Enum { .. } => enum_name.into(),
        FieldType::List { item } => format!("{}[]", pg_type(item, enum_name)),
        FieldType::Ref { .. } => unreachable!("followed to the key"),
    }
}

/// MariaDB's `COLUMN_TYPE` for each IR type (JSON is MariaDB's alias of LONGTEXT, with a
/// `json_valid` check).
fn mysql_type(ty: &FieldType) -> String {
    match ty {
        FieldType::Uuid => "char(36)".into(),
        FieldType::String {
            max_length: Some(n),
        } => format!("varchar({n})"),
        FieldType::String { max_length: None } | FieldType::Json | FieldType::List { .. } => {
            "longtext".into()
        }
        FieldType::Int { bits: 16 } => "smallint(6)".into(),
        FieldType::Int { bits: 32 } => "int(11)".into(),
        FieldType::Int { .. } => "bigint(20)".into(),
        FieldType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
        FieldType::Float { bits: 32 } => "float".into(),
        FieldType::Float { .. } => "double".into(),
        FieldType::Bool => "tinyint(1)".into(),
        FieldType::Timestamp | FieldType::Datetime => "datetime(6)".into(),
        FieldType::Date => "date".into(),
        FieldType::Time => "time(6)".into(),
        FieldType::Bytes => "longblob".into(),
        FieldType::Enum { values } => format!(
            "enum({})",
            values
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        FieldType::Ref { .. } => unreachable!("followed to the key"),
    }
}

/// The declared type SQLite keeps (tables are STRICT, so only these five exist).
fn sqlite_type(ty: &FieldType, identity: bool) -> &'static str {
    match ty {
        FieldType::Int { .. } | FieldType::Bool => "INTEGER",
        _ if identity => "INTEGER",
        FieldType::Float { .. } => "REAL",
        FieldType::Bytes => "BLOB",
        _ => "TEXT",
    }
}

/// A decimal's digits without trailing zeros after the point: `9.990` and `9.99` agree.
fn decimal_form(s: &str) -> String {
    let s = s.trim();
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s.to_owned()
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `YYYY-MM-DD[T ]HH:MM[:SS[.f]]` as (seconds since the epoch as if UTC, microseconds), and
/// the rest of the text (a zone, if any).
fn parse_wall(text: &str) -> Option<((i64, i64), &str)> {
    let text = text.trim();
    let field = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, mday) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hour, minute) = (field(11..13)?, field(14..16)?);
    let mut rest = text.get(16..)?;
    let mut second = 0;
    if let Some(after) = rest.strip_prefix(':') {
        second = after.get(0..2)?.parse::<i64>().ok()?;
        rest = &after[2..];
    }
    let mut micros = 0;
    if let Some(after) = rest.strip_prefix('.') {
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        rest = &after[digits.len()..];
        micros = format!("{digits:0<6}").get(0..6)?.parse().ok()?;
    }
    let seconds = days_from_civil(year, month, mday) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(((seconds, micros), rest))
}

/// A wall-clock date and time, whatever the engine's way of printing it.
fn wall_clock(s: &str) -> Option<(i64, i64)> {
    parse_wall(s).map(|(t, _)| t)
}

/// An instant: a wall clock and a zone (`Z`, `+00`, `-05:00`; none means UTC).
fn instant(s: &str) -> Option<(i64, i64)> {
    let ((secs, micros), zone) = parse_wall(s)?;
    let offset = match zone.trim() {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let z = &z[1..];
            let (h, m) = z.split_once(':').unwrap_or((z, "0"));
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    Some((secs - offset, micros))
}

//! The DDL of one database: statements in creation order, each written the way sqlparser
//! prints it, so that parsing a statement back and printing it gives the same text.

use super::dialect::{Column, CommentStyle, Dialect, Identity};
use crate::Analysed;
use crate::backends::LoweringReport;
use crate::ir::{Entity, EntityId, Field, FieldType, RefAction};
use crate::passes::{DatabaseFacts, ForeignKeyFacts, TableFacts};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Approximations, gathered per kind so that the report says each once, with its fields.
#[derive(Default)]
struct Approximations(BTreeMap<String, Vec<String>>);

impl Approximations {
    fn add(&mut self, what: impl Into<String>, subject: String) {
        self.0.entry(what.into()).or_default().push(subject);
    }

    fn report(self, database: &str, report: &mut LoweringReport) {
        for (what, subjects) in self.0 {
            let shown = if subjects.len() > 6 {
                format!(
                    "{}, and {} more",
                    subjects[..6].join(", "),
                    subjects.len() - 6
                )
            } else {
                subjects.join(", ")
            };
            report.approximated(format!("{database}: {shown}"), what);
        }
    }
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

struct Writer<'a> {
    analysed: &'a Analysed,
    /// The enum types made, by table and column.
    enum_types: FxHashMap<(&'a str, &'a str), &'a str>,
    dialect: &'a dyn Dialect,
    entity_ids: FxHashMap<&'a str, EntityId>,
    approximations: Approximations,
    dropped_comments: Vec<String>,
}

/// The statements that create `facts.database`'s schema, in order.
pub fn statements(
    analysed: &Analysed,
    facts: &DatabaseFacts,
    dialect: &dyn Dialect,
    report: &mut LoweringReport,
) -> Vec<String> {
    let ir = analysed.ir();
    let mut writer = Writer {
        analysed,
        enum_types: facts
            .tables
            .iter()
            .flat_map(|t| {
                t.enum_types
                    .iter()
                    .map(|e| ((t.table.as_str(), e.column.as_str()), e.name.as_str()))
            })
            .collect(),
        dialect,
        entity_ids: ir
            .entities
            .iter()
            .map(|(id, e)| (e.name.as_str(), id))
            .collect(),
        approximations: Approximations::default(),
        dropped_comments: Vec::new(),
    };
    let mut statements = Vec::new();
    let mut later = Vec::new();
    // Every enum type first: a column may use another table's (a reference to an enum key),
    // and in a cycle that table comes later.
    for table in &facts.tables {
        let entity = &ir.entities[writer.entity_ids[table.entity.as_str()]];
        statements.extend(writer.enum_types(entity, table));
    }
    for table in &facts.tables {
        let entity = &ir.entities[writer.entity_ids[table.entity.as_str()]];
        statements.push(writer.create_table(entity, table, &mut later));
        for index in &table.indexes {
            let columns: Vec<String> = index.columns.iter().map(|c| dialect.quote(c)).collect();
            statements.push(format!(
                "CREATE {}INDEX {} ON {}({})",
                if index.unique { "UNIQUE " } else { "" },
                dialect.quote(&index.name),
                dialect.quote(&table.table),
                columns.join(", ")
            ));
        }
        statements.extend(writer.comment_statements(entity));
    }
    for (table, fk) in later {
        statements.push(format!(
            "ALTER TABLE {} ADD {}",
            dialect.quote(&table),
            writer.foreign_key(fk)
        ));
    }
    let Writer {
        approximations,
        dropped_comments,
        ..
    } = writer;
    approximations.report(&facts.database, report);
    if !dropped_comments.is_empty() {
        report.dropped(
            format!("{}: {}", facts.database, dropped_comments.join(", ")),
            format!("{} keeps no comments on tables or columns", dialect.title()),
        );
    }
    statements
}

impl<'a> Writer<'a> {
    /// The name of the engine's enum type for a column of a table, when it made one.
    fn enum_type_name(&self, table: &str, column: &str) -> Option<&'a str> {
        self.enum_types.get(&(table, column)).copied()
    }

    /// `CREATE TYPE … AS ENUM` for each enum column, on engines with named enums.
    fn enum_types(&self, entity: &Entity, table: &TableFacts) -> Vec<String> {
        table
            .enum_types
            .iter()
            .filter_map(|made| {
                let field = entity.fields.iter().find(|f| f.column == made.column)?;
                let mut ty = &field.ty;
                while let FieldType::List { item } = ty {
                    ty = item;
                }
                let FieldType::Enum { values } = ty else {
                    return None;
                };
                let listed: Vec<String> = values.iter().map(|v| self.dialect.text(v)).collect();
                Some(format!(
                    "CREATE TYPE {} AS ENUM ({})",
                    self.dialect.quote(&made.name),
                    listed.join(", ")
                ))
            })
            .collect()
    }

    /// The column mapping of a field, and the type it stores: a reference takes its target
    /// key's.
    fn column<'f>(&self, table: &str, field: &'f Field) -> (Column, &'f FieldType)
    where
        'a: 'f,
    {
        let ir = self.analysed.ir();
        let mut ty = &field.ty;
        let mut target_table = table;
        let mut key_column = field.column.as_str();
        // Follow references to the key they point at (a key may itself be a reference).
        for _ in 0..8 {
            let FieldType::Ref { entity } = ty else { break };
            let target = &ir.entities[entity.id()];
            let Some(key) = target.single_key() else {
                break;
            };
            target_table = &target.table;
            key_column = &key.column;
            ty = &key.ty;
        }
        let enum_type = self.enum_type_name(target_table, key_column);
        (self.dialect.column(ty, enum_type), ty)
    }

    fn create_table<'f>(
        &mut self,
        entity: &Entity,
        table: &'f TableFacts,
        later: &mut Vec<(String, &'f ForeignKeyFacts)>,
    ) -> String {
        let d = self.dialect;
        let rowid_key =
            d.identity() == Identity::RowId && entity.single_key().is_some_and(|k| k.identity);
        let mut lines = Vec::new();
        for field in &entity.fields {
            let (column, stored) = self.column(&table.table, field);
            let subject = format!("{}.{}", entity.name, field.name);
            if let Some(why) = &column.approximation {
                self.approximations.add(why.clone(), subject.clone());
            }
            let name = d.quote(&field.column);
            let mut line = format!("{name} {}", column.sql);
            if field.identity && rowid_key {
                line = format!("{name} INTEGER PRIMARY KEY AUTOINCREMENT");
            } else {
                if !field.nullable {
                    line.push_str(" NOT NULL");
                }
                if field.identity {
                    if let Identity::Clause(clause) = d.identity() {
                        line.push(' ');
                        line.push_str(clause);
                    }
                } else if let Some(default) = &field.default {
                    match d.default_value(stored, default) {
                        Some(value) => {
                            line.push_str(" DEFAULT ");
                            line.push_str(&value);
                        }
                        None => self.approximations.add(
                            format!(
                                "{} cannot compute this default: the service fills it in on insert",
                                d.title()
                            ),
                            subject.clone(),
                        ),
                    }
                }
            }
            // A reference needs no check of its own: its foreign key admits only values its
            // target holds (and MySQL refuses a CHECK on a column with a cascading key).
            let is_ref = matches!(field.ty, FieldType::Ref { .. });
            let mut checks: Vec<String> = column
                .check
                .iter()
                .filter(|_| !is_ref)
                .map(|c| c.replace("{col}", &name))
                .collect();
            let compared = d.compared(stored, &name);
            if let Some(min) = field.min {
                checks.push(format!("{compared} >= {}", d.bound(stored, min)));
            }
            if let Some(max) = field.max {
                checks.push(format!("{compared} <= {}", d.bound(stored, max)));
            }
            if checks.len() > 1 {
                for check in &mut checks {
                    if check.contains(" OR ") {
                        *check = format!("({check})");
                    }
                }
            }
            if !checks.is_empty() {
                line.push_str(" CHECK (");
                line.push_str(&checks.join(" AND "));
                line.push(')');
            }
            if let Some(description) = &field.description {
                match d.comments() {
                    CommentStyle::Inline => {
                        let kept = self.kept_comment(description, false, &subject);
                        line.push_str(" COMMENT ");
                        line.push_str(&d.text(&kept));
                    }
                    CommentStyle::None => self.dropped_comments.push(subject),
                    CommentStyle::Statements => {}
                }
            }
            lines.push(line);
        }
        if !rowid_key {
            let key: Vec<String> = table
                .primary_key_columns
                .iter()
                .map(|c| d.quote(c))
                .collect();
            lines.push(if d.names_primary_keys() {
                format!(
                    "CONSTRAINT {} PRIMARY KEY ({})",
                    d.quote(&table.primary_key_name),
                    key.join(", ")
                )
            } else {
                format!("PRIMARY KEY ({})", key.join(", "))
            });
        }
        for fk in &table.foreign_keys {
            if fk.deferred && d.foreign_keys_after_tables() {
                later.push((table.table.clone(), fk));
            } else {
                lines.push(self.foreign_key(fk));
            }
        }
        let comment = match (d.comments(), &entity.description) {
            (CommentStyle::Inline, Some(description)) => {
                Some(self.kept_comment(description, true, &entity.name))
            }
            (CommentStyle::None, Some(_)) => {
                self.dropped_comments.push(entity.name.clone());
                None
            }
            _ => None,
        };
        format!(
            "CREATE TABLE {} (\n  {}\n){}",
            d.quote(&table.table),
            lines.join(",\n  "),
            d.table_options(comment.as_deref())
        )
    }

    /// A description as the engine can keep it as a comment; what it changes is reported.
    fn kept_comment(&mut self, text: &str, on_table: bool, subject: &str) -> String {
        let d = self.dialect;
        let mut kept: String = text
            .chars()
            .map(|c| if d.comment_keeps(c) { c } else { '?' })
            .collect();
        if kept != text {
            self.approximations.add(
                format!(
                    "{} keeps comments in a character set without some of its characters (such as emoji): they become ?",
                    d.title()
                ),
                subject.to_owned(),
            );
        }
        if let Some(limit) = d.comment_limit(on_table) {
            if kept.chars().count() > limit {
                kept = kept.chars().take(limit).collect();
                self.approximations.add(
                    format!(
                        "{} keeps {limit} characters of a comment on a {}: the rest is cut",
                        d.title(),
                        if on_table { "table" } else { "column" }
                    ),
                    subject.to_owned(),
                );
            }
        }
        kept
    }

    fn foreign_key(&self, fk: &ForeignKeyFacts) -> String {
        let d = self.dialect;
        format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}({}) ON DELETE {} ON UPDATE {}",
            d.quote(&fk.name),
            d.quote(&fk.column),
            d.quote(&fk.references_table),
            d.quote(&fk.references_column),
            action(fk.on_delete),
            action(fk.on_update)
        )
    }

    /// `COMMENT ON` statements, on engines that keep comments that way.
    fn comment_statements(&self, entity: &Entity) -> Vec<String> {
        let d = self.dialect;
        if d.comments() != CommentStyle::Statements {
            return Vec::new();
        }
        let mut statements = Vec::new();
        if let Some(description) = &entity.description {
            statements.push(format!(
                "COMMENT ON TABLE {} IS {}",
                d.quote(&entity.table),
                d.text(description)
            ));
        }
        for field in &entity.fields {
            if let Some(description) = &field.description {
                statements.push(format!(
                    "COMMENT ON COLUMN {}.{} IS {}",
                    d.quote(&entity.table),
                    d.quote(&field.column),
                    d.text(description)
                ));
            }
        }
        statements
    }
}

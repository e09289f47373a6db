//! The `sql` backend: for every database in the spec, the DDL that creates its schema on the
//! database's engine, in `sql/DATABASE/ENGINE/schema.sql`.
//!
//! The analysis passes already decided everything engines must agree on (table order,
//! constraint and index names that fit, which references wait for an `ALTER TABLE`); this
//! backend only writes it down through a [`Dialect`]. Every statement is parsed back with
//! sqlparser for the engine and must print as exactly the text we wrote: a statement that does
//! not is a bug here, and fails the build rather than reaching a database.

mod dialect;
mod schema;

pub use dialect::{CommentStyle, Dialect, Identity, for_engine};
pub use schema::statements as schema_statements;

use super::{Backend, Emitted, Templates};
use crate::Analysed;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Engine;
use sqlparser::ast::{CreateTableOptions, SqliteTableOptions, Statement};
use sqlparser::parser::{Parser, ParserOptions};

pub struct SqlBackend;

impl Backend for SqlBackend {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn description(&self) -> &'static str {
        "DDL for each database: PostgreSQL, MySQL/MariaDB or SQLite"
    }

    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics> {
        let mut emitted = Emitted::default();
        let templates = Templates::for_backend("sql");
        let mut diags = Diagnostics::new();
        for facts in &analysed.facts().databases {
            let dialect = for_engine(facts.engine);
            let statements = schema::statements(analysed, facts, &*dialect, &mut emitted.report);
            let mut verified = Vec::with_capacity(statements.len() + 4);
            verified.extend(preamble(facts.engine).iter().map(|s| (*s).to_owned()));
            verified.extend(statements);
            verified.extend(postamble(facts.engine).iter().map(|s| (*s).to_owned()));
            for statement in &verified {
                if let Err(problem) = verify(statement, &*dialect) {
                    diags.push(
                        Diagnostic::error(
                            Code::BackendFailed,
                            format!(
                                "the sql backend wrote a statement for database `{}` that sqlparser does not read back as written",
                                facts.database
                            ),
                        )
                        .note(problem)
                        .help("this is a bug in v5c's sql backend; please report it with the spec"),
                    );
                }
            }
            let text = templates.render(
                "schema.sql.j2",
                serde_json::json!({
                    "v5c_version": env!("CARGO_PKG_VERSION"),
                    "system": analysed.ir().system.name,
                    "database": facts.database,
                    "engine": dialect.name(),
                    "engine_title": dialect.title(),
                    "tables": facts.tables.len(),
                    "statements": verified,
                }),
            )?;
            let path = format!("sql/{}/{}/schema.sql", facts.database, dialect.name());
            if let Err(e) = emitted.files.add(path, text) {
                diags.push(Diagnostic::error(Code::BackendFailed, e));
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(emitted)
    }
}

/// Statements before the schema. PostgreSQL and SQLite create it in one transaction, so a
/// failure leaves the database as it was; SQLite checks foreign keys only when asked, per
/// connection. MySQL commits after each DDL statement, so a transaction would promise nothing;
/// it reads the file as utf8mb4 whatever the client's default.
fn preamble(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Postgresql => &["BEGIN"],
        Engine::Sqlite => &["PRAGMA foreign_keys = 1", "BEGIN"],
        Engine::Mysql => &["SET NAMES utf8mb4"],
    }
}

fn postamble(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Postgresql | Engine::Sqlite => &["COMMIT"],
        Engine::Mysql => &[],
    }
}

/// Parses `statement` with the engine's sqlparser dialect and prints it back: the text must
/// be one statement and exactly what sqlparser prints (sqlparser's own `verified_stmt` test).
pub fn verify(statement: &str, dialect: &dyn Dialect) -> Result<(), String> {
    // Literals are kept as written (`it''s` stays `it''s`): the tokenizer still has to find
    // where each one ends, and sqlparser 0.64 prints some of them (the comments of `COMMENT
    // ON` and of table options, MySQL's backslashes) without escaping them again.
    let parsed = Parser::new(dialect.parser())
        .with_options(ParserOptions::new().with_unescape(false))
        .try_with_sql(statement)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| {
            format!(
                "sqlparser ({}) cannot parse it: {e}\n{statement}",
                dialect.name()
            )
        })?;
    let [one] = parsed.as_slice() else {
        return Err(format!(
            "it parses as {} statements, not one:\n{statement}",
            parsed.len()
        ));
    };
    let printed = print(one);
    if printed == statement {
        return Ok(());
    }
    let at = statement
        .char_indices()
        .zip(printed.chars())
        .find(|((_, a), b)| a != b)
        .map_or(statement.len().min(printed.len()), |((i, _), _)| i);
    Err(format!(
        "printed back it differs from byte {at} on:\n  written: {}\n  printed: {}",
        &statement[at..],
        printed.get(at..).unwrap_or("")
    ))
}

/// sqlparser's pretty print of a statement, less a slip of its printer (0.64): a `CREATE
/// TABLE` without table constraints gets two blanks after its last column (the indent of the
/// empty constraint list), which are taken out again. The `sqlparser_printer_slip` test fails
/// when a new sqlparser fixes it.
fn print(statement: &Statement) -> String {
    let printed = format!("{statement:#}");
    let Statement::CreateTable(table) = statement else {
        return printed;
    };
    if !table.constraints.is_empty() || table.columns.is_empty() {
        return printed;
    }
    let mut bare = table.clone();
    bare.table_options = CreateTableOptions::None;
    bare.sqlite_table_options = SqliteTableOptions::default();
    bare.comment = None;
    let head = format!("{bare:#}");
    match head.strip_suffix("  \n)") {
        Some(columns) if printed.starts_with(&head) => {
            format!("{columns}\n){}", &printed[head.len()..])
        }
        _ => printed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_catches_text_that_does_not_round_trip() {
        let pg = for_engine(Engine::Postgresql);
        assert!(verify("CREATE INDEX \"i\" ON \"t\"(\"a\")", &*pg).is_ok());
        // Lower-case keywords print upper-case: not canonical.
        let err = verify("create index \"i\" on \"t\"(\"a\")", &*pg).unwrap_err();
        assert!(err.contains("differs from byte 0"), "{err}");
        assert!(
            verify("CREATE INDEX \"i\" ON \"t\"(\"a\"); COMMIT", &*pg)
                .unwrap_err()
                .contains("2 statements")
        );
        assert!(
            verify("CREATE TABLE (", &*pg)
                .unwrap_err()
                .contains("cannot parse")
        );
    }

    /// The slip `print` works around. When this fails, sqlparser has fixed it: take the
    /// workaround out of `print`.
    #[test]
    fn sqlparser_printer_slip() {
        let pg = sqlparser::dialect::PostgreSqlDialect {};
        let sql = "CREATE TABLE \"t\" (\n  \"a\" INTEGER\n)";
        let parsed = Parser::parse_sql(&pg, sql).expect("parses");
        assert_eq!(
            format!("{:#}", parsed[0]),
            "CREATE TABLE \"t\" (\n  \"a\" INTEGER  \n)"
        );
        assert!(verify(sql, &*for_engine(Engine::Postgresql)).is_ok());
    }

    /// Quotes and MySQL's backslashes inside literals survive the round trip, in every place
    /// the backend writes text.
    #[test]
    fn literals_keep_their_escapes() {
        let pg = for_engine(Engine::Postgresql);
        assert!(verify("COMMENT ON TABLE \"t\" IS 'it''s'", &*pg).is_ok());
        assert!(verify("CREATE TYPE \"e\" AS ENUM ('a''b', 'c')", &*pg).is_ok());
        let my = for_engine(Engine::Mysql);
        assert!(verify(
            "CREATE TABLE `t` (\n  `a` LONGTEXT COMMENT 'a\\\\b''c' DEFAULT ('x\\\\y')\n) ENGINE = InnoDB COMMENT = 'it''s \\\\'",
            &*my
        )
        .is_ok());
        // A literal that is not closed is not read as one.
        assert!(verify("COMMENT ON TABLE \"t\" IS 'it's'", &*pg).is_err());
    }
}

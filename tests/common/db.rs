//! Fresh databases on the real servers `tools/databases` runs, and their command-line
//! clients: for the SQL backend's tests and the generated service's.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use v5c::ir::Engine;

pub fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set. These tests need real database servers: run the full test \
             command (tools/test-all), or `eval \"$(tools/databases start)\"` first."
        )
    })
}

/// A fresh database on one engine, dropped again when the test is done.
pub struct Database {
    pub engine: Engine,
    pub name: String,
    /// PostgreSQL: a libpq connection string without the database. MySQL: `host port user`.
    /// SQLite: the database file.
    pub target: String,
}

impl Database {
    pub fn fresh(engine: Engine, label: &str) -> Database {
        let name = format!("v5c_{}", label.replace(['-', '.'], "_"));
        let db = match engine {
            Engine::Postgresql => Database {
                engine,
                name,
                target: setting("V5C_TEST_POSTGRES"),
            },
            Engine::Mysql => Database {
                engine,
                name,
                target: setting("V5C_TEST_MYSQL"),
            },
            Engine::Sqlite => {
                let sqlite3 = setting("V5C_TEST_SQLITE");
                assert!(Path::new(&sqlite3).exists(), "no sqlite3 at {sqlite3}");
                let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlite");
                std::fs::create_dir_all(&dir).expect("a directory for SQLite files");
                let file = dir.join(format!("{name}.db"));
                let _ = std::fs::remove_file(&file);
                Database {
                    engine,
                    name,
                    target: file.display().to_string(),
                }
            }
        };
        db.recreate();
        db
    }

    pub fn mysql_args(&self) -> Vec<String> {
        let mut args = vec!["--protocol=tcp".to_owned(), "-N".into(), "-B".into()];
        for part in self.target.split_whitespace() {
            let (key, value) = part.split_once('=').expect("key=value");
            args.push(match key {
                "host" => format!("--host={value}"),
                "port" => format!("--port={value}"),
                "user" => format!("--user={value}"),
                other => panic!("unknown V5C_TEST_MYSQL setting {other}"),
            });
        }
        args
    }

    pub fn command(&self, in_database: bool) -> Command {
        match self.engine {
            Engine::Postgresql => {
                let mut c = Command::new("psql");
                let dbname = if in_database { &self.name } else { "postgres" };
                c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t"])
                    .args(["-P", "null=NULL"])
                    .arg(format!("{} dbname={dbname}", self.target))
                    .env("PGOPTIONS", "-c client_min_messages=warning");
                c
            }
            Engine::Mysql => {
                let mut c = Command::new("mariadb");
                // Warnings and notes (a value cut to fit, a clamped number) are failures here;
                // the session is in UTC so that instants read back as written.
                c.args(self.mysql_args())
                    .args(["--show-warnings", "--init-command=SET time_zone = '+00:00'"]);
                if in_database {
                    c.arg(&self.name);
                }
                c
            }
            Engine::Sqlite => {
                let mut c = Command::new(setting("V5C_TEST_SQLITE"));
                c.args(["-bail", "-batch", "-noheader", "-separator", "\t"])
                    .args(["-nullvalue", "NULL"])
                    .arg(&self.target);
                c
            }
        }
    }

    /// Runs SQL text (one or more statements) with the engine's client: its output, or the
    /// error the database gave.
    pub fn run_in(&self, sql: &str, in_database: bool) -> Result<String, String> {
        let mut child = self
            .command(in_database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run the {:?} client: {e}", self.engine));
        {
            let mut stdin = child.stdin.take().expect("stdin");
            if self.engine == Engine::Sqlite {
                // Foreign keys are per connection in SQLite.
                stdin
                    .write_all(b"PRAGMA foreign_keys = 1;\n")
                    .expect("write");
            }
            stdin.write_all(sql.as_bytes()).expect("write");
            stdin.write_all(b"\n").expect("write");
        }
        let out = child.wait_with_output().expect("client runs");
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let warned = stdout
            .lines()
            .any(|l| l.starts_with("Warning (Code") || l.starts_with("Note (Code"));
        if out.status.success() && stderr.is_empty() && warned && in_database {
            Err(format!("accepted with warnings:\n{stdout}"))
        } else if out.status.success() && stderr.is_empty() {
            Ok(stdout)
        } else if stderr.is_empty() {
            Err(format!("exit status {}", out.status))
        } else {
            Err(stderr)
        }
    }

    pub fn run(&self, sql: &str) -> Result<String, String> {
        self.run_in(sql, true)
    }

    pub fn admin(&self, sql: &str) {
        if let Err(e) = self.run_in(sql, false) {
            panic!("{sql}: {e}");
        }
    }

    /// Rows of tab-separated values; `NULL` for SQL NULL.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let out = self
            .run(sql)
            .unwrap_or_else(|e| panic!("catalogue query failed: {e}\n{sql}"));
        out.lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect()
    }

    pub fn quote(&self, ident: &str) -> String {
        if self.engine == Engine::Mysql {
            format!("`{ident}`")
        } else {
            format!("\"{ident}\"")
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return; // keep it to look at
        }
        match self.engine {
            Engine::Postgresql => {
                let _ = self.run_in(&format!("DROP DATABASE IF EXISTS \"{}\"", self.name), false);
            }
            Engine::Mysql => {
                let _ = self.run_in(&format!("DROP DATABASE IF EXISTS `{}`", self.name), false);
            }
            Engine::Sqlite => {
                let _ = std::fs::remove_file(&self.target);
            }
        }
    }
}

impl Database {
    /// A fresh database on the server `target` names (a spare server, say) rather than the
    /// one the environment names.
    pub fn fresh_on(engine: Engine, label: &str, target: &str) -> Database {
        let db = Database {
            engine,
            name: format!("v5c_{}", label.replace(['-', '.'], "_")),
            target: target.to_owned(),
        };
        db.recreate();
        db
    }

    fn recreate(&self) {
        match self.engine {
            Engine::Postgresql => {
                self.admin(&format!("DROP DATABASE IF EXISTS \"{}\"", self.name));
                self.admin(&format!("CREATE DATABASE \"{}\"", self.name));
            }
            Engine::Mysql => {
                self.admin(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
                self.admin(&format!(
                    "CREATE DATABASE `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    self.name
                ));
            }
            Engine::Sqlite => {}
        }
    }

    fn setting_of(&self, key: &str) -> String {
        self.target
            .split_whitespace()
            .find_map(|part| part.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in `{}`", self.target))
            .to_owned()
    }

    /// The URL a service connects with (no password: the test servers trust loopback).
    pub fn url(&self) -> String {
        match self.engine {
            Engine::Postgresql => format!(
                "postgres://{}@{}:{}/{}",
                self.setting_of("user"),
                self.setting_of("host"),
                self.setting_of("port"),
                self.name
            ),
            Engine::Mysql => format!(
                "mysql://{}@{}:{}/{}",
                self.setting_of("user"),
                self.setting_of("host"),
                self.setting_of("port"),
                self.name
            ),
            Engine::Sqlite => format!("sqlite://{}", self.target),
        }
    }
}

//! The generated service, for real. For every example and for the fixture with every type
//! (`tests/fixtures/good/every-type.yaml`), the code backend's crate is generated and built
//! (one target directory for all, so the dependencies build once), its `migrate` is run, and
//! `serve` is started against fresh PostgreSQL, MariaDB and SQLite databases, as the spec
//! declares. Then, driven over HTTP from the IR alone:
//!
//! - every operation an api exposes: create (one row and a batch), get, list page by page,
//!   update (PATCH, and PUT's required fields), delete, and what each answers for a missing row;
//! - every class of bad request: not JSON, a field missing, null, of the wrong type, too long,
//!   out of range, not one of an enum's values, not in its format, unknown, and a reference to
//!   a row that does not exist (422 naming the field), a unique clash (409), a delete that a
//!   `restrict` reference forbids (409); and that none of them wrote anything;
//! - what `on_delete` does to the rows that refer to a deleted one (cascade, set null);
//! - a string that would end an SQL literal is stored as written;
//! - `/metrics` exports exactly the catalogue's metrics, every request counted where it was
//!   answered, and nothing else.
//!
//! Separately: concurrent `migrate`s apply the schema once; a database stopped under a running
//! service makes it unready (503, and 503 with `Retry-After` for requests) and it recovers
//! without a restart when the database is back; SIGTERM lets a request in flight finish; a bad
//! environment is refused with every problem named; a logic hook runs and is kept across
//! builds.
//!
//! They need the servers and a Rust toolchain, so plain `cargo test` skips them; the full test
//! command (`tools/test-all`) runs them. Alone: `eval "$(tools/databases start)"; cargo test
//! --test service -- --ignored`.

// Test values are small numbers made from a counter, and metric values counts read back from
// text: the casts between them cannot lose anything here.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::float_cmp,
    clippy::many_single_char_names
)]

mod common;

use common::db::{Database, setting};
use common::{analyse, root, stem};

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use v5c::ir::{ComponentKind, Engine, Entity, Field, FieldType, Ir, Operation, RefAction};

// ---------------------------------------------------------------------------------------------
// Generating and building the crates.

fn specs() -> Vec<PathBuf> {
    let mut specs = common::specs_in(&["examples"]);
    specs.push(root().join("tests/fixtures/good/every-type.yaml"));
    specs.push(root().join("tests/fixtures/code/edges.yaml"));
    specs.push(root().join("tests/fixtures/code/dataflow.yaml"));
    specs
}

fn work_dir() -> PathBuf {
    root().join("target/service-tests")
}

/// The shop's logic: hooks that change a request, refuse one, and take their time.
const SHOP_LOGIC: &str = r#"//! The shop's logic, as the service tests write it.
use crate::generated::hooks::{ApiHooks, Record, Rejection};
use serde_json::Value;

pub struct Logic;

impl ApiHooks for Logic {
    fn before_create_customer(&self, record: &mut Record) -> Result<(), Rejection> {
        if let Some(Value::String(name)) = record.get_mut("name") {
            *name = name.trim().to_owned();
            if name == "panic" {
                panic!("a hook with a bug");
            }
            if name == "forbidden" {
                return Err(Rejection::Invalid {
                    field: "name".into(),
                    message: "is not a name we take".into(),
                });
            }
        }
        Ok(())
    }

    fn before_create_product(&self, record: &mut Record) -> Result<(), Rejection> {
        if record.get("title").and_then(Value::as_str) == Some("slow") {
            std::thread::sleep(std::time::Duration::from_millis(1500));
        }
        Ok(())
    }
}
"#;

/// Transformer logic the dataflow tests run: (spec, file, text). Each changes every event,
/// so that a stored row shows it went through.
const LOGIC: &[(&str, &str, &str)] = &[
    (
        "analytics",
        "enrich.rs",
        r#"use crate::generated::hooks::EnrichLogic;
use crate::generated::messages::{Event, RawEvent};

pub struct Logic;

impl EnrichLogic for Logic {
    fn transform(&self, input: RawEvent) -> Result<Vec<Event>, String> {
        if input.source == "slow" {
            std::thread::sleep(std::time::Duration::from_millis(1500));
        }
        Ok(vec![Event {
            id: None,
            source: input.source,
            kind: input.kind,
            user_ref: input.user_ref,
            amount: input.amount,
            country: Some("NL".into()),
            properties: Some(serde_json::json!({ "enriched": true })),
            occurred_at: input.occurred_at,
            received_at: None,
        }])
    }
}
"#,
    ),
    (
        "analytics",
        "aggregate.rs",
        "use crate::generated::hooks::AggregateLogic;
use crate::generated::messages::{Event, MinuteAggregate};

pub struct Logic;

impl AggregateLogic for Logic {
    fn transform(&self, _input: Event) -> Result<Vec<MinuteAggregate>, String> {
        Ok(Vec::new())
    }
}
",
    ),
    (
        "streaming",
        "score.rs",
        r#"use crate::generated::hooks::ScoreLogic;
use crate::generated::messages::{
    Action, AuditRecord, ScoreOutput, ScoredTransaction, Transaction,
};

pub struct Logic;

impl ScoreLogic for Logic {
    fn transform(&self, input: Transaction) -> Result<Vec<ScoreOutput>, String> {
        let id = uuid::Uuid::new_v4();
        let scored = ScoredTransaction {
            id: Some(id),
            account: input.account,
            amount: input.amount,
            currency: input.currency,
            merchant: input.merchant,
            at: input.at,
            risk: 0.25,
            flagged: None,
        };
        let audit = AuditRecord {
            id: None,
            transaction: id,
            action: Action::Accepted,
            reason: Some("scored".into()),
            recorded_at: None,
        };
        Ok(vec![ScoreOutput::Scored(scored), ScoreOutput::Audit(audit)])
    }
}
"#,
    ),
    (
        "dataflow",
        "ticks.rs",
        r#"use crate::generated::hooks::{Emitter, TicksLogic};
use crate::generated::messages::Reading;

pub struct Logic;

fn reading(name: &str, i: u32) -> Reading {
    Reading {
        id: None,
        sensor: format!("{name}-{i}"),
        value: f64::from(i),
        at: chrono::Utc::now(),
        note: None,
    }
}

impl TicksLogic for Logic {
    fn run(&self, out: &Emitter<Reading>) -> Result<(), String> {
        if let Some(file) = std::env::var_os("TICKS_IGNORE_STOP") {
            // A loop that never looks at the stop nor at what `emit` answers. It writes how
            // many readings were taken, for the test to count them in the database.
            let mut taken = 0;
            for i in 0_u32.. {
                if out.emit(reading("stuck", i)).is_ok() {
                    taken += 1;
                    std::fs::write(&file, format!("{taken}")).map_err(|e| e.to_string())?;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        for i in 0..500 {
            out.emit(reading("tick", i)).map_err(|e| e.to_string())?;
        }
        out.wait_for_stop();
        Ok(())
    }
}
"#,
    ),
    (
        "dataflow",
        "check.rs",
        r#"use crate::generated::hooks::CheckLogic;
use crate::generated::messages::{CheckInput, Measure};

pub struct Logic;

impl CheckLogic for Logic {
    fn transform(&self, input: CheckInput) -> Result<Vec<Measure>, String> {
        let (port, reading) = match input {
            CheckInput::A(r) => ("a", r),
            CheckInput::B(r) => ("b", r),
        };
        if reading.value < 0.0 {
            return Err(format!("{} is below zero", reading.value));
        }
        assert!(reading.value != 13.0, "unlucky");
        Ok(vec![Measure {
            id: None,
            sensor: format!("{port}:{}", reading.sensor),
            value: reading.value,
            at: reading.at,
            note: reading.note,
        }])
    }
}
"#,
    ),
];

struct Built {
    analysed: v5c::Analysed,
    binary: PathBuf,
}

/// Every spec's service, generated and built once for all the tests.
fn built(stem_name: &str) -> &'static Built {
    static BUILT: OnceLock<BTreeMap<String, Built>> = OnceLock::new();
    let all = BUILT.get_or_init(|| {
        let mut all = BTreeMap::new();
        let target = work_dir().join("target");
        for spec in specs() {
            let analysed = analyse(&spec);
            let name = stem(&spec);
            let out = work_dir().join("out").join(&name);
            let output = common::build(&analysed, "code");
            let logic = out.join("service/src/logic/api.rs");
            // Each run starts clean: a logic file left from an older run may not fit.
            let _ = std::fs::remove_dir_all(&out);
            if name == "shop" {
                // The person's logic is written before the first build and must survive it.
                std::fs::create_dir_all(logic.parent().expect("parent")).expect("mkdir");
                std::fs::write(&logic, SHOP_LOGIC).expect("write the logic");
            }
            for (file, text) in LOGIC
                .iter()
                .filter(|(spec, _, _)| *spec == name)
                .map(|(_, f, t)| (f, t))
            {
                let path = out.join("service/src/logic").join(file);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, text).expect("write the logic");
            }
            let camino_out = camino::Utf8PathBuf::from_path_buf(out.clone()).expect("UTF-8");
            v5c::backends::output::write(&camino_out, &output.files, false)
                .unwrap_or_else(|d| panic!("writing {name}: {d:?}"));
            if name == "shop" {
                assert_eq!(std::fs::read_to_string(&logic).expect("logic"), SHOP_LOGIC);
            }
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--locked", "--quiet"])
                .current_dir(out.join("service"))
                .env("CARGO_TARGET_DIR", &target)
                .env("RUSTFLAGS", "-D warnings")
                // Nine service crates: without these they take some 8 GiB of disk, half of it
                // incremental caches that a generated crate rebuilt whole never reuses.
                .env("CARGO_INCREMENTAL", "0")
                .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
                .status()
                .expect("cargo runs");
            assert!(
                status.success(),
                "the service of {name} does not build (see above)"
            );
            // As rustfmt would write it (system.rs, the spec as data, is marked to be skipped).
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["fmt", "--check"])
                .current_dir(out.join("service"))
                .status()
                .expect("cargo fmt runs");
            assert!(
                status.success(),
                "the service of {name} is not formatted (see above)"
            );
            let binary = target
                .join("debug")
                .join(&analysed.facts().deploy.image.binary);
            all.insert(name, Built { analysed, binary });
        }
        all
    });
    &all[stem_name]
}

// ---------------------------------------------------------------------------------------------
// A running service.

struct Running {
    child: Child,
    port: u16,
    log: PathBuf,
    /// Requests answered by an api route: (component, route, method, status) → count.
    counted: Mutex<BTreeMap<(String, String, String, u16), u64>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port()
}

/// The environment of `service` with `dbs` (database name → URL).
fn environment(service: &str, port: u16, dbs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut env = vec![
        ("V5C_SERVICE".to_owned(), service.to_owned()),
        ("PORT".to_owned(), port.to_string()),
        ("LOG_LEVEL".to_owned(), "debug".to_owned()),
    ];
    for (db, url) in dbs {
        env.push((v5c::passes::database_env(db, "URL"), url.clone()));
    }
    env
}

fn command(binary: &Path, arg: &str, env: &[(String, String)]) -> Command {
    let mut c = Command::new(binary);
    c.arg(arg)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn migrate(binary: &Path, env: &[(String, String)]) {
    let out = command(binary, "migrate", env)
        .output()
        .expect("migrate runs");
    assert!(
        out.status.success(),
        "migrate failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Running {
    fn start(binary: &Path, env: &[(String, String)], label: &str) -> Running {
        let port: u16 = env
            .iter()
            .find(|(k, _)| k == "PORT")
            .and_then(|(_, v)| v.parse().ok())
            .expect("a port");
        let log = work_dir().join(format!("{label}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = command(binary, "serve", env)
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("the service starts");
        let running = Running {
            child,
            port,
            log,
            counted: Mutex::new(BTreeMap::new()),
        };
        running.wait_for(200, Duration::from_secs(20));
        running
    }

    /// Polls `/readyz` until it answers `status`.
    fn wait_for(&self, status: u16, within: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if let Ok(reply) = try_http(self.port, "GET", "/readyz", None) {
                if reply.status == status {
                    return start.elapsed();
                }
            }
            assert!(
                start.elapsed() < within,
                "/readyz did not answer {status} within {within:?}; the log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn get(&self, path: &str) -> Reply {
        http(self.port, "GET", path, None)
    }

    fn post(&self, path: &str, body: &str) -> Reply {
        http(self.port, "POST", path, Some(body))
    }

    /// A request to an api route, counted for the `/metrics` check.
    fn call(&self, api: &str, route: &str, method: &str, path: &str, body: Option<&str>) -> Reply {
        let reply = http(self.port, method, path, body);
        *self
            .counted
            .lock()
            .expect("lock")
            .entry((
                api.to_owned(),
                route.to_owned(),
                method.to_owned(),
                reply.status,
            ))
            .or_insert(0) += 1;
        reply
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the service did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP, by hand: one request per connection.

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The fields a 422 or 409 names.
    fn fields(&self) -> BTreeSet<String> {
        self.json()["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn try_http(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<Reply> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        unchunk(rest)
    } else {
        rest.to_owned()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Reply {
    try_http(port, method, path, body)
        .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

fn encode_path(part: &str) -> String {
    part.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Values from the IR.

/// Fresh databases for a spec's service, named after the test.
fn databases(
    analysed: &v5c::Analysed,
    service: &str,
    label: &str,
) -> (Vec<Database>, BTreeMap<String, String>) {
    let ir = analysed.ir();
    let facts = analysed
        .facts()
        .deploy
        .services
        .iter()
        .find(|s| s.name == service)
        .expect("the service");
    let mut dbs = Vec::new();
    let mut urls = BTreeMap::new();
    for name in &facts.databases {
        let db = ir.databases.values().find(|d| &d.name == name).expect("db");
        let fresh = Database::fresh(db.engine, &format!("svc_{label}_{name}"));
        urls.insert(name.clone(), fresh.url());
        dbs.push(fresh);
    }
    (dbs, urls)
}

fn key_type<'a>(ir: &'a Ir, entity: &'a Entity) -> &'a FieldType {
    match entity
        .primary_key
        .first()
        .and_then(|k| entity.field(k))
        .map(|f| &f.ty)
    {
        Some(FieldType::Ref { entity }) => key_type(ir, &ir.entities[entity.id()]),
        Some(ty) => ty,
        None => &FieldType::Int { bits: 64 },
    }
}

/// A valid value of `ty` within `field`'s bounds; `n` makes unique ones differ.
fn value_of(field: &Field, ty: &FieldType, n: i64) -> Value {
    let (min, max) = (field.min, field.max);
    match ty {
        FieldType::Uuid => json!(format!("00000000-0000-4000-8000-{n:012x}")),
        FieldType::String { max_length } => {
            let text = match field.format {
                Some(v5c::ir::StringFormat::Email) => format!("u{n}@example.com"),
                Some(v5c::ir::StringFormat::Url) => format!("https://example.com/{n}"),
                Some(v5c::ir::StringFormat::Hostname) => format!("h{n}.example.com"),
                Some(v5c::ir::StringFormat::Ipv4) => format!("10.0.{}.{}", n / 256, n % 256),
                Some(v5c::ir::StringFormat::Ipv6) => format!("fd00::{n:x}"),
                Some(v5c::ir::StringFormat::Slug) => format!("slug-{n}"),
                None => match max_length {
                    Some(m) if *m < 8 => {
                        // Short codes: letters from n, unique for small n.
                        let letters: String = (0..*m)
                            .map(|i| (b'A' + ((n / 26_i64.pow(i)) % 26) as u8) as char)
                            .collect();
                        letters
                    }
                    _ => format!("{}-{n} Ünïcode ✓", field.name),
                },
            };
            let max = max_length.map_or(usize::MAX, |m| m as usize);
            json!(text.chars().take(max).collect::<String>())
        }
        FieldType::Int { bits } => {
            let low = min.map_or(1, |m| m.ceil() as i64);
            let high = max.map_or(if *bits == 16 { 30_000 } else { 1_000_000 }, |m| {
                m.floor() as i64
            });
            json!(low + n.rem_euclid(high - low + 1))
        }
        FieldType::Decimal { scale, .. } => {
            let base = min.unwrap_or(0.0).max(0.0) + (n % 50) as f64 + 0.25;
            let capped = max.map_or(base, |m| base.min(m));
            json!(format!("{capped:.*}", *scale as usize))
        }
        FieldType::Float { bits } => match (min, max) {
            // Unbounded: a value that needs all 17 digits to read back.
            (None, None) if *bits == 64 => json!(std::f64::consts::PI * (n as f64)),
            _ => {
                let base = min.unwrap_or(0.0) + 0.5;
                json!(max.map_or(base, |m| base.min(m)))
            }
        },
        FieldType::Bool => json!(n % 2 == 1),
        FieldType::Timestamp => json!(format!("2026-01-{:02}T12:34:56.789Z", 1 + n % 28)),
        FieldType::Datetime => json!(format!("2026-02-{:02}T08:00:00.5", 1 + n % 28)),
        FieldType::Date => json!(format!("2026-03-{:02}", 1 + n % 28)),
        FieldType::Time => json!(format!("{:02}:15:30", n % 24)),
        FieldType::Json => json!({ "n": n, "tags": ["a", "b"], "nested": { "ok": true } }),
        FieldType::Bytes => json!("AAEC/w=="),
        FieldType::Enum { values } => json!(values[(n as usize) % values.len()]),
        FieldType::List { item } => json!([value_of(field, item, n), value_of(field, item, n + 1)]),
        FieldType::Ref { .. } => Value::Null,
    }
}

/// Whether a value read back is the one written: numbers and times compare by value.
fn same(ty: &FieldType, sent: &Value, got: &Value) -> bool {
    match (ty, sent, got) {
        (FieldType::Decimal { .. }, _, Value::String(g)) => {
            let s = sent
                .as_str()
                .map_or_else(|| sent.to_string(), str::to_owned);
            s.parse::<f64>().ok() == g.parse::<f64>().ok()
        }
        (FieldType::Float { bits }, Value::Number(s), Value::Number(g)) => {
            let (s, g) = (s.as_f64().unwrap_or(0.0), g.as_f64().unwrap_or(0.0));
            // A double reads back exactly; a single to its own precision.
            if *bits == 32 {
                (s - g).abs() <= 1e-6 * s.abs().max(1.0)
            } else {
                s == g
            }
        }
        (
            FieldType::Timestamp | FieldType::Datetime | FieldType::Time,
            Value::String(s),
            Value::String(g),
        ) => {
            let trim = |t: &str| -> String {
                let t = t.trim_end_matches('Z');
                match t.split_once('.') {
                    Some((whole, fraction)) => {
                        let f = fraction.trim_end_matches('0');
                        if f.is_empty() {
                            whole.to_owned()
                        } else {
                            format!("{whole}.{f}")
                        }
                    }
                    None => t.to_owned(),
                }
            };
            trim(s) == trim(g)
        }
        (FieldType::List { item }, Value::Array(s), Value::Array(g)) => {
            s.len() == g.len() && s.iter().zip(g).all(|(s, g)| same(item, s, g))
        }
        _ => sent == got,
    }
}

// ---------------------------------------------------------------------------------------------
// Driving every resource of an api.

/// One exposed entity, as the driver sees it.
struct Resource<'a> {
    api: &'a str,
    entity: &'a Entity,
    collection: String,
    /// The database its store is in.
    database: String,
    ops: Vec<Operation>,
}

impl Resource<'_> {
    fn has(&self, op: Operation) -> bool {
        self.ops.contains(&op)
    }

    fn item_route(&self) -> String {
        self.entity
            .primary_key
            .iter()
            .fold(self.collection.clone(), |p, k| format!("{p}/{{{k}}}"))
    }

    fn item_path(&self, row: &Value) -> String {
        self.entity
            .primary_key
            .iter()
            .fold(self.collection.clone(), |p, k| {
                let part = match &row[k.as_str()] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                format!("{p}/{}", encode_path(&part))
            })
    }

    fn key_of(&self, row: &Value) -> Vec<Value> {
        self.entity
            .primary_key
            .iter()
            .map(|k| row[k.as_str()].clone())
            .collect()
    }
}

/// The classes of bad request, each shown at least once across the specs.
const CLASSES: &[&str] = &[
    "not JSON",
    "missing",
    "null",
    "type",
    "too long",
    "out of range",
    "enum",
    "format",
    "unknown field",
    "missing reference",
    "unique",
    "restricted delete",
];

fn shown() -> &'static Mutex<BTreeSet<&'static str>> {
    static SHOWN: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    SHOWN.get_or_init(|| Mutex::new(BTreeSet::new()))
}

struct Driver<'a> {
    ir: &'a Ir,
    service: &'a Running,
    resources: Vec<Resource<'a>>,
    /// Rows created and not deleted, by (api, entity).
    /// By collection.
    rows: BTreeMap<String, Vec<Value>>,
    n: i64,
}

impl<'a> Driver<'a> {
    fn new(analysed: &'a v5c::Analysed, service_name: &str, service: &'a Running) -> Driver<'a> {
        let ir = analysed.ir();
        let svc = ir
            .services
            .values()
            .find(|s| s.name == service_name)
            .expect("service");
        let mut resources = Vec::new();
        for component in svc.components.iter().map(|c| &ir.components[c.id()]) {
            if let ComponentKind::Api { prefix, exposes } = &component.kind {
                for e in exposes {
                    resources.push(Resource {
                        api: &component.name,
                        entity: &ir.entities[e.entity.id()],
                        collection: format!("{}{}", prefix.trim_end_matches('/'), e.path),
                        database: match &ir.components[e.store.id()].kind {
                            ComponentKind::Store { database, .. } => database.name.clone(),
                            _ => String::new(),
                        },
                        ops: e.operations.clone(),
                    });
                }
            }
        }
        Driver {
            ir,
            service,
            resources,
            rows: BTreeMap::new(),
            n: 0,
        }
    }

    fn next_n(&mut self) -> i64 {
        self.n += 1;
        self.n
    }

    fn rows_of(&self, collection: &str) -> &[Value] {
        self.rows.get(collection).map_or(&[], Vec::as_slice)
    }

    /// The collection of `entity` that `r`'s references point into: the same api's, in the
    /// same database.
    fn collection_of(&self, r: &Resource, entity: &str) -> Option<String> {
        self.resources
            .iter()
            .find(|x| x.api == r.api && x.entity.name == entity && x.database == r.database)
            .map(|x| x.collection.clone())
    }

    /// A valid record: required fields and (with `full`) every other settable one, except
    /// nullable references, which stay empty so that the rows form no cycles. A key made of
    /// references or enum values takes a combination no row has. `None` when a required
    /// reference has no row to point at yet, or every key is taken.
    fn record(&self, r: &Resource, n: i64, full: bool) -> Option<serde_json::Map<String, Value>> {
        let mut record = serde_json::Map::new();
        // Key fields whose values come from a small set: (field, candidates).
        let mut choices: Vec<(String, Vec<Value>)> = Vec::new();
        for field in &r.entity.fields {
            if field.identity {
                continue;
            }
            // Part of the key or of a unique index: its combination must be new.
            let in_key = r.entity.primary_key.contains(&field.name)
                || r.entity
                    .indexes
                    .iter()
                    .any(|ix| ix.unique && ix.fields.contains(&field.name));
            let is_ref = matches!(field.ty, FieldType::Ref { .. });
            // A reference with a default points at a row that must exist: give one.
            let required = !field.nullable && (field.default.is_none() || is_ref);
            if !required && !full {
                continue;
            }
            match &field.ty {
                FieldType::Ref { entity } => {
                    if field.nullable {
                        continue;
                    }
                    let target = &self.ir.entities[entity.id()];
                    let key = target.primary_key.first()?;
                    let collection = self.collection_of(r, &target.name)?;
                    let keys: Vec<Value> = self
                        .rows_of(&collection)
                        .iter()
                        .map(|row| row[key.as_str()].clone())
                        .collect();
                    if keys.is_empty() {
                        return None;
                    }
                    if in_key {
                        choices.push((field.name.clone(), keys));
                    } else {
                        record.insert(field.name.clone(), keys[0].clone());
                    }
                }
                FieldType::Enum { values } if in_key => {
                    choices.push((
                        field.name.clone(),
                        values.iter().map(|v| json!(v)).collect(),
                    ));
                }
                ty => {
                    record.insert(field.name.clone(), value_of(field, ty, n));
                }
            }
        }
        if !choices.is_empty() {
            let taken: BTreeSet<String> = self
                .rows_of(&r.collection)
                .iter()
                .map(|row| {
                    let key: Vec<&Value> = choices.iter().map(|(f, _)| &row[f.as_str()]).collect();
                    format!("{key:?}")
                })
                .collect();
            let total: usize = choices.iter().map(|(_, c)| c.len()).product();
            let start = usize::try_from(n).unwrap_or(0);
            let pick = (0..total).map(|i| (start + i) % total).find_map(|mut i| {
                let combo: Vec<&Value> = choices
                    .iter()
                    .map(|(_, c)| {
                        let v = &c[i % c.len()];
                        i /= c.len();
                        v
                    })
                    .collect();
                (!taken.contains(&format!("{combo:?}"))).then_some(combo)
            })?;
            for ((f, _), v) in choices.iter().zip(pick) {
                record.insert(f.clone(), v.clone());
            }
        }
        Some(record)
    }

    fn create(&self, r: &Resource, body: &Value) -> Reply {
        self.service.call(
            r.api,
            &r.collection,
            "POST",
            &r.collection,
            Some(&body.to_string()),
        )
    }

    fn count(&self, r: &Resource) -> usize {
        let mut count = 0;
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("{}?limit=1000&after={}", r.collection, encode_path(a)),
                None => format!("{}?limit=1000", r.collection),
            };
            let reply = self.service.call(r.api, &r.collection, "GET", &path, None);
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            let page = reply.json();
            count += page["items"].as_array().expect("items").len();
            match &page["next"] {
                Value::Null => return count,
                Value::String(s) => after = Some(s.clone()),
                other => after = Some(other.to_string()),
            }
        }
    }

    /// Every resource that can be created, parents first, three rows each; then every
    /// other check on each.
    fn run(&mut self) {
        let creatable: Vec<usize> = (0..self.resources.len())
            .filter(|i| self.resources[*i].has(Operation::Create))
            .collect();
        let mut done: BTreeSet<usize> = BTreeSet::new();
        for _round in 0..=creatable.len() {
            for &i in &creatable {
                if done.contains(&i) {
                    continue;
                }
                if self.create_rows(i) {
                    done.insert(i);
                }
            }
        }
        for &i in &creatable {
            assert!(
                done.contains(&i),
                "no rows for {}: a required reference never had a row to point at",
                self.resources[i].entity.name
            );
        }
        for i in 0..self.resources.len() {
            self.read_only_or_reads(i);
        }
        for &i in &creatable {
            self.bad_requests(i);
            self.uniques(i);
            self.batches(i);
            self.updates(i);
        }
        for &i in &creatable {
            self.deletes(i);
        }
        for &i in &creatable {
            self.odd_values(i);
        }
    }

    /// Odd values in every field: whatever the answer, it is never a 5xx. (Last: a value
    /// that happens to be valid writes a row.)
    fn odd_values(&mut self, i: usize) {
        let n = self.next_n();
        let r = &self.resources[i];
        let Some(good) = self.record(r, n, true) else {
            return;
        };
        let odd = [
            Value::Null,
            json!(true),
            json!(-1),
            json!(0),
            json!(1e308),
            json!(-1e308),
            json!(0.1),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(""),
            json!(" "),
            json!("\u{0}"),
            json!("x".repeat(70_000)),
            json!("'; DROP TABLE x; --"),
            json!("😀"),
            json!("2026-02-29T00:00:00Z"),
            json!("0001-01-01"),
            json!("24:00:00"),
            json!("NaN"),
            json!("1e3"),
            json!([]),
            json!([1, "a", null]),
            json!({}),
            json!({ "a": { "b": [1, 2, { "\u{0}": "\u{0}" }] } }),
        ];
        for field in &r.entity.fields {
            for value in &odd {
                let mut record = good.clone();
                record.insert(field.name.clone(), value.clone());
                let reply = self.create(r, &Value::Object(record));
                assert!(
                    [201, 400, 409, 422].contains(&reply.status),
                    "{}.{} = {}: {} {}",
                    r.entity.name,
                    field.name,
                    value.to_string().chars().take(60).collect::<String>(),
                    reply.status,
                    reply.body
                );
            }
        }
    }

    fn create_rows(&mut self, i: usize) -> bool {
        let mut created = Vec::new();
        for k in 0..3 {
            let n = self.next_n();
            let r = &self.resources[i];
            // The first row gives only what is required, so defaults are filled in; the others
            // give every field.
            let Some(record) = self.record(r, n, k > 0) else {
                return false;
            };
            let reply = self.create(r, &Value::Object(record.clone()));
            assert_eq!(reply.status, 201, "create {}: {}", r.collection, reply.body);
            let row = reply.json();
            for field in &r.entity.fields {
                let got = &row[field.name.as_str()];
                assert!(
                    row.get(field.name.as_str()).is_some(),
                    "{}: no `{}` in {row}",
                    r.entity.name,
                    field.name
                );
                if let Some(sent) = record.get(&field.name) {
                    let ty = match &field.ty {
                        FieldType::Ref { entity } => {
                            key_type(self.ir, &self.ir.entities[entity.id()])
                        }
                        ty => ty,
                    };
                    assert!(
                        same(ty, sent, got),
                        "{}.{}: sent {sent}, read back {got}",
                        r.entity.name,
                        field.name
                    );
                } else if !field.nullable {
                    assert!(
                        !got.is_null(),
                        "{}.{} was filled with null",
                        r.entity.name,
                        field.name
                    );
                }
            }
            // A row reads back as it was created.
            if r.has(Operation::Get) {
                let path = r.item_path(&row);
                let got = self
                    .service
                    .call(r.api, &r.item_route(), "GET", &path, None);
                assert_eq!(got.status, 200, "{path}: {}", got.body);
                assert_eq!(got.json(), row, "{path}");
            }
            created.push(row);
        }
        let key = self.resources[i].collection.clone();
        self.rows.entry(key).or_default().extend(created);
        true
    }

    /// Lists page by page in key order; a missing key is 404; for resources that are read
    /// only, a write is 405.
    fn read_only_or_reads(&mut self, i: usize) {
        let r = &self.resources[i];
        let rows = self.rows_of(&r.collection).to_vec();
        if r.has(Operation::List) {
            let first = self.service.call(
                r.api,
                &r.collection,
                "GET",
                &format!("{}?limit=2", r.collection),
                None,
            );
            assert_eq!(first.status, 200, "{}", first.body);
            let page = first.json();
            let items = page["items"].as_array().expect("items").clone();
            assert_eq!(items.len(), rows.len().min(2), "{}", first.body);
            let mut seen: Vec<Vec<Value>> = items.iter().map(|row| r.key_of(row)).collect();
            if rows.len() > 2 {
                let next = match &page["next"] {
                    Value::String(s) => s.clone(),
                    Value::Null => panic!("a full page has a next: {}", first.body),
                    other => other.to_string(),
                };
                let path = format!("{}?limit=2&after={}", r.collection, encode_path(&next));
                let second = self.service.call(r.api, &r.collection, "GET", &path, None);
                assert_eq!(second.status, 200, "{path}: {}", second.body);
                seen.extend(
                    second.json()["items"]
                        .as_array()
                        .expect("items")
                        .iter()
                        .map(|row| r.key_of(row)),
                );
            }
            let all: BTreeSet<String> = seen.iter().map(|k| format!("{k:?}")).collect();
            assert_eq!(
                all.len(),
                seen.len(),
                "{}: a row came twice: {seen:?}",
                r.collection
            );
            for row in &rows {
                assert!(
                    all.contains(&format!("{:?}", r.key_of(row))),
                    "{row} not listed: {seen:?}"
                );
            }
            for (name, value) in [
                ("limit", "0"),
                ("limit", "1001"),
                ("limit", "x"),
                ("sort", "id"),
            ] {
                let path = format!("{}?{name}={value}", r.collection);
                let bad = self.service.call(r.api, &r.collection, "GET", &path, None);
                assert_eq!(bad.status, 400, "{path}: {}", bad.body);
            }
        }
        if r.has(Operation::Get) {
            let missing = self.missing_key_path(r);
            let reply = self
                .service
                .call(r.api, &r.item_route(), "GET", &missing, None);
            assert_eq!(reply.status, 404, "{missing}: {}", reply.body);
            let nonsense = format!(
                "{}/{}",
                r.collection,
                ["not a key"; 3][..r.entity.primary_key.len()]
                    .join("/")
                    .replace(' ', "%20")
            );
            let reply = self
                .service
                .call(r.api, &r.item_route(), "GET", &nonsense, None);
            assert_eq!(reply.status, 404, "{nonsense}: {}", reply.body);
        }
        if !r.has(Operation::Create) && r.has(Operation::List) {
            let reply = http(self.service.port, "POST", &r.collection, Some("{}"));
            assert_eq!(reply.status, 405, "POST {}: {}", r.collection, reply.body);
        }
    }

    /// A key of the right type that no row has.
    fn missing_key_path(&self, r: &Resource) -> String {
        let parts: Vec<String> = r
            .entity
            .primary_key
            .iter()
            .map(|k| {
                let field = r.entity.field(k).expect("key field");
                let ty = match &field.ty {
                    FieldType::Ref { entity } => key_type(self.ir, &self.ir.entities[entity.id()]),
                    ty => ty,
                };
                match ty {
                    // An enum key: a value no row has (the driver keeps one free).
                    FieldType::Enum { values } => {
                        let taken: Vec<&Value> = self
                            .rows_of(&r.collection)
                            .iter()
                            .map(|row| &row[k.as_str()])
                            .collect();
                        values
                            .iter()
                            .map(|v| json!(v))
                            .find(|v| !taken.contains(&v))
                            .unwrap_or_else(|| {
                                panic!("every value of {}.{k} is a row", r.entity.name)
                            })
                    }
                    _ => Self::missing_value(ty, field),
                }
            })
            .map(|v| match v {
                Value::String(s) => encode_path(&s),
                other => other.to_string(),
            })
            .collect();
        format!("{}/{}", r.collection, parts.join("/"))
    }

    fn missing_value(ty: &FieldType, field: &Field) -> Value {
        match ty {
            FieldType::Int { bits: 16 } => json!(32_000),
            FieldType::Int { .. } => json!(2_000_000_000),
            FieldType::Uuid => json!("ffffffff-ffff-4fff-bfff-ffffffffffff"),
            // The last value: the driver makes at most three rows of an enum key.
            FieldType::Enum { values } => json!(values[values.len() - 1]),
            FieldType::String { max_length } => {
                json!(
                    "ZZZZZZZZ"
                        .chars()
                        .take(max_length.map_or(8, |m| m as usize))
                        .collect::<String>()
                )
            }
            other => value_of(field, other, 9999),
        }
    }

    /// Each kind of bad field on a create: 422 naming the field, and nothing written.
    fn bad_requests(&mut self, i: usize) {
        let n = self.next_n();
        let r = &self.resources[i];
        let Some(good) = self.record(r, n, true) else {
            return;
        };
        let before = if r.has(Operation::List) {
            Some(self.count(r))
        } else {
            None
        };
        let mut attempts: Vec<(&'static str, String, Value)> = Vec::new();
        let with = |field: &str, value: Value| {
            let mut record = good.clone();
            record.insert(field.to_owned(), value);
            Value::Object(record)
        };
        for field in &r.entity.fields {
            let name = field.name.clone();
            if field.identity {
                attempts.push(("unknown field", name.clone(), with(&name, json!(5))));
                continue;
            }
            if !field.nullable
                && field.default.is_none()
                && !matches!(field.default, Some(v5c::ir::FieldDefault::RandomUuid))
            {
                let mut record = good.clone();
                record.remove(&name);
                attempts.push(("missing", name.clone(), Value::Object(record)));
            }
            if !field.nullable {
                attempts.push(("null", name.clone(), with(&name, Value::Null)));
            }
            match &field.ty {
                FieldType::String { max_length } => {
                    attempts.push(("type", name.clone(), with(&name, json!(42))));
                    if let Some(m) = max_length {
                        attempts.push((
                            "too long",
                            name.clone(),
                            with(&name, json!("é".repeat(*m as usize + 1))),
                        ));
                    }
                    if field.format.is_some() {
                        attempts.push((
                            "format",
                            name.clone(),
                            with(&name, json!("not valid here!")),
                        ));
                    }
                }
                FieldType::Int { bits } => {
                    attempts.push(("type", name.clone(), with(&name, json!("12"))));
                    attempts.push(("type", name.clone(), with(&name, json!(1.5))));
                    let over = match bits {
                        16 => json!(40_000),
                        32 => json!(3_000_000_000_i64),
                        _ => json!(1e20),
                    };
                    attempts.push(("out of range", name.clone(), with(&name, over)));
                    if let Some(min) = field.min {
                        attempts.push((
                            "out of range",
                            name.clone(),
                            with(&name, json!(min as i64 - 1)),
                        ));
                    }
                    if let Some(max) = field.max {
                        attempts.push((
                            "out of range",
                            name.clone(),
                            with(&name, json!(max as i64 + 1)),
                        ));
                    }
                }
                FieldType::Decimal { precision, scale } => {
                    attempts.push(("type", name.clone(), with(&name, json!(true))));
                    attempts.push((
                        "out of range",
                        name.clone(),
                        with(
                            &name,
                            json!(format!("1.{}", "1".repeat(*scale as usize + 1))),
                        ),
                    ));
                    attempts.push((
                        "out of range",
                        name.clone(),
                        with(&name, json!("9".repeat(*precision as usize + 1))),
                    ));
                    if let Some(min) = field.min {
                        attempts.push((
                            "out of range",
                            name.clone(),
                            with(&name, json!(format!("{:.*}", *scale as usize, min - 1.0))),
                        ));
                    }
                }
                FieldType::Float { .. } => {
                    attempts.push(("type", name.clone(), with(&name, json!("0.5"))));
                    if let Some(max) = field.max {
                        attempts.push((
                            "out of range",
                            name.clone(),
                            with(&name, json!(max * 2.0 + 1.0)),
                        ));
                    }
                }
                FieldType::Bool => attempts.push(("type", name.clone(), with(&name, json!("yes")))),
                FieldType::Uuid => {
                    attempts.push(("format", name.clone(), with(&name, json!("1234"))));
                }
                FieldType::Timestamp | FieldType::Datetime | FieldType::Date | FieldType::Time => {
                    attempts.push((
                        "format",
                        name.clone(),
                        with(&name, json!("2026-02-30T25:61:00")),
                    ));
                }
                FieldType::Enum { .. } => {
                    attempts.push(("enum", name.clone(), with(&name, json!("none-of-these"))));
                }
                FieldType::Bytes => {
                    attempts.push(("format", name.clone(), with(&name, json!("%%%"))));
                }
                FieldType::List { .. } => {
                    attempts.push(("type", name.clone(), with(&name, json!("not a list"))));
                    attempts.push(("type", name.clone(), with(&name, json!([null]))));
                }
                FieldType::Ref { entity } => {
                    let target = &self.ir.entities[entity.id()];
                    let ty = key_type(self.ir, target);
                    // Every enum value may be a row already; other keys have a missing one.
                    if !matches!(ty, FieldType::Enum { .. }) {
                        let missing = Self::missing_value(ty, field);
                        attempts.push(("missing reference", name.clone(), with(&name, missing)));
                    }
                }
                FieldType::Json => {}
            }
        }
        attempts.push((
            "unknown field",
            "no_such_field".into(),
            with("no_such_field", json!(1)),
        ));
        for (class, field, body) in &attempts {
            let reply = self.create(r, body);
            assert_eq!(
                reply.status, 422,
                "{class} {}.{field}: {body} → {}",
                r.entity.name, reply.body
            );
            assert!(
                reply.fields().contains(field),
                "{class}: the 422 does not name `{field}`: {}",
                reply.body
            );
            shown().lock().expect("lock").insert(class);
        }
        for body in ["{", "[1,", "\"just text", ""] {
            let reply = self
                .service
                .call(r.api, &r.collection, "POST", &r.collection, Some(body));
            assert_eq!(reply.status, 400, "{body:?} → {}", reply.body);
        }
        shown().lock().expect("lock").insert("not JSON");
        let reply = self.create(r, &json!([]));
        assert_eq!(reply.status, 422, "an empty batch: {}", reply.body);
        let reply = self.create(r, &json!(7));
        assert_eq!(reply.status, 422, "a number for a body: {}", reply.body);
        if let Some(before) = before {
            assert_eq!(
                self.count(r),
                before,
                "a refused request wrote a row of {}",
                r.entity.name
            );
        }
    }

    /// A row that repeats another's unique fields: 409 naming them.
    fn uniques(&mut self, i: usize) {
        let r = &self.resources[i];
        let Some(existing) = self.rows_of(&r.collection).last().cloned() else {
            return;
        };
        let mut sets: Vec<Vec<String>> = r
            .entity
            .indexes
            .iter()
            .filter(|ix| ix.unique)
            .map(|ix| ix.fields.clone())
            .collect();
        // A key the client gives is unique too.
        let given_key = r
            .entity
            .primary_key
            .iter()
            .all(|k| r.entity.field(k).is_some_and(|f| !f.identity));
        if given_key {
            sets.push(r.entity.primary_key.clone());
        }
        for set in sets {
            let n = self.next_n();
            let Some(mut record) = self.record(&self.resources[i], n, true) else {
                continue;
            };
            let r = &self.resources[i];
            for f in &set {
                record.insert(f.clone(), existing[f.as_str()].clone());
            }
            // Every other unique set must not clash too: the record's own fields are fresh.
            let reply = self.create(r, &Value::Object(record));
            assert_eq!(
                reply.status, 409,
                "{} repeating {set:?}: {}",
                r.entity.name, reply.body
            );
            let named = reply.fields();
            assert_eq!(
                named,
                set.iter().cloned().collect::<BTreeSet<_>>(),
                "{}",
                reply.body
            );
            shown().lock().expect("lock").insert("unique");
        }
    }

    /// A batch is one transaction: all or nothing.
    fn batches(&mut self, i: usize) {
        let (n1, n2) = (self.next_n(), self.next_n());
        let r = &self.resources[i];
        let Some(a) = self.record(r, n1, true) else {
            return;
        };
        // `b` may not take `a`'s key: `a` counts as a row while `b` is made.
        let key = r.collection.clone();
        self.rows
            .entry(key.clone())
            .or_default()
            .push(Value::Object(a.clone()));
        let b = self.record(&self.resources[i], n2, true);
        // A key from a small set (an enum's values) keeps one free for the missing-key checks.
        if let Some(b) = &b {
            self.rows
                .entry(key.clone())
                .or_default()
                .push(Value::Object(b.clone()));
        }
        let c = self.record(&self.resources[i], n2 + 1, true);
        let pending = self.rows.entry(key).or_default();
        pending.truncate(pending.len() - 1 - usize::from(b.is_some()));
        let r = &self.resources[i];
        let Some(b) = b else {
            return;
        };
        let before = if r.has(Operation::List) {
            Some(self.count(r))
        } else {
            None
        };
        let mut bad = b.clone();
        bad.insert("no_such_field".into(), json!(1));
        let reply = self.create(r, &json!([a.clone(), bad]));
        assert_eq!(reply.status, 422, "{}", reply.body);
        assert!(
            reply.fields().contains("[1].no_such_field"),
            "{}",
            reply.body
        );
        if let Some(before) = before {
            assert_eq!(self.count(r), before, "half a batch was written");
        }
        // Valid alone, but the second clashes with the first on every unique set (its own
        // key when the client gives it): the database refuses, and the first is undone too.
        let clashing_sets: Vec<&Vec<String>> = r
            .entity
            .indexes
            .iter()
            .filter(|ix| ix.unique)
            .map(|ix| &ix.fields)
            .collect();
        if let Some(set) = clashing_sets.first() {
            let mut twin = b.clone();
            for f in *set {
                twin.insert(f.clone(), a[f.as_str()].clone());
            }
            let reply = self.create(r, &json!([a.clone(), twin]));
            assert_eq!(reply.status, 409, "{}", reply.body);
            if let Some(before) = before {
                assert_eq!(
                    self.count(r),
                    before,
                    "a batch that failed in the database left a row"
                );
            }
        }
        if c.is_none() {
            return;
        }
        let reply = self.create(r, &json!([a, b]));
        assert_eq!(reply.status, 201, "{}", reply.body);
        let rows = reply
            .json()
            .as_array()
            .expect("an array for a batch")
            .clone();
        assert_eq!(rows.len(), 2);
        let key = r.collection.clone();
        self.rows.entry(key).or_default().extend(rows);
    }

    /// PATCH changes one field; PUT needs the required ones; a key cannot change; a string
    /// that ends an SQL literal is stored as written.
    fn updates(&mut self, i: usize) {
        let r = &self.resources[i];
        if !r.has(Operation::Update) {
            return;
        }
        let Some(row) = self.rows_of(&r.collection).first().cloned() else {
            return;
        };
        let path = r.item_path(&row);
        let route = r.item_route();
        let unique: BTreeSet<&String> = r
            .entity
            .indexes
            .iter()
            .filter(|ix| ix.unique)
            .flat_map(|ix| &ix.fields)
            .collect();
        let plain = r.entity.fields.iter().find(|f| {
            matches!(f.ty, FieldType::String { max_length } if max_length.is_none_or(|m| m >= 40))
                && f.format.is_none()
                && !r.entity.primary_key.contains(&f.name)
                && !unique.contains(&f.name)
        });
        if let Some(field) = plain {
            let sneaky = "it's'); DROP TABLE x; --";
            let reply = self.service.call(
                r.api,
                &route,
                "PATCH",
                &path,
                Some(&json!({ field.name.clone(): sneaky }).to_string()),
            );
            assert_eq!(reply.status, 200, "PATCH {path}: {}", reply.body);
            assert_eq!(reply.json()[field.name.as_str()], json!(sneaky));
            let again = self.service.call(r.api, &route, "GET", &path, None);
            assert_eq!(
                again.json()[field.name.as_str()],
                json!(sneaky),
                "{}",
                again.body
            );
        }
        let required: BTreeSet<String> = r
            .entity
            .fields
            .iter()
            .filter(|f| {
                !f.nullable
                    && f.default.is_none()
                    && !f.identity
                    && !r.entity.primary_key.contains(&f.name)
            })
            .map(|f| f.name.clone())
            .collect();
        let reply = self.service.call(r.api, &route, "PUT", &path, Some("{}"));
        if required.is_empty() {
            assert_eq!(reply.status, 200, "PUT {{}} {path}: {}", reply.body);
        } else {
            assert_eq!(reply.status, 422, "PUT {{}} {path}: {}", reply.body);
            assert_eq!(reply.fields(), required, "{}", reply.body);
        }
        let key = &r.entity.primary_key[0];
        let mut changed_key = serde_json::Map::new();
        let other = match key_type(self.ir, r.entity) {
            FieldType::Enum { values } => values
                .iter()
                .map(|v| json!(v))
                .find(|v| *v != row[key.as_str()])
                .expect("two values"),
            ty => Self::missing_value(ty, r.entity.field(key).expect("key")),
        };
        changed_key.insert(key.clone(), other);
        let reply = self.service.call(
            r.api,
            &route,
            "PATCH",
            &path,
            Some(&Value::Object(changed_key).to_string()),
        );
        assert_eq!(reply.status, 422, "changing the key: {}", reply.body);
        let missing = self.missing_key_path(r);
        let reply = self
            .service
            .call(r.api, &route, "PATCH", &missing, Some("{}"));
        assert_eq!(reply.status, 404, "PATCH {missing}: {}", reply.body);
        let reply = self.service.call(r.api, &route, "PATCH", &path, Some("{"));
        assert_eq!(reply.status, 400, "{}", reply.body);
    }

    /// The rows (resource index, row) that refer to `row` of resource `i`, with what their
    /// reference does when it goes.
    fn referrers(&self, i: usize, row: &Value) -> Vec<(usize, String, RefAction, Value)> {
        let r = &self.resources[i];
        let key = &r.entity.primary_key[0];
        let mut out = Vec::new();
        for (j, o) in self
            .resources
            .iter()
            .enumerate()
            .filter(|(_, o)| o.api == r.api && o.database == r.database)
        {
            for f in &o.entity.fields {
                let FieldType::Ref { entity } = &f.ty else {
                    continue;
                };
                if entity.name != r.entity.name {
                    continue;
                }
                for child in self.rows_of(&o.collection) {
                    if child[f.name.as_str()] == row[key.as_str()]
                        && !(j == i && o.key_of(child) == r.key_of(row))
                    {
                        out.push((
                            j,
                            f.name.clone(),
                            f.on_delete.unwrap_or(RefAction::Restrict),
                            child.clone(),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Whether deleting `row` must fail: a row refers to it (or to a row its delete
    /// cascades to) with `restrict` or `no action`, or with `set default` (the driver never
    /// makes the row a default names).
    fn blocked(&self, i: usize, row: &Value, depth: usize) -> bool {
        depth < 8
            && self
                .referrers(i, row)
                .iter()
                .any(|(j, _, action, child)| match action {
                    RefAction::Restrict | RefAction::NoAction | RefAction::SetDefault => true,
                    RefAction::Cascade => self.blocked(*j, child, depth + 1),
                    RefAction::SetNull => false,
                })
    }

    /// Forgets `row` and what its delete cascades to; checks that each row it cascaded to is
    /// gone and each row it set null reads null.
    fn deleted(&mut self, i: usize, row: &Value) {
        for (j, field, action, child) in self.referrers(i, row) {
            let o = &self.resources[j];
            let path = o.item_path(&child);
            match action {
                RefAction::Cascade => {
                    if o.has(Operation::Get) {
                        let now = self
                            .service
                            .call(o.api, &o.item_route(), "GET", &path, None);
                        assert_eq!(
                            now.status, 404,
                            "{path} after the row it refers to went (cascade): {}",
                            now.body
                        );
                    }
                    self.deleted(j, &child);
                }
                RefAction::SetNull => {
                    if o.has(Operation::Get) {
                        let now = self
                            .service
                            .call(o.api, &o.item_route(), "GET", &path, None);
                        assert!(
                            now.json()[field.as_str()].is_null(),
                            "{path}.{field} after set null: {}",
                            now.body
                        );
                    }
                    let key = o.collection.clone();
                    let (o_key, child_key) = (o.entity.primary_key.clone(), o.key_of(&child));
                    for x in self.rows.entry(key).or_default().iter_mut() {
                        let x_key: Vec<Value> =
                            o_key.iter().map(|k| x[k.as_str()].clone()).collect();
                        if x_key == child_key {
                            x[field.as_str()] = Value::Null;
                        }
                    }
                }
                _ => {}
            }
        }
        let r = &self.resources[i];
        let (key, row_key) = (r.collection.clone(), r.key_of(row));
        let pk = r.entity.primary_key.clone();
        self.rows.entry(key).or_default().retain(|x| {
            let x_key: Vec<Value> = pk.iter().map(|k| x[k.as_str()].clone()).collect();
            x_key != row_key
        });
    }

    /// Deletes every row of a resource: 409 where a reference forbids it, otherwise 204, a
    /// second delete 404, and what each reference's `on_delete` does to the rows that refer.
    fn deletes(&mut self, i: usize) {
        let r = &self.resources[i];
        if !r.has(Operation::Delete) {
            return;
        }
        let route = r.item_route();
        let missing = self.missing_key_path(r);
        let reply = self.service.call(r.api, &route, "DELETE", &missing, None);
        assert_eq!(reply.status, 404, "DELETE {missing}: {}", reply.body);
        let rows = self.rows_of(&r.collection).to_vec();
        for row in rows.iter().rev() {
            let r = &self.resources[i];
            let path = r.item_path(row);
            let blocked = self.blocked(i, row, 0);
            let reply = self.service.call(r.api, &route, "DELETE", &path, None);
            if blocked {
                assert_eq!(
                    reply.status, 409,
                    "DELETE {path}, which rows refer to: {}",
                    reply.body
                );
                shown().lock().expect("lock").insert("restricted delete");
                continue;
            }
            assert_eq!(reply.status, 204, "DELETE {path}: {}", reply.body);
            if r.has(Operation::Get) {
                let gone = self.service.call(r.api, &route, "GET", &path, None);
                assert_eq!(gone.status, 404, "{path} after DELETE: {}", gone.body);
            }
            let again = self.service.call(r.api, &route, "DELETE", &path, None);
            assert_eq!(again.status, 404, "DELETE {path} twice: {}", again.body);
            self.deleted(i, row);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// /metrics.

/// The exposition exports exactly the catalogue; every api request is counted where it was
/// answered, with its duration; the pool gauges match the spec.
fn check_metrics(analysed: &v5c::Analysed, service: &str, running: &Running) {
    let text = running.get("/metrics").body;
    let catalogue: BTreeMap<&str, &v5c::passes::Metric> = analysed
        .facts()
        .metrics
        .iter()
        .filter(|m| m.exported_by.iter().any(|s| s == service))
        .map(|m| (m.name.as_str(), m))
        .collect();
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut samples: Vec<(String, BTreeMap<String, String>, f64)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("name and kind");
            families.insert(name.to_owned(), kind.to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            let (series, value) = line.rsplit_once(' ').expect("series and value");
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels: BTreeMap<String, String> = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once("=\"").expect("label");
                    (k.to_owned(), v.trim_end_matches('"').to_owned())
                })
                .collect();
            samples.push((name.to_owned(), labels, value.parse().expect("a number")));
        }
    }
    let exported: BTreeSet<&str> = families.keys().map(String::as_str).collect();
    let wanted: BTreeSet<&str> = catalogue.keys().copied().collect();
    assert_eq!(
        exported, wanted,
        "the families /metrics exports are not the catalogue's"
    );
    for (name, metric) in &catalogue {
        let kind = match metric.kind {
            v5c::passes::MetricKind::Counter => "counter",
            v5c::passes::MetricKind::Gauge => "gauge",
            v5c::passes::MetricKind::Histogram => "histogram",
        };
        assert_eq!(families[*name], kind, "{name}");
        let of: Vec<&(String, BTreeMap<String, String>, f64)> = samples
            .iter()
            .filter(|(n, _, _)| {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| n.strip_suffix(s))
                    .filter(|_| metric.kind == v5c::passes::MetricKind::Histogram)
                    .unwrap_or(n);
                base == *name
            })
            .collect();
        // Every series exists from start-up, so each family has some (every service has
        // routes: an api's, or a source's ingest).
        assert!(
            !of.is_empty(),
            "{name} has no series: every series exists from start-up"
        );
        for (_, labels, _) in &of {
            let mut names: BTreeSet<&str> = labels.keys().map(String::as_str).collect();
            names.remove("le");
            let want: BTreeSet<&str> = metric.labels.iter().map(String::as_str).collect();
            assert_eq!(names, want, "{name}'s labels");
        }
    }
    for (name, _, _) in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| families.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            catalogue.contains_key(family),
            "{name} is not in the catalogue"
        );
    }
    // Every request the test made is counted, and nothing else.
    let counted = running.counted.lock().expect("lock").clone();
    let value = |name: &str, want: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
                    && l.len() == want.len()
            })
            .map(|(_, _, v)| *v)
    };
    for ((api, route, method, status), n) in &counted {
        let status = status.to_string();
        let labels = [
            ("component", api.as_str()),
            ("route", route.as_str()),
            ("method", method.as_str()),
            ("status", status.as_str()),
        ];
        assert_eq!(
            value("http_requests_total", &labels),
            Some(*n as f64),
            "http_requests_total{labels:?}"
        );
        assert_eq!(
            value("http_request_duration_seconds_count", &labels),
            Some(*n as f64),
            "{labels:?}"
        );
    }
    for (name, labels, v) in &samples {
        if name == "http_requests_total" {
            let key = (
                labels["component"].clone(),
                labels["route"].clone(),
                labels["method"].clone(),
                labels["status"].parse::<u16>().expect("status"),
            );
            assert_eq!(
                *v,
                counted.get(&key).copied().unwrap_or(0) as f64,
                "{labels:?} counts a request the test did not make"
            );
        }
    }
    let ir = analysed.ir();
    let facts = analysed
        .facts()
        .deploy
        .services
        .iter()
        .find(|s| s.name == service)
        .expect("service");
    for db in &facts.databases {
        let spec = ir.databases.values().find(|d| &d.name == db).expect("db");
        assert_eq!(
            value("db_up", &[("database", db)]),
            Some(1.0),
            "db_up of {db}"
        );
        assert_eq!(
            value("db_pool_max_connections", &[("database", db)]),
            Some(f64::from(spec.pool.max)),
            "{db}"
        );
    }
    let version = &ir.system.version;
    assert_eq!(
        value(
            "service_info",
            &[
                ("system", &ir.system.name),
                ("service", service),
                ("version", version)
            ]
        ),
        Some(1.0)
    );
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Runs every service of a spec against fresh databases and drives each.
fn drive(stem_name: &str) {
    let built = built(stem_name);
    let analysed = &built.analysed;
    for service in analysed.ir().services.values() {
        let label = format!(
            "{}_{}",
            stem_name.replace('-', "_"),
            service.name.replace('-', "_")
        );
        let (_dbs, urls) = databases(analysed, &service.name, &label);
        let env = environment(&service.name, free_port(), &urls);
        migrate(&built.binary, &env);
        let running = Running::start(&built.binary, &env, &label);
        let mut driver = Driver::new(analysed, &service.name, &running);
        driver.run();
        check_metrics(analysed, &service.name, &running);
        let status = running.stop();
        assert!(status.success(), "{label} stopped with {status}");
    }
}

#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn every_example_and_every_type_serves_its_api() {
    for spec in specs() {
        drive(&stem(&spec));
    }
    let shown = shown().lock().expect("lock").clone();
    for class in CLASSES {
        assert!(
            shown.contains(class),
            "no spec showed the `{class}` answer: {shown:?}"
        );
    }
}

#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn logic_hooks_run_and_sigterm_lets_a_request_finish() {
    let built = built("shop");
    let (_dbs, urls) = databases(&built.analysed, "shop", "hooks");
    let env = environment("shop", free_port(), &urls);
    migrate(&built.binary, &env);
    let running = Running::start(&built.binary, &env, "shop-hooks");
    let create_customer = |body: &str| {
        running.call(
            "api",
            "/api/customers",
            "POST",
            "/api/customers",
            Some(body),
        )
    };
    let reply = create_customer(r#"{"name": "  Ada  ", "email": "ada@example.com"}"#);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.json()["name"],
        json!("Ada"),
        "the hook trims the name"
    );
    let reply = create_customer(r#"{"name": "forbidden", "email": "f@example.com"}"#);
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(
        reply.json()["fields"][0]["message"],
        json!("is not a name we take")
    );
    // A hook that panics is a 500, logged; the service goes on.
    let body = r#"{"name": "panic", "email": "p@example.com"}"#;
    let reply = create_customer(body);
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert!(running.log_text().contains("a logic hook panicked"));
    let body = r#"{"name": "Bo", "email": "bo@example.com"}"#;
    let reply = create_customer(body);
    assert_eq!(reply.status, 201, "after a panic: {}", reply.body);
    // A request in flight when SIGTERM comes is answered; the service then exits cleanly.
    let port = running.port;
    let slow = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/api/products",
            Some(r#"{"title": "slow", "price": 1}"#),
        )
    });
    std::thread::sleep(Duration::from_millis(400));
    let pid = running.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the service still takes connections after SIGTERM"
    );
    let reply = slow.join().expect("the slow request");
    assert_eq!(reply.status, 201, "the request in flight: {}", reply.body);
    let status = running.stop();
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(running_log_mentions(
        &work_dir().join("shop-hooks.log"),
        "stopping"
    ));
}

fn running_log_mentions(log: &Path, text: &str) -> bool {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(text)
}

/// Four `migrate`s at once on each engine: all succeed, the schema is applied once; a
/// database holding another schema is refused.
#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn concurrent_migrations_apply_the_schema_once() {
    for stem_name in ["shop", "blog", "todo", "edges"] {
        let built = built(stem_name);
        let service = &built
            .analysed
            .ir()
            .services
            .values()
            .next()
            .expect("a service")
            .name;
        let (dbs, urls) = databases(&built.analysed, service, &format!("migrate_{stem_name}"));
        let env = environment(service, free_port(), &urls);
        let children: Vec<Child> = (0..4)
            .map(|_| {
                command(&built.binary, "migrate", &env)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("migrate")
            })
            .collect();
        let mut outcomes = Vec::new();
        for child in children {
            let out = child.wait_with_output().expect("migrate ends");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success(),
                "{stem_name}: a concurrent migrate failed:\n{text}"
            );
            outcomes.push(text);
        }
        // Each database's schema is applied by exactly one of them.
        let applied: usize = outcomes
            .iter()
            .map(|t| t.matches("\"outcome\":\"applied\"").count())
            .sum();
        assert_eq!(
            applied,
            dbs.len(),
            "{stem_name}: {applied} schemas applied for {} databases:\n{outcomes:#?}",
            dbs.len()
        );
        for db in &dbs {
            assert_eq!(
                db.query("SELECT count(*) FROM v5c_schema"),
                vec![vec!["1".to_owned()]],
                "{}",
                db.name
            );
        }
        let db = &dbs[0];
        db.run("UPDATE v5c_schema SET digest = 'another'")
            .expect("update");
        let out = command(&built.binary, "migrate", &env)
            .output()
            .expect("migrate");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && text.contains("another version of the schema"),
            "{stem_name}: {text}"
        );
    }
}

/// The database goes away under a running service and comes back.
/// The spare servers are stopped and started by one test at a time.
fn spares() -> std::sync::MutexGuard<'static, ()> {
    static SPARES: Mutex<()> = Mutex::new(());
    SPARES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `tools/databases spare WHAT SPARE`.
fn spare_cmd(what: &str, spare: &str) {
    let status = Command::new(root().join("tools/databases"))
        .args(["spare", what, spare])
        .stderr(Stdio::null())
        .status()
        .expect("tools/databases");
    assert!(status.success(), "tools/databases spare {what} {spare}");
}

fn outage(stem_name: &str, engine: Engine, target: &str, spare: &str) {
    let _spares = spares();
    let built = built(stem_name);
    let service = &built
        .analysed
        .ir()
        .services
        .values()
        .next()
        .expect("a service")
        .name;
    let spare_cmd = |what: &str| spare_cmd(what, spare);
    spare_cmd("start");
    let ir = built.analysed.ir();
    let db_name = analysed_db(ir, engine);
    let db = Database::fresh_on(engine, &format!("outage_{stem_name}"), target);
    let urls = BTreeMap::from([(db_name, db.url())]);
    let env = environment(service, free_port(), &urls);
    migrate(&built.binary, &env);
    let running = Running::start(&built.binary, &env, &format!("outage-{stem_name}"));
    let r = running.get("/readyz");
    assert_eq!(r.status, 200);
    let collection = ir
        .components
        .values()
        .find_map(|c| match &c.kind {
            ComponentKind::Api { prefix, exposes } => Some(format!(
                "{}{}",
                prefix.trim_end_matches('/'),
                exposes[0].path
            )),
            _ => None,
        })
        .expect("an api");
    spare_cmd("stop");
    // At once, before the probes have noticed: the pooled connections are dead, and a
    // request on one is told to come back (503), not given a 500.
    let reply = running.get(&collection);
    assert_eq!(
        reply.status, 503,
        "{collection} just after the database stopped: {}",
        reply.body
    );
    running.wait_for(503, Duration::from_secs(10));
    let reply = running.get(&collection);
    assert_eq!(
        reply.status, 503,
        "{collection} with the database down: {}",
        reply.body
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    let health = command(&built.binary, "healthcheck", &env)
        .output()
        .expect("healthcheck");
    assert!(
        !health.status.success(),
        "healthcheck passes with the database down"
    );
    let metrics = running.get("/metrics").body;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("db_up{") && l.ends_with(" 0")),
        "db_up is not 0:\n{metrics}"
    );
    spare_cmd("start");
    running.wait_for(200, Duration::from_secs(20));
    let reply = running.get(&collection);
    assert_eq!(
        reply.status, 200,
        "{collection} after the database came back: {}",
        reply.body
    );
    let health = command(&built.binary, "healthcheck", &env)
        .output()
        .expect("healthcheck");
    assert!(health.status.success(), "healthcheck fails after recovery");
    let status = running.stop();
    assert!(status.success());
}

fn analysed_db(ir: &Ir, engine: Engine) -> String {
    ir.databases
        .values()
        .find(|d| d.engine == engine)
        .expect("a database of the engine")
        .name
        .clone()
}

fn spare_target(variable: &str) -> String {
    let main = setting(variable);
    let port: u16 = main
        .split_whitespace()
        .find_map(|p| p.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
        .expect("a port");
    main.replace(&format!("port={port}"), &format!("port={}", port + 1))
}

#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn postgresql_stopped_and_restarted_under_the_service() {
    outage(
        "shop",
        Engine::Postgresql,
        &spare_target("V5C_TEST_POSTGRES"),
        "postgresql",
    );
}

#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn mariadb_stopped_and_restarted_under_the_service() {
    outage(
        "blog",
        Engine::Mysql,
        &spare_target("V5C_TEST_MYSQL"),
        "mariadb",
    );
}

#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn a_bad_environment_is_refused_with_every_problem_named() {
    let built = built("streaming");
    let env = vec![
        ("V5C_SERVICE".to_owned(), "nope".to_owned()),
        ("PORT".to_owned(), "http".to_owned()),
        ("LOG_LEVEL".to_owned(), "loud".to_owned()),
    ];
    let out = command(&built.binary, "serve", &env)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in [
        "V5C_SERVICE: `nope`",
        "pipeline, audit-api",
        "PORT: `http`",
        "LOG_LEVEL: `loud`",
    ] {
        assert!(err.contains(needle), "no {needle:?} in:\n{err}");
    }
    let env = vec![
        ("V5C_SERVICE".to_owned(), "pipeline".to_owned()),
        ("DB_LEDGER_POOL_MAX".to_owned(), "0".to_owned()),
    ];
    let out = command(&built.binary, "serve", &env)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("DB_LEDGER_URL is not set") && err.contains("DB_LEDGER_POOL_MAX"),
        "{err}"
    );
    // A URL of another engine, with a password that must not be echoed.
    let env = vec![
        ("V5C_SERVICE".to_owned(), "pipeline".to_owned()),
        (
            "DB_LEDGER_URL".to_owned(),
            "mysql://app:hunter2@db/ledger".to_owned(),
        ),
    ];
    let out = command(&built.binary, "serve", &env)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("DB_LEDGER_URL: the URL should start with postgres://"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the password is in the message: {err}"
    );
    let out = command(&built.binary, "frobnicate", &[])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
}

// ---------------------------------------------------------------------------------------------
// The dataflow.

/// `n` valid events for a source of the spec, numbered from `from`.
fn events(analysed: &v5c::Analysed, source: &str, from: usize, n: usize, origin: &str) -> Value {
    let ir = analysed.ir();
    let component = ir
        .components
        .values()
        .find(|c| c.name == source)
        .expect("the source");
    let entity = &ir.entities[component.outputs[0].entity.id()];
    let events: Vec<Value> = (from..from + n)
        .map(|i| {
            let mut event = serde_json::Map::new();
            for field in entity
                .fields
                .iter()
                .filter(|f| !f.nullable && f.default.is_none())
            {
                let value = match (field.name.as_str(), &field.ty) {
                    ("source", _) => json!(origin),
                    (_, ty) => value_of(field, ty, i64::try_from(i).expect("small")),
                };
                event.insert(field.name.clone(), value);
            }
            Value::Object(event)
        })
        .collect();
    Value::Array(events)
}

/// Posts a batch until it is taken (202), waiting out 429s: the events it took.
fn post_events(port: u16, source: &str, batch: &Value) -> usize {
    for _ in 0..600 {
        let reply = http(
            port,
            "POST",
            &format!("/ingest/{source}"),
            Some(&batch.to_string()),
        );
        match reply.status {
            202 => return reply.json()["accepted"].as_u64().expect("a count") as usize,
            429 => {
                assert_eq!(reply.header("retry-after"), Some("1"));
                std::thread::sleep(Duration::from_millis(100));
            }
            other => panic!("ingest answered {other}: {}", reply.body),
        }
    }
    panic!("the flow stayed full for a minute");
}

fn count(db: &Database, table: &str, condition: &str) -> usize {
    let sql = format!("SELECT count(*) FROM {} WHERE {condition}", db.quote(table));
    db.query(&sql)[0][0].parse().expect("a count")
}

/// Waits until `table` has `n` rows, and says how many it has when it gives up.
fn wait_for_rows(db: &Database, table: &str, n: usize) {
    let start = Instant::now();
    loop {
        let got = count(db, table, "1 = 1");
        if got == n {
            return;
        }
        assert!(got < n, "{table} has {got} rows, more than the {n} events");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{table} has {got} rows of {n} after a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The field that tells one test event from another (each has its own number in it).
fn source_key(stem_name: &str) -> &'static str {
    if stem_name == "analytics" {
        "user_ref"
    } else {
        "account"
    }
}

fn distinct_events(db: &Database, table: &str, column: &str) -> usize {
    let sql = format!(
        "SELECT count(DISTINCT {}) FROM {}",
        db.quote(column),
        db.quote(table)
    );
    db.query(&sql)[0][0].parse().expect("a count")
}

fn table_of(ir: &Ir, entity: &str) -> String {
    ir.entities
        .values()
        .find(|e| e.name == entity)
        .expect("entity")
        .table
        .clone()
}

fn metric(running: &Running, series: &str) -> f64 {
    let text = running.get("/metrics").body;
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {series} in /metrics"))
        .parse()
        .expect("a number")
}

/// Ten thousand events through ingest, a transformer that changes each and the stores:
/// exactly as many rows, each changed.
#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn every_event_is_transformed_and_stored_exactly_once() {
    const N: usize = 10_000;
    for (stem_name, service, source, checks) in [
        (
            "analytics",
            "analytics",
            "ingest",
            vec![("Event", "country = 'NL'")],
        ),
        (
            "streaming",
            "pipeline",
            "transactions",
            vec![
                ("ScoredTransaction", "risk = 0.25"),
                ("AuditRecord", "action = 'accepted'"),
            ],
        ),
    ] {
        let built = built(stem_name);
        let ir = built.analysed.ir();
        let (dbs, urls) = databases(&built.analysed, service, &format!("flow_{stem_name}"));
        let env = environment(service, free_port(), &urls);
        migrate(&built.binary, &env);
        let running = Running::start(&built.binary, &env, &format!("flow-{stem_name}"));
        let mut taken = 0;
        for batch in 0..N / 500 {
            taken += post_events(
                running.port,
                source,
                &events(&built.analysed, source, batch * 500, 500, "web"),
            );
        }
        assert_eq!(taken, N);
        for (entity, changed) in &checks {
            let table = table_of(ir, entity);
            wait_for_rows(&dbs[0], &table, N);
            assert_eq!(
                count(&dbs[0], &table, changed),
                N,
                "{table}: rows the logic did not change"
            );
        }
        // Each event once: no row lost and another doubled, and none arriving late.
        std::thread::sleep(Duration::from_millis(500));
        let table = table_of(ir, checks[0].0);
        let distinct = distinct_events(&dbs[0], &table, source_key(stem_name));
        assert_eq!(distinct, N, "{table}: {distinct} distinct events of {N}");
        assert_eq!(
            count(&dbs[0], &table, "1 = 1"),
            N,
            "{table}: rows after a pause"
        );
        let stores: Vec<&str> = ir
            .components
            .values()
            .filter(|c| {
                matches!(c.kind, ComponentKind::Store { .. })
                    && checks
                        .iter()
                        .any(|(e, _)| c.inputs.iter().any(|p| p.entity.name == *e))
            })
            .map(|c| c.name.as_str())
            .collect();
        for store in stores {
            assert_eq!(
                metric(
                    &running,
                    &format!("store_rows_written_total{{store=\"{store}\"}}")
                ),
                N as f64,
                "{store}"
            );
        }
        assert!(running.stop().success());
    }
}

/// SIGTERM in the middle of a load: the service stops taking events, and every event it
/// acknowledged is in the database when it has exited.
#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn sigterm_during_a_load_loses_no_acknowledged_event() {
    let built = built("analytics");
    let (dbs, urls) = databases(&built.analysed, "analytics", "flow_sigterm");
    let env = environment("analytics", free_port(), &urls);
    migrate(&built.binary, &env);
    let running = Running::start(&built.binary, &env, "flow-sigterm");
    let port = running.port;
    let analysed = &built.analysed;
    let batches: Vec<String> = (0..400)
        .map(|b| events(analysed, "ingest", b * 250, 250, "web").to_string())
        .collect();
    let load = std::thread::spawn(move || {
        let mut acknowledged = 0;
        for batch in &batches {
            match try_http(port, "POST", "/ingest/ingest", Some(batch)) {
                Ok(reply) if reply.status == 202 => {
                    acknowledged += reply.json()["accepted"].as_u64().expect("count") as usize;
                }
                Ok(reply) if reply.status == 429 => std::thread::sleep(Duration::from_millis(50)),
                // Stopping: refused, or the listener is gone.
                Ok(reply) if reply.status == 503 => break,
                Err(_) => break,
                Ok(reply) => panic!(
                    "ingest answered {} during the load: {}",
                    reply.status, reply.body
                ),
            }
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(700));
    let pid = running.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let acknowledged = load.join().expect("the load");
    assert!(acknowledged > 0, "no event was taken before SIGTERM");
    assert!(
        acknowledged < 100_000,
        "the load ended before SIGTERM: it proves nothing"
    );
    let status = running.stop();
    assert!(status.success(), "{status}");
    let table = table_of(analysed.ir(), "Event");
    assert_eq!(
        count(&dbs[0], &table, "1 = 1"),
        acknowledged,
        "acknowledged events lost or doubled"
    );
    assert_eq!(
        distinct_events(&dbs[0], &table, "user_ref"),
        acknowledged,
        "events doubled"
    );
}

/// A transformer that is slow fills its flow: ingest answers 429 with Retry-After, takes
/// nothing of the refused batch, and everything it took is stored once the flow drains.
#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn a_full_flow_pushes_back() {
    let built = built("analytics");
    let analysed = &built.analysed;
    let (dbs, urls) = databases(analysed, "analytics", "flow_full");
    let env = environment("analytics", free_port(), &urls);
    migrate(&built.binary, &env);
    let running = Running::start(&built.binary, &env, "flow-full");
    let path = "/ingest/ingest";
    let slow = http(
        running.port,
        "POST",
        path,
        Some(&events(analysed, "ingest", 0, 1, "slow").to_string()),
    );
    assert_eq!(slow.status, 202, "{}", slow.body);
    let mut taken = 1;
    let mut refused = None;
    for b in 0..6 {
        let batch = events(analysed, "ingest", 1 + b * 5000, 5000, "web").to_string();
        let reply = http(running.port, "POST", path, Some(&batch));
        match reply.status {
            202 => taken += 5000,
            429 => {
                refused = Some(reply);
                break;
            }
            other => panic!("{other}: {}", reply.body),
        }
    }
    let refused = refused.expect("the flow never filled");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        metric(
            &running,
            "ingest_rejected_total{source=\"ingest\",reason=\"full\"}"
        ) >= 5000.0
    );
    wait_for_rows(&dbs[0], &table_of(analysed.ir(), "Event"), taken);
    assert!(running.stop().success());
}

/// Every file v5c writes into a crate, the logic files included, is as rustfmt writes it,
/// for every spec of the repository (the ones built above have their logic replaced).
#[test]
#[ignore = "needs rustfmt: run by tools/test-all"]
fn every_generated_crate_is_as_rustfmt_writes_it() {
    let specs = common::specs_in(&[
        "examples",
        "tests/fixtures/good",
        "tests/fixtures/code",
        "tests/fixtures/deploy",
    ]);
    for spec in specs {
        let tmp = tempfile::tempdir().expect("temp dir");
        common::write_files(&common::build(&analyse(&spec), "code").files, tmp.path());
        let main = tmp.path().join("service/src/main.rs");
        let out = Command::new("rustfmt")
            .args(["--check", "--edition", "2021"])
            .arg(&main)
            .output()
            .expect("rustfmt runs");
        assert!(
            out.status.success(),
            "{}: not as rustfmt writes it:\n{}",
            spec.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Readings for the dataflow fixture's `readings` source: `n` of them, from `from`, the
/// values negative where `negative(i)` says.
fn readings(from: usize, n: usize, negative: impl Fn(usize) -> bool) -> String {
    let all: Vec<Value> = (from..from + n)
        .map(|i| {
            let value = if negative(i) { -1.0 } else { i as f64 + 1000.0 };
            json!({ "sensor": format!("r-{i}"), "value": value, "at": "2026-11-27T12:00:00Z" })
        })
        .collect();
    Value::Array(all).to_string()
}

/// The dataflow fixture: a source's own loop feeds the transformer; an HTTP source with two
/// ports has a route per port, each message reaching the transformer on its own port; what the
/// transformer refuses or panics on reaches the dead-letter sink and its store; a stalled
/// store pushes back through two flows to ingest (429), and everything taken is stored once
/// it moves again; SIGTERM stops the loop.
#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn dead_letters_loops_and_ports() {
    let built = built("dataflow");
    let (dbs, urls) = databases(&built.analysed, "dataflow-edges", "flow_edges");
    let db = &dbs[0];
    let env = environment("dataflow-edges", free_port(), &urls);
    migrate(&built.binary, &env);
    let running = Running::start(&built.binary, &env, "flow-edges");

    // A client that sends half a body and stalls holds a read slot for ten seconds at most,
    // then gets 408; the rest of this test runs meanwhile.
    let port = running.port;
    let stalled = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .write_all(
                b"POST /ingest/readings/good HTTP/1.1\r\nHost: localhost\r\n\
                  Content-Type: application/json\r\nContent-Length: 100\r\n\r\n[{\"sensor\"",
            )
            .expect("send half a request");
        let start = Instant::now();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        // The status line comes in the first read; the connection may stay open after it.
        let mut reply = [0; 512];
        let n = stream.read(&mut reply).unwrap_or(0);
        (
            start.elapsed(),
            String::from_utf8_lossy(&reply[..n]).into_owned(),
        )
    });

    // The loop's 500 readings: tick 13 panics the transformer, so it is a dead letter.
    wait_for_rows(db, "measures", 499);
    wait_for_rows(db, "readings", 1);
    assert_eq!(count(db, "readings", "sensor = 'tick-13'"), 1);
    assert_eq!(count(db, "measures", "sensor LIKE 'a:tick-%'"), 499);

    // A route per port; none for the source with a loop, nor the bare name of one with ports.
    for path in ["/ingest/readings", "/ingest/ticks"] {
        let reply = running.post(path, "{}");
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
    }
    let good = running.post("/ingest/readings/good", &readings(0, 20, |i| i % 4 == 0));
    assert_eq!(good.status, 202, "{}", good.body);
    let other = running.post("/ingest/readings/other", &readings(20, 10, |_| false));
    assert_eq!(other.status, 202, "{}", other.body);
    // A nullable field with a default, through the typed logic: left out, null, a value.
    let notes = json!([
        { "sensor": "n-absent", "value": 1.0, "at": "2026-11-27T12:00:00Z" },
        { "sensor": "n-null", "value": 1.0, "at": "2026-11-27T12:00:00Z", "note": null },
        { "sensor": "n-value", "value": 1.0, "at": "2026-11-27T12:00:00Z", "note": "x" },
    ]);
    let reply = running.post("/ingest/readings/other", &notes.to_string());
    assert_eq!(reply.status, 202, "{}", reply.body);
    wait_for_rows(db, "measures", 499 + 15 + 10 + 3);
    for (sensor, note) in [
        ("b:n-absent", "note = 'none'"),
        ("b:n-null", "note IS NULL"),
        ("b:n-value", "note = 'x'"),
    ] {
        assert_eq!(
            count(db, "measures", &format!("sensor = '{sensor}' AND {note}")),
            1,
            "{sensor}: {note}"
        );
    }
    wait_for_rows(db, "readings", 1 + 5);
    assert_eq!(count(db, "measures", "sensor LIKE 'a:r-%'"), 15);
    assert_eq!(count(db, "measures", "sensor LIKE 'b:r-%'"), 10);
    assert_eq!(count(db, "readings", "value = -1"), 5);
    for (series, value) in [
        ("component_errors_total{component=\"check\"}", 6.0),
        (
            "component_dropped_total{component=\"check\",reason=\"error\"}",
            0.0,
        ),
        (
            "component_emitted_total{component=\"check\",port=\"dead_letter\"}",
            6.0,
        ),
        (
            "flow_messages_total{flow=\"check.dead_letter->rejects.in\"}",
            6.0,
        ),
        ("sink_delivered_total{sink=\"rejects\"}", 6.0),
        (
            "component_emitted_total{component=\"ticks\",port=\"out\"}",
            500.0,
        ),
        (
            "component_emitted_total{component=\"readings\",port=\"good\"}",
            20.0,
        ),
        (
            "component_emitted_total{component=\"readings\",port=\"other\"}",
            13.0,
        ),
    ] {
        assert_eq!(metric(&running, series), value, "{series}");
    }

    // The store stalls behind a lock: its flow fills, then the transformer's, then ingest's.
    let mut lock = db.command(true);
    let mut holder = lock
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql");
    let mut stdin = holder.stdin.take().expect("stdin");
    std::io::Write::write_all(
        &mut stdin,
        b"BEGIN;\nLOCK TABLE measures IN ACCESS EXCLUSIVE MODE;\n",
    )
    .expect("lock");
    let start = Instant::now();
    while count(
        db,
        "pg_locks",
        "mode = 'AccessExclusiveLock' AND granted AND relation = 'measures'::regclass",
    ) == 0
    {
        assert!(start.elapsed() < Duration::from_secs(10), "no lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut taken = 0;
    let mut refused = None;
    for b in 0..100 {
        let reply = running.post(
            "/ingest/readings/good",
            &readings(100 + b * 20, 20, |_| false),
        );
        match reply.status {
            202 => taken += 20,
            429 => {
                refused = Some(reply);
                break;
            }
            other => panic!("{other}: {}", reply.body),
        }
        // Each batch has time to move on as far as it can.
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = refused.expect("the flows never filled");
    assert_eq!(refused.header("retry-after"), Some("1"));
    // The room of both flows and the batch in hand, at least: the push-back came from
    // downstream, not from the first flow alone.
    assert!(taken > 100, "only {taken} taken before the 429");
    assert_eq!(
        metric(
            &running,
            "ingest_rejected_total{source=\"readings\",reason=\"full\"}"
        ),
        20.0
    );
    assert_eq!(running.get("/readyz").status, 200);
    let (waited, reply) = stalled.join().expect("the stalled client");
    assert!(
        reply.starts_with("HTTP/1.1 408"),
        "a stalled body got: {reply}"
    );
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "the stalled body was cut off after {waited:?}"
    );
    assert_eq!(
        metric(
            &running,
            "ingest_rejected_total{source=\"readings\",reason=\"invalid\"}"
        ),
        1.0
    );
    std::io::Write::write_all(&mut stdin, b"COMMIT;\n").expect("commit");
    drop(stdin);
    assert!(holder.wait().expect("psql").success());
    wait_for_rows(db, "measures", 527 + taken);

    // SIGTERM: the loop is told, returns, and the service exits at once.
    let start = Instant::now();
    assert!(running.stop().success());
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the loop held up the stop"
    );
}

/// A source's loop that ignores the stop: the service waits five seconds for it, closes its
/// flows under it, drains what it had taken and exits without its thread.
#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn a_loop_that_ignores_the_stop_is_cut_off_and_what_it_emitted_is_kept() {
    let built = built("dataflow");
    let (dbs, urls) = databases(&built.analysed, "dataflow-edges", "flow_stuck");
    let db = &dbs[0];
    let mut env = environment("dataflow-edges", free_port(), &urls);
    let taken = work_dir().join("flow-stuck.taken");
    let _ = std::fs::remove_file(&taken);
    env.push((
        "TICKS_IGNORE_STOP".into(),
        taken.to_str().expect("UTF-8").into(),
    ));
    migrate(&built.binary, &env);
    let running = Running::start(&built.binary, &env, "flow-stuck");
    let start = Instant::now();
    while count(db, "measures", "true") < 100 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the loop emits nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let log = running.log.clone();
    let start = Instant::now();
    let status = running.stop();
    let took = start.elapsed();
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(
        took >= Duration::from_millis(4500) && took < Duration::from_secs(10),
        "the service stopped after {took:?}, not after the loop's 5 s"
    );
    assert!(running_log_mentions(
        &log,
        "the source's loop did not return within 5 seconds"
    ));
    // Every reading `emit` took is stored: as a measure, or (tick 13, which panics the
    // transformer) as a dead letter.
    let taken: usize = std::fs::read_to_string(&taken)
        .expect("the loop's count")
        .parse()
        .expect("a number");
    assert!(taken >= 100, "{taken}");
    assert_eq!(
        count(db, "measures", "sensor LIKE 'a:stuck-%'") + count(db, "readings", "true"),
        taken
    );
    assert_eq!(count(db, "readings", "sensor = 'stuck-13'"), 1);
}

/// PostgreSQL stopped for fifteen seconds under the analytics pipeline while events keep
/// coming: the store retries for as long as the database is away, the flows fill and ingest
/// pushes back, and when it is back every acknowledged event is stored, once.
#[test]
#[ignore = "needs the database servers and a Rust toolchain: run by tools/test-all"]
fn a_long_outage_under_the_dataflow_loses_nothing() {
    let _spares = spares();
    let built = built("analytics");
    let analysed = &built.analysed;
    spare_cmd("start", "postgresql");
    let db = Database::fresh_on(
        Engine::Postgresql,
        "outage_flow",
        &spare_target("V5C_TEST_POSTGRES"),
    );
    let urls = BTreeMap::from([(analysed_db(analysed.ir(), Engine::Postgresql), db.url())]);
    let env = environment("analytics", free_port(), &urls);
    migrate(&built.binary, &env);
    let running = Running::start(&built.binary, &env, "outage-flow");
    let table = table_of(analysed.ir(), "Event");
    let mut acknowledged = 0;
    for b in 0..4 {
        acknowledged += post_events(
            running.port,
            "ingest",
            &events(analysed, "ingest", b * 500, 500, "web"),
        );
    }
    wait_for_rows(&db, &table, acknowledged);

    spare_cmd("stop", "postgresql");
    let down = Instant::now();
    let mut next = 2000;
    let mut refused = 0;
    while down.elapsed() < Duration::from_secs(15) {
        let batch = events(analysed, "ingest", next, 500, "web").to_string();
        let reply = http(running.port, "POST", "/ingest/ingest", Some(&batch));
        match reply.status {
            202 => {
                acknowledged += 500;
                next += 500;
            }
            429 => {
                refused += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            other => panic!(
                "ingest answered {other} with the database down: {}",
                reply.body
            ),
        }
    }
    assert!(
        refused > 0,
        "the flows never filled while the database was down"
    );
    assert!(
        metric(&running, "store_write_retries_total{store=\"events\"}") > 0.0,
        "the store never retried"
    );
    assert_eq!(running.get("/readyz").status, 503);
    spare_cmd("start", "postgresql");
    running.wait_for(200, Duration::from_secs(20));
    wait_for_rows(&db, &table, acknowledged);
    assert_eq!(
        distinct_events(&db, &table, "user_ref"),
        acknowledged,
        "events doubled"
    );
    assert!(running.stop().success());
}

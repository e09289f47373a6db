//! HTTP: the REST operations of every api the service runs, the probes and `/metrics`.
//!
//! Every answer is JSON. A request that is not acceptable gets 400 (not JSON, bad query),
//! 413 (too large) or 422 (with the fields at fault); a missing row 404; a clash with a
//! stored row 409; a database that cannot be reached 503 with `Retry-After`. Nothing a
//! client sends reaches SQL except as a bound parameter.

use super::db::{Db, DbError, Write};
use super::metrics::Registry;
use super::model::{Api, Record, Rejection, Resource, Service, Table};
use super::values::{self, Engine, Invalid};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// The most rows a list answers with, and the most a batch create takes.
pub const MAX_ROWS: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;
/// The largest request body, in bytes.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

pub struct AppState {
    pub service: &'static Service,
    /// The running dataflow; taken at shutdown, to drain it.
    pub dataflow: std::sync::RwLock<Option<super::flow::Dataflow>>,
    /// By database index of the system; `None` for the ones this service does not use.
    pub dbs: Vec<Option<Arc<Db>>>,
    pub metrics: Arc<Registry>,
    /// Ingest requests whose bodies are being read and checked: the rest wait with their
    /// bodies unread, so that memory stays bounded under any number of clients.
    pub ingest_slots: tokio::sync::Semaphore,
}

/// How many ingest requests read and check their bodies at once.
pub const INGEST_SLOTS: usize = 4;

/// How long an ingest request may wait for a slot and send its body.
const INGEST_READ: std::time::Duration = std::time::Duration::from_secs(10);

type Shared = Arc<AppState>;

/// An answer that is not a success.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    body: Value,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            body: json!({ "error": message.into() }),
        }
    }

    fn invalid(problems: Vec<Invalid>) -> Failure {
        let fields: Vec<Value> = problems
            .into_iter()
            .map(|p| json!({ "field": p.field, "message": p.message }))
            .collect();
        Failure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({ "error": "the request is not valid", "fields": fields }),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let unavailable = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if unavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn from_rejection(r: Rejection) -> Failure {
    match r {
        Rejection::Invalid { field, message } => Failure::invalid(vec![Invalid { field, message }]),
        Rejection::Conflict(message) => Failure::new(StatusCode::CONFLICT, message),
    }
}

/// A database error that is not about one field.
fn from_db(e: DbError) -> Failure {
    match e {
        DbError::Unavailable(m) => {
            tracing::warn!(error = %m, "database unavailable");
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is not available; try again",
            )
        }
        DbError::Unique(m) => Failure::new(
            StatusCode::CONFLICT,
            format!("a row with these values exists: {m}"),
        ),
        DbError::Reference(m) => Failure::new(
            StatusCode::CONFLICT,
            format!("other rows refer to this one: {m}"),
        ),
        DbError::Rejected(m) => Failure::invalid(vec![Invalid::new(
            "",
            format!("the database refused a value: {m}"),
        )]),
        DbError::Internal(m) => {
            tracing::error!(error = %m, "query failed");
            Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The statuses each operation can answer with: their series exist from start-up.
fn statuses(op: Op) -> &'static [u16] {
    match op {
        Op::List => &[200, 400, 500, 503],
        Op::Get => &[200, 404, 500, 503],
        Op::Create => &[201, 400, 409, 413, 422, 500, 503],
        Op::Update => &[200, 400, 404, 409, 413, 422, 500, 503],
        Op::Delete => &[204, 404, 409, 500, 503],
    }
}

#[derive(Clone, Copy)]
enum Op {
    List,
    Get,
    Create,
    Update,
    Delete,
}

/// Records the request in the http metrics.
async fn measured<F>(
    state: &AppState,
    component: &'static str,
    route: &'static str,
    method: &'static str,
    work: F,
) -> Response
where
    F: Future<Output = Result<Response, Failure>>,
{
    let start = Instant::now();
    let in_flight = InFlight::new(&state.metrics);
    let response = work.await.unwrap_or_else(IntoResponse::into_response);
    drop(in_flight);
    let status = response.status().as_u16().to_string();
    tracing::debug!(
        component,
        route,
        method,
        status = status.as_str(),
        seconds = start.elapsed().as_secs_f64(),
        "request"
    );
    let labels = [component, route, method, status.as_str()];
    state.metrics.inc("http_requests_total", &labels);
    state.metrics.observe(
        "http_request_duration_seconds",
        &labels,
        start.elapsed().as_secs_f64(),
    );
    response
}

/// Runs a logic hook. Hooks are plain functions that may block (a file, a lock, a call to
/// another system): the worker thread hands its other tasks on meanwhile.
///
/// A hook that panics answers 500 (and is logged) rather than dropping the connection.
fn hook(f: impl FnOnce() -> Result<(), Rejection>) -> Result<(), Failure> {
    match tokio::task::block_in_place(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)))
    {
        Ok(result) => result.map_err(from_rejection),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "a logic hook panicked");
            Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            ))
        }
    }
}

/// Counts a request in flight until it is dropped: answered, or given up by its client.
struct InFlight<'a>(&'a Registry);

impl<'a> InFlight<'a> {
    fn new(metrics: &'a Registry) -> InFlight<'a> {
        metrics.add("http_requests_in_flight", &[], 1.0);
        InFlight(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.add("http_requests_in_flight", &[], -1.0);
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The router of every api of the service, with the probes and `/metrics`.
pub fn router(state: Shared, prefix_of: impl Fn(&str) -> &'static str) -> Router {
    let mut router = Router::new();
    for api in state.service.apis {
        let prefix = prefix_of(api.component);
        for resource in api.resources {
            let collection = leak(format!("{prefix}{}", resource.path));
            let item = leak(
                resource
                    .table
                    .keys
                    .iter()
                    .fold(collection.to_owned(), |path, k| {
                        format!("{path}/{{{}}}", resource.table.fields[*k].name)
                    }),
            );
            let mut on_collection: MethodRouter<Shared> = MethodRouter::new();
            let mut on_item: MethodRouter<Shared> = MethodRouter::new();
            let c = api.component;
            let series = |route: &str, method: &str, op: Op| {
                for status in statuses(op) {
                    let status = status.to_string();
                    let labels = [c, route, method, status.as_str()];
                    state.metrics.ensure("http_requests_total", &labels);
                    state
                        .metrics
                        .ensure("http_request_duration_seconds", &labels);
                }
            };
            if resource.list {
                series(collection, "GET", Op::List);
                on_collection = on_collection.get(
                    move |State(s): State<Shared>, RawQuery(q): RawQuery| async move {
                        measured(&s, c, collection, "GET", list(&s, resource, q)).await
                    },
                );
            }
            if resource.create {
                series(collection, "POST", Op::Create);
                on_collection = on_collection.post(move |State(s): State<Shared>, body: Result<Bytes, axum::extract::rejection::BytesRejection>| async move {
                    measured(&s, c, collection, "POST", create(&s, api, resource, body)).await
                });
            }
            if resource.get {
                series(item, "GET", Op::Get);
                on_item = on_item.get(
                    move |State(s): State<Shared>, Path(key): Path<Vec<String>>| async move {
                        measured(&s, c, item, "GET", fetch(&s, resource, key)).await
                    },
                );
            }
            if resource.update {
                for (method, full) in [(Method::PUT, true), (Method::PATCH, false)] {
                    let name = if full { "PUT" } else { "PATCH" };
                    series(item, name, Op::Update);
                    let handler = move |State(s): State<Shared>,
                                        Path(key): Path<Vec<String>>,
                                        body: Result<
                        Bytes,
                        axum::extract::rejection::BytesRejection,
                    >| async move {
                        measured(
                            &s,
                            c,
                            item,
                            name,
                            update(&s, api, resource, key, body, full),
                        )
                        .await
                    };
                    on_item = on_item.on(
                        axum::routing::MethodFilter::try_from(method)
                            .expect("PUT and PATCH are filters"),
                        handler,
                    );
                }
            }
            if resource.delete {
                series(item, "DELETE", Op::Delete);
                on_item = on_item.delete(
                    move |State(s): State<Shared>, Path(key): Path<Vec<String>>| async move {
                        measured(&s, c, item, "DELETE", delete(&s, api, resource, key)).await
                    },
                );
            }
            if resource.list || resource.create {
                router = router.route(collection, on_collection);
            }
            if resource.get || resource.update || resource.delete {
                router = router.route(item, on_item);
            }
        }
    }
    for node in state.service.nodes {
        if !matches!(node.role, super::model::Role::Source { endpoint: true }) {
            continue;
        }
        let source = node.name;
        // One route per output port: `/ingest/NAME`, or `/ingest/NAME/PORT` when there are
        // several.
        for (port, _) in node.outputs {
            let port: &'static str = port;
            let route = if node.outputs.len() == 1 {
                leak(format!("/ingest/{source}"))
            } else {
                leak(format!("/ingest/{source}/{port}"))
            };
            for status in [202, 400, 408, 413, 422, 429, 500, 503] {
                let status = status.to_string();
                let labels = [source, route, "POST", status.as_str()];
                state.metrics.ensure("http_requests_total", &labels);
                state
                    .metrics
                    .ensure("http_request_duration_seconds", &labels);
            }
            router = router.route(
                route,
                axum::routing::post(
                    move |State(s): State<Shared>, request: axum::extract::Request| async move {
                        measured(&s, source, route, "POST", ingest(&s, source, port, request)).await
                    },
                ),
            );
        }
    }
    router
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { Failure::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn readyz(State(s): State<Shared>) -> Response {
    let mut down = Vec::new();
    for db in s.dbs.iter().flatten() {
        if !db.ping().await {
            down.push(db.def.name);
        }
    }
    // A component of the dataflow that failed stops what flows through it: not ready.
    let failed = s
        .dataflow
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .map(|d| d.health().failed())
        .unwrap_or_default();
    if down.is_empty() && failed.is_empty() {
        axum::Json(json!({ "status": "ready" })).into_response()
    } else {
        let mut body = json!({ "status": "not ready" });
        if !down.is_empty() {
            body["databases_down"] = json!(down);
        }
        if !failed.is_empty() {
            body["components_failed"] = json!(failed);
        }
        Failure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body,
        }
        .into_response()
    }
}

async fn metrics(State(s): State<Shared>) -> Response {
    for db in s.dbs.iter().flatten() {
        db.record_pool();
    }
    if let Some(dataflow) = s
        .dataflow
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
    {
        dataflow.record(&s.metrics);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

fn db_of<'a>(s: &'a AppState, table: &Table) -> &'a Db {
    s.dbs[table.database]
        .as_deref()
        .expect("a service has the databases of the tables its apis expose")
}

fn placeholder(engine: Engine, n: usize) -> String {
    match engine {
        Engine::Postgresql => format!("${n}"),
        Engine::Mysql | Engine::Sqlite => "?".into(),
    }
}

/// `write` of a field with its placeholder.
pub(crate) fn param(table: &Table, field: usize, n: usize) -> String {
    table.fields[field]
        .write
        .replace("{}", &placeholder(table.engine, n))
}

fn row_json(table: &Table, row: Vec<Option<String>>) -> Value {
    let map: serde_json::Map<String, Value> = table
        .fields
        .iter()
        .zip(row)
        .map(|(f, text)| (f.name.to_owned(), values::decode(f, text)))
        .collect();
    Value::Object(map)
}

/// The key of a row from the path, each part checked like its field: a key that cannot be
/// one finds no row.
fn key_texts(table: &Table, parts: &[String]) -> Result<Vec<String>, Failure> {
    if parts.len() != table.keys.len() {
        return Err(not_found(table));
    }
    table
        .keys
        .iter()
        .zip(parts)
        .map(|(k, part)| {
            let field = &table.fields[*k];
            let value = match field.ty {
                values::Ty::Int { .. } => {
                    part.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
                }
                _ => Value::String(part.clone()),
            };
            match values::encode(table.engine, field, &value) {
                Ok(Some(text)) => Ok(text),
                _ => Err(not_found(table)),
            }
        })
        .collect()
}

/// The key as a logic hook sees it: the value, or an array for a key of several fields.
fn key_json(parts: &[String]) -> Value {
    match parts {
        [one] => Value::String(one.clone()),
        many => Value::Array(many.iter().cloned().map(Value::String).collect()),
    }
}

fn not_found(table: &Table) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        format!("no {} with this key", table.entity),
    )
}

/// `k1 = p AND k2 = p…`, the parameters numbered from `first`.
fn key_where(table: &Table, first: usize) -> String {
    table
        .keys
        .iter()
        .enumerate()
        .map(|(n, k)| {
            format!(
                "{} = {}",
                table.fields[*k].column,
                param(table, *k, first + n)
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn select_by_key(table: &Table) -> String {
    format!(
        "SELECT {} FROM {} WHERE {}",
        table.select,
        table.name,
        key_where(table, 1)
    )
}

async fn list(
    s: &AppState,
    resource: &Resource,
    query: Option<String>,
) -> Result<Response, Failure> {
    let table = resource.table;
    let mut limit = DEFAULT_LIMIT;
    let mut after = None;
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).ok_or_else(|| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("`{name}` is not valid percent-encoding"),
            )
        })?;
        match name {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_ROWS).contains(n))
                    .ok_or_else(|| {
                        Failure::new(
                            StatusCode::BAD_REQUEST,
                            format!("`limit` must be a whole number from 1 to {MAX_ROWS}"),
                        )
                    })?;
            }
            "after" => after = Some(value),
            other => {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unknown query parameter `{other}`: the parameters are `limit` and `after`"
                    ),
                ));
            }
        }
    }
    // Qualified: PostgreSQL would take a bare name for the output column of the same name,
    // which is the text the select list casts it to, and sort as text.
    let columns: Vec<String> = table
        .keys
        .iter()
        .map(|k| format!("{}.{}", table.name, table.fields[*k].column))
        .collect();
    let tuple = |items: Vec<String>| {
        if items.len() == 1 {
            items.concat()
        } else {
            format!("({})", items.join(", "))
        }
    };
    let mut params = Vec::new();
    let mut sql = format!("SELECT {} FROM {}", table.select, table.name);
    if let Some(after) = after {
        let bad = || {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "`after` must be the `next` of the page before, a key of {}",
                    table.entity
                ),
            )
        };
        // A key of one field is itself; of several, a JSON array.
        let parts: Vec<String> = if table.keys.len() == 1 {
            vec![after]
        } else {
            match serde_json::from_str::<Vec<Value>>(&after) {
                Ok(values) => values
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
                Err(_) => return Err(bad()),
            }
        };
        params = key_texts(table, &parts)
            .map_err(|_| bad())?
            .into_iter()
            .map(Some)
            .collect();
        let placeholders = table
            .keys
            .iter()
            .enumerate()
            .map(|(n, k)| {
                table.fields[*k]
                    .compare
                    .replace("{}", &placeholder(table.engine, n + 1))
            })
            .collect();
        sql.push_str(&format!(
            " WHERE {} > {}",
            tuple(columns.clone()),
            tuple(placeholders)
        ));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", columns.join(", ")));
    let db = db_of(s, table);
    // The usual page keeps its prepared statement; other limits do not fill the cache.
    let rows = db
        .fetch_all(&sql, &params, limit == DEFAULT_LIMIT)
        .await
        .map_err(from_db)?;
    let full = rows.len() == limit;
    let items: Vec<Value> = rows.into_iter().map(|r| row_json(table, r)).collect();
    let next = match items.last() {
        Some(last) if full => {
            let key: Vec<Value> = table
                .keys
                .iter()
                .map(|k| {
                    last.get(table.fields[*k].name)
                        .cloned()
                        .unwrap_or(Value::Null)
                })
                .collect();
            match key.as_slice() {
                [one] => one.clone(),
                _ => Value::String(Value::Array(key).to_string()),
            }
        }
        _ => Value::Null,
    };
    Ok(axum::Json(json!({ "items": items, "next": next })).into_response())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

async fn fetch(s: &AppState, resource: &Resource, key: Vec<String>) -> Result<Response, Failure> {
    let table = resource.table;
    let key: Vec<Option<String>> = key_texts(table, &key)?.into_iter().map(Some).collect();
    let row = db_of(s, table)
        .fetch_optional(&select_by_key(table), &key)
        .await
        .map_err(from_db)?;
    match row {
        Some(row) => Ok(axum::Json(row_json(table, row)).into_response()),
        None => Err(not_found(table)),
    }
}

fn parse_body(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Value, Failure> {
    let body = body.map_err(|e| {
        let status = e.status();
        Failure::new(status, e.body_text())
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {e}"),
        )
    })
}

fn prefixed(prefix: &str, mut problems: Vec<Invalid>) -> Vec<Invalid> {
    if !prefix.is_empty() {
        for p in &mut problems {
            p.field = if p.field.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}.{}", p.field)
            };
        }
    }
    problems
}

/// Checks a record and writes its fields as (field index, text): every field it sets.
/// `required` demands every field that has no default; `fill_key` (a create) fills a key
/// with a random UUID when the spec says so, and otherwise (an update) leaves the key to the
/// path.
pub(crate) fn columns(
    table: &Table,
    record: &Record,
    required: bool,
    fill_key: bool,
) -> Result<Vec<(usize, Option<String>)>, Vec<Invalid>> {
    let mut problems = Vec::new();
    for name in record.keys() {
        if !table.fields.iter().any(|f| f.name == name) {
            problems.push(Invalid::new(
                name.clone(),
                format!("{} has no field `{name}`", table.entity),
            ));
        }
    }
    let mut out = Vec::new();
    for (i, field) in table.fields.iter().enumerate() {
        match record.get(field.name) {
            Some(_) if field.identity => problems.push(Invalid::new(
                field.name,
                "is numbered by the database and may not be given",
            )),
            Some(value) => match values::encode(table.engine, field, value) {
                Ok(text) => out.push((i, text)),
                Err(p) => problems.push(p),
            },
            None if field.random_uuid && fill_key => {
                out.push((i, Some(uuid::Uuid::new_v4().hyphenated().to_string())))
            }
            None if fill_key && field.fill.is_some() => {
                let value = field
                    .fill
                    .as_ref()
                    .map_or(Value::Null, |f| f.value(field.ty));
                match values::encode(table.engine, field, &value) {
                    Ok(text) => out.push((i, text)),
                    Err(p) => problems.push(p),
                }
            }
            // An update's key is in its path.
            None if required
                && !field.has_default
                && !field.nullable
                && !field.identity
                && !field.random_uuid
                && (fill_key || !table.keys.contains(&i)) =>
            {
                problems.push(Invalid::new(field.name, "is required"));
            }
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

async fn create(
    s: &AppState,
    api: &Api,
    resource: &Resource,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Failure> {
    let table = resource.table;
    let (records, batch) = match parse_body(body)? {
        Value::Array(items) => {
            if items.is_empty() || items.len() > MAX_ROWS {
                return Err(Failure::invalid(vec![Invalid::new(
                    "",
                    format!("a batch holds from 1 to {MAX_ROWS} records"),
                )]));
            }
            (items, true)
        }
        other => (vec![other], false),
    };
    let mut writes = Vec::with_capacity(records.len());
    let mut problems = Vec::new();
    let mut sets = Vec::with_capacity(records.len());
    for (n, value) in records.into_iter().enumerate() {
        let prefix = if batch {
            format!("[{n}]")
        } else {
            String::new()
        };
        let mut record = match values::object(value) {
            Ok(r) => r,
            Err(p) => {
                problems.extend(prefixed(&prefix, vec![p]));
                continue;
            }
        };
        if let Err(failure) = hook(|| (api.hooks.before_create)(resource.path, &mut record)) {
            match failure {
                f if f.status == StatusCode::UNPROCESSABLE_ENTITY => {
                    let fields = f.body["fields"].as_array().cloned().unwrap_or_default();
                    problems.extend(prefixed(
                        &prefix,
                        fields
                            .iter()
                            .map(|v| {
                                Invalid::new(
                                    v["field"].as_str().unwrap_or(""),
                                    v["message"].as_str().unwrap_or(""),
                                )
                            })
                            .collect(),
                    ));
                    continue;
                }
                f => return Err(f),
            }
        }
        match columns(table, &record, true, true) {
            Ok(cols) => {
                writes.push(insert(table, &cols));
                sets.push(record);
            }
            Err(p) => problems.extend(prefixed(&prefix, p)),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::invalid(problems));
    }
    let db = db_of(s, table);
    let rows = match db.write_all(&writes).await {
        Ok(rows) => rows,
        Err(DbError::Unique(m)) => return Err(unique_conflict(table, &m)),
        Err(DbError::Reference(m)) => {
            return Err(missing_references(s, table, &sets, batch, &m).await)
        }
        Err(e) => return Err(from_db(e)),
    };
    let mut created: Vec<Value> = rows
        .into_iter()
        .map(|r| r.map_or(Value::Null, |r| row_json(table, r)))
        .collect();
    let body = if batch {
        Value::Array(created)
    } else {
        created.pop().unwrap_or(Value::Null)
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub(crate) fn insert(table: &Table, cols: &[(usize, Option<String>)]) -> Write {
    let names: Vec<&str> = cols.iter().map(|(i, _)| table.fields[*i].column).collect();
    let exprs: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(n, (i, _))| param(table, *i, n + 1))
        .collect();
    let mut sql = if cols.is_empty() {
        match table.engine {
            Engine::Mysql => format!("INSERT INTO {} () VALUES ()", table.name),
            _ => format!("INSERT INTO {} DEFAULT VALUES", table.name),
        }
    } else {
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            names.join(", "),
            exprs.join(", ")
        )
    };
    if table.returning {
        sql.push_str(&format!(" RETURNING {}", table.select));
    }
    // The key as written, unless the database numbers it.
    let keys: Vec<Option<String>> = table
        .keys
        .iter()
        .filter_map(|k| cols.iter().find(|(i, _)| i == k).map(|(_, t)| t.clone()))
        .collect();
    Write {
        sql,
        params: cols.iter().map(|(_, t)| t.clone()).collect(),
        keys: if keys.len() == table.keys.len() {
            keys
        } else {
            Vec::new()
        },
        then_select: (!table.returning).then(|| select_by_key(table)),
    }
}

/// 409 naming the fields of the unique constraint the database named.
fn unique_conflict(table: &Table, message: &str) -> Failure {
    // The constraint's name: PostgreSQL quotes it last; MySQL says `for key 'TABLE.NAME'`
    // after the clashing value, which may itself look like a name.
    let named = message
        .rsplit_once("for key '")
        .map(|(_, k)| {
            let k = k.trim_end_matches('\'');
            k.rsplit('.').next().unwrap_or(k).to_owned()
        })
        .or_else(|| {
            message
                .rsplit_once("constraint \"")
                .map(|(_, k)| k.trim_end_matches('"').to_owned())
        });
    let unique = table
        .uniques
        .iter()
        .find(|u| named.as_deref() == Some(u.name))
        .or_else(|| {
            // SQLite: "UNIQUE constraint failed: table.a, table.b".
            let failed = message.split_once("failed: ")?.1;
            let columns: Vec<&str> = failed
                .split(", ")
                .map(|c| c.rsplit('.').next().unwrap_or(c))
                .collect();
            table
                .uniques
                .iter()
                .find(|u| u.columns == columns.as_slice())
        });
    let fields: Vec<&str> = unique.map(|u| u.fields.to_vec()).unwrap_or_default();
    let clash = format!("another {} has this value", table.entity);
    Failure {
        status: StatusCode::CONFLICT,
        body: json!({
            "error": format!("another {} has the same {}", table.entity, if fields.is_empty() { "values".to_owned() } else { fields.join(" and ") }),
            "fields": fields.iter().map(|f| json!({ "field": f, "message": clash })).collect::<Vec<_>>(),
        }),
    }
}

/// 422 naming each reference field whose row does not exist (looked up after the
/// transaction failed, so the usual path costs nothing).
async fn missing_references(
    s: &AppState,
    table: &Table,
    records: &[Record],
    batch: bool,
    message: &str,
) -> Failure {
    let db = db_of(s, table);
    let mut problems = Vec::new();
    for (n, record) in records.iter().enumerate() {
        for reference in table.references {
            let Some(value) = record.get(reference.field) else {
                continue;
            };
            let Some(field) = table.fields.iter().find(|f| f.name == reference.field) else {
                continue;
            };
            let Ok(Some(text)) = values::encode(table.engine, field, value) else {
                continue;
            };
            let sql = reference
                .exists
                .replace("{}", &placeholder(table.engine, 1));
            if let Ok(None) = db.fetch_optional(&sql, &[Some(text)]).await {
                let name = if batch {
                    format!("[{n}].{}", reference.field)
                } else {
                    reference.field.to_owned()
                };
                problems.push(Invalid::new(name, "refers to a row that does not exist"));
            }
        }
    }
    if problems.is_empty() {
        problems.push(Invalid::new(
            "",
            format!("a reference names a row that does not exist: {message}"),
        ));
    }
    Failure::invalid(problems)
}

async fn update(
    s: &AppState,
    api: &Api,
    resource: &Resource,
    key: Vec<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    full: bool,
) -> Result<Response, Failure> {
    let table = resource.table;
    let key_value = key_json(&key);
    let key = key_texts(table, &key)?;
    let mut record = values::object(parse_body(body)?).map_err(|p| Failure::invalid(vec![p]))?;
    hook(|| (api.hooks.before_update)(resource.path, &key_value, &mut record))?;
    for (k, text) in table.keys.iter().zip(&key) {
        let field = &table.fields[*k];
        if let Some(given) = record.remove(field.name) {
            let same = values::encode(table.engine, field, &given)
                .ok()
                .flatten()
                .as_ref()
                == Some(text);
            if !same {
                return Err(Failure::invalid(vec![Invalid::new(
                    field.name,
                    "is part of the key in the path and cannot change",
                )]));
            }
        }
    }
    let cols = columns(table, &record, full, false).map_err(Failure::invalid)?;
    let db = db_of(s, table);
    let keys: Vec<Option<String>> = key.into_iter().map(Some).collect();
    let write = if cols.is_empty() {
        Write {
            sql: select_by_key(table),
            params: keys,
            keys: Vec::new(),
            then_select: None,
        }
    } else {
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(n, (i, _))| format!("{} = {}", table.fields[*i].column, param(table, *i, n + 1)))
            .collect();
        let mut sql = format!(
            "UPDATE {} SET {} WHERE {}",
            table.name,
            sets.join(", "),
            key_where(table, cols.len() + 1)
        );
        if table.returning {
            sql.push_str(&format!(" RETURNING {}", table.select));
        }
        let mut params: Vec<Option<String>> = cols.iter().map(|(_, t)| t.clone()).collect();
        params.extend(keys.iter().cloned());
        Write {
            sql,
            params,
            keys,
            then_select: (!table.returning).then(|| select_by_key(table)),
        }
    };
    let rows = match db.write_all(std::slice::from_ref(&write)).await {
        Ok(rows) => rows,
        Err(DbError::Unique(m)) => return Err(unique_conflict(table, &m)),
        Err(DbError::Reference(m)) => {
            return Err(
                missing_references(s, table, std::slice::from_ref(&record), false, &m).await,
            )
        }
        Err(e) => return Err(from_db(e)),
    };
    match rows.into_iter().next().flatten() {
        Some(row) => Ok(axum::Json(row_json(table, row)).into_response()),
        None => Err(not_found(table)),
    }
}

async fn delete(
    s: &AppState,
    api: &Api,
    resource: &Resource,
    key: Vec<String>,
) -> Result<Response, Failure> {
    let table = resource.table;
    let key_value = key_json(&key);
    let key: Vec<Option<String>> = key_texts(table, &key)?.into_iter().map(Some).collect();
    hook(|| (api.hooks.before_delete)(resource.path, &key_value))?;
    let sql = format!("DELETE FROM {} WHERE {}", table.name, key_where(table, 1));
    match db_of(s, table).execute(&sql, &key).await {
        Ok(0) => Err(not_found(table)),
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(DbError::Reference(_)) => Err(Failure::new(
            StatusCode::CONFLICT,
            format!(
                "other rows refer to this {}; delete or change them first",
                table.entity
            ),
        )),
        Err(e) => Err(from_db(e)),
    }
}

/// Events into a source: 202 once every one is in its flows; 429 with `Retry-After` when a
/// flow is full (nothing is taken); 422 naming the fields of a bad event (nothing is taken).
async fn ingest(
    s: &AppState,
    source: &'static str,
    port: &'static str,
    request: axum::extract::Request,
) -> Result<Response, Failure> {
    // A request whose events cannot be counted (unreadable, not JSON, too slow) counts as
    // one refused event.
    let refused = |n: usize| {
        s.metrics.add(
            "ingest_rejected_total",
            &[source, "invalid"],
            n.max(1) as f64,
        );
    };
    // The body is read only with a slot (the semaphore is never closed), and within a
    // deadline, so that slow clients cannot hold the slots.
    let read = async {
        let slot = s.ingest_slots.acquire().await;
        let body = <Bytes as axum::extract::FromRequest<()>>::from_request(request, &()).await;
        (slot, body)
    };
    let Ok((_slot, body)) = tokio::time::timeout(INGEST_READ, read).await else {
        refused(1);
        return Err(Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            "the request's body did not arrive in time",
        ));
    };
    let events = parse_body(body)
        .and_then(|b| super::flow::events(b).map_err(|p| Failure::invalid(vec![p])))
        .inspect_err(|_| refused(1))?;
    if events.is_empty() || events.len() > 10_000 {
        refused(events.len());
        return Err(Failure::invalid(vec![Invalid::new(
            "",
            "a batch holds from 1 to 10000 events",
        )]));
    }
    let guard = s
        .dataflow
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(dataflow) = guard.as_ref() else {
        s.metrics.add(
            "ingest_rejected_total",
            &[source, "closing"],
            events.len() as f64,
        );
        return Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is stopping",
        ));
    };
    match dataflow.ingest(s.service, &s.metrics, source, port, events) {
        Ok(n) => Ok((StatusCode::ACCEPTED, axum::Json(json!({ "accepted": n }))).into_response()),
        Err(super::flow::Refused::Invalid(problems)) => Err(Failure::invalid(problems)),
        Err(super::flow::Refused::Full) => {
            let mut response =
                Failure::new(StatusCode::TOO_MANY_REQUESTS, "the flow is full; try again")
                    .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Ok(response)
        }
        Err(super::flow::Refused::Closed) => Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is stopping",
        )),
    }
}

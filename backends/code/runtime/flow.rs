//! The dataflow: each component a task, each flow a bounded channel. Sources take events over
//! HTTP and push back (429) when their flows are full; transformers run their logic; stores
//! write batches, one transaction each, retrying what the database refuses for a while;
//! sinks deliver. On shutdown every channel drains and every batch is written before exit.

use super::db::{Db, DbError, Write};
use super::metrics::Registry;
use super::model::{Message, Node, Record, Role, Service, Table};
use super::values::{self, Engine, Invalid};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What a component's logic sees and says: messages as JSON objects of their entity.
pub type Outputs = Vec<(&'static str, Record)>;

/// The senders of each output port: one per flow leaving it.
type Senders = BTreeMap<(&'static str, &'static str), Vec<(usize, mpsc::Sender<Record>)>>;

/// The running dataflow of one service.
pub struct Dataflow {
    /// The senders of each source's output ports; dropped at shutdown, which drains the rest.
    sources: Senders,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// For `flow_depth`: each flow's sender (a clone) and capacity.
    flows: Vec<(&'static str, mpsc::Sender<Record>, usize)>,
}

/// Checks a message against its entity: the fields it must have and the values they take.
pub fn check(message: &Message, record: &Record) -> Result<(), Vec<Invalid>> {
    let mut problems = Vec::new();
    for name in record.keys() {
        if !message.fields.iter().any(|f| f.name == name) {
            problems.push(Invalid::new(
                name.clone(),
                format!("{} has no field `{name}`", message.entity),
            ));
        }
    }
    for field in message.fields {
        match record.get(field.name) {
            Some(_) if field.identity => problems.push(Invalid::new(
                field.name,
                "is numbered by the database and may not be given",
            )),
            Some(value) => {
                // Valid on every engine: the store it reaches may be any of them.
                for engine in [Engine::Postgresql, Engine::Mysql, Engine::Sqlite] {
                    if let Err(p) = values::encode(engine, field, value) {
                        problems.push(p);
                        break;
                    }
                }
            }
            None if !field.nullable
                && !field.has_default
                && !field.identity
                && !field.random_uuid
                && field.fill.is_none() =>
            {
                problems.push(Invalid::new(field.name, "is required"));
            }
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The default of a transformer: each output gets the input's fields that its entity has.
pub fn pass_through(node: &Node, input: Record) -> Result<Outputs, String> {
    Ok(node
        .outputs
        .iter()
        .map(|(port, message)| {
            let record: Record = input
                .iter()
                .filter(|(k, _)| {
                    message
                        .fields
                        .iter()
                        .any(|f| f.name == k.as_str() && !f.identity)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (*port, record)
        })
        .collect())
}

/// The logic of transformers and sinks, by component (generated in `hooks.rs`).
pub struct Logic {
    pub transform: fn(&Node, Record) -> Result<Outputs, String>,
    pub deliver: fn(&Node, &Record) -> Result<(), String>,
}

/// Why an ingest request was refused.
pub enum Refused {
    Invalid(Vec<Invalid>),
    /// A flow is full: come back later.
    Full,
    /// The service is stopping.
    Closed,
}

impl Dataflow {
    /// Starts every component of the service but its sources, which take events through
    /// [`Dataflow::ingest`].
    pub fn start(
        service: &'static Service,
        dbs: &[Option<Arc<Db>>],
        metrics: Arc<Registry>,
        logic: &'static Logic,
    ) -> Dataflow {
        let mut receivers: BTreeMap<&'static str, Vec<(usize, mpsc::Receiver<Record>)>> =
            BTreeMap::new();
        let mut senders: Senders = BTreeMap::new();
        let mut flows = Vec::new();
        for (i, flow) in service.flows.iter().enumerate() {
            let (tx, rx) = mpsc::channel(flow.capacity.max(1));
            flows.push((flow.label, tx.clone(), flow.capacity));
            senders.entry(flow.from).or_default().push((i, tx));
            receivers.entry(flow.to.0).or_default().push((i, rx));
        }
        // A sink with a store hands its messages to the store's writer.
        let mut appenders: BTreeMap<&'static str, mpsc::Sender<Record>> = BTreeMap::new();
        // Several sinks may append to one store: each has a channel of its own.
        let mut appended: BTreeMap<&'static str, Vec<mpsc::Receiver<Record>>> = BTreeMap::new();
        for node in service.nodes {
            if let Role::Sink { store: Some(store) } = node.role {
                let (tx, rx) = mpsc::channel(1024);
                appenders.insert(node.name, tx);
                appended.entry(store).or_default().push(rx);
            }
        }
        let mut tasks = Vec::new();
        let mut sources = Senders::new();
        for node in service.nodes {
            let outputs: Senders = senders
                .iter()
                .filter(|((c, _), _)| *c == node.name)
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            if matches!(node.role, Role::Source) {
                sources.extend(outputs);
                continue;
            }
            let mut inputs: Vec<mpsc::Receiver<Record>> = receivers
                .remove(node.name)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, rx)| rx)
                .collect();
            inputs.extend(appended.remove(node.name).unwrap_or_default());
            let input = merge(inputs);
            let metrics = Arc::clone(&metrics);
            let task = match &node.role {
                Role::Transformer => tokio::task::spawn_blocking(move || {
                    transformer(node, service, input, outputs, metrics, logic);
                }),
                Role::Store {
                    table,
                    batch_size,
                    flush_ms,
                } => {
                    let db = dbs[table.database]
                        .clone()
                        .expect("a store's database is the service's");
                    tokio::spawn(store(
                        node,
                        table,
                        *batch_size,
                        Duration::from_millis(*flush_ms),
                        db,
                        input,
                        metrics,
                    ))
                }
                Role::Sink { .. } => tokio::spawn(sink(
                    node,
                    input,
                    appenders.get(node.name).cloned(),
                    metrics,
                    logic,
                )),
                Role::Source => unreachable!("sources are not tasks"),
            };
            tasks.push(task);
        }
        Dataflow {
            sources,
            tasks,
            flows,
        }
    }

    /// Takes events into source `source`: all of them, checked, or none.
    pub fn ingest(
        &self,
        service: &'static Service,
        metrics: &Registry,
        source: &'static str,
        events: Vec<Record>,
    ) -> Result<usize, Refused> {
        let node = service
            .nodes
            .iter()
            .find(|n| n.name == source)
            .expect("a source of the service");
        let Some((port, message)) = node.outputs.first() else {
            return Ok(0);
        };
        let no_flows = Vec::new();
        let targets = self.sources.get(&(source, *port)).unwrap_or(&no_flows);
        // A batch larger than a flow can never fit.
        if let Some((flow, _)) = targets
            .iter()
            .find(|(f, _)| events.len() > service.flows[*f].capacity)
        {
            return Err(Refused::Invalid(vec![Invalid::new(
                "",
                format!(
                    "a batch holds at most {} events here",
                    service.flows[*flow].capacity
                ),
            )]));
        }
        // Room for every event in every flow first, so that a batch is taken whole or not.
        let mut permits = Vec::with_capacity(targets.len());
        for (_, tx) in targets {
            match tx.try_reserve_many(events.len()) {
                Ok(p) => permits.push(p),
                Err(mpsc::error::TrySendError::Full(())) => {
                    metrics.add(
                        "ingest_rejected_total",
                        &[source, "full"],
                        events.len() as f64,
                    );
                    return Err(Refused::Full);
                }
                Err(mpsc::error::TrySendError::Closed(())) => return Err(Refused::Closed),
            }
        }
        // Checked once there is room: a full flow answers at once, and a refused batch gives
        // its room back (the permits are dropped unused).
        let mut problems = Vec::new();
        for (n, event) in events.iter().enumerate() {
            if let Err(p) = check(message, event) {
                let prefix = if events.len() > 1 {
                    format!("[{n}].")
                } else {
                    String::new()
                };
                problems.extend(p.into_iter().map(|mut i| {
                    i.field = format!("{prefix}{}", i.field);
                    i
                }));
            }
        }
        if !problems.is_empty() {
            metrics.add(
                "ingest_rejected_total",
                &[source, "invalid"],
                events.len() as f64,
            );
            return Err(Refused::Invalid(problems));
        }
        let n = events.len();
        let last = targets.len().saturating_sub(1);
        let mut events = Some(events);
        for (i, (permit, (flow, _))) in permits.into_iter().zip(targets).enumerate() {
            let batch = if i == last {
                events.take().unwrap_or_default()
            } else {
                events.clone().unwrap_or_default()
            };
            for (p, event) in permit.zip(batch) {
                p.send(event);
            }
            metrics.add(
                "flow_messages_total",
                &[service.flows[*flow].label],
                n as f64,
            );
        }
        metrics.add("component_emitted_total", &[source, port], n as f64);
        Ok(n)
    }

    /// `flow_depth` of every flow, read when `/metrics` is scraped.
    pub fn record(&self, metrics: &Registry) {
        for (label, tx, capacity) in &self.flows {
            metrics.set(
                "flow_depth",
                &[label],
                (capacity.saturating_sub(tx.capacity())) as f64,
            );
        }
    }

    /// Stops taking events, lets every message through, writes every batch, and returns when
    /// every component has finished.
    pub async fn drain(mut self) {
        self.sources.clear();
        self.flows.clear();
        for task in self.tasks.drain(..) {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a component of the dataflow failed");
            }
        }
    }
}

/// One receiver of every input: closes when all of them have.
fn merge(mut inputs: Vec<mpsc::Receiver<Record>>) -> mpsc::Receiver<Record> {
    if inputs.len() == 1 {
        return inputs.pop().expect("one");
    }
    let (tx, rx) = mpsc::channel(1024);
    for mut input in inputs {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(m) = input.recv().await {
                if tx.send(m).await.is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Counts kept by a component's loop and added to the registry now and then: a lock per
/// message would cost more than the message.
#[derive(Default)]
struct Tally {
    received: u64,
    emitted: BTreeMap<&'static str, u64>,
    flowed: BTreeMap<usize, u64>,
    pending: u64,
}

impl Tally {
    fn flush(&mut self, node: &Node, labels: &[&'static str], metrics: &Registry) {
        if self.received > 0 {
            metrics.add(
                "component_received_total",
                &[node.name],
                self.received as f64,
            );
        }
        for (port, n) in std::mem::take(&mut self.emitted) {
            metrics.add("component_emitted_total", &[node.name, port], n as f64);
        }
        for (flow, n) in std::mem::take(&mut self.flowed) {
            metrics.add("flow_messages_total", &[labels[flow]], n as f64);
        }
        self.received = 0;
        self.pending = 0;
    }
}

/// Sends to every flow of the port, waiting for room: back-pressure reaches the sources.
fn emit(node: &Node, outputs: &Senders, port: &'static str, record: Record, tally: &mut Tally) {
    let mut sent = false;
    if let Some(targets) = outputs.get(&(node.name, port)) {
        let last = targets.len().saturating_sub(1);
        let mut record = Some(record);
        for (n, (flow, tx)) in targets.iter().enumerate() {
            let message = if n == last {
                record.take()
            } else {
                record.clone()
            };
            if let Some(message) = message {
                if tx.blocking_send(message).is_ok() {
                    *tally.flowed.entry(*flow).or_default() += 1;
                    sent = true;
                } else {
                    // The component downstream is gone (it failed): a loss, counted.
                    tracing::error!(
                        component = node.name,
                        port,
                        "a message could not be passed on"
                    );
                }
            }
        }
    }
    if sent {
        *tally.emitted.entry(port).or_default() += 1;
    }
}

/// A transformer runs on a thread of its own: its logic may block, and the loop costs no
/// hand-over per message.
fn transformer(
    node: &'static Node,
    service: &'static Service,
    mut input: mpsc::Receiver<Record>,
    outputs: Senders,
    metrics: Arc<Registry>,
    logic: &'static Logic,
) {
    let labels: Vec<&'static str> = service.flows.iter().map(|f| f.label).collect();
    let mut tally = Tally::default();
    while let Some(record) = input.blocking_recv() {
        tally.received += 1;
        tally.pending += 1;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (logic.transform)(node, record)
        }));
        match result {
            Ok(Ok(produced)) => {
                for (port, record) in produced {
                    let Some((_, message)) = node.outputs.iter().find(|(p, _)| *p == port) else {
                        failed(node, &metrics, &format!("no output port `{port}`"));
                        continue;
                    };
                    if let Err(problems) = check(message, &record) {
                        let what: Vec<String> = problems
                            .iter()
                            .map(|p| format!("{}: {}", p.field, p.message))
                            .collect();
                        failed(
                            node,
                            &metrics,
                            &format!(
                                "a {} it made is not valid: {}",
                                message.entity,
                                what.join("; ")
                            ),
                        );
                        continue;
                    }
                    emit(node, &outputs, port, record, &mut tally);
                }
            }
            Ok(Err(e)) => failed(node, &metrics, &e),
            Err(_) => failed(node, &metrics, "the logic panicked"),
        }
        if tally.pending >= 1000 || input.is_empty() {
            tally.flush(node, &labels, &metrics);
        }
    }
    tally.flush(node, &labels, &metrics);
}

/// A message a component could not handle: counted, logged with the reason, dropped.
fn failed(node: &Node, metrics: &Registry, reason: &str) {
    metrics.inc("component_errors_total", &[node.name]);
    metrics.inc("component_dropped_total", &[node.name, "error"]);
    tracing::warn!(component = node.name, reason, "message dropped");
}

async fn sink(
    node: &'static Node,
    mut input: mpsc::Receiver<Record>,
    appender: Option<mpsc::Sender<Record>>,
    metrics: Arc<Registry>,
    logic: &'static Logic,
) {
    while let Some(record) = input.recv().await {
        metrics.inc("component_received_total", &[node.name]);
        let result = tokio::task::block_in_place(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (logic.deliver)(node, &record)
            }))
        });
        match result {
            Ok(Ok(())) => {
                let appended = match &appender {
                    Some(tx) => tx.send(record).await.is_ok(),
                    None => true,
                };
                if appended {
                    metrics.inc("sink_delivered_total", &[node.name]);
                } else {
                    // The store's task is gone (it failed): a loss, counted and logged.
                    metrics.inc("sink_failures_total", &[node.name]);
                    failed(node, &metrics, "its store could not take the message");
                }
            }
            Ok(Err(e)) => {
                metrics.inc("sink_failures_total", &[node.name]);
                failed(node, &metrics, &e);
            }
            Err(_) => {
                metrics.inc("sink_failures_total", &[node.name]);
                failed(node, &metrics, "the logic panicked");
            }
        }
    }
}

/// Writes batches of `size` messages, or what came within `flush` of the first.
async fn store(
    node: &'static Node,
    table: &'static Table,
    size: usize,
    flush: Duration,
    db: Arc<Db>,
    mut input: mpsc::Receiver<Record>,
    metrics: Arc<Registry>,
) {
    let mut batch: Vec<Record> = Vec::with_capacity(size);
    loop {
        let first = match input.recv().await {
            Some(m) => m,
            None => break,
        };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + flush;
        while batch.len() < size {
            match tokio::time::timeout_at(deadline, input.recv()).await {
                Ok(Some(m)) => batch.push(m),
                Ok(None) | Err(_) => break,
            }
        }
        metrics.add("component_received_total", &[node.name], batch.len() as f64);
        write_batch(node, table, &db, std::mem::take(&mut batch), &metrics).await;
    }
}

/// One transaction per batch, retried with back-off while the database is away; a batch the
/// database refuses is written row by row, so that only the rows at fault are lost (and
/// counted, and logged).
async fn write_batch(
    node: &Node,
    table: &'static Table,
    db: &Db,
    batch: Vec<Record>,
    metrics: &Registry,
) {
    let start = Instant::now();
    let mut rows: Vec<Vec<(usize, Option<String>)>> = Vec::with_capacity(batch.len());
    for record in &batch {
        match super::http::columns(table, record, true, true) {
            Ok(cols) => rows.push(cols),
            Err(problems) => {
                metrics.inc("store_write_failures_total", &[node.name]);
                let what: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect();
                tracing::error!(component = node.name, problems = %what.join("; "), "a message does not fit the table; lost");
            }
        }
    }
    let writes = inserts(table, &rows);
    let mut delay = Duration::from_millis(50);
    let mut attempts = 0;
    loop {
        match db.write_all(&writes).await {
            Ok(_) => {
                metrics.add("store_rows_written_total", &[node.name], rows.len() as f64);
                break;
            }
            // The database is away: wait for it as long as it takes (back-pressure holds the
            // sources meanwhile), rather than lose rows already acknowledged.
            Err(DbError::Unavailable(e)) => {
                attempts += 1;
                metrics.inc("store_write_retries_total", &[node.name]);
                tracing::warn!(component = node.name, error = %e, attempt = attempts, "batch retried");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            // A row refers to one another store has not written yet: wait a little.
            Err(DbError::Reference(e)) if attempts < 6 => {
                attempts += 1;
                metrics.inc("store_write_retries_total", &[node.name]);
                tracing::warn!(component = node.name, error = %e, attempt = attempts, "batch retried");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::warn!(component = node.name, error = ?e, "batch refused; writing it row by row");
                for row in &rows {
                    let one = inserts(table, std::slice::from_ref(row));
                    let mut wait = Duration::from_millis(50);
                    loop {
                        match db.write_all(&one).await {
                            Ok(_) => metrics.inc("store_rows_written_total", &[node.name]),
                            // Still only away: the row is not at fault.
                            Err(DbError::Unavailable(_)) => {
                                metrics.inc("store_write_retries_total", &[node.name]);
                                tokio::time::sleep(wait).await;
                                wait = (wait * 2).min(Duration::from_secs(5));
                                continue;
                            }
                            Err(e) => {
                                metrics.inc("store_write_failures_total", &[node.name]);
                                tracing::error!(component = node.name, error = ?e, "row lost");
                            }
                        }
                        break;
                    }
                }
                break;
            }
        }
    }
    metrics.observe("store_batch_size", &[node.name], batch.len() as f64);
    metrics.observe(
        "store_batch_duration_seconds",
        &[node.name],
        start.elapsed().as_secs_f64(),
    );
}

/// Multi-row INSERTs for `rows`: rows that set the same columns share a statement, with at
/// most 30,000 parameters (SQLite's limit is 32,766).
fn inserts(table: &Table, rows: &[Vec<(usize, Option<String>)>]) -> Vec<Write> {
    let mut writes = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let columns: Vec<usize> = rows[start].iter().map(|(i, _)| *i).collect();
        let per_row = columns.len().max(1);
        let mut end = start;
        while end < rows.len()
            && (end - start + 1) * per_row <= 30_000
            && rows[end]
                .iter()
                .map(|(i, _)| *i)
                .eq(columns.iter().copied())
        {
            end += 1;
        }
        if columns.is_empty() {
            for row in &rows[start..end] {
                let mut w = super::http::insert(table, row);
                w.then_select = None;
                w.sql = w
                    .sql
                    .split(" RETURNING ")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                writes.push(w);
            }
        } else {
            let names: Vec<&str> = columns.iter().map(|i| table.fields[*i].column).collect();
            let mut n = 0;
            let tuples: Vec<String> = rows[start..end]
                .iter()
                .map(|row| {
                    let exprs: Vec<String> = row
                        .iter()
                        .map(|(i, _)| {
                            n += 1;
                            super::http::param(table, *i, n)
                        })
                        .collect();
                    format!("({})", exprs.join(", "))
                })
                .collect();
            writes.push(Write {
                sql: format!(
                    "INSERT INTO {} ({}) VALUES {}",
                    table.name,
                    names.join(", "),
                    tuples.join(", ")
                ),
                params: rows[start..end]
                    .iter()
                    .flat_map(|r| r.iter().map(|(_, t)| t.clone()))
                    .collect(),
                keys: Vec::new(),
                then_select: None,
            });
        }
        start = end;
    }
    writes
}

/// The JSON body of an ingest request: one event or an array of them.
pub fn events(body: Value) -> Result<Vec<Record>, Invalid> {
    match body {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(n, v)| {
                values::object(v).map_err(|mut i| {
                    i.field = format!("[{n}]");
                    i
                })
            })
            .collect(),
        other => values::object(other).map(|r| vec![r]),
    }
}

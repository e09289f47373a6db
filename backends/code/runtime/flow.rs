//! The dataflow: each component a task, each flow a bounded channel. Sources take events over
//! HTTP, pushing back (429) when their flows are full, or run their own loop; transformers run
//! their logic; stores write batches, one transaction each, retrying while the database is
//! away; sinks deliver. What a transformer or sink fails on goes to its dead-letter sink when
//! the spec names one. On shutdown every channel drains and every batch is written before exit.

use super::db::{Db, DbError, Write};
use super::metrics::Registry;
use super::model::{Message, Node, Record, Role, Service, Table};
use super::typed::{Outgoing, DEAD_LETTER};
use super::values::{self, Engine, Invalid};
use serde_json::Value;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What a component's logic says: messages as JSON objects of their entity, by port.
pub type Outputs = Vec<(&'static str, Record)>;

/// The senders of each output port: one per flow leaving it.
type Senders = BTreeMap<(&'static str, &'static str), Vec<(usize, mpsc::Sender<Record>)>>;

/// How long a source's loop has, once the service stops, to return before its flows are
/// closed under it.
const LOOP_GRACE: Duration = Duration::from_secs(5);

/// The running dataflow of one service.
pub struct Dataflow {
    /// The senders of each HTTP source's output ports; dropped at shutdown, which drains the
    /// rest.
    sources: Senders,
    /// The sources running their own loop.
    loops: Vec<(Arc<Feed>, tokio::task::JoinHandle<()>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// For `flow_depth`: each flow's sender (a clone) and capacity.
    flows: Vec<(&'static str, mpsc::Sender<Record>, usize)>,
    /// The components that stopped before the service did.
    health: Arc<Health>,
}

/// Components that ended early (a panic outside their logic, a lost channel): the service is
/// no longer ready once one has.
#[derive(Default)]
pub struct Health {
    failed: Mutex<Vec<&'static str>>,
}

impl Health {
    pub fn failed(&self) -> Vec<&'static str> {
        self.failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Marks its component failed when dropped by a panic.
struct Watch {
    name: &'static str,
    health: Arc<Health>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!(component = self.name, "a component of the dataflow failed");
            self.health
                .failed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(self.name);
        }
    }
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

fn described(problems: &[Invalid]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The default of a transformer: each output port gets the input's fields that its entity
/// has.
pub fn pass_through(node: &Node, input: Record) -> Result<Outputs, String> {
    Ok(node
        .outputs
        .iter()
        .filter(|(port, _)| *port != DEAD_LETTER)
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

/// The logic of sources, transformers and sinks, by component (generated in `hooks.rs`).
pub struct Logic {
    /// A transformer's: a message that came in on a port → what it hands on.
    pub transform: fn(&Node, &'static str, Record) -> Result<Outputs, String>,
    /// A sink's: a message that came in on a port → delivered, or why not.
    pub deliver: fn(&Node, &'static str, &Record) -> Result<(), String>,
    /// A source's loop, for a source whose spec says `ingest: logic`.
    pub run: fn(&Node, Arc<Feed>) -> Result<(), String>,
}

/// Why an ingest request was refused.
pub enum Refused {
    Invalid(Vec<Invalid>),
    /// A flow is full: come back later.
    Full,
    /// The service is stopping.
    Closed,
}

/// Why a source's loop could not emit a message.
#[derive(Debug, Clone, PartialEq)]
pub enum EmitError {
    /// The message is not a valid message of its entity: nothing was sent.
    Invalid(String),
    /// The service is stopping: return from the loop.
    Stopping,
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmitError::Invalid(why) => write!(f, "not a valid message: {why}"),
            EmitError::Stopping => f.write_str("the service is stopping"),
        }
    }
}

impl std::error::Error for EmitError {}

/// What a source's loop emits into: its flows, and word of the service stopping.
pub struct Feed {
    node: &'static Node,
    service: &'static Service,
    metrics: Arc<Registry>,
    /// Taken when the loop has had its time after the service stopped.
    senders: Mutex<Option<Senders>>,
    stopping: Mutex<bool>,
    wake: Condvar,
}

impl Feed {
    fn stop(&self) {
        *self
            .stopping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    fn is_stopping(&self) -> bool {
        *self
            .stopping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn emit(&self, port: &'static str, record: Record) -> Result<(), EmitError> {
        let Some((_, message)) = self.node.outputs.iter().find(|(p, _)| *p == port) else {
            return Err(EmitError::Invalid(format!("no output port `{port}`")));
        };
        if let Err(problems) = check(message, &record) {
            return Err(EmitError::Invalid(described(&problems)));
        }
        if self.is_stopping() {
            return Err(EmitError::Stopping);
        }
        // The senders are copied out, so that closing the flows at shutdown never waits on
        // a send; a copy lives only as long as this call.
        let targets = {
            let senders = self
                .senders
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match senders
                .as_ref()
                .and_then(|s| s.get(&(self.node.name, port)))
            {
                Some(targets) => targets.clone(),
                None => return Err(EmitError::Stopping),
            }
        };
        // Waits while a flow is full: the loop runs at the pace of what follows it. A flow
        // whose consumer has failed is a loss, counted; the message is taken if any flow
        // took it, so that a loop never sends it twice.
        let mut taken = false;
        for (flow, tx) in &targets {
            if tx.blocking_send(record.clone()).is_ok() {
                taken = true;
                self.metrics
                    .inc("flow_messages_total", &[self.service.flows[*flow].label]);
            } else {
                self.metrics
                    .inc("component_dropped_total", &[self.node.name, "downstream"]);
            }
        }
        if !taken {
            return Err(EmitError::Stopping);
        }
        self.metrics
            .inc("component_emitted_total", &[self.node.name, port]);
        Ok(())
    }
}

/// A source's loop emits through this: `emit` waits while the flow is full and refuses once
/// the service is stopping, which is when the loop should return.
pub struct Emitter<T> {
    feed: Arc<Feed>,
    kind: PhantomData<fn(T)>,
}

impl<T: Outgoing> Emitter<T> {
    pub fn new(feed: Arc<Feed>) -> Emitter<T> {
        Emitter {
            feed,
            kind: PhantomData,
        }
    }

    /// Hands a message on to every flow of its port, waiting for room. `Ok` means it is in
    /// the flows, and will be written or delivered even if the service stops now.
    pub fn emit(&self, message: T) -> Result<(), EmitError> {
        let (port, record) = message
            .into_port(self.feed.node)
            .map_err(EmitError::Invalid)?;
        self.feed.emit(port, record)
    }

    /// Whether the service is stopping.
    pub fn stopping(&self) -> bool {
        self.feed.is_stopping()
    }

    /// Sleeps for `duration`, or until the service stops: `false` when it is stopping.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut stopping = self
            .feed
            .stopping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while !*stopping {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            stopping = self
                .feed
                .wake
                .wait_timeout(stopping, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        false
    }

    /// Waits until the service stops.
    pub fn wait_for_stop(&self) {
        while self.sleep(Duration::from_secs(3600)) {}
    }
}

impl Dataflow {
    /// Starts every component of the service. HTTP sources take events through
    /// [`Dataflow::ingest`].
    pub fn start(
        service: &'static Service,
        dbs: &[Option<Arc<Db>>],
        metrics: Arc<Registry>,
        logic: &'static Logic,
    ) -> Dataflow {
        let mut receivers: BTreeMap<&'static str, Vec<(&'static str, mpsc::Receiver<Record>)>> =
            BTreeMap::new();
        let mut senders: Senders = BTreeMap::new();
        let mut flows = Vec::new();
        for (i, flow) in service.flows.iter().enumerate() {
            let (tx, rx) = mpsc::channel(flow.capacity.max(1));
            flows.push((flow.label, tx.clone(), flow.capacity));
            senders.entry(flow.from).or_default().push((i, tx));
            receivers
                .entry(flow.to.0)
                .or_default()
                .push((flow.to.1, rx));
        }
        // A sink with a store hands what it delivered to the store's writer, through a
        // channel of its own (several sinks may append to one store). It holds a few
        // messages: the sink waits on the store, as on any flow.
        let mut appenders: BTreeMap<&'static str, mpsc::Sender<Record>> = BTreeMap::new();
        for node in service.nodes {
            if let Role::Sink { store: Some(store) } = node.role {
                let (tx, rx) = mpsc::channel(APPEND_ROOM);
                appenders.insert(node.name, tx);
                receivers.entry(store).or_default().push(("in", rx));
            }
        }
        let health = Arc::new(Health::default());
        let mut tasks = Vec::new();
        let mut loops = Vec::new();
        let mut sources = Senders::new();
        for node in service.nodes {
            let outputs: Senders = senders
                .iter()
                .filter(|((c, _), _)| *c == node.name)
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            let watch = Watch {
                name: node.name,
                health: Arc::clone(&health),
            };
            let metrics = Arc::clone(&metrics);
            if let Role::Source { endpoint } = node.role {
                if endpoint {
                    sources.extend(outputs);
                } else {
                    let feed = Arc::new(Feed {
                        node,
                        service,
                        metrics,
                        senders: Mutex::new(Some(outputs)),
                        stopping: Mutex::new(false),
                        wake: Condvar::new(),
                    });
                    let running = Arc::clone(&feed);
                    let task = tokio::task::spawn_blocking(move || {
                        let _watch = watch;
                        run_loop(node, running, logic);
                    });
                    loops.push((feed, task));
                }
                continue;
            }
            let input = Inbox::new(receivers.remove(node.name).unwrap_or_default());
            let task = match &node.role {
                Role::Transformer => tokio::task::spawn_blocking(move || {
                    let _watch = watch;
                    transformer(node, service, input, &outputs, &metrics, logic);
                }),
                Role::Store {
                    table,
                    batch_size,
                    flush_ms,
                } => {
                    let db = dbs[table.database]
                        .clone()
                        .expect("a store's database is the service's");
                    tokio::spawn(async move {
                        let _watch = watch;
                        store(
                            node,
                            table,
                            *batch_size,
                            Duration::from_millis(*flush_ms),
                            db,
                            input,
                            metrics,
                        )
                        .await;
                    })
                }
                Role::Sink { .. } => {
                    let appender = appenders.get(node.name).cloned();
                    tokio::spawn(async move {
                        let _watch = watch;
                        sink(node, service, input, appender, outputs, metrics, logic).await;
                    })
                }
                Role::Source { .. } => unreachable!("sources are not tasks"),
            };
            tasks.push(task);
        }
        Dataflow {
            sources,
            loops,
            tasks,
            flows,
            health,
        }
    }

    /// The components that failed; the service is not ready while there is one.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Takes events into port `port` of source `source`: all of them, checked, or none.
    pub fn ingest(
        &self,
        service: &'static Service,
        metrics: &Registry,
        source: &'static str,
        port: &'static str,
        events: Vec<Record>,
    ) -> Result<usize, Refused> {
        let node = service
            .nodes
            .iter()
            .find(|n| n.name == source)
            .expect("a source of the service");
        let Some((port, message)) = node.outputs.iter().find(|(p, _)| *p == port) else {
            return Ok(0);
        };
        let refuse = |reason: &str, refused: Refused| {
            metrics.add(
                "ingest_rejected_total",
                &[source, reason],
                events.len() as f64,
            );
            Err(refused)
        };
        let no_flows = Vec::new();
        let targets = self.sources.get(&(source, *port)).unwrap_or(&no_flows);
        // A batch larger than a flow can never fit.
        if let Some((flow, _)) = targets
            .iter()
            .find(|(f, _)| events.len() > service.flows[*f].capacity)
        {
            return refuse(
                "invalid",
                Refused::Invalid(vec![Invalid::new(
                    "",
                    format!(
                        "a batch holds at most {} events here",
                        service.flows[*flow].capacity
                    ),
                )]),
            );
        }
        // Room for every event in every flow first, so that a batch is taken whole or not.
        let mut permits = Vec::with_capacity(targets.len());
        for (_, tx) in targets {
            match tx.try_reserve_many(events.len()) {
                Ok(p) => permits.push(p),
                Err(mpsc::error::TrySendError::Full(())) => {
                    return refuse("full", Refused::Full);
                }
                Err(mpsc::error::TrySendError::Closed(())) => {
                    return refuse("closing", Refused::Closed);
                }
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
            return refuse("invalid", Refused::Invalid(problems));
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
        // Sources' loops are told to stop, and given a while to return; then their flows
        // close under them (what they emitted is still let through).
        for (feed, _) in &self.loops {
            feed.stop();
        }
        let deadline = tokio::time::Instant::now() + LOOP_GRACE;
        for (feed, task) in self.loops.drain(..) {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(component = feed.node.name, error = %e, "a source failed")
                }
                Err(_) => {
                    tracing::warn!(
                        component = feed.node.name,
                        "the source's loop did not return within {} seconds; its flows are closed",
                        LOOP_GRACE.as_secs()
                    );
                    feed.senders
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .take();
                }
            }
        }
        for task in self.tasks.drain(..) {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a component of the dataflow failed");
            }
        }
    }
}

/// The room of the channel from a sink to the store it appends to.
const APPEND_ROOM: usize = 16;

/// A source's loop, on a thread of its own: its return, error or panic is logged, and the
/// rest of the service goes on.
fn run_loop(node: &'static Node, feed: Arc<Feed>, logic: &'static Logic) {
    let metrics = Arc::clone(&feed.metrics);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (logic.run)(node, Arc::clone(&feed))
    }));
    match result {
        Ok(Ok(())) if feed.is_stopping() => {}
        Ok(Ok(())) => tracing::info!(component = node.name, "the source's loop returned"),
        Ok(Err(e)) => {
            metrics.inc("component_errors_total", &[node.name]);
            tracing::error!(component = node.name, error = %e, "the source's loop failed");
        }
        Err(_) => {
            metrics.inc("component_errors_total", &[node.name]);
            tracing::error!(component = node.name, "the source's loop panicked");
        }
    }
}

/// What comes into a component: one flow, or several merged, each message with its port.
enum Inbox {
    One(&'static str, mpsc::Receiver<Record>),
    Many(mpsc::Receiver<(&'static str, Record)>),
}

impl Inbox {
    fn new(mut inputs: Vec<(&'static str, mpsc::Receiver<Record>)>) -> Inbox {
        if inputs.len() == 1 {
            let (port, rx) = inputs.pop().expect("one");
            return Inbox::One(port, rx);
        }
        // Each input's forwarder holds at most one message: no buffer beyond the flows'.
        let (tx, rx) = mpsc::channel(inputs.len().max(1));
        for (port, mut input) in inputs {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(m) = input.recv().await {
                    if tx.send((port, m)).await.is_err() {
                        break;
                    }
                }
            });
        }
        Inbox::Many(rx)
    }

    async fn recv(&mut self) -> Option<(&'static str, Record)> {
        match self {
            Inbox::One(port, rx) => rx.recv().await.map(|m| (*port, m)),
            Inbox::Many(rx) => rx.recv().await,
        }
    }

    fn blocking_recv(&mut self) -> Option<(&'static str, Record)> {
        match self {
            Inbox::One(port, rx) => rx.blocking_recv().map(|m| (*port, m)),
            Inbox::Many(rx) => rx.blocking_recv(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Inbox::One(_, rx) => rx.is_empty(),
            Inbox::Many(rx) => rx.is_empty(),
        }
    }
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
    fn flush(&mut self, node: &Node, service: &Service, metrics: &Registry) {
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
            metrics.add(
                "flow_messages_total",
                &[service.flows[flow].label],
                n as f64,
            );
        }
        self.received = 0;
        self.pending = 0;
    }
}

/// Sends to every flow of the port, waiting for room: back-pressure reaches the sources. The
/// tally is added up first when the first flow is full, so that the metrics do not stall with
/// the component.
fn emit(
    node: &Node,
    service: &Service,
    outputs: &Senders,
    port: &'static str,
    record: Record,
    tally: &mut Tally,
    metrics: &Registry,
) {
    let mut sent = false;
    let mut lost = false;
    let Some(targets) = outputs.get(&(node.name, port)).filter(|t| !t.is_empty()) else {
        // The spec leaves the port unconnected (the passes warned): dropped, and counted.
        metrics.inc("component_dropped_total", &[node.name, "unconnected"]);
        return;
    };
    let last = targets.len().saturating_sub(1);
    let mut record = Some(record);
    for (n, (flow, tx)) in targets.iter().enumerate() {
        let message = if n == last {
            record.take()
        } else {
            record.clone()
        };
        let Some(message) = message else {
            continue;
        };
        let message = match tx.try_send(message) {
            Ok(()) => {
                *tally.flowed.entry(*flow).or_default() += 1;
                sent = true;
                continue;
            }
            Err(mpsc::error::TrySendError::Full(m)) => {
                tally.flush(node, service, metrics);
                m
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                lost = true;
                continue;
            }
        };
        if tx.blocking_send(message).is_ok() {
            *tally.flowed.entry(*flow).or_default() += 1;
            sent = true;
        } else {
            lost = true;
        }
    }
    if lost {
        // The component downstream is gone (it failed): a loss, counted.
        metrics.inc("component_dropped_total", &[node.name, "downstream"]);
        tracing::error!(
            component = node.name,
            port,
            "a message could not be passed on: the component after it has failed"
        );
    }
    if sent {
        *tally.emitted.entry(port).or_default() += 1;
    }
}

/// A transformer runs on a thread of its own: its logic may block, and the loop costs no
/// hand-over per message. An input's outputs are handed on together or not at all: when the
/// logic refuses the input, panics or makes an invalid output, the input goes to the
/// dead-letter sink (or is counted and dropped).
fn transformer(
    node: &'static Node,
    service: &'static Service,
    mut input: Inbox,
    outputs: &Senders,
    metrics: &Registry,
    logic: &'static Logic,
) {
    let dead_letter = node.outputs.iter().any(|(p, _)| *p == DEAD_LETTER);
    let mut tally = Tally::default();
    while let Some((port, record)) = input.blocking_recv() {
        tally.received += 1;
        tally.pending += 1;
        let kept = dead_letter.then(|| record.clone());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (logic.transform)(node, port, record)
        }));
        let checked = match result {
            Ok(Ok(produced)) => produced
                .into_iter()
                .map(|(port, record)| {
                    let Some((_, message)) = node
                        .outputs
                        .iter()
                        .find(|(p, _)| *p == port && *p != DEAD_LETTER)
                    else {
                        return Err(format!("no output port `{port}`"));
                    };
                    check(message, &record).map_err(|problems| {
                        format!(
                            "a {} it made is not valid: {}",
                            message.entity,
                            described(&problems)
                        )
                    })?;
                    Ok((port, record))
                })
                .collect::<Result<Vec<_>, String>>(),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the logic panicked".to_owned()),
        };
        match checked {
            Ok(produced) => {
                for (port, record) in produced {
                    emit(node, service, outputs, port, record, &mut tally, metrics);
                }
            }
            Err(reason) => {
                failed(node, metrics, &reason, kept.is_some());
                if let Some(record) = kept {
                    emit(
                        node,
                        service,
                        outputs,
                        DEAD_LETTER,
                        record,
                        &mut tally,
                        metrics,
                    );
                }
            }
        }
        if tally.pending >= 1000 || input.is_empty() {
            tally.flush(node, service, metrics);
        }
    }
    tally.flush(node, service, metrics);
}

/// A message a component could not handle: counted and logged with the reason; dropped
/// unless it goes on to a dead-letter sink.
fn failed(node: &Node, metrics: &Registry, reason: &str, dead_letter: bool) {
    metrics.inc("component_errors_total", &[node.name]);
    if dead_letter {
        tracing::warn!(
            component = node.name,
            reason,
            "message sent to the dead-letter sink"
        );
    } else {
        metrics.inc("component_dropped_total", &[node.name, "error"]);
        tracing::warn!(component = node.name, reason, "message dropped");
    }
}

async fn sink(
    node: &'static Node,
    service: &'static Service,
    mut input: Inbox,
    appender: Option<mpsc::Sender<Record>>,
    outputs: Senders,
    metrics: Arc<Registry>,
    logic: &'static Logic,
) {
    let dead_letter = outputs.get(&(node.name, DEAD_LETTER)).cloned();
    while let Some((port, record)) = input.recv().await {
        metrics.inc("component_received_total", &[node.name]);
        let result = tokio::task::block_in_place(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (logic.deliver)(node, port, &record)
            }))
        });
        let outcome = match result {
            Ok(Ok(())) => match &appender {
                Some(tx) => match tx.send(record).await {
                    Ok(()) => Ok(()),
                    Err(mpsc::error::SendError(record)) => {
                        Err(("its store could not take the message".to_owned(), record))
                    }
                },
                None => Ok(()),
            },
            Ok(Err(e)) => Err((e, record)),
            Err(_) => Err(("the logic panicked".to_owned(), record)),
        };
        let (reason, record) = match outcome {
            Ok(()) => {
                metrics.inc("sink_delivered_total", &[node.name]);
                continue;
            }
            Err(failure) => failure,
        };
        metrics.inc("sink_failures_total", &[node.name]);
        failed(node, &metrics, &reason, dead_letter.is_some());
        let Some(targets) = &dead_letter else {
            continue;
        };
        let mut sent = false;
        for (flow, tx) in targets {
            if tx.send(record.clone()).await.is_ok() {
                metrics.inc("flow_messages_total", &[service.flows[*flow].label]);
                sent = true;
            } else {
                metrics.inc("component_dropped_total", &[node.name, "downstream"]);
                tracing::error!(
                    component = node.name,
                    "a message could not reach the dead-letter sink"
                );
            }
        }
        if sent {
            metrics.inc("component_emitted_total", &[node.name, DEAD_LETTER]);
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
    mut input: Inbox,
    metrics: Arc<Registry>,
) {
    let mut batch: Vec<Record> = Vec::with_capacity(size);
    loop {
        let first = match input.recv().await {
            Some((_, m)) => m,
            None => break,
        };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + flush;
        while batch.len() < size {
            match tokio::time::timeout_at(deadline, input.recv()).await {
                Ok(Some((_, m))) => batch.push(m),
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

//! Observability: each SLO measures something its component can measure, bounds it the right
//! way with a sensible objective, and is stated once. Builds the metric catalogue: the one list
//! of metrics that the generated service exports and that monitoring charts and alerts on.

use super::Facts;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{ComponentKind, Indicator, Ir, Unit};
use rustc_hash::FxHashMap;
use schemars::JsonSchema;
use serde::Serialize;

/// The shortest window an objective can be judged over with multi-window burn-rate alerts:
/// their windows shrink with the SLO's (a 30-day objective pages on an hour, a 7-day one on
/// 14 minutes), and below a week the fastest would hold too few scrapes.
const MIN_WINDOW_MS: u64 = 7 * 24 * 3_600_000;
const MIN_SCRAPE_MS: u64 = 1_000;
const MAX_SCRAPE_MS: u64 = 60_000;
const MAX_WINDOW_MS: u64 = 366 * 24 * 3_600_000;
const MAX_RATE: f64 = 1e9;
/// Latency buckets every histogram of seconds has; SLO thresholds are added to them so that
/// each threshold is a bucket boundary and its percentile is exact at the boundary.
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// A metric of the catalogue.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    pub help: String,
    pub labels: Vec<String>,
    /// The upper bounds of a histogram's buckets; empty for other kinds.
    pub buckets: Vec<f64>,
    /// The services that export it.
    pub exported_by: Vec<String>,
}

/// The `le` label of a histogram bucket with upper bound `bound`, as the generated service
/// writes it and as rules select it: the shortest decimal that reads back as the same `f64`
/// (`0.02`, `1`, `2.5`), as Prometheus' own Go client writes it. Prometheus 3 turns `1` into
/// `1.0` when it scrapes, so selectors match both (see the monitoring backend).
pub fn le_label(bound: f64) -> String {
    if bound == f64::INFINITY {
        "+Inf".to_owned()
    } else {
        // Rust's `Display` for f64 is the shortest round-tripping form, without an exponent.
        format!("{bound}")
    }
}

/// The `flow` label of a flow's metrics: `FROM.PORT->TO.PORT`.
pub fn flow_label(flow: &crate::ir::Flow) -> String {
    format!(
        "{}.{}->{}.{}",
        flow.from.component.name, flow.from.port, flow.to.component.name, flow.to.port
    )
}

fn measurable(kind: &ComponentKind, indicator: Indicator) -> bool {
    use Indicator::{ErrorRate, Latency, Throughput};
    match kind {
        ComponentKind::Api { .. } => true,
        // A source's requests are its ingest endpoint's; a source running its own loop has
        // only its throughput.
        ComponentKind::Source { .. } => kind.serves_http() || matches!(indicator, Throughput),
        ComponentKind::Store { .. } => matches!(indicator, Latency { .. } | Throughput | ErrorRate),
        ComponentKind::Transformer | ComponentKind::Sink { .. } => {
            matches!(indicator, Throughput | ErrorRate)
        }
    }
}

fn unit_words(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "a duration",
        Unit::Percent => "a percentage",
        Unit::PerSecond => "a rate",
    }
}

/// Which components flows connect: only they run the dataflow machinery (channels, batches)
/// and export its metrics.
fn in_flow(ir: &Ir) -> Vec<bool> {
    let mut in_flow = vec![false; ir.components.len()];
    for flow in ir.flows.values() {
        for end in [&flow.from, &flow.to] {
            if let Some(id) = end.component.try_id() {
                in_flow[id.index()] = true;
            }
        }
    }
    in_flow
}

/// The stem of an SLO's alert names: `api_p99_latency` → `ApiP99Latency`.
pub fn alert_stem(slo_name: &str) -> String {
    slo_name
        .split(['_', '-', '.'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

pub fn run(ir: &Ir, facts: &mut Facts, diags: &mut Diagnostics) {
    let in_flow = in_flow(ir);
    let scrape = ir.monitoring.scrape_interval_ms;
    if ir.monitoring.enabled && !(MIN_SCRAPE_MS..=MAX_SCRAPE_MS).contains(&scrape) {
        let mut d = Diagnostic::error(
            Code::ScrapeInterval,
            format!(
                "a scrape interval of {} leaves too few samples in the rules' five-minute windows",
                match scrape {
                    s if s % 60_000 == 0 => format!("{}m", s / 60_000),
                    s if s % 1_000 == 0 => format!("{}s", s / 1_000),
                    s => format!("{s}ms"),
                }
            ),
        )
        .help("scrape between every second and every minute; `15s` is the default");
        if let Some(span) = ir.spans.scrape_interval {
            d = d.label(span, "between 1s and 1m");
        }
        if scrape < MIN_SCRAPE_MS {
            d.message =
                "a scrape interval under a second would load every target for nothing".into();
        }
        diags.push(d);
    }
    // Alert names are made from SLO names; two names that differ only in `_`, `-`, `.` or
    // the case of a first letter would give the same alerts.
    let mut stems: FxHashMap<String, &str> = FxHashMap::default();
    for (id, slo) in ir.slos.iter() {
        let stem = alert_stem(&slo.name);
        if let Some(first) = stems.get(&stem) {
            if *first != slo.name {
                let spans = ir.spans.slo(id);
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateSlo,
                        format!(
                            "SLOs `{first}` and `{}` would both name their alerts `{stem}…`",
                            slo.name
                        ),
                    )
                    .label(spans.name.unwrap_or(spans.whole), "this SLO")
                    .help("give one of them a `name:` that differs in more than `_`, `-`, `.` or case"),
                );
            }
        } else {
            stems.insert(stem, &slo.name);
        }
    }
    let mut names: FxHashMap<&str, crate::source::Span> = FxHashMap::default();
    for (id, slo) in ir.slos.iter() {
        let spans = ir.spans.slo(id);
        let Some(component_id) = slo.component.try_id() else {
            continue;
        };
        let component = &ir.components[component_id];
        if let Some(first) = names.get(slo.name.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateSlo,
                    format!("two SLOs are named `{}`", slo.name),
                )
                .label(spans.name.unwrap_or(spans.whole), "second")
                .label(*first, "first")
                .help("remove one, or give them distinct `name:`s"),
            );
        } else {
            names.insert(&slo.name, spans.name.unwrap_or(spans.whole));
        }

        if !measurable(&component.kind, slo.indicator) {
            diags.push(
                Diagnostic::error(
                    Code::SloNotMeasurable,
                    format!(
                        "{} `{}` has no {} to measure",
                        component.kind_name(),
                        component.name,
                        slo.indicator.words()
                    ),
                )
                .label(spans.indicator, "not measurable here")
                .help("latency, availability and error rate are measured per request on APIs and sources (and latency per write on stores); throughput everywhere"),
            );
            continue;
        }
        if matches!(component.kind, ComponentKind::Store { .. }) && !in_flow[component_id.index()] {
            diags.push(
                Diagnostic::error(
                    Code::SloNotMeasurable,
                    format!(
                        "store `{}` takes no flow, so it writes no batches to measure",
                        component.name
                    ),
                )
                .label(spans.indicator, "not measurable here")
                .help("an api writes through it row by row: put the objective on the api instead"),
            );
            continue;
        }

        let (wanted_unit, upper) = match slo.indicator {
            Indicator::Latency { .. } => (Unit::Seconds, true),
            Indicator::ErrorRate => (Unit::Percent, true),
            Indicator::Availability => (Unit::Percent, false),
            Indicator::Throughput => (Unit::PerSecond, false),
        };
        if slo.objective.unit != wanted_unit {
            diags.push(
                Diagnostic::error(
                    Code::SloUnit,
                    format!(
                        "{} is measured as {}, not {}",
                        slo.indicator.words(),
                        unit_words(wanted_unit),
                        unit_words(slo.objective.unit)
                    ),
                )
                .label(spans.value, format!("expected {}", unit_words(wanted_unit))),
            );
            continue;
        }
        if slo.comparison.is_upper_bound() != upper {
            let (ops, why) = if upper {
                ("`<` or `<=`", "lower is better")
            } else {
                ("`>` or `>=`", "higher is better")
            };
            diags.push(
                Diagnostic::error(
                    Code::SloDirection,
                    format!(
                        "an objective on {} is bounded with {ops}: {why}",
                        slo.indicator.words()
                    ),
                )
                .label(spans.comparison, "wrong way"),
            );
        }

        let value = slo.objective.value;
        let problem = match slo.indicator {
            Indicator::Latency { percentile } if !(percentile > 0.0 && percentile < 100.0) => {
                Some((
                    spans.indicator,
                    "a percentile lies strictly between 0 and 100".to_owned(),
                ))
            }
            Indicator::Availability if value >= 100.0 => Some((
                spans.value,
                "an availability of 100% leaves no error budget: every failed request breaks it"
                    .to_owned(),
            )),
            Indicator::Availability | Indicator::ErrorRate if !(value > 0.0 && value < 100.0) => {
                Some((
                    spans.value,
                    format!(
                        "an objective on {} lies strictly between 0% and 100%",
                        slo.indicator.words()
                    ),
                ))
            }
            Indicator::Latency { .. } if !(value > 0.0 && value <= 3600.0) => Some((
                spans.value,
                "a latency objective lies between 0 and an hour".to_owned(),
            )),
            Indicator::Throughput if !(value > 0.0 && value <= MAX_RATE) => Some((
                spans.value,
                "a throughput objective lies between 0 and a billion per second".to_owned(),
            )),
            _ if slo.window_ms < MIN_WINDOW_MS || slo.window_ms > MAX_WINDOW_MS => Some((
                spans.whole,
                "the window must be between a week (for burn-rate alerts to judge it) and a year"
                    .to_owned(),
            )),
            _ => None,
        };
        if let Some((span, message)) = problem {
            diags.push(Diagnostic::error(Code::SloObjective, message).label(span, "out of range"));
        }
    }

    facts.metrics = catalogue(ir);
}

fn with_thresholds(base: &[f64], thresholds: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut buckets: Vec<f64> = base.iter().copied().chain(thresholds).collect();
    buckets.sort_by(f64::total_cmp);
    buckets.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    buckets
}

/// The metric catalogue, in a fixed order.
fn catalogue(ir: &Ir) -> Vec<Metric> {
    use MetricKind::{Counter, Gauge, Histogram};
    let all: Vec<String> = ir.services.values().map(|s| s.name.clone()).collect();
    let in_flow = in_flow(ir);
    let running = |pred: &dyn Fn(&ComponentKind, bool) -> bool| -> Vec<String> {
        ir.services
            .values()
            .filter(|s| {
                s.components
                    .iter()
                    .filter_map(crate::ir::Ref::try_id)
                    .any(|c| pred(&ir.components[c].kind, in_flow[c.index()]))
            })
            .map(|s| s.name.clone())
            .collect()
    };
    let latency_thresholds = |pred: &dyn Fn(&ComponentKind) -> bool| -> Vec<f64> {
        ir.slos
            .values()
            .filter(|s| matches!(s.indicator, Indicator::Latency { .. }))
            .filter(|s| {
                s.component
                    .try_id()
                    .is_some_and(|c| pred(&ir.components[c].kind))
            })
            .map(|s| s.objective.value)
            .collect()
    };
    let is_http = ComponentKind::serves_http;
    let uses_db = |k: &ComponentKind, _: bool| {
        matches!(k, ComponentKind::Store { .. } | ComponentKind::Api { .. })
            || matches!(k, ComponentKind::Sink { store: Some(_) })
    };
    let is_store = |k: &ComponentKind| matches!(k, ComponentKind::Store { .. });
    let writes_batches = |k: &ComponentKind, flowing: bool| is_store(k) && flowing;
    let is_source =
        |k: &ComponentKind, _: bool| k.serves_http() && !matches!(k, ComponentKind::Api { .. });
    let is_sink = |k: &ComponentKind, _: bool| matches!(k, ComponentKind::Sink { .. });
    let in_dataflow = |_: &ComponentKind, flowing: bool| flowing;

    let metric = |name: &str,
                  kind: MetricKind,
                  help: &str,
                  labels: &[&str],
                  buckets: Vec<f64>,
                  by: Vec<String>| Metric {
        name: name.to_owned(),
        kind,
        help: help.to_owned(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        buckets,
        exported_by: by,
    };
    let mut metrics = vec![
        metric(
            "service_info",
            Gauge,
            "Always 1; the labels name the running service and its version.",
            &["system", "service", "version"],
            vec![],
            all.clone(),
        ),
        metric(
            "http_requests_total",
            Counter,
            "HTTP requests answered, by component (api or source), route, method and status code.",
            &["component", "route", "method", "status"],
            vec![],
            all.clone(),
        ),
        metric(
            "http_request_duration_seconds",
            Histogram,
            "Time from receiving an HTTP request to sending the response.",
            &["component", "route", "method", "status"],
            with_thresholds(&LATENCY_BUCKETS, latency_thresholds(&is_http).into_iter()),
            all.clone(),
        ),
        metric(
            "http_requests_in_flight",
            Gauge,
            "HTTP requests being handled now.",
            &[],
            vec![],
            all,
        ),
    ];
    let db_services = running(&uses_db);
    if !db_services.is_empty() {
        metrics.extend([
            metric(
                "db_up",
                Gauge,
                "1 while the database answers, 0 while it does not.",
                &["database"],
                vec![],
                db_services.clone(),
            ),
            metric(
                "db_pool_connections",
                Gauge,
                "Open connections in the pool, by state (idle, in_use).",
                &["database", "state"],
                vec![],
                db_services.clone(),
            ),
            metric(
                "db_pool_max_connections",
                Gauge,
                "The most connections the pool may open.",
                &["database"],
                vec![],
                db_services.clone(),
            ),
            metric(
                "db_pool_acquire_duration_seconds",
                Histogram,
                "Time spent waiting for a pooled connection.",
                &["database"],
                LATENCY_BUCKETS.to_vec(),
                db_services.clone(),
            ),
            metric(
                "db_pool_acquire_timeouts_total",
                Counter,
                "Requests that gave up waiting for a pooled connection.",
                &["database"],
                vec![],
                db_services,
            ),
        ]);
    }
    let dataflow_services = running(&in_dataflow);
    if !dataflow_services.is_empty() {
        metrics.extend([
            metric(
                "component_received_total",
                Counter,
                "Messages a component took in.",
                &["component"],
                vec![],
                dataflow_services.clone(),
            ),
            metric(
                "component_emitted_total",
                Counter,
                "Messages a component sent out, by port.",
                &["component", "port"],
                vec![],
                dataflow_services.clone(),
            ),
            metric(
                "component_errors_total",
                Counter,
                "Messages a component failed to handle.",
                &["component"],
                vec![],
                dataflow_services.clone(),
            ),
            metric(
                "component_dropped_total",
                Counter,
                "Messages a component dropped, by reason (error: it failed on them and has no dead-letter sink; downstream: the component after it has failed; unconnected: a transformer sent them to a port without a flow).",
                &["component", "reason"],
                vec![],
                dataflow_services.clone(),
            ),
        ]);
    }
    if !dataflow_services.is_empty() {
        metrics.extend([
            metric(
                "flow_messages_total",
                Counter,
                "Messages that passed through a flow.",
                &["flow"],
                vec![],
                dataflow_services.clone(),
            ),
            metric(
                "flow_depth",
                Gauge,
                "Messages waiting in a flow's buffer.",
                &["flow"],
                vec![],
                dataflow_services.clone(),
            ),
            metric(
                "flow_capacity",
                Gauge,
                "The size of a flow's buffer.",
                &["flow"],
                vec![],
                dataflow_services,
            ),
        ]);
    }
    let source_services = running(&is_source);
    if !source_services.is_empty() {
        metrics.push(metric(
            "ingest_rejected_total",
            Counter,
            "Events an ingest endpoint refused, by reason (invalid: unreadable, not JSON or not valid, a request counting as one when its events cannot be counted; full; closing: the service is stopping).",
            &["source", "reason"],
            vec![],
            source_services,
        ));
    }
    let store_services = running(&writes_batches);
    if !store_services.is_empty() {
        let max_batch = ir
            .components
            .values()
            .filter_map(|c| match &c.kind {
                ComponentKind::Store { batch, .. } => Some(batch.size),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        let mut sizes = Vec::new();
        let mut size = 1u32;
        while size < max_batch {
            sizes.push(f64::from(size));
            size = size.saturating_mul(4);
        }
        sizes.push(f64::from(max_batch));
        metrics.extend([
            metric(
                "store_batch_size",
                Histogram,
                "Rows written per batch.",
                &["store"],
                sizes,
                store_services.clone(),
            ),
            metric(
                "store_batch_duration_seconds",
                Histogram,
                "Time to write one batch that committed, commit included (failed batches count in store_write_failures_total).",
                &["store"],
                with_thresholds(&LATENCY_BUCKETS, latency_thresholds(&is_store).into_iter()),
                store_services.clone(),
            ),
            metric(
                "store_rows_written_total",
                Counter,
                "Rows committed.",
                &["store"],
                vec![],
                store_services.clone(),
            ),
            metric(
                "store_write_retries_total",
                Counter,
                "Batch writes retried after a transient error.",
                &["store"],
                vec![],
                store_services.clone(),
            ),
            metric(
                "store_write_failures_total",
                Counter,
                "Batch writes that failed for good.",
                &["store"],
                vec![],
                store_services,
            ),
        ]);
    }
    let sink_services = running(&is_sink);
    if !sink_services.is_empty() {
        metrics.extend([
            metric(
                "sink_delivered_total",
                Counter,
                "Messages a sink delivered.",
                &["sink"],
                vec![],
                sink_services.clone(),
            ),
            metric(
                "sink_failures_total",
                Counter,
                "Messages a sink failed to deliver.",
                &["sink"],
                vec![],
                sink_services,
            ),
        ]);
    }
    metrics
}

//! The Grafana dashboard of a system: its SLOs and their budgets, then a row per API or
//! source (requests, latency, errors by route), per flow (throughput, backlog, drops) and per
//! store (batch latency and size, pool use). Panel ids count up in a fixed order and the uid
//! comes from the system's name, so a rebuild gives the same bytes and a change a small diff.

// Durations are milliseconds of at most a year and counts of test steps: far below
// 2^52, so they pass between u64 and f64 exactly.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use super::promql::{Matcher, selector};
use crate::ir::{ComponentKind, Indicator, Ir};
use crate::passes::{Facts, flow_label};
use serde_json::{Value, json};

/// The datasource every panel queries; provisioned under this uid.
pub const DATASOURCE_UID: &str = "prometheus";

struct Layout {
    panels: Vec<Value>,
    next_id: u64,
    y: u64,
    x: u64,
}

impl Layout {
    fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.y += 8;
            self.x = 0;
        }
        self.panels.push(json!({
            "type": "row",
            "id": self.next_id,
            "title": title,
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
            "panels": [],
        }));
        self.next_id += 1;
        self.y += 1;
    }

    fn place(&mut self, width: u64) -> Value {
        if self.x + width > 24 {
            self.y += 8;
            self.x = 0;
        }
        let pos = json!({ "h": 8, "w": width, "x": self.x, "y": self.y });
        self.x += width;
        pos
    }

    fn timeseries(&mut self, title: &str, unit: &str, targets: &[(&str, &str)]) {
        let pos = self.place(8);
        self.panels.push(json!({
            "type": "timeseries",
            "id": self.next_id,
            "title": title,
            "datasource": datasource(),
            "gridPos": pos,
            "targets": queries(targets),
            "fieldConfig": {
                "defaults": {
                    "unit": unit,
                    "custom": {
                        "drawStyle": "line",
                        "lineWidth": 1,
                        "fillOpacity": 10,
                        "showPoints": "never",
                        "spanNulls": false,
                    },
                },
                "overrides": [],
            },
            "options": {
                "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": [] },
                "tooltip": { "mode": "multi", "sort": "desc" },
            },
        }));
        self.next_id += 1;
    }

    fn stat(&mut self, title: &str, unit: &str, expr: &str, thresholds: &Value) {
        let pos = self.place(6);
        self.panels.push(json!({
            "type": "stat",
            "id": self.next_id,
            "title": title,
            "datasource": datasource(),
            "gridPos": pos,
            "targets": queries(&[(expr, title)]),
            "fieldConfig": {
                "defaults": {
                    "unit": unit,
                    "thresholds": thresholds.clone(),
                    "color": { "mode": "thresholds" },
                },
                "overrides": [],
            },
            "options": {
                "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                "colorMode": "background",
                "graphMode": "area",
                "justifyMode": "auto",
                "orientation": "auto",
                "textMode": "auto",
                "wideLayout": true,
                "showPercentChange": false,
                "percentChangeColorMode": "standard",
            },
        }));
        self.next_id += 1;
    }
}

fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": DATASOURCE_UID })
}

fn queries(targets: &[(&str, &str)]) -> Value {
    Value::Array(
        targets
            .iter()
            .enumerate()
            .map(|(i, (expr, legend))| {
                json!({
                    "refId": ref_id(i),
                    "datasource": datasource(),
                    "expr": expr,
                    "legendFormat": legend,
                    "range": true,
                })
            })
            .collect(),
    )
}

fn ref_id(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char::from(letters[i % 26]).to_string()
}

/// Red below `green_from`, green from it on.
fn steps(green_from: f64) -> Value {
    json!({ "mode": "absolute", "steps": [
        { "color": "red", "value": null },
        { "color": "green", "value": green_from },
    ]})
}

/// The dashboard's uid: the system's name, cut to Grafana's 40 characters.
pub fn uid(system: &str) -> String {
    let mut uid: String = format!("v5c-{system}");
    uid.truncate(40);
    uid
}

fn has(facts: &Facts, metric: &str) -> bool {
    facts.metrics.iter().any(|m| m.name == metric)
}

pub fn dashboard(ir: &Ir, facts: &Facts) -> Value {
    let mut l = Layout {
        panels: Vec::new(),
        next_id: 1,
        y: 0,
        x: 0,
    };
    let rate = "$__rate_interval";

    if !ir.slos.is_empty() {
        l.row("Service level objectives");
        for slo in ir.slos.values() {
            let by_slo = |record: &str| selector(record, &[Matcher::Eq("slo", slo.name.clone())]);
            match slo.indicator {
                Indicator::Throughput => l.stat(
                    &format!(
                        "{}: per second now (objective {})",
                        slo.text,
                        super::promql::number(slo.objective.value)
                    ),
                    "short",
                    &by_slo("slo:throughput:rate5m"),
                    &steps(slo.objective.value),
                ),
                _ => l.stat(
                    &format!("{}: error budget left", slo.text),
                    "percentunit",
                    &by_slo("slo:error_budget:remaining_ratio"),
                    &steps(0.0),
                ),
            }
        }
    }

    for component in ir.components.values() {
        let name = component.name.clone();
        match &component.kind {
            ComponentKind::Api { .. } | ComponentKind::Source { .. }
                if component.kind.serves_http() =>
            {
                l.row(&format!("{} `{name}`", component.kind_name()));
                let all = selector(
                    "http_requests_total",
                    &[Matcher::Eq("component", name.clone())],
                );
                let errors = selector(
                    "http_requests_total",
                    &[
                        Matcher::Eq("component", name.clone()),
                        Matcher::Re("status", "5..".into()),
                    ],
                );
                let buckets = selector(
                    "http_request_duration_seconds_bucket",
                    &[Matcher::Eq("component", name.clone())],
                );
                let rate_q = format!("sum by (route, method) (rate({all}[{rate}]))");
                let err_q = format!("sum by (route, method) (rate({errors}[{rate}]))");
                let p = |q: f64| {
                    format!("histogram_quantile({q}, sum by (le, route) (rate({buckets}[{rate}])))")
                };
                let (p50, p95, p99) = (p(0.5), p(0.95), p(0.99));
                l.timeseries("Requests", "reqps", &[(&rate_q, "{{method}} {{route}}")]);
                l.timeseries(
                    "Latency",
                    "s",
                    &[
                        (&p50, "p50 {{route}}"),
                        (&p95, "p95 {{route}}"),
                        (&p99, "p99 {{route}}"),
                    ],
                );
                l.timeseries("Errors (5xx)", "reqps", &[(&err_q, "{{method}} {{route}}")]);
            }
            ComponentKind::Store { database, .. } => {
                let batches = has(facts, "store_batch_duration_seconds");
                let pool = has(facts, "db_pool_connections");
                if !batches && !pool {
                    continue;
                }
                l.row(&format!("store `{name}`"));
                if batches {
                    let d = selector(
                        "store_batch_duration_seconds_bucket",
                        &[Matcher::Eq("store", name.clone())],
                    );
                    let sz_sum = selector(
                        "store_batch_size_sum",
                        &[Matcher::Eq("store", name.clone())],
                    );
                    let sz_count = selector(
                        "store_batch_size_count",
                        &[Matcher::Eq("store", name.clone())],
                    );
                    let p99 = format!("histogram_quantile(0.99, sum by (le) (rate({d}[{rate}])))");
                    let p50 = format!("histogram_quantile(0.5, sum by (le) (rate({d}[{rate}])))");
                    let size =
                        format!("sum(rate({sz_sum}[{rate}])) / sum(rate({sz_count}[{rate}]))");
                    l.timeseries(
                        "Insert latency (per batch)",
                        "s",
                        &[(&p50, "p50"), (&p99, "p99")],
                    );
                    l.timeseries("Batch size (rows)", "short", &[(&size, "mean")]);
                }
                if pool {
                    let c = selector(
                        "db_pool_connections",
                        &[Matcher::Eq("database", database.name.clone())],
                    );
                    let m = selector(
                        "db_pool_max_connections",
                        &[Matcher::Eq("database", database.name.clone())],
                    );
                    let used = format!("sum by (job, state) ({c})");
                    let max = format!("sum by (job) ({m})");
                    l.timeseries(
                        &format!("Pool use (database `{}`)", database.name),
                        "short",
                        &[(&used, "{{job}} {{state}}"), (&max, "{{job}} max")],
                    );
                }
            }
            ComponentKind::Transformer if has(facts, "component_errors_total") => {
                l.row(&format!("transformer `{name}`"));
                let by = [Matcher::Eq("component", name.clone())];
                let received = selector("component_received_total", &by);
                let emitted = selector("component_emitted_total", &by);
                let errors = selector("component_errors_total", &by);
                let r = format!("sum(rate({received}[{rate}]))");
                let e = format!("sum by (port) (rate({emitted}[{rate}]))");
                let x = format!("sum(rate({errors}[{rate}]))");
                l.timeseries(
                    "Messages per second",
                    "short",
                    &[(&r, "received"), (&e, "emitted on {{port}}")],
                );
                l.timeseries("Errors per second", "short", &[(&x, "errors")]);
            }
            // A source running its own loop: what it emits.
            ComponentKind::Source { .. } if has(facts, "component_emitted_total") => {
                l.row(&format!("source `{name}`"));
                let by = [Matcher::Eq("component", name.clone())];
                let emitted = selector("component_emitted_total", &by);
                let e = format!("sum by (port) (rate({emitted}[{rate}]))");
                l.timeseries(
                    "Messages per second",
                    "short",
                    &[(&e, "emitted on {{port}}")],
                );
            }
            ComponentKind::Sink { .. } if has(facts, "sink_delivered_total") => {
                l.row(&format!("sink `{name}`"));
                let by = [Matcher::Eq("sink", name.clone())];
                let delivered = selector("sink_delivered_total", &by);
                let failed = selector("sink_failures_total", &by);
                let d = format!("sum(rate({delivered}[{rate}]))");
                let f = format!("sum(rate({failed}[{rate}]))");
                l.timeseries(
                    "Deliveries per second",
                    "short",
                    &[(&d, "delivered"), (&f, "failed")],
                );
            }
            _ => {}
        }
    }

    if has(facts, "flow_messages_total") && !ir.flows.is_empty() {
        l.row("Flows");
        for flow in ir.flows.values() {
            let label = flow_label(flow);
            let m = selector("flow_messages_total", &[Matcher::Eq("flow", label.clone())]);
            let d = selector("flow_depth", &[Matcher::Eq("flow", label.clone())]);
            let c = selector("flow_capacity", &[Matcher::Eq("flow", label.clone())]);
            let dropped = selector(
                "component_dropped_total",
                &[Matcher::Eq("component", flow.to.component.name.clone())],
            );
            let through = format!("sum(rate({m}[{rate}]))");
            let depth = format!("sum({d})");
            let cap = format!("sum({c})");
            let drops = format!("sum by (reason) (rate({dropped}[{rate}]))");
            l.timeseries(
                &format!("{label}: throughput"),
                "short",
                &[(&through, "messages/s")],
            );
            l.timeseries(
                &format!("{label}: backlog"),
                "short",
                &[(&depth, "waiting"), (&cap, "capacity")],
            );
            l.timeseries(
                &format!("{}: dropped", flow.to.component.name),
                "short",
                &[(&drops, "{{reason}}")],
            );
        }
    }

    json!({
        "uid": uid(&ir.system.name),
        "title": format!("{} (v5c)", ir.system.name),
        "description": format!(
            "Generated by v5c from the spec of {}. Do not edit: `v5c build` rewrites it.",
            ir.system.name
        ),
        "tags": ["v5c", ir.system.name],
        "timezone": "utc",
        "editable": false,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": { "from": "now-6h", "to": "now" },
        "panels": l.panels,
    })
}

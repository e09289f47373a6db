//! Recording and alert rules from the spec's SLOs and from what every service needs, each
//! alert with `promtool test rules` cases: series where it must fire (and when), and series
//! where it must stay quiet.
//!
//! Ratio objectives (availability, latency) get the multi-window, multi-burn-rate alerts of
//! the Google SRE workbook (chapter 5, "Alerting on SLOs"): a page when the budget burns 14.4
//! times faster than the window allows over an hour, or 6 times over six hours; a ticket at 3
//! times over a day or once over three days. Each long window has a short one (a twelfth of
//! it) that must agree, so an alert stops soon after the burn does. Pairs whose long window
//! exceeds the SLO's window are left out. An error-rate objective is a ceiling:
//! a page when the error ratio stays above it for both five minutes and an hour. A throughput
//! objective is a capacity promise: a ticket when the component handles less than the
//! objective while it is refusing or holding back work.

use super::promql::{Matcher, duration, le, number, one_of, selector};
use crate::backends::LoweringReport;
use crate::ir::{ComponentKind, Indicator, Ir, Slo};
use crate::passes::{Facts, flow_label};
use serde::Serialize;
use std::collections::BTreeMap;

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Budget burn alerts: (severity, long window, short window, burn rate). A burn rate of 1
/// spends the budget exactly over the SLO's window; 14.4 spends 2% of a 30-day budget in an
/// hour.
const BURNS: [(Severity, u64, u64, f64); 4] = [
    (Severity::Page, HOUR, 5 * MINUTE, 14.4),
    (Severity::Page, 6 * HOUR, 30 * MINUTE, 6.0),
    (Severity::Ticket, DAY, 2 * HOUR, 3.0),
    (Severity::Ticket, 3 * DAY, 6 * HOUR, 1.0),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Page,
    Ticket,
}

#[derive(Debug, Serialize)]
pub struct Group {
    pub name: String,
    /// Where the group comes from, for the comment above it.
    pub source: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
pub struct Rule {
    pub record: Option<String>,
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// For the runbook: what to look at and do.
    #[serde(skip)]
    pub actions: Vec<String>,
}

/// One `promtool test rules` case.
#[derive(Debug, Serialize)]
pub struct TestCase {
    pub name: String,
    pub input_series: Vec<Series>,
    pub alert_rule_test: Vec<AlertCheck>,
}

#[derive(Debug, Serialize)]
pub struct Series {
    pub series: String,
    pub values: String,
}

#[derive(Debug, Serialize)]
pub struct AlertCheck {
    pub eval_time: String,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Serialize)]
pub struct ExpAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub exp_annotations: BTreeMap<String, String>,
}

/// What the rules file and its tests hold.
#[derive(Debug, Default, Serialize)]
pub struct Rules {
    pub groups: Vec<Group>,
    pub tests: Vec<TestCase>,
}

/// How an alert is proven: the series that break it and the series that keep it quiet, the
/// labels the alert then carries, and when it fires.
struct Proof {
    broken: Vec<Series>,
    holding: Vec<Series>,
    /// Labels of the firing alert besides alertname and the rule's own labels.
    labels: BTreeMap<String, String>,
    /// When the expression first holds on the broken series (ms from the start).
    true_from: u64,
}

/// Test series advance one sample a minute for this many minutes.
const STEPS: u64 = 120;

fn counter(series: String, per_minute: f64) -> Series {
    Series {
        series,
        values: format!("0+{}x{STEPS}", number(per_minute)),
    }
}

fn gauge(series: String, value: f64) -> Series {
    Series {
        series,
        values: format!("{}x{STEPS}", number(value)),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `{k="v",…}` for a test series.
fn series(metric: &str, pairs: &[(&str, &str)]) -> String {
    let matchers: Vec<Matcher<'_>> = pairs
        .iter()
        .map(|(k, v)| Matcher::Eq(k, (*v).to_owned()))
        .collect();
    selector(metric, &matchers)
}

/// The SLI of a ratio objective: its error ratio over a window, as PromQL, and test series
/// with a given error ratio.
struct RatioSli {
    error_ratio: Box<dyn Fn(&str) -> String>,
    series_with: Box<dyn Fn(f64) -> Vec<Series>>,
    /// The share of events that may fail.
    budget: f64,
}

/// Requests per minute in test series.
const TEST_RATE: f64 = 1200.0;

fn ratio_sli(ir: &Ir, slo: &Slo) -> Option<RatioSli> {
    let component = &ir.components[slo.component.try_id()?];
    let name = component.name.clone();
    let http = matches!(
        component.kind,
        ComponentKind::Api { .. } | ComponentKind::Source { .. }
    );
    match (slo.indicator, &component.kind) {
        (Indicator::Availability | Indicator::ErrorRate, _) if http => {
            let budget = match slo.indicator {
                Indicator::Availability => 1.0 - slo.objective.value / 100.0,
                _ => slo.objective.value / 100.0,
            };
            let n = name.clone();
            Some(RatioSli {
                error_ratio: Box::new(move |w| {
                    let all = selector(
                        "http_requests_total",
                        &[Matcher::Eq("component", n.clone())],
                    );
                    let bad = selector(
                        "http_requests_total",
                        &[
                            Matcher::Eq("component", n.clone()),
                            Matcher::Re("status", "5..".into()),
                        ],
                    );
                    format!("sum(rate({bad}[{w}])) / sum(rate({all}[{w}]))")
                }),
                series_with: Box::new(move |ratio| {
                    let route = "/test";
                    vec![
                        counter(
                            series(
                                "http_requests_total",
                                &[
                                    ("component", &name),
                                    ("route", route),
                                    ("method", "GET"),
                                    ("status", "200"),
                                ],
                            ),
                            TEST_RATE * (1.0 - ratio),
                        ),
                        counter(
                            series(
                                "http_requests_total",
                                &[
                                    ("component", &name),
                                    ("route", route),
                                    ("method", "GET"),
                                    ("status", "503"),
                                ],
                            ),
                            TEST_RATE * ratio,
                        ),
                    ]
                }),
                budget,
            })
        }
        (Indicator::Latency { percentile }, kind) => {
            let (metric, label) = match kind {
                ComponentKind::Store { .. } => ("store_batch_duration_seconds", "store"),
                _ => ("http_request_duration_seconds", "component"),
            };
            let threshold = slo.objective.value;
            let n = name.clone();
            Some(RatioSli {
                error_ratio: Box::new(move |w| {
                    let good = selector(
                        &format!("{metric}_bucket"),
                        &[Matcher::Eq(label, n.clone()), le(threshold)],
                    );
                    let all =
                        selector(&format!("{metric}_count"), &[Matcher::Eq(label, n.clone())]);
                    format!("1 - sum(rate({good}[{w}])) / sum(rate({all}[{w}]))")
                }),
                series_with: Box::new(move |ratio| {
                    let le_value = crate::passes::le_label(threshold);
                    let mut base: Vec<(&str, &str)> = vec![(label, &name)];
                    if label == "component" {
                        base.extend([("route", "/test"), ("method", "GET"), ("status", "200")]);
                    }
                    let mut bucket = base.clone();
                    bucket.push(("le", &le_value));
                    vec![
                        counter(
                            series(&format!("{metric}_bucket"), &bucket),
                            TEST_RATE * (1.0 - ratio),
                        ),
                        counter(series(&format!("{metric}_count"), &base), TEST_RATE),
                    ]
                }),
                budget: 1.0 - percentile / 100.0,
            })
        }
        (Indicator::ErrorRate, kind) => {
            // (failures, the events they are a share of: [(metric, counted as failure?)])
            let (label, bad, others): (&str, &str, &[&str]) = match kind {
                ComponentKind::Transformer => ("component", "component_errors_total", &[]),
                ComponentKind::Store { .. } => (
                    "store",
                    "store_write_failures_total",
                    &["store_batch_duration_seconds_count"],
                ),
                ComponentKind::Sink { .. } => {
                    ("sink", "sink_failures_total", &["sink_delivered_total"])
                }
                _ => return None,
            };
            let n = name.clone();
            let budget = slo.objective.value / 100.0;
            Some(RatioSli {
                error_ratio: Box::new(move |w| {
                    let failed = format!(
                        "sum(rate({}[{w}]))",
                        selector(bad, &[Matcher::Eq(label, n.clone())])
                    );
                    if others.is_empty() {
                        // A transformer counts every message it receives.
                        let all = selector(
                            "component_received_total",
                            &[Matcher::Eq("component", n.clone())],
                        );
                        format!("{failed} / sum(rate({all}[{w}]))")
                    } else {
                        let ok = format!(
                            "sum(rate({}[{w}]))",
                            selector(others[0], &[Matcher::Eq(label, n.clone())])
                        );
                        format!("{failed} / ({failed} + {ok})")
                    }
                }),
                series_with: Box::new(move |ratio| {
                    if others.is_empty() {
                        vec![
                            counter(series(bad, &[(label, &name)]), TEST_RATE * ratio),
                            counter(
                                series("component_received_total", &[("component", &name)]),
                                TEST_RATE,
                            ),
                        ]
                    } else {
                        vec![
                            counter(series(bad, &[(label, &name)]), TEST_RATE * ratio),
                            counter(
                                series(others[0], &[(label, &name)]),
                                TEST_RATE * (1.0 - ratio),
                            ),
                        ]
                    }
                }),
                budget,
            })
        }
        _ => None,
    }
}

fn camel(name: &str) -> String {
    name.split(['_', '-', '.'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn rule_labels(
    system: &str,
    severity: Severity,
    extra: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut l = labels(extra);
    l.insert("system".into(), system.into());
    l.insert(
        "severity".into(),
        match severity {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
        .into(),
    );
    l
}

fn annotations(alert: &str, summary: String, description: String) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("summary".into(), summary);
    a.insert("description".into(), description);
    a.insert(
        "runbook_url".into(),
        format!("RUNBOOK.md#{}", alert.to_lowercase()),
    );
    a
}

/// Fills `{{ $labels.NAME }}` from the alert's labels, as Prometheus will.
fn render(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut text = template.to_owned();
    for (k, v) in labels {
        text = text.replace(&format!("{{{{ $labels.{k} }}}}"), v);
    }
    text
}

fn minutes(ms: u64) -> String {
    duration(ms)
}

/// Builds the checks of one alert: quiet a minute before it is due, firing when due (the
/// expression held for `for`), and quiet all along on the holding series.
fn prove(rules: &mut Rules, rule: &Rule, proof: Proof) {
    let alert = rule.alert.clone().expect("an alert");
    let for_ms = rule.for_.as_deref().map_or(0, parse_minutes);
    let due = proof.true_from + for_ms;
    let mut all_labels = rule.labels.clone();
    all_labels.extend(proof.labels);
    all_labels.insert("alertname".into(), alert.clone());
    let exp_annotations = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), render(v, &all_labels)))
        .collect();
    all_labels.remove("alertname");
    let firing = ExpAlert {
        exp_labels: all_labels,
        exp_annotations,
    };
    let mut checks = Vec::new();
    if due >= MINUTE {
        checks.push(AlertCheck {
            eval_time: minutes(due - MINUTE),
            alertname: alert.clone(),
            exp_alerts: vec![],
        });
    }
    checks.push(AlertCheck {
        eval_time: minutes(due.max(MINUTE)),
        alertname: alert.clone(),
        exp_alerts: vec![firing],
    });
    rules.tests.push(TestCase {
        name: format!("{alert} fires at {} when broken", minutes(due.max(MINUTE))),
        input_series: proof.broken,
        alert_rule_test: checks,
    });
    rules.tests.push(TestCase {
        name: format!("{alert} stays quiet when the objective holds"),
        input_series: proof.holding,
        alert_rule_test: vec![AlertCheck {
            eval_time: minutes(STEPS * MINUTE),
            alertname: alert,
            exp_alerts: vec![],
        }],
    });
}

fn parse_minutes(text: &str) -> u64 {
    text.strip_suffix('m')
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(0, |n| n * MINUTE)
}

/// Every rule group and test case for the system.
pub fn rules(ir: &Ir, facts: &Facts, report: &mut LoweringReport) -> Rules {
    let mut out = Rules::default();
    let system = ir.system.name.as_str();
    for slo in ir.slos.values() {
        slo_rules(ir, slo, system, &mut out, report);
    }
    base_rules(ir, facts, system, &mut out);
    out
}

fn slo_rules(ir: &Ir, slo: &Slo, system: &str, out: &mut Rules, report: &mut LoweringReport) {
    let Some(component_id) = slo.component.try_id() else {
        return;
    };
    let component = &ir.components[component_id];
    let sl = |extra: &[(&str, &str)]| {
        let mut l = labels(&[("slo", &slo.name), ("component", &component.name)]);
        l.extend(labels(extra));
        l
    };
    let mut group = Group {
        name: format!("slo:{}", slo.name),
        source: format!("observe.slos: `{}`", slo.text),
        rules: Vec::new(),
    };
    let slo_sel = |record: &str| selector(record, &[Matcher::Eq("slo", slo.name.clone())]);
    let base = camel(&slo.name);

    if slo.indicator == Indicator::Throughput {
        throughput_rules(ir, slo, system, &mut group, out, &base);
        out.groups.push(group);
        return;
    }
    let Some(sli) = ratio_sli(ir, slo) else {
        return;
    };
    // The windows the alerts and the budget need, shortest first.
    let mut windows: Vec<u64> = if slo.indicator == Indicator::ErrorRate {
        // The ceiling alert's two windows.
        vec![5 * MINUTE, HOUR]
    } else {
        BURNS
            .iter()
            .filter(|b| b.1 <= slo.window_ms)
            .flat_map(|b| [b.1, b.2])
            .collect()
    };
    windows.push(slo.window_ms);
    windows.sort_unstable();
    windows.dedup();
    for w in &windows {
        group.rules.push(Rule {
            record: Some(format!("slo:sli_error:ratio_rate{}", duration(*w))),
            alert: None,
            expr: (sli.error_ratio)(&duration(*w)),
            for_: None,
            labels: sl(&[]),
            annotations: BTreeMap::new(),
            actions: vec![],
        });
    }
    group.rules.push(Rule {
        record: Some("slo:objective:ratio".into()),
        alert: None,
        expr: format!("vector({})", number(1.0 - sli.budget)),
        for_: None,
        labels: sl(&[]),
        annotations: BTreeMap::new(),
        actions: vec![],
    });
    group.rules.push(Rule {
        record: Some("slo:error_budget:remaining_ratio".into()),
        alert: None,
        expr: format!(
            "1 - {} / {}",
            slo_sel(&format!(
                "slo:sli_error:ratio_rate{}",
                duration(slo.window_ms)
            )),
            number(sli.budget)
        ),
        for_: None,
        labels: sl(&[]),
        annotations: BTreeMap::new(),
        actions: vec![],
    });

    let threshold = format!("{}ms", number(slo.objective.value * 1000.0));
    let what = match (slo.indicator, &component.kind) {
        (Indicator::Latency { .. }, ComponentKind::Store { .. }) => {
            format!(
                "batches written by `{}` slower than {threshold}",
                component.name
            )
        }
        (Indicator::Latency { .. }, _) => {
            format!("requests to `{}` slower than {threshold}", component.name)
        }
        _ => format!("failed requests to `{}`", component.name),
    };
    if slo.indicator == Indicator::ErrorRate {
        // A ceiling: above it for five minutes and for an hour.
        let ceiling = sli.budget;
        let alert = format!("{base}AboveCeiling");
        let rule = Rule {
            record: None,
            alert: Some(alert.clone()),
            expr: format!(
                "{} > {c} and {} > {c}",
                slo_sel("slo:sli_error:ratio_rate5m"),
                slo_sel("slo:sli_error:ratio_rate1h"),
                c = number(ceiling)
            ),
            for_: Some("5m".into()),
            labels: rule_labels(system, Severity::Page, &[]),
            annotations: annotations(
                &alert,
                format!("{}: error rate above {}%", component.name, number(slo.objective.value)),
                format!(
                    "More than {}% of what `{}` handled failed over the last 5 minutes and the last hour (objective: `{}`).",
                    number(slo.objective.value),
                    component.name,
                    slo.text
                ),
            ),
            actions: vec![
                format!("Look at the errors `{}` logs, and at its dashboard row.", component.name),
                "Check the database and any service it calls; roll back a recent deploy if the errors began with it.".into(),
            ],
        };
        let proof = Proof {
            broken: (sli.series_with)((ceiling * 1.1).min(1.0)),
            holding: (sli.series_with)(ceiling * 0.9),
            labels: sl(&[]),
            true_from: MINUTE,
        };
        prove(out, &rule, proof);
        group.rules.push(rule);
        out.groups.push(group);
        return;
    }

    for severity in [Severity::Page, Severity::Ticket] {
        let alert = format!(
            "{base}{}",
            match severity {
                Severity::Page => "BudgetBurnFast",
                Severity::Ticket => "BudgetBurnSlow",
            }
        );
        let subject = format!("slo {}", slo.name);
        let mut pairs = Vec::new();
        for &(_, long, short, factor) in BURNS.iter().filter(|b| b.0 == severity) {
            let pair = format!(
                "{}/{} windows at {}×",
                duration(long),
                duration(short),
                number(factor)
            );
            if long > slo.window_ms {
                report.approximated(
                    &subject,
                    format!(
                        "`{alert}` leaves out its {pair} burn: longer than the SLO's {} window",
                        duration(slo.window_ms)
                    ),
                );
            } else if factor * sli.budget >= 1.0 {
                report.approximated(
                    &subject,
                    format!(
                        "`{alert}` leaves out its {pair} burn: with a {}% error budget no error ratio reaches it",
                        number(sli.budget * 100.0)
                    ),
                );
            } else {
                pairs.push((long, short, factor));
            }
        }
        if pairs.is_empty() {
            report.dropped(
                &subject,
                format!("no `{alert}` alert: none of its burn rates applies"),
            );
            continue;
        }
        let lowest = pairs.iter().map(|p| p.2).fold(f64::INFINITY, f64::min);
        let expr = pairs
            .iter()
            .map(|(long, short, factor)| {
                format!(
                    "({} > ({} * {b}) and {} > ({} * {b}))",
                    slo_sel(&format!("slo:sli_error:ratio_rate{}", duration(*long))),
                    number(*factor),
                    slo_sel(&format!("slo:sli_error:ratio_rate{}", duration(*short))),
                    number(*factor),
                    b = number(sli.budget)
                )
            })
            .collect::<Vec<_>>()
            .join(" or ");
        let (for_, speed) = match severity {
            Severity::Page => ("2m", "fast"),
            Severity::Ticket => ("15m", "steadily"),
        };
        let rule = Rule {
            record: None,
            alert: Some(alert.clone()),
            expr,
            for_: Some(for_.into()),
            labels: rule_labels(system, severity, &[]),
            annotations: annotations(
                &alert,
                format!(
                    "{}: error budget of `{}` burning {speed}",
                    component.name, slo.text
                ),
                format!(
                    "{} are using up the {} error budget of `{}` {speed}: at this rate it is gone well before the window ends.",
                    capitalise(&what),
                    duration(slo.window_ms),
                    slo.text
                ),
            ),
            actions: vec![
                format!(
                    "Open the dashboard's SLO row for `{}` and the rows of `{}`.",
                    slo.name, component.name
                ),
                "Find what changed: a deploy, a database slowdown, a surge of traffic.".into(),
                "Mitigate first (roll back, scale out), then look for the cause.".into(),
            ],
        };
        // A tenth above the slowest burn breaks it, a tenth below does not: the test pins
        // that threshold from both sides.
        let proof = Proof {
            broken: (sli.series_with)((lowest * sli.budget * 1.1).min(1.0)),
            holding: (sli.series_with)(lowest * sli.budget * 0.9),
            labels: sl(&[]),
            true_from: MINUTE,
        };
        prove(out, &rule, proof);
        group.rules.push(rule);
    }
    out.groups.push(group);
}

fn capitalise(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn throughput_rules(
    ir: &Ir,
    slo: &Slo,
    system: &str,
    group: &mut Group,
    out: &mut Rules,
    base: &str,
) {
    let Some(id) = slo.component.try_id() else {
        return;
    };
    let component = &ir.components[id];
    let name = component.name.clone();
    let (metric, label) = match &component.kind {
        ComponentKind::Api { .. } => ("http_requests_total", "component"),
        ComponentKind::Source { .. } => ("component_emitted_total", "component"),
        ComponentKind::Transformer => ("component_received_total", "component"),
        ComponentKind::Store { .. } => ("store_rows_written_total", "store"),
        ComponentKind::Sink { .. } => ("sink_delivered_total", "sink"),
    };
    let rate_sel = selector(metric, &[Matcher::Eq(label, name.clone())]);
    let sl = labels(&[("slo", &slo.name), ("component", &name)]);
    group.rules.push(Rule {
        record: Some("slo:throughput:rate5m".into()),
        alert: None,
        expr: format!("sum(rate({rate_sel}[5m]))"),
        for_: None,
        labels: sl.clone(),
        annotations: BTreeMap::new(),
        actions: vec![],
    });
    // What says the component is refusing or holding back work, and series for it.
    let inputs: Vec<String> = ir
        .flows
        .values()
        .filter(|f| f.to.component.try_id() == Some(id))
        .map(flow_label)
        .collect();
    let capacity = ir
        .flows
        .values()
        .find(|f| f.to.component.try_id() == Some(id))
        .map_or(1, |f| f.capacity);
    let (saturated, saturation_series, why): (String, Vec<Series>, &str) = match &component.kind {
        ComponentKind::Api { .. } => (
            format!(
                "sum(rate({}[5m])) > 0",
                selector(
                    "http_requests_total",
                    &[
                        Matcher::Eq("component", name.clone()),
                        Matcher::Re("status", "429|503".into())
                    ]
                )
            ),
            vec![counter(
                series(
                    "http_requests_total",
                    &[
                        ("component", &name),
                        ("route", "/test"),
                        ("method", "GET"),
                        ("status", "503"),
                    ],
                ),
                60.0,
            )],
            "while it answers 429 or 503",
        ),
        ComponentKind::Source { .. } => (
            format!(
                "sum(rate({}[5m])) > 0",
                selector(
                    "ingest_rejected_total",
                    &[
                        Matcher::Eq("source", name.clone()),
                        Matcher::Eq("reason", "full".into())
                    ]
                )
            ),
            vec![counter(
                series(
                    "ingest_rejected_total",
                    &[("source", &name), ("reason", "full")],
                ),
                60.0,
            )],
            "while it refuses events because its flow is full",
        ),
        _ if !inputs.is_empty() => (
            format!(
                "max({} / {}) >= 0.9",
                selector("flow_depth", &[Matcher::Re("flow", one_of(&inputs))]),
                selector("flow_capacity", &[Matcher::Re("flow", one_of(&inputs))])
            ),
            vec![
                gauge(
                    series("flow_depth", &[("flow", &inputs[0])]),
                    f64::from(capacity),
                ),
                gauge(
                    series("flow_capacity", &[("flow", &inputs[0])]),
                    f64::from(capacity),
                ),
            ],
            "while the flow into it is at least 90% full",
        ),
        _ => return,
    };
    let alert = format!("{base}BelowObjective");
    let objective = slo.objective.value;
    let rule = Rule {
        record: None,
        alert: Some(alert.clone()),
        expr: format!(
            "{} < {} and on() ({saturated})",
            selector(
                "slo:throughput:rate5m",
                &[Matcher::Eq("slo", slo.name.clone())]
            ),
            number(objective)
        ),
        for_: Some("10m".into()),
        labels: rule_labels(system, Severity::Ticket, &[]),
        annotations: annotations(
            &alert,
            format!("{name}: below its throughput objective and saturated"),
            format!(
                "`{name}` handles fewer than {}/s {why}: it cannot keep the promise of `{}`.",
                number(objective),
                slo.text
            ),
        ),
        actions: vec![
            format!("Check CPU and memory of the service running `{name}`, and scale it out."),
            "Check the database's latency and pool use on the dashboard.".into(),
        ],
    };
    let per_minute = objective * 60.0 / 2.0;
    let mut broken = vec![counter(series(metric, &[(label, &name)]), per_minute)];
    broken.extend(saturation_series);
    let holding = vec![counter(series(metric, &[(label, &name)]), per_minute)];
    prove(
        out,
        &rule,
        Proof {
            broken,
            holding,
            labels: sl,
            true_from: MINUTE,
        },
    );
    group.rules.push(rule);
}

fn has_metric(facts: &Facts, name: &str) -> bool {
    facts.metrics.iter().any(|m| m.name == name)
}

/// What every system needs, whatever its SLOs: targets up, databases reachable and their
/// pools not exhausted, flows not backing up, stores and sinks not failing.
fn base_rules(ir: &Ir, facts: &Facts, system: &str, out: &mut Rules) {
    let mut group = Group {
        name: format!("{system}:health"),
        source: "what every service needs".into(),
        rules: Vec::new(),
    };
    let mut add = |out: &mut Rules, rule: Rule, proof: Proof| {
        prove(out, &rule, proof);
        group.rules.push(rule);
    };

    let mut jobs: Vec<(String, String)> = facts
        .deploy
        .services
        .iter()
        .map(|s| (s.name.clone(), format!("{}:{}", s.host, s.port)))
        .collect();
    jobs.extend(
        facts
            .deploy
            .exporters
            .iter()
            .map(|e| (e.host.clone(), format!("{}:{}", e.host, e.port))),
    );
    if let Some((job, instance)) = jobs.first() {
        let names: Vec<String> = jobs.iter().map(|j| j.0.clone()).collect();
        let alert = "TargetDown".to_owned();
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!("{} == 0", selector("up", &[Matcher::Re("job", one_of(&names))])),
                for_: Some("2m".into()),
                labels: rule_labels(system, Severity::Page, &[]),
                annotations: annotations(
                    &alert,
                    "{{ $labels.job }} is down".into(),
                    "Prometheus has not scraped {{ $labels.job }} at {{ $labels.instance }} for 2 minutes: the process is gone, or cannot be reached.".into(),
                ),
                actions: vec![
                    "Check that the container or pod is running, and read its last logs.".into(),
                    "If it restarts in a loop, look for a configuration error at start-up (it names the variable at fault).".into(),
                ],
            },
            Proof {
                broken: vec![gauge(series("up", &[("job", job), ("instance", instance)]), 0.0)],
                holding: vec![gauge(series("up", &[("job", job), ("instance", instance)]), 1.0)],
                labels: labels(&[("job", job), ("instance", instance)]),
                true_from: 0,
            },
        );
    }

    if has_metric(facts, "db_up") {
        let db = ir
            .databases
            .values()
            .next()
            .map_or("main", |d| d.name.as_str());
        let alert = "DatabaseUnreachable".to_owned();
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!("{} == 0", selector("db_up", &[])),
                for_: Some("1m".into()),
                labels: rule_labels(system, Severity::Page, &[]),
                annotations: annotations(
                    &alert,
                    "{{ $labels.job }} cannot reach database {{ $labels.database }}".into(),
                    "{{ $labels.job }} has not reached database {{ $labels.database }} for a minute; it answers 503 on its readiness probe until it can.".into(),
                ),
                actions: vec![
                    "Check the database is running and accepts connections with the service's credentials.".into(),
                    "Check the network policy and the database URL the service was given.".into(),
                ],
            },
            Proof {
                broken: vec![gauge(series("db_up", &[("job", "svc"), ("database", db)]), 0.0)],
                holding: vec![gauge(series("db_up", &[("job", "svc"), ("database", db)]), 1.0)],
                labels: labels(&[("job", "svc"), ("database", db)]),
                true_from: 0,
            },
        );
        let alert = "DatabasePoolSaturated".to_owned();
        let in_use = selector(
            "db_pool_connections",
            &[Matcher::Eq("state", "in_use".into())],
        );
        let max = selector("db_pool_max_connections", &[]);
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!(
                    "max by (job, database) ({in_use}) / max by (job, database) ({max}) >= 0.9"
                ),
                for_: Some("5m".into()),
                labels: rule_labels(system, Severity::Ticket, &[]),
                annotations: annotations(
                    &alert,
                    "{{ $labels.job }}: pool for {{ $labels.database }} at least 90% in use".into(),
                    "{{ $labels.job }} has had at least 90% of its connections to {{ $labels.database }} in use for 5 minutes; requests will soon wait for connections.".into(),
                ),
                actions: vec![
                    "Look for slow queries on the database, and for a surge of requests.".into(),
                    "Raise `pool.max` in the spec if the database has room for more connections.".into(),
                ],
            },
            Proof {
                broken: vec![
                    gauge(series("db_pool_connections", &[("job", "svc"), ("database", db), ("state", "in_use")]), 10.0),
                    gauge(series("db_pool_max_connections", &[("job", "svc"), ("database", db)]), 10.0),
                ],
                holding: vec![
                    gauge(series("db_pool_connections", &[("job", "svc"), ("database", db), ("state", "in_use")]), 3.0),
                    gauge(series("db_pool_max_connections", &[("job", "svc"), ("database", db)]), 10.0),
                ],
                labels: labels(&[("job", "svc"), ("database", db)]),
                true_from: 0,
            },
        );
        let alert = "DatabasePoolTimeouts".to_owned();
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!(
                    "sum by (job, database) (increase({}[5m])) > 0",
                    selector("db_pool_acquire_timeouts_total", &[])
                ),
                for_: Some("1m".into()),
                labels: rule_labels(system, Severity::Page, &[]),
                annotations: annotations(
                    &alert,
                    "{{ $labels.job }}: requests time out waiting for {{ $labels.database }}".into(),
                    "{{ $labels.job }} gave up waiting for a connection to {{ $labels.database }} in the last 5 minutes: those requests failed.".into(),
                ),
                actions: vec![
                    "See DatabasePoolSaturated: the pool is exhausted.".into(),
                    "Check for long transactions or locks on the database.".into(),
                ],
            },
            Proof {
                broken: vec![counter(series("db_pool_acquire_timeouts_total", &[("job", "svc"), ("database", db)]), 2.0)],
                holding: vec![counter(series("db_pool_acquire_timeouts_total", &[("job", "svc"), ("database", db)]), 0.0)],
                labels: labels(&[("job", "svc"), ("database", db)]),
                true_from: MINUTE,
            },
        );
    }

    if has_metric(facts, "flow_depth") {
        if let Some(flow) = ir.flows.values().next() {
            let label = flow_label(flow);
            let cap = f64::from(flow.capacity);
            let alert = "FlowBacklogGrowing".to_owned();
            let depth = selector("flow_depth", &[]);
            add(
                out,
                Rule {
                    record: None,
                    alert: Some(alert.clone()),
                    expr: format!(
                        "{depth} / {} > 0.8 and deriv({depth}[10m]) >= 0",
                        selector("flow_capacity", &[])
                    ),
                    for_: Some("5m".into()),
                    labels: rule_labels(system, Severity::Ticket, &[]),
                    annotations: annotations(
                        &alert,
                        "flow {{ $labels.flow }} more than 80% full".into(),
                        "The buffer of flow {{ $labels.flow }} has been more than 80% full, and not draining, for 5 minutes: its consumer cannot keep up, and its producer will soon be held back.".into(),
                    ),
                    actions: vec![
                        "Find the consumer of the flow on the dashboard: is it failing, or slow on its database?".into(),
                        "Scale the service out, or raise the store's batch size.".into(),
                    ],
                },
                Proof {
                    broken: vec![
                        gauge(series("flow_depth", &[("flow", &label)]), cap * 0.9),
                        gauge(series("flow_capacity", &[("flow", &label)]), cap),
                    ],
                    holding: vec![
                        gauge(series("flow_depth", &[("flow", &label)]), cap * 0.1),
                        gauge(series("flow_capacity", &[("flow", &label)]), cap),
                    ],
                    labels: labels(&[("flow", &label)]),
                    true_from: MINUTE,
                },
            );
        }
        let component = ir
            .components
            .values()
            .next()
            .map_or("x", |c| c.name.as_str());
        let alert = "MessagesDropped".to_owned();
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!(
                    "sum by (job, component, reason) (increase({}[5m])) > 0",
                    selector("component_dropped_total", &[])
                ),
                for_: Some("1m".into()),
                labels: rule_labels(system, Severity::Ticket, &[]),
                annotations: annotations(
                    &alert,
                    "{{ $labels.component }} is dropping messages ({{ $labels.reason }})".into(),
                    "{{ $labels.component }} in {{ $labels.job }} dropped messages in the last 5 minutes, for the reason {{ $labels.reason }}.".into(),
                ),
                actions: vec![
                    "Read the component's logs for the dropped messages.".into(),
                    "Name a dead-letter sink in the spec so that failed messages are kept.".into(),
                ],
            },
            Proof {
                broken: vec![counter(series("component_dropped_total", &[("job", "svc"), ("component", component), ("reason", "error")]), 3.0)],
                holding: vec![counter(series("component_dropped_total", &[("job", "svc"), ("component", component), ("reason", "error")]), 0.0)],
                labels: labels(&[("job", "svc"), ("component", component), ("reason", "error")]),
                true_from: MINUTE,
            },
        );
    }

    if has_metric(facts, "store_write_failures_total") {
        let store = ir
            .components
            .values()
            .find(|c| matches!(c.kind, ComponentKind::Store { .. }))
            .map_or("store", |c| c.name.as_str());
        let alert = "StoreWriteFailures".to_owned();
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!(
                    "sum by (job, store) (increase({}[5m])) > 0",
                    selector("store_write_failures_total", &[])
                ),
                for_: Some("1m".into()),
                labels: rule_labels(system, Severity::Page, &[]),
                annotations: annotations(
                    &alert,
                    "store {{ $labels.store }} failed to write batches".into(),
                    "Store {{ $labels.store }} in {{ $labels.job }} gave up on batches in the last 5 minutes, after retries: those rows are not in the database.".into(),
                ),
                actions: vec![
                    "Read the store's logs: the database's error is there.".into(),
                    "Check the database is up, has disk space, and that the schema matches the spec (run `migrate`).".into(),
                ],
            },
            Proof {
                broken: vec![counter(series("store_write_failures_total", &[("job", "svc"), ("store", store)]), 1.0)],
                holding: vec![counter(series("store_write_failures_total", &[("job", "svc"), ("store", store)]), 0.0)],
                labels: labels(&[("job", "svc"), ("store", store)]),
                true_from: MINUTE,
            },
        );
    }

    if has_metric(facts, "sink_failures_total") {
        let sink = ir
            .components
            .values()
            .find(|c| matches!(c.kind, ComponentKind::Sink { .. }))
            .map_or("sink", |c| c.name.as_str());
        let alert = "SinkDeliveryFailures".to_owned();
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!(
                    "sum by (job, sink) (increase({}[5m])) > 0",
                    selector("sink_failures_total", &[])
                ),
                for_: Some("5m".into()),
                labels: rule_labels(system, Severity::Ticket, &[]),
                annotations: annotations(
                    &alert,
                    "sink {{ $labels.sink }} fails to deliver".into(),
                    "Sink {{ $labels.sink }} in {{ $labels.job }} has failed to deliver messages for 5 minutes.".into(),
                ),
                actions: vec!["Read the sink's logs, and check the system it delivers to.".into()],
            },
            Proof {
                broken: vec![counter(series("sink_failures_total", &[("job", "svc"), ("sink", sink)]), 1.0)],
                holding: vec![counter(series("sink_failures_total", &[("job", "svc"), ("sink", sink)]), 0.0)],
                labels: labels(&[("job", "svc"), ("sink", sink)]),
                true_from: MINUTE,
            },
        );
    }
    out.groups.push(group);
}

//! Recording and alert rules from the spec's SLOs and from what every service needs, each
//! alert with the `promtool test rules` cases that prove it (see `proofs.rs`).
//!
//! Ratio objectives (availability, latency) get the multi-window, multi-burn-rate alerts of
//! the Google SRE workbook (chapter 5, "Alerting on SLOs"): a page when the budget burns 14.4
//! times faster than the window allows over an hour, or 6 times over six hours; a ticket at 3
//! times over a day or once over three days, each long window confirmed by a short one (a
//! twelfth of it) so an alert stops soon after the burn does. Those windows are the
//! workbook's for a 30-day objective; for other windows they scale with it, as Pyrra does,
//! so each alert still means the same share of the budget spent (2%, 5%, 10%, 10%). An
//! error-rate objective is a ceiling: a page when the error ratio stays above it over both
//! five minutes and an hour. A throughput objective is a capacity promise: a ticket when the
//! component handles less than the objective while it is refusing or holding back work.

// Durations are milliseconds of at most a year and counts of test steps: far below
// 2^52, so they pass between u64 and f64 exactly.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use super::promql::{Matcher, duration, le, number, one_of, selector};
use super::proofs::{Check, MINUTE, RatioAlert, Scenario, Series, counter, gauge, ratio_scenarios};
use crate::backends::LoweringReport;
use crate::ir::{ComponentKind, Indicator, Ir, Slo};
use crate::passes::{Facts, alert_stem, flow_label};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
/// The SLO window the workbook's burn windows are given for.
const BASE_WINDOW: u64 = 30 * DAY;

/// Budget burn alerts: (severity, long window and short window for a 30-day objective, burn
/// rate). A burn rate of 1 spends the budget exactly over the SLO's window.
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

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
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

impl Rule {
    fn record(name: &str, expr: String, labels: BTreeMap<String, String>) -> Rule {
        Rule {
            record: Some(name.to_owned()),
            alert: None,
            expr,
            for_: None,
            labels,
            annotations: BTreeMap::new(),
            actions: vec![],
        }
    }
}

/// One `promtool test rules` case.
#[derive(Debug, Serialize)]
pub struct TestCase {
    pub name: String,
    pub interval: String,
    pub input_series: Vec<Series>,
    pub alert_rule_test: Vec<AlertCheck>,
    pub promql_expr_test: Vec<ExprCheck>,
}

/// An expression's value at a time: used for what no alert shows, the remaining budget.
#[derive(Debug, Serialize)]
pub struct ExprCheck {
    pub expr: String,
    pub eval_time: String,
    /// The labels of the one sample, in the exposition format.
    pub labels: String,
    pub value: f64,
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

/// The rules file and its two test files: `tests` evaluate every minute; `slow_tests`, for
/// alerts whose windows are days long, every `SLOW_STEP`.
#[derive(Debug, Default, Serialize)]
pub struct Rules {
    pub groups: Vec<Group>,
    pub tests: Vec<TestCase>,
    pub slow_tests: Vec<TestCase>,
}

pub const FAST_STEP: u64 = MINUTE;
pub const SLOW_STEP: u64 = 10 * MINUTE;

/// Requests (or events) per minute in test series.
const TEST_RATE: f64 = 1200.0;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `metric{k="v",…}` for a test series.
fn series(metric: &str, pairs: &[(&str, &str)]) -> String {
    let matchers: Vec<Matcher<'_>> = pairs
        .iter()
        .map(|(k, v)| Matcher::Eq(k, (*v).to_owned()))
        .collect();
    selector(metric, &matchers)
}

/// A counter rising `per_minute` in each segment of `(steps, per_minute)`.
fn rising(name: String, step: u64, segments: &[(u64, f64)]) -> Series {
    let minutes = step as f64 / MINUTE as f64;
    let per_step: Vec<(u64, f64)> = segments.iter().map(|&(n, r)| (n, r * minutes)).collect();
    counter(name, &per_step)
}

/// Input series for an evaluation step and segments of `(steps, error ratio)`.
type SeriesWith = dyn Fn(u64, &[(u64, f64)]) -> Vec<Series>;

/// The SLI of a ratio objective: its error ratio over a window, as PromQL, and test series
/// for segments of `(steps, error ratio)`.
struct RatioSli {
    error_ratio: Box<dyn Fn(&str) -> String>,
    series_with: Box<SeriesWith>,
    /// The share of events that may fail.
    budget: f64,
}

/// `sum(rate(x[w]))`, or 0 while `x` has no series yet (no request has failed so far).
fn failures(selector: &str, w: &str) -> String {
    format!("(sum(rate({selector}[{w}])) or vector(0))")
}

fn ratio_sli(ir: &Ir, slo: &Slo) -> Option<RatioSli> {
    let component = &ir.components[slo.component.try_id()?];
    let name = component.name.clone();
    let http = component.kind.serves_http();
    match (slo.indicator, &component.kind) {
        (Indicator::Availability | Indicator::ErrorRate, _) if http => {
            let budget = match slo.indicator {
                Indicator::Availability => (100.0 - slo.objective.value) / 100.0,
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
                    format!("{} / sum(rate({all}[{w}]))", failures(&bad, w))
                }),
                series_with: Box::new(move |step, segments| {
                    let request = |status: &str| {
                        series(
                            "http_requests_total",
                            &[
                                ("component", &name),
                                ("route", "/test"),
                                ("method", "GET"),
                                ("status", status),
                            ],
                        )
                    };
                    // Of the requests that do not fail, 5% are the client's errors (404),
                    // which are not the service's failures.
                    let share = |f: &dyn Fn(f64) -> f64| -> Vec<(u64, f64)> {
                        segments
                            .iter()
                            .map(|&(n, r)| (n, TEST_RATE * f(r)))
                            .collect()
                    };
                    vec![
                        rising(request("200"), step, &share(&|r| (1.0 - r) * 0.95)),
                        rising(request("404"), step, &share(&|r| (1.0 - r) * 0.05)),
                        rising(request("500"), step, &share(&|r| r)),
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
                series_with: Box::new(move |step, segments| {
                    let le_value = crate::passes::le_label(threshold);
                    let mut base: Vec<(&str, &str)> = vec![(label, &name)];
                    if label == "component" {
                        base.extend([("route", "/test"), ("method", "GET"), ("status", "200")]);
                    }
                    let mut bucket = base.clone();
                    bucket.push(("le", &le_value));
                    let fast: Vec<(u64, f64)> = segments
                        .iter()
                        .map(|&(n, r)| (n, TEST_RATE * (1.0 - r)))
                        .collect();
                    let steps: u64 = segments.iter().map(|s| s.0).sum();
                    vec![
                        rising(series(&format!("{metric}_bucket"), &bucket), step, &fast),
                        rising(
                            series(&format!("{metric}_count"), &base),
                            step,
                            &[(steps, TEST_RATE)],
                        ),
                    ]
                }),
                budget: (100.0 - percentile) / 100.0,
            })
        }
        (Indicator::ErrorRate, kind) => {
            // The failures, and what else counts towards the whole (a transformer's whole
            // is every message it received).
            let (label, bad, others): (&str, &str, Option<&str>) = match kind {
                ComponentKind::Transformer => ("component", "component_errors_total", None),
                ComponentKind::Store { .. } => (
                    "store",
                    "store_write_failures_total",
                    Some("store_batch_duration_seconds_count"),
                ),
                ComponentKind::Sink { .. } => {
                    ("sink", "sink_failures_total", Some("sink_delivered_total"))
                }
                _ => return None,
            };
            let n = name.clone();
            Some(RatioSli {
                error_ratio: Box::new(move |w| {
                    let failed = failures(&selector(bad, &[Matcher::Eq(label, n.clone())]), w);
                    match others {
                        None => {
                            let all = selector(
                                "component_received_total",
                                &[Matcher::Eq("component", n.clone())],
                            );
                            format!("{failed} / sum(rate({all}[{w}]))")
                        }
                        Some(ok) => {
                            let ok = format!(
                                "sum(rate({}[{w}]))",
                                selector(ok, &[Matcher::Eq(label, n.clone())])
                            );
                            format!("{failed} / ({failed} + {ok})")
                        }
                    }
                }),
                series_with: Box::new(move |step, segments| {
                    let failed: Vec<(u64, f64)> =
                        segments.iter().map(|&(n, r)| (n, TEST_RATE * r)).collect();
                    let steps: u64 = segments.iter().map(|s| s.0).sum();
                    match others {
                        None => vec![
                            rising(series(bad, &[(label, &name)]), step, &failed),
                            rising(
                                series("component_received_total", &[("component", &name)]),
                                step,
                                &[(steps, TEST_RATE)],
                            ),
                        ],
                        Some(ok) => {
                            let good: Vec<(u64, f64)> = segments
                                .iter()
                                .map(|&(n, r)| (n, TEST_RATE * (1.0 - r)))
                                .collect();
                            vec![
                                rising(series(bad, &[(label, &name)]), step, &failed),
                                rising(series(ok, &[(label, &name)]), step, &good),
                            ]
                        }
                    }
                }),
                budget: slo.objective.value / 100.0,
            })
        }
        _ => None,
    }
}

fn rule_labels(system: &str, severity: Severity) -> BTreeMap<String, String> {
    labels(&[("system", system), ("severity", severity.label())])
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

/// Adds a rule's scenarios as test cases, in the fast or the slow file.
fn prove(out: &mut Rules, rule: &Rule, scenarios: Vec<Scenario>, slow: bool) {
    let alert = rule.alert.clone().expect("an alert");
    let step = if slow { SLOW_STEP } else { FAST_STEP };
    assert!(
        !scenarios.is_empty(),
        "alert {alert} has no test: every alert must be proven"
    );
    for scenario in scenarios {
        let checks = scenario
            .checks
            .iter()
            .map(|check| AlertCheck {
                eval_time: duration(check.at_ms),
                alertname: alert.clone(),
                exp_alerts: check
                    .firing
                    .iter()
                    .map(|extra| {
                        let mut all = rule.labels.clone();
                        all.extend(extra.clone());
                        all.insert("alertname".into(), alert.clone());
                        let exp_annotations = rule
                            .annotations
                            .iter()
                            .map(|(k, v)| (k.clone(), render(v, &all)))
                            .collect();
                        all.remove("alertname");
                        ExpAlert {
                            exp_labels: all,
                            exp_annotations,
                        }
                    })
                    .collect(),
            })
            .collect();
        let case = TestCase {
            name: format!("{alert}: {}", scenario.name),
            interval: duration(step),
            input_series: scenario.series,
            alert_rule_test: checks,
            promql_expr_test: vec![],
        };
        if slow {
            out.slow_tests.push(case);
        } else {
            out.tests.push(case);
        }
    }
}

/// Every rule group and test case for the system.
pub fn rules(ir: &Ir, facts: &Facts, report: &mut LoweringReport) -> Rules {
    let mut out = Rules::default();
    let system = ir.system.name.as_str();
    let scrape = facts
        .deploy
        .monitoring
        .as_ref()
        .map_or(15_000, |m| m.scrape_interval_ms);
    for slo in ir.slos.values() {
        slo_rules(ir, slo, system, scrape, &mut out, report);
    }
    base_rules(ir, facts, system, &mut out);
    out
}

/// A 30-day window scaled to the SLO's, in whole minutes, never under `floor`.
fn scaled(ms: u64, window: u64, floor: u64) -> u64 {
    let exact = ms as f64 * window as f64 / BASE_WINDOW as f64;
    let minutes = (exact / MINUTE as f64).round().max(1.0) as u64;
    (minutes * MINUTE).max(floor)
}

fn slo_rules(
    ir: &Ir,
    slo: &Slo,
    system: &str,
    scrape: u64,
    out: &mut Rules,
    report: &mut LoweringReport,
) {
    let Some(component_id) = slo.component.try_id() else {
        return;
    };
    let component = &ir.components[component_id];
    let sl = labels(&[("slo", &slo.name), ("component", &component.name)]);
    let mut group = Group {
        name: format!("slo:{}", slo.name),
        source: format!("observe.slos: `{}`", slo.text),
        rules: Vec::new(),
    };
    let slo_sel = |record: &str| selector(record, &[Matcher::Eq("slo", slo.name.clone())]);
    let stem = alert_stem(&slo.name);

    if slo.indicator == Indicator::Throughput {
        throughput_rules(ir, slo, system, &mut group, out, &stem);
        out.groups.push(group);
        return;
    }
    let Some(sli) = ratio_sli(ir, slo) else {
        return;
    };
    // A short window holds at least four scrapes.
    let floor = (4 * scrape).div_ceil(MINUTE) * MINUTE;
    let burns: Vec<(Severity, u64, u64, f64)> = BURNS
        .iter()
        .map(|&(sev, long, short, f)| {
            let short = scaled(short, slo.window_ms, floor);
            (
                sev,
                scaled(long, slo.window_ms, 12 * short).max(short),
                short,
                f,
            )
        })
        .collect();
    let ceiling = slo.indicator == Indicator::ErrorRate;
    let mut windows: Vec<u64> = if ceiling {
        vec![5 * MINUTE, HOUR]
    } else {
        burns.iter().flat_map(|b| [b.1, b.2]).collect()
    };
    windows.push(slo.window_ms);
    windows.sort_unstable();
    windows.dedup();
    for w in &windows {
        group.rules.push(Rule::record(
            &format!("slo:sli_error:ratio_rate{}", duration(*w)),
            (sli.error_ratio)(&duration(*w)),
            sl.clone(),
        ));
    }
    group.rules.push(Rule::record(
        "slo:objective:ratio",
        format!("vector({})", number(1.0 - sli.budget)),
        sl.clone(),
    ));
    group.rules.push(Rule::record(
        "slo:error_budget:remaining_ratio",
        format!(
            "1 - {} / {}",
            slo_sel(&format!(
                "slo:sli_error:ratio_rate{}",
                duration(slo.window_ms)
            )),
            number(sli.budget)
        ),
        sl.clone(),
    ));
    let series_with = |step: u64| {
        let f = &sli.series_with;
        move |segments: &[(u64, f64)]| f(step, segments)
    };

    // An hour at half the budget's error ratio leaves half the budget: nothing else before it
    // in the window, and the window's ratio is the hour's.
    let remaining = selector(
        "slo:error_budget:remaining_ratio",
        &[Matcher::Eq("slo", slo.name.clone())],
    );
    out.tests.push(TestCase {
        name: format!(
            "{}: an hour at half the error budget leaves half of it",
            slo.name
        ),
        interval: duration(FAST_STEP),
        input_series: (sli.series_with)(FAST_STEP, &[(60, sli.budget / 2.0)]),
        alert_rule_test: vec![],
        promql_expr_test: vec![ExprCheck {
            expr: format!("abs({remaining} - 0.5) < bool 0.000001"),
            eval_time: duration(HOUR),
            labels: format!(
                "{{component={},slo={}}}",
                super::promql::quote(&component.name),
                super::promql::quote(&slo.name)
            ),
            value: 1.0,
        }],
    });

    if ceiling {
        let c = sli.budget;
        let for_ms = 5 * MINUTE;
        let alert = format!("{stem}AboveCeiling");
        let rule = Rule {
            record: None,
            alert: Some(alert.clone()),
            expr: format!(
                "{} > {c} and {} > {c}",
                slo_sel("slo:sli_error:ratio_rate5m"),
                slo_sel("slo:sli_error:ratio_rate1h"),
                c = number(c)
            ),
            for_: Some(duration(for_ms)),
            labels: rule_labels(system, Severity::Page),
            annotations: annotations(
                &alert,
                format!(
                    "{}: error rate above {}%",
                    component.name,
                    number(slo.objective.value)
                ),
                format!(
                    "More than {}% of what `{}` handled failed over the last 5 minutes and the last hour (objective: `{}`).",
                    number(slo.objective.value),
                    component.name,
                    slo.text
                ),
            ),
            actions: vec![
                format!(
                    "Look at the errors `{}` logs, and at its dashboard row.",
                    component.name
                ),
                "Check the database and any service it calls; roll back a recent deploy if the errors began with it.".into(),
            ],
        };
        let shape = RatioAlert {
            pairs: vec![(HOUR, 5 * MINUTE, 1.0)],
            budget: c,
            for_ms,
        };
        let scenarios = ratio_scenarios(&shape, FAST_STEP, &sl, &series_with(FAST_STEP));
        prove(out, &rule, scenarios, false);
        group.rules.push(rule);
        out.groups.push(group);
        return;
    }

    let threshold = format!("{}ms", number(slo.objective.value * 1000.0));
    let what = match (slo.indicator, &component.kind) {
        (Indicator::Latency { .. }, ComponentKind::Store { .. }) => {
            format!(
                "Batches written by `{}` slower than {threshold}",
                component.name
            )
        }
        (Indicator::Latency { .. }, _) => {
            format!("Requests to `{}` slower than {threshold}", component.name)
        }
        _ => format!("Failed requests to `{}`", component.name),
    };
    for severity in [Severity::Page, Severity::Ticket] {
        let alert = format!(
            "{stem}{}",
            match severity {
                Severity::Page => "BudgetBurnFast",
                Severity::Ticket => "BudgetBurnSlow",
            }
        );
        let subject = format!("slo {}", slo.name);
        let mut pairs = Vec::new();
        for &(_, long, short, factor) in burns.iter().filter(|b| b.0 == severity) {
            if factor * sli.budget >= 1.0 {
                report.approximated(
                    &subject,
                    format!(
                        "`{alert}` leaves out its {}/{} windows at {}× burn: with a {}% error budget no error ratio reaches it",
                        duration(long),
                        duration(short),
                        number(factor),
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
        let (for_ms, speed) = match severity {
            Severity::Page => (2 * MINUTE, "fast"),
            Severity::Ticket => (15 * MINUTE, "steadily"),
        };
        let rule = Rule {
            record: None,
            alert: Some(alert.clone()),
            expr,
            for_: Some(duration(for_ms)),
            labels: rule_labels(system, severity),
            annotations: annotations(
                &alert,
                format!(
                    "{}: error budget of `{}` burning {speed}",
                    component.name, slo.text
                ),
                format!(
                    "{what} are using up the {} error budget of `{}` {speed}: at this rate it is gone well before the window ends.",
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
        let slow = severity == Severity::Ticket;
        let eval_step = if slow { SLOW_STEP } else { FAST_STEP };
        let shape = RatioAlert {
            pairs,
            budget: sli.budget,
            for_ms,
        };
        let scenarios = ratio_scenarios(&shape, eval_step, &sl, &series_with(eval_step));
        prove(out, &rule, scenarios, slow);
        group.rules.push(rule);
    }
    out.groups.push(group);
}

fn throughput_rules(
    ir: &Ir,
    slo: &Slo,
    system: &str,
    group: &mut Group,
    out: &mut Rules,
    stem: &str,
) {
    let Some(id) = slo.component.try_id() else {
        return;
    };
    let component = &ir.components[id];
    let name = component.name.clone();
    // What the component handled: for an api, the requests it answered (not those it
    // refused with 429 or 503, nor those that failed).
    let (metric, label, done): (&str, &str, Vec<Matcher<'_>>) = match &component.kind {
        ComponentKind::Api { .. } => (
            "http_requests_total",
            "component",
            vec![Matcher::NotRe("status", "429|5..".into())],
        ),
        ComponentKind::Source { .. } => ("component_emitted_total", "component", vec![]),
        ComponentKind::Transformer => ("component_received_total", "component", vec![]),
        ComponentKind::Store { .. } => ("store_rows_written_total", "store", vec![]),
        ComponentKind::Sink { .. } => ("sink_delivered_total", "sink", vec![]),
    };
    let mut matchers = vec![Matcher::Eq(label, name.clone())];
    matchers.extend(done);
    let rate_sel = selector(metric, &matchers);
    let sl = labels(&[("slo", &slo.name), ("component", &name)]);
    group.rules.push(Rule::record(
        "slo:throughput:rate5m",
        format!("sum(rate({rate_sel}[5m]))"),
        sl.clone(),
    ));
    let handled = |per_minute: f64, steps: u64| {
        let mut l: Vec<(&str, &str)> = vec![(label, &name)];
        if label == "component" && metric == "http_requests_total" {
            l.extend([("route", "/test"), ("method", "GET"), ("status", "200")]);
        }
        rising(series(metric, &l), FAST_STEP, &[(steps, per_minute)])
    };
    // What says the component is refusing or holding back work, and series for it.
    let inputs: Vec<(String, u32)> = ir
        .flows
        .values()
        .filter(|f| f.to.component.try_id() == Some(id))
        .map(|f| (flow_label(f), f.capacity))
        .collect();
    let steps = 40;
    let (saturated, saturation, why): (String, Vec<Series>, &str) = match &component.kind {
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
            vec![rising(
                series(
                    "http_requests_total",
                    &[
                        ("component", &name),
                        ("route", "/test"),
                        ("method", "GET"),
                        ("status", "503"),
                    ],
                ),
                FAST_STEP,
                &[(steps, 60.0)],
            )],
            "while it answers 429 or 503",
        ),
        ComponentKind::Source { .. } if component.kind.serves_http() => (
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
            vec![rising(
                series(
                    "ingest_rejected_total",
                    &[("source", &name), ("reason", "full")],
                ),
                FAST_STEP,
                &[(steps, 60.0)],
            )],
            "while it refuses events because its flow is full",
        ),
        _ if !inputs.is_empty() => {
            let names: Vec<String> = inputs.iter().map(|i| i.0.clone()).collect();
            let (first, capacity) = &inputs[0];
            (
                format!(
                    "max({} / {}) >= 0.9",
                    selector("flow_depth", &[Matcher::Re("flow", one_of(&names))]),
                    selector("flow_capacity", &[Matcher::Re("flow", one_of(&names))])
                ),
                vec![
                    gauge(
                        series("flow_depth", &[("flow", first)]),
                        &[(steps, f64::from(*capacity))],
                    ),
                    gauge(
                        series("flow_capacity", &[("flow", first)]),
                        &[(steps, f64::from(*capacity))],
                    ),
                ],
                "while the flow into it is at least 90% full",
            )
        }
        _ => return,
    };
    let alert = format!("{stem}BelowObjective");
    let objective = slo.objective.value;
    let database_hint = if matches!(
        component.kind,
        ComponentKind::Store { .. } | ComponentKind::Api { .. }
    ) {
        "Check the database's latency and pool use on the dashboard."
    } else {
        "Check what its flows lead to: a slow consumer holds it back."
    };
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
        labels: rule_labels(system, Severity::Ticket),
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
            database_hint.into(),
        ],
    };
    // Handled 10% under the objective while saturated fires after `for`; 10% over it, or
    // far under it without saturation, does not.
    let per_minute = |share: f64| objective * 60.0 * share;
    let mut broken = vec![handled(per_minute(0.9), steps)];
    broken.extend(saturation);
    let mut over = vec![handled(per_minute(1.1), steps)];
    over.extend(broken[1..].iter().map(|s| Series {
        series: s.series.clone(),
        values: s.values.clone(),
    }));
    let scenarios = vec![
        Scenario {
            name: "handling 10% under the objective while saturated".into(),
            series: broken,
            checks: vec![
                Check {
                    at_ms: 10 * MINUTE,
                    firing: vec![],
                },
                Check {
                    at_ms: 12 * MINUTE,
                    firing: vec![sl.clone()],
                },
            ],
        },
        Scenario {
            name: "handling 10% over the objective while saturated".into(),
            series: over,
            checks: vec![Check {
                at_ms: steps * MINUTE,
                firing: vec![],
            }],
        },
        Scenario {
            name: "handling half the objective without saturation".into(),
            series: vec![handled(per_minute(0.5), steps)],
            checks: vec![Check {
                at_ms: steps * MINUTE,
                firing: vec![],
            }],
        },
    ];
    prove(out, &rule, scenarios, false);
    group.rules.push(rule);
}

fn has_metric(facts: &Facts, name: &str) -> bool {
    facts.metrics.iter().any(|m| m.name == name)
}

/// An alert on any increase of a counter within 5 minutes, for a minute, summed by the
/// labels of `sample` (which its test series carry).
struct EventAlert<'a> {
    name: &'a str,
    metric: &'a str,
    sample: &'a [(&'a str, &'a str)],
    severity: Severity,
    summary: &'a str,
    description: &'a str,
    actions: &'a [&'a str],
}

fn event_alert(system: &str, a: &EventAlert<'_>) -> (Rule, Vec<Scenario>) {
    let by: Vec<&str> = a.sample.iter().map(|(k, _)| *k).collect();
    let rule = Rule {
        record: None,
        alert: Some(a.name.to_owned()),
        expr: format!(
            "sum by ({}) (increase({}[5m])) > 0",
            by.join(", "),
            selector(a.metric, &[])
        ),
        for_: Some("1m".into()),
        labels: rule_labels(system, a.severity),
        annotations: annotations(a.name, a.summary.to_owned(), a.description.to_owned()),
        actions: a.actions.iter().map(|s| (*s).to_owned()).collect(),
    };
    (rule, one_event_scenarios(a.metric, a.sample, MINUTE))
}

/// An alert that fires on any increase of a counter within 5 minutes: one event at minute
/// 10 makes it pending, firing a minute later, and quiet again once the event has left the
/// window; no event keeps it quiet.
fn one_event_scenarios(metric: &str, pairs: &[(&str, &str)], for_ms: u64) -> Vec<Scenario> {
    let name = series(metric, pairs);
    let event = Series {
        series: name.clone(),
        values: "0x9 1x30".into(),
    };
    let due = 10 * MINUTE + for_ms;
    let l = labels(pairs);
    vec![
        Scenario {
            name: "one event".into(),
            series: vec![event],
            checks: vec![
                Check {
                    at_ms: due - MINUTE,
                    firing: vec![],
                },
                Check {
                    at_ms: due,
                    firing: vec![l.clone()],
                },
                Check {
                    at_ms: 10 * MINUTE + 5 * MINUTE + 2 * MINUTE,
                    firing: vec![],
                },
            ],
        },
        Scenario {
            name: "no event".into(),
            series: vec![Series {
                series: name,
                values: "0x40".into(),
            }],
            checks: vec![Check {
                at_ms: 40 * MINUTE,
                firing: vec![],
            }],
        },
    ]
}

/// A gauge alert: over the threshold (by `over`) it fires after `for`; under it (by
/// `under`) it stays quiet.
fn threshold_scenarios(
    broken: Vec<Series>,
    holding: Vec<Series>,
    firing: Vec<BTreeMap<String, String>>,
    for_ms: u64,
    true_from: u64,
) -> Vec<Scenario> {
    let due = true_from + for_ms;
    vec![
        Scenario {
            name: "over the threshold".into(),
            series: broken,
            checks: vec![
                Check {
                    at_ms: due - MINUTE,
                    firing: vec![],
                },
                Check { at_ms: due, firing },
            ],
        },
        Scenario {
            name: "under the threshold".into(),
            series: holding,
            checks: vec![Check {
                at_ms: 30 * MINUTE,
                firing: vec![],
            }],
        },
    ]
}

/// What every system needs, whatever its SLOs: targets up, databases reachable and their
/// pools not exhausted, flows not backing up, stores and sinks not failing.
#[allow(clippy::too_many_lines)]
fn base_rules(ir: &Ir, facts: &Facts, system: &str, out: &mut Rules) {
    let mut group = Group {
        name: format!("{system}:health"),
        source: "what every service needs".into(),
        rules: Vec::new(),
    };
    let mut add = |out: &mut Rules, rule: Rule, scenarios: Vec<Scenario>| {
        prove(out, &rule, scenarios, false);
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
    if !jobs.is_empty() {
        let names: Vec<String> = jobs.iter().map(|j| j.0.clone()).collect();
        let alert = "TargetDown".to_owned();
        let mut expr = format!(
            "{} == 0",
            selector("up", &[Matcher::Re("job", one_of(&names))])
        );
        for job in &names {
            let _ = write!(
                expr,
                " or absent({})",
                selector("up", &[Matcher::Eq("job", job.clone())])
            );
        }
        let up = |value: f64| -> Vec<Series> {
            jobs.iter()
                .map(|(job, instance)| {
                    gauge(
                        series("up", &[("job", job), ("instance", instance)]),
                        &[(30, value)],
                    )
                })
                .collect()
        };
        let each: Vec<BTreeMap<String, String>> = jobs
            .iter()
            .map(|(job, instance)| labels(&[("job", job), ("instance", instance)]))
            .collect();
        let missing: Vec<BTreeMap<String, String>> = jobs
            .iter()
            .map(|(job, _)| labels(&[("job", job)]))
            .collect();
        let mut scenarios = threshold_scenarios(up(0.0), up(1.0), each, 2 * MINUTE, 0);
        scenarios.push(Scenario {
            name: "no target at all".into(),
            series: vec![gauge(series("up", &[("job", "prometheus")]), &[(30, 1.0)])],
            checks: vec![
                Check {
                    at_ms: MINUTE,
                    firing: vec![],
                },
                Check {
                    at_ms: 2 * MINUTE,
                    firing: missing,
                },
            ],
        });
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr,
                for_: Some("2m".into()),
                labels: rule_labels(system, Severity::Page),
                annotations: annotations(
                    &alert,
                    "{{ $labels.job }} is down".into(),
                    "Prometheus has not scraped {{ $labels.job }} for 2 minutes: the process is gone, cannot be reached, or no instance of it runs.".into(),
                ),
                actions: vec![
                    "Check that the container or pod is running, and read its last logs.".into(),
                    "If it restarts in a loop, look for a configuration error at start-up (it names the variable at fault).".into(),
                ],
            },
            scenarios,
        );
    }

    if has_metric(facts, "db_up") {
        let db = ir
            .databases
            .values()
            .next()
            .map_or("main", |d| d.name.as_str());
        let l = [("job", "svc"), ("database", db)];
        let alert = "DatabaseUnreachable".to_owned();
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!("{} == 0", selector("db_up", &[])),
                for_: Some("1m".into()),
                labels: rule_labels(system, Severity::Page),
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
            threshold_scenarios(
                vec![gauge(series("db_up", &l), &[(30, 0.0)])],
                vec![gauge(series("db_up", &l), &[(30, 1.0)])],
                vec![labels(&l)],
                MINUTE,
                0,
            ),
        );
        let alert = "DatabasePoolSaturated".to_owned();
        let in_use = selector(
            "db_pool_connections",
            &[Matcher::Eq("state", "in_use".into())],
        );
        let max = selector("db_pool_max_connections", &[]);
        let pool = |used: f64| {
            vec![
                gauge(
                    series(
                        "db_pool_connections",
                        &[("job", "svc"), ("database", db), ("state", "in_use")],
                    ),
                    &[(30, used)],
                ),
                gauge(series("db_pool_max_connections", &l), &[(30, 20.0)]),
            ]
        };
        add(
            out,
            Rule {
                record: None,
                alert: Some(alert.clone()),
                expr: format!(
                    "max by (job, database) ({in_use}) / max by (job, database) ({max}) >= 0.9"
                ),
                for_: Some("5m".into()),
                labels: rule_labels(system, Severity::Ticket),
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
            // 19 of 20 in use is over 90%; 17 of 20 is under.
            threshold_scenarios(pool(19.0), pool(17.0), vec![labels(&l)], 5 * MINUTE, 0),
        );
        let (rule, scenarios) = event_alert(
            system,
            &EventAlert {
                name: "DatabasePoolTimeouts",
                metric: "db_pool_acquire_timeouts_total",
                sample: &l,
                severity: Severity::Page,
                summary: "{{ $labels.job }}: requests time out waiting for {{ $labels.database }}",
                description: "{{ $labels.job }} gave up waiting for a connection to {{ $labels.database }} in the last 5 minutes: those requests failed.",
                actions: &[
                    "See DatabasePoolSaturated: the pool is exhausted.",
                    "Check for long transactions or locks on the database.",
                ],
            },
        );
        add(out, rule, scenarios);
    }

    if has_metric(facts, "flow_depth") {
        if let Some(flow) = ir.flows.values().next() {
            let label = flow_label(flow);
            let cap = f64::from(flow.capacity);
            let alert = "FlowBacklogGrowing".to_owned();
            let depth = selector("flow_depth", &[]);
            let backlog = |share: f64| {
                vec![
                    gauge(
                        series("flow_depth", &[("flow", &label)]),
                        &[(30, cap * share)],
                    ),
                    gauge(series("flow_capacity", &[("flow", &label)]), &[(30, cap)]),
                ]
            };
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
                    labels: rule_labels(system, Severity::Ticket),
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
                // 85% full, not draining, fires; 75% full does not.
                threshold_scenarios(
                    backlog(0.85),
                    backlog(0.75),
                    vec![labels(&[("flow", &label)])],
                    5 * MINUTE,
                    MINUTE,
                ),
            );
        }
        let component = ir
            .components
            .values()
            .next()
            .map_or("x", |c| c.name.as_str());
        let (rule, scenarios) = event_alert(
            system,
            &EventAlert {
                name: "MessagesDropped",
                metric: "component_dropped_total",
                sample: &[
                    ("job", "svc"),
                    ("component", component),
                    ("reason", "error"),
                ],
                severity: Severity::Ticket,
                summary: "{{ $labels.component }} is dropping messages ({{ $labels.reason }})",
                description: "{{ $labels.component }} in {{ $labels.job }} dropped messages in the last 5 minutes, for the reason {{ $labels.reason }}.",
                actions: &[
                    "Read the component's logs for the dropped messages.",
                    "Name a dead-letter sink in the spec so that failed messages are kept.",
                ],
            },
        );
        add(out, rule, scenarios);
    }

    if has_metric(facts, "store_write_failures_total") {
        let store = ir
            .components
            .values()
            .find(|c| matches!(c.kind, ComponentKind::Store { .. }))
            .map_or("store", |c| c.name.as_str());
        let (rule, scenarios) = event_alert(
            system,
            &EventAlert {
                name: "StoreWriteFailures",
                metric: "store_write_failures_total",
                sample: &[("job", "svc"), ("store", store)],
                severity: Severity::Page,
                summary: "store {{ $labels.store }} failed to write batches",
                description: "Store {{ $labels.store }} in {{ $labels.job }} gave up on batches in the last 5 minutes, after retries: those rows are not in the database.",
                actions: &[
                    "Read the store's logs: the database's error is there.",
                    "Check the database is up, has disk space, and that the schema matches the spec (run `migrate`).",
                ],
            },
        );
        add(out, rule, scenarios);
    }

    if has_metric(facts, "sink_failures_total") {
        let sink = ir
            .components
            .values()
            .find(|c| matches!(c.kind, ComponentKind::Sink { .. }))
            .map_or("sink", |c| c.name.as_str());
        let (rule, scenarios) = event_alert(
            system,
            &EventAlert {
                name: "SinkDeliveryFailures",
                metric: "sink_failures_total",
                sample: &[("job", "svc"), ("sink", sink)],
                severity: Severity::Ticket,
                summary: "sink {{ $labels.sink }} fails to deliver",
                description: "Sink {{ $labels.sink }} in {{ $labels.job }} failed to deliver messages in the last 5 minutes.",
                actions: &["Read the sink's logs, and check the system it delivers to."],
            },
        );
        add(out, rule, scenarios);
    }
    out.groups.push(group);
}

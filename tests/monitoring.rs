//! The monitoring backend: snapshots per example (`snapshots/monitoring/`), the metric
//! catalogue as the only source of metric names, scrape targets that exist, an alert test
//! for every alert; and, ignored in plain `cargo test` and run by `tools/test-all`, the real
//! checkers: `promtool check config`, `promtool check rules`, `promtool test rules`,
//! `yamllint`, and Grafana's published dashboard types through `tsc`.

mod common;

use common::{analyse, root, run, specs_in, stem, text, tool, write_files};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use v5c::backends::Backend;
use v5c::backends::monitoring::MonitoringBackend;

/// The examples, and the specs of `tests/fixtures/monitoring/` that reach the edges of what
/// the rules can say.
fn examples() -> Vec<PathBuf> {
    specs_in(&["examples", "tests/fixtures/monitoring"])
}

fn emit(analysed: &v5c::Analysed, path: &Path) -> v5c::backends::Emitted {
    MonitoringBackend.emit(analysed).unwrap_or_else(|d| {
        panic!(
            "the monitoring backend fails on {}:\n{}",
            path.display(),
            v5c::diag::render_graphical(&d, 100, false)
        )
    })
}

/// The examples with monitoring on, analysed and emitted.
fn monitored() -> Vec<(String, v5c::Analysed, v5c::backends::Emitted)> {
    examples()
        .iter()
        .map(|p| {
            let analysed = analyse(p);
            let emitted = emit(&analysed, p);
            (stem(p), analysed, emitted)
        })
        .filter(|(_, a, _)| a.ir().monitoring.enabled)
        .collect()
}

#[test]
fn monitoring_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/monitoring");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for path in examples() {
            let analysed = analyse(&path);
            let emitted = emit(&analysed, &path);
            for (file, contents) in emitted.files.iter() {
                let name = format!("{}@{}", stem(&path), file.as_str().replace('/', "__"));
                insta::assert_snapshot!(name, String::from_utf8_lossy(contents));
            }
        }
    });
}

#[test]
fn monitoring_off_writes_nothing_and_says_so() {
    let path = root().join("examples/todo.yaml");
    let analysed = analyse(&path);
    assert!(!analysed.ir().monitoring.enabled);
    let emitted = emit(&analysed, &path);
    assert!(emitted.files.is_empty());
    assert_eq!(emitted.report.entries.len(), 1);
    assert!(
        emitted.report.entries[0]
            .detail
            .contains("monitoring is off")
    );
}

#[test]
fn what_the_rules_cannot_say_is_reported() {
    let path = root().join("tests/fixtures/monitoring/slo-edges.yaml");
    let emitted = emit(&analyse(&path), &path);
    let lines: Vec<String> = emitted
        .report
        .entries
        .iter()
        .map(|e| format!("{:?} {}: {}", e.kind, e.subject, e.detail))
        .collect();
    let has = |needle: &str| {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "no report line with {needle:?} in:\n{}",
            lines.join("\n")
        );
    };
    has(
        "Approximated slo loose: `LooseBudgetBurnFast` leaves out its 1h/5m windows at 14.4× burn: with a 10% error budget",
    );
    has("Dropped alert delivery");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let rules = text(&emitted.files, "monitoring/prometheus/rules.yml");
    assert!(
        rules.contains("alert: LooseBudgetBurnFast"),
        "the 6x pair still applies"
    );
    // Burn windows scale with the SLO's window: an hour of 30 days is 14 minutes of 7 and 28
    // of 14; the 3-day ticket window is 16h48m of 7 days.
    for window in [
        "ratio_rate14m{slo=\"api_availability\"} > (14.4 * 0.001)",
        "ratio_rate1008m{slo=\"api_availability\"} > (1 * 0.001)",
        "ratio_rate28m{slo=\"api_p99_9_latency\"} > (14.4 * 0.001)",
    ] {
        assert!(rules.contains(window), "no `{window}` in the rules");
    }
    for alert in [
        "CleanThroughputBelowObjective",
        "CleanErrorRateAboveCeiling",
        "KeptP95LatencyBudgetBurnFast",
        "KeptErrorRateAboveCeiling",
        "KeptThroughputBelowObjective",
        "LogErrorRateAboveCeiling",
        "LogThroughputBelowObjective",
        "ApiThroughputBelowObjective",
        "FlowBacklogGrowing",
        "StoreWriteFailures",
        "SinkDeliveryFailures",
        "MessagesDropped",
    ] {
        assert!(rules.contains(&format!("alert: {alert}\n")), "no {alert}");
    }
}

#[test]
fn output_is_deterministic() {
    for path in examples() {
        let a = emit(&analyse(&path), &path);
        let b = emit(&analyse(&path), &path);
        assert_eq!(a.files, b.files, "{}", path.display());
    }
}

/// Every metric an expression selects: identifiers directly followed by `{`. Strings, range
/// and label lists are removed first; what is left must be functions, keywords or numbers.
fn selected_metrics(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        // Aggregations, which may come before their `by (…)`.
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    ];
    // Drop string literals and everything inside `{…}` and `[…]`, remembering which
    // identifiers had braces.
    let mut cleaned = String::new();
    let mut chars = expr.chars().peekable();
    let mut depth_brace = 0;
    let mut depth_bracket = 0;
    while let Some(c) = chars.next() {
        match c {
            '"' if depth_brace > 0 => {
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == '"' {
                        break;
                    }
                }
            }
            '{' => {
                if depth_brace == 0 {
                    cleaned.push('{');
                }
                depth_brace += 1;
            }
            '}' => depth_brace -= 1,
            '[' => depth_bracket += 1,
            ']' => depth_bracket -= 1,
            _ if depth_brace > 0 || depth_bracket > 0 => {}
            c => cleaned.push(c),
        }
    }
    let mut metrics = BTreeSet::new();
    // Inside the label list of `by (…)`, `on (…)` and the like.
    let mut skip_list = false;
    // A small scanner: an identifier, then what follows it.
    let bytes: Vec<char> = cleaned.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            // A number, exponent included.
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '_' || bytes[i] == ':')
            {
                i += 1;
            }
            let ident: String = bytes[start..i].iter().collect();
            let mut j = i;
            while j < bytes.len() && bytes[j] == ' ' {
                j += 1;
            }
            let next = bytes.get(j).copied();
            if skip_list {
                // A label name.
            } else if next == Some('{') {
                metrics.insert(ident);
            } else if next == Some('(') {
                if [
                    "by",
                    "without",
                    "on",
                    "ignoring",
                    "group_left",
                    "group_right",
                ]
                .contains(&ident.as_str())
                {
                    skip_list = true;
                }
            } else {
                assert!(
                    KEYWORDS.contains(&ident.as_str()) || ident.starts_with("__"),
                    "`{ident}` in `{expr}` is neither a selector with braces, a function nor a keyword"
                );
            }
        } else {
            if c == ')' {
                skip_list = false;
            }
            i += 1;
        }
    }
    metrics
}

#[test]
fn the_scanner_finds_selectors_and_refuses_bare_names() {
    let found = selected_metrics(
        r#"sum by (job, le) (rate(a_total{x="}{", y=~"a|b"}[5m])) / on() b:rec{slo="s"} > 0.5"#,
    );
    assert_eq!(
        found,
        BTreeSet::from(["a_total".to_owned(), "b:rec".to_owned()])
    );
    let bare = std::panic::catch_unwind(|| selected_metrics("rate(bare_total[5m])"));
    assert!(bare.is_err(), "a metric without braces must be refused");
}

/// The names a metric of the catalogue gives Prometheus: histograms add three series.
fn catalogue_names(analysed: &v5c::Analysed) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for m in &analysed.facts().metrics {
        names.insert(m.name.clone());
        if m.kind == v5c::passes::MetricKind::Histogram {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{}{suffix}", m.name));
            }
        }
    }
    names
}

#[test]
fn every_metric_in_rules_and_dashboards_is_in_the_catalogue() {
    let mut checked = 0;
    for (name, analysed, emitted) in monitored() {
        let catalogue = catalogue_names(&analysed);
        let rules: serde_yaml::Value =
            serde_yaml::from_str(&text(&emitted.files, "monitoring/prometheus/rules.yml"))
                .expect("rules are YAML");
        let mut recorded = BTreeSet::new();
        let mut exprs = Vec::new();
        for group in rules["groups"].as_sequence().expect("groups") {
            for rule in group["rules"].as_sequence().expect("rules") {
                if let Some(r) = rule["record"].as_str() {
                    recorded.insert(r.to_owned());
                }
                exprs.push(rule["expr"].as_str().expect("expr").to_owned());
            }
        }
        let system = &analysed.ir().system.name;
        let board: serde_json::Value = serde_json::from_str(&text(
            &emitted.files,
            &format!("monitoring/grafana/dashboards/{system}.json"),
        ))
        .expect("dashboard is JSON");
        for panel in board["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().into_iter().flatten() {
                exprs.push(
                    target["expr"]
                        .as_str()
                        .expect("expr")
                        .replace("$__rate_interval", "5m"),
                );
            }
        }
        for expr in &exprs {
            for metric in selected_metrics(expr) {
                // `up` is Prometheus' own, per scrape target.
                assert!(
                    catalogue.contains(&metric) || recorded.contains(&metric) || metric == "up",
                    "{name}: `{metric}` in `{expr}` is not in the metric catalogue"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} metric uses were checked");
}

#[test]
fn scrape_targets_are_the_services_and_exporters_the_deployment_runs() {
    for (name, analysed, emitted) in monitored() {
        let deploy = &analysed.facts().deploy;
        let mut wanted: BTreeSet<String> = deploy
            .services
            .iter()
            .map(|s| format!("{}:{}", s.host, s.port))
            .chain(
                deploy
                    .exporters
                    .iter()
                    .map(|e| format!("{}:{}", e.host, e.port)),
            )
            .collect();
        wanted.insert("localhost:9090".to_owned());
        if !analysed.ir().targets.contains(&v5c::ir::Target::Compose) {
            continue;
        }
        let config: serde_yaml::Value = serde_yaml::from_str(&text(
            &emitted.files,
            "monitoring/prometheus/prometheus.yml",
        ))
        .expect("YAML");
        // Services by DNS (every replica), exporters by name.
        let mut found = BTreeSet::new();
        for job in config["scrape_configs"].as_sequence().expect("jobs") {
            for sc in job["static_configs"].as_sequence().into_iter().flatten() {
                for t in sc["targets"].as_sequence().expect("targets") {
                    let t = t.as_str().expect("text").to_owned();
                    assert!(found.insert(t.clone()), "{name}: {t} twice");
                }
            }
            for sc in job["dns_sd_configs"].as_sequence().into_iter().flatten() {
                let port = sc["port"].as_u64().expect("port");
                for n in sc["names"].as_sequence().expect("names") {
                    let t = format!("{}:{port}", n.as_str().expect("text"));
                    assert!(found.insert(t.clone()), "{name}: {t} twice");
                }
            }
        }
        assert_eq!(found, wanted, "{name}");
    }
}

#[test]
fn every_alert_has_a_firing_and_a_quiet_test() {
    for (name, _, emitted) in monitored() {
        let rules: serde_yaml::Value =
            serde_yaml::from_str(&text(&emitted.files, "monitoring/prometheus/rules.yml"))
                .expect("YAML");
        let mut tests: Vec<serde_yaml::Value> = Vec::new();
        for file in ["rules.test.yml", "rules.slow.test.yml"] {
            if let Some(t) = emitted.files.get(&format!("monitoring/prometheus/{file}")) {
                let t: serde_yaml::Value = serde_yaml::from_slice(t).expect("YAML");
                tests.extend(t["tests"].as_sequence().expect("tests").iter().cloned());
            }
        }
        let runbook = text(&emitted.files, "monitoring/RUNBOOK.md");
        let alerts: Vec<String> = rules["groups"]
            .as_sequence()
            .expect("groups")
            .iter()
            .flat_map(|g| g["rules"].as_sequence().expect("rules").iter())
            .filter_map(|r| r["alert"].as_str().map(str::to_owned))
            .collect();
        assert!(alerts.len() >= 3, "{name}: only {alerts:?}");
        for alert in &alerts {
            let checks: Vec<&serde_yaml::Value> = tests
                .iter()
                .flat_map(|t| t["alert_rule_test"].as_sequence().into_iter().flatten())
                .filter(|c| c["alertname"].as_str() == Some(alert))
                .collect();
            let firing = checks
                .iter()
                .filter(|c| c["exp_alerts"].as_sequence().is_some_and(|a| !a.is_empty()))
                .count();
            let quiet = checks.len() - firing;
            assert!(
                firing >= 1 && quiet >= 2,
                "{name}: {alert} has {firing} firing and {quiet} quiet checks"
            );
            assert!(
                runbook.contains(&format!("\n## {alert}\n")),
                "{name}: no runbook section for {alert}"
            );
        }
    }
}

/// Writes every example's monitoring output under `target/monitoring-check/TEST/EXAMPLE/`
/// (a folder per test, as tests run in parallel).
fn written(test: &str) -> Vec<(String, PathBuf, v5c::Analysed)> {
    let base = root().join("target/monitoring-check").join(test);
    let _ = std::fs::remove_dir_all(&base);
    monitored()
        .into_iter()
        .map(|(name, analysed, emitted)| {
            let dir = base.join(&name);
            write_files(&emitted.files, &dir);
            (name, dir, analysed)
        })
        .collect()
}

#[test]
#[ignore = "needs promtool and yamllint; run by tools/test-all"]
fn promtool_and_yamllint_accept_every_example() {
    let written = written("checkers");
    assert!(written.len() >= 6);
    for (name, dir, analysed) in &written {
        let prom = dir.join("monitoring/prometheus");
        let mut configs = Vec::new();
        if analysed.ir().targets.contains(&v5c::ir::Target::Compose) {
            configs.push("prometheus.yml");
        }
        if analysed.ir().targets.contains(&v5c::ir::Target::Kubernetes) {
            configs.push("prometheus-kubernetes.yml");
        }
        assert!(!configs.is_empty(), "{name}: no scrape config");
        for config in configs {
            let mut c = tool("promtool", "Debian package `prometheus`");
            c.current_dir(&prom).args(["check", "config", config]);
            run(c, &format!("{name}: promtool check config {config}"));
        }
        let mut c = tool("promtool", "Debian package `prometheus`");
        c.current_dir(&prom).args(["check", "rules", "rules.yml"]);
        run(c, &format!("{name}: promtool check rules"));
        let mut c = tool("promtool", "Debian package `prometheus`");
        c.current_dir(&prom)
            .args(["test", "rules", "rules.test.yml"]);
        if prom.join("rules.slow.test.yml").exists() {
            c.arg("rules.slow.test.yml");
        }
        run(c, &format!("{name}: promtool test rules"));
        let mut c = tool("yamllint", "Debian package `yamllint`");
        c.current_dir(dir).args([
            "--strict",
            "-d",
            "{extends: default, rules: {line-length: disable, document-start: disable}}",
            "monitoring",
        ]);
        run(c, &format!("{name}: yamllint"));
    }
}

/// Changes to the rules that the generated tests must catch, on the streaming example: each
/// is a plausible slip in a window, a factor, a threshold, a selector or a label.
const MUTATIONS: &[(&str, &str, &str)] = &[
    ("a longer `for`", "for: '2m'", "for: '3m'"),
    ("the 14.4x page factor raised", "(14.4 *", "(1000 *"),
    ("the 6x page factor doubled", "(6 *", "(12 *"),
    ("the 6x page factor halved", "(6 *", "(3 *"),
    (
        "the 6h/30m pair's short window lengthened",
        "ratio_rate30m{slo=\"api_availability\"} > (6",
        "ratio_rate6h{slo=\"api_availability\"} > (6",
    ),
    (
        "the 6h/30m pair's long window shortened",
        "(slo:sli_error:ratio_rate6h{slo=\"api_availability\"} > (6",
        "(slo:sli_error:ratio_rate5m{slo=\"api_availability\"} > (6",
    ),
    (
        "the 3d/6h ticket factor doubled",
        "(1 * 0.005)",
        "(2 * 0.005)",
    ),
    (
        "the ceiling's hour window dropped",
        " and slo:sli_error:ratio_rate1h{slo=\"score_error_rate\"} > 0.001",
        "",
    ),
    (
        "the throughput objective lowered",
        "< 2000 and",
        "< 1500 and",
    ),
    (
        "the backlog threshold raised",
        "> 0.8 and deriv",
        "> 0.9 and deriv",
    ),
    ("the pool threshold lowered", ">= 0.9'", ">= 0.5'"),
    (
        "client errors counted as failures",
        "status=~\"5..\"",
        "status=~\"[45]..\"",
    ),
    ("a 30-minute SLI over one minute", "[30m]", "[1m]"),
    (
        "the remaining budget over the wrong budget",
        "} / 0.005",
        "} / 0.05",
    ),
    (
        "a job left out of TargetDown",
        "pipeline|audit-api|ledger-exporter",
        "pipeline",
    ),
    (
        "a longer failure window",
        "(increase(store_write_failures_total{}[5m]))",
        "(increase(store_write_failures_total{}[15m]))",
    ),
    ("a missing label", "          severity: page\n", ""),
];

#[test]
#[ignore = "needs promtool; run by tools/test-all"]
fn promtool_test_rules_fails_when_an_alert_is_wrong() {
    let written = written("mutations");
    let (name, dir, _) = written
        .iter()
        .find(|(n, ..)| n == "streaming")
        .expect("streaming");
    let prom = dir.join("monitoring/prometheus");
    let rules = std::fs::read_to_string(prom.join("rules.yml")).expect("rules");
    // Two workers, each in its own copy of the folder; the slow-burn tests run only for the
    // mutation of a slow-burn pair (the others leave those alerts alone).
    let missed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for worker in 0..2 {
            let (rules, missed, prom) = (&rules, &missed, &prom);
            scope.spawn(move || {
                let copy = prom.with_file_name(format!("prometheus-{worker}"));
                let _ = std::fs::remove_dir_all(&copy);
                std::fs::create_dir_all(&copy).expect("mkdir");
                for file in ["rules.test.yml", "rules.slow.test.yml"] {
                    std::fs::copy(prom.join(file), copy.join(file)).expect("copy");
                }
                for (what, from, to) in MUTATIONS.iter().skip(worker).step_by(2) {
                    let mutated = rules.replace(from, to);
                    assert_ne!(&mutated, rules, "{what}: `{from}` is not in the rules");
                    std::fs::write(copy.join("rules.yml"), &mutated).expect("write");
                    let file = if what.contains("ticket") {
                        "rules.slow.test.yml"
                    } else {
                        "rules.test.yml"
                    };
                    let out = tool("promtool", "Debian package `prometheus`")
                        .current_dir(&copy)
                        .args(["test", "rules", file])
                        .output()
                        .expect("promtool runs");
                    if out.status.success() {
                        missed.lock().expect("lock").push(*what);
                    }
                }
            });
        }
    });
    let missed = missed.into_inner().expect("lock");
    assert!(
        missed.is_empty(),
        "{name}: promtool test rules passed with {missed:?}"
    );
}

#[test]
#[ignore = "needs node and the npm packages of tools/grafana; run by tools/test-all"]
fn dashboards_type_check_against_grafana_schema() {
    let written = written("grafana");
    let check = root().join("target/tools/grafana");
    let tsc = check.join("node_modules/.bin/tsc");
    assert!(
        tsc.exists(),
        "{} is missing; `tools/test-all` runs `npm ci` there from tools/grafana",
        tsc.display()
    );
    for file in ["dashboard.ts", "tsconfig.json"] {
        std::fs::copy(root().join("tools/grafana").join(file), check.join(file)).expect("copy");
    }
    let checks = check.join("checks");
    let _ = std::fs::remove_dir_all(&checks);
    std::fs::create_dir_all(&checks).expect("mkdir");
    for (name, dir, analysed) in &written {
        let board = std::fs::read_to_string(dir.join(format!(
            "monitoring/grafana/dashboards/{}.json",
            analysed.ir().system.name
        )))
        .expect("dashboard");
        let ts = format!(
            "import type {{ Dashboard }} from '../dashboard.js';\n\nexport const dashboard: Dashboard = {board};\n"
        );
        std::fs::write(checks.join(format!("{name}.ts")), ts).expect("write");
    }
    // A dashboard with a misspelt key must fail, or the check proves nothing.
    std::fs::write(
        checks.join("zz-misspelt.ts"),
        "import type { Dashboard } from '../dashboard.js';\n\nexport const dashboard: Dashboard = { title: 'x', uid: 'x', schemaVersion: 39, panels: [], refersh: '5s' };\n",
    )
    .expect("write");
    let out = Command::new(&tsc)
        .current_dir(&check)
        .args(["-p", "."])
        .output()
        .expect("tsc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.contains("error TS")).collect();
    assert!(
        errors.len() == 1 && errors[0].starts_with("checks/zz-misspelt.ts"),
        "tsc should reject only the misspelt dashboard:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

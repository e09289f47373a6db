//! The `monitoring` backend: Prometheus scrape configuration (for compose and for
//! Kubernetes), recording and alert rules derived from the SLOs with `promtool test rules`
//! cases that prove every alert, a runbook, and a Grafana dashboard with its provisioning.
//!
//! In Kubernetes, Prometheus finds a service's pods through DNS (`dns_sd_configs` on a
//! headless Service) rather than `kubernetes_sd_configs`: Debian's Prometheus, the promtool
//! our tests check with, is built without Kubernetes discovery and refuses such a file, and
//! DNS discovery needs no RBAC for Prometheus either.
//!
//! Every metric it names comes from the IR's metric catalogue (`facts.metrics`), every host,
//! port and path from the deployment facts (`facts.deploy`), which the code, docker and k8s
//! backends read too.
//!
//! ```text
//! monitoring/
//!   RUNBOOK.md                          a section per alert
//!   prometheus/prometheus.yml           compose: static targets by service name
//!   prometheus/prometheus-kubernetes.yml  Kubernetes: pods by their headless Service's DNS
//!   prometheus/rules.yml                recording and alert rules
//!   prometheus/rules.test.yml           promtool unit tests of every alert, evaluated each minute
//!   prometheus/rules.slow.test.yml      … of the slow-burn tickets, evaluated every 10 minutes
//!   grafana/dashboards/SYSTEM.json
//!   grafana/provisioning/datasources/prometheus.yml
//!   grafana/provisioning/dashboards/v5c.yml
//! ```

pub mod dashboard;
pub mod promql;
mod proofs;
pub mod rules;

use super::{Backend, Emitted, Templates};
use crate::Analysed;
use crate::diag::Diagnostics;
use crate::ir::Target;
use serde_json::json;

pub struct MonitoringBackend;

/// Where compose mounts the dashboards folder in the Grafana container.
pub const GRAFANA_DASHBOARDS_PATH: &str = "/var/lib/grafana/dashboards";
/// The folders the docker and k8s backends mount: Prometheus' configuration directory and
/// Grafana's provisioning and dashboards.
pub const PROMETHEUS_DIR: &str = "monitoring/prometheus";
pub const GRAFANA_PROVISIONING_DIR: &str = "monitoring/grafana/provisioning";
pub const GRAFANA_DASHBOARDS_DIR: &str = "monitoring/grafana/dashboards";

impl Backend for MonitoringBackend {
    fn name(&self) -> &'static str {
        "monitoring"
    }

    fn description(&self) -> &'static str {
        "Prometheus config, SLO alert rules with promtool tests, a runbook, Grafana dashboard"
    }

    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics> {
        let mut emitted = Emitted::default();
        let ir = analysed.ir();
        let facts = analysed.facts();
        let Some(monitoring) = &facts.deploy.monitoring else {
            emitted.report.dropped(
                "observe.monitoring",
                "monitoring is off in the spec: no Prometheus, rules or dashboards",
            );
            return Ok(emitted);
        };
        let templates = Templates::for_backend("monitoring");
        let version = env!("CARGO_PKG_VERSION");
        let system = ir.system.name.as_str();
        let mut files: Vec<(String, String)> = Vec::new();

        let scrape = promql::duration(monitoring.scrape_interval_ms);
        let mut jobs: Vec<serde_json::Value> = facts
            .deploy
            .services
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "comment": format!("service `{}`: the generated service's metric catalogue", s.name),
                    "metrics_path": s.metrics_path,
                    "target": format!("{}:{}", s.host, s.port),
                    "port": s.port,
                    "pods_target": s.pods_host,
                    "replicas_target": s.host,
                    "labels": [],
                })
            })
            .collect();
        jobs.extend(facts.deploy.exporters.iter().map(|e| {
            json!({
                "name": e.host,
                "comment": format!("the exporter of database `{}`", e.database),
                "metrics_path": e.metrics_path,
                "target": format!("{}:{}", e.host, e.port),
                "port": e.port,
                "pods_target": null,
                "replicas_target": null,
                "labels": [{ "name": "database", "value": e.database }],
            })
        }));
        for (target, file, title, note) in [
            (
                Target::Compose,
                "prometheus.yml",
                "docker compose",
                "each service's replicas by the DNS name compose gives them (one address per replica), each exporter by its name.",
            ),
            (
                Target::Kubernetes,
                "prometheus-kubernetes.yml",
                "Kubernetes",
                "each service's pods by the DNS name of its headless Service (one address per pod), each exporter by its Service.",
            ),
        ] {
            if !ir.targets.contains(&target) {
                continue;
            }
            let text = templates.render(
                "prometheus.yml.j2",
                json!({
                    "v5c_version": version,
                    "system": system,
                    "target_title": title,
                    "scrape_note": note,
                    "scrape_interval": scrape,
                    "retention": promql::duration(monitoring.retention_ms),
                    "evaluation_interval": scrape,
                    "self_target": format!("localhost:{}", monitoring.prometheus_port),
                    "kubernetes": target == Target::Kubernetes,
                    "jobs": jobs,
                }),
            )?;
            files.push((format!("{PROMETHEUS_DIR}/{file}"), text));
        }
        if ir.targets.is_empty() {
            emitted.report.dropped(
                "deploy.targets",
                "no deploy target: no scrape configuration",
            );
        }

        let rules = rules::rules(ir, facts, &mut emitted.report);
        emitted.report.dropped(
            "alert delivery",
            "Prometheus evaluates the alerts, but no Alertmanager is configured to send them: add an `alerting:` section to the Prometheus config to route them",
        );
        let context = json!({
            "v5c_version": version,
            "system": system,
            "groups": rules.groups,
        });
        files.push((
            format!("{PROMETHEUS_DIR}/rules.yml"),
            templates.render("rules.yml.j2", &context)?,
        ));
        for (file, tests, step, what) in [
            (
                "rules.test.yml",
                &rules.tests,
                rules::FAST_STEP,
                "every alert but the slow-burn tickets",
            ),
            (
                "rules.slow.test.yml",
                &rules.slow_tests,
                rules::SLOW_STEP,
                "the slow-burn tickets, whose windows are days long",
            ),
        ] {
            if tests.is_empty() {
                continue;
            }
            files.push((
                format!("{PROMETHEUS_DIR}/{file}"),
                templates.render(
                    "rules.test.yml.j2",
                    json!({
                        "v5c_version": version,
                        "system": system,
                        "file": file,
                        "what": what,
                        "evaluation_interval": promql::duration(step),
                        "tests": tests,
                    }),
                )?,
            ));
        }
        let alerts: Vec<serde_json::Value> = rules
            .groups
            .iter()
            .flat_map(|g| g.rules.iter().map(move |r| (g, r)))
            .filter_map(|(g, r)| {
                Some(json!({
                    "name": r.alert.as_ref()?,
                    "severity": r.labels.get("severity"),
                    "source": g.source,
                    "expr": r.expr,
                    "for": r.for_,
                    "description": r.annotations.get("description"),
                    "actions": r.actions,
                }))
            })
            .collect();
        files.push((
            "monitoring/RUNBOOK.md".to_owned(),
            templates.render(
                "RUNBOOK.md.j2",
                json!({ "v5c_version": version, "system": system, "alerts": alerts }),
            )?,
        ));

        let mut board = serde_json::to_string_pretty(&dashboard::dashboard(ir, facts))
            .expect("a dashboard serialises");
        board.push('\n');
        files.push((format!("{GRAFANA_DASHBOARDS_DIR}/{system}.json"), board));
        files.push((
            format!("{GRAFANA_PROVISIONING_DIR}/datasources/prometheus.yml"),
            templates.render(
                "grafana-datasource.yml.j2",
                json!({
                    "v5c_version": version,
                    "system": system,
                    "uid": dashboard::DATASOURCE_UID,
                    "url": format!("http://{}:{}", monitoring.prometheus_host, monitoring.prometheus_port),
                }),
            )?,
        ));
        files.push((
            format!("{GRAFANA_PROVISIONING_DIR}/dashboards/v5c.yml"),
            templates.render(
                "grafana-dashboards.yml.j2",
                json!({ "v5c_version": version, "system": system, "path": GRAFANA_DASHBOARDS_PATH }),
            )?,
        ));

        emitted.with_files(files)
    }
}

//! Deployment: every component runs in exactly one service, flows stay inside a service, ports
//! are usable and distinct, resources make sense, and SQLite is never shared.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{ComponentKind, Engine, Ir, ServiceId};
use crate::source::Span;
use rustc_hash::FxHashMap;
use schemars::JsonSchema;
use serde::Serialize;

/// Non-root containers cannot bind below this port.
const FIRST_UNPRIVILEGED_PORT: u16 = 1024;
/// Paths every service serves itself: liveness, readiness and metrics.
const RESERVED_ROUTES: &[&str] = &[LIVENESS_PATH, READINESS_PATH, METRICS_PATH];
/// Answers while the process runs.
pub const LIVENESS_PATH: &str = "/healthz";
/// Answers 200 while every database the service uses is reachable, 503 otherwise.
pub const READINESS_PATH: &str = "/readyz";
/// The metric catalogue in Prometheus' text format.
pub const METRICS_PATH: &str = "/metrics";

/// Where things run and how they are reached: the names and ports that the code, docker, k8s
/// and monitoring backends must agree on, decided once here.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct DeployFacts {
    /// The image every service runs: the generated crate, built once.
    pub image: ImageFacts,
    pub services: Vec<ServiceFacts>,
    /// A Prometheus exporter for each database the deployment runs (not external ones, and
    /// not SQLite, which lives inside a service).
    pub exporters: Vec<ExporterFacts>,
    /// Prometheus and Grafana, when monitoring is on.
    pub monitoring: Option<MonitoringFacts>,
}

/// The generated service's image, and the commands its binary answers.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ImageFacts {
    /// `NAME:TAG`, from the system's name and version.
    pub name: String,
    pub tag: String,
    /// The generated crate's folder in the output. Only its `Cargo.toml`, `Cargo.lock` and
    /// `src/` reach the image's build: no build script, and every file the service embeds
    /// (the schema, say) lives under `src/`.
    pub crate_dir: String,
    /// The binary, installed as `/usr/local/bin/BINARY`.
    pub binary: String,
    /// Arguments that run a service (which one comes from `V5C_SERVICE`).
    pub serve: Vec<String>,
    /// Arguments that exit 0 when the service on this host answers its readiness probe:
    /// the image has no shell or HTTP client.
    pub healthcheck: Vec<String>,
    /// Arguments that apply the sql backend's schema to every database the service uses,
    /// run with the service's own environment before it starts (a compose one-shot, a
    /// Kubernetes init container). Several replicas and services run it at once, so it must
    /// take a lock on each database and leave a schema that is already there alone.
    pub migrate: Vec<String>,
    /// The user id the service runs as, never root.
    pub uid: u32,
}

/// One environment variable the service reads.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnvFacts {
    pub name: String,
    /// Its value when the deployment decides it; `None` when it is a secret (or the address
    /// of an external database) that the person deploying provides.
    pub value: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServiceFacts {
    pub name: String,
    /// Its host name: the compose service and the Kubernetes Service.
    pub host: String,
    pub port: u16,
    /// The name of its container port in Kubernetes.
    pub port_name: String,
    /// In Kubernetes, a headless Service (publishing not-ready pods too) whose DNS name has
    /// an address for every pod: what Prometheus scrapes, one target per pod.
    pub pods_host: String,
    pub liveness_path: String,
    pub readiness_path: String,
    pub metrics_path: String,
    /// The databases its components use, in declaration order.
    pub databases: Vec<String>,
    /// Every environment variable it reads, in a fixed order.
    pub env: Vec<EnvFacts>,
    /// How long the deployment lets it stop after SIGTERM before killing it: the service
    /// lets requests finish (up to 25 s), gives source loops 5 s, then drains its flows and
    /// writes its batches, so a service with a dataflow gets more.
    pub stop_grace_seconds: u32,
}

/// Seconds between SIGTERM and SIGKILL for a service without, and with, a dataflow.
const STOP_GRACE: u32 = 30;
const STOP_GRACE_DATAFLOW: u32 = 90;

/// The user and database name a service uses on a database the deployment runs.
pub const DATABASE_USER: &str = "app";

/// `DB_NAME_SUFFIX` for a database, in the service's environment.
pub fn database_env(database: &str, suffix: &str) -> String {
    format!(
        "DB_{}_{suffix}",
        database.to_ascii_uppercase().replace('-', "_")
    )
}

fn service_env(
    ir: &Ir,
    service: &crate::ir::Service,
    databases: &[crate::ir::DatabaseId],
) -> Vec<EnvFacts> {
    let fixed = |name: &str, value: String, description: &str| EnvFacts {
        name: name.to_owned(),
        value: Some(value),
        description: description.to_owned(),
    };
    let mut env = vec![
        fixed(
            "V5C_SERVICE",
            service.name.clone(),
            "which service of the system this process runs",
        ),
        fixed("PORT", service.port.to_string(), "the HTTP port"),
        fixed(
            "LOG_LEVEL",
            "info".to_owned(),
            "error, warn, info, debug or trace",
        ),
    ];
    for id in databases {
        let db = &ir.databases[*id];
        let host = host_name(&db.name);
        let url = match (db.engine, db.external) {
            (_, true) => None,
            (Engine::Postgresql, false) => Some(format!(
                "postgres://{DATABASE_USER}@{host}:5432/{}",
                db.name
            )),
            (Engine::Mysql, false) => {
                Some(format!("mysql://{DATABASE_USER}@{host}:3306/{}", db.name))
            }
            (Engine::Sqlite, false) => Some(format!("sqlite:///data/{}.db", db.name)),
        };
        env.push(EnvFacts {
            name: database_env(&db.name, "URL"),
            value: url,
            description: format!("where database `{}` is, without its password", db.name),
        });
        if db.engine != Engine::Sqlite {
            env.push(EnvFacts {
                name: database_env(&db.name, "PASSWORD"),
                value: None,
                description: format!(
                    "the password of user `{DATABASE_USER}` on database `{}`",
                    db.name
                ),
            });
        }
    }
    env
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExporterFacts {
    pub database: String,
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    pub port_name: String,
    pub metrics_path: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MonitoringFacts {
    pub prometheus_host: String,
    pub prometheus_port: u16,
    pub grafana_host: String,
    pub grafana_port: u16,
    pub scrape_interval_ms: u64,
    /// How long Prometheus must keep samples: the longest SLO window (its budget is
    /// computed over it), and a day more. Prometheus keeps 15 days unless told otherwise.
    pub retention_ms: u64,
}

const DAY_MS: u64 = 24 * 3_600_000;

/// The ports the exporters listen on: their upstream defaults.
fn exporter_port(engine: Engine) -> Option<u16> {
    match engine {
        Engine::Postgresql => Some(9187),
        Engine::Mysql => Some(9104),
        Engine::Sqlite => None,
    }
}

/// The databases a component reads or writes.
fn databases_of(ir: &Ir, kind: &ComponentKind, out: &mut Vec<crate::ir::DatabaseId>) {
    let mut add = |id: Option<crate::ir::DatabaseId>| {
        if let Some(id) = id {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    };
    match kind {
        ComponentKind::Store { database, .. } => add(database.try_id()),
        ComponentKind::Api { exposes, .. } => {
            for exposure in exposes {
                if let Some(store) = exposure.store.try_id() {
                    if let ComponentKind::Store { database, .. } = &ir.components[store].kind {
                        add(database.try_id());
                    }
                }
            }
        }
        ComponentKind::Sink { store: Some(store) } => {
            if let Some(store) = store.try_id() {
                if let ComponentKind::Store { database, .. } = &ir.components[store].kind {
                    add(database.try_id());
                }
            }
        }
        _ => {}
    }
}

/// A name as a host name (an RFC 1123 label): lower case, `-` for `_`.
pub fn host_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Services, databases, exporters, Prometheus and Grafana share one network namespace in
/// compose and in a Kubernetes namespace: two of them may not take the same host name.
fn check_hosts(ir: &Ir, facts: &DeployFacts, diags: &mut Diagnostics) {
    let mut taken: FxHashMap<String, String> = FxHashMap::default();
    let mut claim = |host: String, what: String, span: Option<Span>| {
        if let Some(first) = taken.get(&host) {
            let mut d = Diagnostic::error(
                Code::NameCollision,
                format!("{what} and {first} would both be reached as host `{host}`"),
            )
            .help("rename one: compose and Kubernetes give each the same name on one network");
            if let Some(span) = span {
                d = d.label(span, "this name");
            }
            diags.push(d);
        } else {
            taken.insert(host, what);
        }
    };
    if let Some(m) = &facts.monitoring {
        claim(m.prometheus_host.clone(), "Prometheus".to_owned(), None);
        claim(m.grafana_host.clone(), "Grafana".to_owned(), None);
    }
    for exporter in &facts.exporters {
        let span = ir
            .databases
            .iter()
            .find(|(_, d)| d.name == exporter.database)
            .map(|(id, _)| ir.spans.database(id).name);
        claim(
            exporter.host.clone(),
            format!("the exporter of database `{}`", exporter.database),
            span,
        );
    }
    for (id, service) in ir.services.iter() {
        let span = ir.spans.service(id).name;
        claim(
            host_name(&service.name),
            format!("service `{}`", service.name),
            Some(span),
        );
    }
    // Each service's headless Service (Kubernetes) takes `NAME-pods` too, and its schema
    // migration (compose) `NAME-migrate`.
    for (id, service) in ir.services.iter() {
        let span = ir.spans.service(id).name;
        claim(
            format!("{}-pods", host_name(&service.name)),
            format!("the pods of service `{}`", service.name),
            Some(span),
        );
        claim(
            format!("{}-migrate", host_name(&service.name)),
            format!("the schema migration of service `{}`", service.name),
            Some(span),
        );
    }
    for (id, database) in ir.databases.iter() {
        if !database.external && database.engine != Engine::Sqlite {
            let span = ir.spans.database(id).name;
            claim(
                host_name(&database.name),
                format!("database `{}`", database.name),
                Some(span),
            );
        }
    }
}

fn deploy_facts(ir: &Ir) -> DeployFacts {
    let services = ir
        .services
        .values()
        .map(|service| {
            let mut ids = Vec::new();
            for component in service.components.iter().filter_map(crate::ir::Ref::try_id) {
                databases_of(ir, &ir.components[component].kind, &mut ids);
            }
            ids.sort_unstable_by_key(|id| id.index());
            let env = service_env(ir, service, &ids);
            // Flows start in the service (the passes keep both ends in one).
            let dataflow = ir.flows.values().any(|f| {
                f.from
                    .component
                    .try_id()
                    .is_some_and(|id| service.components.iter().any(|c| c.try_id() == Some(id)))
            });
            ServiceFacts {
                name: service.name.clone(),
                host: host_name(&service.name),
                port: service.port,
                port_name: "http".to_owned(),
                pods_host: format!("{}-pods", host_name(&service.name)),
                liveness_path: LIVENESS_PATH.to_owned(),
                readiness_path: READINESS_PATH.to_owned(),
                metrics_path: METRICS_PATH.to_owned(),
                databases: ids
                    .iter()
                    .map(|id| ir.databases[*id].name.clone())
                    .collect(),
                env,
                stop_grace_seconds: if dataflow {
                    STOP_GRACE_DATAFLOW
                } else {
                    STOP_GRACE
                },
            }
        })
        .collect();
    let exporters = ir
        .databases
        .values()
        .filter(|d| !d.external)
        .filter_map(|d| {
            Some(ExporterFacts {
                database: d.name.clone(),
                engine: d.engine,
                host: format!("{}-exporter", host_name(&d.name)),
                port: exporter_port(d.engine)?,
                port_name: "metrics".to_owned(),
                metrics_path: METRICS_PATH.to_owned(),
            })
        })
        .collect();
    let monitoring = ir.monitoring.enabled.then(|| MonitoringFacts {
        prometheus_host: "prometheus".to_owned(),
        prometheus_port: 9090,
        grafana_host: "grafana".to_owned(),
        grafana_port: 3000,
        scrape_interval_ms: ir.monitoring.scrape_interval_ms,
        retention_ms: ir
            .slos
            .values()
            .map(|s| s.window_ms)
            .max()
            .unwrap_or(0)
            .max(15 * DAY_MS)
            + DAY_MS,
    });
    let binary = ir.system.name.clone();
    let image = ImageFacts {
        name: ir.system.name.clone(),
        tag: ir.system.version.clone(),
        crate_dir: "service".to_owned(),
        serve: vec!["serve".to_owned()],
        healthcheck: vec!["healthcheck".to_owned()],
        migrate: vec!["migrate".to_owned()],
        binary,
        uid: 10_001,
    };
    DeployFacts {
        image,
        services,
        exporters,
        monitoring,
    }
}

pub fn run(ir: &Ir, facts: &mut super::Facts, diags: &mut Diagnostics) {
    facts.deploy = deploy_facts(ir);
    check_hosts(ir, &facts.deploy, diags);
    // Placement: where each component runs.
    let mut service_of: Vec<Option<ServiceId>> = vec![None; ir.components.len()];
    for (service_id, service) in ir.services.iter() {
        let spans = ir.spans.service(service_id);
        if service.components.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::ComponentPlacement,
                    format!("service `{}` runs no components", service.name),
                )
                .label(spans.name, "empty service")
                .help("list its components, or remove it"),
            );
        }
        for (i, component) in service.components.iter().enumerate() {
            let Some(id) = component.try_id() else {
                continue;
            };
            let at = spans.components.get(i).copied().unwrap_or(spans.name);
            match service_of[id.index()] {
                Some(first) if first != service_id => diags.push(
                    Diagnostic::error(
                        Code::ComponentPlacement,
                        format!(
                            "component `{}` runs in both `{}` and `{}`",
                            component.name, ir.services[first].name, service.name
                        ),
                    )
                    .label(at, "placed again")
                    .help(
                        "each component runs in one service; flows and batches live in its process",
                    ),
                ),
                Some(_) => diags.push(
                    Diagnostic::error(
                        Code::ComponentPlacement,
                        format!(
                            "component `{}` is listed twice in `{}`",
                            component.name, service.name
                        ),
                    )
                    .label(at, "listed again"),
                ),
                None => service_of[id.index()] = Some(service_id),
            }
        }
    }

    // Without `deploy.services` the one service runs everything, so this finds nothing.
    for (id, component) in ir.components.iter() {
        if service_of[id.index()].is_none() {
            diags.push(
                Diagnostic::error(
                    Code::ComponentPlacement,
                    format!("component `{}` runs in no service", component.name),
                )
                .label(ir.spans.component(id).name, "not deployed")
                .label(ir.spans.deploy, "services are listed here")
                .help("add it to a service's `components:`, or leave one service's list out to run every unlisted component"),
            );
        }
    }

    // What talks in-process must run in one process: each flow's two ends, and each sink
    // with the store it appends to. (from, to, where, what the diagnostic says of it)
    let flows = ir.flows.iter().filter_map(|(id, flow)| {
        let (from, to) = (flow.from.component.try_id()?, flow.to.component.try_id()?);
        Some((from, to, ir.spans.flow(id).whole, None))
    });
    let appends = ir.components.iter().filter_map(|(id, component)| {
        let ComponentKind::Sink { store: Some(store) } = &component.kind else {
            return None;
        };
        let spans = ir.spans.component(id);
        Some((
            id,
            store.try_id()?,
            spans.store.unwrap_or(spans.name),
            Some((&component.name, &store.name)),
        ))
    });
    for (from, to, span, sink) in flows.chain(appends) {
        let (Some(a), Some(b)) = (service_of[from.index()], service_of[to.index()]) else {
            continue;
        };
        if a == b {
            continue;
        }
        let (a, b) = (&ir.services[a].name, &ir.services[b].name);
        let diag = match sink {
            None => Diagnostic::error(
                Code::FlowCrossesServices,
                format!("this flow runs from service `{a}` to service `{b}`"),
            )
            .label(span, "crosses services")
            .help("flows are in-process channels; put both components in one service"),
            Some((sink, store)) => Diagnostic::error(
                Code::FlowCrossesServices,
                format!(
                    "sink `{sink}` runs in service `{a}`, but its store `{store}` runs in service `{b}`"
                ),
            )
            .label(span, "in another service")
            .help("a sink hands its messages to its store in-process; put both in one service"),
        };
        diags.push(diag);
    }

    // Routes: every API path of a service, and the endpoints every service serves itself.
    for (service_id, service) in ir.services.iter() {
        let mut routes: FxHashMap<String, (Span, String)> = FxHashMap::default();
        for path in RESERVED_ROUTES {
            routes.insert(
                (*path).to_owned(),
                (
                    ir.spans.service(service_id).name,
                    format!("the service's own `{path}`"),
                ),
            );
        }
        for component in &service.components {
            let Some(id) = component.try_id() else {
                continue;
            };
            let ComponentKind::Api { prefix, exposes } = &ir.components[id].kind else {
                continue;
            };
            let spans = ir.spans.component(id);
            for (exposure, exposure_spans) in exposes.iter().zip(&spans.exposes) {
                let route = format!("{}{}", prefix.trim_end_matches('/'), exposure.path);
                let at = exposure_spans.path.unwrap_or(exposure_spans.entity);
                let owner = format!(
                    "`{}` of api `{}`",
                    exposure.entity.name, ir.components[id].name
                );
                match routes.get(&route) {
                    Some((first, first_owner)) => diags.push(
                        Diagnostic::error(
                            Code::RouteConflict,
                            format!("{first_owner} and {owner} both use the route `{route}`"),
                        )
                        .label(at, "this route")
                        .label(*first, "taken here")
                        .help("give one of them another `path:` (or its API another `prefix:`)"),
                    ),
                    None => {
                        routes.insert(route, (at, owner));
                    }
                }
            }
        }
    }

    // Ports.
    let mut ports: FxHashMap<u16, ServiceId> = FxHashMap::default();
    for (id, service) in ir.services.iter() {
        let spans = ir.spans.service(id);
        let at = spans.port.unwrap_or(spans.name);
        if service.port < FIRST_UNPRIVILEGED_PORT {
            diags.push(
                Diagnostic::error(
                    Code::PortConflict,
                    format!("service `{}` would listen on port {}", service.name, service.port),
                )
                .label(at, "privileged port")
                .help("the service runs as a non-root user, which cannot bind ports below 1024; use 8080, say, and map it outside"),
            );
        }
        if service.components.is_empty() {
            // Reported above as an empty service; its port is beside the point.
        } else if let Some(&first) = ports.get(&service.port) {
            let defaulted = spans.port.is_none() || ir.spans.service(first).port.is_none();
            diags.push(
                Diagnostic::error(
                    Code::PortConflict,
                    format!(
                        "services `{}` and `{}` both listen on port {}{}",
                        ir.services[first].name,
                        service.name,
                        service.port,
                        if defaulted {
                            " (the default when `port:` is not given)"
                        } else {
                            ""
                        }
                    ),
                )
                .label(at, "same port")
                .label(
                    ir.spans
                        .service(first)
                        .port
                        .unwrap_or(ir.spans.service(first).name),
                    "first here",
                )
                .help("give each service its own port"),
            );
        } else {
            ports.insert(service.port, id);
        }

        // Lowering keeps each quantity in range; limits are checked against requests here.
        let r = &service.resources;
        for (what, limit, request, limit_span, request_span) in [
            (
                "CPU",
                u64::from(r.cpu_limit_millicores),
                u64::from(r.cpu_millicores),
                spans.cpu_limit,
                spans.cpu,
            ),
            (
                "memory",
                r.memory_limit_bytes,
                r.memory_bytes,
                spans.memory_limit,
                spans.memory,
            ),
        ] {
            if limit < request && limit > 0 {
                diags.push(
                    Diagnostic::error(
                        Code::BadResources,
                        format!(
                            "the {what} limit of `{}` is below what it reserves",
                            service.name
                        ),
                    )
                    .label(limit_span.unwrap_or(spans.name), "limit")
                    .label(request_span.unwrap_or(spans.name), "request"),
                );
            }
        }
    }

    // SQLite: one process, one copy.
    let mut sqlite_users: FxHashMap<crate::ir::DatabaseId, Vec<ServiceId>> = FxHashMap::default();
    for (service_id, service) in ir.services.iter() {
        for component in &service.components {
            let Some(id) = component.try_id() else {
                continue;
            };
            let mut stores = Vec::new();
            match &ir.components[id].kind {
                ComponentKind::Store { .. } => stores.push(id),
                ComponentKind::Api { exposes, .. } => {
                    stores.extend(exposes.iter().filter_map(|e| e.store.try_id()));
                }
                ComponentKind::Sink { store: Some(s) } => stores.extend(s.try_id()),
                _ => {}
            }
            for store in stores {
                if let ComponentKind::Store { database, .. } = &ir.components[store].kind {
                    let Some(db) = database.try_id() else {
                        continue;
                    };
                    if ir.databases[db].engine == Engine::Sqlite {
                        let users = sqlite_users.entry(db).or_default();
                        if !users.contains(&service_id) {
                            users.push(service_id);
                        }
                    }
                }
            }
        }
    }
    let mut sqlite: Vec<_> = sqlite_users.into_iter().collect();
    sqlite.sort_unstable();
    for (db_id, users) in sqlite {
        let database = &ir.databases[db_id];
        for &service_id in &users {
            let service = &ir.services[service_id];
            if service.replicas > 1 {
                let spans = ir.spans.service(service_id);
                diags.push(
                    Diagnostic::error(
                        Code::SqliteShared,
                        format!(
                            "service `{}` runs {} copies, but uses SQLite database `{}`",
                            service.name, service.replicas, database.name
                        ),
                    )
                    .label(spans.replicas.unwrap_or(spans.name), "more than one copy")
                    .label(ir.spans.database(db_id).name, "SQLite")
                    .help("a SQLite file belongs to one process: run one replica, or move to PostgreSQL"),
                );
            }
        }
        if let [first, second, ..] = users.as_slice() {
            diags.push(
                Diagnostic::error(
                    Code::SqliteShared,
                    format!(
                        "services `{}` and `{}` both use SQLite database `{}`",
                        ir.services[*first].name, ir.services[*second].name, database.name
                    ),
                )
                .label(ir.spans.service(*second).name, "second user")
                .label(ir.spans.database(db_id).name, "SQLite")
                .help("a SQLite file belongs to one process: keep its users in one service"),
            );
        }
    }
}

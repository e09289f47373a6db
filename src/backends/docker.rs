//! The `docker` backend: a multi-stage `Dockerfile` for the generated service, its
//! `.dockerignore`, `compose.yaml` with the services, the databases the deployment runs and
//! (when monitoring is on) their exporters, Prometheus and Grafana, and `.env.example`
//! naming every credential compose reads from `.env`.
//!
//! Names, ports, paths and environment come from the deployment facts; the monitoring files
//! it mounts are the monitoring backend's (`needs`), so every mount exists in the output.
//! Images are pinned to a version; the databases are the engines the test suite applies the
//! DDL to (PostgreSQL 15, MariaDB 10.11).

use super::monitoring::{
    GRAFANA_DASHBOARDS_DIR, GRAFANA_DASHBOARDS_PATH, GRAFANA_PROVISIONING_DIR, PROMETHEUS_DIR,
};
use super::{Backend, Emitted, Templates};
use crate::Analysed;
use crate::diag::Diagnostics;
use crate::ir::{Engine, Target};
use crate::passes::{DATABASE_USER, EnvFacts, database_env, host_name};
use serde_json::{Value, json};

pub struct DockerBackend;

pub const BUILD_IMAGE: &str = "rust:1.95-slim-bookworm";
pub const RUN_IMAGE: &str = "debian:bookworm-slim";
pub const POSTGRES_IMAGE: &str = "postgres:15.10-bookworm";
pub const MARIADB_IMAGE: &str = "mariadb:10.11.10";
pub const POSTGRES_EXPORTER_IMAGE: &str = "quay.io/prometheuscommunity/postgres-exporter:v0.16.0";
pub const MYSQLD_EXPORTER_IMAGE: &str = "prom/mysqld-exporter:v0.16.0";
pub const PROMETHEUS_IMAGE: &str = "prom/prometheus:v2.53.3";
pub const GRAFANA_IMAGE: &str = "grafana/grafana:11.3.0";
/// Grafana's admin password, which compose reads from `.env`.
pub const GRAFANA_PASSWORD_ENV: &str = "GRAFANA_ADMIN_PASSWORD";

/// A database server the deployment runs, the same in compose and in Kubernetes: the
/// image, its settings and the command that says it takes connections.
pub struct DatabaseServer {
    pub image: &'static str,
    pub title: &'static str,
    pub port: u16,
    pub data_path: &'static str,
    /// The image's settings, but the password: user, database, ….
    pub settings: Vec<(&'static str, String)>,
    /// The variable the image reads the password of `DATABASE_USER` from.
    pub password_var: &'static str,
    /// Succeeds once the server takes connections.
    pub probe: Vec<String>,
}

/// The server of a database on `engine`; none for SQLite, which lives in its service.
pub fn database_server(engine: Engine, database: &str) -> Option<DatabaseServer> {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect();
    match engine {
        Engine::Postgresql => Some(DatabaseServer {
            image: POSTGRES_IMAGE,
            title: "PostgreSQL 15",
            port: 5432,
            data_path: "/var/lib/postgresql/data",
            settings: vec![
                ("POSTGRES_USER", DATABASE_USER.to_owned()),
                ("POSTGRES_DB", database.to_owned()),
            ],
            password_var: "POSTGRES_PASSWORD",
            // Over TCP: while the image initialises the database, its temporary server
            // listens on the Unix socket alone.
            probe: args(&[
                "pg_isready",
                "-h",
                "127.0.0.1",
                "-U",
                DATABASE_USER,
                "-d",
                database,
            ]),
        }),
        Engine::Mysql => Some(DatabaseServer {
            image: MARIADB_IMAGE,
            title: "MariaDB 10.11 (the spec's engine is mysql)",
            port: 3306,
            data_path: "/var/lib/mysql",
            settings: vec![
                ("MARIADB_USER", DATABASE_USER.to_owned()),
                ("MARIADB_DATABASE", database.to_owned()),
                ("MARIADB_RANDOM_ROOT_PASSWORD", "1".to_owned()),
                ("MARIADB_ROOT_HOST", "localhost".to_owned()),
            ],
            password_var: "MARIADB_PASSWORD",
            probe: args(&["healthcheck.sh", "--connect", "--innodb_initialized"]),
        }),
        Engine::Sqlite => None,
    }
}

/// The Prometheus exporter of a database server at `host`.
pub struct ExporterImage {
    pub image: &'static str,
    pub args: Vec<String>,
    pub settings: Vec<(&'static str, String)>,
    /// The variable it reads the database password from.
    pub password_var: &'static str,
}

pub fn exporter_image(engine: Engine, host: &str, port: u16, database: &str) -> ExporterImage {
    match engine {
        Engine::Postgresql => ExporterImage {
            image: POSTGRES_EXPORTER_IMAGE,
            args: vec![],
            settings: vec![
                (
                    "DATA_SOURCE_URI",
                    format!("{host}:{port}/{database}?sslmode=disable"),
                ),
                ("DATA_SOURCE_USER", DATABASE_USER.to_owned()),
            ],
            password_var: "DATA_SOURCE_PASS",
        },
        _ => ExporterImage {
            image: MYSQLD_EXPORTER_IMAGE,
            args: vec![
                format!("--mysqld.address={host}:{port}"),
                format!("--mysqld.username={DATABASE_USER}"),
            ],
            settings: vec![],
            password_var: "MYSQLD_EXPORTER_PASSWORD",
        },
    }
}

/// `[{name, value}]` of settings and the password, as compose's template takes them.
fn environment(settings: &[(&str, String)], password: Option<(&str, String)>) -> Vec<Value> {
    settings
        .iter()
        .map(|(n, v)| (*n, v.clone()))
        .chain(password)
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}

/// A value compose takes from `.env`, refusing to start without it.
fn from_env(name: &str) -> String {
    format!("${{{name}:?set {name} in .env (see .env.example)}}")
}

fn env_value(e: &EnvFacts) -> String {
    e.value.clone().unwrap_or_else(|| from_env(&e.name))
}

/// A size as compose reads it: `512m`, `1g`, or bytes.
fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes % unit == 0)
        .map_or_else(
            || format!("{bytes}b"),
            |(unit, suffix)| format!("{}{suffix}", bytes / unit),
        )
}

fn cpus(millicores: u32) -> String {
    super::monitoring::promql::number(f64::from(millicores) / 1000.0)
}

impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn description(&self) -> &'static str {
        "Dockerfile, .dockerignore and compose.yaml with databases and the monitoring stack"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["monitoring"]
    }

    #[allow(clippy::too_many_lines)]
    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics> {
        let mut emitted = Emitted::default();
        let ir = analysed.ir();
        if !ir.targets.contains(&Target::Compose) {
            emitted.report.dropped(
                "deploy.targets",
                "compose is not a deploy target: no compose file",
            );
        }
        let compose_target = ir.targets.contains(&Target::Compose);
        let facts = &analysed.facts().deploy;
        let templates = Templates::for_backend("docker");
        let version = env!("CARGO_PKG_VERSION");
        let system = ir.system.name.as_str();
        let image = &facts.image;
        let image_ref = format!("{}:{}", image.name, image.tag);
        let binary_path = format!("/usr/local/bin/{}", image.binary);
        let mut services: Vec<Value> = Vec::new();
        let mut volumes: Vec<String> = Vec::new();
        let mut secrets: Vec<(String, String)> = Vec::new();
        let mut secret = |name: &str, description: String| {
            if !secrets.iter().any(|(n, _)| n == name) {
                secrets.push((name.to_owned(), description));
            }
        };

        // The databases the deployment runs, and their exporters.
        for db in ir.databases.values() {
            let url_env = database_env(&db.name, "URL");
            let password_env = database_env(&db.name, "PASSWORD");
            let host = host_name(&db.name);
            if db.engine == Engine::Sqlite {
                // On the volume of the service that uses it (see below).
                continue;
            }
            secret(
                &password_env,
                format!(
                    "the password of user `{DATABASE_USER}` on database `{}`",
                    db.name
                ),
            );
            if db.external {
                secret(
                    &url_env,
                    format!(
                        "where the external database `{}` is, without its password",
                        db.name
                    ),
                );
                if compose_target {
                    emitted.report.approximated(
                        format!("database {}", db.name),
                        "external: compose runs no server for it; set its address in .env",
                    );
                }
                continue;
            }
            let volume = format!("{host}-data");
            let server = database_server(db.engine, &db.name).expect("not SQLite");
            services.push(json!({
                "name": host,
                "comment": format!("database `{}`: {}", db.name, server.title),
                "image": server.image,
                "restart": "unless-stopped",
                "environment": environment(
                    &server.settings,
                    Some((server.password_var, from_env(&password_env))),
                ),
                "volumes": [format!("{volume}:{}", server.data_path)],
                "healthcheck": std::iter::once("CMD".to_owned()).chain(server.probe).collect::<Vec<_>>(),
            }));
            volumes.push(volume);
        }
        let monitoring = facts.monitoring.as_ref();
        if monitoring.is_some() {
            for exporter in &facts.exporters {
                let host = host_name(&exporter.database);
                let server = database_server(exporter.engine, &exporter.database)
                    .expect("exporters are for servers");
                let image = exporter_image(exporter.engine, &host, server.port, &exporter.database);
                let password = from_env(&database_env(&exporter.database, "PASSWORD"));
                let command = if image.args.is_empty() {
                    Value::Null
                } else {
                    json!(image.args)
                };
                let environment =
                    environment(&image.settings, Some((image.password_var, password)));
                services.push(json!({
                    "name": exporter.host,
                    "comment": format!("the Prometheus exporter of database `{}`", exporter.database),
                    "image": image.image,
                    "command": command,
                    "restart": "unless-stopped",
                    "environment": environment,
                    "depends_on": [{ "name": host, "condition": "service_healthy" }],
                }));
            }
        }

        let mut ports = Vec::new();
        for service in &facts.services {
            let spec = ir
                .services
                .values()
                .find(|s| s.name == service.name)
                .expect("facts name the IR's services");
            let environment: Vec<Value> = service
                .env
                .iter()
                .map(|e| json!({ "name": e.name, "value": env_value(e) }))
                .collect();
            for e in service.env.iter().filter(|e| e.value.is_none()) {
                secret(&e.name, e.description.clone());
            }
            let mut volumes_of = Vec::new();
            let mut databases_ready = Vec::new();
            let mut uses_sqlite = false;
            for db in &service.databases {
                let d = ir
                    .databases
                    .values()
                    .find(|d| &d.name == db)
                    .expect("facts name the IR's databases");
                if d.engine == Engine::Sqlite {
                    uses_sqlite = true;
                } else if !d.external {
                    databases_ready
                        .push(json!({ "name": host_name(db), "condition": "service_healthy" }));
                }
            }
            if uses_sqlite {
                // One volume per service holds its SQLite files.
                let volume = format!("{}-data", service.host);
                volumes_of.push(format!("{volume}:/data"));
                volumes.push(volume);
            }
            let migrate = format!("{}-migrate", service.host);
            services.push(json!({
                "name": migrate,
                "comment": format!("applies the schema to the databases of `{}`, then exits", service.name),
                "build": true,
                "image": image_ref,
                "command": image.migrate,
                "restart": "no",
                "user": format!("{0}:{0}", image.uid),
                "tmpfs": ["/tmp"],
                "environment": environment,
                "volumes": volumes_of,
                "depends_on": databases_ready,
                "healthcheck_disable": true,
            }));
            let mut depends =
                vec![json!({ "name": migrate, "condition": "service_completed_successfully" })];
            depends.extend(databases_ready.iter().cloned());
            let port = if spec.replicas > 1 {
                if compose_target {
                    emitted.report.approximated(
                    format!("service {}", service.name),
                    format!(
                        "{} replicas: compose publishes each on a loopback port of its own choosing, not on {}",
                        spec.replicas, service.port
                    ),
                );
                }
                format!("127.0.0.1::{}", service.port)
            } else {
                format!("127.0.0.1:{0}:{0}", service.port)
            };
            ports.push(service.port);
            let mut healthcheck = vec!["CMD".to_owned(), binary_path.clone()];
            healthcheck.extend(image.healthcheck.iter().cloned());
            services.push(json!({
                "name": service.host,
                "comment": format!("service `{}`", service.name),
                "build": true,
                "image": image_ref,
                "command": image.serve,
                "restart": "unless-stopped",
                "user": format!("{0}:{0}", image.uid),
                "tmpfs": ["/tmp"],
                "environment": environment,
                "ports": [port],
                "volumes": volumes_of,
                "depends_on": depends,
                "healthcheck": healthcheck,
                "stop_grace_period": format!("{}s", service.stop_grace_seconds),
                "deploy": {
                    "replicas": spec.replicas,
                    "cpus": cpus(spec.resources.cpu_millicores),
                    "cpus_limit": cpus(spec.resources.cpu_limit_millicores),
                    "memory": size(spec.resources.memory_bytes),
                    "memory_limit": size(spec.resources.memory_limit_bytes),
                },
            }));
        }

        if let Some(m) = monitoring {
            let config = "prometheus.yml";
            services.push(json!({
                "name": m.prometheus_host,
                "comment": "Prometheus, with the monitoring backend's config and rules",
                "image": PROMETHEUS_IMAGE,
                "command": [
                    format!("--config.file=/etc/prometheus/{config}"),
                    "--storage.tsdb.path=/prometheus",
                    format!("--storage.tsdb.retention.time={}", super::monitoring::promql::duration(m.retention_ms)),
                ],
                "restart": "unless-stopped",
                "ports": [format!("127.0.0.1:{0}:{0}", m.prometheus_port)],
                "volumes": [format!("./{PROMETHEUS_DIR}:/etc/prometheus:ro"), "prometheus-data:/prometheus".to_owned()],
                "healthcheck": ["CMD", "wget", "-q", "--spider", format!("http://localhost:{}/-/ready", m.prometheus_port)],
            }));
            volumes.push("prometheus-data".to_owned());
            secret(
                GRAFANA_PASSWORD_ENV,
                "the password of Grafana's `admin` user".to_owned(),
            );
            services.push(json!({
                "name": m.grafana_host,
                "comment": "Grafana, with the monitoring backend's datasource and dashboard",
                "image": GRAFANA_IMAGE,
                "restart": "unless-stopped",
                "environment": [{ "name": "GF_SECURITY_ADMIN_PASSWORD", "value": from_env(GRAFANA_PASSWORD_ENV) }],
                "ports": [format!("127.0.0.1:{0}:{0}", m.grafana_port)],
                "volumes": [
                    format!("./{GRAFANA_PROVISIONING_DIR}:/etc/grafana/provisioning:ro"),
                    format!("./{GRAFANA_DASHBOARDS_DIR}:{GRAFANA_DASHBOARDS_PATH}:ro"),
                    "grafana-data:/var/lib/grafana".to_owned(),
                ],
                "depends_on": [{ "name": m.prometheus_host, "condition": "service_healthy" }],
                "healthcheck": ["CMD-SHELL", format!("wget -q --spider http://localhost:{}/api/health || exit 1", m.grafana_port)],
            }));
            volumes.push("grafana-data".to_owned());
        }
        ports.sort_unstable();
        ports.dedup();

        // Every service has every key the template reads (strict undefined).
        for service in &mut services {
            let map = service.as_object_mut().expect("services are objects");
            for key in [
                "build",
                "command",
                "restart",
                "user",
                "tmpfs",
                "healthcheck",
                "deploy",
                "healthcheck_disable",
            ] {
                map.entry(key).or_insert(Value::Null);
            }
            for key in ["environment", "ports", "volumes", "depends_on"] {
                map.entry(key).or_insert(Value::Array(vec![]));
            }
        }
        let base = json!({ "v5c_version": version, "system": system });
        let mut files = vec![
            (
                "Dockerfile".to_owned(),
                templates.render(
                    "Dockerfile.j2",
                    json!({
                        "v5c_version": version,
                        "system": system,
                        "crate_dir": image.crate_dir,
                        "build_image": BUILD_IMAGE,
                        "run_image": RUN_IMAGE,
                        "binary": image.binary,
                        "uid": image.uid,
                        "ports": ports,
                        "healthcheck": std::iter::once(binary_path.clone()).chain(image.healthcheck.iter().cloned()).collect::<Vec<_>>(),
                        "serve": image.serve,
                    }),
                )?,
            ),
            (
                ".dockerignore".to_owned(),
                templates.render(
                    "dockerignore.j2",
                    json!({ "v5c_version": version, "system": system, "crate_dir": image.crate_dir }),
                )?,
            ),
        ];
        if ir.targets.contains(&Target::Compose) {
            files.push((
                "compose.yaml".to_owned(),
                templates.render(
                    "compose.yaml.j2",
                    json!({ "v5c_version": version, "system": system, "services": services, "volumes": volumes }),
                )?,
            ));
        }
        // For compose's `.env` and for the Kubernetes Secret alike.
        let variables: Vec<Value> = secrets
            .iter()
            .map(|(name, description)| json!({ "name": name, "description": description }))
            .collect();
        let mut context = base;
        context["variables"] = Value::Array(variables);
        files.push((
            ".env.example".to_owned(),
            templates.render("env.example.j2", context)?,
        ));

        emitted.with_files(files)
    }
}

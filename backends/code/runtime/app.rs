//! The commands of the binary: `serve`, `migrate` and `healthcheck`; configuration from the
//! environment, checked before anything starts; graceful shutdown.

use super::db::{Db, PoolSettings};
use super::http::{self, AppState};
use super::metrics::Registry;
use super::model::{Service, System};
use super::values::Engine;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

const USAGE: &str = "usage: BINARY [serve | migrate | healthcheck]

  serve        answer HTTP on $PORT (the default)
  migrate      apply the schema to each database of the service that has none
  healthcheck  exit 0 when the service on $PORT answers /readyz with 200

Configuration is read from the environment: V5C_SERVICE, PORT, LOG_LEVEL, and for each
database DB_<NAME>_URL, DB_<NAME>_PASSWORD, and optionally DB_<NAME>_POOL_MIN,
DB_<NAME>_POOL_MAX, DB_<NAME>_ACQUIRE_TIMEOUT_MS, DB_<NAME>_IDLE_TIMEOUT_MS.";

/// Everything the environment says, checked.
pub struct Config {
    pub service: &'static Service,
    pub port: u16,
    pub log_level: tracing::Level,
    /// (database index, URL, password, pool settings), for each database of the service.
    pub databases: Vec<(usize, String, Option<String>, PoolSettings)>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the environment; every problem is reported, not only the first.
    pub fn from_env(system: &'static System) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let names: Vec<&str> = system.services.iter().map(|s| s.name).collect();
        let service = match var("V5C_SERVICE") {
            Some(name) => system.services.iter().find(|s| s.name == name).or_else(|| {
                problems.push(format!(
                    "V5C_SERVICE: `{name}` is not a service of {}; the services are {}",
                    system.name,
                    names.join(", ")
                ));
                None
            }),
            None if system.services.len() == 1 => system.services.first(),
            None => {
                problems.push(format!(
                    "V5C_SERVICE is not set: say which service to run ({})",
                    names.join(", ")
                ));
                None
            }
        };
        let port = match var("PORT") {
            Some(text) => text
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .unwrap_or_else(|| {
                    problems.push(format!("PORT: `{text}` is not a port number (1 to 65535)"));
                    0
                }),
            None => service.map_or(8080, |s| s.port),
        };
        let log_level = match var("LOG_LEVEL").as_deref().unwrap_or("info") {
            "error" => tracing::Level::ERROR,
            "warn" => tracing::Level::WARN,
            "info" => tracing::Level::INFO,
            "debug" => tracing::Level::DEBUG,
            "trace" => tracing::Level::TRACE,
            other => {
                problems.push(format!(
                    "LOG_LEVEL: `{other}` is not one of error, warn, info, debug, trace"
                ));
                tracing::Level::INFO
            }
        };
        let mut databases = Vec::new();
        for &i in service.map_or(&[][..], |s| s.databases) {
            let db = &system.databases[i];
            let env = |what: &str| format!("DB_{}_{what}", db.env);
            let url = var(&env("URL"));
            match &url {
                None => problems.push(format!(
                    "{} is not set: where database `{}` ({}) is",
                    env("URL"),
                    db.name,
                    db.engine_name
                )),
                Some(url) => {
                    if let Err(problem) = check_url(db.engine, url) {
                        problems.push(format!("{}: {problem}", env("URL")));
                    }
                }
            }
            let mut number = |what: &str, default: u64| -> u64 {
                match var(&env(what)) {
                    Some(text) => text.parse::<u64>().unwrap_or_else(|_| {
                        problems.push(format!("{}: `{text}` is not a whole number", env(what)));
                        default
                    }),
                    None => default,
                }
            };
            let min = number("POOL_MIN", u64::from(db.pool_min));
            let max = number("POOL_MAX", u64::from(db.pool_max));
            let acquire = number("ACQUIRE_TIMEOUT_MS", db.acquire_timeout_ms);
            let idle = number("IDLE_TIMEOUT_MS", db.idle_timeout_ms);
            if max == 0 || max > 10_000 || min > max {
                problems.push(format!("{} and {}: the pool needs 1 to 10000 connections at most, and no more at least (min {min}, max {max})", env("POOL_MIN"), env("POOL_MAX")));
            }
            let settings = PoolSettings {
                min: u32::try_from(min).unwrap_or(0),
                max: u32::try_from(max).unwrap_or(1).max(1),
                acquire_timeout: Duration::from_millis(acquire.max(1)),
                idle_timeout: Duration::from_millis(idle.max(1)),
            };
            databases.push((i, url.unwrap_or_default(), var(&env("PASSWORD")), settings));
        }
        match service {
            Some(service) if problems.is_empty() => Ok(Config {
                service,
                port,
                log_level,
                databases,
            }),
            _ => Err(problems),
        }
    }
}

/// Whether `url` is one the database's engine takes, with the scheme of that engine.
fn check_url(engine: Engine, url: &str) -> Result<(), String> {
    let (schemes, parsed): (&[&str], Result<(), sqlx::Error>) = match engine {
        Engine::Postgresql => (
            &["postgres://", "postgresql://"],
            url.parse::<sqlx::postgres::PgConnectOptions>().map(|_| ()),
        ),
        Engine::Mysql => (
            &["mysql://", "mariadb://"],
            url.parse::<sqlx::mysql::MySqlConnectOptions>().map(|_| ()),
        ),
        Engine::Sqlite => (
            &["sqlite:"],
            url.parse::<sqlx::sqlite::SqliteConnectOptions>()
                .map(|_| ()),
        ),
    };
    if !schemes.iter().any(|s| url.starts_with(s)) {
        // The URL itself is not repeated: it may hold a password.
        return Err(format!(
            "the URL should start with {}",
            schemes.join(" or ")
        ));
    }
    parsed.map_err(|e| format!("the URL is not usable: {e}"))
}

/// Runs the command the arguments name.
pub fn main(system: &'static System, prefix_of: fn(&str) -> &'static str) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map_or("serve", String::as_str);
    if args.len() > 1 || !matches!(command, "serve" | "migrate" | "healthcheck") {
        let binary = std::env::args()
            .next()
            .unwrap_or_else(|| system.name.to_owned());
        eprintln!("{}", USAGE.replace("BINARY", &binary));
        return if matches!(command, "help" | "--help" | "-h") {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        };
    }
    if command == "healthcheck" {
        return healthcheck(system);
    }
    let config = match Config::from_env(system) {
        Ok(c) => c,
        Err(problems) => {
            eprintln!(
                "{}: the configuration in the environment is not usable:",
                system.name
            );
            for p in problems {
                eprintln!("  - {p}");
            }
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .json()
        .with_max_level(config.log_level)
        .with_current_span(false)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: cannot start the async runtime: {e}", system.name);
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if command == "migrate" {
            migrate(system, &config).await
        } else {
            serve(system, config, prefix_of).await
        }
    });
    // A source's loop that never returned still holds a blocking thread: it is left behind
    // rather than waited for (everything it emitted has been written by now).
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "{command} failed");
            ExitCode::FAILURE
        }
    }
}

fn connect(
    system: &'static System,
    config: &Config,
    metrics: &Arc<Registry>,
) -> Result<Vec<Option<Arc<Db>>>, String> {
    let mut dbs: Vec<Option<Arc<Db>>> = system.databases.iter().map(|_| None).collect();
    for (i, url, password, settings) in &config.databases {
        let db = Db::connect_lazy(
            &system.databases[*i],
            url,
            password.as_deref(),
            *settings,
            Arc::clone(metrics),
        )?;
        dbs[*i] = Some(Arc::new(db));
    }
    Ok(dbs)
}

async fn migrate(system: &'static System, config: &Config) -> Result<(), String> {
    let metrics = Arc::new(Registry::new(config.service.metrics));
    let dbs = connect(system, config, &metrics)?;
    for db in dbs.iter().flatten() {
        // A database that is still starting gets 60 seconds to answer.
        let mut waited = Duration::ZERO;
        while !db.ping().await {
            if waited >= Duration::from_secs(60) {
                return Err(format!(
                    "database `{}` did not answer for 60 seconds",
                    db.def.name
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            waited += Duration::from_secs(1);
        }
        let outcome = db.migrate().await?;
        tracing::info!(database = db.def.name, outcome, "schema");
    }
    Ok(())
}

async fn serve(
    system: &'static System,
    config: Config,
    prefix_of: fn(&str) -> &'static str,
) -> Result<(), String> {
    let service = config.service;
    let metrics = Arc::new(Registry::new(service.metrics));
    metrics.set(
        "service_info",
        &[system.name, service.name, system.version],
        1.0,
    );
    for (name, labels, value) in service.series {
        metrics.ensure(name, labels);
        metrics.add(name, labels, *value);
    }
    let dbs = connect(system, &config, &metrics)?;
    for db in dbs.iter().flatten() {
        metrics.set("db_up", &[db.def.name], 0.0);
        metrics.ensure("db_pool_acquire_timeouts_total", &[db.def.name]);
        metrics.ensure("db_pool_acquire_duration_seconds", &[db.def.name]);
        db.record_pool();
    }
    // db_up follows each database every five seconds, probed or not.
    let watched: Vec<Arc<Db>> = dbs.iter().flatten().cloned().collect();
    tokio::spawn(async move {
        loop {
            for db in &watched {
                db.ping().await;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    let dataflow = super::flow::Dataflow::start(
        service,
        &dbs,
        Arc::clone(&metrics),
        &super::dispatch::DATAFLOW,
    );
    let state = Arc::new(AppState {
        service,
        dataflow: std::sync::RwLock::new(Some(dataflow)),
        dbs,
        metrics,
        ingest_slots: tokio::sync::Semaphore::new(http::INGEST_SLOTS),
    });
    let drained = Arc::clone(&state);
    let app = http::router(state, prefix_of);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", config.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", config.port))?;
    tracing::info!(
        service = service.name,
        port = config.port,
        version = system.version,
        "serving"
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    shutdown_signal().await;
    tracing::info!("stopping: no new connections; finishing the requests in flight");
    let _ = stop_tx.send(());
    let served = match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(format!("the server failed: {e}")),
        Ok(Err(e)) => Err(format!("the server task failed: {e}")),
        Err(_) => Err(format!(
            "requests were still running {} seconds after the signal",
            SHUTDOWN_GRACE.as_secs()
        )),
    };
    // Whatever became of HTTP, every message taken goes through and every batch is written
    // before the process ends.
    let dataflow = drained
        .dataflow
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(dataflow) = dataflow {
        tracing::info!("draining the flows");
        dataflow.drain().await;
    }
    tracing::info!("stopped");
    served
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Asks the service on $PORT of this host for /readyz: the image has no HTTP client.
fn healthcheck(system: &System) -> ExitCode {
    // The port `serve` listens on: $PORT, or the service's port in the spec.
    let service = match var("V5C_SERVICE") {
        Some(name) => system.services.iter().find(|s| s.name == name),
        None => system
            .services
            .first()
            .filter(|_| system.services.len() == 1),
    };
    let port = var("PORT")
        .and_then(|p| p.parse::<u16>().ok())
        .or(service.map(|s| s.port))
        .unwrap_or(8080);
    let ask = || -> std::io::Result<String> {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        stream
            .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    };
    match ask() {
        Ok(answer) if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") => {
            ExitCode::SUCCESS
        }
        Ok(answer) => {
            eprintln!("not ready: {}", answer.lines().next().unwrap_or(""));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("no answer on port {port}: {e}");
            ExitCode::FAILURE
        }
    }
}

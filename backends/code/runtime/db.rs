//! The databases: pools sized from the spec, every query through bound parameters, errors
//! sorted into what a client is told, readiness, and applying the schema (`migrate`).

use super::metrics::Registry;
use super::model::Database;
use super::values::Engine;
use sqlx::Connection as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One database's pool.
pub enum Pool {
    Pg(sqlx::PgPool),
    My(sqlx::MySqlPool),
    Lite(sqlx::SqlitePool),
}

/// A row, each column read as text (see `values::Field::read`).
pub type Row = Vec<Option<String>>;

/// What went wrong with a query, as a client is told it.
#[derive(Debug)]
pub enum DbError {
    /// A unique constraint refused the row; the message names it.
    Unique(String),
    /// A foreign key refused the change.
    Reference(String),
    /// A check or NOT NULL constraint refused a value the service let through.
    Rejected(String),
    /// The database cannot be reached, or no connection was free in time.
    Unavailable(String),
    /// Anything else: a bug, logged, never shown.
    Internal(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::Database(d) => match d.kind() {
                ErrorKind::UniqueViolation => DbError::Unique(d.message().to_owned()),
                ErrorKind::ForeignKeyViolation => DbError::Reference(d.message().to_owned()),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    DbError::Rejected(d.message().to_owned())
                }
                // SQLite enforces RESTRICT with an internal trigger (code 1811).
                _ if d.message().contains("FOREIGN KEY constraint failed") => {
                    DbError::Reference(d.message().to_owned())
                }
                _ if d.code().is_some_and(|c| c.starts_with("22")) => {
                    DbError::Rejected(d.message().to_owned())
                }
                _ if transient(&**d) => DbError::Unavailable(d.message().to_owned()),
                _ => DbError::Internal(e.to_string()),
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => DbError::Unavailable(e.to_string()),
            _ => DbError::Internal(e.to_string()),
        }
    }
}

/// An error that says the database is away or too busy just now, so that the client may try
/// again: PostgreSQL's connection, resource and operator classes (shutting down after a
/// restart, too many connections) and serialization failures and deadlocks; MySQL's too many
/// connections, lock wait timeouts, deadlocks and lost connections; SQLite's busy and locked.
fn transient(d: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(my) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(my.number(), 1040 | 1053 | 1205 | 1213 | 1927 | 2006 | 2013);
    }
    let code = d.code().unwrap_or_default();
    if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
    }
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code == "40001"
        || code == "40P01"
}

/// An error after which the connection is of no more use (PostgreSQL's connection class, and
/// the operator's: a server restarting).
fn lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
                && (code.starts_with("08") || code.starts_with("57P"))
                || d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                    .is_some_and(|m| matches!(m.number(), 1053 | 1927 | 2006 | 2013))
        }
        _ => false,
    }
}

/// A database the service uses: its pool and its place in the spec.
pub struct Db {
    pub def: &'static Database,
    pub pool: Pool,
    metrics: Arc<Registry>,
}

/// Runs `$body` with `$p` bound to the pool, whatever its engine.
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match &$db.pool {
            Pool::Pg($p) => $body,
            Pool::My($p) => $body,
            Pool::Lite($p) => $body,
        }
    };
}

/// A connection whose query failed on the wire is closed rather than pooled: after a
/// database restart, the pool holds no dead connections.
macro_rules! checked {
    ($conn:expr, $result:expr) => {{
        let result = $result;
        if let Err(e) = &result {
            if lost(e) {
                $conn.close_on_drop();
            }
        }
        result
    }};
}

/// Binds every parameter of `$sql` and hands back the query.
macro_rules! query {
    ($sql:expr, $params:expr) => {{
        let mut q = sqlx::query($sql);
        for p in $params {
            q = q.bind(p.as_deref());
        }
        q
    }};
}

fn read_row<R: sqlx::Row>(row: &R) -> Result<Row, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    (0..row.len())
        .map(|i| match row.try_get::<Option<String>, _>(i) {
            Ok(text) => Ok(text),
            // A double the engine would print with fewer digits than it holds (SQLite's REAL)
            // is read as a double, and printed exactly here.
            Err(e) => match row.try_get::<Option<f64>, _>(i) {
                Ok(number) => Ok(number.map(|f| format!("{f:?}"))),
                Err(_) => Err(e),
            },
        })
        .collect()
}

/// Pool settings: the spec's, unless the environment overrides them.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub min: u32,
    pub max: u32,
    pub acquire_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Db {
    /// Makes the pool. Nothing connects yet: the service starts while a database is down, is
    /// not ready until it answers, and recovers by itself when it comes back.
    pub fn connect_lazy(
        def: &'static Database,
        url: &str,
        password: Option<&str>,
        settings: PoolSettings,
        metrics: Arc<Registry>,
    ) -> Result<Db, String> {
        fn options<DB: sqlx::Database>(s: PoolSettings) -> sqlx::pool::PoolOptions<DB> {
            sqlx::pool::PoolOptions::<DB>::new()
                .min_connections(s.min)
                .max_connections(s.max)
                .acquire_timeout(s.acquire_timeout)
                .idle_timeout(Some(s.idle_timeout))
                .test_before_acquire(false)
        }
        let bad = |e: sqlx::Error| {
            format!(
                "DB_{}_URL is not a usable {} URL: {e}",
                def.env, def.engine_name
            )
        };
        let pool = match def.engine {
            Engine::Postgresql => {
                let mut o: sqlx::postgres::PgConnectOptions = url.parse().map_err(bad)?;
                if let Some(p) = password {
                    o = o.password(p);
                }
                // Options travel as `-c name=value` words: a space in a value is escaped.
                let isolation = def.isolation.replace(' ', "\\ ");
                o = o.options([
                    ("TimeZone", "UTC"),
                    ("default_transaction_isolation", isolation.as_str()),
                ]);
                Pool::Pg(options(settings).connect_lazy_with(o))
            }
            Engine::Mysql => {
                let mut o: sqlx::mysql::MySqlConnectOptions = url.parse().map_err(bad)?;
                if let Some(p) = password {
                    o = o.password(p);
                }
                o = o.timezone(Some("+00:00".into())).charset("utf8mb4");
                let isolation = def.isolation.to_uppercase();
                Pool::My(
                    options(settings)
                        .after_connect(move |conn, _| {
                            let sql =
                                format!("SET SESSION TRANSACTION ISOLATION LEVEL {isolation}");
                            Box::pin(async move {
                                sqlx::query(&sql).execute(conn).await?;
                                Ok(())
                            })
                        })
                        .connect_lazy_with(o),
                )
            }
            Engine::Sqlite => {
                let o: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(bad)?;
                let o = o
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(settings.acquire_timeout);
                Pool::Lite(options(settings).connect_lazy_with(o))
            }
        };
        Ok(Db { def, pool, metrics })
    }

    /// Waits for a connection, measuring the wait.
    async fn acquire<DB: sqlx::Database>(
        &self,
        pool: &sqlx::Pool<DB>,
    ) -> Result<sqlx::pool::PoolConnection<DB>, DbError> {
        let start = Instant::now();
        let result = pool.acquire().await;
        let labels = [self.def.name];
        self.metrics.observe(
            "db_pool_acquire_duration_seconds",
            &labels,
            start.elapsed().as_secs_f64(),
        );
        match result {
            Ok(conn) => Ok(conn),
            Err(e) => {
                if matches!(e, sqlx::Error::PoolTimedOut) {
                    self.metrics.inc("db_pool_acquire_timeouts_total", &labels);
                }
                Err(e.into())
            }
        }
    }

    /// Every row `sql` selects. `keep` keeps its prepared statement for the next call; SQL
    /// that varies per request (a list's `LIMIT`) would churn the statement cache.
    pub async fn fetch_all(
        &self,
        sql: &str,
        params: &[Option<String>],
        keep: bool,
    ) -> Result<Vec<Row>, DbError> {
        on_pool!(self, p => {
            let mut conn = self.acquire(p).await?;
            let rows = checked!(conn, query!(sql, params).persistent(keep).fetch_all(&mut *conn).await)?;
            Ok(rows.iter().map(read_row).collect::<Result<_, _>>()?)
        })
    }

    pub async fn fetch_optional(
        &self,
        sql: &str,
        params: &[Option<String>],
    ) -> Result<Option<Row>, DbError> {
        on_pool!(self, p => {
            let mut conn = self.acquire(p).await?;
            let row = checked!(conn, query!(sql, params).fetch_optional(&mut *conn).await)?;
            Ok(row.as_ref().map(read_row).transpose()?)
        })
    }

    /// Runs `sql` and returns how many rows it changed.
    pub async fn execute(&self, sql: &str, params: &[Option<String>]) -> Result<u64, DbError> {
        on_pool!(self, p => {
            let mut conn = self.acquire(p).await?;
            Ok(checked!(conn, query!(sql, params).execute(&mut *conn).await)?.rows_affected())
        })
    }

    /// Runs each write in one transaction, all or nothing, and reads each written row back.
    /// A write is an INSERT or UPDATE; `RETURNING` reads the row where the engine has it,
    /// otherwise (MySQL) the row is selected by its key in the same transaction: the key the
    /// write named, or the one the database numbered.
    pub async fn write_all(&self, writes: &[Write]) -> Result<Vec<Option<Row>>, DbError> {
        // PostgreSQL and SQLite read a written row back with RETURNING.
        macro_rules! returning {
            ($p:expr) => {{
                let mut conn = self.acquire($p).await?;
                let result = async {
                    let mut out = Vec::with_capacity(writes.len());
                    let mut tx = conn.begin().await?;
                    for w in writes {
                        let row = query!(&w.sql, &w.params).fetch_optional(&mut *tx).await?;
                        out.push(row.as_ref().map(read_row).transpose()?);
                    }
                    tx.commit().await?;
                    Ok(out)
                }
                .await;
                Ok(checked!(conn, result)?)
            }};
        }
        match &self.pool {
            Pool::My(p) => {
                let mut conn = self.acquire(p).await?;
                let result = async {
                    let mut out = Vec::with_capacity(writes.len());
                    let mut tx = conn.begin().await?;
                    for w in writes {
                        let Some(select) = w.then_select.as_deref() else {
                            // A SELECT, or a write that reads nothing back.
                            let row = query!(&w.sql, &w.params).fetch_optional(&mut *tx).await?;
                            out.push(row.as_ref().map(read_row).transpose()?);
                            continue;
                        };
                        let done = query!(&w.sql, &w.params).execute(&mut *tx).await?;
                        let key = if w.keys.is_empty() && done.last_insert_id() > 0 {
                            vec![Some(done.last_insert_id().to_string())]
                        } else {
                            w.keys.clone()
                        };
                        let row = query!(select, &key).fetch_optional(&mut *tx).await?;
                        out.push(row.as_ref().map(read_row).transpose()?);
                    }
                    tx.commit().await?;
                    Ok(out)
                }
                .await;
                Ok(checked!(conn, result)?)
            }
            Pool::Pg(p) => returning!(p),
            Pool::Lite(p) => returning!(p),
        }
    }

    /// Whether the database answers now, within a second. Sets `db_up`.
    pub async fn ping(&self) -> bool {
        let answered = tokio::time::timeout(Duration::from_secs(1), async {
            on_pool!(self, p => {
                match p.acquire().await {
                    Ok(mut conn) => checked!(conn, sqlx::query("SELECT 1").execute(&mut *conn).await).is_ok(),
                    Err(_) => false,
                }
            })
        })
        .await;
        let ok = answered.unwrap_or_else(|_| {
            // No connection came free within the second: with every connection open and
            // busy, the database is answering them, and the service is loaded, not down.
            on_pool!(self, p => p.size() >= p.options().get_max_connections() && p.num_idle() == 0)
        });
        self.metrics
            .set("db_up", &[self.def.name], if ok { 1.0 } else { 0.0 });
        ok
    }

    /// Pool gauges, read when `/metrics` is scraped.
    pub fn record_pool(&self) {
        let (size, idle, max) =
            on_pool!(self, p => (p.size(), p.num_idle(), p.options().get_max_connections()));
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        self.metrics.set(
            "db_pool_connections",
            &[self.def.name, "idle"],
            f64::from(idle),
        );
        self.metrics.set(
            "db_pool_connections",
            &[self.def.name, "in_use"],
            f64::from(size - idle),
        );
        self.metrics
            .set("db_pool_max_connections", &[self.def.name], f64::from(max));
    }

    /// Applies the schema when the database has none; leaves it alone when it has this one;
    /// refuses when it has another. Several processes may run this at once: a lock (advisory
    /// on PostgreSQL, named on MySQL, the write lock on SQLite) lets one apply it.
    pub async fn migrate(&self) -> Result<&'static str, String> {
        let schema = self.def.schema;
        let digest = self.def.schema_digest;
        let failed = |e: sqlx::Error| format!("database `{}`: {e}", self.def.name);
        const RECORD: &str = "v5c_schema";
        match &self.pool {
            Pool::Pg(p) => {
                let mut conn = p.acquire().await.map_err(failed)?;
                // A session lock, taken before the transaction: a transaction's snapshot
                // could predate the lock under repeatable read or serializable (the spec's
                // isolation), and miss the schema the holder committed.
                sqlx::query("SELECT pg_advisory_lock(7436510911)")
                    .execute(&mut *conn)
                    .await
                    .map_err(failed)?;
                let result = async {
                    let mut tx = conn.begin().await.map_err(failed)?;
                    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .execute(&mut *tx)
                        .await
                        .map_err(failed)?;
                    sqlx::query(&format!("CREATE TABLE IF NOT EXISTS {RECORD} (digest TEXT NOT NULL, applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"))
                        .execute(&mut *tx).await.map_err(failed)?;
                    let found: Option<String> =
                        sqlx::query_scalar(&format!("SELECT digest FROM {RECORD}"))
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(failed)?;
                    if let Some(verdict) = verdict(self.def.name, found.as_deref(), digest) {
                        return verdict;
                    }
                    for statement in schema {
                        sqlx::query(statement)
                            .execute(&mut *tx)
                            .await
                            .map_err(failed)?;
                    }
                    sqlx::query(&format!("INSERT INTO {RECORD} (digest) VALUES ($1)"))
                        .bind(digest)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed)?;
                    tx.commit().await.map_err(failed)?;
                    Ok("applied")
                }
                .await;
                let _ = sqlx::query("SELECT pg_advisory_unlock(7436510911)")
                    .execute(&mut *conn)
                    .await;
                return result;
            }
            Pool::My(p) => {
                let mut conn = p.acquire().await.map_err(failed)?;
                let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('v5c_migrate', 120)")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(failed)?;
                if got != Some(1) {
                    return Err(format!(
                        "database `{}`: another migration held the lock for two minutes",
                        self.def.name
                    ));
                }
                let result = async {
                    sqlx::query(&format!("CREATE TABLE IF NOT EXISTS {RECORD} (digest VARCHAR(64) NOT NULL, applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"))
                        .execute(&mut *conn).await.map_err(failed)?;
                    let found: Option<String> = sqlx::query_scalar(&format!("SELECT digest FROM {RECORD}"))
                        .fetch_optional(&mut *conn).await.map_err(failed)?;
                    if let Some(verdict) = verdict(self.def.name, found.as_deref(), digest) {
                        return verdict;
                    }
                    // MySQL commits each DDL statement: a failure part way leaves what was made,
                    // and no record, so the next run refuses instead of guessing.
                    for statement in schema {
                        sqlx::query(statement).execute(&mut *conn).await.map_err(failed)?;
                    }
                    sqlx::query(&format!("INSERT INTO {RECORD} (digest) VALUES (?)")).bind(digest).execute(&mut *conn).await.map_err(failed)?;
                    Ok("applied")
                }
                .await;
                let _ = sqlx::query("SELECT RELEASE_LOCK('v5c_migrate')")
                    .execute(&mut *conn)
                    .await;
                return result;
            }
            Pool::Lite(p) => {
                let mut conn = p.acquire().await.map_err(failed)?;
                // BEGIN IMMEDIATE takes the write lock at once.
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut *conn)
                    .await
                    .map_err(failed)?;
                let result = async {
                    sqlx::query(&format!("CREATE TABLE IF NOT EXISTS {RECORD} (digest TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"))
                        .execute(&mut *conn).await.map_err(failed)?;
                    let found: Option<String> = sqlx::query_scalar(&format!("SELECT digest FROM {RECORD}"))
                        .fetch_optional(&mut *conn).await.map_err(failed)?;
                    if let Some(verdict) = verdict(self.def.name, found.as_deref(), digest) {
                        return verdict;
                    }
                    for statement in schema {
                        sqlx::query(statement).execute(&mut *conn).await.map_err(failed)?;
                    }
                    sqlx::query(&format!("INSERT INTO {RECORD} (digest) VALUES (?)")).bind(digest).execute(&mut *conn).await.map_err(failed)?;
                    Ok("applied")
                }
                .await;
                let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
                sqlx::query(end).execute(&mut *conn).await.map_err(failed)?;
                return result;
            }
        }
    }
}

/// What to do given the schema digest a database records: `None` to apply the schema.
fn verdict(
    database: &str,
    found: Option<&str>,
    digest: &str,
) -> Option<Result<&'static str, String>> {
    match found {
        None => None,
        Some(d) if d == digest => Some(Ok("already applied")),
        Some(d) => Some(Err(format!(
            "database `{database}` holds another version of the schema (digest {d}, this service's is {digest}); \
             v5c applies a schema to an empty database only, so change it with your migration tool first"
        ))),
    }
}

/// One write of a transaction (see [`Db::write_all`]).
pub struct Write {
    pub sql: String,
    pub params: Vec<Option<String>>,
    /// The row's key, when the request gave it: MySQL reads the row back by it, or else by
    /// the number the database gave it.
    pub keys: Vec<Option<String>>,
    /// MySQL: the SELECT that reads the row back by its key.
    pub then_select: Option<String>,
}

//! Storage: one schema over SQLite (embedded default) and PostgreSQL (past one machine).
//!
//! Diesel's query builder is typed by backend, so each query is written once and compiled
//! for both through [`dispatch!`] ([`dispatch_rows!`] for a query whose rows are read one at
//! a time); the connection pools, migrations and transactions that differ per backend live
//! here.

pub mod changes;
pub mod lookup;
pub mod models;
pub mod schema;
pub mod sql_types;
mod writes;

use crate::domain::DomainError;
use anyhow::Context;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// The versions of the SQLite migrations built into this binary, as SQLite records them.
pub fn sqlite_migration_versions() -> anyhow::Result<Vec<String>> {
    let migrations = diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(
        &SQLITE_MIGRATIONS,
    )
    .map_err(|e| anyhow::anyhow!("cannot list the migrations: {e}"))?;
    Ok(migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .collect())
}

/// Held while migrating so that instances starting together do not race each other.
const MIGRATION_LOCK_KEY: i64 = 0x706c_6163_656d_6174;

type PgPool = Pool<ConnectionManager<PgConnection>>;
type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// A pooled connection to whichever backend the service runs on.
pub enum DbConn {
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
}

/// Runs the same diesel code against the concrete connection of either backend.
#[macro_export]
macro_rules! dispatch {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg(pooled) => {
                let $c: &mut diesel::pg::PgConnection = &mut *pooled;
                $body
            }
            $crate::db::DbConn::Sqlite(pooled) => {
                let $c: &mut diesel::sqlite::SqliteConnection = &mut *pooled;
                $body
            }
        }
    };
}

/// Runs the same diesel query against either backend and hands its rows, one at a time as
/// they arrive, to `$body` as the iterator `$rows`: on PostgreSQL row by row, which would
/// otherwise hold the whole result in memory before the first row; SQLite always steps.
/// A query that cannot start returns its error from the enclosing function (`?`).
#[macro_export]
macro_rules! dispatch_rows {
    ($conn:expr, $query:expr, |$rows:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg(pooled) => {
                let c: &mut diesel::pg::PgConnection = &mut *pooled;
                let $rows = diesel::RunQueryDsl::load_iter::<_, diesel::pg::PgRowByRowLoadingMode>(
                    $query, c,
                )?;
                $body
            }
            $crate::db::DbConn::Sqlite(pooled) => {
                let c: &mut diesel::sqlite::SqliteConnection = &mut *pooled;
                let $rows = diesel::RunQueryDsl::load_iter::<
                    _,
                    diesel::connection::DefaultLoadingMode,
                >($query, c)?;
                $body
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The connection pools. On SQLite, writes go through a single connection so that writers
/// queue instead of spinning on SQLite's busy handler: the requests' writes wait on one
/// queue and are run in groups, one transaction per group (see [`writes`]); the group and
/// any other writer take turns for the connection in a first-come, first-served order
/// (`write_turn`), which keeps the slowest answers of a deadline burst close to the typical
/// ones. Readers run beside the writer thanks to WAL mode.
///
/// Reads too wait for a turn in first-come, first-served order, one turn per pooled
/// connection, before they take a blocking thread: a burst then queues in arrival order
/// instead of as blocked threads racing for the pool.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    read_turns: Arc<Semaphore>,
}

#[derive(Clone)]
enum Pools {
    Postgres(PgPool),
    Sqlite {
        readers: SqlitePool,
        writer: SqlitePool,
        write_turn: Arc<Semaphore>,
        writes: writes::Writes,
    },
}

#[derive(Debug)]
struct SqlitePragmas {
    writer: bool,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
             PRAGMA mmap_size = 268435456;",
        )
        .map_err(diesel::r2d2::Error::QueryError)?;
        if self.writer {
            // Each request of a group of writes has a savepoint, whose journal stays in
            // memory. The log is copied back into the file by the checkpointing thread (see
            // `writes`); the writer does it only if that thread falls far behind.
            conn.batch_execute(&format!(
                "PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = {};",
                writes::CHECKPOINT_FALLBACK_PAGES
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// What tells whether the database named by the URL changed: SQLite's change counter, asked
/// on one connection per server thread, or nothing on PostgreSQL.
pub fn change_watch(url: &str, threads: usize) -> anyhow::Result<changes::ChangeWatch> {
    match sqlite_path(url) {
        Some(path) => changes::ChangeWatch::sqlite(path, threads)
            .with_context(|| format!("cannot open SQLite database {path}")),
        None => Ok(changes::ChangeWatch::none()),
    }
}

/// The file path of a `sqlite://` database URL.
fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
}

impl Database {
    /// Opens pools for the database the URL names: `postgres://` or `postgresql://` for
    /// PostgreSQL, `sqlite://FILE` for SQLite (the file is created when missing).
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = Pool::builder()
                .max_size(pool_size)
                .connection_timeout(Duration::from_secs(10))
                .build(ConnectionManager::<PgConnection>::new(url))
                .context("cannot connect to PostgreSQL")?;
            Ok(Database::with(Pools::Postgres(pool), pool_size))
        } else if let Some(path) = sqlite_path(url) {
            let manager = || ConnectionManager::<SqliteConnection>::new(path);
            // A local file does not go stale: no liveness query on every checkout.
            let writer = Pool::builder()
                .max_size(1)
                .test_on_check_out(false)
                .connection_timeout(Duration::from_secs(30))
                .connection_customizer(Box::new(SqlitePragmas { writer: true }))
                .build(manager())
                .with_context(|| format!("cannot open SQLite database {path}"))?;
            let readers = Pool::builder()
                .max_size(pool_size)
                .test_on_check_out(false)
                .connection_timeout(Duration::from_secs(10))
                .connection_customizer(Box::new(SqlitePragmas { writer: false }))
                .build(manager())
                .with_context(|| format!("cannot open SQLite database {path}"))?;
            let write_turn = Arc::new(Semaphore::new(1));
            let writes = writes::Writes::start(path, writer.clone(), Arc::clone(&write_turn))
                .context("cannot start the writing thread")?;
            Ok(Database::with(
                Pools::Sqlite {
                    readers,
                    writer,
                    write_turn,
                    writes,
                },
                pool_size,
            ))
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite://FILE or postgres://…)")
        }
    }

    fn with(pools: Pools, pool_size: u32) -> Self {
        Database {
            pools,
            read_turns: Arc::new(Semaphore::new(pool_size as usize)),
        }
    }

    pub fn backend(&self) -> Backend {
        match &self.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// A connection for reading.
    pub fn reader(&self) -> Result<DbConn, diesel::r2d2::PoolError> {
        Ok(match &self.pools {
            Pools::Postgres(pool) => DbConn::Pg(pool.get()?),
            Pools::Sqlite { readers, .. } => DbConn::Sqlite(readers.get()?),
        })
    }

    /// A connection for writing.
    pub fn writer(&self) -> Result<DbConn, diesel::r2d2::PoolError> {
        Ok(match &self.pools {
            Pools::Postgres(pool) => DbConn::Pg(pool.get()?),
            Pools::Sqlite { writer, .. } => DbConn::Sqlite(writer.get()?),
        })
    }

    /// Applies every pending migration.
    pub fn migrate(&self) -> anyhow::Result<()> {
        match self.writer()? {
            DbConn::Pg(mut conn) => {
                conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
                let applied = conn.run_pending_migrations(PG_MIGRATIONS).map(|_| ());
                conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
                applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
            }
            DbConn::Sqlite(mut conn) => conn
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("migration failed: {e}")),
        }
    }

    /// Reverts the newest applied migration.
    pub fn revert_last(&self) -> anyhow::Result<()> {
        let result = match self.writer()? {
            DbConn::Pg(mut conn) => conn.revert_last_migration(PG_MIGRATIONS).map(|_| ()),
            DbConn::Sqlite(mut conn) => conn.revert_last_migration(SQLITE_MIGRATIONS).map(|_| ()),
        };
        result.map_err(|e| anyhow::anyhow!("reverting the last migration failed: {e}"))
    }

    /// Reverts every applied migration, newest first.
    pub fn revert_all(&self) -> anyhow::Result<()> {
        let result = match self.writer()? {
            DbConn::Pg(mut conn) => conn.revert_all_migrations(PG_MIGRATIONS).map(|_| ()),
            DbConn::Sqlite(mut conn) => conn.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        };
        result.map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))
    }

    /// Runs `work` on a reading connection, off the async threads.
    pub async fn read<T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let turn = Arc::clone(&self.read_turns)
            .acquire_owned()
            .await
            .map_err(|e| DomainError::internal(anyhow::anyhow!("read queue closed: {e}")))?;
        let db = self.clone();
        off_the_async_threads(move || {
            let mut conn = db.reader()?;
            let outcome = work(&mut conn);
            drop(conn);
            drop(turn);
            outcome
        })
        .await
    }

    /// Runs `work` in one write transaction, off the async threads: it all commits or none
    /// of it does, and the answer comes once it is stored.
    pub async fn write<T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.pools {
            Pools::Sqlite { writes, .. } => writes.run(work).await,
            Pools::Postgres(_) => {
                let db = self.clone();
                off_the_async_threads(move || {
                    let mut conn = db.writer()?;
                    write_transaction(&mut conn, work)
                })
                .await
            }
        }
    }

    /// Runs `work` in one write transaction from a thread that may block (the command
    /// line, seeding): it waits for its turn like a request does.
    pub fn write_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<DomainError> + From<diesel::result::Error>,
    {
        let _turn = match &self.pools {
            Pools::Sqlite { write_turn, .. } => Some(
                wait_here(Arc::clone(write_turn).acquire_owned()).map_err(|e| {
                    DomainError::internal(anyhow::anyhow!("write queue closed: {e}"))
                })?,
            ),
            Pools::Postgres(_) => None,
        };
        let mut conn = self.writer().map_err(DomainError::from)?;
        write_transaction(&mut conn, work)
    }
}

/// Waits for a future on the current thread, which sleeps until it is woken: the write turn
/// is a tokio semaphore, and the command line has no async runtime to await it on.
fn wait_here<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

/// The page cache of a bulk write on SQLite, in KiB: a demo load, a match run's
/// publication. At ten alliances' size such a write dirties far more pages than the usual
/// cache (2 MiB) holds, and each page spilled to the log before the commit is read back at
/// the next row that lands in it.
const BULK_WRITE_CACHE_KIB: i64 = 128 * 1024;

/// `PRAGMA cache_size` as SQLite answers it.
#[derive(diesel::QueryableByName)]
struct CacheSize {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    cache_size: i64,
}

/// Runs a bulk write with the SQLite connection's page cache raised, and sets it back after,
/// whether the write succeeded or not: the pages it took are freed once they are committed.
/// A failed write's error is the one answered. PostgreSQL has nothing to set.
pub fn with_page_cache<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let usual = match conn {
        DbConn::Sqlite(c) => {
            let usual = diesel::sql_query("PRAGMA cache_size")
                .get_result::<CacheSize>(&mut **c)?
                .cache_size;
            c.batch_execute(&format!("PRAGMA cache_size = -{BULK_WRITE_CACHE_KIB}"))?;
            Some(usual)
        }
        DbConn::Pg(_) => None,
    };
    let outcome = work(conn);
    let restored = match (usual, conn) {
        (Some(usual), DbConn::Sqlite(c)) => {
            c.batch_execute(&format!("PRAGMA cache_size = {usual}"))
        }
        _ => Ok(()),
    };
    let value = outcome?;
    restored?;
    Ok(value)
}

/// Runs blocking database work on tokio's blocking threads.
async fn off_the_async_threads<T, F>(work: F) -> Result<T, DomainError>
where
    F: FnOnce() -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DomainError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// Runs `work` in a transaction that takes the write lock up front on SQLite
/// (`BEGIN IMMEDIATE`), so that a transaction which reads before it writes cannot fail
/// half-way on a lock upgrade.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(&mut **c)?,
        DbConn::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")?
        }
    }
    let outcome = work(conn);
    finish_transaction(conn, outcome.is_ok())?;
    outcome
}

/// Runs `work` in a plain transaction, for reads that must see one consistent snapshot.
pub fn read_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction_sql(
            &mut **c,
            "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction(&mut **c)?,
    }
    let outcome = work(conn);
    finish_transaction(conn, outcome.is_ok())?;
    outcome
}

/// Checks that the database answers.
pub fn ping(conn: &mut DbConn) -> Result<(), diesel::result::Error> {
    dispatch!(conn, |c| c.batch_execute("SELECT 1"))
}

/// Commits the open transaction, or rolls it back when the work failed.
fn finish_transaction(conn: &mut DbConn, commit: bool) -> Result<(), diesel::result::Error> {
    match (commit, conn) {
        (true, DbConn::Pg(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
        (true, DbConn::Sqlite(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
        (false, DbConn::Pg(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
        (false, DbConn::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
    }
}

diesel::define_sql_function! {
    /// Text in lower case, so that a search ignores case on both backends (SQLite's `LIKE`
    /// ignores ASCII case, PostgreSQL's does not).
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

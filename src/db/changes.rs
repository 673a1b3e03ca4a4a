//! Answers reused while the database has not changed.
//!
//! On SQLite every instance of placemat shares one database file, and SQLite tells any
//! connection whether another one — of this instance or of another process — committed
//! since it last asked (`PRAGMA data_version`). Asking costs a few microseconds and no thread
//! hand-off, so a read that is answered often (the caller behind a token, a page of bases)
//! may keep its answer together with the version it was read at and give it again while the
//! version stands. Any commit anywhere moves the version, so nothing is ever given stale: a
//! write is seen by the next request on every instance.
//!
//! Asking SQLite takes and drops its file locks each time, a few system calls that cost a
//! request answered from a kept answer a tenth of its time. So each question first reads the
//! header of the database's WAL index (see [`WalIndexHeader`]) with one read of the `-shm`
//! file: SQLite itself finds a connection's data changed exactly when that header differs
//! from the one it saw last. While the header is the one read just before the last question
//! to SQLite, nothing was committed since, and that question's versions still hold.
//!
//! The callers behind tokens are kept with a version of their own: a count in the database
//! that triggers move on every update or removal of a user or a token (migration
//! `caller_changes`). It is read again whenever the data version moved, so a deadline
//! burst of applications, which changes neither, does not make every request look its
//! caller up again. The rules a student's ranked list is checked against (a cycle's
//! settings, the bases, their programs and seats) are kept the same way, under a count
//! moved by their own triggers (migration `list_rule_changes`).
//!
//! PostgreSQL has no such cheap signal (a query would cost what it saves), so there nothing
//! is reused and every read goes to the database.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::sqlite::{Sqlite, SqliteConnection};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// The version of the data this instance has seen, told by a few connections kept for
/// asking SQLite: one per server thread. The question runs on the server's own threads, so
/// it never waits: a connection another thread is using, or a database busy for a moment,
/// answers no version, and that request reads afresh.
///
/// SQLite's `data_version` of two connections cannot be compared (each counts the changes it
/// noticed itself), so the version given out is the instance's own: it moves whenever any
/// watching connection notices a change since that connection last asked. A commit made
/// before a question therefore always gives that question a newer version than any asked
/// before the commit, whichever connections answered them.
pub struct ChangeWatch {
    watchers: Vec<Mutex<Watcher>>,
    /// The database's WAL index; none when it cannot be read (the questions then all go to
    /// SQLite).
    index: Option<WalIndexHeader>,
    /// The WAL index header read just before the last question to SQLite, with what that
    /// question told.
    seen: Mutex<Option<(HeaderBytes, Versions)>>,
    version: AtomicI64,
    /// The highest count of caller changes read; the count only ever grows.
    callers: AtomicI64,
    /// The highest count of list rule changes read; it only ever grows too.
    list_rules: AtomicI64,
}

/// The versions of the data at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// Moves on any commit.
    pub data: i64,
    /// Moves on any change to users or tokens.
    pub callers: i64,
    /// Moves on any change to what a ranked list is checked against.
    pub list_rules: i64,
}

struct Watcher {
    conn: SqliteConnection,
    /// `data_version` when this connection last asked; none before its first question.
    seen: Option<i64>,
}

/// `PRAGMA data_version`, as a query diesel keeps prepared: asked on every request, it
/// should not be parsed again each time.
#[derive(Debug, Clone, Copy, QueryId)]
struct AskDataVersion;

impl QueryFragment<Sqlite> for AskDataVersion {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("PRAGMA data_version");
        Ok(())
    }
}

impl Query for AskDataVersion {
    type SqlType = BigInt;
}

impl RunQueryDsl<SqliteConnection> for AskDataVersion {}

/// The counts of caller changes and of list rule changes, kept prepared like
/// [`AskDataVersion`].
#[derive(Debug, Clone, Copy, QueryId)]
struct AskCounts;

impl QueryFragment<Sqlite> for AskCounts {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(
            "SELECT (SELECT version FROM caller_changes WHERE id = 1), \
             (SELECT version FROM list_rule_changes WHERE id = 1)",
        );
        Ok(())
    }
}

impl Query for AskCounts {
    type SqlType = (BigInt, BigInt);
}

impl RunQueryDsl<SqliteConnection> for AskCounts {}

impl ChangeWatch {
    /// Watches the SQLite file at `path` with one connection per server thread.
    pub fn sqlite(path: &str, threads: usize) -> anyhow::Result<Self> {
        let watchers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;")?;
                // A first read opens the database's WAL index, which the connection then
                // holds open (and so in place) as long as it lives.
                AskDataVersion.get_result::<i64>(&mut conn)?;
                conn.batch_execute("PRAGMA busy_timeout = 0")?;
                Ok(Mutex::new(Watcher { conn, seen: None }))
            })
            .collect::<anyhow::Result<_>>()?;
        let index = WalIndexHeader::open(path);
        Ok(Self {
            watchers,
            index,
            seen: Mutex::new(None),
            version: AtomicI64::new(0),
            callers: AtomicI64::new(0),
            list_rules: AtomicI64::new(0),
        })
    }

    /// Watches nothing: every read goes to the database.
    pub fn none() -> Self {
        Self {
            watchers: Vec::new(),
            index: None,
            seen: Mutex::new(None),
            version: AtomicI64::new(0),
            callers: AtomicI64::new(0),
            list_rules: AtomicI64::new(0),
        }
    }

    /// The version of the data now, or `None` when it cannot be told (PostgreSQL, or the
    /// question failed): then nothing may be reused.
    pub fn version(&self) -> Option<i64> {
        self.versions().map(|versions| versions.data)
    }

    /// The version of users and tokens now, or `None` when it cannot be told.
    pub fn callers_version(&self) -> Option<i64> {
        self.versions().map(|versions| versions.callers)
    }

    /// The version of the rules ranked lists are checked against now, or `None` when it
    /// cannot be told.
    pub fn list_rules_version(&self) -> Option<i64> {
        self.versions().map(|versions| versions.list_rules)
    }

    fn versions(&self) -> Option<Versions> {
        let header = self.index.as_ref().and_then(WalIndexHeader::read);
        if let (Some(header), Ok(seen)) = (header, self.seen.lock()) {
            if let Some((at, versions)) = *seen {
                if at == header {
                    return Some(versions);
                }
            }
        }
        let mut watcher = self.watchers.iter().find_map(|w| w.try_lock().ok())?;
        let versions = self.ask(&mut watcher)?;
        // A header read before a later commit may be noted after that commit's: it is then
        // unlike every header read from now on, and only sends the next question to SQLite.
        if let (Some(header), Ok(mut seen)) = (header, self.seen.lock()) {
            *seen = Some((header, versions));
        }
        Some(versions)
    }

    /// Asks one connection, moving the version when it noticed a change, and reading the
    /// counts of caller and list rule changes again then.
    fn ask(&self, watcher: &mut Watcher) -> Option<Versions> {
        let now = AskDataVersion.get_result::<i64>(&mut watcher.conn).ok()?;
        if watcher.seen != Some(now) {
            let (callers, list_rules) =
                AskCounts.get_result::<(i64, i64)>(&mut watcher.conn).ok()?;
            self.callers.fetch_max(callers, Ordering::SeqCst);
            self.list_rules.fetch_max(list_rules, Ordering::SeqCst);
            self.version.fetch_add(1, Ordering::SeqCst);
            // Noted last: a failed read above is asked again by the next question.
            watcher.seen = Some(now);
        }
        Some(Versions {
            data: self.version.load(Ordering::SeqCst),
            callers: self.callers.load(Ordering::SeqCst),
            list_rules: self.list_rules.load(Ordering::SeqCst),
        })
    }
}

/// The bytes of one copy of the WAL index header.
type HeaderBytes = [u8; WalIndexHeader::LEN];

/// The header of a SQLite database's WAL index: the first bytes of the `-shm` file beside a
/// database in WAL mode, which every connection to it maps into memory. A commit rewrites the
/// header (its change counter, its frame count and checksums), and SQLite's readers tell a
/// change by comparing the whole header with the one they read before. The file holds the
/// header twice; a writer writes the second copy, then the first, so a reader that finds the
/// two unequal caught a commit halfway. The layout is SQLite's documented WAL-index format
/// (<https://sqlite.org/walformat.html>, "The WAL-Index Header"), which every version since
/// 3.7.0 shares, as processes of different versions may use one database together.
///
/// The file is opened once and never closed. POSIX drops every lock a process holds on a file
/// when the process closes any descriptor of it, and SQLite's connections in this process
/// lock the `-shm` file for as long as they are open: closing this descriptor would take
/// their locks away from under them.
struct WalIndexHeader {
    shm: std::mem::ManuallyDrop<std::fs::File>,
}

impl WalIndexHeader {
    /// One copy of the header.
    const LEN: usize = 48;
    /// The offset of `isInit`, zero until a connection has built the index.
    const IS_INIT: usize = 12;

    /// The WAL index of the database at `path`, if it is in WAL mode and open.
    fn open(path: &str) -> Option<Self> {
        std::fs::File::open(format!("{path}-shm"))
            .ok()
            .map(|shm| Self {
                shm: std::mem::ManuallyDrop::new(shm),
            })
    }

    /// The header now, or none when it cannot be told: a commit was writing it, the index
    /// is not built, or the file cannot be read.
    fn read(&self) -> Option<HeaderBytes> {
        let mut copies = [0u8; 2 * Self::LEN];
        read_at(&self.shm, &mut copies)?;
        let (first, second) = copies.split_at(Self::LEN);
        if first != second || first[Self::IS_INIT] == 0 {
            return None;
        }
        first.try_into().ok()
    }
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buffer: &mut [u8]) -> Option<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, 0).ok()
}

#[cfg(not(unix))]
fn read_at(_: &std::fs::File, _: &mut [u8]) -> Option<()> {
    None
}

/// Answers kept by key, each with the version of the data it was read at. It holds at most
/// `capacity` answers and forgets them all when full, so that requests asking for ever new
/// keys cannot make it grow.
pub struct Reused<K, V> {
    entries: Mutex<HashMap<K, (i64, V), foldhash::fast::RandomState>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> Reused<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::default()),
            capacity,
        }
    }

    /// The answer kept for `key`, if it was read at `version`.
    pub fn get(&self, key: &K, version: Option<i64>) -> Option<V> {
        let version = version?;
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(read_at, _)| *read_at == version)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value` as the answer for `key`, read at `version`. The version must have been
    /// asked before the value was read: a commit in between then only makes the answer look
    /// older than it is, and it is read again.
    pub fn put(&self, key: K, version: Option<i64>, value: V) {
        let Some(version) = version else {
            return;
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(key, (version, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_given_only_at_the_version_it_was_read_at() {
        let reused = Reused::new(2);
        reused.put("a", Some(1), 10);
        assert_eq!(reused.get(&"a", Some(1)), Some(10));
        assert_eq!(reused.get(&"a", Some(2)), None);
        assert_eq!(reused.get(&"a", None), None);
        reused.put("b", None, 20);
        assert_eq!(reused.get(&"b", Some(1)), None);
    }

    #[test]
    fn a_full_store_forgets_everything_before_taking_a_new_key() {
        let reused = Reused::new(2);
        reused.put("a", Some(1), 1);
        reused.put("b", Some(1), 2);
        reused.put("b", Some(1), 3);
        assert_eq!(reused.get(&"a", Some(1)), Some(1));
        reused.put("c", Some(1), 4);
        assert_eq!(reused.get(&"a", Some(1)), None);
        assert_eq!(reused.get(&"c", Some(1)), Some(4));
    }

    /// A database in WAL mode with a table and the counts of caller and list rule changes, a
    /// connection writing to it and a watch on it with two connections.
    fn watched_database() -> (tempfile::TempDir, SqliteConnection, ChangeWatch) {
        database_in_mode("WAL", 2)
    }

    /// The same database in the given journal mode, watched by `watchers` connections.
    fn database_in_mode(
        journal_mode: &str,
        watchers: usize,
    ) -> (tempfile::TempDir, SqliteConnection, ChangeWatch) {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("watched.db");
        let path = path.to_str().expect("a UTF-8 path");
        let mut writer = SqliteConnection::establish(path).expect("opens");
        writer
            .batch_execute(&format!(
                "PRAGMA journal_mode = {journal_mode}; CREATE TABLE t (x INTEGER); \
                 CREATE TABLE caller_changes (id INTEGER PRIMARY KEY, version INTEGER NOT NULL); \
                 INSERT INTO caller_changes VALUES (1, 0); \
                 CREATE TABLE list_rule_changes (id INTEGER PRIMARY KEY, version INTEGER NOT NULL); \
                 INSERT INTO list_rule_changes VALUES (1, 0);"
            ))
            .expect("creates");
        let watch = ChangeWatch::sqlite(path, watchers).expect("watches");
        (folder, writer, watch)
    }

    #[test]
    fn a_commit_by_another_connection_moves_the_version() {
        let (_folder, mut writer, watch) = watched_database();
        let before = watch.version();
        assert!(before.is_some());
        assert_eq!(watch.version(), before, "nothing committed, nothing moved");
        writer
            .batch_execute("INSERT INTO t VALUES (1)")
            .expect("inserts");
        assert_ne!(watch.version(), before);
        assert_eq!(ChangeWatch::none().version(), None);
    }

    #[test]
    fn a_watch_whose_connections_are_all_in_use_tells_no_version_instead_of_waiting() {
        let (_folder, _writer, watch) = watched_database();
        let _first = watch.watchers[0].lock().expect("the first");
        let _second = watch.watchers[1].lock().expect("the second");
        assert_eq!(watch.version(), None);
    }

    #[test]
    fn an_unchanged_wal_index_tells_the_last_version_without_asking_and_a_commit_asks_again() {
        let (_folder, mut writer, watch) = watched_database();
        assert!(watch.index.is_some(), "the database is in WAL mode");
        let told = watch.version().expect("a version");
        {
            // With every connection busy, only the WAL index can answer.
            let _first = watch.watchers[0].lock().expect("the first");
            let _second = watch.watchers[1].lock().expect("the second");
            assert_eq!(watch.version(), Some(told), "nothing was committed");
            writer
                .batch_execute("INSERT INTO t VALUES (1)")
                .expect("inserts");
            assert_eq!(watch.version(), None, "a commit is never answered unasked");
        }
        let after = watch.version().expect("a version");
        assert!(after > told);
        assert_eq!(watch.version(), Some(after));
    }

    #[test]
    fn a_database_without_a_wal_index_is_asked_every_time() {
        let (_folder, mut writer, watch) = database_in_mode("DELETE", 1);
        assert!(watch.index.is_none(), "a rollback journal has no WAL index");
        let before = watch.version().expect("a version");
        assert_eq!(watch.version(), Some(before));
        {
            let _only = watch.watchers[0].lock().expect("the only connection");
            assert_eq!(watch.version(), None, "nothing answers but SQLite");
        }
        writer
            .batch_execute("INSERT INTO t VALUES (1)")
            .expect("inserts");
        assert!(watch.version().expect("a version") > before);
    }

    #[test]
    fn versions_told_by_different_connections_can_be_compared() {
        let (_folder, mut writer, watch) = watched_database();
        // The first connection asks often, the second rarely: their own counters part.
        let mut first = watch.watchers[0].lock().expect("the first");
        let mut second = watch.watchers[1].lock().expect("the second");
        watch.ask(&mut second).expect("a version");
        let mut told = Vec::new();
        for n in 0..3 {
            writer
                .batch_execute(&format!("INSERT INTO t VALUES ({n})"))
                .expect("inserts");
            told.push(watch.ask(&mut first).expect("a version").data);
        }
        writer
            .batch_execute("INSERT INTO t VALUES (9)")
            .expect("inserts");
        let after = watch.ask(&mut second).expect("a version").data;
        assert!(
            told.iter().all(|&earlier| earlier < after),
            "{after} is newer than every version told before the last commit: {told:?}"
        );
        assert_eq!(watch.ask(&mut first).map(|v| v.data), Some(after + 1));
        assert_eq!(watch.ask(&mut second).map(|v| v.data), Some(after + 1));
    }

    #[test]
    fn only_a_counted_caller_change_moves_the_callers_version() {
        let (_folder, mut writer, watch) = watched_database();
        let before = watch.callers_version().expect("a version");
        writer
            .batch_execute("INSERT INTO t VALUES (1)")
            .expect("inserts");
        assert_eq!(
            watch.callers_version(),
            Some(before),
            "another table changed"
        );
        writer
            .batch_execute("UPDATE caller_changes SET version = version + 1 WHERE id = 1")
            .expect("counts");
        let moved = watch.callers_version().expect("a version");
        assert!(moved > before);
        // The other connection, which has not asked since, tells the same count.
        let mut second = watch.watchers[1].lock().expect("the second");
        assert_eq!(watch.ask(&mut second).map(|v| v.callers), Some(moved));
    }

    /// Each step runs on the migrated schema, with whether it must move the version of the
    /// list rules.
    #[test]
    fn the_list_rules_version_moves_on_a_rule_change_and_not_on_a_submission() {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("rules.db");
        let path = path.to_str().expect("a UTF-8 path");
        crate::db::Database::connect(&format!("sqlite://{path}"), 1)
            .and_then(|db| db.migrate())
            .expect("migrates");
        let mut writer = SqliteConnection::establish(path).expect("opens");
        writer
            .batch_execute("PRAGMA busy_timeout = 10000")
            .expect("waits for the migrating instance's last checkpoint");
        let watch = ChangeWatch::sqlite(path, 1).expect("watches");
        let now = "'2026-11-27T10:00:00.000000Z'";
        writer
            .batch_execute(&format!(
                "INSERT INTO universities VALUES ('u', 'U', 'U', '2020-01-01', {now}); \
                 INSERT INTO programs VALUES ('p', '0854', 'P', {now}); \
                 INSERT INTO programs VALUES ('q', '0855', 'Q', {now}); \
                 INSERT INTO cycles VALUES ('c', 'C', {now}, '2026-12-31T00:00:00.000000Z', 5, \
                     '2027-01-01', '2027-06-30', 0, NULL, {now}, {now}); \
                 INSERT INTO students VALUES ('s', 'u', '1', 'S', 's@u.test', 'p', 2026, NULL, \
                     {now}, {now});"
            ))
            .expect("sets up");
        let steps = [
            (
                "a base is added",
                format!(
                    "INSERT INTO bases (id, name, organisation, city, host_university_id, \
                     coordinator_email, created_at, updated_at) \
                     VALUES ('b', 'B', 'O', 'City', 'u', 'b@o.test', {now}, {now})"
                ),
                true,
            ),
            (
                "it accepts a program",
                "INSERT INTO base_programs VALUES ('b', 'p')".into(),
                true,
            ),
            (
                "it gets seats",
                format!("INSERT INTO cycle_seats VALUES ('c', 'b', 3, 0, {now})"),
                true,
            ),
            (
                "a list is stored",
                format!(
                    "UPDATE cycles SET inputs_version = inputs_version + 1 WHERE id = 'c'; \
                     INSERT INTO applications VALUES ('a', 'c', 's', {now}, {now}, 'u', 'p'); \
                     INSERT INTO application_preferences VALUES ('a', 1, 'b')"
                ),
                false,
            ),
            (
                "a seat is taken",
                "UPDATE cycle_seats SET taken = 1".into(),
                false,
            ),
            (
                "a student changes program",
                "UPDATE students SET program_id = 'q'".into(),
                false,
            ),
            (
                "the seats change",
                "UPDATE cycle_seats SET seats = 2".into(),
                true,
            ),
            (
                "the base stops",
                "UPDATE bases SET active = FALSE".into(),
                true,
            ),
            (
                "the window closes",
                "UPDATE cycles SET applications_close_at = '2026-12-01T00:00:00.000000Z'".into(),
                true,
            ),
            (
                "the match is published",
                "UPDATE cycles SET published_run_id = 'r'".into(),
                true,
            ),
            (
                "a program is dropped",
                "DELETE FROM base_programs".into(),
                true,
            ),
            ("the seats go", "DELETE FROM cycle_seats".into(), true),
            (
                "the base goes",
                "DELETE FROM application_preferences; DELETE FROM bases".into(),
                true,
            ),
        ];
        for (step, sql, moves) in steps {
            let before = watch.list_rules_version().expect("a version");
            writer.batch_execute(&sql).expect(step);
            let after = watch.list_rules_version().expect("a version");
            assert_eq!(after > before, moves, "{step}: {before} then {after}");
        }
    }
}

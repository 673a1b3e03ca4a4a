//! SQLite's writes in groups. A file has one writer at a time, so the requests' write
//! transactions queue for it; one thread takes them off the queue and runs all that are
//! waiting in a single transaction, each in a savepoint of its own, and commits once. A
//! request whose work fails rolls back its own savepoint and leaves the others' changes
//! alone; each request hears its answer only after the commit, so none answers with a
//! change that is not stored. Under a deadline burst the commit, the write lock and the
//! hand-over between threads are paid once per group instead of once per request.
//!
//! Copying the write-ahead log back into the database file (a checkpoint, with its `fsync`)
//! is left to a thread of its own, at most a few times a second, so that it neither holds
//! up the writes nor copies a page again for each group that changed it.

use super::{finish_transaction, wait_here, write_transaction, DbConn, SqlitePool};
use crate::domain::DomainError;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::{Connection, SqliteConnection};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};

/// The most requests one transaction holds, so that a group's last request does not wait
/// long behind the others.
const MOST_PER_GROUP: usize = 64;

/// The shortest time between two checkpoints.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(250);

/// The log's length, in pages, at which the writer checkpoints by itself: only when the
/// checkpointing thread is far behind (SQLite's own default is 1,000).
pub const CHECKPOINT_FALLBACK_PAGES: u32 = 20_000;

/// The queue of a database's writes, and the thread that runs them.
#[derive(Clone)]
pub struct Writes {
    queue: mpsc::Sender<Box<dyn Pending>>,
}

impl Writes {
    /// Starts the writing thread over the writer pool, and the checkpointing thread on a
    /// connection of its own to the file at `path`. The writing thread takes the write turn
    /// for each group, so that work holding the turn from elsewhere (seeding, the command
    /// line) waits in the same first-come, first-served order. Both end when the last queue
    /// handle is dropped.
    pub fn start(path: &str, writer: SqlitePool, turn: Arc<Semaphore>) -> anyhow::Result<Self> {
        let checkpointer = SqliteConnection::establish(path)?;
        let (committed, commits) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("placemat-checkpoints".into())
            .spawn(move || checkpoints(&commits, checkpointer))?;
        let (queue, waiting) = mpsc::channel();
        std::thread::Builder::new()
            .name("placemat-writes".into())
            .spawn(move || write_groups(&waiting, &writer, &turn, &committed))?;
        Ok(Writes { queue })
    }

    /// Queues `work` and waits until its transaction has ended.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Box::new(Request {
                work: Some(work),
                outcome: None,
                reply,
            }))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> DomainError {
    DomainError::internal(anyhow::anyhow!("the writing thread has stopped"))
}

/// One request's work, waiting on the queue.
trait Pending: Send {
    /// Runs the work in a savepoint of the open transaction. An error here means the
    /// savepoint could not be taken or given back, and the transaction cannot go on.
    fn run(&mut self, conn: &mut DbConn) -> Result<(), DomainError>;

    /// Answers the request once the transaction has ended.
    fn answer(self: Box<Self>, ended: Result<(), &Failure>);
}

struct Request<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, DomainError>>,
    reply: oneshot::Sender<Result<T, DomainError>>,
}

impl<T, F> Pending for Request<T, F>
where
    F: FnOnce(&mut DbConn) -> Result<T, DomainError> + Send,
    T: Send,
{
    fn run(&mut self, conn: &mut DbConn) -> Result<(), DomainError> {
        let Some(work) = self.work.take() else {
            return Ok(());
        };
        match conn {
            DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction(&mut **c)?,
            DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(&mut **c)?,
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|_| {
            Err(DomainError::internal(anyhow::anyhow!(
                "the write stopped on a panic"
            )))
        });
        let kept = outcome.is_ok();
        self.outcome = Some(outcome);
        finish_transaction(conn, kept)?;
        Ok(())
    }

    fn answer(self: Box<Self>, ended: Result<(), &Failure>) {
        let answer = match (self.outcome, ended) {
            // A refused request changed nothing, whatever became of the others.
            (Some(Err(refused)), _) => Err(refused),
            (Some(Ok(done)), Ok(())) => Ok(done),
            (_, Err(failure)) => Err(failure.error()),
            (None, Ok(())) => Err(DomainError::internal(anyhow::anyhow!(
                "the write was never run"
            ))),
        };
        // A request that stopped waiting (its client went away) needs no answer.
        let _ = self.reply.send(answer);
    }
}

/// Why a whole group's transaction did not commit, told to each of its requests.
#[derive(Debug)]
enum Failure {
    Unavailable(String),
    Internal(String),
}

impl Failure {
    fn error(&self) -> DomainError {
        match self {
            Failure::Unavailable(cause) => DomainError::Unavailable(anyhow::anyhow!("{cause}")),
            Failure::Internal(cause) => DomainError::Internal(anyhow::anyhow!("{cause}")),
        }
    }
}

impl From<DomainError> for Failure {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Unavailable(cause) => Failure::Unavailable(format!("{cause:#}")),
            other => Failure::Internal(format!("{other:#}")),
        }
    }
}

fn write_groups(
    waiting: &mpsc::Receiver<Box<dyn Pending>>,
    writer: &SqlitePool,
    turn: &Arc<Semaphore>,
    committed: &mpsc::SyncSender<()>,
) {
    while let Ok(first) = waiting.recv() {
        // The turn is taken before the group is closed: writes that came while another
        // writer held it join this group.
        let held = wait_here(Arc::clone(turn).acquire_owned());
        let mut group = vec![first];
        while group.len() < MOST_PER_GROUP {
            match waiting.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let ended = match held {
            Ok(_turn) => run_group(&mut group, writer),
            Err(closed) => Err(Failure::Internal(format!("write queue closed: {closed}"))),
        };
        match &ended {
            // A checkpoint already asked for covers this commit too.
            Ok(()) => _ = committed.try_send(()),
            Err(failure) => {
                tracing::error!(requests = group.len(), ?failure, "a group of writes failed")
            }
        }
        for request in group {
            request.answer(ended.as_ref().map(|_| ()));
        }
    }
}

fn run_group(group: &mut [Box<dyn Pending>], writer: &SqlitePool) -> Result<(), Failure> {
    let mut conn = DbConn::Sqlite(writer.get().map_err(DomainError::from)?);
    write_transaction(&mut conn, |conn| -> Result<(), DomainError> {
        group.iter_mut().try_for_each(|request| request.run(conn))
    })
    .map_err(Failure::from)
}

/// Checkpoints after commits, pausing between two so that the commits meanwhile are copied
/// in one go. A passive checkpoint waits for no reader or writer; what it cannot copy yet
/// is copied next time.
fn checkpoints(commits: &mpsc::Receiver<()>, mut conn: SqliteConnection) {
    while commits.recv().is_ok() {
        if let Err(error) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(%error, "checkpoint failed; the next commit tries again");
        }
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::University;
    use crate::db::schema::universities;
    use crate::db::Database;
    use crate::dispatch;
    use crate::domain::{Timestamp, UniversityId};
    use diesel::prelude::*;

    fn count(db: &Database) -> i64 {
        let mut conn = db.reader().expect("reader");
        dispatch!(&mut conn, |c| universities::table
            .count()
            .get_result(c)
            .expect("count"))
    }

    fn add(conn: &mut DbConn, code: &str) -> Result<(), DomainError> {
        let university = University {
            id: UniversityId::generate(),
            code: code.into(),
            name: format!("University {code}"),
            joined_on: chrono::NaiveDate::default(),
            created_at: Timestamp::now(),
        };
        dispatch!(conn, |c| diesel::insert_into(universities::table)
            .values(&university)
            .execute(c))?;
        Ok(())
    }

    /// A migrated database in a temporary folder.
    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("writes.db").display());
        let db = Database::connect(&url, 4).expect("connect");
        db.migrate().expect("migrate");
        (dir, db)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_write_in_a_group_leaves_the_others_stored() {
        let (_dir, db) = database();
        let before = count(&db);
        // Another writer holds the turn while the requests queue, so that they run in
        // groups as large as a group may be.
        let holder = db.clone();
        let held = tokio::task::spawn_blocking(move || {
            holder.write_blocking(|_| -> Result<(), DomainError> {
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(())
            })
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;

        let writes: Vec<_> = (0..200)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |conn| {
                        add(conn, &format!("U{n}"))?;
                        if n % 3 == 0 {
                            Err(DomainError::invalid("n", "refused after its insert"))
                        } else {
                            Ok(n)
                        }
                    })
                    .await
                })
            })
            .collect();
        let mut stored = 0;
        for write in writes {
            match write.await.expect("join") {
                Ok(_) => stored += 1,
                Err(DomainError::Invalid { .. }) => {}
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        held.await.expect("join").expect("the other writer");
        assert_eq!(stored, 133);
        assert_eq!(count(&db), before + 133);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_is_an_internal_error_and_the_queue_goes_on() {
        let (_dir, db) = database();
        let before = count(&db);

        let panicked = db
            .write(|conn| -> Result<(), DomainError> {
                add(conn, "LOST")?;
                panic!("a defect in a write")
            })
            .await;
        assert!(matches!(panicked, Err(DomainError::Internal(_))));
        db.write(|conn| add(conn, "KEPT"))
            .await
            .expect("next write");
        assert_eq!(count(&db), before + 1);
    }
}

//! `placemat backup` and `placemat restore` for the embedded SQLite database, and the lock
//! by which a restore knows that no server runs on the file.
//!
//! A backup is a consistent copy made while the server runs (`VACUUM INTO` on a connection
//! of its own), checked with `PRAGMA integrity_check` before it is put at its name; a name
//! that exists is never overwritten. The stored documents' folder (`PLACEMAT_FILES_URL`,
//! `file://./files` beside the database by default), when there is one, is copied as the
//! folder `FILE.files` beside the copy.
//!
//! A restore needs the database to itself: every `placemat serve` on a SQLite file holds a
//! shared lock on `FILE.lock`, the restore an exclusive one.

use crate::config::Config;
use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The answer of `backup` on PostgreSQL: its own tools do it.
#[derive(Debug, thiserror::Error)]
#[error("placemat backs up SQLite only; on PostgreSQL use its own tools:\n  {command}")]
pub struct UsePgDump {
    pub command: String,
}

/// The SQLite file a database URL names, or `None` for PostgreSQL.
pub fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(PathBuf::from)
}

/// The lock file of a SQLite database.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Taken by `serve` for as long as it runs on a SQLite file (shared: a restore cannot
/// start meanwhile, and a server cannot start during a restore).
pub fn serving_lock(database_url: &str) -> anyhow::Result<Option<File>> {
    let Some(database) = sqlite_file(database_url) else {
        return Ok(None);
    };
    let path = lock_path(&database);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is being restored; start placemat once the restore is done",
            database.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// The folder of stored documents, for a `file://` `PLACEMAT_FILES_URL`: a relative path is
/// taken from the database's folder.
fn files_folder(config: &Config, database: &Path) -> Option<PathBuf> {
    let path = PathBuf::from(config.files_url.strip_prefix("file://")?);
    if path.is_absolute() {
        Some(path)
    } else {
        let beside = database.parent().unwrap_or_else(|| Path::new("."));
        Some(beside.join(path))
    }
}

/// `FILE.files`: where a backup keeps the documents' folder.
fn files_beside(copy: &Path) -> PathBuf {
    let mut name = copy.as_os_str().to_owned();
    name.push(".files");
    PathBuf::from(name)
}

/// A name in the same folder as `path` for a file on its way there.
fn partial_name(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}", uuid::Uuid::new_v4().simple()))
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// Opens a SQLite file that must exist, without creating it.
fn open_existing(path: &Path) -> anyhow::Result<SqliteConnection> {
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")?;
    Ok(conn)
}

/// `PRAGMA integrity_check` on a file: `Ok` only when SQLite answers `ok`.
fn check_integrity(path: &Path) -> anyhow::Result<()> {
    let mut conn = open_existing(path)?;
    let answers: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .with_context(|| format!("{} is not a SQLite database", path.display()))?;
    match answers.as_slice() {
        [only] if only.integrity_check == "ok" => Ok(()),
        _ => bail!(
            "{} fails SQLite's integrity check: {}",
            path.display(),
            answers
                .iter()
                .map(|a| a.integrity_check.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// `placemat backup --output FILE`: answers what it did, in words.
pub fn backup(config: &Config, output: &Path) -> anyhow::Result<String> {
    let Some(database) = sqlite_file(&config.database_url) else {
        return Err(UsePgDump {
            command: format!(
                "pg_dump --format=custom --file={} \"$PLACEMAT_DATABASE_URL\"",
                output.display()
            ),
        }
        .into());
    };
    if output.exists() {
        bail!("{} exists; a backup never overwrites", output.display());
    }
    let partial = partial_name(output, "partial");
    let made = (|| -> anyhow::Result<()> {
        let mut conn = open_existing(&database)?;
        let target = partial.display().to_string().replace('\'', "''");
        conn.batch_execute(&format!("VACUUM INTO '{target}'"))
            .with_context(|| format!("cannot copy {}", database.display()))?;
        drop(conn);
        check_integrity(&partial)?;
        File::open(&partial)?.sync_all()?;
        // A link fails where the name exists: never an overwrite, even of a file made
        // meanwhile.
        std::fs::hard_link(&partial, output).with_context(|| {
            format!(
                "cannot put the copy at {} (does it exist?)",
                output.display()
            )
        })?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&partial);
    made?;
    let size = std::fs::metadata(output)?.len();
    let mut report = format!(
        "backup of {} written to {} ({size} bytes, integrity ok)",
        database.display(),
        output.display()
    );
    match files_folder(config, &database).filter(|folder| folder.is_dir()) {
        Some(folder) => {
            let beside = files_beside(output);
            if beside.exists() {
                bail!("{} exists; a backup never overwrites", beside.display());
            }
            let partial = partial_name(&beside, "partial");
            copy_folder(&folder, &partial)?;
            std::fs::rename(&partial, &beside)?;
            report.push_str(&format!(
                "; documents in {} copied to {}",
                folder.display(),
                beside.display()
            ));
        }
        None => report.push_str("; no documents folder to copy"),
    }
    Ok(report)
}

/// `placemat restore --input FILE`: answers what it did, in words.
pub fn restore(config: &Config, input: &Path) -> anyhow::Result<String> {
    let Some(database) = sqlite_file(&config.database_url) else {
        bail!("placemat restores SQLite only; on PostgreSQL use pg_restore --clean --dbname=\"$PLACEMAT_DATABASE_URL\" FILE");
    };
    let lock_file = lock_path(&database);
    if let Some(folder) = database.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .with_context(|| format!("cannot open the lock file {}", lock_file.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "a placemat server is running on {}; stop it before restoring",
            database.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot lock {}", lock_file.display()))
        }
    }
    check_integrity(input)?;
    let pending = check_migrations(input)?;
    let incoming = partial_name(&database, "restoring");
    let copied = std::fs::copy(input, &incoming)
        .with_context(|| format!("cannot copy {}", input.display()))
        .and_then(|_| Ok(File::open(&incoming)?.sync_all()?));
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&incoming);
        return Err(error);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut report = String::new();
    if database.exists() {
        // Everything of the old database into its main file, so that it stands alone.
        let mut old = open_existing(&database)?;
        old.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
        drop(old);
        let kept = PathBuf::from(format!("{}.before-restore-{stamp}", database.display()));
        std::fs::rename(&database, &kept)?;
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
        }
        report.push_str(&format!("the old database is kept as {}; ", kept.display()));
    }
    std::fs::rename(&incoming, &database)?;
    report.push_str(&format!(
        "{} restored from {} (integrity ok, {pending} migration(s) to apply at the next start)",
        database.display(),
        input.display()
    ));
    let documents = files_beside(input);
    if let Some(folder) = files_folder(config, &database).filter(|_| documents.is_dir()) {
        if folder.exists() {
            let kept = PathBuf::from(format!("{}.before-restore-{stamp}", folder.display()));
            std::fs::rename(&folder, &kept)?;
            report.push_str(&format!(
                "; the old documents are kept in {}",
                kept.display()
            ));
        }
        copy_folder(&documents, &folder)?;
        report.push_str(&format!("; documents restored into {}", folder.display()));
    }
    drop(lock);
    Ok(report)
}

/// Refuses a copy made by a newer placemat (a migration this one does not know); answers
/// how many of this one's migrations the copy lacks.
fn check_migrations(input: &Path) -> anyhow::Result<usize> {
    let mut conn = open_existing(input)?;
    let applied: Vec<Version> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load(&mut conn)
        .with_context(|| format!("{} is not a placemat database", input.display()))?;
    let known = crate::db::sqlite_migration_versions()?;
    if let Some(unknown) = applied.iter().find(|v| !known.contains(&v.version)) {
        bail!(
            "{} has migration {} that this placemat does not know; restore it with the placemat that made it",
            input.display(),
            unknown.version
        );
    }
    Ok(known.len().saturating_sub(applied.len()))
}

/// Copies a folder and everything in it to `to`, which must not exist.
fn copy_folder(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

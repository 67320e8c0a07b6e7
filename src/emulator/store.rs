//! The emulator's state in SQLite (`data_dir/emulator.sqlite3`).
//!
//! WAL mode with `synchronous=NORMAL`: every write is one transaction, a `kill -9` loses at
//! most the last commits but never corrupts the file, and readers never block the writer.
//! One writer connection behind a mutex serialises writes (SQLite does anyway); readers come
//! from a small pool. Callers run these blocking calls on `spawn_blocking`.
//!
//! Small collections (definitions, revisions, jobs, audiences, orders, batches, groups) are
//! JSON documents in `objects`; datapoints have their own table (see `datapoints.rs`), because
//! there can be millions of them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;

use super::datapoints::CursorCache;
use super::http::{ApiError, ApiResult};
use super::EmulatorError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT,
    body TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_by_parent ON objects (kind, parent, seq);
CREATE TABLE IF NOT EXISTS assets (
    file_name TEXT PRIMARY KEY,
    original_name TEXT NOT NULL,
    source_url TEXT,
    size INTEGER,
    blake3 TEXT,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS datasets (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    schema TEXT NOT NULL,
    created_at TEXT NOT NULL,
    datapoint_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS datapoints (
    -- AUTOINCREMENT: a datapoint id (it embeds seq) is never given out again after a
    -- delete, as the real API's ids are never reused.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_seq INTEGER NOT NULL,
    sort_index INTEGER,
    grp TEXT,
    state TEXT NOT NULL DEFAULT 'Ready',
    segments TEXT NOT NULL,
    private_metadata TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datapoints_by_dataset ON datapoints (dataset_seq, seq);
";

/// Handle on the database.
pub(crate) struct Store {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    /// Random per-database prefix of datapoint ids (ids embed the row number).
    pub salt: String,
    pub cursors: CursorCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -32000)?;
    Ok(conn)
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store, EmulatorError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            EmulatorError::Storage(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join("emulator.sqlite3");
        let db_err =
            |e: rusqlite::Error| EmulatorError::Storage(format!("{}: {e}", path.display()));
        let conn = open_connection(&path).map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        let salt: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'salt'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db_err)?;
        let salt = match salt {
            Some(s) => s,
            None => {
                let s = format!("{:06x}", fastrand::u32(..0x0100_0000));
                conn.execute("INSERT INTO meta (key, value) VALUES ('salt', ?1)", [&s])
                    .map_err(db_err)?;
                s
            }
        };
        Ok(Store {
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            path,
            salt,
            cursors: CursorCache::default(),
        })
    }

    /// Runs `f` in one write transaction; commits only if it returns `Ok`.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> ApiResult<T>) -> ApiResult<T> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| ApiError::internal("storage writer poisoned"))?;
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a pooled read connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> ApiResult<T>) -> ApiResult<T> {
        let pooled = self
            .readers
            .lock()
            .map_err(|_| ApiError::internal("storage pool poisoned"))?
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 8 {
                pool.push(conn);
            }
        }
        out
    }
}

// ---- generic JSON documents --------------------------------------------------------------

pub(crate) fn obj_insert(
    tx: &Transaction<'_>,
    kind: &str,
    id: &str,
    parent: Option<&str>,
    body: &Value,
) -> ApiResult<()> {
    tx.prepare_cached("INSERT INTO objects (kind, id, parent, body) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![kind, id, parent, body.to_string()])?;
    Ok(())
}

pub(crate) fn obj_update(
    tx: &Transaction<'_>,
    kind: &str,
    id: &str,
    body: &Value,
) -> ApiResult<()> {
    tx.prepare_cached("UPDATE objects SET body = ?3 WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind, id, body.to_string()])?;
    Ok(())
}

pub(crate) fn obj_get(conn: &Connection, kind: &str, id: &str) -> ApiResult<Option<Value>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT body FROM objects WHERE kind = ?1 AND id = ?2")?
        .query_row(params![kind, id], |r| r.get(0))
        .optional()?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| ApiError::internal(format!("corrupt {kind} {id}: {e}")))
    })
    .transpose()
}

/// The row number the next document will get: a key that follows the request sequence
/// (unlike ids, which are random), so simulated runs draw the same votes in every emulator
/// that saw the same requests.
pub(crate) fn obj_next_seq(conn: &Connection) -> ApiResult<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM objects")?
        .query_row([], |r| r.get(0))?)
}

/// Deletes a document and its children (documents whose parent is `id`); returns whether it
/// existed.
pub(crate) fn obj_delete(tx: &Transaction<'_>, kind: &str, id: &str) -> ApiResult<bool> {
    let n = tx
        .prepare_cached("DELETE FROM objects WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind, id])?;
    Ok(n > 0)
}

/// Documents of a kind in creation order, optionally only the children of `parent`.
pub(crate) fn obj_list(
    conn: &Connection,
    kind: &str,
    parent: Option<&str>,
) -> ApiResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut push = |text: String| -> ApiResult<()> {
        out.push(
            serde_json::from_str(&text)
                .map_err(|e| ApiError::internal(format!("corrupt {kind}: {e}")))?,
        );
        Ok(())
    };
    match parent {
        Some(p) => {
            let mut stmt = conn.prepare_cached(
                "SELECT body FROM objects WHERE kind = ?1 AND parent = ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![kind, p], |r| r.get::<_, String>(0))?;
            for r in rows {
                push(r?)?;
            }
        }
        None => {
            let mut stmt =
                conn.prepare_cached("SELECT body FROM objects WHERE kind = ?1 ORDER BY seq")?;
            let rows = stmt.query_map(params![kind], |r| r.get::<_, String>(0))?;
            for r in rows {
                push(r?)?;
            }
        }
    }
    Ok(out)
}

pub(crate) fn obj_delete_children(tx: &Transaction<'_>, kind: &str, parent: &str) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM objects WHERE kind = ?1 AND parent = ?2")?
        .execute(params![kind, parent])?;
    Ok(())
}

// ---- assets -------------------------------------------------------------------------------

pub(crate) struct AssetRow<'a> {
    pub file_name: &'a str,
    pub original_name: &'a str,
    pub source_url: Option<&'a str>,
    pub size: Option<u64>,
    pub blake3: Option<&'a str>,
}

pub(crate) fn asset_insert(tx: &Transaction<'_>, a: &AssetRow<'_>) -> ApiResult<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO assets (file_name, original_name, source_url, size, blake3, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![a.file_name, a.original_name, a.source_url, a.size.map(|s| s as i64), a.blake3, now()])?;
    Ok(())
}

/// `(original_name, source_url)` of an asset the emulator issued.
pub(crate) fn asset_get(
    conn: &Connection,
    file_name: &str,
) -> ApiResult<Option<(String, Option<String>)>> {
    Ok(conn
        .prepare_cached("SELECT original_name, source_url FROM assets WHERE file_name = ?1")?
        .query_row([file_name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

// ---- tokens -------------------------------------------------------------------------------

pub(crate) fn token_insert(tx: &Transaction<'_>, hash: &str, expires_ms: i64) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM tokens WHERE expires_ms < ?1")?
        .execute([now_ms()])?;
    tx.prepare_cached("INSERT OR REPLACE INTO tokens (hash, expires_ms) VALUES (?1, ?2)")?
        .execute(params![hash, expires_ms])?;
    Ok(())
}

pub(crate) fn tokens_all(conn: &Connection) -> ApiResult<Vec<(String, i64)>> {
    let mut stmt = conn.prepare("SELECT hash, expires_ms FROM tokens WHERE expires_ms >= ?1")?;
    let rows = stmt.query_map([now_ms()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// ---- time and ids --------------------------------------------------------------------------

/// RFC 3339 UTC timestamp with microseconds, as the service writes them.
pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh opaque id: 24 hex digits, like the service's.
pub(crate) fn new_id() -> String {
    format!("{:024x}", fastrand::u128(..) & ((1u128 << 96) - 1))
}

/// A fresh 32-hex id (pipeline ids, upload name prefixes).
pub(crate) fn new_hex32() -> String {
    format!("{:032x}", fastrand::u128(..))
}

//! Datasets and datapoints in SQLite, built for a million datapoints per dataset.
//!
//! * A datapoint id embeds its row number (`<db salt><"d0"><16 hex rowid>`), so lookups by id
//!   use the primary key and inserts maintain a single secondary index,
//!   `(dataset_seq, seq)`, which serves every page in creation order.
//! * `datasets.datapoint_count` is maintained in the insert/delete transaction, so `total` is
//!   one row read.
//! * Paging is 1-based `page`/`page_size`. A sequential reader (page 1, 2, 3, ...) is served
//!   by keyset (`seq > last seq of the previous page`) from a small cursor cache, so reading a
//!   whole dataset is linear; a random page falls back to `LIMIT/OFFSET` on the index.
//! * Segments are stored as JSON text in their output shape and spliced into responses as is.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;

use super::http::{ApiError, ApiResult};
use super::store::{now, Store};

#[derive(Debug, Clone)]
pub(crate) struct DatasetRow {
    pub seq: i64,
    pub id: String,
    pub name: String,
    pub schema: Value,
    pub count: i64,
}

pub(crate) fn dataset_insert(
    tx: &Transaction<'_>,
    id: &str,
    name: &str,
    schema: &Value,
) -> ApiResult<()> {
    tx.prepare_cached(
        "INSERT INTO datasets (id, name, schema, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, name, schema.to_string(), now()])?;
    Ok(())
}

pub(crate) fn dataset_get(conn: &Connection, id: &str) -> ApiResult<Option<DatasetRow>> {
    let row = conn
        .prepare_cached(
            "SELECT seq, id, name, schema, datapoint_count FROM datasets WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get(4)?,
            ))
        })
        .optional()?;
    row.map(|(seq, id, name, schema, count)| {
        let schema = serde_json::from_str(&schema)
            .map_err(|e| ApiError::internal(format!("corrupt schema: {e}")))?;
        Ok(DatasetRow {
            seq,
            id,
            name,
            schema,
            count,
        })
    })
    .transpose()
}

/// Renames a dataset; returns whether it exists.
pub(crate) fn dataset_rename(tx: &Transaction<'_>, id: &str, name: &str) -> ApiResult<bool> {
    let n = tx
        .prepare_cached("UPDATE datasets SET name = ?2 WHERE id = ?1")?
        .execute(params![id, name])?;
    Ok(n > 0)
}

/// Deletes a dataset and its datapoints.
pub(crate) fn dataset_delete(tx: &Transaction<'_>, id: &str) -> ApiResult<()> {
    if let Some(ds) = dataset_get(tx, id)? {
        tx.prepare_cached("DELETE FROM datapoints WHERE dataset_seq = ?1")?
            .execute([ds.seq])?;
        tx.prepare_cached("DELETE FROM datasets WHERE seq = ?1")?
            .execute([ds.seq])?;
    }
    Ok(())
}

/// One datapoint as the labeling simulation sees it.
pub(crate) struct SimRow {
    pub seq: i64,
    pub group: Option<String>,
    pub segments: String,
}

/// The ready datapoints of a dataset in creation order (what a job labels).
pub(crate) fn dataset_rows(conn: &Connection, dataset_seq: i64) -> ApiResult<Vec<SimRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, grp, segments FROM datapoints WHERE dataset_seq = ?1 AND state = 'Ready' ORDER BY seq",
    )?;
    let rows = stmt.query_map([dataset_seq], |r| {
        Ok(SimRow {
            seq: r.get(0)?,
            group: r.get(1)?,
            segments: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn dataset_id_of(conn: &Connection, seq: i64) -> ApiResult<String> {
    Ok(conn
        .prepare_cached("SELECT id FROM datasets WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))?)
}

pub(crate) fn datapoint_id(salt: &str, seq: i64) -> String {
    format!("{salt}d0{seq:016x}")
}

/// The row number inside a datapoint id this database issued; `None` for anything else.
pub(crate) fn datapoint_seq(salt: &str, id: &str) -> Option<i64> {
    let rest = id.strip_prefix(salt)?.strip_prefix("d0")?;
    if rest.len() != 16 {
        return None;
    }
    i64::from_str_radix(rest, 16).ok()
}

pub(crate) struct NewDatapoint<'a> {
    pub sort_index: Option<i64>,
    pub group: Option<&'a str>,
    pub segments: &'a str,
    pub private_metadata: Option<String>,
}

/// Inserts a datapoint and bumps the dataset's count; returns the row number.
pub(crate) fn datapoint_insert(
    tx: &Transaction<'_>,
    dataset_seq: i64,
    dp: &NewDatapoint<'_>,
) -> ApiResult<i64> {
    tx.prepare_cached(
        "INSERT INTO datapoints (dataset_seq, sort_index, grp, segments, private_metadata, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![dataset_seq, dp.sort_index, dp.group, dp.segments, dp.private_metadata, now()])?;
    let seq = tx.last_insert_rowid();
    tx.prepare_cached("UPDATE datasets SET datapoint_count = datapoint_count + 1 WHERE seq = ?1")?
        .execute([dataset_seq])?;
    Ok(seq)
}

/// Inserts `count` copies of one datapoint in the caller's transaction (benchmarks, seeding).
pub(crate) fn datapoint_bulk_insert(
    tx: &Transaction<'_>,
    dataset_seq: i64,
    segments: &str,
    count: u64,
) -> ApiResult<()> {
    let created = now();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO datapoints (dataset_seq, sort_index, segments, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for i in 0..count {
        stmt.execute(params![dataset_seq, i as i64, segments, created])?;
    }
    tx.prepare_cached("UPDATE datasets SET datapoint_count = datapoint_count + ?2 WHERE seq = ?1")?
        .execute(params![dataset_seq, count as i64])?;
    Ok(())
}

pub(crate) struct DatapointRow {
    pub dataset_id: String,
    pub sort_index: Option<i64>,
    pub state: String,
    pub segments: String,
    pub created_at: String,
}

pub(crate) fn datapoint_get(conn: &Connection, seq: i64) -> ApiResult<Option<DatapointRow>> {
    let row = conn
        .prepare_cached("SELECT dataset_seq, sort_index, state, segments, created_at FROM datapoints WHERE seq = ?1")?
        .query_row([seq], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((dataset_seq, sort_index, state, segments, created_at)) => Ok(Some(DatapointRow {
            dataset_id: dataset_id_of(conn, dataset_seq)?,
            sort_index,
            state,
            segments,
            created_at,
        })),
    }
}

/// Deletes a datapoint; returns its dataset row number when it existed.
pub(crate) fn datapoint_delete(tx: &Transaction<'_>, seq: i64) -> ApiResult<Option<i64>> {
    let ds: Option<i64> = tx
        .prepare_cached("DELETE FROM datapoints WHERE seq = ?1 RETURNING dataset_seq")?
        .query_row([seq], |r| r.get(0))
        .optional()?;
    if let Some(ds) = ds {
        tx.prepare_cached(
            "UPDATE datasets SET datapoint_count = datapoint_count - 1 WHERE seq = ?1",
        )?
        .execute([ds])?;
    }
    Ok(ds)
}

/// `(seq, sort_index, segments, created_at)` of a failed datapoint.
pub(crate) type FailedRow = (i64, Option<i64>, String, String);

/// The failed datapoints of a dataset.
pub(crate) fn failed_datapoints(conn: &Connection, dataset_seq: i64) -> ApiResult<Vec<FailedRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, sort_index, segments, created_at FROM datapoints WHERE dataset_seq = ?1 AND state = 'Failed' ORDER BY seq",
    )?;
    let rows = stmt.query_map([dataset_seq], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Order of a datapoint listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatapointOrder {
    Created { desc: bool },
    SortIndex { desc: bool },
}

/// `(dataset, descending, page size, page)`.
type CursorKey = (i64, bool, u64, u64);

/// How many pages back a page request looks for a cursor to start from.
const PAGES_BACK: u64 = 64;

/// Remembers where sequential readers stopped, keyed by dataset, order, page size and page,
/// and tagged with the dataset's write version so any insert or delete invalidates it.
#[derive(Debug, Default)]
pub(crate) struct CursorCache {
    versions: Mutex<HashMap<i64, u64>>,
    last_seq: Mutex<HashMap<CursorKey, (u64, i64)>>,
}

impl CursorCache {
    /// Called after every committed insert/delete in a dataset.
    pub fn bump(&self, dataset_seq: i64) {
        if let Ok(mut v) = self.versions.lock() {
            *v.entry(dataset_seq).or_default() += 1;
        }
    }

    fn version(&self, dataset_seq: i64) -> u64 {
        self.versions
            .lock()
            .map(|v| v.get(&dataset_seq).copied().unwrap_or(0))
            .unwrap_or(u64::MAX)
    }

    fn get(&self, key: CursorKey, version: u64) -> Option<i64> {
        let map = self.last_seq.lock().ok()?;
        map.get(&key)
            .filter(|(v, _)| *v == version)
            .map(|(_, s)| *s)
    }

    fn put(&self, key: CursorKey, version: u64, seq: i64) {
        if let Ok(mut map) = self.last_seq.lock() {
            if map.len() > 4096 {
                map.clear();
            }
            map.insert(key, (version, seq));
        }
    }
}

/// One page of a dataset's datapoints as the `QueryDatapointsByDatasetIdEndpointPagedResultOfOutput`
/// JSON text. `ids` restricts to those datapoint row numbers (`id[eq]`/`id[in]` filters).
pub(crate) fn list_page(
    store: &Store,
    conn: &Connection,
    ds: &DatasetRow,
    page: u64,
    size: u64,
    order: DatapointOrder,
    ids: Option<&[i64]>,
) -> ApiResult<String> {
    let offset = (page - 1).saturating_mul(size);
    let mut rows: Vec<(i64, String)> = Vec::with_capacity(size as usize);
    let mut collect = |stmt: &mut rusqlite::CachedStatement<'_>,
                       p: &[&dyn rusqlite::ToSql]|
     -> ApiResult<()> {
        let mapped = stmt.query_map(p, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for r in mapped {
            rows.push(r?);
        }
        Ok(())
    };
    let total: i64;
    match (order, ids) {
        (_, Some(ids)) => {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let dir = match order {
                DatapointOrder::Created { desc: true }
                | DatapointOrder::SortIndex { desc: true } => "DESC",
                _ => "ASC",
            };
            let col = if matches!(order, DatapointOrder::SortIndex { .. }) {
                "sort_index"
            } else {
                "seq"
            };
            let sql = format!(
                "SELECT seq, segments FROM datapoints WHERE dataset_seq = ?1 AND seq IN ({list}) ORDER BY {col} {dir}, seq {dir} LIMIT ?2 OFFSET ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            collect(&mut stmt, &[&ds.seq, &(size as i64), &(offset as i64)])?;
            let count_sql = format!(
                "SELECT COUNT(*) FROM datapoints WHERE dataset_seq = ?1 AND seq IN ({list})"
            );
            total = conn
                .prepare_cached(&count_sql)?
                .query_row([ds.seq], |r| r.get(0))?;
        }
        (DatapointOrder::Created { desc }, None) => {
            total = ds.count;
            let version = store.cursors.version(ds.seq);
            // Where the nearest earlier page served stopped: a client with several pages in
            // flight asks for page p before page p-1 is served, so the cursor of a page a
            // few back is used and only the pages in between are skipped (instead of an
            // OFFSET over the whole dataset for every page).
            let after = (1..=PAGES_BACK.min(page.saturating_sub(1))).find_map(|k| {
                store
                    .cursors
                    .get((ds.seq, desc, size, page - k), version)
                    .map(|last| (last, k - 1))
            });
            let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
            match after {
                Some((last, pages_between)) => {
                    let sql = format!(
                        "SELECT seq, segments FROM datapoints WHERE dataset_seq = ?1 AND seq {cmp} ?2 ORDER BY seq {dir} LIMIT ?3 OFFSET ?4"
                    );
                    collect(
                        &mut conn.prepare_cached(&sql)?,
                        &[
                            &ds.seq,
                            &last,
                            &(size as i64),
                            &(pages_between.saturating_mul(size) as i64),
                        ],
                    )?;
                }
                None => {
                    let sql = format!(
                        "SELECT seq, segments FROM datapoints WHERE dataset_seq = ?1 ORDER BY seq {dir} LIMIT ?2 OFFSET ?3"
                    );
                    collect(
                        &mut conn.prepare_cached(&sql)?,
                        &[&ds.seq, &(size as i64), &(offset as i64)],
                    )?;
                }
            }
            if let Some((last, _)) = rows.last() {
                if store.cursors.version(ds.seq) == version {
                    store
                        .cursors
                        .put((ds.seq, desc, size, page), version, *last);
                }
            }
        }
        (DatapointOrder::SortIndex { desc }, None) => {
            total = ds.count;
            let dir = if desc { "DESC" } else { "ASC" };
            let sql = format!(
                "SELECT seq, segments FROM datapoints WHERE dataset_seq = ?1 ORDER BY sort_index {dir}, seq {dir} LIMIT ?2 OFFSET ?3"
            );
            collect(
                &mut conn.prepare_cached(&sql)?,
                &[&ds.seq, &(size as i64), &(offset as i64)],
            )?;
        }
    }
    let total = total.max(0) as u64;
    let dataset_id = serde_json::to_string(&ds.id).unwrap_or_default();
    let mut body =
        String::with_capacity(rows.iter().map(|(_, s)| s.len() + 96).sum::<usize>() + 128);
    let _ = write!(
        body,
        "{{\"total\":{total},\"page\":{page},\"pageSize\":{size},\"items\":["
    );
    for (i, (seq, segments)) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            "{{\"id\":\"{}\",\"datasetId\":{dataset_id},\"segments\":{segments}}}",
            datapoint_id(&store.salt, *seq)
        );
    }
    let _ = write!(body, "],\"totalPages\":{}}}", total.div_ceil(size));
    Ok(body)
}

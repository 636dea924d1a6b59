//! The "Demo" database: a deterministic, realistic e-commerce sample (customers, products,
//! orders, order items, web events) that Sightline writes on first start so a new user can
//! query at once.
//!
//! The data spans the two years ending at `today` (every timestamp falls in
//! `[today - 24 months, today)`), has seasonality (November/December, Black Friday and
//! Cyber Monday peaks, a weekday effect), grows over time, and is fully determined by the
//! seed and `today`. Money is computed in integer cents, so `orders.total` equals the sum of
//! `order_items.quantity * unit_price` exactly (up to the 2-decimal rounding of each value).
//!
//! The file is written to `<path>.tmp` and renamed into place, so a crash never leaves a
//! half-written demo database behind.

mod data;
mod sample;
mod write;

use chrono::NaiveDate;
use std::{
    ffi::OsString,
    fs, io,
    path::{Path, PathBuf},
};
use write::write_demo;

const SEED: u64 = 42;
const N_CUSTOMERS: usize = 5_000;
const N_PRODUCTS: usize = 300;
const N_ORDERS: usize = 40_000;
/// Events in total, including one `signup` event per customer.
const N_EVENTS: usize = 120_000;
const DAY: i64 = 86_400;

/// What [`generate`] wrote: each table with its row count, in creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub tables: Vec<(String, u64)>,
}

impl DemoSummary {
    /// Rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Writes the demo database to `path` (replacing any existing file), with data spanning the
/// two years ending at `today`. Synchronous and CPU-bound: run it in `spawn_blocking`.
pub fn generate(path: &Path, today: NaiveDate) -> Result<DemoSummary, rusqlite::Error> {
    let tmp = tmp_path(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_error("cannot create the demo directory"))?;
    }
    remove_if_exists(&tmp)?;
    remove_if_exists(&suffixed(&tmp, "-journal"))?;

    let summary = match write_demo(&tmp, today) {
        Ok(summary) => summary,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };

    // Generation ran with `synchronous=OFF`: make the bytes durable before the rename
    // publishes them, so a crash leaves either the old file or the complete new one.
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_error("cannot sync the demo database"))?;
    fs::rename(&tmp, path).map_err(io_error("cannot move the demo database into place"))?;
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let dir = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(summary)
}

fn tmp_path(path: &Path) -> PathBuf {
    if path.extension().is_some_and(|e| e == "tmp") {
        path.with_extension("tmp-demo")
    } else {
        path.with_extension("tmp")
    }
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

fn remove_if_exists(path: &Path) -> Result<(), rusqlite::Error> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(io_error("cannot remove a stale demo file")(e))
        }
        _ => Ok(()),
    }
}

/// Reports a filesystem failure as a SQLite I/O error (the API speaks `rusqlite::Error`).
fn io_error(context: &'static str) -> impl Fn(io::Error) -> rusqlite::Error {
    move |e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
            Some(format!("{context}: {e}")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};
    use std::time::Instant;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let dir = std::env::temp_dir().join(format!(
                "sightline-demo-{name}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn timed(path: &Path) -> DemoSummary {
        let started = Instant::now();
        let summary = generate(path, today()).unwrap();
        println!(
            "demo: {} rows in {:.2?} ({} bytes): {:?}",
            summary.total_rows(),
            started.elapsed(),
            fs::metadata(path).unwrap().len(),
            summary.tables
        );
        summary
    }

    #[test]
    fn generates_a_consistent_demo_database() {
        let dir = TempDir::new("consistent");
        let path = dir.0.join("demo.sqlite");
        let summary = timed(&path);
        assert!(
            !tmp_path(&path).exists(),
            "the temporary file was renamed away"
        );
        assert!(!suffixed(&path, "-journal").exists());

        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");

        // Row counts match the summary and the expected sizes.
        let ranges = [
            ("customers", 4_500, 5_500),
            ("products", 250, 350),
            ("orders", 35_000, 45_000),
            ("order_items", 85_000, 120_000),
            ("events", 100_000, 140_000),
        ];
        for ((table, n), (name, lo, hi)) in summary.tables.iter().zip(ranges) {
            assert_eq!(table, name);
            let actual = count(&conn, &format!("SELECT COUNT(*) FROM {table}"));
            assert_eq!(actual as u64, *n, "{table}");
            assert!((lo..=hi).contains(&actual), "{table}: {actual}");
        }
        assert!(summary.total_rows() >= 250_000);

        // Every order's total is the sum of its items, and every order has items.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM orders o
                 LEFT JOIN (SELECT order_id, SUM(quantity * unit_price) AS s
                            FROM order_items GROUP BY order_id) i ON i.order_id = o.id
                 WHERE i.s IS NULL OR ABS(o.total - i.s) > 0.01"
            ),
            0
        );
        // No orphans.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM order_items oi
                 LEFT JOIN orders o ON o.id = oi.order_id
                 LEFT JOIN products p ON p.id = oi.product_id
                 WHERE o.id IS NULL OR p.id IS NULL"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
                 WHERE c.id IS NULL"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM events e LEFT JOIN customers c ON c.id = e.customer_id
                 WHERE e.customer_id IS NOT NULL AND c.id IS NULL"
            ),
            0
        );
        // Causality: nobody orders before signing up, nothing is sold before it exists.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id
                 WHERE o.ordered_at < c.created_at"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
                 JOIN products p ON p.id = oi.product_id WHERE o.ordered_at < p.created_at"
            ),
            0
        );

        // Every timestamp lies within the two years ending at `today`.
        let start = "2023-06-15 00:00:00";
        let end = "2025-06-15 00:00:00";
        for (table, column) in [
            ("customers", "created_at"),
            ("products", "created_at"),
            ("orders", "ordered_at"),
            ("events", "occurred_at"),
        ] {
            let (min, max): (String, String) = conn
                .query_row(
                    &format!("SELECT MIN({column}), MAX({column}) FROM {table}"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert!(
                min.as_str() >= start && max.as_str() < end,
                "{table}: {min}..{max}"
            );
            assert_eq!(
                count(
                    &conn,
                    &format!(
                        "SELECT COUNT(*) FROM {table}
                         WHERE {column} IS NOT strftime('%Y-%m-%d %H:%M:%S', {column})"
                    )
                ),
                0,
                "{table}.{column} is ISO 8601"
            );
        }

        // Plausible shape: emails are example addresses, seasonality and statuses show.
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM customers
                 WHERE email NOT LIKE '%@example.com' AND email NOT LIKE '%@example.org'"
            ),
            0
        );
        let delivered = count(
            &conn,
            "SELECT COUNT(*) FROM orders WHERE status = 'delivered'",
        );
        assert!(delivered > 30_000, "{delivered}");
        let november = count(
            &conn,
            "SELECT COUNT(*) FROM orders WHERE ordered_at >= '2024-11-01' AND ordered_at < '2024-12-01'",
        );
        let february = count(
            &conn,
            "SELECT COUNT(*) FROM orders WHERE ordered_at >= '2024-02-01' AND ordered_at < '2024-03-01'",
        );
        assert!(november > february * 3 / 2, "{november} vs {february}");
        assert!(
            count(
                &conn,
                "SELECT COUNT(*) FROM events WHERE customer_id IS NULL"
            ) > 10_000
        );
        assert!(
            count(
                &conn,
                "SELECT COUNT(*) FROM events WHERE duration_ms IS NULL"
            ) > 1_000
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM events WHERE kind = 'signup'"),
            5_000
        );
        assert!(
            count(&conn, "SELECT COUNT(*) FROM sqlite_stat1") > 0,
            "ANALYZE ran"
        );
    }

    #[test]
    fn is_deterministic_and_replaces_stale_files() {
        let dir = TempDir::new("deterministic");
        let a = dir.0.join("a.db");
        let b = dir.0.join("b.db");
        // A stale temporary file and an existing database are both replaced.
        fs::write(tmp_path(&b), b"half-written garbage").unwrap();
        fs::write(&b, b"an old demo").unwrap();

        let first = timed(&a);
        let second = timed(&b);
        assert_eq!(first, second);
        assert!(!tmp_path(&b).exists());

        let fingerprint = |path: &Path| -> (i64, f64, String, String) {
            let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
            conn.query_row(
                "SELECT (SELECT COUNT(*) FROM order_items),
                        (SELECT ROUND(SUM(total), 2) FROM orders),
                        (SELECT group_concat(email) FROM (SELECT email FROM customers LIMIT 50)),
                        (SELECT MAX(occurred_at) FROM events)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
        };
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }
}

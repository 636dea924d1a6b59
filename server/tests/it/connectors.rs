//! Connectors against the real local PostgreSQL, MariaDB and SQLite: type mapping, the
//! read-only guarantees (SECURITY cases 2, 7, 8, 9), timeouts (case 30), parameter binding.
use crate::common;
use common::pg_checksum;

use app::{
    model::{
        connection::ConnectionConfig,
        query::{Column, Value},
    },
    server::connectors::{Connector, ConnectorError, Param, PoolOptions, RowSink, RunLimits},
};
use sqlx::Connection;
use std::time::{Duration, Instant};

#[derive(Default, Debug)]
struct Collect {
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
}

impl RowSink for Collect {
    fn columns(&mut self, c: &[Column]) -> Result<(), ConnectorError> {
        self.columns = c.to_vec();
        Ok(())
    }
    fn row(&mut self, r: Vec<Value>) -> Result<(), ConnectorError> {
        self.rows.push(r);
        Ok(())
    }
}

fn connector(url: &str) -> Connector {
    Connector::open(
        &ConnectionConfig::from_url(url).unwrap(),
        &PoolOptions::default(),
    )
    .unwrap()
}

async fn run(c: &Connector, sql: &str, params: &[&str]) -> Result<Collect, ConnectorError> {
    run_with(
        c,
        sql,
        params,
        &RunLimits {
            timeout: Duration::from_secs(10),
            ..Default::default()
        },
    )
    .await
}

async fn run_with(
    c: &Connector,
    sql: &str,
    params: &[&str],
    limits: &RunLimits,
) -> Result<Collect, ConnectorError> {
    let mut sink = Collect::default();
    let p: Vec<Param> = params.iter().map(|s| Param::Text(s.to_string())).collect();
    c.run(sql, &p, limits, &mut sink).await?;
    Ok(sink)
}

fn json(v: &[Value]) -> String {
    serde_json::to_string(v).unwrap()
}

const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A fresh PostgreSQL database with a small fixture table, and its connection URL.
async fn pg_fixture() -> (String, String) {
    let (name, url) = common::fresh_pg_database().await;
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    for stmt in [
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE TABLE t (id int PRIMARY KEY, name text, m mood)",
        "INSERT INTO t SELECT g, 'row ' || g, 'ok' FROM generate_series(1, 50) g",
        "CREATE SEQUENCE s",
    ] {
        sqlx::query(stmt).execute(&mut c).await.unwrap();
    }
    (name, url)
}

#[tokio::test]
async fn postgres_types_map_faithfully() {
    let (db, url) = pg_fixture().await;
    let c = connector(&url);
    let r = run(
        &c,
        r#"SELECT 1::int2 AS a, 2::int4, 3::int8, 12345678901234567890.000000000123::numeric, 'NaN'::numeric,
                  1.5::float8, 0.25::float4, true, 'x'::text, 'y'::varchar, '2024-05-01'::date, '13:45:00.5'::time,
                  '2024-05-01 13:45:00'::timestamp, '2024-05-01 13:45:00+02'::timestamptz,
                  '1 year 2 mons 3 days 04:05:06.5'::interval, '{"a": [1, null]}'::jsonb, '{"b":2}'::json,
                  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '\xdead'::bytea, ARRAY[1, 2, NULL]::int4[],
                  ARRAY['a', NULL]::text[], 'happy'::mood, NULL::text, '13:45:00+02'::timetz"#,
        &[],
    )
    .await
    .unwrap();
    let exact = run(&c, "SELECT 1.50::numeric, (-12.30)::numeric(10,2), 100::numeric, 0.001::numeric, 1e-20::numeric", &[])
        .await
        .unwrap();
    assert_eq!(
        json(&exact.rows[0]),
        "[1.50,-12.30,100,0.001,0.00000000000000000001]",
        "numeric as psql shows it"
    );
    let types: Vec<&str> = r.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(&types[..4], ["INT2", "INT4", "INT8", "NUMERIC"]);
    assert_eq!(r.columns[0].name, "a");
    assert_eq!(
        json(&r.rows[0]),
        r#"[1,2,3,12345678901234567890.000000000123,"NaN",1.5,0.25,true,"x","y","2024-05-01","13:45:00.500","2024-05-01T13:45:00","2024-05-01T11:45:00Z","P1Y2M3DT4H5M6.5S",{"a":[1,null]},{"b":2},"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","\\xdead",[1,2,null],["a",null],"happy",null,"13:45:00+02:00"]"#
    );
    c.close().await;
    common::drop_pg_database(&db).await;
}

#[tokio::test]
async fn postgres_parameters_are_bound_with_the_inferred_types() {
    let (db, url) = pg_fixture().await;
    let c = connector(&url);
    let r = run(&c, "SELECT id, name, m FROM t WHERE id > $1 AND name <> $2 AND m = $3 AND $4::date < now() ORDER BY id LIMIT 2",
        &["47", "x", "ok", "2024-01-01"]).await.unwrap();
    assert_eq!(
        json(&r.rows.concat()),
        r#"[48,"row 48","ok",49,"row 49","ok"]"#
    );
    // Injection through a value is just a value.
    let r = run(
        &c,
        "SELECT count(*) FROM t WHERE name = $1",
        &["' OR '1'='1"],
    )
    .await
    .unwrap();
    assert_eq!(json(&r.rows[0]), "[0]");
    let e = run(&c, "SELECT * FROM t WHERE id = $1", &["not a number"])
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::Param { index: 1, .. }), "{e:?}");
    let e = run(&c, "SELECT * FROM t WHERE id = $1", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::Param { .. }), "{e:?}");
    c.close().await;
    common::drop_pg_database(&db).await;
}

#[tokio::test]
async fn postgres_read_only_cannot_be_bypassed() {
    let (db, url) = pg_fixture().await;
    let before = pg_checksum(&url).await;
    let c = connector(&url);
    for payload in [
        "DELETE FROM t",
        "SELECT 1; COMMIT; DELETE FROM t",
        "COMMIT",
        "SET TRANSACTION READ WRITE",
        "BEGIN READ WRITE",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d",
        "SELECT * INTO t2 FROM t",
        "EXPLAIN ANALYZE DELETE FROM t",
        "SELECT nextval('s')",
        "SELECT query_to_xml('delete from t', true, true, '')",
        "UPDATE t SET name = 'x' WHERE id = 1",
        "CREATE TABLE t3 (a int)",
    ] {
        let _ = run(&c, payload, &[]).await; // refused one way or another; the data decides
                                             // The next run still works: the connection went back clean.
        assert_eq!(
            json(&run(&c, "SELECT count(*) FROM t", &[]).await.unwrap().rows[0]),
            "[50]",
            "after {payload}"
        );
    }
    let e = run(&c, "DELETE FROM t", &[]).await.unwrap_err();
    assert!(matches!(e, ConnectorError::ReadOnly { .. }), "{e:?}");
    assert_eq!(
        run(&c, "SELECT 1; DELETE FROM t", &[]).await.unwrap_err(),
        ConnectorError::MultipleStatements
    );
    assert_eq!(
        pg_checksum(&url).await,
        before,
        "data and sequence unchanged"
    );
    // No backend of ours is left idle in a transaction.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let idle: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(idle, 0);
    c.close().await;
    common::drop_pg_database(&db).await;
}

#[tokio::test]
async fn postgres_errors_carry_the_position_and_the_timeout_holds() {
    let (db, url) = pg_fixture().await;
    let c = connector(&url);
    match run(&c, "SELECT idd FROM t", &[]).await.unwrap_err() {
        ConnectorError::Sql {
            message,
            position,
            code,
        } => {
            assert!(message.contains("idd"), "{message}");
            assert_eq!(position, Some(8));
            assert_eq!(code.as_deref(), Some("42703"));
        }
        other => panic!("{other:?}"),
    }
    let limits = RunLimits {
        timeout: Duration::from_secs(2),
        ..Default::default()
    };
    for sql in ["SELECT pg_sleep(600)", "SET statement_timeout = 0"] {
        let _ = run_with(&c, sql, &[], &limits).await;
    }
    let t = Instant::now();
    let e = run_with(&c, "SELECT pg_sleep(600)", &[], &limits)
        .await
        .unwrap_err();
    assert_eq!(e, ConnectorError::Timeout(2));
    assert!(
        t.elapsed() < Duration::from_millis(3500),
        "{:?}",
        t.elapsed()
    );
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(600)%' AND state = 'active'")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "no leftover backend");
    // The row cap is reported, not silent.
    let capped = RunLimits {
        max_rows: 10,
        ..Default::default()
    };
    let mut sink = Collect::default();
    let s = c
        .run("SELECT * FROM t", &[], &capped, &mut sink)
        .await
        .unwrap();
    assert!(s.truncated);
    assert_eq!((s.row_count, sink.rows.len()), (10, 10));
    c.close().await;
    common::drop_pg_database(&db).await;
}

#[tokio::test]
async fn mariadb_types_read_only_and_timeout() {
    let table = format!("sl_conn_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::MySqlConnection::connect(MARIADB_URL)
        .await
        .expect("local MariaDB (see README)");
    sqlx::query(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, flag BOOLEAN, big BIGINT UNSIGNED, price DECIMAL(12,4), ratio DOUBLE, \
         name VARCHAR(20), kind ENUM('a','b'), day DATE, at DATETIME(3), ts TIMESTAMP NULL, dur TIME, blob_col VARBINARY(8), note TEXT)"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO {table} VALUES (1, TRUE, 18446744073709551615, 12.5000, 0.5, 'x', 'b', '2024-05-01', \
         '2024-05-01 13:45:00.250', '2024-05-01 11:45:00', '-01:02:03', x'dead', NULL)"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    let c = connector(MARIADB_URL);
    let r = run(&c, &format!("SELECT * FROM {table} WHERE id = ?"), &["1"])
        .await
        .unwrap();
    assert_eq!(
        json(&r.rows[0]),
        r#"[1,true,18446744073709551615,12.5000,0.5,"x","b","2024-05-01","2024-05-01T13:45:00.250","2024-05-01T11:45:00Z","-01:02:03","\\xdead",null]"#
    );
    for payload in [
        format!("DELETE FROM {table}"),
        format!("UPDATE {table} SET name = 'y'"),
        "SET SESSION TRANSACTION READ WRITE".to_string(),
        format!("SELECT * FROM {table} INTO OUTFILE '/tmp/sl_pwn_{table}.txt'"),
        format!("SELECT 1; DELETE FROM {table}"),
        format!("SELECT 1 INTO DUMPFILE '/tmp/sl_pwn_{table}.txt'"),
        "SELECT LOAD_FILE('/etc/passwd')".to_string(),
    ] {
        let _ = run(&c, &payload, &[]).await;
    }
    let e = run(&c, &format!("DELETE FROM {table}"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ConnectorError::ReadOnly { .. } | ConnectorError::Sql { .. }
        ),
        "{e:?}"
    );
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE name = 'x'"))
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(n, 1, "nothing changed");
    assert!(!std::path::Path::new(&format!("/tmp/sl_pwn_{table}.txt")).exists());
    let e = run(&c, "SELECT LOAD_FILE('/etc/passwd')", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, ConnectorError::ReadOnly { .. }), "{e:?}");

    let t = Instant::now();
    let limits = RunLimits {
        timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let e = run_with(&c, "SELECT SLEEP(600)", &[], &limits).await;
    assert!(
        t.elapsed() < Duration::from_millis(3500),
        "{:?} {e:?}",
        t.elapsed()
    );
    // MariaDB's SLEEP() returns 1 when interrupted instead of failing; either way it stopped.
    assert!(
        matches!(&e, Err(ConnectorError::Timeout(_)))
            || e.as_ref().is_ok_and(|r| json(&r.rows[0]) == "[1]"),
        "{e:?}"
    );
    assert_eq!(
        json(&run(&c, "SELECT 1 + 1", &[]).await.unwrap().rows[0]),
        "[2]"
    );
    c.close().await;
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_is_read_only_and_refuses_attach_vacuum_and_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixture.db");
    {
        let mut w =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await
                .unwrap();
        for s in [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price REAL, data BLOB, note TEXT)",
            "INSERT INTO t VALUES (1, 'a', 1.5, x'dead', NULL), (2, 'b', 2.0, NULL, 'n')",
        ] {
            sqlx::query(s).execute(&mut w).await.unwrap();
        }
    }
    let url = format!("sqlite://{}", path.display());
    let c = connector(&url);
    let r = run(&c, "SELECT * FROM t WHERE id = ?", &["1"])
        .await
        .unwrap();
    assert_eq!(json(&r.rows[0]), r#"[1,"a",1.5,"\\xdead",null]"#);
    assert_eq!(
        r.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["id", "name", "price", "data", "note"]
    );
    let empty = run(&c, "SELECT id, name FROM t WHERE id > 100", &[])
        .await
        .unwrap();
    assert_eq!(empty.columns.len(), 2, "columns of an empty result");
    let pwn = dir.path().join("pwn.db");
    for payload in [
        "DELETE FROM t".to_string(),
        "INSERT INTO t (id) VALUES (3)".to_string(),
        "ATTACH '/etc/passwd' AS x".to_string(),
        format!("ATTACH '{}' AS m", path.display()),
        format!("VACUUM INTO '{}'", pwn.display()),
        "SELECT load_extension('x')".to_string(),
        "PRAGMA writable_schema=1".to_string(),
        "PRAGMA query_only=0".to_string(),
        "CREATE TABLE x (a)".to_string(),
    ] {
        assert!(run(&c, &payload, &[]).await.is_err(), "{payload} must fail");
    }
    assert!(!pwn.exists());
    assert_eq!(
        json(&run(&c, "SELECT count(*) FROM t", &[]).await.unwrap().rows[0]),
        "[2]"
    );
    assert!(c.test().await.unwrap().starts_with("SQLite 3."));

    let t = Instant::now();
    let limits = RunLimits {
        timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let e = run_with(
        &c,
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r",
        &[],
        &limits,
    )
    .await
    .unwrap_err();
    assert_eq!(e, ConnectorError::Timeout(1));
    assert!(t.elapsed() < Duration::from_secs(3));
    c.close().await;
}

#[tokio::test]
async fn connection_failures_are_clear_and_contain_no_password() {
    let c = connector("postgres://nobody:sekret-pw-123@127.0.0.1:1/none");
    let e = c.test().await.unwrap_err();
    assert!(matches!(e, ConnectorError::Connect(_)), "{e:?}");
    assert!(!e.to_string().contains("sekret-pw-123"));
    let c = connector("sqlite:///definitely/not/here.db");
    assert!(c.test().await.is_err());
}

#[tokio::test]
async fn procedures_and_set_returning_functions_run_with_bound_arguments() {
    let (name, url) = pg_fixture().await;
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    for stmt in [
        "CREATE PROCEDURE double_it(INOUT n int) LANGUAGE plpgsql AS $$ BEGIN n := n * 2; END $$",
        "CREATE PROCEDURE add_row(id int) LANGUAGE sql AS $$ INSERT INTO t VALUES (id, 'added', 'ok') $$",
        "CREATE FUNCTION evens(upto int) RETURNS SETOF int LANGUAGE sql AS $$ SELECT g FROM generate_series(2, upto, 2) g $$",
    ] {
        sqlx::query(stmt).execute(&mut admin).await.unwrap();
    }
    let c = connector(&url);
    // CALL with a bound argument returns its INOUT values as a row.
    let r = run(&c, "CALL double_it($1)", &["21"]).await.unwrap();
    assert_eq!(json(&r.rows[0]), "[42]");
    // A set-returning function reads like a table.
    let r = run(&c, "SELECT * FROM evens($1)", &["10"]).await.unwrap();
    assert_eq!(r.rows.len(), 5);
    // A procedure that modifies data is refused on a read-only connection…
    let err = run(&c, "CALL add_row($1)", &["1000"]).await.unwrap_err();
    assert!(matches!(err, ConnectorError::ReadOnly { .. }), "{err:?}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(n, 50);
    // …and runs (committed) on one an admin marked writable.
    let writable = RunLimits {
        timeout: Duration::from_secs(10),
        writable: true,
        ..Default::default()
    };
    run_with(&c, "CALL add_row($1)", &["1000"], &writable)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(n, 51);
    c.close().await;
    admin.close().await.unwrap();
    common::drop_pg_database(&name).await;
}

#[tokio::test]
async fn mariadb_call_returns_the_procedures_result_set() {
    let mut admin = sqlx::MySqlConnection::connect(MARIADB_URL).await.unwrap();
    let proc_name = format!("sl_double_{}", std::process::id());
    sqlx::raw_sql(&format!("DROP PROCEDURE IF EXISTS {proc_name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "CREATE PROCEDURE {proc_name}(IN x INT) SELECT x * 2 AS doubled, 'ok' AS note"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    let c = connector(MARIADB_URL);
    let r = run(&c, &format!("CALL {proc_name}(?)"), &["21"]).await;
    sqlx::raw_sql(&format!("DROP PROCEDURE {proc_name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let r = r.unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(json(&r.rows[0]), r#"[42,"ok"]"#);
    c.close().await;
}

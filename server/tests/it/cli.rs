//! The `sightline` binary as an operator uses it: keys, migrate, user commands, --help.
use std::{
    io::Write,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

fn sightline(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sightline"));
    cmd.args(args)
        .env_remove("SIGHTLINE_SESSION_KEY")
        .env_remove("SIGHTLINE_ENCRYPTION_KEY")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            pipe.write_all(s.as_bytes()).unwrap();
        }
    }
    wait_with_timeout(child, Duration::from_secs(60))
}

fn wait_with_timeout(mut child: std::process::Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("sightline did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn serve_refuses_empty_short_or_example_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for (var, value) in [
        ("SIGHTLINE_SESSION_KEY", ""),
        ("SIGHTLINE_SESSION_KEY", "c2hvcnQ="),
        (
            "SIGHTLINE_SESSION_KEY",
            "change-me-please-change-me-please-change-me",
        ),
        (
            "SIGHTLINE_ENCRYPTION_KEY",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ] {
        let o = sightline(
            &["serve", "--bind", "127.0.0.1:0", "--data-dir", data],
            &[(var, value)],
            None,
        );
        assert!(!o.status.success(), "{var}={value:?} must stop the server");
        assert!(
            text(&o).contains(var),
            "the error names {var}: {}",
            text(&o)
        );
    }
}

#[test]
fn user_commands_read_passwords_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let o = sightline(&["migrate", "--data-dir", data], &[], None);
    assert!(o.status.success(), "{}", text(&o));

    let o = sightline(
        &[
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
            data,
        ],
        &[],
        Some("correct horse battery staple\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("created ops@example.com (admin)"),
        "{}",
        text(&o)
    );

    let o = sightline(
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--role",
            "viewer",
            "--password-stdin",
            "--data-dir",
            data,
        ],
        &[],
        Some("another long password\n"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("already exists"), "{}", text(&o));

    let o = sightline(
        &[
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "admin",
            "--data-dir",
            data,
        ],
        &[],
        None,
    );
    assert!(!o.status.success(), "--password-stdin is required");

    let o = sightline(
        &[
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "root",
            "--password-stdin",
            "--data-dir",
            data,
        ],
        &[],
        Some("correct horse battery staple\n"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown role"), "{}", text(&o));

    let o = sightline(
        &[
            "user",
            "reset-password",
            "--email",
            "ops@example.com",
            "--password-stdin",
            "--data-dir",
            data,
        ],
        &[],
        Some("a brand new passphrase\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = sightline(
        &[
            "user",
            "reset-password",
            "--email",
            "nobody@example.com",
            "--password-stdin",
            "--data-dir",
            data,
        ],
        &[],
        Some("a brand new passphrase\n"),
    );
    assert!(!o.status.success());
}

#[test]
fn help_documents_every_command() {
    let o = sightline(&["--help"], &[], None);
    let t = text(&o);
    for word in ["serve", "migrate", "user"] {
        assert!(t.contains(word), "{t}");
    }
    let t = text(&sightline(&["serve", "--help"], &[], None));
    for word in [
        "--bind",
        "SIGHTLINE_BIND",
        "--data-dir",
        "SIGHTLINE_DATA_DIR",
        "DATABASE_URL",
    ] {
        assert!(t.contains(word), "{word} in {t}");
    }
    let t = text(&sightline(&["user", "create", "--help"], &[], None));
    assert!(
        t.contains("--password-stdin") && t.contains("--role"),
        "{t}"
    );
}

const PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[test]
fn query_prints_typed_json() {
    let o = sightline(
        &["query", "--url", PG, "--sql",
          "select 1 as a, null::text as b, 1.50::numeric as c, '2024-05-01 10:00:00+00'::timestamptz as d, 'x' as e"],
        &[],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["columns"][0],
        serde_json::json!({"name": "a", "type": "INT4"})
    );
    assert_eq!(
        v["rows"],
        serde_json::json!([[1, null, 1.50, "2024-05-01T10:00:00Z", "x"]])
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(",1.50,"),
        "numeric keeps its digits"
    );
    assert_eq!(v["row_count"], 1);
    assert!(v["elapsed_ms"].is_u64());
}

#[test]
fn query_streams_csv_and_ndjson_and_takes_params_from_env() {
    let sql = "select g as n, case when g = 2 then null else 'v,' || g end as s from generate_series(1, $1::int) g";
    let o = sightline(
        &[
            "query", "--url", PG, "--sql", sql, "--param", "3", "--format", "csv",
        ],
        &[],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "n,s\n1,\"v,1\"\n2,\n3,\"v,3\"\n"
    );

    let o = sightline(
        &["query", "--url", PG, "--sql", sql, "--format", "ndjson"],
        &[("SIGHTLINE_PARAM_1", "2")],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "{\"n\":1,\"s\":\"v,1\"}\n{\"n\":2,\"s\":null}\n"
    );
}

#[test]
fn query_failures_exit_non_zero_with_one_line_on_stderr() {
    for (args, expect) in [
        (vec!["--sql", "select nope from nowhere"], "nowhere"),
        (
            vec!["--sql", "create table sl_cli_should_not_exist (a int)"],
            "read-only",
        ),
        (vec!["--sql", "select 1; select 2"], "one statement"),
        (
            vec!["--sql", "select $1::int", "--param", "x"],
            "parameter $1",
        ),
    ] {
        let mut all = vec!["query", "--url", PG];
        all.extend(args);
        let o = sightline(&all, &[], None);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.to_lowercase().contains(expect), "{expect} in {err}");
        assert!(o.stdout.is_empty() || !String::from_utf8_lossy(&o.stdout).contains("row_count"));
    }
    let o = sightline(
        &[
            "query",
            "--url",
            "postgres://u:topsecretpw@127.0.0.1:1/x",
            "--sql",
            "select 1",
        ],
        &[],
        None,
    );
    assert!(!o.status.success());
    assert!(!text(&o).contains("topsecretpw"), "{}", text(&o));
}

/// PostgreSQL CSV without parameters goes through the server's COPY; it must print exactly
/// what the row path prints (forced here with `--max-rows`), whatever the types.
#[test]
fn query_csv_through_copy_equals_the_row_path() {
    let sql = "select g as id, g % 2 = 0 as even, (g % 3 = 0) and null as maybe, \
         timestamptz '2024-02-29 23:59:59+00' + g * interval '1.25 seconds' as tz, \
         timestamp '2024-01-01' + g * interval '0.001 seconds' as ts, \
         timestamp '2024-01-01 10:00:00' as whole, date '2024-03-01' + g as d, \
         (g / 7.0)::numeric(10, 4) as amount, 'he said \"x, y\"' || chr(10) || g as txt, \
         md5(g::text)::uuid as u, decode('00ff', 'hex') as b, \
         case when g = 3 then null else g::text end as maybe_null, \
         'infinity'::timestamptz as forever, '-infinity'::timestamp as never, \
         'infinity'::date as someday \
         from generate_series(1, 50) g -- trailing comment";
    let copy = sightline(
        &["query", "--url", PG, "--sql", sql, "--format", "csv"],
        &[],
        None,
    );
    assert!(copy.status.success(), "{}", text(&copy));
    let rows = sightline(
        &[
            "query",
            "--url",
            PG,
            "--sql",
            sql,
            "--format",
            "csv",
            "--max-rows",
            "1000",
        ],
        &[],
        None,
    );
    assert!(rows.status.success(), "{}", text(&rows));
    let (a, b) = (
        String::from_utf8_lossy(&copy.stdout),
        String::from_utf8_lossy(&rows.stdout),
    );
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        assert_eq!(x, y, "line {i} differs between COPY and the row path");
    }
    assert_eq!(a, b);
    assert!(a.starts_with(
        "id,even,maybe,tz,ts,whole,d,amount,txt,u,b,maybe_null,forever,never,someday\n"
    ));
    assert!(
        a.contains(
            "1,false,false,2024-03-01T00:00:00.250Z,2024-01-01T00:00:00.001,2024-01-01T10:00:00,"
        ),
        "{a}"
    );
    assert!(a.contains(",infinity,-infinity,infinity\n"), "{a}");
}

/// The COPY wrapper cannot be escaped: text that would close its parenthesis must first
/// parse alone as one statement, which it cannot.
#[test]
fn query_csv_copy_wrapper_cannot_be_escaped() {
    let marker = std::env::temp_dir().join(format!("sl-copy-escape-{}", std::process::id()));
    for sql in [
        format!("select 1) to program 'touch {}' --", marker.display()),
        format!("select '\\' ) to program 'touch {}' /*'", marker.display()),
        format!("select 1 /* ) to program 'touch {}' */", marker.display()),
    ] {
        let o = sightline(
            &["query", "--url", PG, "--sql", &sql, "--format", "csv"],
            &[],
            None,
        );
        if o.status.success() {
            assert_eq!(String::from_utf8_lossy(&o.stdout), "?column?\n1\n", "{sql}");
        }
        assert!(!marker.exists(), "{sql} ran a program");
    }
}

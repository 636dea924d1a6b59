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

//! Issue 13, item 8: the MySQL local-file request stays refused. A small MySQL protocol peer
//! on loopback (handshake v10 offering CLIENT_LOCAL_FILES, accepting any login) answers a
//! query with a LOCAL INFILE request (0xFB + a file name) for a canary file. The product's
//! MySQL connector, used the way the app uses it (`Connector::open`, then `test` or `run`),
//! must not advertise CLIENT_LOCAL_FILES in its handshake response, must not send the file,
//! and must end with an error. A driver upgrade that reopens local infile fails this test.
use app::{
    model::{
        connection::{ConnectionConfig, NetworkConfig, SslMode},
        query::{Column, Value},
    },
    server::connectors::{Connector, ConnectorError, PoolOptions, RowSink, RunLimits},
};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// CLIENT_LOCAL_FILES in the capability flags.
const CLIENT_LOCAL_FILES: u32 = 0x80;

/// What the peer saw on one connection.
#[derive(Debug, Default, Clone)]
struct Seen {
    /// Capability flags of the client's handshake response.
    client_caps: Option<u32>,
    /// Every packet the client sent after the handshake response: (sequence id, payload).
    packets: Vec<(u8, Vec<u8>)>,
    /// Packets the client sent after the LOCAL INFILE request.
    after_request: Vec<(u8, Vec<u8>)>,
    requested: bool,
}

struct Peer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn read_packet(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await?;
    Ok((head[3], body))
}

async fn write_packet(s: &mut TcpStream, seq: u8, body: &[u8]) -> std::io::Result<()> {
    let len = (body.len() as u32).to_le_bytes();
    let mut out = vec![len[0], len[1], len[2], seq];
    out.extend_from_slice(body);
    s.write_all(&out).await?;
    s.flush().await
}

/// OK: no rows affected, no insert id, autocommit, no warnings.
const OK: [u8; 7] = [0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00];

/// Protocol::HandshakeV10 of a server that offers local infile.
fn handshake() -> Vec<u8> {
    let caps: u32 = 0x0000_0001 // LONG_PASSWORD (CLIENT_MYSQL)
        | 0x0000_0002 // FOUND_ROWS
        | 0x0000_0004 // LONG_FLAG
        | 0x0000_0008 // CONNECT_WITH_DB
        | CLIENT_LOCAL_FILES
        | 0x0000_0200 // PROTOCOL_41
        | 0x0000_2000 // TRANSACTIONS
        | 0x0000_8000 // SECURE_CONNECTION
        | 0x0001_0000 // MULTI_STATEMENTS
        | 0x0002_0000 // MULTI_RESULTS
        | 0x0004_0000 // PS_MULTI_RESULTS
        | 0x0008_0000 // PLUGIN_AUTH
        | 0x0020_0000 // PLUGIN_AUTH_LENENC_CLIENT_DATA
        | 0x0100_0000; // DEPRECATE_EOF
    let mut p = vec![10u8];
    p.extend_from_slice(b"8.0.99-sightline-peer\0");
    p.extend_from_slice(&7u32.to_le_bytes());
    p.extend_from_slice(b"abcdefgh"); // auth-plugin-data part 1
    p.push(0);
    p.extend_from_slice(&(caps as u16).to_le_bytes());
    p.push(45); // utf8mb4_general_ci
    p.extend_from_slice(&0x0002u16.to_le_bytes()); // autocommit
    p.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
    p.push(21); // auth-plugin-data length
    p.extend_from_slice(&[0u8; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0"); // auth-plugin-data part 2
    p.extend_from_slice(b"mysql_native_password\0");
    p
}

/// A peer that answers the `request_at`-th query (COM_QUERY or COM_STMT_PREPARE, counted
/// from 0 per connection) with a LOCAL INFILE request for `file`, and every other one with OK.
async fn peer(request_at: usize, file: String) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let all = seen.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let all = all.clone();
            let file = file.clone();
            tokio::spawn(async move {
                let n = {
                    let mut a = all.lock().unwrap();
                    a.push(Seen::default());
                    a.len() - 1
                };
                let _ = serve(s, request_at, &file, Record { all, n }).await;
            });
        }
    });
    Peer { port, seen }
}

/// Where one connection's observations go.
struct Record {
    all: Arc<Mutex<Vec<Seen>>>,
    n: usize,
}

impl Record {
    fn note(&self, f: impl FnOnce(&mut Seen)) {
        f(&mut self.all.lock().unwrap()[self.n]);
    }
}

async fn serve(
    mut s: TcpStream,
    request_at: usize,
    file: &str,
    record: Record,
) -> std::io::Result<()> {
    write_packet(&mut s, 0, &handshake()).await?;
    let (seq, response) = read_packet(&mut s).await?;
    let caps = u32::from_le_bytes([response[0], response[1], response[2], response[3]]);
    record.note(|x| x.client_caps = Some(caps));
    // Whatever the client sent as its password: welcome.
    write_packet(&mut s, seq.wrapping_add(1), &OK).await?;
    let mut queries = 0;
    let mut requested = false;
    loop {
        // After the request, wait a little for what the client sends back, then hang up.
        let wait = Duration::from_millis(if requested { 1500 } else { 10_000 });
        let (seq, p) = match tokio::time::timeout(wait, read_packet(&mut s)).await {
            Ok(Ok(x)) => x,
            _ => return Ok(()),
        };
        record.note(|x| {
            x.packets.push((seq, p.clone()));
            if requested {
                x.after_request.push((seq, p.clone()));
            }
        });
        if requested {
            continue;
        }
        match p.first() {
            Some(0x01) => return Ok(()), // COM_QUIT
            Some(0x03 | 0x16) if queries == request_at => {
                queries += 1;
                requested = true;
                record.note(|x| x.requested = true);
                let mut req = vec![0xFB];
                req.extend_from_slice(file.as_bytes());
                write_packet(&mut s, seq.wrapping_add(1), &req).await?;
            }
            Some(0x03 | 0x16) => {
                queries += 1;
                write_packet(&mut s, seq.wrapping_add(1), &OK).await?;
            }
            _ => write_packet(&mut s, seq.wrapping_add(1), &OK).await?,
        }
    }
}

/// The product's MySQL connector pointed at the peer, as a saved connection would open it.
fn connector(port: u16) -> Connector {
    Connector::open(
        &ConnectionConfig::Mysql(NetworkConfig {
            host: "127.0.0.1".into(),
            port,
            database: "test".into(),
            user: "sightline".into(),
            password: Some("peer-password".into()),
            ssl_mode: SslMode::Disable,
        }),
        &PoolOptions {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        },
    )
    .unwrap()
}

#[derive(Default)]
struct Collect(Vec<Vec<Value>>);

impl RowSink for Collect {
    fn columns(&mut self, _: &[Column]) -> Result<(), ConnectorError> {
        Ok(())
    }
    fn row(&mut self, r: Vec<Value>) -> Result<(), ConnectorError> {
        self.0.push(r);
        Ok(())
    }
}

/// A canary file the peer asks for; its text must never reach the peer.
fn canary() -> (tempfile::TempDir, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.txt");
    let text = format!("SIGHTLINE-CANARY-{}", uuid::Uuid::new_v4().simple()).into_bytes();
    std::fs::write(&path, &text).unwrap();
    (dir, path.to_string_lossy().into_owned(), text)
}

/// The peer's record after a call: the request was made, the client never offered local
/// files, and nothing it sent afterwards is a reply to the request or holds the file.
fn assert_refused(what: &str, seen: &[Seen], canary: &[u8]) {
    assert!(!seen.is_empty(), "{what}: the peer saw no connection");
    assert!(
        seen.iter().any(|s| s.requested),
        "{what}: the peer never got to ask for the file: {seen:?}"
    );
    for s in seen {
        let caps = s
            .client_caps
            .unwrap_or_else(|| panic!("{what}: no handshake response: {s:?}"));
        assert_eq!(
            caps & CLIENT_LOCAL_FILES,
            0,
            "{what}: the client advertised CLIENT_LOCAL_FILES ({caps:#010x})"
        );
        for (seq, p) in &s.packets {
            assert!(
                !p.windows(canary.len()).any(|w| w == canary),
                "{what}: the file's content reached the server (packet seq {seq})"
            );
        }
        // A client that honours the request answers in the same command sequence (sequence
        // id 2: file bytes, then an empty packet). Ours may only hang up or start a new
        // command (sequence id 0), and the only new command allowed is COM_QUIT.
        for (seq, p) in &s.after_request {
            assert!(
                *seq == 0 && p.first() == Some(&0x01),
                "{what}: the client answered the LOCAL INFILE request (seq {seq}, {} bytes: {:?})",
                p.len(),
                String::from_utf8_lossy(p)
            );
        }
    }
}

#[tokio::test]
async fn mysql_connector_never_offers_or_sends_local_files() {
    let (_dir, file, text) = canary();

    // 1. The very first query of the session (the driver's own setup, during connect),
    //    through the connection test the "Test" button runs.
    let p = peer(0, file.clone()).await;
    let c = connector(p.port);
    let e = c
        .test()
        .await
        .expect_err("a LOCAL INFILE request must fail the connection test");
    assert!(matches!(e, ConnectorError::Connect(_)), "{e:?}");
    c.close().await;
    assert_refused("test, session setup", &p.seen.lock().unwrap(), &text);

    // 2. The connector's own statement in the "Test" button (after the setup succeeded).
    let p = peer(1, file.clone()).await;
    let c = connector(p.port);
    let e = c.test().await.expect_err("the request must fail the test");
    c.close().await;
    let seen = p.seen.lock().unwrap().clone();
    assert_refused(&format!("test, version query ({e})"), &seen, &text);

    // 3. A run, as the workbench, insights, exports and alerts run SQL: the request answers
    //    the run's first statement on a pooled connection.
    let p = peer(1, file.clone()).await;
    let c = connector(p.port);
    let mut sink = Collect::default();
    let limits = RunLimits {
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let e = c
        .run("SELECT 1", &[], &limits, &mut sink)
        .await
        .expect_err("the request must fail the run");
    assert!(
        sink.0.is_empty(),
        "no rows from a peer that asked for a file"
    );
    // Let the pool release (and close) the connection before reading the record.
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.close().await;
    let seen = p.seen.lock().unwrap().clone();
    assert_refused(&format!("run ({e})"), &seen, &text);
}

#!/usr/bin/env python3
"""Benchmark: 10,000 alerts due in the same minute, evaluated and delivered by 2 worker
processes (`sightline worker` with the default number of evaluations at once) beside
`sightline serve --alert-workers 0`, on the SQLite store and on a PostgreSQL store. Reports the time from the
minute boundary until every alert was evaluated and its notification reached a local HTTP
receiver, plus duplicates and misses.

Each alert runs an insight `select 1 as n` on the local PostgreSQL `test` database with the
rule `n > 0`, so its first evaluation fires once. One alert is created through the API; the
other 9,999 are copies of its row (creating 10,000 through the API is not what is measured).
Usage: bench/alerts_10k.py [path/to/sightline] [sqlite|postgres ...]
"""
import http.server, json, os, socketserver, sys, threading, time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import Server, psql, rss_mb

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/sightline"
STORES = sys.argv[2:] or ["sqlite", "postgres"]
N = int(os.environ.get("BENCH_ALERTS", "10000"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
os.chdir(os.path.join(os.path.dirname(__file__), ".."))

class Hits:
    def __init__(self):
        self.lock = threading.Lock(); self.by_alert = {}; self.total = 0; self.last = 0.0

def receiver(hits):
    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                name = json.loads(body).get("alert", "?")
            except Exception:
                name = "?"
            with hits.lock:
                hits.by_alert[name] = hits.by_alert.get(name, 0) + 1
                hits.total += 1; hits.last = time.time()
            self.send_response(200); self.send_header("content-length", "2"); self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *a): pass
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
    s = S(("127.0.0.1", 0), H)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s

def bench(store):
    hits = Hits(); rec = receiver(hits)
    # Every minute: below the default shortest interval (5 min), allowed for this run.
    env = {"SIGHTLINE_ALERT_ALLOW_HOSTS": "127.0.0.1", "SIGHTLINE_ALERT_MIN_INTERVAL": "1"}
    pg_db = None
    if store == "postgres":
        pg_db = f"sightline_bench_{os.getpid()}"
        psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {pg_db}"); psql(PG_ADMIN, f"CREATE DATABASE {pg_db}")
        env["DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_db
    try:
        with Server(BIN, env=env, args=["--alert-workers", "0"]) as s:
            run(s, store, hits, rec)
    finally:
        rec.shutdown()
        if pg_db:
            psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")


def run(s, store, hits, rec):
    conn = s.postgres_connection("postgres://postgres@127.0.0.1:5432/test", name="pg")
    insight = s.post("save_insight", {"id": None, "base_version": None,
                                      "draft": {"name": "one", "connection_id": conn, "sql": "select 1 as n"}})
    channel = s.post("create_channel", {"draft": {"kind": "webhook", "name": "bench",
                                                  "url": f"http://127.0.0.1:{rec.server_address[1]}/h", "secret": ""}})
    s.post("save_alert", {"id": None, "draft": {"insight_id": insight["id"], "name": "alert-00000",
           "rule": {"kind": "threshold", "column": "n", "op": ">", "value": 0},
           "cron": "* * * * *", "timezone": "UTC", "channels": [channel["id"]]}})
    # All due at the next minute boundary (at least 20 s away, for the copies and start-up).
    now = datetime.now(timezone.utc)
    due = (now + timedelta(seconds=80)).replace(second=0, microsecond=0)
    copy = (f"INSERT INTO alerts (insight_id, name, params, rule, policy, cron, timezone, channels, "
            f"enabled, owner_id, state, state_label, next_run_at, created_at, updated_at) "
            f"SELECT insight_id, {{name}}, params, rule, policy, cron, timezone, channels, enabled, "
            f"owner_id, state, state_label, {{due}}, created_at, updated_at FROM alerts, {{series}} "
            f"WHERE alerts.id = (SELECT min(id) FROM alerts)")
    if store == "sqlite":
        import sqlite3
        db = sqlite3.connect(os.path.join(s.data, "sightline.db"), timeout=30)
        due_s = due.isoformat()
        db.execute(copy.format(
            name="printf('alert-%05d', g.value)", due="?",
            series=f"(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < {N - 1}) SELECT value FROM s) g"),
            (due_s,))
        db.execute("UPDATE alerts SET next_run_at = ?", (due_s,))
        db.commit(); db.close()
    else:
        url = s.env["DATABASE_URL"]
        psql(url, copy.format(name="'alert-' || lpad(g::text, 5, '0')", due=f"'{due.isoformat()}'",
                              series=f"generate_series(1, {N - 1}) g"))
        psql(url, f"UPDATE alerts SET next_run_at = '{due.isoformat()}'")
    workers = [s.spawn(["worker"]) for _ in range(2)]
    wait = (due - datetime.now(timezone.utc)).total_seconds()
    time.sleep(max(0, wait))
    start = time.time()
    rss = 0
    while time.time() - start < 600:
        with hits.lock:
            got = len(hits.by_alert)
        if got >= N:
            break
        if hits.total and time.time() - hits.last > 30:
            break  # nothing for 30 s: stuck
        rss = max([rss] + [rss_mb(p.pid, "VmRSS") for p in workers])
        time.sleep(0.2)
    elapsed = (hits.last or time.time()) - start
    time.sleep(3)  # late duplicates
    with hits.lock:
        unique = sum(1 for k in hits.by_alert if k.startswith("alert-"))
        dups = sum(v - 1 for v in hits.by_alert.values() if v > 1)
    print(f"{store:9} alerts={N} delivered={unique} time_to_all={elapsed:.1f}s "
          f"duplicates={dups} missed={N - unique} worker_peak_rss={rss}MB", flush=True)


for store in STORES:
    bench(store)

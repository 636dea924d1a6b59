#!/usr/bin/env python3
"""Benchmark: 10,000 alerts due in the same minute, evaluated and delivered by 2 worker
processes (`sightline worker`, 2 evaluations at once each) beside `sightline serve
--alert-workers 0`, on the SQLite store and on a PostgreSQL store. Reports the time from the
minute boundary until every alert was evaluated and its notification reached a local HTTP
receiver, plus duplicates and misses.

Each alert runs an insight `select 1 as n` on the local PostgreSQL `test` database with the
rule `n > 0`, so its first evaluation fires once. One alert is created through the API; the
other 9,999 are copies of its row (creating 10,000 through the API is not what is measured).
Usage: bench/alerts_10k.py [path/to/sightline] [sqlite|postgres ...]
"""
import http.cookiejar, http.server, json, os, socket, socketserver, subprocess, sys, tempfile
import threading, time, urllib.parse, urllib.request
from datetime import datetime, timedelta, timezone

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/sightline"
STORES = sys.argv[2:] or ["sqlite", "postgres"]
N = int(os.environ.get("BENCH_ALERTS", "10000"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
os.chdir(os.path.join(os.path.dirname(__file__), ".."))

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

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

def psql(url, sql):
    return subprocess.run(["psql", "-X", "-qtA", url, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()

def bench(store):
    hits = Hits(); rec = receiver(hits)
    data = tempfile.mkdtemp(prefix="sightline-alerts-bench-")
    port = free_port(); base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, SIGHTLINE_SITE_ROOT="target/site", SIGHTLINE_DATA_DIR=data,
               SIGHTLINE_ALERT_ALLOW_HOSTS="127.0.0.1", SIGHTLINE_NO_DEMO="true")
    pg_db = None
    if store == "postgres":
        pg_db = f"sightline_bench_{os.getpid()}"
        psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {pg_db}"); psql(PG_ADMIN, f"CREATE DATABASE {pg_db}")
        env["DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_db
    subprocess.run([BIN, "user", "create", "--email", "bench@example.com", "--role", "admin",
                    "--password-stdin"], input="bench password 12345\n", text=True, env=env,
                   check=True, capture_output=True)
    procs = [subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{port}", "--alert-workers", "0"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    def post(name, body, form=False):
        if form:
            raw = urllib.parse.urlencode(body).encode(); ctype = "application/x-www-form-urlencoded"
        else:
            raw = json.dumps(body).encode(); ctype = "application/json"
        req = urllib.request.Request(f"{base}/api/{name}", data=raw, method="POST",
                                     headers={"content-type": ctype, "origin": base})
        with opener.open(req) as r:
            return json.loads(r.read())
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/healthz"); break
            except Exception:
                time.sleep(0.05)
        post("login", {"email": "bench@example.com", "password": "bench password 12345"}, form=True)
        conn = post("save_connection", {"form[name]": "pg", "form[kind]": "postgres",
                                        "form[host]": "127.0.0.1", "form[port]": "5432",
                                        "form[database]": "test", "form[user]": "postgres",
                                        "form[ssl_mode]": "disable"}, form=True)
        insight = post("save_insight", {"id": None, "base_version": None,
                                        "draft": {"name": "one", "connection_id": conn, "sql": "select 1 as n"}})
        channel = post("create_channel", {"draft": {"kind": "webhook", "name": "bench",
                                                    "url": f"http://127.0.0.1:{rec.server_address[1]}/h", "secret": ""}})
        post("save_alert", {"id": None, "draft": {"insight_id": insight["id"], "name": "alert-00000",
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
            db = sqlite3.connect(os.path.join(data, "sightline.db"), timeout=30)
            due_s = due.isoformat().replace("+00:00", "+00:00")
            db.execute(copy.format(
                name="printf('alert-%05d', g.value)", due="?",
                series=f"(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < {N - 1}) SELECT value FROM s) g"),
                (due_s,))
            db.execute("UPDATE alerts SET next_run_at = ?", (due_s,))
            db.commit(); db.close()
        else:
            url = env["DATABASE_URL"]
            psql(url, copy.format(name="'alert-' || lpad(g::text, 5, '0')", due=f"'{due.isoformat()}'",
                                  series=f"generate_series(1, {N - 1}) g"))
            psql(url, f"UPDATE alerts SET next_run_at = '{due.isoformat()}'")
        for i in range(2):
            procs.append(subprocess.Popen([BIN, "worker", "--alert-workers", "2"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
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
            for p in procs[1:]:
                try:
                    with open(f"/proc/{p.pid}/status") as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                rss = max(rss, int(line.split()[1]) // 1024)
                except OSError:
                    pass
            time.sleep(0.2)
        elapsed = (hits.last or time.time()) - start
        time.sleep(3)  # late duplicates
        with hits.lock:
            unique = sum(1 for k in hits.by_alert if k.startswith("alert-"))
            dups = sum(v - 1 for v in hits.by_alert.values() if v > 1)
        print(f"{store:9} alerts={N} delivered={unique} time_to_all={elapsed:.1f}s "
              f"duplicates={dups} missed={N - unique} worker_peak_rss={rss}MB", flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        rec.shutdown()
        if pg_db:
            psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")

for s in STORES:
    bench(s)

#!/usr/bin/env python3
"""Benchmark: exporting a 1M-row insight over HTTP (CSV and XLSX) against `psql \\copy`, in
one run, with the server's peak RSS.

Uses the 1M-row table bench_events in the local PostgreSQL database `test` (created by
bench/cli_vs_psql.sh if missing). Starts a release server on a free port with a throwaway
data dir, signs in, registers the connection, saves `select * from bench_events` as an
insight, then times (best of 3) psql's CSV copy and the downloads of
/insights/{id}/export.csv and export.xlsx (whole body read), and reads VmHWM of the server.
Targets (issue 4): CSV <= 1.3x psql, XLSX <= 6x psql, RSS <= 150 MB whatever the row count.
Usage: bench/export_vs_psql.py [path/to/sightline]
"""
import http.cookiejar, json, os, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/sightline"
PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
os.chdir(os.path.join(os.path.dirname(__file__), ".."))

if subprocess.run(["psql", "-X", "-qtA", PG, "-c", "select count(*) from bench_events"],
                  capture_output=True, text=True).returncode != 0:
    subprocess.run(["bash", "-c", "bench/cli_vs_psql.sh >/dev/null"], check=True)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

data = tempfile.mkdtemp(prefix="sightline-bench-")
port = free_port()
base = f"http://127.0.0.1:{port}"
env = dict(os.environ, SIGHTLINE_SITE_ROOT="target/site", SIGHTLINE_DATA_DIR=data)
subprocess.run([BIN, "user", "create", "--email", "bench@example.com", "--role", "admin", "--password-stdin"],
               input="bench password 12345\n", text=True, env=env, check=True, capture_output=True)
server = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{port}", "--no-demo"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    u = urllib.parse.urlparse(PG)
    conn = post("save_connection", {"form[name]": "bench", "form[kind]": "postgres", "form[host]": u.hostname,
                                     "form[port]": str(u.port or 5432), "form[database]": u.path.lstrip("/"),
                                     "form[user]": u.username or "postgres", "form[password]": u.password or ""}, form=True)
    insight = post("save_insight", {"id": None, "base_version": None, "draft": {
        "name": "bench events", "connection_id": conn, "sql": "select * from bench_events", "params": []}})

    def download(ext):
        def go():
            n = 0
            with opener.open(f"{base}/insights/{insight['id']}/export.{ext}") as r:
                while True:
                    chunk = r.read(1 << 20)
                    if not chunk:
                        break
                    n += len(chunk)
            return n
        return go

    def psql_copy():
        subprocess.run(["psql", "-X", "-q", PG, "-c", "\\copy (select * from bench_events) to stdout csv header"],
                       stdout=subprocess.DEVNULL, check=True)

    def best(f, n=3):
        times, size = [], 0
        for _ in range(n):
            t = time.perf_counter(); size = f() or 0; times.append(time.perf_counter() - t)
        return min(times), size

    t_psql, _ = best(psql_copy)
    t_csv, csv_bytes = best(download("csv"))
    t_xlsx, xlsx_bytes = best(download("xlsx"), n=2)
    with open(f"/proc/{server.pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    print(f"{'case':34} {'time':>9}  {'vs psql':>8}  {'size':>10}")
    label = "psql \\copy csv (1M rows)"
    print(f"{label:34} {t_psql:8.3f}s  {'1.00x':>8}")
    print(f"{'export.csv (1M rows)':34} {t_csv:8.3f}s  {t_csv / t_psql:7.2f}x  {csv_bytes / 1e6:8.1f} MB")
    print(f"{'export.xlsx (1M rows)':34} {t_xlsx:8.3f}s  {t_xlsx / t_psql:7.2f}x  {xlsx_bytes / 1e6:8.1f} MB")
    print(f"server peak RSS (VmHWM): {hwm / 1024:.0f} MB")
finally:
    server.terminate()
    server.wait()
    subprocess.run(["rm", "-rf", data])

#!/usr/bin/env python3
"""Benchmark: the workbench HTTP API against psql on the same data, in one run.

Uses the 1M-row table bench_events in the local PostgreSQL database `test` (created by
bench/cli_vs_psql.sh if missing). Starts a release server on a free port with a throwaway data
dir, signs in, registers the connection, then times (best of 5 unless noted):
  select 1, 1k rows, 100k rows (run + page through all rows), time to the first page of
  `select * from bench_events` (1M rows) while the snapshot keeps filling, the time until the
  whole 1M-row snapshot is complete, and the server's peak RSS.
Usage: bench/http_vs_psql.py [path/to/sightline]
"""
import http.cookiejar, json, os, socket, subprocess, sys, tempfile, time, urllib.request

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
        data_ = urllib.parse.urlencode(body).encode(); ctype = "application/x-www-form-urlencoded"
    else:
        data_ = json.dumps(body).encode(); ctype = "application/json"
    req = urllib.request.Request(f"{base}/api/{name}", data=data_, method="POST",
                                 headers={"content-type": ctype, "origin": base})
    with opener.open(req) as r:
        return json.loads(r.read())

import urllib.parse
for _ in range(100):
    try:
        urllib.request.urlopen(f"{base}/healthz"); break
    except Exception:
        time.sleep(0.05)
post("login", {"email": "bench@example.com", "password": "bench password 12345"}, form=True)
u = urllib.parse.urlparse(PG)
conn = post("save_connection", {"form[name]": "bench", "form[kind]": "postgres", "form[host]": u.hostname,
                                 "form[port]": str(u.port or 5432), "form[database]": u.path.lstrip("/"),
                                 "form[user]": u.username or "postgres", "form[password]": u.password or ""}, form=True)

def run(sql, page_size):
    v = post("run_sql", {"request": {"connection_id": conn, "sql": sql, "params": [], "page_size": page_size}})
    return v

def wait_done(v):
    while v["state"] not in ("done", "failed", "cancelled"):
        v = post("run_status", {"id": v["id"], "wait_ms": 1000})
    assert v["state"] == "done", v
    return v

def best(f, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)

def psql(sql):
    return lambda: subprocess.run(["psql", "-X", "-q", PG, "-c", sql], stdout=subprocess.DEVNULL, check=True)

def http_rows(sql, total):
    def go():
        v = wait_done(run(sql, 1000))
        got = len(v["page"]["rows"]) if v.get("page") else 0
        while got < total:
            p = post("fetch_rows", {"id": v["id"], "offset": got, "limit": 1000, "sort": None})
            got += len(p["rows"])
        assert got == total, got
    return go

def rss_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key):
            return int(line.split()[1])

run("select 1", 1)  # warm the pool
results = []
results.append(("select 1", best(psql("select 1")), best(lambda: run("select 1", 1))))
q1k = "select * from bench_events order by id limit 1000"
results.append(("1k rows", best(psql(q1k)), best(lambda: wait_done(run(q1k, 1000)))))
q100k = "select * from bench_events order by id limit 100000"
results.append(("100k rows", best(psql(q100k), 3), best(http_rows(q100k, 100000), 3)))

print(f"{'case':<34}{'psql':>10}{'sightline HTTP':>16}")
for label, a, b in results:
    print(f"{label:<34}{a:>9.3f}s{b:>15.3f}s")

# 1M rows: time to the first page on screen while the snapshot fills, then to completion.
psql_1m = best(psql("select * from bench_events"), 2)
firsts, totals = [], []
for _ in range(3):
    t = time.perf_counter()
    v = run("select * from bench_events", 100)
    first = time.perf_counter() - t
    assert v["page"] and len(v["page"]["rows"]) == 100, v["state"]
    v = wait_done(v)
    totals.append(time.perf_counter() - t); firsts.append(first)
    assert v["row_count"] == 1000000, v["row_count"]
print(f"{'1M rows: psql (whole result)':<34}{psql_1m:>9.3f}s")
print(f"{'1M rows: first page over HTTP':<34}{'':>10}{min(firsts):>15.3f}s")
print(f"{'1M rows: snapshot complete':<34}{'':>10}{min(totals):>15.3f}s")
print(f"server peak RSS (VmHWM): {rss_kb(server.pid, 'VmHWM') / 1024:.0f} MB, now {rss_kb(server.pid, 'VmRSS') / 1024:.0f} MB")
server.terminate(); server.wait()
subprocess.run(["rm", "-rf", data])

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
import os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import PG, Server, ensure_bench_events, rss_mb

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/sightline"
os.chdir(os.path.join(os.path.dirname(__file__), ".."))
ensure_bench_events()
s = Server(BIN).__enter__()
post = s.post
conn = s.postgres_connection(PG)

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
print(f"server peak RSS (VmHWM): {rss_mb(s.server.pid)} MB, now {rss_mb(s.server.pid, 'VmRSS')} MB")
s.__exit__(None, None, None)

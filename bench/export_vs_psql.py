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
import os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import PG, Server, ensure_bench_events, rss_mb

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/sightline"
os.chdir(os.path.join(os.path.dirname(__file__), ".."))
ensure_bench_events()


def best(f, n=3):
    times, size = [], 0
    for _ in range(n):
        t = time.perf_counter(); size = f() or 0; times.append(time.perf_counter() - t)
    return min(times), size


with Server(BIN) as s:
    conn = s.postgres_connection(PG)
    insight = s.post("save_insight", {"id": None, "base_version": None, "draft": {
        "name": "bench events", "connection_id": conn, "sql": "select * from bench_events", "params": []}})

    def download(ext):
        def go():
            n = 0
            with s.opener.open(f"{s.base}/insights/{insight['id']}/export.{ext}") as r:
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

    t_psql, _ = best(psql_copy)
    t_csv, csv_bytes = best(download("csv"))
    t_xlsx, xlsx_bytes = best(download("xlsx"), n=2)
    print(f"{'case':34} {'time':>9}  {'vs psql':>8}  {'size':>10}")
    label = "psql \\copy csv (1M rows)"
    print(f"{label:34} {t_psql:8.3f}s  {'1.00x':>8}")
    print(f"{'export.csv (1M rows)':34} {t_csv:8.3f}s  {t_csv / t_psql:7.2f}x  {csv_bytes / 1e6:8.1f} MB")
    print(f"{'export.xlsx (1M rows)':34} {t_xlsx:8.3f}s  {t_xlsx / t_psql:7.2f}x  {xlsx_bytes / 1e6:8.1f} MB")
    print(f"server peak RSS (VmHWM): {rss_mb(s.server.pid)} MB")

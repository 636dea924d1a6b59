#!/usr/bin/env python3
"""Benchmark: what it costs that a pooled connection comes back clean after every run
(issue 13, item 1).

1. PostgreSQL, with pgbench (one client, simple protocol): latency of `SELECT 1` alone and
   followed by the reset Sightline runs when a connection goes back to its pool
   (`DISCARD ALL`, then `SELECT setseed(…)`), so the difference is the reset per run.
2. MariaDB, with mariadb-slap (one client): `SELECT 1` on one connection, and on a new
   connection each time (`--detach=1`), which is what Sightline does: MySQL/MariaDB
   connections are closed after each run instead of being reset.
3. The product end to end: runs per second of `SELECT 1` through the workbench API
   (`run_sql` with its first page), on PostgreSQL and on MariaDB, one client.

Usage: bench/pool_reset.py [path/to/sightline]   (a release build; N runs via BENCH_RUNS)
"""
import os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import PG, Server

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/sightline"
RUNS = int(os.environ.get("BENCH_RUNS", "500"))
os.chdir(os.path.join(os.path.dirname(__file__), ".."))


def pgbench_latency_ms(script, seconds=5):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    out = subprocess.run(["pgbench", "-n", "-c", "1", "-T", str(seconds), "-M", "simple",
                          "-f", f.name, PG], capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    return float(re.search(r"latency average = ([\d.]+) ms", out).group(1))


def slap_seconds(queries, detach):
    out = subprocess.run(["mariadb-slap", "-h", "127.0.0.1", "-u", "root", "--create-schema=test",
                          "--concurrency=1", "--iterations=3", f"--number-of-queries={queries}",
                          f"--detach={detach}", "--query=SELECT 1"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Average number of seconds to run all queries: ([\d.]+)", out).group(1))


print("1. PostgreSQL reset (pgbench, 1 client, 5 s each)")
plain = pgbench_latency_ms("SELECT 1;\n")
reset = pgbench_latency_ms("SELECT 1;\nDISCARD ALL;\nSELECT setseed(0.123456789);\n")
print(f"   SELECT 1                         {plain * 1000:8.1f} µs per transaction")
print(f"   SELECT 1 + DISCARD ALL + setseed {reset * 1000:8.1f} µs per transaction")
print(f"   reset per run                    {(reset - plain) * 1000:8.1f} µs")

print("2. MariaDB: a new connection per run instead of a reset (mariadb-slap, 1 client)")
n = 2000
reuse = slap_seconds(n, 0)
fresh = slap_seconds(n, 1)
print(f"   SELECT 1 on one connection       {reuse / n * 1e6:8.1f} µs per query")
print(f"   SELECT 1 on a new connection     {fresh / n * 1e6:8.1f} µs per query")
print(f"   new connection per run           {(fresh - reuse) / n * 1e6:8.1f} µs")

print(f"3. Sightline workbench, {RUNS} runs of SELECT 1 each, 1 client")
with Server(BIN, args=["--pool-size", "1"]) as s:
    pg = s.postgres_connection(PG)
    my = s.post("save_connection", {
        "form[name]": "bench-maria", "form[kind]": "mysql", "form[host]": "127.0.0.1",
        "form[port]": "3306", "form[database]": "test", "form[user]": "root",
        "form[password]": "", "form[ssl_mode]": "disable"}, form=True)
    for name, conn in [("PostgreSQL", pg), ("MariaDB", my)]:
        body = {"request": {"connection_id": conn, "sql": "SELECT 1", "params": [], "page_size": 100}}
        for _ in range(20):
            s.post("run_sql", body)
        t = time.perf_counter()
        for _ in range(RUNS):
            v = s.post("run_sql", body)
            assert v["state"] == "done", v
        dt = time.perf_counter() - t
        print(f"   {name:10}  {RUNS / dt:7.0f} runs/s   {dt / RUNS * 1000:6.2f} ms per run")

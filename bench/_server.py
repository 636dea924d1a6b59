"""Shared by the HTTP benchmarks: a release server on a free port with a throwaway data dir
and an admin signed in, plus the bench data in the local PostgreSQL `test` database.

    with Server(BIN) as s:
        conn = s.postgres_connection(PG)
        s.post("run_sql", {...})
"""
import http.cookiejar, json, os, shutil, socket, subprocess, tempfile, time
import urllib.parse, urllib.request

EMAIL, PASSWORD = "bench@example.com", "bench password 12345"
PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def ensure_bench_events(pg=PG):
    """Creates the 1M-row table bench_events (bench/cli_vs_psql.sh) unless it exists."""
    if subprocess.run(["psql", "-X", "-qtA", pg, "-c", "select count(*) from bench_events"],
                      capture_output=True, text=True).returncode != 0:
        subprocess.run(["bash", "-c", "bench/cli_vs_psql.sh >/dev/null"], check=True)


def psql(url, sql):
    return subprocess.run(["psql", "-X", "-qtA", url, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def rss_mb(pid, key="VmHWM"):
    """A process's peak (VmHWM) or current (VmRSS) resident memory, in MB; 0 once it ended."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


class Server:
    """`sightline serve` with an admin account, signed in. `env` adds environment variables
    (DATABASE_URL for a PostgreSQL store), `args` adds `serve` arguments."""

    def __init__(self, bin_path, env=None, args=()):
        self.bin = bin_path
        self.data = tempfile.mkdtemp(prefix="sightline-bench-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, SIGHTLINE_SITE_ROOT="target/site", SIGHTLINE_DATA_DIR=self.data,
                        SIGHTLINE_NO_DEMO="true", SIGHTLINE_ALLOW_CONNECTION_HOSTS="127.0.0.1",
                        **(env or {}))
        self.args = list(args)
        self.procs = []
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def __enter__(self):
        subprocess.run([self.bin, "user", "create", "--email", EMAIL, "--role", "admin",
                        "--password-stdin"], input=PASSWORD + "\n", text=True, env=self.env,
                       check=True, capture_output=True)
        self.server = self.spawn(["serve", "--bind", f"127.0.0.1:{self.port}", *self.args])
        for _ in range(400):
            try:
                urllib.request.urlopen(f"{self.base}/healthz"); break
            except Exception:
                time.sleep(0.05)
        self.post("login", {"email": EMAIL, "password": PASSWORD}, form=True)
        return self

    def spawn(self, args):
        """Another process of the same binary on the same store (e.g. `worker`)."""
        p = subprocess.Popen([self.bin, *args], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def post(self, name, body, form=False):
        if form:
            raw = urllib.parse.urlencode(body).encode(); ctype = "application/x-www-form-urlencoded"
        else:
            raw = json.dumps(body).encode(); ctype = "application/json"
        req = urllib.request.Request(f"{self.base}/api/{name}", data=raw, method="POST",
                                     headers={"content-type": ctype, "origin": self.base})
        with self.opener.open(req) as r:
            return json.loads(r.read())

    def postgres_connection(self, url=PG, name="bench"):
        """Registers a PostgreSQL connection; its id."""
        u = urllib.parse.urlparse(url)
        return self.post("save_connection", {
            "form[name]": name, "form[kind]": "postgres", "form[host]": u.hostname,
            "form[port]": str(u.port or 5432), "form[database]": u.path.lstrip("/"),
            "form[user]": u.username or "postgres", "form[password]": u.password or "",
            "form[ssl_mode]": "disable"}, form=True)

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.data, ignore_errors=True)

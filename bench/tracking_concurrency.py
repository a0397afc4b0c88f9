"""Tracking under load (issue 15): 50 people reading the dashboard while a 1M-row import runs.

Goal: "50 concurrent dashboard readers while a 1M-row import runs: 0 errors, p95 <= 1 s", on the
demo company, on SQLite and on PostgreSQL.

What it does:
1. a fresh database (SQLite in a temporary data directory, or the PostgreSQL database
   ``st_bench_tracking`` on 127.0.0.1, dropped and created with psql), ``migrate``, the demo company
   (``--size medium`` by default) at 25 November of the plan's year;
2. the readers' sign-ins: the administrator and the managers of the company and of its regions
   (each sees another scope), each with a database session made directly (no sign-in, so no
   login throttling), sent as the session cookie;
3. an ERP-style order-line CSV (``--rows``, 1,000,000 by default; the columns of
   ``bench_import.write_csv``) with the demo's own rep, product, customer and region codes, dated
   from 1 January to the as-of date, so that the import changes the figures the dashboard shows;
4. the real server, started as a user starts it: ``salestarget serve --no-worker`` with its
   default gunicorn workers and threads;
5. ``--readers`` threads (50), each its own HTTP client, looping (``--pause S``: waiting S seconds
   on average between pages, as a person reading the dashboard does; 0: none) over the dashboard
   (this month, or the year for some) or, for a quarter of them, ``/api/v1/tracking/progress``;
   after a short warm-up (not counted): (a) the readers alone for 30 s, (b) the readers while the
   import runs in a child process (``do_import_facts``, as ``bench_import.py`` runs it), until it
   exits. Any answer but a 200 with the expected page or JSON, and any exception, is an error.

Reported per phase: requests, errors, p50/p95/max latency and requests/s; then, to say why: each
kind of request alone (one at a time) and under load, the CPU the server (by process), the import,
the readers and the rest of the machine used, and how the readers' connections spread over the
gunicorn workers. The package is copied into the temporary data directory at the start and every
process runs from the copy: the checkout is shared, and an edit during a run must not mix versions.

Run ``python bench/tracking_concurrency.py [--size small|medium|large] [--db sqlite|postgresql]
[--readers 50] [--rows 1000000] [--write]``; ``--write`` records the figures in bench/RESULTS.md
(section "Tracking under load (issue 15) — <db>, readers ..."). Without pause, 50 readers keep
50 requests in the server at every moment: that measures the capacity of two cores (Little's law:
latency = readers / throughput), not what 50 people reading dashboards see; ``--pause 10`` is the
latter. To try it out quickly:
``python bench/tracking_concurrency.py --size small --rows 100000``. The server's access log is
kept in the temporary data directory while it runs, then removed with it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
HEADING = "## Tracking under load (issue 15)"
TODAY = dt.date(2026, 11, 25)
AS_OF = TODAY - dt.timedelta(days=1)
PG_NAME = "st_bench_tracking"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_NAME}"
BASELINE_SECONDS = 30
AFTER_SECONDS = 10
WARMUP_SECONDS = 5
SHOWN_ERRORS = 5


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)] if values else float("nan")


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def snapshot_source(home: Path) -> str:
    """Copy the package as it is now into the data directory and run every process of the bench
    (this one, the server, the import) from the copy, through PYTHONPATH: the checkout is shared,
    and a file changed in the middle of a run must not mix two versions. Returns what was copied:
    the commit and the files changed since."""
    shutil.copytree(
        BENCH.parent / "src" / "salestarget",
        home / "src" / "salestarget",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(home / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    git = ["git", "-C", str(BENCH.parent)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    changed = subprocess.run([*git, "status", "--short", "--", "src"], capture_output=True, text=True).stdout
    n = len(changed.splitlines())
    return f"commit {commit.strip() or '?'}" + (f" with {n} changed files under src/" if n else "")


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "salestarget.settings"
    for entry in reversed([e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]):
        if entry not in sys.path:  # set after this interpreter started (the children have it)
            sys.path.insert(0, entry)
    import django

    django.setup()


def child(path: str) -> None:
    """The import, in its own process (the environment names the data directory and database)."""
    setup_django()
    sys.path.insert(0, str(BENCH))
    from bench_import import child_import

    child_import(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_cpu_seconds(pgid: int) -> dict[int, float]:
    """CPU time (user + system) of each live process of a process group: the server and its
    gunicorn workers, which live as long as it does."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


class BackendCPU(threading.Thread):
    """CPU time of the PostgreSQL backends serving the bench's database (not those of other
    databases on the same server): their processes are sampled every half second and a backend
    that has ended keeps its last reading, so ``seconds()`` only grows."""

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.marker = f" {database} ".encode()
        self.latest: dict[int, float] = {}
        self.done = threading.Event()

    def sample(self) -> None:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                title = cmdline.read_bytes()  # "postgres: 15/main: USER DATABASE HOST(PORT) STATE"
                if not title.startswith(b"postgres: ") or self.marker not in title:
                    continue
                fields = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.latest[int(cmdline.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf(
                "SC_CLK_TCK"
            )

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

    def seconds(self) -> float:
        self.sample()
        return sum(self.latest.values())


def connections_by_process(pgid: int, port: int) -> list[int]:
    """How many open TCP connections to ``port`` each process of the group holds (from its file
    descriptors and /proc/net/tcp), most first: which gunicorn worker serves which reader."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])
    counts = []
    for pid in group_cpu_seconds(pgid):
        n = 0
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in established:
                n += 1
        if n:
            counts.append(n)
    return sorted(counts, reverse=True)


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every process, every core), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Snapshot:
    """Clock and CPU counters at a phase boundary."""

    def __init__(self, server_pid: int, database: BackendCPU | None):
        self.wall = time.perf_counter()
        self.readers = time.process_time()  # this process: the reader threads (the main one sleeps)
        self.server = group_cpu_seconds(server_pid)
        self.children = children_cpu_seconds()  # the import, once it has been waited for
        self.machine = machine_busy_seconds()
        self.database = database.seconds() if database else 0.0


def cores(before: Snapshot, after: Snapshot) -> dict:
    """CPU seconds per second between two snapshots, by who used them."""
    wall = after.wall - before.wall
    workers = sorted(
        ((after.server[pid] - before.server.get(pid, 0)) / wall for pid in after.server), reverse=True
    )
    readers = (after.readers - before.readers) / wall
    server = sum(workers)
    child = (after.children - before.children) / wall
    machine = (after.machine - before.machine) / wall
    database = (after.database - before.database) / wall
    return {
        "readers": readers,
        "server": server,
        "workers": workers,
        "import": child,
        "machine": machine,
        "database": database,
        "others": max(0.0, machine - readers - server - child - database),
    }


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --- the demo's codes and the file ---------------------------------------------------------------


def demo_codes(start: dt.date, end: dt.date) -> dict[str, list[str]]:
    """Codes the demo holds: reps who are members of the same team from ``start`` to ``end`` (so
    every line counts for a unit the dashboard shows), leaf products and regions, customers."""
    from django.db.models import Q

    from salestarget.catalog.models import Customer, Product, Region
    from salestarget.org.models import Membership

    reps = sorted(
        set(
            Membership.objects.filter(role=Membership.Role.MEMBER, valid_from__lte=start)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=end))
            .values_list("person__code", flat=True)
        )
    )
    return {
        "reps": reps,
        "products": list(
            Product.objects.filter(children__isnull=True).order_by("code").values_list("code", flat=True)
        ),
        "customers": list(Customer.objects.order_by("code").values_list("code", flat=True)),
        "regions": list(
            Region.objects.filter(children__isnull=True).order_by("code").values_list("code", flat=True)
        ),
    }


def write_orders(path: Path, rows: int, codes: dict[str, list[str]], start: dt.date, end: dt.date) -> int:
    """``bench_import.write_csv``'s file (same columns, same ERP habits: order number + line number,
    dates sorted, UTF-8 with BOM) over the days ``start``..``end``; its start and span are fixed
    (2023 onwards), so the writer is repeated here with the dates as parameters. Order numbers
    start with "BQ" (the demo's facts come from another source anyway). Returns the total in fen."""
    rnd = random.Random(42)
    days = (end - start).days + 1
    reps, customers, regions = codes["reps"], codes["customers"], codes["regions"]
    portfolio = max(1, len(customers) // len(reps))
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["订单号", "行号", "日期", "销售员", "产品编码", "客户编码", "区域", "数量", "金额", "毛利"]
        )
        order, line, total = 0, 3, 0
        for i in range(rows):
            if line >= rnd.randint(1, 4):
                order, line = order + 1, 0
            line += 1
            day = start + dt.timedelta(days=i * days // rows)
            if line == 1:
                r = rnd.randrange(len(reps))
                customer = customers[(r * portfolio + rnd.randrange(portfolio)) % len(customers)]
            amount = rnd.randint(1_000, 5_000_000)
            total += amount
            w.writerow(
                [
                    f"BQ{order:08d}",
                    line,
                    day.isoformat(),
                    reps[r],
                    rnd.choice(codes["products"]),
                    customer,
                    regions[r % len(regions)],
                    rnd.randint(1, 20),
                    f"{amount // 100}.{amount % 100:02d}",
                    f"{amount * rnd.randint(5, 40) // 10000}.{rnd.randint(0, 99):02d}",
                ]
            )
    return total


# --- readers -------------------------------------------------------------------------------------


class Readers:
    """Reader threads looping over their URL; each request is recorded with the phase it
    started in: (phase, kind of request, seconds, ok)."""

    def __init__(self, base: str, cookie_name: str, jobs: list[tuple[str, str, str, str]], pause: float = 0):
        self.base, self.cookie_name, self.jobs, self.pause = base, cookie_name, jobs, pause
        self.phase = "warmup"
        self.stop = threading.Event()
        self.records: list[tuple[str, str, float, bool, int]] = []
        self.errors: list[str] = []
        self.answers: dict[int, tuple[float, int]] = {}  # an API reader's last answer: (sent, actual)
        self.threads = [
            threading.Thread(target=self.run, args=(i, *job), daemon=True) for i, job in enumerate(jobs)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def run(self, reader: int, session_key: str, kind: str, url: str, marker: str) -> None:
        import httpx

        with httpx.Client(
            base_url=self.base, cookies={self.cookie_name: session_key}, timeout=30, trust_env=False
        ) as client:
            while not self.stop.is_set():
                phase = self.phase
                started = time.perf_counter()
                problem = None
                try:
                    response = client.get(url)
                    text = response.text
                    if response.status_code != 200:
                        problem = f"{response.status_code} {url}: {text[:300]!r}"
                    elif marker not in text or 'class="alert alert-warning" role="alert"' in text:
                        problem = f"200 without {marker!r} {url}: {text[:300]!r}"
                    elif marker == '"figures"':
                        self.answers[reader] = (started, json.loads(text)["figures"]["actual"])
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    problem = f"{type(exc).__name__} {url}: {exc}"
                seconds = time.perf_counter() - started
                self.records.append((phase, kind, seconds, problem is None, reader))
                if problem and len(self.errors) < 50:
                    self.errors.append(f"[{phase}, {seconds:.1f} s] {problem}")
                if self.pause:
                    self.stop.wait(self.pause * random.uniform(0.5, 1.5))

    def summary(self, phase: str, seconds: float, kind: str | None = None) -> dict:
        mine = [(s, ok) for p, k, s, ok, _r in self.records if p == phase and kind in (None, k)]
        times = [s for s, _ok in mine]
        errors = sum(1 for _s, ok in mine if not ok)
        return {
            "requests": len(times),
            "errors": errors,
            "p50": statistics.median(times) if times else float("nan"),
            "p95": p95(times),
            "max": max(times, default=float("nan")),
            "rate": len(times) / seconds,
            "seconds": seconds,
        }

    def spread(self, phase: str) -> tuple[float, float, int, int]:
        """The lowest and highest of the readers' median latencies, and of their request counts:
        a client keeps its connection, so it stays with the gunicorn worker that accepted it."""
        each: dict[int, list[float]] = {}
        for p, _k, s, _ok, r in self.records:
            if p == phase:
                each.setdefault(r, []).append(s)
        medians = [statistics.median(v) for v in each.values()]
        counts = [len(v) for v in each.values()]
        return min(medians), max(medians), min(counts), max(counts)


# --- the run -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "medium", "large"], default="medium")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="seconds each reader waits between requests (0.5x to 1.5x at random); 0: none, as the goal is measured",
    )
    parser.add_argument("--write", action="store_true", help="record the figures in bench/RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    home = Path(tempfile.mkdtemp(prefix="st-concurrency-"))
    os.environ["SALESTARGET_HOME"] = str(home)
    if args.db == "postgresql":
        os.environ["SALESTARGET_DATABASE_URL"] = PG_URL
        psql(f"DROP DATABASE IF EXISTS {PG_NAME}")
        psql(f"CREATE DATABASE {PG_NAME}")
    else:
        os.environ.pop("SALESTARGET_DATABASE_URL", None)
    try:
        source = snapshot_source(home)
        setup_django()
        import salestarget

        assert Path(salestarget.__file__).is_relative_to(home), salestarget.__file__
        return measure(args, home, source)
    finally:
        if "django.conf" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.db == "postgresql":
            psql(f"DROP DATABASE IF EXISTS {PG_NAME}")
        shutil.rmtree(home, ignore_errors=True)


def start_server(home: Path, port: int) -> tuple[subprocess.Popen, Path]:
    """``salestarget serve`` as a user runs it, in its own process group (gunicorn forks workers)."""
    exe = shutil.which("salestarget")
    command = [exe] if exe else [sys.executable, "-m", "salestarget.cli"]
    log = home / "serve.log"
    proc = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    return proc, log


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def wait_until_up(base: str, proc: subprocess.Popen, log: Path, seconds: float = 120) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if proc.poll() is not None:
            raise SystemExit(f"salestarget serve exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/accounts/login/", timeout=5, trust_env=False).status_code < 500:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"salestarget serve did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


def measure(args, home: Path, source: str) -> int:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection

    from salestarget.actuals.models import Fact
    from salestarget.core import memo
    from salestarget.demo.generator import generate
    from salestarget.metrics.models import Metric
    from salestarget.org.models import Membership, OrgUnit
    from salestarget.tracking import progress as tracking

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    generate(seed=42, size=args.size, today=TODAY)
    generated = time.perf_counter() - started
    plan = tracking.in_force(Metric.objects.get(code="sales"), AS_OF)
    User = get_user_model()
    admin = User.objects.create_superuser("bench-admin", None, "bench-only-password")

    # The readers: the administrator, and the managers of the company and of its regions.
    logins = [("administrator", admin)]
    bosses = (
        Membership.objects.active_on(AS_OF)
        .filter(role=Membership.Role.MANAGER, unit__depth__lte=1)
        .select_related("person", "unit")
        .order_by("unit__path")
    )
    for m in bosses:
        person = m.person
        if person.user_id is None:
            person.user = User.objects.create_user(f"bench-{person.code}".lower(), None, None)
            person.save(update_fields=["user"])
        logins.append((f"manager of {m.unit.name}", person.user))
    backend = "django.contrib.auth.backends.ModelBackend"  # the one a password sign-in records
    assert backend in settings.AUTHENTICATION_BACKENDS
    sessions = []
    for _label, user in logins:
        store = SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = backend
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store.save()
        sessions.append(store.session_key)

    company = tracking.unit_node(OrgUnit.objects.get(parent__isnull=True))
    ytd_before = tracking.progress(admin, plan, company, "ytd", AS_OF)["figures"]["actual"]
    facts_before = Fact.objects.count()

    start_day = AS_OF.replace(month=1, day=1)
    codes = demo_codes(start_day, AS_OF)
    path = home / "orders.csv"
    file_total = write_orders(path, args.rows, codes, start_day, AS_OF)
    connection.close()

    dashboard = f"/tracking/?plan={plan.pk}&as_of={AS_OF.isoformat()}"
    api = f"/api/v1/tracking/progress?plan={plan.pk}&as_of={AS_OF.isoformat()}"
    page = 'data-testid="tracking-title"'
    kinds = [
        ("dashboard, month", f"{dashboard}&period=month", page),
        ("dashboard, month", f"{dashboard}&period=month", page),
        ("dashboard, year", f"{dashboard}&period=year", page),
        ("API progress, ytd", f"{api}&period=ytd", '"figures"'),
    ]
    jobs = [(sessions[i % len(sessions)], *kinds[i % len(kinds)]) for i in range(args.readers)]
    from salestarget.web.management.commands.serve import Command as Serve

    defaults = Serve().create_parser("salestarget", "serve").parse_args([])

    db = connection.vendor
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    load_start = os.getloadavg()
    server, log = start_server(home, port)
    backends = None
    try:
        up = wait_until_up(base, server, log)
        import httpx

        # One reader alone: every login gets its Chinese dashboard; each kind of request, unloaded.
        alone: dict[str, list[float]] = {}
        cold: dict[str, list[float]] = {}
        with httpx.Client(base_url=base, timeout=30, trust_env=False) as probe:
            for key in sessions:
                probe.cookies.set(settings.SESSION_COOKIE_NAME, key)
                answer = probe.get(kinds[0][1])
                assert answer.status_code == 200, (answer.status_code, answer.text[:500])
                assert 'lang="zh-hans"' in answer.text and "销售" in answer.text, answer.text[:500]
                assert page in answer.text and 'role="alert"' not in answer.text, answer.text[:3000]
            probe.cookies.set(settings.SESSION_COOKIE_NAME, sessions[0])
            for kind, url, marker in kinds[1:]:
                for _ in range(13):  # the first answers of each gunicorn worker are slower
                    started = time.perf_counter()
                    answer = probe.get(url)
                    alone.setdefault(kind, []).append(time.perf_counter() - started)
                    assert answer.status_code == 200 and marker in answer.text, answer.text[:500]
                alone[kind] = alone[kind][3:]
                for _ in range(10):  # each the first read after a write: computed, not remembered
                    memo.bump()
                    started = time.perf_counter()
                    answer = probe.get(url)
                    cold.setdefault(kind, []).append(time.perf_counter() - started)
                    assert answer.status_code == 200 and marker in answer.text, answer.text[:500]

        backends = BackendCPU(PG_NAME) if db == "postgresql" else None
        if backends:
            backends.start()
        readers = Readers(base, settings.SESSION_COOKIE_NAME, jobs, args.pause)
        readers.start()
        time.sleep(WARMUP_SECONDS)
        readers.phase = "baseline"
        cpu = [Snapshot(server.pid, backends)]
        time.sleep(BASELINE_SECONDS / 2)
        pinned = connections_by_process(server.pid, port)
        time.sleep(BASELINE_SECONDS / 2)
        readers.phase = "import"
        answers_before = {i: actual for i, (_sent, actual) in readers.answers.items()}
        cpu.append(Snapshot(server.pid, backends))
        load_before = os.getloadavg()
        importer = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        cpu.append(Snapshot(server.pid, backends))
        load_during = os.getloadavg()
        imported_at = time.perf_counter()
        # The import's commit changed what every page shows: the readers go on while their
        # figures are computed anew, and the API's readers must see the import in them.
        readers.phase = "after"
        time.sleep(AFTER_SECONDS)
        cpu.append(Snapshot(server.pid, backends))
        readers.join()
        t0, t1, t2, t3 = (c.wall for c in cpu)
        phases = {"baseline": (t0, t1), "import": (t1, t2), "after": (t2, t3)}
        summaries = {name: readers.summary(name, b - a) for name, (a, b) in phases.items()}
        by_kind = {
            (name, kind): readers.summary(name, b - a, kind)
            for name, (a, b) in phases.items()
            for kind in dict.fromkeys(k for k, _u, _m in kinds)
        }
        usage = {"baseline": cores(cpu[0], cpu[1]), "import": cores(cpu[1], cpu[2])}
        spread = {name: readers.spread(name) for name in phases}
        try:
            run = json.loads(importer.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            run = {"status": f"child failed ({importer.returncode})", "rows_written": 0, "seconds": t2 - t1}
            print(importer.stdout[-3000:], importer.stderr[-3000:], file=sys.stderr)
        server_log = log.read_text()
    finally:
        stop_server(server)
    workers = len(re.findall(r"Booting worker with pid", server_log))
    if backends:
        backends.done.set()

    facts_after = Fact.objects.count()
    ytd_after = tracking.progress(admin, plan, company, "ytd", AS_OF)["figures"]["actual"]
    api_readers = [i for i, job in enumerate(jobs) if job[3] == '"figures"']
    # The company's readers (the administrator's and the company manager's session) ask for the
    # company; the regional managers' for their region, whose figure the import changed too.
    fresh = sum(
        1
        for i in api_readers
        if i in readers.answers
        and readers.answers[i][0] > imported_at
        and readers.answers[i][1] != answers_before.get(i)
    )
    if db == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db_version = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        db_version = f"SQLite {sqlite3.sqlite_version}"
    imported = run["status"] == "applied" and run["rows_written"] == args.rows
    during = summaries["import"]
    met = during["errors"] == 0 and during["p95"] <= 1.0 and imported and fresh == len(api_readers)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms"

    def row(name: str, s: dict) -> str:
        return (
            f"| {name} | {s['seconds']:.0f} s | {s['requests']:,} | {s['errors']:,} | {ms(s['p50'])} "
            f"| {ms(s['p95'])} | {ms(s['max'])} | {s['rate']:.1f} |"
        )

    command = "python bench/tracking_concurrency.py " + shlex.join(a for a in sys.argv[1:] if a != "--write")
    lines = [
        f"{HEADING} — {db}, "
        + (f"readers pausing {args.pause:g} s" if args.pause else "readers without pause"),
        "",
        f"Measured {dt.datetime.now(dt.UTC).date()} (UTC) on nproc {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}, "
        f"{db_version}; the code of {source}, copied at the start. `{command.strip()}`: the {args.size} demo (generated in {generated:.0f} s; "
        f"{facts_before:,} facts before the import, {facts_after:,} after), `salestarget serve --no-worker` "
        f"with its defaults ({workers} gunicorn workers x {defaults.threads} threads, gthread; up in "
        f"{up:.1f} s), {args.readers} readers looping "
        + (f"with pauses of {args.pause:g} s on average" if args.pause else "without pause")
        + f", each its own HTTP client in one "
        f"process, signed in as {len(sessions)} users (the administrator and the managers of the company "
        f"and its regions): half the dashboard this month, a quarter the dashboard this year, a quarter "
        f"`/api/v1/tracking/progress` year to date, all as of {AS_OF}. After a {WARMUP_SECONDS} s warm-up "
        f"(not counted): the readers alone for {BASELINE_SECONDS} s, then while {args.rows:,} order lines "
        f"dated {start_day} to {AS_OF} (the demo's codes) are imported by another process, until it "
        "exits. Latency is the client's, from sending the request to having read the whole answer. "
        f"Load average {load_start[0]:.1f} before the server started (other work on the machine), "
        f"{load_before[0]:.1f} when the import started, {load_during[0]:.1f} when it ended.",
        "",
        "| phase | duration | requests | errors | p50 | p95 | max | requests/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        row("readers alone", summaries["baseline"]),
        row("readers during the import", during),
        row(f"readers for {AFTER_SECONDS} s after it", summaries["after"]),
        "",
        "| request | alone, one at a time: p50 | the first read after a write, alone: p50 | readers alone: p50 | p95 | during the import: p50 | p95 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {kind} | {ms(statistics.median(alone[kind]))} | {ms(statistics.median(cold[kind]))} "
            f"| {ms(by_kind['baseline', kind]['p50'])} "
            f"| {ms(by_kind['baseline', kind]['p95'])} | {ms(by_kind['import', kind]['p50'])} "
            f"| {ms(by_kind['import', kind]['p95'])} |"
            for kind in alone
        ),
        "",
        "CPU used, in cores (CPU seconds per second; the machine has "
        f"{os.cpu_count()}): readers alone: server {usage['baseline']['server']:.2f} (by process "
        + ", ".join(f"{w:.2f}" for w in usage["baseline"]["workers"] if w >= 0.005)
        + f"), readers' clients {usage['baseline']['readers']:.2f}, "
        + (
            f"PostgreSQL backends of this database {usage['baseline']['database']:.2f}, "
            if db == "postgresql"
            else ""
        )
        + "other processes "
        f"{usage['baseline']['others']:.2f}, whole machine {usage['baseline']['machine']:.2f}; during the "
        f"import: server {usage['import']['server']:.2f} (by process "
        + ", ".join(f"{w:.2f}" for w in usage["import"]["workers"] if w >= 0.005)
        + f"), import {usage['import']['import']:.2f}, readers' clients {usage['import']['readers']:.2f}, "
        + (f"PostgreSQL backends {usage['import']['database']:.2f}, " if db == "postgresql" else "")
        + f"other processes {usage['import']['others']:.2f}, whole machine {usage['import']['machine']:.2f}. "
        "Each reader keeps its connection, so it stays with the worker that accepted it (connections "
        f"per worker in the middle of the first phase: {', '.join(map(str, pinned)) or 'not seen'}), "
        "and the readers' own median latencies ranged from "
        + "; ".join(
            f"{ms(lo)} to {ms(hi)} ({n_lo:,} to {n_hi:,} requests each) {label}"
            for label, (lo, hi, n_lo, n_hi) in (
                ("alone", spread["baseline"]),
                ("during the import", spread["import"]),
            )
        )
        + ".",
        "",
        f"The import under load: {run['seconds']:.1f} s ({args.rows / run['seconds']:,.0f} rows/s), "
        f"status {run['status']}, {run['rows_written']:,} rows written of {args.rows:,}"
        + (f", peak memory {run['peak_mb']:.0f} MB" if "peak_mb" in run else "")
        + (
            f"; its total {'matches' if run.get('amount_total') == file_total else '**does not match**'} the file's"
            if "amount_total" in run
            else ""
        )
        + f". The company's year-to-date actual went from {ytd_before / 100:,.0f} to {ytd_after / 100:,.0f} yuan. "
        f"Figures are remembered until a write commits (core.memo): of the {len(api_readers)} readers of "
        f"the API, {fresh} got an answer sent after the import ended whose year-to-date actual differs "
        "from the one they had before it.",
        "",
        f'Goal "0 errors and p95 <= 1 s during the import": {"met" if met else "**not met**"}'
        + (
            ""
            if met
            else f" ({during['errors']:,} errors, p95 {during['p95']:.2f} s"
            + ("" if imported else ", import not applied")
            + ("" if fresh == len(api_readers) else ", figures not renewed after the import")
            + ")"
        )
        + ".",
    ]
    if readers.errors:
        lines += ["", "First errors:", "", *(f"- `{e[:400]}`" for e in readers.errors[:SHOWN_ERRORS])]
    text = "\n".join(lines) + "\n"
    print(text)
    if readers.errors or not imported:
        # What the server said (gunicorn's own messages and tracebacks; not the access log).
        said = [ln for ln in server_log.splitlines() if not re.match(r"^127\.0\.0\.1 - ", ln)]
        print("\n".join(said[-80:]), file=sys.stderr)
    if args.write:
        heading = f"{HEADING} — {db}, " + (
            f"readers pausing {args.pause:g} s" if args.pause else "readers without pause"
        )
        old = RESULTS.read_text()
        pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
        new = (
            pattern.sub(lambda _m: text + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + text
        )
        RESULTS.write_text(new)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

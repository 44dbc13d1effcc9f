"""Nothing lost, nothing twice, with real processes killed at random points (bounded in count
and time, torn down even on failure):

(a) several real agent processes (tests/agent/driver.py) deliver results to a real collector
    process (`access-probe collector serve`) that is SIGKILLed and restarted at random
    points, while the agents are SIGKILLed 20 times: every result an agent's spool accepted
    is stored exactly once, nothing is stored that no agent produced, every spool ends empty;
(b) the collector SIGKILLed under ingest load (SQLite and PostgreSQL): every acknowledged batch
    is stored, none twice, and an unacknowledged batch is stored whole or not at all;
(c) PostgreSQL itself restarted under load: a throwaway server of this test's own (initdb +
    pg_ctl as the postgres user, a free loopback port, a temporary folder; never the shared
    one): the collector answers 503 (never 500) while it is down, recovers by itself, and
    loses nothing acknowledged.

Counts: ACCESS_PROBE_CHAOS_RESULTS (results in (a), default 2,000; the long run 10,000) and
ACCESS_PROBE_CHAOS_KILLS (collector kills in (b), default 4). See docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from access_probe.agent.spool import Spool
from access_probe.collector.store import migrate, repo
from access_probe.collector.store.tables import results
from tests.collector.conftest import ORGS, auth, document, make_token, result, wipe
from tests.collector.procs import CollectorProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "agent" / "driver.py"
CHAOS_RESULTS = int(os.environ.get("ACCESS_PROBE_CHAOS_RESULTS", "2000"))
CHAOS_KILLS = int(os.environ.get("ACCESS_PROBE_CHAOS_KILLS", "4"))
AGENT_KILLS = 20
COLLECTOR_KILLS = 5  # at least, in (a): it goes on until the results and the kills are done
AGENTS = 4
PER_CYCLE = 25
NO_LIMITS = ("--submit-per-minute", "1e9", "--submit-burst", "1000000")
ORG = "E07000223"  # the driver's context.org
pytestmark = pytest.mark.timeout(max(900, CHAOS_RESULTS // 5))


def stored_ids(db_url: str) -> list[str]:
    engine = repo.make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [str(i) for i in conn.execute(sa.select(results.c.id)).scalars()]
    finally:
        engine.dispose()


def assert_counted_once(db_url: str, stored: list[str]) -> None:
    assert len(stored) == len(set(stored))
    engine = repo.make_engine(db_url)
    try:
        assert repo.count_results(engine) == len(stored)
        # Every rollup counts each stored result exactly once: a retried batch did not count
        # again, a killed one left no partial count behind.
        assert set(repo.rollup_totals(engine)) == {len(stored)}
    finally:
        engine.dispose()


def read_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {line for line in path.read_text().splitlines() if len(line) == 36}


# --- (a) agents and collector killed ------------------------------------------------------

class Agents:
    def __init__(self, root: Path, url: str, token: str) -> None:
        self.dirs = [root / f"agent{i}" for i in range(AGENTS)]
        for d in self.dirs:
            d.mkdir()
        self.url = url
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "ACCESS_PROBE_DRIVER_TOKEN": token}
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * AGENTS
        self.kill_at: list[float | None] = [None] * AGENTS
        self.kills = 0
        self.spawns = 0

    def spawn(self, i: int, mode: str, *extra: str) -> subprocess.Popen[bytes]:
        self.spawns += 1
        return subprocess.Popen([sys.executable, str(DRIVER), mode, "--dir", str(self.dirs[i]),
                                 "--collector", self.url, *extra], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def generated(self) -> int:
        return sum(len(read_ids(d / "generated")) for d in self.dirs)

    def step(self, rng: random.Random, *, more: bool) -> None:
        """Reap finished agents, kill due ones, start new ones while `more`."""
        now = time.monotonic()
        for i, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is None:
                due = self.kill_at[i]
                if due is not None and now >= due:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
                    self.kills += 1
                    self._reap(i, killed=True)
                continue
            if proc is not None:
                self._reap(i, killed=False)
            if more:
                self.procs[i] = self.spawn(i, "cycles", "--cycles", "8", "--per-cycle",
                                           str(PER_CYCLE), "--force-flush")
                wanted = self.kills + sum(k is not None for k in self.kill_at) < AGENT_KILLS
                self.kill_at[i] = now + rng.uniform(1.0, 4.0) if wanted else None

    def _reap(self, i: int, *, killed: bool) -> None:
        proc = self.procs[i]
        assert proc is not None
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        assert killed or proc.returncode == 0, err[-2000:]
        self.procs[i] = None
        self.kill_at[i] = None

    def wait_all(self, limit: float) -> None:
        deadline = time.monotonic() + limit
        for i, proc in enumerate(self.procs):
            if proc is not None:
                proc.wait(max(deadline - time.monotonic(), 1))
                self._reap(i, killed=False)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)


class Killer(threading.Thread):
    """SIGKILLs the collector at random points and restarts it, until stopped."""

    def __init__(self, collector: CollectorProcess, rng: random.Random, *,
                 up: tuple[float, float], down: tuple[float, float], limit: int) -> None:
        super().__init__(daemon=True, name="killer")
        self.collector = collector
        self.rng = rng
        self.up = up
        self.down = down
        self.limit = limit
        self.kills = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while self.kills < self.limit and not self.stop.wait(self.rng.uniform(*self.up)):
                self.collector.kill()
                self.kills += 1
                time.sleep(self.rng.uniform(*self.down))
                self.restart()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def restart(self) -> None:
        """Start again; a start that a loaded machine made too slow is tried twice more."""
        for attempt in range(3):
            try:
                self.collector.start()
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def finish(self) -> None:
        self.stop.set()
        self.join(180)
        if not self.collector.alive:
            self.restart()


def test_agents_and_collector_killed_every_result_once(db_url: str, tmp_path: Path) -> None:
    wipe(db_url)
    rng = random.Random(2026)
    token = make_token(db_url, ORG)
    collector = CollectorProcess(db_url, *NO_LIMITS, log=tmp_path / "collector.log")
    collector.start()
    agents = Agents(tmp_path, collector.url, token)
    killer = Killer(collector, rng, up=(1.5, 4.0), down=(0.1, 1.0), limit=1000)
    started = time.monotonic()
    try:
        killer.start()
        deadline = started + max(300, CHAOS_RESULTS / 20)
        while time.monotonic() < deadline:
            more = (agents.generated() < CHAOS_RESULTS or agents.kills < AGENT_KILLS
                    or killer.kills < COLLECTOR_KILLS)
            if not more and all(p is None for p in agents.procs):
                break
            agents.step(rng, more=more)
            time.sleep(0.05)
        agents.wait_all(120)
        killer.finish()
        assert killer.error is None, killer.error
        for i in range(AGENTS):  # the operator's `spool flush`, collector up
            proc = agents.spawn(i, "flush")
            assert proc.wait(120) == 0, proc.stderr.read().decode() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
    finally:
        agents.stop()
        killer.stop.set()
        collector.stop()
    committed = set().union(*(read_ids(d / "committed") for d in agents.dirs))
    generated = set().union(*(read_ids(d / "generated") for d in agents.dirs))
    stored = stored_ids(db_url)
    print(f"\n{db_url.split(':')[0]}: generated {len(generated)}, committed {len(committed)}, "
          f"stored {len(stored)}; agent kills {agents.kills} of {agents.spawns} agent runs, "
          f"collector kills {killer.kills}; {time.monotonic() - started:.0f} s")
    assert agents.kills >= AGENT_KILLS and killer.kills >= COLLECTOR_KILLS
    assert len(committed) >= CHAOS_RESULTS * 0.9, "too few results to prove anything"
    assert committed <= set(stored), f"lost {len(committed - set(stored))} results"
    assert set(stored) <= generated, "stored results that no agent produced"
    assert_counted_once(db_url, stored)
    for d in agents.dirs:
        with Spool(d / "spool.sqlite3") as spool:
            assert spool.pending() == 0 and spool.status().rejected == 0


# --- (b) and (c): batches under load --------------------------------------------------------

@dataclass
class Load:
    """Threads posting 100-result batches; what was acknowledged and what was not."""

    url: str
    token: str
    threads: int = 4
    acked: list[list[str]] = field(default_factory=list)
    unacked: list[list[str]] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    window: list[tuple[float, int | str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, name=f"load{n}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def finish(self) -> None:
        self.stop.set()
        for worker in self._workers:
            worker.join(60)

    def _run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(10, connect=2)) as client:
            while not self.stop.is_set():
                batch = [result() for _ in range(100)]
                ids = [r["id"] for r in batch]
                outcome: int | str
                try:
                    answer = client.post(f"{self.url}/api/v1/submissions",
                                         json=document(ORGS[0], batch), headers=auth(self.token))
                    outcome = answer.status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                with self._lock:
                    self.statuses[outcome] += 1
                    self.window.append((time.monotonic(), outcome))
                    (self.acked if outcome == 200 else self.unacked).append(ids)
                if outcome != 200:  # down: do not spin, the restart needs the CPU
                    time.sleep(0.05 if isinstance(outcome, int) else 0.25)

    def since(self, t: float) -> list[int | str]:
        with self._lock:
            return [o for when, o in self.window if when >= t]

    def check(self, db_url: str) -> int:
        stored = stored_ids(db_url)
        have = set(stored)
        sent = {i for batch in self.acked + self.unacked for i in batch}
        lost = [i for batch in self.acked for i in batch if i not in have]
        assert not lost, f"lost {len(lost)} acknowledged results"
        assert have <= sent
        torn = [b for b in self.unacked if 0 < sum(i in have for i in b) < len(b)]
        assert not torn, f"{len(torn)} batches stored in part"
        assert_counted_once(db_url, stored)
        assert not [s for s in self.statuses if isinstance(s, int) and s >= 500 and s != 503], \
            self.statuses
        return len(stored)


def test_collector_killed_under_ingest_load(db_url: str, tmp_path: Path) -> None:
    wipe(db_url)
    rng = random.Random(7)
    collector = CollectorProcess(db_url, *NO_LIMITS, log=tmp_path / "collector.log")
    collector.start()
    load = Load(collector.url, make_token(db_url, ORGS[0]))
    killer = Killer(collector, rng, up=(1.0, 3.0), down=(0.0, 0.5), limit=CHAOS_KILLS)
    try:
        load.start()
        killer.start()
        killer.join(60 + CHAOS_KILLS * 30)
        killer.finish()
        assert killer.error is None, killer.error
        time.sleep(1.0)  # some load on the last start too
    finally:
        load.finish()
        killer.stop.set()
        collector.stop()
    stored = load.check(db_url)
    print(f"\n{db_url.split(':')[0]}: {killer.kills} collector kills; {len(load.acked)} batches "
          f"acknowledged, {len(load.unacked)} not; {stored} results stored; "
          f"outcomes {dict(load.statuses)}")
    assert killer.kills == CHAOS_KILLS and len(load.acked) >= CHAOS_KILLS
    assert load.unacked, "no kill landed during a request: the test proved little"


# --- (c) PostgreSQL restarted -------------------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class OwnPostgres:
    """A throwaway PostgreSQL server run as the postgres user in a temporary folder."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="safety-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        os.chmod(self.base, 0o700)
        shutil.chown(self.base, "postgres", "postgres")

    def _as_postgres(self, *cmd: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *cmd], capture_output=True, timeout=timeout,
                              check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    def init(self) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=50")
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                          str(self.base / "server.log"), "-o", options, "-w", "-t", "60",
                          "start")

    def crash(self) -> None:
        """Immediate shutdown: the server processes quit at once, as in a crash, and the
        next start recovers from the WAL."""
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.crash()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if not (PG_BIN / "pg_ctl").exists():
        pytest.fail(f"PostgreSQL 15's server binaries are needed in {PG_BIN}")
    server = OwnPostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


def test_postgres_restarted_under_load(own_postgres: OwnPostgres, tmp_path: Path) -> None:
    db_url = own_postgres.url
    engine = repo.make_engine(db_url)
    migrate.upgrade(engine)
    engine.dispose()
    collector = CollectorProcess(db_url, *NO_LIMITS, log=tmp_path / "collector.log")
    collector.start()
    load = Load(collector.url, make_token(db_url, ORGS[0]))
    restarts = []
    try:
        load.start()
        for _ in range(2):
            time.sleep(2.0)
            own_postgres.crash()
            down = time.monotonic()
            time.sleep(3.0)
            health = httpx.get(f"{collector.url}/healthz", timeout=10)
            during = load.since(down + 0.5)  # after in-flight requests have settled
            own_postgres.start()
            up = time.monotonic()
            recovered = None
            while time.monotonic() < up + 60:
                if 200 in load.since(up):
                    recovered = time.monotonic() - up
                    break
                time.sleep(0.1)
            restarts.append((health.status_code, Counter(during), recovered))
        time.sleep(1.0)
    finally:
        load.finish()
        collector.stop()
    stored = load.check(db_url)
    print(f"\n{len(restarts)} PostgreSQL restarts: {restarts}; {len(load.acked)} batches "
          f"acknowledged, {len(load.unacked)} not; {stored} stored; outcomes "
          f"{dict(load.statuses)}")
    for health, during, recovered in restarts:
        assert health == 503
        assert during and set(during) == {503}, during  # 503 while down, never 500
        assert recovered is not None, "the collector did not recover by itself"
    assert 500 not in load.statuses

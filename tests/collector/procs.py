"""Real collector processes for the replica and chaos tests: `access-probe collector serve`
started with subprocess on a free loopback port, waited for via /healthz, and always torn down
(SIGKILL if SIGTERM is not enough), and a counting origin server on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("access-probe")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CollectorProcess:
    """One `collector serve` process; `start()` again after `kill()` reuses the port."""

    def __init__(self, db_url: str, *args: str, port: int | None = None,
                 log: Path | None = None) -> None:
        self.db_url = db_url
        self.args = args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *, timeout: float = 90) -> None:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [str(CLI), "collector", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--db", self.db_url, *self.args], env=env, stdout=out, stderr=out)
        if self.log:
            out.close()  # type: ignore[union-attr]
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited with {self.proc.returncode}"
                                   + (f"; see {self.log}" if self.log else ""))
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code in (200, 503):
                    return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("the collector did not answer /healthz in time")

    def kill(self) -> None:
        """SIGKILL (the whole process group is not ours to kill: just this process)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextlib.contextmanager
def collectors(db_url: str, count: int, *args: str, log_dir: Path | None = None
               ) -> Iterator[list[CollectorProcess]]:
    procs = [CollectorProcess(db_url, *args, log=log_dir / f"collector{i}.log" if log_dir
                              else None) for i in range(count)]
    try:
        for proc in procs:
            proc.start()
        yield procs
    finally:
        for proc in procs:
            proc.stop()


class _Counting(ThreadingHTTPServer):
    daemon_threads = True
    hits: int = 0


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.hits += 1  # type: ignore[attr-defined]
        body = b"<html><head><title>origin</title></head><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@contextlib.contextmanager
def origin(host: str = "127.0.0.1") -> Iterator[_Counting]:
    """An HTTP origin on loopback that counts the GETs it receives."""
    server = _Counting((host, 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

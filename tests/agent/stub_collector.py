"""A small real HTTP collector for the agent's tests: POST /api/v1/submissions, idempotent
by result id, with switchable failure modes. Runs on 127.0.0.1 in a thread."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "test-token"


class StubCollector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stored: dict[str, dict[str, Any]] = {}
        self.deliveries: Counter[str] = Counter()  # every time an id arrived, stored or not
        self.bodies: list[bytes] = []
        self.mode = "up"  # up | down (503) | ratelimit (429) | auth (401)
        self.reject_ids: set[str] = set()  # 422 for any batch containing one of these
        self.requests = 0
        self.delay = 0.0  # seconds between committing and answering: the window a crash hits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StubCollector:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any],
                        headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the agent was killed while waiting: exactly what crash tests do

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with stub.lock:
                    stub.requests += 1
                    mode = stub.mode
                if self.path == "/api/v1/control":  # refuses a wrong token, like the real one
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        return self._answer(401, {"detail": "bad token"})
                    return self._answer(503, {"detail": "no control here"})
                if self.path != "/api/v1/submissions":
                    return self._answer(404, {"detail": "not found"})
                if mode == "down":
                    return self._answer(503, {"detail": "down"})
                if mode == "ratelimit":
                    return self._answer(429, {"detail": "slow down"}, {"Retry-After": "120"})
                if mode == "auth" or self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._answer(401, {"detail": "bad token"})
                doc = json.loads(raw)
                ids = [r["id"] for r in doc["results"]]
                if stub.reject_ids.intersection(ids):
                    return self._answer(422, {"detail": "results[0].status: invalid"})
                accepted = duplicates = 0
                with stub.lock:
                    stub.bodies.append(raw)
                    for result in doc["results"]:
                        stub.deliveries[result["id"]] += 1
                        if result["id"] in stub.stored:
                            duplicates += 1
                        else:
                            stub.stored[result["id"]] = {"context": doc["context"], **result}
                            accepted += 1
                if stub.delay:
                    time.sleep(stub.delay)
                return self._answer(200, {"accepted": accepted, "duplicates": duplicates})

        return Handler

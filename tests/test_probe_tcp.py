"""probe.tcp against real loopback listeners: success, refusal, silent drop."""

from __future__ import annotations

import socket

from access_probe.engine.probe import tcp
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Failure
from tests.servers import BlackholeServer, SilentServer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connect_success_keeps_socket_open() -> None:
    with SilentServer() as server:
        obs, sock = tcp.connect(server.address, server.port, ProbeContext(timeout=1.0))
        assert sock is not None
        with sock:
            assert obs.failure is None and obs.port == server.port
            assert obs.address == "127.0.0.1" and not obs.via_proxy
            assert 0 <= obs.t0 <= obs.t


def test_refused() -> None:
    obs, sock = tcp.connect("127.0.0.1", _closed_port(), ProbeContext(timeout=1.0))
    assert sock is None and obs.failure is Failure.CONNECTION_REFUSED


def test_silent_drop_times_out_within_bound() -> None:
    with BlackholeServer() as hole:
        obs, sock = tcp.connect(hole.address, hole.port, ProbeContext(timeout=0.5),
                                via_proxy=True)
    assert sock is None and obs.failure is Failure.GENERIC_TIMEOUT and obs.via_proxy
    assert 0.4 < obs.t - obs.t0 < 2.0


def test_deadline_cuts_step_timeout() -> None:
    ctx = ProbeContext(timeout=5.0, deadline=0.3)
    with BlackholeServer() as hole:
        obs, _sock = tcp.connect(hole.address, hole.port, ctx)
    assert obs.failure is Failure.GENERIC_TIMEOUT and obs.t < 1.5

"""TCP: one connection attempt to one address, kept open for the next layer."""

from __future__ import annotations

import socket

from access_probe.engine.classify import Operation, classify
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import TCPObservation

__all__ = ["connect"]


def connect(address: str, port: int, ctx: ProbeContext, *,
            via_proxy: bool = False) -> tuple[TCPObservation, socket.socket | None]:
    """Connect to (address, port); the socket is returned open on success, else None."""
    t0 = ctx.clock.now()
    try:
        sock = socket.create_connection((address, port), timeout=ctx.step_timeout())
    except (OSError, ValueError) as exc:  # ValueError: a proxy name IDNA cannot encode
        obs = TCPObservation(address=address, port=port, t0=t0, t=ctx.clock.now(),
                             failure=classify(exc, Operation.CONNECT), via_proxy=via_proxy)
        return obs, None
    obs = TCPObservation(address=address, port=port, t0=t0, t=ctx.clock.now(),
                         via_proxy=via_proxy)
    return obs, sock

"""The control vantage point's own reading of what it measured from outside (the collector's
side of `POST /api/v1/control`): the same engine's measurement -> a typed `Control` record.
`engine/control.py` carries it over the wire (`control_to_json` / `control_from_json`)."""

from __future__ import annotations

from access_probe.model import Control, ControlHTTP, ControlStatus, Measurement

__all__ = ["control_status", "summarise"]


def control_status(m: Measurement) -> ControlStatus:
    """accessible (an answer under 500 came back), unreachable (the site failed at some
    layer), inconclusive (the control could not tell)."""
    if m.refused:
        return ControlStatus.INCONCLUSIVE
    last = m.http[-1] if m.http else None
    if last is not None and last.failure is None and last.status is not None:
        return ControlStatus.ACCESSIBLE if last.status < 500 else ControlStatus.UNREACHABLE
    failed = (any(d.failure for d in m.dns[:1]) or any(t.failure for t in m.tcp)
              or any(t.failure for t in m.tls) or any(h.failure for h in m.http))
    return ControlStatus.UNREACHABLE if failed else ControlStatus.INCONCLUSIVE


def summarise(m: Measurement) -> Control:
    """The control's answer for one URL. Site addresses are public facts about the site, not
    about anyone's network, so they may travel."""
    if m.refused:
        return Control(url=m.url, refused=m.refused)
    dns = m.dns[0] if m.dns else None
    tcp_ok = any(t.failure is None for t in m.tcp)
    tls_ok = next((t for t in m.tls if t.failure is None), None)
    last = m.http[-1] if m.http else None
    return Control(
        url=m.url,
        status=control_status(m),
        dns_failure=dns.failure if dns else None,
        dns_rcode=dns.rcode if dns else None,
        dns_addresses=tuple(dns.addresses) if dns else (),
        tcp_failure=None if tcp_ok or not m.tcp else m.tcp[-1].failure,
        tls_failure=None if tls_ok or not m.tls else m.tls[-1].failure,
        tls_issuer=tls_ok.issuer if tls_ok else None,
        http=ControlHTTP(
            status=last.status if last else None,
            title=last.title if last else None,
            body_length=last.body_length if last else None,
            failure=last.failure if last else None,
            server=last.headers.get("server") if last else None,
        ),
    )

"""TLS inspection with mitmproxy (mitmdump, transparent mode): the council's gateway
redirects outbound 443 to it, and it re-signs every site with the council's own CA, which
the council's machines trust and the public roots do not."""

from __future__ import annotations

from pathlib import Path

from ..certs import CA
from ..topology import Lab

PORT = 8443


def start(lab: Lab, ns: str, name: str, address: str, ca: CA, upstream_roots: Path) -> None:
    confdir = lab.workdir / name
    confdir.mkdir()
    (confdir / "mitmproxy-ca.pem").write_bytes(ca.key_pem + ca.cert_pem)
    lab.iptables(ns, [f"-t nat -A PREROUTING -i lan -p tcp --dport 443 -j REDIRECT "
                      f"--to-ports {PORT}"])
    lab.spawn(ns, name, ["mitmdump", "--mode", "transparent", "--listen-host", address,
                         "--listen-port", str(PORT), "--set", f"confdir={confdir}",
                         "--set", f"ssl_verify_upstream_trusted_ca={upstream_roots}",
                         "--set", "termlog_verbosity=warn", "--set", "flow_detail=0"])
    lab.wait_listening(ns, name, address, PORT, timeout=30)

"""The lab itself behaves as the council networks it stands for, checked with curl from the
client machines, independently of the product: if one of these fails, the verdict tests
that follow are testing the wrong thing."""

from __future__ import annotations

import re

import pytest

from . import world
from .build import PYTHON
from .lab import World

GOV, FB, YT = "www.gov.uk", "www.facebook.com", "www.youtube.com"


def curl(w: World, council: str, url: str, *, client: int = 0, proxy_port: int | None = None,
         store: str = "public") -> tuple[int, str, str]:
    c = w.councils[council]
    extra = ["-x", f"http://{c.gateway}:{proxy_port}"] if proxy_port else []
    proc = w.lab.sh(c.clients[client], "curl", "-sS", "-i", "-m", "5", "--cacert",
                    str(w.stores[store]), *extra, url, check=False, timeout=30)
    return proc.returncode, proc.stdout, proc.stderr


def title(text: str) -> str:
    found = re.search(r"<title>(.*?)</title>", text, re.S)
    return found.group(1).strip() if found else ""


def test_open_network_reaches_every_site(lab_world: World) -> None:
    for host, expected in world.TITLES.items():
        if host in world.REDIRECTS:
            continue
        rc, out, err = curl(lab_world, "open", world.url(host))
        assert rc == 0 and title(out) == expected, (host, err)
    rc, out, _ = curl(lab_world, "open", world.url("khub.net"))
    assert rc == 0 and "Location: https://khub.net/signin" in out


def test_dead_and_nonexistent_sites_fail_everywhere(lab_world: World) -> None:
    assert curl(lab_world, "open", world.url(world.DOWN_NAME))[0] == 7  # refused
    assert curl(lab_world, "open", world.url(world.NONEXISTENT_NAME))[0] == 6  # no such name


def test_dns_filter_answers(lab_world: World) -> None:
    assert curl(lab_world, "dnsf", world.url(FB))[0] == 6
    c = lab_world.councils["dnsf"]
    answer = lab_world.lab.sh(c.clients[0], "getent", "ahostsv4", YT).stdout
    assert answer.split()[0] == "0.0.0.0"
    answer = lab_world.lab.sh(c.clients[0], "getent", "ahostsv4", "x.com").stdout
    assert answer.split()[0] == c.gateway
    rc, out, _ = curl(lab_world, "dnsf", world.url("x.com", "http"))
    assert rc == 0 and title(out) == "Westshire Council - Site Blocked"
    assert curl(lab_world, "dnsf", world.url("x.com"))[0] == 60  # not the site's certificate


# One query to the council's resolver, as the client machine: (rcode, A records).
_QUERY = """import sys, dns.message, dns.query, dns.rcode
r = dns.query.udp(dns.message.make_query(sys.argv[2], "A"), sys.argv[1], timeout=3)
print(dns.rcode.to_text(r.rcode()), *[i.address for a in r.answer for i in a if a.rdtype == 1])
"""


def query(w: World, council: str, name: str) -> list[str]:
    c = w.councils[council]
    return w.lab.sh(c.clients[0], PYTHON, "-c", _QUERY, c.gateway, name).stdout.split()


def test_dnsmasq_filter_answers(lab_world: World) -> None:
    gw = lab_world.councils["dnsm"].gateway
    assert query(lab_world, "dnsm", FB) == ["NXDOMAIN"]
    assert query(lab_world, "dnsm", YT) == ["NOERROR", "0.0.0.0"]
    assert query(lab_world, "dnsm", "www.instagram.com") == ["NOERROR", gw]
    assert query(lab_world, "dnsm", GOV) == ["NOERROR", world.SITES[GOV]]
    rc, out, _ = curl(lab_world, "dnsm", world.url("www.instagram.com", "http"))
    assert rc == 0 and title(out) == "Westshire Council - Site Blocked"


def test_bind_rpz_answers(lab_world: World) -> None:
    assert query(lab_world, "rpz", FB) == ["NXDOMAIN"]
    assert query(lab_world, "rpz", YT) == ["NOERROR", "0.0.0.0"]
    assert query(lab_world, "rpz", "x.com") == ["NOERROR"]  # NODATA: no address at all
    assert query(lab_world, "rpz", GOV) == ["NOERROR", world.SITES[GOV]]


def test_squidguard_redirects(lab_world: World) -> None:
    rc, out, _ = curl(lab_world, "sg", world.url(FB, "http"), proxy_port=3128)
    location = re.search(r"^Location: (\S+)", out, re.M)
    assert "302" in out.splitlines()[0] and location, out
    assert "/cgi-bin/squidGuard.cgi?" in location.group(1)
    assert "targetgroup=socialnet&url=http://www.facebook.com/" in location.group(1)
    # squid 5 hands squidGuard `host:443` for CONNECT, and answers the tunnel with its 302.
    rc, out, _ = curl(lab_world, "sg", world.url(FB), proxy_port=3128)
    assert rc == 56 and "302" in out.splitlines()[0] and "url=www.facebook.com:443" in out
    # The block page: the package's own CGI, run by the council's web server.
    c = lab_world.councils["sg"]
    proc = lab_world.lab.sh(c.clients[0], "curl", "-sS", "-i", "-m", "5", "-x",
                            f"http://{c.gateway}:3128", location.group(1), check=False)
    assert "403 Forbidden" in proc.stdout.splitlines()[0]
    assert "The access to this site is blocked." in proc.stdout
    assert "squidguard.org" in proc.stdout and "socialnet" in proc.stdout
    rc, out, _ = curl(lab_world, "sg", world.url(GOV), proxy_port=3128)
    assert rc == 0 and title(out) == world.TITLES[GOV]
    assert curl(lab_world, "sg", world.url(GOV))[0] == 7  # only the proxy leads out


def test_firewall_rules(lab_world: World) -> None:
    assert curl(lab_world, "fw", world.url(FB))[0] == 7
    rc, _, err = curl(lab_world, "fw", world.url("www.instagram.com"))
    assert rc == 35 and "reset" in err.lower()
    assert curl(lab_world, "fw", world.url(GOV))[0] == 0


def test_squid_policy(lab_world: World) -> None:
    rc, out, _ = curl(lab_world, "squid", world.url(FB), proxy_port=3128)
    assert rc == 56 and "403 Forbidden" in out
    rc, out, _ = curl(lab_world, "squid", world.url(YT, "http"), proxy_port=3128)
    assert "403" in out.splitlines()[0] and "Westshire Council - Website Blocked" in out
    assert "X-Squid-Error: ERR_WESTSHIRE_BLOCKED" in out
    rc, out, _ = curl(lab_world, "squid", world.url(GOV), client=1, proxy_port=3128)
    assert "407 Proxy Authentication Required" in out
    rc, out, _ = curl(lab_world, "squid", world.url(GOV), proxy_port=3128)
    assert rc == 0 and title(out) == world.TITLES[GOV]
    # Direct egress is closed: only the proxy leads out.
    assert curl(lab_world, "squid", world.url(GOV))[0] == 7


def test_e2guardian_pages(lab_world: World) -> None:
    rc, out, _ = curl(lab_world, "e2g", world.url(FB, "http"), proxy_port=8080)
    assert rc == 0 and title(out) == "E2Guardian - Access Denied"
    assert "Social Networking" in out and world.USER_NAME in out
    assert lab_world.councils["e2g"].client_addr(0) in out  # the page prints the user's IP
    rc, out, _ = curl(lab_world, "e2g", world.url(FB), proxy_port=8080)
    assert "302" in out.splitlines()[0] and "Server: e2guardian" in out
    rc, out, _ = curl(lab_world, "e2g", world.url(YT, "http"), client=1, proxy_port=8080)
    assert title(out) == "E2Guardian - Warning" and "GBYPASS=" in out
    assert "Video Streaming" in out


def test_tls_inspection_resigns_with_the_council_ca(lab_world: World) -> None:
    rc, _, _ = curl(lab_world, "tlsi", world.url(GOV))
    assert rc == 60  # the public roots alone do not trust the inspection proxy
    c = lab_world.councils["tlsi"]
    proc = lab_world.lab.sh(c.clients[0], "curl", "-sS", "-v", "-o", "/dev/null", "--cacert",
                            str(lab_world.stores["council"]), world.url(GOV), check=False)
    assert proc.returncode == 0 and world.COUNCIL_CA_CN in proc.stderr


def test_squid_bump_inspects_and_blocks_inside_tls(lab_world: World) -> None:
    rc, out, _ = curl(lab_world, "bump", world.url(FB), proxy_port=3128, store="council")
    assert rc == 0 and "403 Forbidden" in out and "Westshire Council - Website Blocked" in out
    rc, _, _ = curl(lab_world, "bump", world.url(GOV), proxy_port=3128)
    assert rc == 60  # the public roots alone do not trust the re-signed certificate
    rc, out, _ = curl(lab_world, "bump", world.url(GOV), proxy_port=3128, store="council")
    assert rc == 0 and title(out) == world.TITLES[GOV]


def test_slow_path_is_slow_but_works(lab_world: World) -> None:
    c = lab_world.councils["slow"]
    proc = lab_world.lab.sh(c.clients[0], "curl", "-sS", "-o", "/dev/null", "-w",
                            "%{time_connect} %{time_appconnect} %{time_total}", "--cacert",
                            str(lab_world.stores["public"]), world.url(GOV), check=False,
                            timeout=30)
    assert proc.returncode == 0, proc.stderr
    _connect, tls, _total = (float(x) for x in proc.stdout.split())
    assert tls >= 0.5  # TLS 1.3 takes one round trip plus the relay's connect: >= 2 x 150 ms


@pytest.mark.parametrize("council", ["open", "dnsf", "fw", "squid", "e2g", "tlsi", "slow",
                                     "bump", "sg", "dnsm", "rpz"])
def test_no_path_out_of_the_lab(lab_world: World, council: str) -> None:
    """Every default route ends in the lab's Internet, which has none: nothing can leave."""
    c = lab_world.councils[council]
    routes = lab_world.lab.sh(c.gw, "ip", "route").stdout
    assert f"default via 203.0.113.{4 * c.index + 1} dev wan" in routes
    assert "default" not in lab_world.lab.sh(lab_world.net.ns, "ip", "route").stdout

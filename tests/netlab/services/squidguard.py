"""squidGuard (Debian's 1.6.0) as Squid's URL rewriter, the way a council adds it to an
existing proxy: a `dest` per category with a domainlist, an `acl` that passes everything but
those, a `redirect` to the council's block-page CGI, and the Berkeley DB lists built with
`squidGuard -C all` (Debian's update-squidguard does the same). The block page is the
package's own example CGI, with the variables an IT team edits."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..topology import run

PROGRAM = "/usr/bin/squidGuard"
EXAMPLES = Path("/usr/share/doc/squidguard/examples")
CGI_PATH = "/cgi-bin/squidGuard.cgi"
# The query the package's examples and CONFIGURATION document for the block-page CGI.
QUERY = "clientaddr=%a&clientname=%n&clientuser=%i&clientgroup=%s&targetgroup=%t&url=%u"


def configure(root: Path, *, src: str, lan: str, dests: Mapping[str, Sequence[str]],
              blockpage: str) -> Path:
    """Write squidGuard.conf and its domain lists under `root`, build the databases, and
    return the config's path. `blockpage` is the CGI's base URL (http://host)."""
    db, logs = root / "db", root / "log"
    logs.mkdir(parents=True, exist_ok=True)
    redirect = f"redirect 302:{blockpage}{CGI_PATH}?{QUERY}"
    lines = [f"dbhome {db}", f"logdir {logs}", "", f"src {src} {{", f"\tip\t{lan}", "}", ""]
    for dest, domains in dests.items():
        (db / dest).mkdir(parents=True, exist_ok=True)
        (db / dest / "domains").write_text("".join(f"{d}\n" for d in domains))
        lines += [f"dest {dest} {{", f"\tdomainlist\t{dest}/domains", f"\tlog\t{dest}.log",
                  "}", ""]
    banned = " ".join(f"!{d}" for d in dests)
    lines += ["acl {", f"\t{src} {{", f"\t\tpass {banned} all", f"\t\t{redirect}", "\t}",
              "\tdefault {", "\t\tpass none", f"\t\t{redirect}", "\t}", "}", ""]
    conf = root / "squidGuard.conf"
    conf.write_text("\n".join(lines))
    run([PROGRAM, "-C", "all", "-c", str(conf)], timeout=60)
    return conf


def rewrite_program(conf: Path) -> str:
    """The squid.conf lines that hand every request to squidGuard."""
    return (f"url_rewrite_program {PROGRAM} -c {conf}\n"
            "url_rewrite_children 4 startup=2 idle=1 concurrency=0\n")


def install_cgi(directory: Path, *, proxy: str, proxymaster: str) -> Path:
    """The shipped squidGuard.cgi (and its English strings), edited as its comments ask."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / "babel.en", directory / "babel.en")
    text = (EXAMPLES / "squidGuard.cgi").read_text(encoding="latin-1")
    perl_mail = proxymaster.replace("@", "\\@")  # "@" interpolates in a Perl string
    edits = {
        '$redirect    = "http://admin.your-domain/images/blocked.gif";':
            '$redirect    = "";',
        '$proxy       = "proxy.your-domain";': f'$proxy       = "{proxy}";',
        '$proxymaster = "operator\\@your-domain";':
            f'$proxymaster = "{perl_mail}";',
    }
    for old, new in edits.items():
        if old not in text:
            raise ValueError(f"squidGuard.cgi changed: {old!r} not found")
        text = text.replace(old, new)
    script = directory / "squidGuard.cgi"
    script.write_text(text, encoding="latin-1")
    script.chmod(0o755)
    return script

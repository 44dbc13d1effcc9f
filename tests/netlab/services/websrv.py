"""The lab's web sites: plain HTTP and HTTPS on chosen addresses, content chosen by Host.

Run inside a namespace as a script: `python websrv.py SPEC.json`. The spec names the
(address, port, tls) listeners, the certificate, and per-host pages. A host not in the spec
gets the `default` page, which is how a council's DNS block-page server answers every name.
`cgi` maps paths to CGI scripts run as a web server would (a filter's own block-page CGI:
QUERY_STRING in, `Status:` and headers out, the script's directory as its working one).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def page(title: str, text: str) -> bytes:
    # A few kilobytes, so that a short block page never looks like the real site.
    para = f"<p>{text}</p>\n" * 60
    return (f"<!doctype html><html><head><title>{title}</title></head>"
            f"<body><h1>{title}</h1>\n{para}</body></html>").encode()


class Handler(BaseHTTPRequestHandler):
    server_version = "labweb/1.0"
    timeout = 15
    spec: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        site = self.spec["sites"].get(host) or self.spec["default"]
        path = self.path.split("?")[0]
        if path in self.spec.get("cgi", {}):
            self.run_cgi(self.spec["cgi"][path])
            return
        if site.get("redirect") and path == "/":
            self.send_response(302)
            self.send_header("Location", site["redirect"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        pages = site.get("pages", {})
        title, text = pages.get(path, (site["title"], site.get("text", site["title"])))
        body = page(title, text)
        self.send_response(int(site.get("status", 200)))
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def version_string(self) -> str:
        return f"{self.server_version} {self.sys_version}".strip()

    def run_cgi(self, script: str) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GATEWAY_INTERFACE": "CGI/1.1",
               "REQUEST_METHOD": self.command, "SCRIPT_NAME": self.path.split("?")[0],
               "QUERY_STRING": self.path.partition("?")[2],
               "SERVER_SOFTWARE": self.version_string(),
               "REMOTE_ADDR": self.client_address[0], "DOCUMENT_ROOT": os.path.dirname(script),
               "HTTP_HOST": self.headers.get("Host", "")}
        if self.headers.get("Accept-Language"):
            env["HTTP_ACCEPT_LANGUAGE"] = self.headers["Accept-Language"]
        out = subprocess.run([script], env=env, cwd=os.path.dirname(script), timeout=10,
                             capture_output=True, check=False).stdout
        head, _, body = out.replace(b"\r\n", b"\n").partition(b"\n\n")
        headers = [line.decode("latin-1").split(":", 1) for line in head.splitlines()]
        fields = {name.strip().lower(): value.strip() for name, value in headers}
        status = int(fields.pop("status", "200").split()[0])
        if "location" in fields and status == 200:
            status = 302
        self.send_response(status)
        for name, value in headers:
            if name.strip().lower() != "status":
                self.send_header(name.strip(), value.strip())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class TLSServer(ThreadingHTTPServer):
    """Handshakes in the request's own thread: a client whose ClientHello a firewall ate
    must not stall the accept loop for everyone else."""

    context: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(15)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]


def serve(spec: dict[str, Any]) -> None:
    Handler.spec = spec
    if "server" in spec:  # the block-page server's own banner, e.g. Apache's
        Handler.server_version, Handler.sys_version = spec["server"], ""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(spec["cert"], spec["key"])
    threads = []
    for address, port, tls in spec["listen"]:
        httpd = (TLSServer if tls else ThreadingHTTPServer)((address, port), Handler)
        if isinstance(httpd, TLSServer):
            httpd.context = context
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        threads.append(thread)
    print("ready", flush=True)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        serve(json.load(fh))

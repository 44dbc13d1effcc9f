"""A minimal RFC 1413 ident server: answers every query with one user name, as the
directory-joined PC of a council user would. e2guardian's ident auth plugin asks it who
is behind a connection. Run as `python identd.py ADDRESS USER`."""

from __future__ import annotations

import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    timeout = 5
    user = "nobody"

    def handle(self) -> None:
        line = self.rfile.readline(256).decode("ascii", "replace").strip()
        if line:
            self.wfile.write(f"{line} : USERID : UNIX : {self.user}\r\n".encode())


if __name__ == "__main__":
    Handler.user = sys.argv[2]
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((sys.argv[1], 113), Handler) as server:
        server.serve_forever()

# SPDX-License-Identifier: MIT
# An HTTP server for the upload checks: every POST body is hashed as it
# arrives (never kept) and the answer is "<sha256 hex> <bytes>\n". A body
# cut short, or a byte changed on the way, gives another answer. A POST to
# /pause/N reads nothing of its body for N seconds first: a destination
# that stops reading, for the relays' backpressure.
#
#   python3 sha256-server.py ADDR PORT
import hashlib
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path.startswith("/pause/"):
            time.sleep(int(self.path[len("/pause/"):]))
        left = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        got = 0
        while left > 0:
            d = self.rfile.read(min(left, 1 << 16))
            if not d:
                break
            h.update(d)
            got += len(d)
            left -= len(d)
        body = ("%s %d\n" % (h.hexdigest(), got)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("sha256-server: " + (fmt % args) + "\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True


addr, port = sys.argv[1], int(sys.argv[2])
if ":" in addr:
    Server.address_family = socket.AF_INET6
Server((addr, port), Handler).serve_forever()

# SPDX-License-Identifier: MIT
# client.py HOST PORT [BYTES [TIMEOUT]]: a client of relay.py. Connects,
# sends BYTES bytes (default 40: one line of text), half-closes, reads until
# the server closes. Exit 0 when all came back, 1 otherwise (with a reason
# on stderr): a refused or unanswered connection is a failure here, and the
# callers that want one say so.
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 40
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 5
line = b"onion layer bytes, nothing to read here\n"
data = (line * (n // len(line) + 1))[:n]
try:
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
except OSError as e:
    print("client.py: %s:%d: %s" % (host, port, e), file=sys.stderr)
    sys.exit(1)
if got != n:
    print("client.py: %s:%d: %d of %d bytes back" % (host, port, got, n), file=sys.stderr)
    sys.exit(1)

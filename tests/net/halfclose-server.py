# SPDX-License-Identifier: MIT
# A TCP server for the half-close test: for each connection it reads until
# the client's FIN, then sends N bytes (a pattern) and closes. A relay that
# does not carry the FIN, or stops carrying data after it, fails the test.
import socket
import sys

addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(16)
chunk = bytes(range(256)) * 256
while True:
    c, _ = s.accept()
    got = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += len(d)
    left = n
    while left > 0:
        left -= c.send(chunk[: min(left, len(chunk))])
    c.close()

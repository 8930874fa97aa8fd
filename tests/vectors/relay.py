# SPDX-License-Identifier: MIT
# relay.py [--dns ADDR] ADDR...: the stand-in relay of tests/vectors/record.sh
# and tests/net/t-leak.sh. On port 9001 of each ADDR (IPv4 or IPv6) it
# echoes what a client sends until the client closes. With --dns ADDR it
# also takes one DNS-over-TCP message on ADDR port 53 and closes, so that a
# capture holds a real query over TCP. Prints "ready" once it listens.
import selectors
import socket
import sys

sel = selectors.DefaultSelector()


def listen(addr, port, kind):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ, kind)


args = sys.argv[1:]
if len(args) >= 2 and args[0] == "--dns":
    listen(args[1], 53, "dns")
    args = args[2:]
for a in args:
    listen(a, 9001, "echo")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.settimeout(2)
        try:
            data = c.recv(65536)
            while data and key.data == "echo":
                c.sendall(data)
                data = c.recv(65536)
        except OSError:
            pass
        c.close()

# SPDX-License-Identifier: MIT
# A minimal SOCKS5 client for the tests: sends RESOLVE (0xF0) of a name,
# RESOLVE_PTR (0xF1) of an IPv4 address, or CONNECT (0x01) to a name on
# port 80 ("connect NAME"), and prints the reply code and the answer, e.g.
# "0 203.0.113.80" or "0 www.example.test" or "4 -".
import ipaddress
import socket
import struct
import sys

port, cmd, arg = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
if cmd == "resolve":
    req = bytes([5, 0xF0, 0, 3, len(arg)]) + arg.encode() + b"\0\0"
elif cmd == "connect":
    req = bytes([5, 1, 0, 3, len(arg)]) + arg.encode() + b"\0\x50"
else:
    req = bytes([5, 0xF1, 0, 1]) + ipaddress.IPv4Address(arg).packed + b"\0\0"
s.sendall(bytes([5, 1, 0]) + req)


def need(n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise SystemExit("closed early")
        b += d
    return b


assert need(2) == b"\x05\x00"
ver, rep, rsv, atyp = need(4)
if atyp == 1:
    ans = str(ipaddress.IPv4Address(need(4)))
elif atyp == 4:
    ans = str(ipaddress.IPv6Address(need(16)))
else:
    ans = need(need(1)[0]).decode()
need(2)
print(rep, ans if rep == 0 else "-")

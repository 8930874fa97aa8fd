# SPDX-License-Identifier: MIT
# The application side of t-tun.sh: plain sockets, no proxy, names
# resolved by getaddrinfo (so through tund's DNS, to fake addresses).
# Each command prints one line that the test compares; every socket has a
# timeout and the whole run an alarm, so a hang is a failure, not a stall.
#
#   connect HOST PORT      "connected" (then "EOF", "reset" or "data" on
#                          the first recv), or the connect errno's name
#   many HOST PORT N CMD   N connections to the echo server at once,
#                          alternately over IPv4 and IPv6; each sends its
#                          own tag and reads it back; while all are open
#                          CMD runs (its output is printed as "during: ..."),
#                          then all close: "N open, N echoed"
#   hc-client HOST PORT N  sends "TAG N", shuts its write side, reads until
#                          EOF: "ok N" when payload(TAG, N) came
#   hc-server HOST PORT N  sends "TAG", reads "ok" and the server's EOF,
#                          then sends payload(TAG, N): "TAG N SHA256"
#   zerowin HOST PORT N    sends "TAG" and payload(TAG, N), shuts its
#                          write side, reads the server's "LEN SHA256":
#                          "ok N (send took S s)" when they match
#   slowread HOST PORT N PAUSE
#                          a small receive buffer; sends "TAG N", then
#                          reads nothing for PAUSE seconds (its window
#                          closes), then all: "ok N" when payload(TAG, N) came
#   reset HOST PORT        sends "TAG", then recv: "ECONNRESET", "EOF", ...
#   writes HOST PORT N     N records, one send() each, TCP_NODELAY, then
#                          EOF: prints the server's answer ("N ok")
# -4 or -6 before the command picks the family (default: IPv4). A name
# that resolves to anything but a fake address is an error.
import errno
import hashlib
import ipaddress
import os
import random
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

FAMILY = socket.AF_INET
TIMEOUT = 20


def payload(tag, n):
    return random.Random(tag).randbytes(n)


def record(i):
    return b"%031d\n" % i


FAKE = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("fdfe:dcba:9876::/64"))


def resolve(host, port, family=None):
    ai = socket.getaddrinfo(host, port, family or FAMILY, socket.SOCK_STREAM)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # A name must come back as a fake address: a real one means the
        # query went around tund (and so would the connection).
        a = ipaddress.ip_address(ai[0][4][0])
        if not any(a in n for n in FAKE):
            raise ValueError("%s resolved to %s, not a fake address" % (host, a))
    return ai[0][0], ai[0][4]


def dial(host, port, family=None):
    fam, sa = resolve(host, port, family)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(sa)
    return s


def recv_all(s):
    h = hashlib.sha256()
    n = 0
    data = []
    while True:
        d = s.recv(1 << 20)
        if not d:
            return n, h.hexdigest(), b"".join(data)
        h.update(d)
        n += len(d)
        if n <= 4096:
            data.append(d)


def tag():
    return "t%d-%d" % (os.getpid(), time.monotonic_ns())


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def cmd_connect(host, port):
    try:
        s = dial(host, int(port))
    except OSError as e:
        print(errname(e))
        return
    s.settimeout(3)
    try:
        d = s.recv(1)
        print("connected", "data" if d else "EOF")
    except socket.timeout:
        print("connected", "nothing")
    except OSError as e:
        print("connected", errname(e))


def cmd_many(host, port, n, during):
    n = int(n)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    addrs = [resolve(host, int(port), f) for f in (socket.AF_INET, socket.AF_INET6)]
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        fam, sa = addrs[i % 2]
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(sa)
        except BlockingIOError:
            pass
        want = b"tag-%05d-%s\n" % (i, tag().encode())
        st = {"i": i, "s": s, "want": want, "sent": False, "got": b"", "state": "connecting"}
        socks.append(st)
        sel.register(s, selectors.EVENT_WRITE, st)
    deadline = time.monotonic() + TIMEOUT
    opened = echoed = 0
    errors = {}
    pending = n
    while pending and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=1):
            st = key.data
            s = st["s"]
            if st["state"] == "connecting":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    errors[errno.errorcode.get(err, err)] = errors.get(errno.errorcode.get(err, err), 0) + 1
                    sel.unregister(s)
                    st["state"] = "failed"
                    pending -= 1
                    continue
                opened += 1
                s.send(st["want"])
                st["state"] = "echoing"
                sel.modify(s, selectors.EVENT_READ, st)
            else:
                try:
                    d = s.recv(4096)
                except OSError as e:
                    d = None
                    errors[errname(e)] = errors.get(errname(e), 0) + 1
                if not d:
                    if d is not None:
                        errors["EOF"] = errors.get("EOF", 0) + 1
                    sel.unregister(s)
                    st["state"] = "failed"
                    pending -= 1
                    continue
                st["got"] += d
                if len(st["got"]) >= len(st["want"]):
                    sel.unregister(s)
                    pending -= 1
                    if st["got"] == st["want"]:
                        echoed += 1
                        st["state"] = "done"
                    else:
                        errors["wrong echo"] = errors.get("wrong echo", 0) + 1
                        st["state"] = "failed"
    if pending:
        errors["timed out"] = pending
    if during:
        out = subprocess.run(during, shell=True, capture_output=True, text=True, timeout=10)
        print("during:", out.stdout.strip())
    for st in socks:
        st["s"].close()
    print("%d open, %d echoed%s" % (opened, echoed,
                                     "" if not errors else " (%s)" % ", ".join(
                                         "%s: %d" % kv for kv in sorted(errors.items(), key=str))))


def cmd_hc_client(host, port, n):
    n = int(n)
    t = tag()
    s = dial(host, int(port))
    s.sendall(("%s %d\n" % (t, n)).encode())
    s.shutdown(socket.SHUT_WR)
    got, sha, _ = recv_all(s)
    want = hashlib.sha256(payload(t, n)).hexdigest()
    print("ok %d" % got if (got, sha) == (n, want) else "got %d bytes, sha %s, want %s" % (got, sha, want))


def cmd_hc_server(host, port, n):
    n = int(n)
    t = tag()
    s = dial(host, int(port))
    s.sendall(("%s\n" % t).encode())
    got, sha, data = recv_all(s)
    if data != b"ok\n":
        print("before the server's EOF: %r" % data[:64])
        return
    p = payload(t, n)
    s.sendall(p)
    s.shutdown(socket.SHUT_WR)
    # The server closes once it has read our EOF: wait for that too.
    s.settimeout(10)
    try:
        s.recv(1)
    except OSError:
        pass
    print("%s %d %s" % (t, n, hashlib.sha256(p).hexdigest()))


def cmd_zerowin(host, port, n):
    n = int(n)
    t = tag()
    p = payload(t, n)
    s = dial(host, int(port))
    s.sendall(("%s\n" % t).encode())
    t0 = time.monotonic()
    s.sendall(p)
    took = time.monotonic() - t0
    s.shutdown(socket.SHUT_WR)
    _, _, ans = recv_all(s)
    want = "%d %s" % (n, hashlib.sha256(p).hexdigest())
    got = ans.decode(errors="replace").strip()
    print("ok %d (send took %.1f s)" % (n, took) if got == want else "server got '%s', want '%s'" % (got, want))


def cmd_slowread(host, port, n, pause):
    n = int(n)
    t = tag()
    fam, sa = resolve(host, int(port))
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(TIMEOUT)
    s.connect(sa)
    s.sendall(("%s %d\n" % (t, n)).encode())
    time.sleep(float(pause))
    got, sha, _ = recv_all(s)
    want = hashlib.sha256(payload(t, n)).hexdigest()
    print("ok %d" % got if (got, sha) == (n, want) else "got %d bytes, sha %s, want %s" % (got, sha, want))


def cmd_reset(host, port):
    s = dial(host, int(port))
    s.sendall(("%s\n" % tag()).encode())
    try:
        d = s.recv(4096)
        print("data" if d else "EOF")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(errname(e))


def cmd_writes(host, port, n):
    n = int(n)
    s = dial(host, int(port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(n):
        r = record(i)
        if s.send(r) != len(r):
            print("short send at %d" % i)
            return
    s.shutdown(socket.SHUT_WR)
    _, _, ans = recv_all(s)
    print(ans.decode(errors="replace").strip())


def main():
    global FAMILY
    args = sys.argv[1:]
    if args and args[0] in ("-4", "-6"):
        FAMILY = socket.AF_INET if args[0] == "-4" else socket.AF_INET6
        args = args[1:]
    signal.alarm(int(os.environ.get("TUN_CLIENT_ALARM", "60")))
    cmds = {"connect": cmd_connect, "many": cmd_many, "hc-client": cmd_hc_client,
            "hc-server": cmd_hc_server, "zerowin": cmd_zerowin, "slowread": cmd_slowread, "reset": cmd_reset,
            "writes": cmd_writes}
    try:
        cmds[args[0]](*args[1:])
    except (OSError, ValueError) as e:
        print("error: %s" % e)
        sys.exit(1)


main()

# SPDX-License-Identifier: MIT
# The client side of bench-load.sh: many streams to tests/net/tun-servers.py's
# echo server, each sending its own tag and reading it back, through tund's
# SOCKS5 entrance (the name resolved by the exit) or through the TUN (the
# name resolved by getaddrinfo, so by tund's DNS, to a fake address).
#
#   load.py ENTRANCE hold HOST PORT N SECS CMD
#       N streams open at once (at most OPENING handshakes in flight, so a
#       burst does not overflow listen backlogs), each echoed, then CMD runs
#       (its output printed as "during: ..."), then all close. Last line:
#       "N open, E echoed, T s" (+ errors by kind). SECS bounds the opening.
#   load.py ENTRANCE churn HOST PORT N CONC SECS
#       N short streams, CONC at a time: open, echo, close. Last line:
#       "N done, E echoed, R per s" (+ errors by kind).
#
# ENTRANCE is socks:ADDR:PORT or tun. Every wait has a timeout: a hang is a
# counted error, never a stall.
import asyncio
import ipaddress
import os
import resource
import socket
import subprocess
import sys
import time

OPENING = 512
STEP_TIMEOUT = 30
FAKE = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("fdfe:dcba:9876::/64"))


class Entrance:
    def __init__(self, spec, host, port):
        self.host, self.port = host, port
        if spec == "tun":
            self.socks = None
            ai = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
            a = ipaddress.ip_address(ai[0][4][0])
            if not any(a in n for n in FAKE):
                raise SystemExit("%s resolved to %s, not a fake address" % (host, a))
            self.addr = (str(a), port)
        elif spec.startswith("socks:"):
            h, p = spec[6:].rsplit(":", 1)
            self.socks = (h, int(p))
            self.addr = None
        else:
            raise SystemExit("entrance: socks:ADDR:PORT or tun, not " + spec)

    async def open(self):
        if self.socks is None:
            return await asyncio.open_connection(*self.addr)
        r, w = await asyncio.open_connection(*self.socks)
        name = self.host.encode()
        w.write(b"\x05\x01\x00" + b"\x05\x01\x00\x03" + bytes([len(name)]) + name + self.port.to_bytes(2, "big"))
        if await r.readexactly(2) != b"\x05\x00":
            raise ConnectionError("socks: method refused")
        head = await r.readexactly(4)
        if head[1] != 0:
            raise ConnectionError("socks: reply 0x%02x" % head[1])
        alen = {1: 4, 4: 16}.get(head[3])
        if alen is None:
            alen = (await r.readexactly(1))[0]
        await r.readexactly(alen + 2)
        return r, w


def count(errors, e):
    k = type(e).__name__ if not str(e).startswith("socks:") else str(e)
    errors[k] = errors.get(k, 0) + 1


async def echo_once(ent, i):
    """Opens a stream and echoes a tag through it; returns (r, w)."""
    r, w = await asyncio.wait_for(ent.open(), STEP_TIMEOUT)
    tag = b"tag-%d-%d-%d\n" % (os.getpid(), i, time.monotonic_ns())
    w.write(tag)
    got = await asyncio.wait_for(r.readexactly(len(tag)), STEP_TIMEOUT)
    if got != tag:
        w.close()
        raise ValueError("wrong echo")
    return r, w


def summary(errors):
    if not errors:
        return ""
    return " (%s)" % ", ".join("%s: %d" % kv for kv in sorted(errors.items()))


async def hold(ent, n, secs, cmd):
    gate = asyncio.Semaphore(OPENING)
    errors = {}
    held = []

    async def one(i):
        async with gate:
            try:
                held.append(await echo_once(ent, i))
            except Exception as e:  # every kind is counted, none is fatal
                count(errors, e)

    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    done, pending = await asyncio.wait(tasks, timeout=secs)
    for t in pending:
        t.cancel()
    if pending:
        errors["timed out"] = len(pending)
    took = time.monotonic() - t0
    if cmd:
        out = await asyncio.to_thread(subprocess.run, cmd, shell=True, capture_output=True, text=True, timeout=60)
        print("during:", out.stdout.strip().replace("\n", " | "), flush=True)
    for r, w in held:
        w.close()
    print("%d open, %d echoed, %.1f s%s" % (n, len(held), took, summary(errors)), flush=True)


async def churn(ent, n, conc, secs):
    errors = {}
    ok = 0
    todo = iter(range(n))

    async def worker():
        nonlocal ok
        for i in todo:
            try:
                r, w = await echo_once(ent, i)
                w.close()
                await asyncio.wait_for(w.wait_closed(), STEP_TIMEOUT)
                ok += 1
            except Exception as e:
                count(errors, e)

    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(worker()) for _ in range(conc)]
    done, pending = await asyncio.wait(tasks, timeout=secs)
    for t in pending:
        t.cancel()
    took = time.monotonic() - t0
    left = n - ok - sum(errors.values())
    if left > 0:
        errors["timed out"] = left
    print("%d done, %d echoed, %.0f per s%s" % (n, ok, ok / took if took else 0, summary(errors)), flush=True)


def main():
    a = sys.argv[1:]
    if len(a) < 5:
        raise SystemExit("usage: see the top of load.py")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ent = Entrance(a[0], a[2], int(a[3]))
    if a[1] == "hold" and len(a) == 7:
        asyncio.run(hold(ent, int(a[4]), float(a[5]), a[6]))
    elif a[1] == "churn" and len(a) == 7:
        asyncio.run(churn(ent, int(a[4]), int(a[5]), float(a[6])))
    else:
        raise SystemExit("usage: see the top of load.py")


if __name__ == "__main__":
    main()

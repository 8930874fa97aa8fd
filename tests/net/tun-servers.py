# SPDX-License-Identifier: MIT
# The TCP servers of t-tun.sh, in the inet namespace, each on every
# address given (an exit may connect to the name's IPv4 or IPv6 address):
#
#   BASE+0  echo: every byte back; EOF back at EOF. Logs "echo peak N"
#           each time the connections open at once fall back to 0 (N:
#           the most that were open at once since the last such line).
#   BASE+1  half-close by the client: reads "TAG N\n" and the rest until
#           EOF, then sends N bytes (payload(TAG, N)) and closes.
#   BASE+2  half-close by the server: reads "TAG\n", sends "ok\n" and
#           shuts its write side at once, then reads until EOF and logs
#           "hcs TAG LEN SHA256" of what came after the line.
#   BASE+3  zero window: a small receive buffer; reads "TAG\n", then
#           stops reading for PAUSE seconds, then reads until EOF and
#           answers "LEN SHA256\n" of what came after the line.
#   BASE+4  reset: reads "TAG\n", then closes with SO_LINGER 0 (RST).
#   BASE+5  ordered writes: reads until EOF, answers "N ok" when the
#           bytes are exactly the messages record(0..N-1), else "bad at I".
#   BASE+6  source: reads "TAG N\n", sends payload(TAG, N) and closes.
#
# Usage: tun-servers.py LOG BASE_PORT PAUSE ADDR... ("ready" on stdout once
# every listener is up). tun-client.py holds payload() and record().
import asyncio
import hashlib
import random
import resource
import socket
import struct
import sys

LOG = None


def log(line):
    LOG.write(line + "\n")
    LOG.flush()


def payload(tag, n):
    return random.Random(tag).randbytes(n)


def record(i):
    return b"%031d\n" % i


async def readline(r):
    try:
        return (await r.readuntil(b"\n"))[:-1].decode()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, UnicodeDecodeError):
        return None


async def drain_all(r):
    h = hashlib.sha256()
    n = 0
    while True:
        d = await r.read(65536)
        if not d:
            return n, h.hexdigest()
        h.update(d)
        n += len(d)


class Echo:
    def __init__(self):
        self.open = 0
        self.peak = 0

    async def __call__(self, r, w):
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            while True:
                d = await r.read(65536)
                if not d:
                    break
                w.write(d)
                await w.drain()
            w.write_eof()
            await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()
            self.open -= 1
            if self.open == 0:
                log("echo peak %d" % self.peak)
                self.peak = 0


async def halfclose_client(r, w):
    try:
        line = await readline(r)
        if line is None:
            return
        tag, n = line.split()
        await drain_all(r)
        w.write(payload(tag, int(n)))
        await w.drain()
    except (ConnectionError, OSError, ValueError):
        pass
    finally:
        w.close()


async def halfclose_server(r, w):
    try:
        tag = await readline(r)
        if tag is None:
            return
        w.write(b"ok\n")
        await w.drain()
        w.write_eof()
        n, sha = await drain_all(r)
        log("hcs %s %d %s" % (tag, n, sha))
    except (ConnectionError, OSError) as e:
        log("hcs %s error %s" % (tag, e))
    finally:
        w.close()


def zero_window(pause):
    async def handler(r, w):
        try:
            tag = await readline(r)
            if tag is None:
                return
            # Not reading: the receive buffer fills and the window closes
            # (asyncio stops reading the socket past its own small limit).
            await asyncio.sleep(pause)
            n, sha = await drain_all(r)
            log("zw %s %d %s" % (tag, n, sha))
            w.write(b"%d %s\n" % (n, sha.encode()))
            await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()
    return handler


async def reset(r, w):
    tag = await readline(r)
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    log("rst %s" % tag)
    w.transport.abort()


async def ordered(r, w):
    try:
        data = b""
        chunks = []
        while True:
            d = await r.read(65536)
            if not d:
                break
            chunks.append(d)
        data = b"".join(chunks)
        n = len(data) // 32
        bad = None
        for i in range(n):
            if data[i * 32:(i + 1) * 32] != record(i):
                bad = i
                break
        if bad is None and len(data) % 32:
            bad = n
        w.write(("%d ok\n" % n if bad is None else "bad at %d of %d bytes\n" % (bad, len(data))).encode())
        await w.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        w.close()


async def source(r, w):
    try:
        line = await readline(r)
        if line is None:
            return
        tag, n = line.split()
        w.write(payload(tag, int(n)))
        await w.drain()
    except (ConnectionError, OSError, ValueError):
        pass
    finally:
        w.close()


def listener(addr, port, rcvbuf=0):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((addr, port))
    s.listen(4096)
    s.setblocking(False)
    return s


async def main():
    global LOG
    LOG = open(sys.argv[1], "a")
    base, pause = int(sys.argv[2]), float(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    echo = Echo()
    handlers = [(0, echo, 0), (1, halfclose_client, 0), (2, halfclose_server, 0),
                (3, zero_window(pause), 32768), (4, reset, 0), (5, ordered, 0),
                (6, source, 0)]
    servers = []
    for addr in sys.argv[4:]:
        for off, h, rcvbuf in handlers:
            servers.append(await asyncio.start_server(
                h, sock=listener(addr, base + off, rcvbuf), limit=32768))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())

# SPDX-License-Identifier: MIT
# tls-records.py PCAP PORT: the TLS records a relay listening on PORT sent
# in the capture (Ethernet, IPv4 or IPv6, TCP), for t-chain.sh's check of
# downstream record sizes. Of the connections from PORT, the one that
# carried the most bytes is taken; its stream is put back together by
# sequence number and walked record by record (the outer layer's headers
# are in clear). Prints one line: "records N, full F, at LEN: K" where
# full counts the records of at least 16000 bytes and LEN is the most
# common length among them (the header's length field), K how many.
import collections
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            _, _, incl, _ = struct.unpack(end + "IIII", h)
            yield f.read(incl)


def tcp_of(frame):
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if et == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        return ip[ihl:tot]
    if et == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        plen = struct.unpack("!H", ip[4:6])[0]
        return ip[40:40 + plen]
    return None


def main():
    port = int(sys.argv[2])
    segs = collections.defaultdict(dict)
    for fr in packets(sys.argv[1]):
        t = tcp_of(fr)
        if t is None or len(t) < 20:
            continue
        sport, dport, seq = struct.unpack("!HHI", t[:8])
        data = t[(t[12] >> 4) * 4:]
        if sport == port and data:
            segs[dport].setdefault(seq, data)
    if not segs:
        print("no stream from port %d" % port)
        return
    conn = max(segs.values(), key=lambda d: sum(len(x) for x in d.values()))
    seqs = sorted(conn)
    # Put the stream back together from its first segment on (sequence
    # numbers do not wrap in a capture this short).
    stream = bytearray()
    nxt = seqs[0]
    for s in seqs:
        d = conn[s]
        if s + len(d) <= nxt:
            continue
        if s > nxt:
            break  # a hole: stop at what is contiguous
        stream += d[nxt - s:]
        nxt = s + len(d)
    lens = []
    o = 0
    while o + 5 <= len(stream):
        n = struct.unpack("!H", stream[o + 3:o + 5])[0]
        if o + 5 + n > len(stream):
            break
        lens.append(n)
        o += 5 + n
    full = [n for n in lens if n >= 16000]
    top = collections.Counter(full).most_common(1)
    print("records %d, full %d, at %s: %s" % (len(lens), len(full),
                                             top[0][0] if top else "-", top[0][1] if top else 0))


if __name__ == "__main__":
    main()

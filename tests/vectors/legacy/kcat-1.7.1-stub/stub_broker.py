# Minimal Kafka 0.8-0.10 broker stub for capturing legacy produce frames:
# answers ApiVersions (as a 0.10.0 broker), Metadata v0 and Produce v0-2, and
# saves each Produce request frame (with its 4-byte size prefix) to OUTDIR.
# Usage: stub_broker.py PORT OUTDIR PREFIX  (see capture.sh). Test tooling only.
import socket, struct, sys, threading, os
port = int(sys.argv[1]); outdir = sys.argv[2]; prefix = sys.argv[3]
os.makedirs(outdir, exist_ok=True)
n = [0]
def s16(s): b = s.encode(); return struct.pack('>h', len(b)) + b
def handle(c):
    buf = b''
    while True:
        while len(buf) < 4:
            d = c.recv(65536)
            if not d: return
            buf += d
        size = struct.unpack('>i', buf[:4])[0]
        while len(buf) < 4 + size:
            d = c.recv(65536)
            if not d: return
            buf += d
        frame, buf = buf[:4 + size], buf[4 + size:]
        key, ver, corr = struct.unpack('>hhi', frame[4:12])
        cl = struct.unpack('>h', frame[12:14])[0]
        body = frame[14 + max(cl, 0):]
        if key == 3:
            # topics requested
            cnt = struct.unpack('>i', body[:4])[0]; p = 4; topics = []
            for _ in range(cnt):
                l = struct.unpack('>h', body[p:p+2])[0]; topics.append(body[p+2:p+2+l].decode()); p += 2 + l
            if not topics: topics = ['legacy']
            r = struct.pack('>i', 1) + struct.pack('>i', 0) + s16('127.0.0.1') + struct.pack('>i', port)
            r += struct.pack('>i', len(topics))
            for t in topics:
                r += struct.pack('>h', 0) + s16(t) + struct.pack('>i', 1)
                r += struct.pack('>hii', 0, 0, 0) + struct.pack('>ii', 1, 0) + struct.pack('>ii', 1, 0)
        elif key == 0:
            fn = os.path.join(outdir, '%s-Produce-v%d-%03d.bin' % (prefix, ver, n[0])); n[0] += 1
            open(fn, 'wb').write(frame)
            acks = struct.unpack('>h', body[:2])[0]
            p = 6; tc = struct.unpack('>i', body[p:p+4])[0]; p += 4
            r = struct.pack('>i', tc)
            for _ in range(tc):
                l = struct.unpack('>h', body[p:p+2])[0]; name = body[p+2:p+2+l].decode(); p += 2 + l
                pc = struct.unpack('>i', body[p:p+4])[0]; p += 4
                r += s16(name) + struct.pack('>i', pc)
                for _ in range(pc):
                    idx, rl = struct.unpack('>ii', body[p:p+8]); p += 8 + rl
                    r += struct.pack('>ihq', idx, 0, 0)
                    if ver >= 2: r += struct.pack('>q', -1)
            if ver >= 1: r += struct.pack('>i', 0)
            if acks == 0: continue
        elif key == 18:
            apis = [(0, 0, 2), (1, 0, 2), (2, 0, 0), (3, 0, 0), (8, 0, 2), (9, 0, 1), (10, 0, 0), (11, 0, 0), (12, 0, 0), (13, 0, 0), (14, 0, 0), (15, 0, 0), (16, 0, 0), (17, 0, 0), (18, 0, 3)]
            if ver >= 3:
                r = struct.pack('>h', 0) + bytes([len(apis) + 1])
                for a in apis: r += struct.pack('>hhh', *a) + b'\x00'
                r += struct.pack('>i', 0) + b'\x00'
            else:
                r = struct.pack('>h', 0) + struct.pack('>i', len(apis))
                for a in apis: r += struct.pack('>hhh', *a)
                if ver >= 1: r += struct.pack('>i', 0)
        else:
            print('unexpected api', key, ver, file=sys.stderr); return
        c.sendall(struct.pack('>i', 4 + len(r)) + struct.pack('>i', corr) + r)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port)); srv.listen(8)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()

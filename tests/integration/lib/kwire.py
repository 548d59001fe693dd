"""Kafka wire and on-disk formats in python3 stdlib, for tests that talk to the broker with
raw sockets or read its segment files:

- crc32c(data): CRC-32C (Castagnoli), as record batches v2 use.
- request(api_key, version, corr, body, client_id): a framed request, header v1
  (header v2 for flexible versions is request_v2()).
- Conn: a socket with send_frame / recv_frame / is_closed.
- build_batch(...): a record batch v2 (magic 2), uncompressed, with a correct CRC.
- parse_batches(data): batch headers of a .log segment's bytes.
"""

import socket
import struct
import time

# ---- CRC-32C ------------------------------------------------------------------------

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    tab = _CRC32C_TABLE
    for b in data:
        crc = tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---- primitive encoders ---------------------------------------------------------------

def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def read_uvarint(buf, pos):
    shift = 0
    v = 0
    while True:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7


def read_varint(buf, pos):
    v, pos = read_uvarint(buf, pos)
    return (v >> 1) ^ -(v & 1), pos


# ---- requests ---------------------------------------------------------------------

def request(api_key, version, corr, body=b"", client_id="samsa-itest"):
    """Frame = size + request header v1 (api_key, api_version, correlation_id, client_id)
    + body."""
    hdr = i16(api_key) + i16(version) + i32(corr) + string(client_id)
    return i32(len(hdr) + len(body)) + hdr + body


def request_v2(api_key, version, corr, body=b"", client_id="samsa-itest"):
    """Request header v2 (flexible versions): v1 + empty tagged fields."""
    hdr = i16(api_key) + i16(version) + i32(corr) + string(client_id) + uvarint(0)
    return i32(len(hdr) + len(body)) + hdr + body


API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA = 0, 1, 2, 3
API_API_VERSIONS, API_CREATE_TOPICS = 18, 19


class Conn:
    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def recv_frame(self, timeout=None):
        """One response frame's payload (without the size), or raises ConnectionError /
        socket.timeout."""
        size = struct.unpack(">i", self.recv_exact(4, timeout))[0]
        if size < 4 or size > 64 << 20:
            raise ValueError("response frame size %d" % size)
        return self.recv_exact(size, timeout)

    def wait_closed(self, timeout=5.0):
        """True when the peer closes (EOF or reset) within timeout, reading and discarding
        whatever it sends before; returns (closed, bytes_received)."""
        deadline = time.monotonic() + timeout
        got = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, got
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False, got
            except (ConnectionResetError, BrokenPipeError):
                return True, got
            if not chunk:
                return True, got
            got += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def api_versions_v0_parse(payload):
    """ApiVersions response v0 (also what a broker answers to an unsupported version):
    correlation_id, error_code, [api_key, min, max]. Returns (corr, err, {key: (min, max)})."""
    corr, err, n = struct.unpack(">ihi", payload[:10])
    if n < 0 or 10 + 6 * n > len(payload):
        raise ValueError("api_versions array count %d for %d bytes" % (n, len(payload)))
    apis = {}
    for k in range(n):
        key, lo, hi = struct.unpack(">hhh", payload[10 + 6 * k:16 + 6 * k])
        apis[key] = (lo, hi)
    return corr, err, apis


# ---- record batches v2 -------------------------------------------------------------

def record(offset_delta, value, key=None, ts_delta=0, headers=()):
    body = i8(0) + varint(ts_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + (varint(-1) if hv is None else varint(len(hv)) + hv)
    return varint(len(body)) + body


def build_batch(values, base_ts=None, keys=None, attributes=0, producer_id=-1, producer_epoch=-1,
                base_seq=-1, corrupt_crc=False, record_count=None, last_offset_delta=None):
    """An uncompressed v2 record batch of the given values (bytes). record_count and
    last_offset_delta override the header fields (to make invalid batches)."""
    if base_ts is None:
        base_ts = int(time.time() * 1000)
    recs = b"".join(record(k, v, None if keys is None else keys[k]) for k, v in enumerate(values))
    lod = len(values) - 1 if last_offset_delta is None else last_offset_delta
    cnt = len(values) if record_count is None else record_count
    after_crc = (i16(attributes) + i32(lod) + i64(base_ts) + i64(base_ts) + i64(producer_id)
                 + i16(producer_epoch) + i32(base_seq) + i32(cnt) + recs)
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    after_len = i32(0) + i8(2) + struct.pack(">I", crc) + after_crc  # leader epoch 0, magic 2
    return i64(0) + i32(len(after_len)) + after_len


BATCH_HEADER = 61


def parse_batches(data, check_crc=False):
    """Batch headers of a segment's bytes, in file order, as dicts with pos, base_offset,
    size (whole batch), magic, crc, crc_ok (None unless check_crc), attributes,
    last_offset_delta, record_count, max_timestamp. Stops at the first incomplete batch
    and reports its position in the last dict as {'torn_at': pos} if any bytes remain."""
    out = []
    pos = 0
    n = len(data)
    while pos + 12 <= n:
        base, blen = struct.unpack(">qi", data[pos:pos + 12])
        size = 12 + blen
        if blen < BATCH_HEADER - 12 or pos + size > n:
            break
        magic = data[pos + 16]
        crc = struct.unpack(">I", data[pos + 17:pos + 21])[0]
        attrs, lod, base_ts, max_ts = struct.unpack(">hiqq", data[pos + 21:pos + 43])
        count = struct.unpack(">i", data[pos + 57:pos + 61])[0]
        b = {"pos": pos, "base_offset": base, "size": size, "magic": magic, "crc": crc,
             "attributes": attrs, "last_offset_delta": lod, "record_count": count,
             "base_timestamp": base_ts, "max_timestamp": max_ts, "crc_ok": None}
        if check_crc:
            b["crc_ok"] = crc32c(data[pos + 21:pos + size]) == crc
        out.append(b)
        pos += size
    if pos < n:
        out.append({"torn_at": pos})
    return out


def segment_files(partition_dir, ext=".log"):
    """Segment files of a partition dir, sorted by base offset (their 20-digit names)."""
    import os
    names = sorted(f for f in os.listdir(partition_dir) if f.endswith(ext) and f[:-len(ext)].isdigit())
    return [os.path.join(partition_dir, f) for f in names]

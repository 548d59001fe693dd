"""Kafka wire and on-disk formats in python3 stdlib, for tests that talk to the broker with
raw sockets or read its segment files:

- crc32c(data): CRC-32C (Castagnoli), as record batches v2 use.
- request(api_key, version, corr, body, client_id): a framed request, header v1
  (header v2 for flexible versions is request_v2()).
- arr / carr / nbytes / topic_partitions: request arrays (classic and compact), bytes
  fields, the common [topic, [partition]] array.
- Conn: a socket with send / recv_frame / wait_closed.
- Reader: reads a response body field by field (classic and compact types), and the
  common [topic, [partition, error]] results array.
- Client: one connection with checked correlation ids; call(api, version, body,
  flexible) -> Reader; init_pid() (InitProducerId v1) and produce() (Produce v3).
- build_batch(...): a record batch v2 (magic 2), uncompressed, with a correct CRC.
- parse_batches(data): batch headers of a .log segment's (or a Fetch's) bytes;
  batch_records(batch): the records of one uncompressed batch.
"""

import socket
import struct
import time

from samsa_harness import TestFailure

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


def arr(items):
    """An array of already encoded items (classic: int32 count)."""
    return i32(len(items)) + b"".join(items)


def carr(items):
    """A compact array of already encoded items (uvarint count + 1)."""
    return uvarint(len(items) + 1) + b"".join(items)


def nbytes(b):
    """A bytes field (int32 length)."""
    return i32(len(b)) + b


def topic_partitions(parts, flexible=False):
    """The common request array [topic name, [partition index]] of {topic: [partition]};
    compact with empty tagged fields when flexible."""
    if flexible:
        return carr([compact_string(t) + carr([i32(p) for p in ps]) + uvarint(0) for t, ps in parts.items()])
    return arr([string(t) + arr([i32(p) for p in ps]) for t, ps in parts.items()])


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
API_API_VERSIONS, API_CREATE_TOPICS, API_INIT_PRODUCER_ID = 18, 19, 22


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


class Reader:
    """Reads a response body: fixed-width integers, (compact) strings and bytes, compact
    array counts, tagged fields. Reading past the end is a TestFailure."""

    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, n):
        if self.p + n > len(self.d):
            raise TestFailure("response truncated: %d bytes wanted at %d of %d" % (n, self.p, len(self.d)))
        v = self.d[self.p:self.p + n]
        self.p += n
        return v

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def str(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def uv(self):
        v, self.p = read_uvarint(self.d, self.p)
        return v

    def cstr(self):
        n = self.uv()
        return None if n == 0 else self.take(n - 1).decode()

    def carr(self):
        return self.uv() - 1

    def tags(self):
        for _ in range(self.uv()):
            self.uv()
            self.take(self.uv())

    def partition_errors(self, flexible=False):
        """The common results array [topic name, [partition index, error code]] as
        {(topic, partition): error}; compact with tagged fields when flexible."""
        out = {}
        for _ in range(self.carr() if flexible else self.i32()):
            t = self.cstr() if flexible else self.str()
            for _ in range(self.carr() if flexible else self.i32()):
                p = self.i32()
                out[(t, p)] = self.i16()
                if flexible:
                    self.tags()
            if flexible:
                self.tags()
        return out


class Client:
    """One connection to a broker, opened on first use (and again after close()), with
    correlation ids counted and checked."""

    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.addr = (host, port)
        self.timeout = timeout
        self.c = None
        self.corr = 0

    def close(self):
        if self.c:
            self.c.close()
            self.c = None

    def call(self, api, version, body, flexible=False):
        """Sends one request (header v2 when flexible) and returns a Reader at the start
        of the response body (past the response header's tagged fields when flexible;
        ApiVersions answers keep header v0)."""
        if self.c is None:
            self.c = Conn(*self.addr, timeout=self.timeout)
        self.corr += 1
        self.c.send((request_v2 if flexible else request)(api, version, self.corr, body))
        r = Reader(self.c.recv_frame(timeout=self.timeout))
        corr = r.i32()
        if corr != self.corr:
            raise TestFailure("correlation id %d, sent %d" % (corr, self.corr))
        if flexible and api != API_API_VERSIONS:
            r.tags()
        return r

    def init_pid(self, txn_id=None, timeout_ms=60000):
        """InitProducerId v1 -> (error, producer id, epoch)."""
        r = self.call(API_INIT_PRODUCER_ID, 1, string(txn_id) + i32(timeout_ms))
        r.i32()  # throttle
        return r.i16(), r.i64(), r.i16()

    def produce(self, topic, partition, records, txn_id=None, acks=-1):
        """Produce v3 of one partition's records -> (error, base offset); an answer for
        anything but exactly that partition is a TestFailure."""
        body = string(txn_id) + i16(acks) + i32(10000)
        body += arr([string(topic) + arr([i32(partition) + nbytes(records)])])
        r = self.call(API_PRODUCE, 3, body)
        got = []
        for _ in range(r.i32()):
            t = r.str()
            for _ in range(r.i32()):
                p, err, base = r.i32(), r.i16(), r.i64()
                r.i64()  # log append time
                got.append((t, p, err, base))
        if [g[:2] for g in got] != [(topic, partition)]:
            raise TestFailure("Produce v3 to %s-%d answered for %s" % (topic, partition, got))
        return got[0][2:]


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
    last_offset_delta, base_timestamp, max_timestamp, producer_id, producer_epoch,
    base_sequence, record_count. Stops at the first incomplete batch and reports its
    position in the last dict as {'torn_at': pos} if any bytes remain."""
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
        pid, epoch, seq, count = struct.unpack(">qhii", data[pos + 43:pos + 61])
        b = {"pos": pos, "base_offset": base, "size": size, "magic": magic, "crc": crc,
             "attributes": attrs, "last_offset_delta": lod, "record_count": count,
             "base_timestamp": base_ts, "max_timestamp": max_ts, "producer_id": pid,
             "producer_epoch": epoch, "base_sequence": seq, "crc_ok": None}
        if check_crc:
            b["crc_ok"] = crc32c(data[pos + 21:pos + size]) == crc
        out.append(b)
        pos += size
    if pos < n:
        out.append({"torn_at": pos})
    return out


def batch_records(batch):
    """[(offset, key, value)] of one uncompressed v2 batch (the bytes of the whole batch);
    a null key or value is None."""
    base = struct.unpack(">q", batch[:8])[0]
    count = struct.unpack(">i", batch[57:61])[0]
    pos = BATCH_HEADER
    out = []
    for _ in range(count):
        length, pos = read_varint(batch, pos)
        end = pos + length
        pos += 1  # attributes
        _, pos = read_varint(batch, pos)  # timestamp delta
        delta, pos = read_varint(batch, pos)
        klen, pos = read_varint(batch, pos)
        key = None if klen < 0 else batch[pos:pos + klen]
        pos += max(klen, 0)
        vlen, pos = read_varint(batch, pos)
        value = None if vlen < 0 else batch[pos:pos + vlen]
        out.append((base + delta, key, value))
        pos = end
    return out


def segment_files(partition_dir, ext=".log"):
    """Segment files of a partition dir, sorted by base offset (their 20-digit names)."""
    import os
    names = sorted(f for f in os.listdir(partition_dir) if f.endswith(ext) and f[:-len(ext)].isdigit())
    return [os.path.join(partition_dir, f) for f in names]

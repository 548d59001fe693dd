"""Checks of a partition's files on disk (Kafka's layout, DESIGN.md "Storage"):
<log.dirs>/<topic>-<partition>/<20-digit base offset>.log with .index and .timeindex."""

import os

import kwire
from samsa_harness import TestFailure, check

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def scan_partition(pdir, expect_records=None, codec=None, crc="sample", what=None):
    """Reads every segment of pdir and checks: names are 20-digit base offsets, each .log
    has a .index and a .timeindex, batches are magic 2, the first batch of a segment
    starts at the segment's base offset, each batch starts where the previous one ended
    (base offset contiguous), record_count == last_offset_delta + 1, no torn tail, the
    codec in the attributes (if codec is given), the CRC-32C (crc="all", "sample" = the
    first and last 20 batches, or None). Returns a summary dict."""
    what = what or os.path.basename(pdir)
    if not os.path.isdir(pdir):
        raise TestFailure("%s: no partition directory %s" % (what, pdir))
    logs = kwire.segment_files(pdir)
    check(len(logs) >= 1, "%s: %d segment file(s) in %s" % (what, len(logs), pdir))
    records = 0
    batches = 0
    codecs = {}  # codec -> records in batches of that codec
    next_offset = None
    bytes_on_disk = 0
    for path in logs:
        base = int(os.path.basename(path)[:20])
        for ext in (".index", ".timeindex"):
            sib = path[:-4] + ext
            if not os.path.exists(sib):
                raise TestFailure("%s: %s has no %s beside it" % (what, os.path.basename(path), ext))
        with open(path, "rb") as f:
            data = f.read()
        bytes_on_disk += len(data)
        hdrs = kwire.parse_batches(data)
        if hdrs and "torn_at" in hdrs[-1]:
            raise TestFailure("%s: %s has %d bytes at %d that are not a whole batch"
                              % (what, os.path.basename(path), len(data) - hdrs[-1]["torn_at"],
                                 hdrs[-1]["torn_at"]))
        if next_offset is not None and hdrs and base != next_offset:
            raise TestFailure("%s: segment %s named %d but the previous segment ended at %d"
                              % (what, os.path.basename(path), base, next_offset))
        for k, h in enumerate(hdrs):
            if k == 0 and h["base_offset"] != base:
                raise TestFailure("%s: %s starts with a batch at offset %d"
                                  % (what, os.path.basename(path), h["base_offset"]))
            if next_offset is not None and h["base_offset"] != next_offset:
                raise TestFailure("%s: batch at %s:%d has base offset %d, expected %d"
                                  % (what, os.path.basename(path), h["pos"], h["base_offset"],
                                     next_offset))
            if h["magic"] != 2:
                raise TestFailure("%s: batch at %s:%d has magic %d"
                                  % (what, os.path.basename(path), h["pos"], h["magic"]))
            if h["record_count"] != h["last_offset_delta"] + 1:
                raise TestFailure("%s: batch at offset %d: %d records, last offset delta %d"
                                  % (what, h["base_offset"], h["record_count"],
                                     h["last_offset_delta"]))
            codecs[h["attributes"] & 7] = codecs.get(h["attributes"] & 7, 0) + h["record_count"]
            want_crc = crc == "all" or (crc == "sample" and (batches < 20 or k >= len(hdrs) - 20))
            if want_crc:
                got = kwire.crc32c(data[h["pos"] + 21:h["pos"] + h["size"]])
                if got != h["crc"]:
                    raise TestFailure("%s: batch at offset %d fails its CRC-32C (stored %08x, "
                                      "computed %08x)" % (what, h["base_offset"], h["crc"], got))
            next_offset = h["base_offset"] + h["last_offset_delta"] + 1
            records += h["record_count"]
            batches += 1
    log_end = next_offset if next_offset is not None else 0
    summary = {"segments": len(logs), "batches": batches, "records": records, "codecs": codecs,
               "log_end": log_end, "bytes": bytes_on_disk}
    check(True, "%s on disk: %d segment(s), %d batches, %d records, %d bytes, contiguous "
          "offsets 0..%d, magic 2, whole batches, CRC-32C %s"
          % (what, len(logs), batches, records, bytes_on_disk, log_end - 1,
             {"all": "of every batch", "sample": "of first/last batches", None: "not checked"}[crc]))
    if expect_records is not None:
        check(records == expect_records and log_end == expect_records,
              "%s: %d records stored" % (what, expect_records), (records, log_end))
    if codec is not None:
        want = CODECS[codec]
        # a client may send a batch uncompressed when compressing would not make it smaller
        other = {c: n for c, n in codecs.items() if c not in (want, 0)}
        share = codecs.get(want, 0) / max(records, 1)
        check(not other and (share >= 0.9 or want == 0),
              "%s: batches stored with codec %s (attributes & 7 == %d) hold %.1f%% of the records, the "
              "rest uncompressed (records per codec: %s)" % (what, codec, want, 100 * share, codecs),
              "records per codec %s" % codecs)
    return summary

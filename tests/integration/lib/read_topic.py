#!/usr/bin/python3
"""Prints every record of a topic (or of the partitions named) as JSON lines, read with
confluent-kafka-python through assign() from offset 0 to the high watermark:
  read_topic.py <bootstrap> <topic> [partition ...]
  {"partition": 0, "offset": 0, "key": "k", "value": "v", "headers": [["h", "v"]],
   "timestamp_type": 1, "timestamp": 1700000000000}
Keys, values and header values are decoded as UTF-8 (null stays null). Exits non-zero
with a message on stderr when the read fails (gap, stall, consume error)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kclient  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402
from samsa_harness import TestFailure  # noqa: E402


def dec(b):
    return None if b is None else b.decode("utf-8", errors="replace")


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        parts = [int(x) for x in sys.argv[3:]]
    else:
        md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=20)
        tm = md.topics.get(topic)
        if tm is None or tm.error is not None:
            print("read_topic: topic %s: %s" % (topic, tm and tm.error), file=sys.stderr)
            return 1
        parts = sorted(tm.partitions)
    try:
        for p in parts:
            for m in kclient.read_partition(bootstrap, topic, p):
                ts_type, ts = m.timestamp()
                print(json.dumps({"partition": p, "offset": m.offset(), "key": dec(m.key()),
                                  "value": dec(m.value()),
                                  "headers": [[k, dec(v)] for k, v in (m.headers() or [])],
                                  "timestamp_type": ts_type, "timestamp": ts}))
    except TestFailure as e:
        print("read_topic: %s" % e, file=sys.stderr)
        return 1
    return 0


sys.exit(main())

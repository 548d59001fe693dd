#!/usr/bin/python3
"""`samsa group list|describe|delete|reset-offsets` against a real broker, with a
confluent-kafka-python consumer group:
  - a consumer subscribes to a 3-partition topic, reads all 30 records and commits
    10, 7 and 4; list shows the group Stable, describe shows the member (client id,
    host, its assignment decoded from the ConsumerProtocolAssignment bytes) and per
    partition the committed offset, the log end offset and the lag (0, 3, 6);
  - while the consumer is active, reset-offsets and delete refuse (exit 1, saying why);
  - after it closes, reset-offsets --to-earliest is a dry run without --execute, and
    commits 0 with it; a new consumer of the group then re-reads every partition from
    offset 0; --to-offset (one partition, clamped past the end) and --to-datetime
    (record timestamps) land where they should;
  - delete removes the group; usage errors exit 2, broker errors exit 1."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from kclient import create_topic  # noqa: E402
from samsa_harness import SAMSA, Broker, TestFailure, check, log, main, run  # noqa: E402

TOPIC = "cli-orders"
GROUP = "billing"
PARTITIONS = 3
PER_PARTITION = 10
T0 = 1700000000000  # record timestamps: T0 + i s for the i-th record of each partition


def samsa_group(b, *args, expect_rc=0):
    cp = run([SAMSA, "group", *args, "--bootstrap-server", b.bootstrap], timeout=60, check_rc=False)
    check(cp.returncode == expect_rc, "samsa group %s exits %d" % (" ".join(args), expect_rc),
          (cp.returncode, cp.stdout, cp.stderr))
    return cp


def offsets_table(stdout):
    """describe's per-partition rows: {partition: (current, log_end, lag, consumer, host, client)}."""
    rows = {}
    lines = stdout.splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith("GROUP ") and "LOG-END-OFFSET" in line]
    if not header:
        return rows
    for line in lines[header[0] + 1:]:
        f = line.split()
        if len(f) != 9 or f[1] != TOPIC:
            continue
        rows[int(f[2])] = tuple(f[3:])
    return rows


def reset_table(stdout):
    """reset-offsets rows: {partition: (previous, new)}."""
    rows = {}
    for line in stdout.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == GROUP and f[1] == TOPIC:
            rows[int(f[2])] = (f[3], f[4])
    return rows


def new_consumer(b, client_id, reset):
    return Consumer({
        "bootstrap.servers": b.bootstrap,
        "group.id": GROUP,
        "client.id": client_id,
        "enable.auto.commit": False,
        "auto.offset.reset": reset,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 500,
    })


def consume_all(c, n, timeout=60):
    got = []
    t0 = time.monotonic()
    while len(got) < n:
        if time.monotonic() - t0 > timeout:
            raise TestFailure("consumed %d of %d records in %d s" % (len(got), n, timeout))
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise TestFailure("consumer error: %s" % m.error())
        got.append(m)
    return got


def wait_state(b, state, timeout=30):
    t0 = time.monotonic()
    while True:
        cp = run([SAMSA, "group", "describe", GROUP, "--bootstrap-server", b.bootstrap], check_rc=False)
        if "State: %s\t" % state in cp.stdout:
            return cp
        if time.monotonic() - t0 > timeout:
            raise TestFailure("group %s not %s within %d s: %s %s" % (GROUP, state, timeout, cp.stdout, cp.stderr))
        time.sleep(0.2)


def test(t):
    with Broker(t, config={"group.initial.rebalance.delay.ms": "0"}) as b:
        create_topic(b.bootstrap, TOPIC, PARTITIONS)
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        for part in range(PARTITIONS):
            for i in range(PER_PARTITION):
                p.produce(TOPIC, key=b"k%d" % i, value=b"p%d-%d" % (part, i), partition=part,
                          timestamp=T0 + i * 1000)
        check(p.flush(30) == 0, "30 records produced over 3 partitions")
        del p

        cp = samsa_group(b, "list")
        check(cp.stdout.split() == ["GROUP", "STATE", "PROTOCOL-TYPE"], "no groups yet: list shows the header",
              cp.stdout)

        # ---- an active consumer that committed 10, 7, 4
        c = new_consumer(b, "billing-svc", "earliest")
        c.subscribe([TOPIC])
        got = consume_all(c, PARTITIONS * PER_PARTITION)
        check(len(got) == 30, "the consumer read all 30 records")
        committed = {0: 10, 1: 7, 2: 4}
        c.commit(offsets=[TopicPartition(TOPIC, part, off) for part, off in committed.items()],
                 asynchronous=False)

        cp = samsa_group(b, "list")
        check(re.search(r"^billing\s+Stable\s+consumer$", cp.stdout, re.M),
              "list: billing, Stable, protocol type consumer", cp.stdout)
        cp = samsa_group(b, "list", "--state", "Empty")
        check("billing" not in cp.stdout, "list --state Empty leaves out the Stable group", cp.stdout)

        cp = samsa_group(b, "describe", GROUP)
        log(cp.stdout)
        check(re.search(r"^Group: billing\tState: Stable\tProtocolType: consumer\tProtocol: \S+\tMembers: 1$",
                        cp.stdout, re.M), "describe: state Stable, 1 member, a protocol", cp.stdout)
        members = [line.split() for line in cp.stdout.splitlines() if line.startswith("billing-svc")]
        check(len(members) == 1, "one member row", cp.stdout)
        member_id, instance, client_id, host, assignment = members[0]
        check(client_id == "billing-svc" and host.endswith("127.0.0.1"),
              "the member's client id and host", members[0])
        check(assignment == "%s:0,1,2" % TOPIC, "its assignment decoded: every partition", assignment)
        rows = offsets_table(cp.stdout)
        check(sorted(rows) == [0, 1, 2], "a row per partition", cp.stdout)
        for part, off in committed.items():
            check(rows[part][:3] == (str(off), "10", str(10 - off)),
                  "partition %d: committed %d, log end 10, lag %d" % (part, off, 10 - off), rows[part])
            check(rows[part][3] == member_id and rows[part][5] == "billing-svc",
                  "partition %d is shown with its consumer" % part, rows[part])

        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, "--to-earliest", "--execute", expect_rc=1)
        check("active member" in cp.stderr and "Stable" in cp.stderr,
              "reset-offsets refuses while the group has an active member", cp.stderr)
        cp = samsa_group(b, "delete", GROUP, expect_rc=1)
        check("NON_EMPTY_GROUP" in cp.stderr and "active members" in cp.stderr,
              "delete of an active group: NON_EMPTY_GROUP, explained", cp.stderr)

        # ---- the consumer closes (LeaveGroup): the group is Empty, offsets kept
        c.close()
        cp = wait_state(b, "Empty")
        check("has no active members" in cp.stdout, "after close: Empty, no active members", cp.stdout)
        rows = offsets_table(cp.stdout)
        check([rows[p][:3] for p in range(3)] == [("10", "10", "0"), ("7", "10", "3"), ("4", "10", "6")]
              and all(r[3] == "-" for r in rows.values()),
              "the committed offsets and lags stay, with no consumer", rows)

        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, "--to-earliest")
        check(reset_table(cp.stdout) == {0: ("10", "0"), 1: ("7", "0"), 2: ("4", "0")},
              "reset-offsets without --execute shows the plan", cp.stdout)
        check("dry run" in cp.stderr, "and says it is a dry run", cp.stderr)
        rows = offsets_table(samsa_group(b, "describe", GROUP).stdout)
        check(rows[1][0] == "7", "a dry run commits nothing", rows)

        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, "--to-earliest", "--execute")
        check(reset_table(cp.stdout) == {0: ("10", "0"), 1: ("7", "0"), 2: ("4", "0")}
              and "Committed 3 offsets" in cp.stdout, "reset-offsets --to-earliest --execute commits 0", cp.stdout)
        rows = offsets_table(samsa_group(b, "describe", GROUP).stdout)
        check(all(rows[p][:3] == ("0", "10", "10") for p in range(3)), "describe: committed 0, lag 10", rows)

        # ---- a new consumer of the group re-reads from 0
        c = new_consumer(b, "billing-svc-2", "latest")  # so offset 0 can only come from the commit
        c.subscribe([TOPIC])
        got = consume_all(c, PARTITIONS * PER_PARTITION)
        first = {}
        for m in got:
            first.setdefault(m.partition(), m.offset())
        check(first == {0: 0, 1: 0, 2: 0} and len({(m.partition(), m.offset()) for m in got}) == 30,
              "a new consumer re-reads every partition from offset 0", first)
        c.close()
        wait_state(b, "Empty")

        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC + ":1", "--to-offset", "5", "--execute")
        check(reset_table(cp.stdout) == {1: ("0", "5")}, "--to-offset 5 on partition 1 only", cp.stdout)
        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, "--partition", "2", "--to-offset", "99",
                         "--execute")
        check(reset_table(cp.stdout) == {2: ("0", "10")} and "past the log end" in cp.stderr,
              "--to-offset past the end is clamped to the log end, with a warning", (cp.stdout, cp.stderr))
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((T0 + 4000) // 1000)) + ".500Z"
        cp = samsa_group(b, "reset-offsets", GROUP, "--all-topics", "--to-datetime", when, "--execute")
        check({p: r[1] for p, r in reset_table(cp.stdout).items()} == {0: "5", 1: "5", 2: "5"},
              "--to-datetime %s: the first record at or after it (offset 5)" % when, cp.stdout)
        cp = samsa_group(b, "reset-offsets", GROUP, "--all-topics", "--to-datetime", "2100-01-01T00:00:00+01:00",
                         "--dry-run")
        check({p: r[1] for p, r in reset_table(cp.stdout).items()} == {0: "10", 1: "10", 2: "10"},
              "--to-datetime after the last record: the log end", cp.stdout)
        cp = samsa_group(b, "reset-offsets", GROUP, "--all-topics", "--to-latest", "--execute")
        rows = offsets_table(samsa_group(b, "describe", GROUP).stdout)
        check(all(rows[p][:3] == ("10", "10", "0") for p in range(3)), "--to-latest: lag 0 everywhere", rows)

        # ---- errors
        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", "missing", "--to-earliest", expect_rc=1)
        check("UNKNOWN_TOPIC_OR_PARTITION" in cp.stderr, "reset on a missing topic fails", cp.stderr)
        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC + ":7", "--to-earliest", expect_rc=1)
        check("no partition 7" in cp.stderr, "reset on a missing partition fails", cp.stderr)
        samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, expect_rc=2)
        samsa_group(b, "reset-offsets", GROUP, "--to-earliest", expect_rc=2)
        samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, "--to-latest", "--to-earliest", expect_rc=2)
        samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, "--to-latest", "--dry-run", "--execute",
                    expect_rc=2)
        cp = samsa_group(b, "reset-offsets", GROUP, "--topic", TOPIC, "--to-datetime", "yesterday", expect_rc=2)
        check("--to-datetime takes" in cp.stderr, "a bad --to-datetime names the format", cp.stderr)
        samsa_group(b, "describe", expect_rc=2)
        samsa_group(b, "frobnicate", expect_rc=2)
        cp = samsa_group(b, "describe", "no-such-group", expect_rc=1)
        check("does not exist" in cp.stderr, "describing a missing group: does not exist", cp.stderr)

        # ---- delete
        cp = samsa_group(b, "delete", GROUP)
        check("Deleted consumer group 'billing'" in cp.stdout, "delete reports the group", cp.stdout)
        cp = samsa_group(b, "list")
        check("billing" not in cp.stdout, "the group is gone from the list", cp.stdout)
        samsa_group(b, "describe", GROUP, expect_rc=1)
        cp = samsa_group(b, "delete", GROUP, expect_rc=1)
        check("GROUP_ID_NOT_FOUND" in cp.stderr, "deleting it again: GROUP_ID_NOT_FOUND", cp.stderr)

    cp = run([SAMSA, "group", "list", "--bootstrap-server", "127.0.0.1:1"], check_rc=False)
    check(cp.returncode == 1 and "cannot connect" in cp.stderr, "no broker: a clear error, exit 1", cp.stderr)
    log("samsa group: list/describe/delete/reset-offsets and their errors behave")


main(test)

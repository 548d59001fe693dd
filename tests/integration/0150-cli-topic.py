#!/usr/bin/python3
"""`samsa topic create|list|describe|delete` against a real broker: the topic
appears with its partitions and config, errors come back as Kafka's error names
with their messages and a non-zero exit code, and deletion removes it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import SAMSA, Broker, check, log, main, run  # noqa: E402


def samsa_topic(b, *args, expect_rc=0):
    cp = run([SAMSA, "topic", *args, "--bootstrap-server", b.bootstrap], timeout=60, check_rc=False)
    check(cp.returncode == expect_rc, "samsa topic %s exits %d" % (" ".join(args), expect_rc),
          (cp.returncode, cp.stdout, cp.stderr))
    return cp


def test(t):
    with Broker(t) as b:
        cp = samsa_topic(b, "create", "payments", "--partitions", "6", "--config", "retention.ms=86400000",
                         "--config", "cleanup.policy=compact")
        check("Created topic payments" in cp.stdout, "create reports the topic", cp.stdout)
        check(os.path.isdir(b.partition_dir("payments", 5)), "partition directory payments-5 exists")
        check(not os.path.exists(b.partition_dir("payments", 6)), "no seventh partition")

        samsa_topic(b, "create", "audit")
        cp = samsa_topic(b, "list")
        check(cp.stdout.split() == ["audit", "payments"], "list shows both topics, sorted", cp.stdout)

        cp = samsa_topic(b, "describe", "payments")
        lines = [line for line in cp.stdout.splitlines() if "Partition:" in line]
        check(len(lines) == 6, "describe shows 6 partitions", cp.stdout)
        check(all("Leader: 1" in line and "Replicas: 1" in line for line in lines),
              "every partition is led by node 1", cp.stdout)
        check("PartitionCount: 6" in cp.stdout, "describe shows the partition count", cp.stdout)

        cp = samsa_topic(b, "create", "payments", expect_rc=1)
        check("TOPIC_ALREADY_EXISTS" in cp.stderr, "creating it again: TOPIC_ALREADY_EXISTS", cp.stderr)
        cp = samsa_topic(b, "create", "replicated", "--replication-factor", "3", expect_rc=1)
        check("INVALID_REPLICATION_FACTOR" in cp.stderr and "larger than available brokers: 1" in cp.stderr,
              "replication factor 3 on one node: INVALID_REPLICATION_FACTOR with Kafka's message", cp.stderr)
        cp = samsa_topic(b, "create", "badconf", "--config", "retention.ms=soon", expect_rc=1)
        check("INVALID_CONFIG" in cp.stderr and "retention.ms" in cp.stderr,
              "a non-numeric retention.ms: INVALID_CONFIG naming the key", cp.stderr)
        cp = samsa_topic(b, "create", "bad/name", expect_rc=1)
        check("INVALID_TOPIC_EXCEPTION" in cp.stderr, "an illegal name: INVALID_TOPIC_EXCEPTION", cp.stderr)
        cp = samsa_topic(b, "describe", "missing", expect_rc=1)
        check("UNKNOWN_TOPIC_OR_PARTITION" in cp.stderr, "describing a missing topic fails", cp.stderr)
        cp = samsa_topic(b, "list")
        check(cp.stdout.split() == ["audit", "payments"], "failed creations created nothing", cp.stdout)

        cp = samsa_topic(b, "delete", "payments")
        check("Deleted topic payments" in cp.stdout, "delete reports the topic", cp.stdout)
        cp = samsa_topic(b, "list")
        check(cp.stdout.split() == ["audit"], "payments is gone from the list", cp.stdout)
        check(not os.path.exists(b.partition_dir("payments", 0)), "its data directory is removed")
        cp = samsa_topic(b, "delete", "payments", expect_rc=1)
        check("UNKNOWN_TOPIC_OR_PARTITION" in cp.stderr, "deleting it again: UNKNOWN_TOPIC_OR_PARTITION",
              cp.stderr)

        b.restart()
        cp = samsa_topic(b, "list")
        check(cp.stdout.split() == ["audit"], "topics survive a restart", cp.stdout)

    cp = run([SAMSA, "topic", "list", "--bootstrap-server", "127.0.0.1:1"], check_rc=False)
    check(cp.returncode == 1 and "cannot connect" in cp.stderr, "no broker: a clear error", cp.stderr)
    log("samsa topic: create/list/describe/delete and their errors behave")


main(test)

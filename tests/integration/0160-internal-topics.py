#!/usr/bin/python3
"""__consumer_offsets belongs to the broker: once a group commits, it exists,
Metadata marks it internal, and a client's produce to it is refused with
INVALID_TOPIC_EXCEPTION, leaving the committed offsets intact."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import Broker, TestFailure, check, log, main  # noqa: E402
import kclient  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402


def test(t):
    with Broker(t) as b:
        kclient.create_topic(b.bootstrap, "orders", 1)
        kclient.produce_one(b.bootstrap, "orders", b"o1")
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g", "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition("orders", 0, 1)], asynchronous=False)
        md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
        check("__consumer_offsets" in md.topics, "__consumer_offsets exists after a commit", sorted(md.topics))
        try:
            kclient.produce_one(b.bootstrap, "__consumer_offsets", b"junk", partition=0)
            err = None
        except TestFailure as e:
            err = str(e)
        check(err is not None and "invalid topic" in err.lower(),
              "producing to __consumer_offsets is refused (INVALID_TOPIC_EXCEPTION)", err)
        got = c.committed([TopicPartition("orders", 0)], timeout=10)
        check(got[0].offset == 1, "the committed offset is intact", got)
        c.close()
    log("the internal offsets topic is the broker's alone")


main(test)

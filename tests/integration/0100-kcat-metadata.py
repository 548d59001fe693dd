#!/usr/bin/python3
"""kcat -L lists the broker (node id, host:port, controller) and the topics created:
two made with CreateTopics (1 and 3 partitions) and one auto-created by producing to it
(num.partitions=2), each partition led by this broker."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import MOCK, Broker, check, log, main, run  # noqa: E402
import kclient  # noqa: E402

NODE_ID = 1 if MOCK else 7


def test(t):
    topics = {"itest-one": 1, "itest-three": 3}
    with Broker(t, config={"node.id": NODE_ID, "num.partitions": 2},
                mock_topics=["itest-one:1", "itest-three:3", "itest-auto:2"]) as b:
        for name, n in topics.items():
            kclient.create_topic(b.bootstrap, name, n)
        # auto-creation: a producer's metadata request for an unknown topic
        run(["kcat", "-b", b.bootstrap, "-P", "-t", "itest-auto", "-X", "acks=all"],
            input="hello\n", timeout=60)
        topics["itest-auto"] = 2
        log("created topics %s" % topics)
        hws = [kclient.watermarks(b.bootstrap, "itest-auto", p)[1] for p in range(2)]
        check(sum(hws) == 1, "the record kcat produced to the auto-created topic is there", hws)

        cp = run(["kcat", "-b", b.bootstrap, "-L", "-J", "-m", "15"], timeout=30)
        md = json.loads(cp.stdout)
        brokers = [(x["id"], x["name"]) for x in md["brokers"]]
        check(brokers == [(NODE_ID, b.bootstrap)], "kcat -L -J: exactly one broker, id %d at %s"
              % (NODE_ID, b.bootstrap), brokers)
        check(MOCK or md.get("controllerid") == NODE_ID, "controller id is this broker (%d)" % NODE_ID,
              md.get("controllerid"))
        listed = {x["topic"]: x for x in md["topics"]}
        for name, n in topics.items():
            check(name in listed, "topic %s listed" % name, sorted(listed))
            tp = listed[name]
            check(not tp.get("error"), "topic %s has no error" % name, tp.get("error"))
            parts = sorted(p["partition"] for p in tp["partitions"])
            check(parts == list(range(n)), "topic %s has partitions 0..%d" % (name, n - 1), parts)
            leaders = {p["leader"] for p in tp["partitions"]}
            check(leaders == {NODE_ID}, "every partition of %s led by broker %d" % (name, NODE_ID),
                  leaders)
            for p in tp["partitions"]:
                reps = [r["id"] for r in p.get("replicas", [])]
                isrs = [r["id"] for r in p.get("isrs", [])]
                check(reps == [NODE_ID] and isrs == [NODE_ID],
                      "%s-%d replicas and ISR are [%d]" % (name, p["partition"], NODE_ID),
                      (reps, isrs))
        internal = [n for n in listed if n.startswith("__")]
        log("topics listed: %s (internal: %s)" % (sorted(listed), internal))
        extra = set(listed) - set(topics) - set(internal)
        check(not extra, "no topics listed beyond those created", extra)

        # the human-readable listing, as a user reads it
        cp = run(["kcat", "-b", b.bootstrap, "-L"], timeout=30)
        text = cp.stdout
        log(text.rstrip())
        check(re.search(r"^\s*1 brokers:\s*$", text, re.M), "kcat -L: '1 brokers:'")
        check(re.search(r"broker %d at %s(?: \(controller\))?\s*$" % (NODE_ID, re.escape(b.bootstrap)),
                        text, re.M), "kcat -L: 'broker %d at %s'" % (NODE_ID, b.bootstrap))
        check(MOCK or re.search(r"broker %d at %s \(controller\)" % (NODE_ID, re.escape(b.bootstrap)), text),
              "kcat -L marks broker %d as the controller" % NODE_ID)
        for name, n in topics.items():
            check(re.search(r'topic "%s" with %d partitions:' % (name, n), text),
                  'kcat -L: topic "%s" with %d partitions' % (name, n))

        # one topic only
        cp = run(["kcat", "-b", b.bootstrap, "-L", "-J", "-t", "itest-three"], timeout=30)
        md = json.loads(cp.stdout)
        names = [x["topic"] for x in md["topics"]]
        check(names == ["itest-three"], "kcat -L -t itest-three lists only that topic", names)


main(test)

#!/usr/bin/python3
"""Configuration comes from a properties file, KAFKA_* environment variables
(mapped as Kafka's container images map them) and --set, later ones winning:
the effective values show in what the broker does (partition counts of
auto-created topics, auto-creation on or off, the advertised address in
Metadata, message.max.bytes), and a bad value stops start-up with a message."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from samsa_harness import SAMSA, Broker, TestFailure, check, free_port, log, main, run  # noqa: E402
import kclient  # noqa: E402


def metadata(b, topic=None):
    cmd = ["kcat", "-b", b.bootstrap, "-L", "-J", "-m", "10"] + (["-t", topic] if topic else [])
    return json.loads(run(cmd, timeout=30).stdout)


def partitions_of(b, topic):
    md = metadata(b, topic)
    return [len(t["partitions"]) for t in md["topics"] if t["topic"] == topic and not t.get("error")]


def test(t):
    props = os.path.join(t.tmpdir("conf"), "server.properties")
    with open(props, "w") as f:
        f.write("# a Kafka-style properties file\n"
                "num.partitions = 2\n"
                "auto.create.topics.enable: true\n"
                "message.max.bytes=2000\n"
                "some.unknown.kafka.key=kept\n")

    # file only: auto-created topics get 2 partitions, batches over 2000 bytes are refused
    with Broker(t, "file", extra_args=[props]) as b:
        kclient.produce_one(b.bootstrap, "from-file", b"x")
        check(partitions_of(b, "from-file") == [2], "num.partitions=2 from the properties file")
        try:
            kclient.produce_one(b.bootstrap, "from-file", b"y" * 5000, partition=0)
            err = None
        except TestFailure as e:
            err = str(e)
        check(err is not None and "too large" in err.lower(),
              "message.max.bytes=2000 from the file refuses a 5 kB record", err)

    # env overrides the file, --set overrides env
    port = free_port()
    env = {"KAFKA_NUM_PARTITIONS": "3", "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://127.0.0.1:%d" % port,
           "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false"}
    with Broker(t, "env", extra_args=[props], env=env, port=port) as b:
        md = metadata(b)
        check([x["name"] for x in md["brokers"]] == [b.bootstrap],
              "KAFKA_ADVERTISED_LISTENERS is what Metadata advertises", md["brokers"])
        cp = run(["kcat", "-b", b.bootstrap, "-L", "-J", "-t", "nope"], timeout=30, check_rc=False)
        check("nope" not in [x["topic"] for x in json.loads(cp.stdout)["topics"] if not x.get("error")],
              "KAFKA_AUTO_CREATE_TOPICS_ENABLE=false: no auto-creation", cp.stdout[-300:])
        run([SAMSA, "topic", "create", "env-topic", "--bootstrap-server", b.bootstrap], timeout=30)
        check(partitions_of(b, "env-topic") == [3], "KAFKA_NUM_PARTITIONS=3 beats the file's 2")
    with Broker(t, "set", extra_args=[props], env=env, config={"num.partitions": 5}) as b:
        run([SAMSA, "topic", "create", "set-topic", "--bootstrap-server", b.bootstrap], timeout=30)
        check(partitions_of(b, "set-topic") == [5], "--set num.partitions=5 beats the environment")

    cp = subprocess.run([SAMSA, "serve", "--set", "num.partitions=many", "--set", "log.dirs=%s" % t.tmpdir("bad")],
                        capture_output=True, text=True, timeout=30)
    check(cp.returncode != 0 and "num.partitions" in cp.stderr, "a bad value stops start-up naming the key",
          (cp.returncode, cp.stderr[-300:]))
    log("properties file, KAFKA_* environment and --set all apply, in that order")


main(test)

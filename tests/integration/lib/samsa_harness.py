"""Starts and stops a real samsa broker for one integration test (python3 stdlib only).

A test does:

    from samsa_harness import Broker, check, main
    def test(t):
        with Broker(t, "single", config={"num.partitions": "3"}) as broker:
            ... broker.bootstrap ...          # "127.0.0.1:<port>"
            broker.kill9(); broker.start()    # same data dir, same port
            check(x == y, "what was checked")
    main(test)

Broker:
- picks a free port on 127.0.0.1 and makes a data dir under $TMPDIR (removed when
  the test passes, kept and named when it fails);
- runs `$SAMSA serve --set listeners=PLAINTEXT://127.0.0.1:<port> --set log.dirs=<dir>`
  ($SAMSA defaults to build/asan/samsa) with stderr and stdout appended to
  $SAMSA_TEST_LOGS/integration/<test>.<name>.broker.log (default build/test-logs);
- waits for the INFO line containing "serving on" (30 s);
- stop() sends SIGTERM and requires exit code 0 within 30 s (ASan checks leaks then);
- kill9() and start() again reuse the same data dir and port;
- on any failure the tail of the broker log is printed;
- a sanitizer report in the broker log fails the test even when the exit code is 0.

SAMSA_TEST_MOCK=1 runs build/itest/mockbroker (librdkafka's in-memory mock cluster)
instead of samsa, to check the client side of a test before the broker can serve;
kill9/restart and on-disk checks make no sense there.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ITEST_BIN = os.path.join(REPO, "build", "itest")
LOGS = os.environ.get("SAMSA_TEST_LOGS") or os.path.join(REPO, "build", "test-logs")
SAMSA = os.environ.get("SAMSA") or os.path.join(REPO, "build", "asan", "samsa")
MOCK = os.environ.get("SAMSA_TEST_MOCK", "") not in ("", "0")
START_TIMEOUT = float(os.environ.get("SAMSA_START_TIMEOUT", "30"))
STOP_TIMEOUT = float(os.environ.get("SAMSA_STOP_TIMEOUT", "30"))

SANITIZER_PATTERNS = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"ERROR: ThreadSanitizer|WARNING: ThreadSanitizer|SUMMARY: UndefinedBehaviorSanitizer"
)


class TestFailure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, what, detail=None):
    """Asserts cond; prints 'ok: what' or raises TestFailure('what: detail')."""
    if not cond:
        raise TestFailure(what + (": " + str(detail) if detail is not None else ""))
    log("ok: " + what)


def free_port():
    """A port that was free on 127.0.0.1 a moment ago (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid, field="VmRSS"):
    """VmRSS (or VmHWM, the peak) of pid in KiB from /proc/<pid>/status, or -1."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class TestContext:
    """Per-test state: name, temp dirs to remove on success, brokers to dump on failure."""

    def __init__(self, name):
        self.name = name
        self.brokers = []
        self.tmpdirs = []
        self.failed = False
        seed = os.environ.get("SAMSA_TEST_SEED")
        self.seed = int(seed) if seed else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        os.makedirs(os.path.join(LOGS, "integration"), exist_ok=True)

    def tmpdir(self, what):
        d = tempfile.mkdtemp(prefix="samsa-%s-%s-" % (self.name, what))
        self.tmpdirs.append(d)
        return d

    def log_path(self, what):
        return os.path.join(LOGS, "integration", "%s.%s" % (self.name, what))


class Broker:
    def __init__(self, t, name="broker", config=None, port=None, data_dir=None, extra_args=None,
                 env=None, mock_topics=None):
        """mock_topics: ["name:partitions", ...] pre-created by the mock cluster only
        (SAMSA_TEST_MOCK=1), which does not serve CreateTopics."""
        self.t = t
        self.mock_topics = list(mock_topics or [])
        self.name = name
        self.config = dict(config or {})
        self.port = port or free_port()
        self.data_dir = data_dir or t.tmpdir("data")
        self.extra_args = list(extra_args or [])
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.starts = 0
        self.log_path = t.log_path(name + ".log")
        self._log_offset = 0  # where the current run's output starts in log_path
        with open(self.log_path, "w"):
            pass
        t.brokers.append(self)

    # --- lifecycle -------------------------------------------------------------------

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        if MOCK:
            cmd = [os.path.join(ITEST_BIN, "mockbroker")]
            for k, v in self.config.items():
                cmd += ["--set", "%s=%s" % (k, v)]
            for topic in self.mock_topics:
                cmd += ["--topic", topic]
            return cmd
        cmd = [SAMSA, "serve",
               "--set", "listeners=PLAINTEXT://127.0.0.1:%d" % self.port,
               "--set", "log.dirs=%s" % self.data_dir]
        for k, v in self.config.items():
            cmd += ["--set", "%s=%s" % (k, v)]
        return cmd + self.extra_args

    def start(self, timeout=START_TIMEOUT):
        """Starts the broker (again, on the same dir and port) and waits for 'serving on'.
        Returns the seconds it took."""
        if self.proc and self.proc.poll() is None:
            raise TestFailure("%s: start() while already running" % self.name)
        cmd = self.command()
        self.starts += 1
        with open(self.log_path, "a") as f:
            f.write("=== harness: start #%d: %s\n" % (self.starts, " ".join(cmd)))
            self._log_offset = f.tell()
        logf = open(self.log_path, "a")
        t0 = time.monotonic()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         env=self.env, cwd=self.data_dir if MOCK else None)
        except OSError as e:
            raise TestFailure("%s: cannot run %s: %s" % (self.name, cmd[0], e))
        finally:
            logf.close()
        deadline = t0 + timeout
        while True:
            out = self.run_log()
            m = re.search(r"serving on\s*(\S*)", out)
            if m:
                if MOCK:
                    self.port = int(m.group(1).rsplit(":", 1)[1])
                break
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                raise TestFailure("%s: exited with %s before 'serving on' (start #%d)"
                                  % (self.name, rc, self.starts))
            if time.monotonic() > deadline:
                raise TestFailure("%s: no 'serving on' line within %.0f s (start #%d)"
                                  % (self.name, timeout, self.starts))
            time.sleep(0.02)
        return time.monotonic() - t0

    def stop(self, timeout=STOP_TIMEOUT, expect_rc=0):
        """SIGTERM, wait, require exit code expect_rc. Returns the seconds it took."""
        if not self.proc:
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise TestFailure("%s: still running %.0f s after SIGTERM (killed)" % (self.name, timeout))
        self.proc = None
        took = time.monotonic() - t0
        self.check_sanitizers()
        if expect_rc is not None and rc != expect_rc:
            raise TestFailure("%s: exit code %s after SIGTERM, expected %s" % (self.name, rc, expect_rc))
        return took

    def kill9(self):
        """SIGKILL and reap; the data dir and port stay for start()."""
        if not self.proc:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.check_sanitizers()

    def restart(self):
        self.stop()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def require_alive(self, what=""):
        if self.proc is None:
            raise TestFailure("%s: not running %s" % (self.name, what))
        rc = self.proc.poll()
        if rc is not None:
            raise TestFailure("%s: died with exit code %s %s" % (self.name, rc, what))

    # --- observation -----------------------------------------------------------------

    def run_log(self):
        """Broker output since the latest start."""
        try:
            with open(self.log_path, "r", errors="replace") as f:
                f.seek(self._log_offset)
                return f.read()
        except OSError:
            return ""

    def full_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def log_tail(self, n=40):
        return "\n".join(self.full_log().splitlines()[-n:])

    def grep_log(self, pattern, whole=False):
        """Lines of the latest run's output (or the whole log) matching a regex."""
        text = self.full_log() if whole else self.run_log()
        rx = re.compile(pattern)
        return [line for line in text.splitlines() if rx.search(line)]

    def check_sanitizers(self):
        bad = self.grep_log(SANITIZER_PATTERNS.pattern)
        if bad:
            raise TestFailure("%s: sanitizer report in broker log: %s" % (self.name, bad[0]))

    def rss_kb(self, field="VmRSS"):
        return rss_kb(self.pid, field) if self.pid else -1

    def partition_dir(self, topic, partition):
        return os.path.join(self.data_dir, "%s-%d" % (topic, partition))

    # --- context manager: stop cleanly (exit 0 required) when the block succeeds ------

    def __enter__(self):
        if not self.proc:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
        elif self.proc:
            self.t.failed = True
            self.dump()
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        return False

    def dump(self, n=60):
        print("---- %s broker log tail (%s) ----" % (self.name, self.log_path))
        print(self.log_tail(n))
        print("---- end of %s broker log ----" % self.name, flush=True)


def run(cmd, timeout=120, check_rc=True, input=None, env=None, what=None):
    """Runs a client command; returns CompletedProcess (text). Fails the test on a
    non-zero exit (with its stderr) or a timeout."""
    what = what or os.path.basename(cmd[0])
    try:
        cp = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, env=env,
                            text=isinstance(input, str) or input is None)
    except subprocess.TimeoutExpired as e:
        raise TestFailure("%s timed out after %ss; stderr tail: %s"
                          % (what, timeout, _tail(e.stderr)))
    if check_rc and cp.returncode != 0:
        raise TestFailure("%s exited %d; stderr tail: %s" % (what, cp.returncode, _tail(cp.stderr)))
    return cp


def _tail(s, n=15):
    if s is None:
        return ""
    if isinstance(s, bytes):
        s = s.decode(errors="replace")
    return "\n    " + "\n    ".join(s.splitlines()[-n:])


def itest_bin(name):
    path = os.path.join(ITEST_BIN, name)
    if not os.access(path, os.X_OK):
        raise TestFailure("%s missing: run tests/integration/prepare" % path)
    return path


def read_ack_log(path):
    """The delivery log of a clients/*_producer: lines `A a b offset` (acknowledged),
    `F a b error` (failed) and a last `END key=value ...`. Returns (acked [(a, b, offset)]
    in arrival order, failed [(a, b, error)], END's {key: value} or None); a partial last
    line (still being written) and a missing file read as not there yet."""
    acked, failed, end = [], [], None
    try:
        with open(path) as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                w = line.split()
                if w[0] == "A":
                    acked.append((int(w[1]), int(w[2]), int(w[3])))
                elif w[0] == "F":
                    failed.append((int(w[1]), int(w[2]), w[3]))
                elif w[0] == "END":
                    end = dict(kv.split("=", 1) for kv in w[1:])
    except FileNotFoundError:
        pass
    return acked, failed, end


def main(test_fn, name=None):
    """Runs test_fn(t) and exits 0 on pass, 1 on failure, after cleaning up."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t = TestContext(name)
    log("%s: seed %d (SAMSA_TEST_SEED=%d reproduces), broker %s%s"
        % (name, t.seed, t.seed, SAMSA, " [MOCK]" if MOCK else ""))
    t0 = time.monotonic()
    ok = False
    try:
        test_fn(t)
        ok = True
    except TestFailure as e:
        log("FAIL: %s" % e)
    except Exception:
        log("FAIL: unexpected exception")
        traceback.print_exc(file=sys.stdout)
    finally:
        for b in t.brokers:
            if b.proc:
                if not ok:
                    b.dump()
                b.proc.kill()
                b.proc.wait()
                b.proc = None
            elif not ok and not t.failed:
                b.dump(30)
    took = time.monotonic() - t0
    if ok:
        for d in t.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
        log("PASS %s (%.1f s)" % (name, took))
        sys.exit(0)
    for d in t.tmpdirs:
        log("kept for inspection: %s" % d)
    log("FAILED %s (%.1f s)" % (name, took))
    sys.exit(1)

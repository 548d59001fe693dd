"""A TCP proxy that cuts connections on demand, for tests that need requests to die with
their responses lost (the client then retries what the broker may already have done):

    proxy = ChaosProxy(broker.port)      # listens on 127.0.0.1:<proxy.port>
    broker.config["advertised.listeners"] = "PLAINTEXT://127.0.0.1:%d" % proxy.port
    ... proxy.drop_all() ...             # cut every open connection
    proxy.close()

While the broker is down a new client connection is accepted and closed at once."""
import socket
import threading


class ChaosProxy:
    """Forwards 127.0.0.1:<port> to the broker; drop_all() cuts every open connection."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = {}  # id -> [client, upstream, pumps still running]
        self.next_id = 0
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                c.close()  # broker down: the client sees the connection fail
                continue
            for s in (c, u):
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                pid = self.next_id
                self.next_id += 1
                self.pairs[pid] = [c, u, 2]
                self.accepted += 1
            threading.Thread(target=self._pump, args=(pid, c, u), daemon=True).start()
            threading.Thread(target=self._pump, args=(pid, u, c), daemon=True).start()

    def _pump(self, pid, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        self._shutdown(pid)
        with self.lock:
            entry = self.pairs[pid]
            entry[2] -= 1
            last = entry[2] == 0
            if last:
                del self.pairs[pid]
        if last:  # both pumps are out: nobody uses the sockets any more
            src.close()
            dst.close()

    def _shutdown(self, pid):
        with self.lock:
            entry = self.pairs.get(pid)
            socks = entry[:2] if entry else []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop_all(self):
        with self.lock:
            ids = list(self.pairs)
        for pid in ids:
            self._shutdown(pid)
        return len(ids)

    def close(self):
        self.lsock.close()
        self.drop_all()

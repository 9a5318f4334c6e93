"""A TCP proxy the tests control: cut connections or refuse new ones, without touching the broker."""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlparse, urlunparse


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops live connections, `down()` refuses."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._accepting = True
        self._closed = False
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @classmethod
    def to_url(cls, url: str) -> TcpProxy:
        parsed = urlparse(url)
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 5672)

    def amqp_url(self, url: str) -> str:
        """The same URL, through the proxy."""
        parsed = urlparse(url)
        netloc = f"{parsed.username}:{parsed.password}@127.0.0.1:{self.port}"
        return urlunparse(parsed._replace(netloc=netloc))

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._accepting:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> None:
        """Drop every live connection (the broker 'restarts' for its clients)."""
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def down(self) -> None:
        """Cut live connections and refuse new ones until up()."""
        self._accepting = False
        self.cut()

    def up(self) -> None:
        self._accepting = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

"""A TCP proxy the tests can cut and restore: a database outage without stopping the server."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

__all__ = ["TcpProxy"]

_CHUNK = 64 * 1024


def _close(sock: socket.socket) -> None:
    """Shut a socket down (waking any thread blocked on it), then close it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class TcpProxy:
    """Forwards connections from an ephemeral port on 127.0.0.1 to ``target``.

    ``cut()`` drops every open connection and makes new ones fail at once (accepted, then
    closed), as a database that went away would; ``restore()`` forwards again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._up = True
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)

    @property
    def port(self) -> int:
        """The port clients connect to."""
        return int(self._listener.getsockname()[1])

    def start(self) -> TcpProxy:
        """Start accepting connections; returns self."""
        self._acceptor.start()
        return self

    def cut(self) -> None:
        """Drop every connection in flight and refuse new ones until ``restore``."""
        with self._lock:
            self._up = False
            doomed = list(self._open)
            self._open.clear()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._up = True

    def close(self) -> None:
        """Stop accepting, drop every connection and join the proxy's threads."""
        with self._lock:
            self._closing = True
        # accept() does not wake up when its socket is closed from another thread: knock.
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        except OSError:
            pass
        self._acceptor.join(timeout=10)
        self._listener.close()
        self.cut()
        for thread in list(self._threads):
            thread.join(timeout=10)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                closing, up = self._closing, self._up
            if closing:
                client.close()
                return
            if not up:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if not self._up:  # cut while we were connecting
                    _close(client)
                    _close(upstream)
                    continue
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(
                    target=self._pump, args=(source, sink), name="tcp-proxy-pump", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes one way until either side closes; then close both."""
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.discard(source)
            self._open.discard(sink)
        _close(source)
        _close(sink)

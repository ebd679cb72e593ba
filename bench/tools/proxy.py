"""A loopback TCP relay that counts the bytes a tool's source connections move.

``/proc/<pid>/io`` cannot tell network bytes: libpq reads its socket with ``recv``, which the
kernel does not add to ``rchar``. So the source connection of a measured run goes through
this relay instead, on 127.0.0.1, and every byte the server sends to the tool is counted. The
relay costs some CPU, so runs measured through it are extra runs, never the timed ones.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType

logger = logging.getLogger(__name__)

BUFFER_BYTES = 1 << 20


class CountingRelay:
    """Accept on a free loopback port, relay to ``host:port``, count bytes both ways."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.to_client = 0
        """Bytes the server sent to the tool (query results, COPY streams)."""
        self.to_server = 0
        self._lock = threading.Lock()
        self._pumps: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def __enter__(self) -> CountingRelay:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.listener.close()

    def settle(self, timeout: float = 10.0) -> int:
        """Wait for the finished tool's connections to drain; return bytes sent to it."""
        with self._lock:
            pumps = list(self._pumps)
        for pump in pumps:
            pump.join(timeout)
        return self.to_client

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError as exc:
                logger.warning("relay cannot reach %s:%d: %s", *self.target, exc)
                client.close()
                continue
            for source, sink, upstream in ((client, server, True), (server, client, False)):
                pump = threading.Thread(
                    target=self._pump, args=(source, sink, upstream), daemon=True
                )
                with self._lock:
                    self._pumps.append(pump)
                pump.start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        buffer = bytearray(BUFFER_BYTES)
        view = memoryview(buffer)
        try:
            while size := source.recv_into(buffer):
                sink.sendall(view[:size])
                with self._lock:
                    if upstream:
                        self.to_server += size
                    else:
                        self.to_client += size
        except OSError:
            pass
        finally:
            # Closing one side ends the other pump too: its recv sees the end or an error.
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()

"""A TCP listener that only counts: every connection it accepts is recorded (with the first
bytes sent on it) and closed. Put where the server must not connect, it proves that no
request reached the port at all, not even a TCP or TLS handshake."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass
class CountingListener:
    host: str = "127.0.0.1"  # or "::1"
    port: int = 0
    received: list[bytes] = field(default_factory=list)  # one entry per connection
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None

    @property
    def netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> CountingListener:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock, self.port = sock, int(sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while self._sock.fileno() != -1:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                try:
                    first = conn.recv(4096)
                except OSError:
                    first = b""
                self.received.append(first)

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

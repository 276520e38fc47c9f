"""A raw-socket upstream for what a well-behaved HTTP server library will not do.

What it does is chosen by the last path segment of each request:

- `ignore-expect`: reads the body without ever sending `100 Continue`, then answers 200;
- `continue`: sends `100 Continue` as soon as it has the header section, whether or not it
  was asked to, then reads the body and answers 200;
- `silent`: reads the whole request and never answers;
- `stall`: never reads the body (nor answers);
- `short`: answers `Content-Length: 100` with 7 bytes and closes;
- `short-big`: answers `Content-Length: 200000` with 70000 bytes and closes;
- `short-stall`: answers `Content-Length: 100` with 7 bytes and sends nothing more.

A 200 answer is JSON: the body's size and SHA-256 as received. Every request is recorded
with its header section; connections left open are closed by `stop()`.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class RawRecorded:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body_size: int = -1  # -1: the body was not read
    body_sha256: str = ""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None


class _Closed(Exception):
    pass


@dataclass
class _Conn:
    sock: socket.socket
    buffer: bytes = b""

    def fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise _Closed
        self.buffer += chunk

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self.fill()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


@dataclass
class RawUpstream:
    port: int = 0
    requests: list[RawRecorded] = field(default_factory=list)
    _listener: socket.socket | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _open: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RawUpstream:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(60)
        conn = _Conn(sock)
        try:
            while not self._stopping.is_set():
                if not self._one(conn):
                    break
        except (_Closed, OSError):
            pass
        finally:
            with self._lock:
                if sock in self._open:
                    self._open.remove(sock)
            sock.close()

    def _one(self, conn: _Conn) -> bool:
        """Serve one request; False when the connection is done."""
        head = conn.until(b"\r\n\r\n").decode("latin-1")
        request_line, *lines = head.split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines)]
        seen = RawRecorded(method, target, headers)
        self.requests.append(seen)
        mode = target.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if mode == "stall":
            self._stopping.wait(60)
            return False
        if mode == "continue":
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self._body(conn, seen)
        seen.body_size, seen.body_sha256 = len(body), hashlib.sha256(body).hexdigest()
        if mode == "silent":
            while True:  # until the proxy gives up and closes
                conn.fill()
        if mode.startswith("short"):
            promised, sent = (200_000, 70_000) if mode == "short-big" else (100, 7)
            conn.sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                + f"Content-Length: {promised}\r\n\r\n".encode()
                + b"partial"
                + b"x" * (sent - 7)
            )
            if mode == "short-stall":
                while True:  # until the proxy gives up and closes
                    conn.fill()
            return False
        answer = json.dumps({"size": seen.body_size, "sha256": seen.body_sha256}).encode()
        conn.sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(answer)}\r\n\r\n".encode()
            + answer
        )
        return True

    @staticmethod
    def _body(conn: _Conn, seen: RawRecorded) -> bytes:
        length = seen.header("Content-Length")
        if length is not None:
            return conn.exactly(int(length))
        if (seen.header("Transfer-Encoding") or "").lower() != "chunked":
            return b""
        parts = []
        while True:
            size = int(conn.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                conn.until(b"\r\n")  # no trailers are sent to it
                return b"".join(parts)
            parts.append(conn.exactly(size))
            conn.exactly(2)

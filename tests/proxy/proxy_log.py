"""Reading the proxy's log lines from a test server's log."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.servers import Server


def proxy_lines(server: Server, marker: str, count: int = 1) -> list[dict[str, Any]]:
    """The proxy log lines holding `marker`, once there are at least `count` (a line is
    written just after its answer, so it may trail the response by a moment)."""
    lines: list[dict[str, Any]] = []
    for _ in range(100):
        # Whole lines only: the last one may still be being written.
        written = server.log_text().rpartition("\n")[0]
        lines = [
            json.loads(line)
            for line in written.splitlines()
            if '"logger": "authrelay.proxy"' in line and marker in line
        ]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"{len(lines)} proxy log lines for {marker!r}, expected {count}")

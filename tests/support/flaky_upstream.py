"""A recording upstream that fails on purpose a set number of times, for retry tests.

`/flaky/<key>/<n>/<status>[?retry_after=<value>]` answers `<status>` to the first `<n>`
requests under `<key>` (with `Retry-After: <value>`; the value `date+<s>` becomes the HTTP
date `<s>` seconds from now), then 200 with the usual JSON echo. Every request is recorded,
as by RecordingUpstream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web

from tests.support.upstream import RecordingUpstream


@dataclass
class FlakyUpstream(RecordingUpstream):
    failures: dict[str, int] = field(default_factory=dict)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.split("/flaky/", 1)
        if len(parts) != 2:
            return await super()._handle(request)
        key, count, status = [*parts[1].split("/"), "", "", ""][:3]
        served = self.failures.get(key, 0)
        answer = await super()._handle(request)  # records the request, reads its body
        if served >= int(count):
            return answer
        self.failures[key] = served + 1
        headers = {"Content-Type": "application/json"}
        asked = request.query.get("retry_after")
        if asked is not None:
            if asked.startswith("date+"):
                asked = formatdate(time.time() + float(asked[5:]), usegmt=True)
            headers["Retry-After"] = asked
        return web.Response(status=int(status), body=b'{"flaky": true}', headers=headers)

    def attempts(self, key: str) -> int:
        return sum(1 for r in self.requests if f"/flaky/{key}/" in r.raw_path)

"""Where the time of the large tool lists goes, in-process: `GET /api/v1/tools` (page of
1,000 and page of 50) and MCP `tools/list` with N tools, sent straight to the ASGI app
(no sockets) under cProfile, and timed without it.

    .venv/bin/python bench/tool_lists_profile.py [--tools 2000] [--requests 50] [--top 25]

A real server (bench/tool_setup.py) creates the tools, the MCP config and the tokens; the
app under study is a second, in-process instance on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import median

import httpx
from run import LOCALHOST, HarnessError
from tool_setup import add_tools, mcp_config, tool_bench

from authrelay.app import create_app
from authrelay.config import Settings

MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
    "Content-Type": "application/json",
}


async def _run(
    settings: Settings, api_token: str, url: str, mcp_token: str, n: int, top: int
) -> str:
    dispatcher = create_app(settings)
    fastapi_app = dispatcher.api  # type: ignore[attr-defined]
    path = httpx.URL(url).path
    listing = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
    requests = {
        "GET /api/v1/tools?page_size=1000": ("GET", "/api/v1/tools?page_size=1000", None, {}),
        "GET /api/v1/tools (page of 50)": ("GET", "/api/v1/tools", None, {}),
        "MCP tools/list": (
            "POST",
            path,
            listing,
            {**MCP_HEADERS, "Authorization": f"Bearer {mcp_token}"},
        ),
    }
    lines = []
    async with fastapi_app.router.lifespan_context(fastapi_app):
        transport = httpx.ASGITransport(app=dispatcher)
        async with httpx.AsyncClient(
            transport=transport,
            base_url=settings.public_url or f"http://{LOCALHOST}",
            headers={"Authorization": f"Bearer {api_token}"},
        ) as client:
            for label, (method, target, body, headers) in requests.items():

                async def send(
                    method: str = method,
                    target: str = target,
                    body: bytes | None = body,
                    headers: dict[str, str] = headers,
                ) -> httpx.Response:
                    answer = await client.request(method, target, content=body, headers=headers)
                    if answer.status_code != 200:
                        raise HarnessError(f"{target} answered {answer.status_code}")
                    return answer

                for _ in range(5):
                    await send()
                times = []
                for _ in range(n):
                    began = time.perf_counter()
                    await send()
                    times.append(time.perf_counter() - began)
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(n):
                    await send()
                profile.disable()
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
                size = len((await send()).content)
                lines += [
                    f"## {label}: p50 {median(times) * 1000:.2f} ms in-process ({size:,} bytes)",
                    out.getvalue(),
                ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tools", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    try:
        with tool_bench(False) as bench:
            add_tools(bench.api, args.tools)
            url, token = mcp_config(bench.api)
            settings = Settings(
                data_dir=bench.tmp / "authrelay-data",
                public_url=bench.server.url,
                max_tools_per_provider=5000,
            )
            api_token = bench.api.headers["Authorization"].split(" ", 1)[1]
            text = asyncio.run(_run(settings, api_token, url, token, args.requests, args.top))
    except HarnessError as exc:
        print(f"profile failed: {exc}", file=sys.stderr)
        return 1
    print(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())

"""50 MB through the proxy in each direction with flat server memory (streaming, no
buffering)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.proxy import enable, proxy_headers
from tests.support.servers import Server
from tests.support.upstream import RecordingUpstream, provider_definition

SIZE = 50 * 1024 * 1024
CHUNK = b"0123456789abcdef" * 65536  # 1 MiB


def peak_rss_kib(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def chunks() -> Iterator[bytes]:
    for _ in range(SIZE // len(CHUNK)):
        yield CHUNK


def test_fifty_megabytes_each_way_with_flat_memory(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    conn = f"stream-{unique}"
    with server.api(dev_client) as api:
        enable(api, provider_definition(f"Stream {unique}", upstream), conn, "u", {"api_key": "k"})
        headers = {**api.headers, **proxy_headers(conn, "u")}
        api.get("/proxy/warmup", headers=proxy_headers(conn, "u"))
    baseline = peak_rss_kib(server)
    with httpx.Client(base_url=server.url, timeout=120) as client:
        digest, received = hashlib.sha256(), 0
        with client.stream("GET", f"/proxy/big/{SIZE}", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(SIZE)
            for piece in response.iter_raw():
                digest.update(piece)
                received += len(piece)
        assert received == SIZE
        assert digest.hexdigest() == hashlib.sha256(b"x" * SIZE).hexdigest()

        upstream.clear()
        response = client.post("/proxy/upload", content=chunks(), headers=headers)  # chunked
        assert response.status_code == 200, response.text
        seen = upstream.requests[-1]
        assert seen.body_size == SIZE
        assert seen.body_sha256 == hashlib.sha256(CHUNK * (SIZE // len(CHUNK))).hexdigest()
        upstream.clear()
        response = client.post(
            "/proxy/upload", content=chunks(), headers={**headers, "Content-Length": str(SIZE)}
        )
        assert response.status_code == 200, response.text
        assert upstream.requests[-1].body_size == SIZE
        assert upstream.requests[-1].header("Content-Length") == str(SIZE)
    growth_mib = (peak_rss_kib(server) - baseline) / 1024
    assert growth_mib < 20, f"server peak memory grew by {growth_mib:.1f} MiB for 150 MiB relayed"

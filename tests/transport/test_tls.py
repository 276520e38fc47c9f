"""TLS on the server's one port: ALPN offers h2 and http/1.1 (`--tls-cert`/`--tls-key`),
`--dev-tls` makes and reuses a development CA, and the URL the server records is https."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from authrelay.cli.devtls import ensure_dev_tls
from tests.conftest import new_backend
from tests.support.h2client import H2Client
from tests.support.servers import Backend, Server, create_client, free_port, run_cli


def _serve(backend: Backend, log_dir: Path, ca_file: Path | None, *args: str) -> Server:
    """`authrelay serve ARGS` on a free port, ready once /readyz answers over https
    (`ca_file` None: the development CA the server makes)."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "authrelay", "serve", "--port", str(port), *args],
            env=backend.env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = Server(backend, port, process, log_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{server.log_text()}")
        trust = ca_file or backend.data_dir / "tls" / "ca.pem"
        if trust.is_file():
            try:
                trusted = ssl.create_default_context(cafile=str(trust))
                answer = httpx.get(f"https://127.0.0.1:{port}/readyz", verify=trusted, timeout=1)
                if answer.status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"server did not become ready:\n{server.log_text()}")


def _curl(*args: str) -> tuple[str, str]:
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "-w", "\n%{http_version}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    body, _, version = done.stdout.rpartition("\n")
    return body, version


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory, tls: tuple[Path, object]
) -> Iterator[tuple[Server, Path]]:
    ca_file = tls[0]
    backend = new_backend("sqlite", tmp_path_factory.mktemp("data-tls"))
    server = _serve(
        backend,
        tmp_path_factory.mktemp("logs-tls"),
        ca_file,
        "--tls-cert",
        str(ca_file.parent / "server.pem"),
        "--tls-key",
        str(ca_file.parent / "server.key"),
    )
    yield server, ca_file
    server.stop()


def test_tls_offers_http2_and_http11_on_one_port(tls_server: tuple[Server, Path]) -> None:
    server, ca_file = tls_server
    url = f"https://localhost:{server.port}"
    body, version = _curl("--http2", "--cacert", str(ca_file), f"{url}/healthz")
    assert (json.loads(body), version) == ({"status": "ok"}, "2")
    body, version = _curl("--http1.1", "--cacert", str(ca_file), f"{url}/healthz")
    assert (json.loads(body), version) == ({"status": "ok"}, "1.1")
    # Plain HTTP on a TLS port is not served.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5)


def test_an_authenticated_call_over_tls_and_http2(tls_server: tuple[Server, Path]) -> None:
    server, ca_file = tls_server
    client = create_client(server.backend)
    url = f"https://localhost:{server.port}"
    body, version = _curl(
        "--http2",
        "--cacert",
        str(ca_file),
        "-d",
        "grant_type=client_credentials",
        "-d",
        f"client_id={client['client_id']}",
        "-d",
        f"client_secret={client['client_secret']}",
        f"{url}/oauth/token",
    )
    assert version == "2"
    token = json.loads(body)["access_token"]
    body, version = _curl(
        "--http2",
        "--cacert",
        str(ca_file),
        "-H",
        f"Authorization: Bearer {token}",
        f"{url}/api/v1/providers?page_size=1",
    )
    assert version == "2"
    assert len(json.loads(body)["providers"]) == 1
    with H2Client(server.port, ca_file=ca_file) as raw:  # ALPN h2, then a stream
        answer = raw.response(raw.request("/healthz"))
        assert answer.status == 200


def test_the_recorded_url_is_https(tls_server: tuple[Server, Path]) -> None:
    server, ca_file = tls_server
    # `status` checks the server over https, trusting the system's CAs and SSL_CERT_FILE.
    done = run_cli(server.backend, "status", "--json", SSL_CERT_FILE=str(ca_file))
    shown = json.loads(done.stdout)
    assert shown["url"] == f"https://127.0.0.1:{server.port}"


def test_dev_tls_makes_a_ca_once_and_prints_how_to_trust_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    backend = new_backend("sqlite", tmp_path_factory.mktemp("data-devtls"))
    server = _serve(backend, tmp_path_factory.mktemp("logs-devtls"), None, "--dev-tls")
    try:
        folder = backend.data_dir.resolve() / "tls"
        ca_file = folder / "ca.pem"
        log = server.log_with("NODE_EXTRA_CA_CERTS")
        for name in (
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
            "REQUESTS_CA_BUNDLE",
            "NODE_EXTRA_CA_CERTS",
        ):
            assert f"export {name}={ca_file}" in log
        assert f"https://127.0.0.1:{server.port}" in log
        for path in folder.iterdir():
            assert path.stat().st_mode & 0o777 == 0o600, path
        assert folder.stat().st_mode & 0o777 == 0o700
        # (The certificate names *.localhost as well, which OpenSSL-based clients such as
        # curl do not accept for a one-label parent; it is there for those that do.)
        for host in ("localhost", "127.0.0.1"):
            body, version = _curl(
                "--http2",
                "--cacert",
                str(ca_file),
                "--resolve",
                f"{host}:{server.port}:127.0.0.1",
                f"https://{host}:{server.port}/healthz",
            )
            assert (json.loads(body), version) == ({"status": "ok"}, "2")
        shown = json.loads(run_cli(backend, "status", "--json").stdout)
        assert shown["url"] == f"https://127.0.0.1:{server.port}"
        # Made once: the next start reuses the CA and the certificate.
        before = {path.name: path.read_bytes() for path in folder.iterdir()}
        ensure_dev_tls(backend.data_dir)
        assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    finally:
        server.stop()


def test_dev_tls_refuses_a_certificate_of_its_own(tmp_path: Path) -> None:
    backend = new_backend("sqlite", tmp_path / "data")
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    done = run_cli(
        backend, "serve", "--dev-tls", "--tls-cert", str(cert), "--tls-key", str(cert), check=False
    )
    assert done.returncode == 1
    assert "--dev-tls" in done.stderr
    half = run_cli(backend, "serve", "--tls-cert", str(cert), check=False)
    assert half.returncode == 1
    assert "--tls-key" in half.stderr

"""`/docs` works offline: the page references only same-origin assets, they load from the
package, and the Content-Security-Policy allows nothing from another host."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx

from tests.support.servers import Server


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.refs.append(str(values[name]))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def test_docs_page_loads_only_same_origin_assets(server: Server) -> None:
    page = httpx.get(f"{server.url}/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "http" not in csp  # no other host is allowed for anything
    parser = _Refs()
    parser.feed(page.text)
    assert parser.inline_scripts == 0  # everything runs under script-src 'self'
    assert len(parser.refs) >= 3
    kinds = set()
    for ref in parser.refs:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc, ref  # same origin, relative to it
        asset = httpx.get(f"{server.url}{ref}")
        assert asset.status_code == 200, ref
        assert asset.content, ref
        kinds.add(asset.headers["content-type"].split(";")[0])
    assert {"text/javascript", "text/css", "image/png"} <= kinds
    bundle = httpx.get(f"{server.url}/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content
    init = httpx.get(f"{server.url}/docs/assets/init.js").text
    assert '"/openapi.json"' in init and "validatorUrl: null" in init  # no online validator
    licence = httpx.get(f"{server.url}/docs/assets/LICENSE")
    assert "Apache License" in licence.text


def test_docs_assets_serve_only_the_listed_files(server: Server) -> None:
    for name in ("../app.py", "..%2Fapp.py", "README.md", "nope.js", "swagger_ui"):
        response = httpx.get(f"{server.url}/docs/assets/{name}")
        assert response.status_code == 404, name
        assert response.json()["code"] == 5 or response.json()["message"] == "no such route"

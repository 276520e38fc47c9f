"""Inference never raises, whatever it is given, and never returns an invalid definition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authrelay.providers.infer import MAX_BYTES, InferenceResult, infer
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist

from .helpers import FIXTURES

ALL_FIXTURES = sorted(p for p in FIXTURES.rglob("*") if p.is_file())


def _check(result: InferenceResult) -> None:
    assert isinstance(result, InferenceResult)
    if result.provider is not None:
        validate_definition(result.provider, UpstreamAllowlist([]))
        assert result.auth_type is not None
    json.dumps(result.as_json())
    assert isinstance(result.summary(), str)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "oauth2",
            "apiKey",
            "http",
            "basic",
            "bearer",
            "header",
            "query",
            "Authorization",
            "X-Key",
            "accessCode",
            "https://{host}/v{version}",
            "/relative",
            "https://a.example/oauth/authorize",
            "{{domain}}",
            "Host",
        ]
    ),
)
_keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "openapi",
            "swagger",
            "servers",
            "url",
            "variables",
            "default",
            "components",
            "securitySchemes",
            "securityDefinitions",
            "type",
            "scheme",
            "in",
            "name",
            "flows",
            "authorizationCode",
            "authorizationUrl",
            "tokenUrl",
            "scopes",
            "paths",
            "host",
            "basePath",
            "schemes",
            "flow",
            "security",
            "info",
            "title",
            "description",
        ]
    ),
)
_structures = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=5)
    ),
    max_leaves=30,
)
_fixture_texts = st.sampled_from(ALL_FIXTURES).map(lambda p: p.read_text(encoding="utf-8"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=500), st.binary(max_size=500)))
def test_random_text_never_raises(data: str | bytes) -> None:
    _check(infer(openapi=data))
    _check(infer(docs=data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_structures, st.booleans())
def test_random_structures_never_raise(doc: Any, as_yaml: bool) -> None:
    text = json.dumps(doc)
    if as_yaml:
        import yaml

        text = yaml.safe_dump(doc)
    _check(infer(openapi=text))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(_keys, _structures, max_size=4),
    st.sampled_from(["3.0.0", "3.1.0", "2.0"]),
    st.sampled_from(["oauth2", "apiKey", "http", "basic", "openIdConnect"]),
)
def test_random_openapi_shapes(extra: dict[str, Any], version: str, kind: str) -> None:
    scheme: dict[str, Any] = {"type": kind, **extra}
    doc: dict[str, Any] = {
        "openapi" if version != "2.0" else "swagger": version,
        "servers": [{"url": extra.get("url", "https://api.example.com"), **extra}],
        "components": {"securitySchemes": {"s": scheme}},
        "securityDefinitions": {"s": scheme},
        "paths": extra,
    }
    _check(infer(openapi=json.dumps(doc, default=str)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fixture_texts, st.integers(min_value=0, max_value=4000), st.text(max_size=20))
def test_truncated_and_spliced_fixtures(text: str, cut: int, junk: str) -> None:
    damaged = text[:cut] + junk
    _check(infer(openapi=damaged))
    _check(infer(docs=damaged))
    _check(infer(openapi=damaged, docs=damaged, name=junk))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_names(name: str) -> None:
    _check(infer(openapi=(FIXTURES / "openapi" / "bearer_v31.yaml").read_text(), name=name))


def test_every_fixture_is_safe_in_both_roles() -> None:
    for path in ALL_FIXTURES:
        text = path.read_text(encoding="utf-8")
        _check(infer(openapi=text))
        _check(infer(docs=text))


def test_yaml_alias_bomb() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append("openapi: 3.0.0")
    lines.append("components: {securitySchemes: {b: {type: http, scheme: bearer}}}")
    result = infer(openapi="\n".join(lines))
    _check(result)
    assert result.provider is None
    assert any("alias" in m for m in result.missing)


def test_deeply_nested_json_and_yaml() -> None:
    deep_json = "[" * 100_000 + "]" * 100_000
    result = infer(openapi=deep_json)
    _check(result)
    assert result.missing
    deep_yaml = "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 3000))
    _check(infer(openapi=deep_yaml))
    _check(infer(openapi="{" * 50_000))


def test_huge_documents_are_capped(tmp_path: Path) -> None:
    huge = "x" * (MAX_BYTES + 10)
    result = infer(openapi=huge)
    assert result.provider is None
    assert any("not read" in m and "limit" in m for m in result.missing)
    docs = "# Big\n\ncurl -H 'Authorization: Bearer <t>' https://api.big.example/v1/x\n" + huge
    big = infer(docs=docs.encode())
    assert big.auth_type == "BEARER"
    assert any("rest skipped" in m for m in big.missing)


def test_invalid_utf8_is_said() -> None:
    result = infer(docs=b"# T\xff\xfe\n\ncurl -u k: https://api.t.example/v1/a\n")
    _check(result)
    assert result.auth_type == "BASIC"
    assert any("UTF-8" in m for m in result.missing)


def test_adversarial_values() -> None:
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "\r\n\x00<script>"},
        "servers": [{"url": "https://evil.example:99999/\r\n../{x}", "variables": {"x": 5}}],
        "components": {
            "securitySchemes": {
                "a": {"type": "apiKey", "in": "header", "name": "Host"},
                "b": {"type": "apiKey", "in": "header", "name": "X-Key\r\nInjected: 1"},
                "c": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": "javascript:alert(1)",
                            "tokenUrl": "https://user:pw@evil.example/token",
                            "scopes": {"bad scope": "x", "ok": "\n" * 3},
                        }
                    },
                },
            }
        },
        "paths": {"/../../etc": {}, "/..": {}},
    }
    result = infer(openapi=json.dumps(doc))
    _check(result)
    assert result.provider is None
    assert len(result.missing) >= 3


def test_html_edge_cases_never_raise() -> None:
    for page in [
        "<html><script>" * 1000,
        "<" * 10_000,
        "<!doctype html><![CDATA[" + "curl " * 1000,
        "<html><body>" + "<code>curl -H 'X-Key: " * 500,
        "curl " * 5000,
        "scope\n" + "- `a`\n" * 2000,
    ]:
        _check(infer(docs=page))

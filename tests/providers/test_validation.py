"""The validator in-process: edge cases, and a property test that it never raises anything
but InvalidArgument on arbitrary JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authrelay.errors import InvalidArgument
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist
from authrelay_client.providers.identifiers import derive_identifier

ALLOW = UpstreamAllowlist(["127.0.0.0/8", "localhost", "*.internal.test"])
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "examples"


def violations(raw: Any) -> dict[str, str]:
    try:
        validate_definition(raw, ALLOW)
    except InvalidArgument as exc:
        return {v.field: v.description for v in exc.violations}
    return {}


def test_identifier_derivation() -> None:
    assert derive_identifier("My Asana") == "myasana"
    assert derive_identifier("Google-Calendar 2") == "googlecalendar2"


def test_allowlisted_http_hosts() -> None:
    base = json.loads((EXAMPLES / "bearer.json").read_text())
    for url in ("http://127.0.0.1:9000", "http://localhost/api", "http://svc.internal.test"):
        assert violations(dict(base, proxy_url=url)) == {}
    assert "proxy_url" in violations(dict(base, proxy_url="http://10.0.0.1"))
    assert "proxy_url" in violations(dict(base, proxy_url="http://{{domain}}.internal.test"))


def test_path_params_and_oauth_account_fields() -> None:
    oauth = json.loads((EXAMPLES / "oauth_asana.json").read_text())
    good = copy.deepcopy(oauth)
    good["proxy_url"] = "https://api.example.com/ex/{{cloud_id}}/{{version}}"
    good["auth_patterns"][0]["account_fields"] = [
        {"field_name": "cloud_id", "is_path_param": True},
        {"field_name": "version"},
    ]
    assert violations(good) == {}
    good["proxy_url"] = "https://api.example.com/{{domain}}"
    assert "proxy_url" in violations(good)


def test_mcp_pattern_needs_no_endpoints() -> None:
    mcp = {
        "display_name": "Remote MCP",
        "auth_patterns": [
            {"type": "OAUTH", "is_mcp": True, "oauth_config": {"pkce_enabled": True}}
        ],
        "proxy_url": "https://mcp.example.com/mcp",
        "proxy_enabled": True,
    }
    assert violations(mcp) == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
keys = st.sampled_from(
    [
        "display_name",
        "auth_patterns",
        "proxy_url",
        "proxy_enabled",
        "metadata",
        "description",
        "icon_src",
        "type",
        "fields",
        "oauth_config",
        "field_name",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(keys, json_values, max_size=7) | json_values)
def test_arbitrary_json_never_crashes(raw: Any) -> None:
    try:
        validate_definition(raw, ALLOW)
    except InvalidArgument as exc:
        assert exc.violations and all(v.field and v.description for v in exc.violations)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_examples_never_crash(data: st.DataObject) -> None:
    base = json.loads(
        (
            EXAMPLES / data.draw(st.sampled_from(sorted(p.name for p in EXAMPLES.glob("*.json"))))
        ).read_text()
    )
    pattern = base["auth_patterns"][0]
    target = data.draw(st.sampled_from([base, pattern, *pattern.get("fields", [])]))
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(json_values)
    try:
        validate_definition(base, ALLOW)
    except InvalidArgument as exc:
        assert exc.violations

"""The shipped built-in tools: every one valid by the same rules as a hand-written tool,
named `{provider}_{operation}`, of a catalog provider, with the page it follows."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from authrelay.providers.catalog import load_catalog
from authrelay.store.builtin_tools import (
    BuiltinToolError,
    builtin_by_id,
    builtin_by_name,
    builtin_tools,
    parse_tool_file,
    select_builtin,
)
from authrelay.tools.model import validate_tool
from authrelay.tools.views import input_json
from tests.tools.builtin_cases import CASES

FOLDER = resources.files("authrelay.providers") / "catalog" / "tools"
TOOLS = builtin_tools()


def test_at_least_60_tools_over_at_least_10_catalog_providers() -> None:
    per_provider = Counter(t.provider_identifier for t in TOOLS)
    assert len(TOOLS) >= 60 and len(per_provider) >= 10, per_provider
    catalog = load_catalog()
    for provider in per_provider:
        entry = catalog.get(provider)
        assert entry is not None and entry.definition.proxy_enabled, provider
    # every tool has exactly one case in the execution table
    assert sorted(c.tool for c in CASES) == sorted(t.name for t in TOOLS)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_each_tool_is_a_valid_tool(tool: Any) -> None:
    body = input_json(tool)
    parsed = validate_tool(body)  # the validator of POST /api/v1/tools
    assert parsed.definition.name == tool.name
    schema = tool.definition["input_schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema.get("additionalProperties") is False
    assert tool.name.startswith(f"{tool.provider_identifier}_") and len(tool.name) <= 64
    assert tool.name == tool.name.lower() and tool.name.replace("_", "").isalnum()
    assert tool.definition["description"] and tool.definition["annotations"]["title"]
    assert tool.tool_metadata["docs"].startswith("https://")
    assert tool.is_default and tool.source == "builtin" and tool.seq < 0
    assert builtin_by_name(tool.name) is tool and builtin_by_id(tool.id) is tool
    annotations = tool.definition["annotations"]
    if tool.binding["method"] == "GET":
        assert annotations["read_only_hint"] and not annotations["destructive_hint"]
    if tool.binding["method"] == "DELETE":
        assert annotations["destructive_hint"] and not annotations["read_only_hint"]


def test_the_sample_inputs_fit_the_schemas() -> None:
    for case in CASES:
        tool = builtin_by_name(case.tool)
        assert tool is not None
        errors = list(
            Draft202012Validator(tool.definition["input_schema"]).iter_errors(case.params)
        )
        assert not errors, (case.tool, [e.message for e in errors])


def test_ids_are_stable_and_seq_orders_files() -> None:
    assert len({t.id for t in TOOLS}) == len(TOOLS)
    assert [t.seq for t in TOOLS] == sorted(t.seq for t in TOOLS)
    assert TOOLS[-1].seq == -1
    github = select_builtin(providers=["github"])
    assert github and all(t.provider_identifier == "github" for t in github)
    assert select_builtin(names=["slack_send_message"])[0].name == "slack_send_message"
    after = select_builtin(after_seq=TOOLS[-3].seq)
    assert [t.name for t in after] == [t.name for t in TOOLS[-2:]]


def _file(tool: dict[str, Any], provider: str = "github") -> dict[str, Any]:
    return {"provider": provider, "docs": "https://docs.github.com/en/rest", "tools": [tool]}


def _tool(name: str, path: str = "/user", **schema: Any) -> dict[str, Any]:
    return {
        "definition": {"name": name, "input_schema": {"type": "object", **schema}},
        "binding": {"method": "GET", "path": path},
    }


def test_a_bad_file_stops_the_load_naming_the_problem() -> None:
    assert parse_tool_file("github.json", _file(_tool("github_ok")))[0]["provider"] == "github"
    with pytest.raises(BuiltinToolError, match="provider must match"):
        parse_tool_file("slack.json", _file(_tool("github_ok")))
    with pytest.raises(BuiltinToolError, match="github_<operation>"):
        parse_tool_file("github.json", _file(_tool("slack_ok")))
    with pytest.raises(BuiltinToolError, match="github_<operation>"):
        parse_tool_file("github.json", _file(_tool("github-Upper")))
    with pytest.raises(BuiltinToolError, match=r"binding\.path"):
        parse_tool_file("github.json", _file(_tool("github_x", path="/repos/{owner}")))
    with pytest.raises(BuiltinToolError, match="input_schema"):
        parse_tool_file("github.json", _file(_tool("github_x", properties={"a": {"type": 5}})))
    with pytest.raises(BuiltinToolError, match="docs"):
        parse_tool_file("github.json", {**_file(_tool("github_x")), "docs": "http://x"})
    with pytest.raises(BuiltinToolError, match="expected"):
        parse_tool_file("github.json", [])


def test_shipped_files_are_named_after_their_provider() -> None:
    files = sorted(p.name for p in FOLDER.iterdir() if p.name.endswith(".json"))
    assert len(files) >= 10
    for name in files:
        data = json.loads((FOLDER / name).read_text())
        assert name == f"{data['provider']}.json"


def test_upstream_override_points_builtin_providers_at_one_base() -> None:
    catalog = load_catalog("http://127.0.0.1:9/up")
    github, jira = catalog.get("github"), catalog.get("jira")
    assert github is not None and jira is not None
    assert github.definition.proxy_url == "http://127.0.0.1:9/up/github"
    assert jira.definition.proxy_url == "http://127.0.0.1:9/up/jira"  # template replaced
    plain = load_catalog().get("github")
    assert plain is not None and plain.definition.proxy_url == "https://api.github.com"


def test_fixed_headers_are_checked() -> None:
    body = {"provider": "notion", **_tool("notion_x")}
    body["binding"]["headers"] = {"Authorization": "x", "Bad Name": "y", "X-Ok": "a\nb"}
    with pytest.raises(Exception) as info:
        validate_tool(body)
    fields = {v.field for v in info.value.violations}  # type: ignore[attr-defined]
    assert "binding.headers.Authorization" in fields
    assert any(f.startswith("binding.headers") and "Bad Name" in f for f in fields)
    assert any("X-Ok" in f for f in fields)


def test_docs_list_every_builtin_tool_with_its_page() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "tools.md").read_text()
    providers = Counter(t.provider_identifier for t in TOOLS)
    assert f"**{len(TOOLS)} tools for {len(providers)} providers of the catalog**" in text
    for tool in TOOLS:
        row = f"| `{tool.name}` | `{tool.binding['method']} {tool.binding['path']}` |"
        assert row in text and tool.tool_metadata["docs"] in text, tool.name
    for provider, count in providers.items():
        assert f"(`{provider}`, {count} tools)" in text, provider

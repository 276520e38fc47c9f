"""The provider diff: only the compared fields, nested and keyed, scopes called out."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from authrelay_client.providers.diff import (
    definition_of,
    diff_definitions,
    diff_values,
    scope_changes,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "examples"


def asana() -> dict[str, object]:
    return dict(json.loads((EXAMPLES / "oauth_asana.json").read_text()))


def test_no_change_and_reordering_is_not_a_change() -> None:
    old = asana()
    assert diff_definitions(old, copy.deepcopy(old)) == []
    new = copy.deepcopy(old)
    scopes = new["auth_patterns"][0]["oauth_config"]["available_scopes"]  # type: ignore[index]
    scopes.reverse()
    assert diff_definitions(old, new) == []


def test_nested_keyed_paths_and_scopes() -> None:
    old = asana()
    new = copy.deepcopy(old)
    pattern = new["auth_patterns"][0]  # type: ignore[index]
    pattern["oauth_config"]["available_scopes"] = [
        s for s in pattern["oauth_config"]["available_scopes"] if s["scope"] != "email"
    ]
    pattern["oauth_config"]["available_scopes"].append(
        {"scope": "tasks:read", "display_name": "Tasks", "description": "", "required": False}
    )
    pattern["oauth_config"]["token_uri"] = "https://app.asana.com/-/oauth_token2"
    new["proxy_enabled"] = False
    new["metadata"] = {"ignored": "yes"}  # not a compared field
    changes = {c.path: c for c in diff_definitions(old, new)}
    assert set(changes) == {
        "auth_patterns[OAUTH].oauth_config.available_scopes[email]",
        "auth_patterns[OAUTH].oauth_config.available_scopes[tasks:read]",
        "auth_patterns[OAUTH].oauth_config.token_uri",
        "proxy_enabled",
    }
    assert changes["auth_patterns[OAUTH].oauth_config.available_scopes[email]"].kind == "removed"
    assert changes["auth_patterns[OAUTH].oauth_config.available_scopes[tasks:read]"].kind == "added"
    assert changes["proxy_enabled"].kind == "changed"
    assert scope_changes(old, new) == (["tasks:read"], ["email"])


def test_against_nothing_everything_is_added() -> None:
    changes = diff_definitions(None, asana())
    assert changes and all(c.kind == "added" for c in changes)


def test_definition_of_a_provider_response() -> None:
    response = {
        **asana(),
        "id": "prv_x",
        "identifier": "myasana",
        "etag": "1-a",
        "icon_src": "",
        "is_custom": True,
    }
    definition = definition_of(response)
    assert (
        "id" not in definition
        and "icon_src" not in definition
        and definition["display_name"] == "My Asana"
    )


def test_diff_values_walks_any_json_for_the_audit_log() -> None:
    created = diff_values(None, {"key_id": "a", "config": {"scopes": ["x"]}})
    assert [(c.path, c.kind) for c in created] == [("config", "added"), ("key_id", "added")]
    deleted = diff_values({"enabled": True}, None)
    assert [(c.path, c.kind, c.old) for c in deleted] == [("enabled", "removed", True)]
    changed = diff_values({"enabled": True, "n": 1}, {"enabled": False, "n": 1})
    assert [(c.path, c.old, c.new) for c in changed] == [("enabled", True, False)]
    assert diff_values(None, None) == []

"""Shared helpers for the inference tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from authrelay.providers.infer import InferenceResult
from authrelay.providers.validation import validate_definition
from authrelay_client.providers.allowlist import UpstreamAllowlist

FIXTURES = Path(__file__).parent / "fixtures"


def read(kind: str, name: str) -> str:
    return (FIXTURES / kind / name).read_text(encoding="utf-8")


def pattern(result: InferenceResult) -> dict[str, Any]:
    assert result.provider is not None, result.missing
    validate_definition(result.provider, UpstreamAllowlist([]))
    first: dict[str, Any] = result.provider["auth_patterns"][0]
    return first


def names(fields: list[dict[str, Any]]) -> list[str]:
    return [f["field_name"] for f in fields]

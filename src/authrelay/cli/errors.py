"""One rule for every command: an error is one line on standard error (or one JSON object
on standard output with --json) and a non-zero exit, never a traceback.

Set AUTHRELAY_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict


def message_of(exc: BaseException) -> str:
    """The text shown for an error: the server's message and every bad field."""
    from authrelay_client._exceptions import ApiError

    if isinstance(exc, ApiError):
        text = exc.message or str(exc)
        violations = exc.field_violations
        fields = "; ".join(f"{v.get('field')}: {v.get('description')}" for v in violations)
        return f"{text} ({fields})" if fields and fields not in text else text
    text = str(exc).strip()
    return text or type(exc).__name__


def _code_of(exc: BaseException) -> str | None:
    """The google.rpc code's name of an error answer of the server (None for other errors)."""
    from authrelay_client._exceptions import ApiError
    from authrelay_client.codes import Code

    return Code.name_of(exc.code) if isinstance(exc, ApiError) else None


class ErrorReport(TypedDict):
    """What `--json` prints for a failed command."""

    ok: bool
    error: str
    error_type: str
    code: NotRequired[str]
    url: NotRequired[str]


def report(exc: BaseException, as_json: bool) -> None:
    text = " ".join(message_of(exc).split())  # one line, whatever the server sent
    if as_json:
        body: ErrorReport = {"ok": False, "error": text, "error_type": type(exc).__name__}
        code = _code_of(exc)
        if code is not None:
            body["code"] = code
        url = getattr(exc, "url", None)
        if url:
            body["url"] = url
        print(json.dumps(body, indent=2))
    else:
        print(f"❌ {text}", file=sys.stderr)


def run(app: Callable[[], Any]) -> None:
    """Run the Typer app; turn whatever escapes it into one line and exit 1."""
    from authrelay.cli.profiles import ProfileError
    from authrelay_client._exceptions import AuthrelayClientError

    as_json = "--json" in sys.argv[1:]
    try:
        app()
    except (AuthrelayClientError, ProfileError) as exc:
        report(exc, as_json)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("AUTHRELAY_DEBUG"):
            raise
        report(
            RuntimeError(
                f"unexpected error ({type(exc).__name__}: {message_of(exc)}); "
                "set AUTHRELAY_DEBUG=1 to see where"
            ),
            as_json,
        )
        sys.exit(1)

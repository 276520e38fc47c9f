"""What the hosted pages of a flow show (`web/` renders them): a message, the form, the
redirect to the provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from authrelay.accounts.service import Target
from authrelay_client.providers.model import InputField

LINK_PATH = "/connect/"


@dataclass
class Page:
    """What a hosted page shows; `web/` renders it."""

    template: str
    status: int = HTTPStatus.OK
    context: dict[str, Any] = field(default_factory=dict)
    redirect: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)


def error_page(title: str, message: str, status: int = HTTPStatus.BAD_REQUEST) -> Page:
    return Page("message.html", status, {"title": title, "message": message, "ok": False})


def done_page(name: str, return_url: str | None = None) -> Page:
    """The flow is done: a message, or back to where it was started from (`return_url`,
    set by the server only: the MCP consent page)."""
    if return_url:
        return Page("redirect", HTTPStatus.SEE_OTHER, redirect=return_url)
    return Page(
        "message.html",
        HTTPStatus.OK,
        {
            "title": "Connected",
            "ok": True,
            "message": f"Your {name} account is connected. You can close this page.",
        },
    )


def ask_intro(name: str) -> str:
    """The form's introduction when an OAuth flow asks for fields before its redirect."""
    return f"Tell us which {name} account to connect; you sign in to {name} next."


def form_page(
    flow_id: str,
    csrf: str,
    target: Target,
    name: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = HTTPStatus.OK,
    *,
    specs: list[InputField] | None = None,
    intro: str = "",
) -> Page:
    fields = [
        {
            "name": f.field_name,
            "label": f.label or f.field_name.replace("_", " ").capitalize(),
            "hint": f.hint,
            "required": f.required,
            "type": f.input_type,
            "options": f.options or [],
            "value": "" if f.input_type == "password" else values.get(f.field_name, ""),
            "error": errors.get(f.field_name, ""),
        }
        for f in (target.pattern.fields if specs is None else specs)
    ]
    labels = {f["name"]: f["label"] for f in fields}
    return Page(
        "form.html",
        status,
        {
            "title": f"Connect {name}",
            "provider": name,
            "action": f"{LINK_PATH}flow/{flow_id}",
            "csrf": csrf,
            "fields": fields,
            "intro": intro,
            # The summary names each field by the label the user sees next to it.
            "errors": [
                f"{labels[key]}: {text}" if key in labels else text
                for key, text in errors.items()
                if text
            ],
        },
        cookies={f"authrelay_csrf_{flow_id}": csrf},
    )

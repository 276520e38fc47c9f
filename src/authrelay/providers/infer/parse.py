"""Reading untrusted documents defensively: size caps, JSON/YAML, HTML to text.

Nothing here raises: every problem is returned as a sentence for ``missing``.
"""

from __future__ import annotations

import importlib
import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

MAX_BYTES = 5_000_000  # documents larger than this are not parsed (OpenAPI) or cut (docs)
MAX_NODES = 1_000_000  # a parsed document may expand to at most this many values

try:
    _yaml: Any = importlib.import_module("yaml")
except ImportError:  # pragma: no cover - PyYAML is installed with authrelay
    _yaml = None


def to_text(data: str | bytes, what: str, missing: list[str], *, cut: bool) -> str | None:
    """Decode and cap a document. With ``cut`` an oversized one is truncated, else skipped."""
    size = len(data)
    unit = "bytes" if isinstance(data, bytes) else "characters"
    if size > MAX_BYTES:
        if not cut:
            missing.append(
                f"the {what} is {size} {unit}, over the {MAX_BYTES} limit: it was not read"
            )
            return None
        missing.append(
            f"the {what} is {size} {unit}: only the first {MAX_BYTES} were read, the rest skipped"
        )
        data = data[:MAX_BYTES]
    if isinstance(data, bytes):
        text = data.decode("utf-8", errors="replace")
        if "\ufffd" in text:
            missing.append(f"the {what} is not valid UTF-8: undecodable bytes were replaced")
    else:
        text = data
    return text.lstrip("\ufeff")


def _count_nodes(value: Any, limit: int) -> bool:
    """True when `value` expands to at most `limit` values (YAML aliases count each time)."""
    stack: list[Any] = [value]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > limit:
            return False
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
    return True


def load_structured(text: str, what: str, missing: list[str]) -> Any:
    """Parse JSON or YAML text; None (with a reason in `missing`) when it cannot be read."""
    stripped = text.strip()
    if not stripped:
        missing.append(f"the {what} is empty")
        return None
    doc: Any = None
    json_error = ""
    try:
        doc = json.loads(stripped)
    except RecursionError:
        missing.append(f"the {what} is nested too deeply to read")
        return None
    except Exception as exc:  # any malformed JSON
        json_error = str(exc)[:200]
        doc = None
    if doc is None and json_error:
        if _yaml is None:
            missing.append(
                f"the {what} is not valid JSON ({json_error}) and YAML support (PyYAML) is "
                "not installed"
            )
            return None
        try:
            doc = _yaml.safe_load(stripped)
        except RecursionError:
            missing.append(f"the {what} is nested too deeply to read")
            return None
        except Exception as exc:  # any YAML error, including constructor errors
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            missing.append(f"the {what} is neither valid JSON nor valid YAML ({first})")
            return None
    if doc is None:
        missing.append(f"the {what} holds no data (null or only comments)")
        return None
    try:
        small = _count_nodes(doc, MAX_NODES)
    except Exception:
        small = False
    if not small:
        missing.append(
            f"the {what} expands to more than {MAX_NODES} values (YAML alias bomb?): not read"
        )
        return None
    return doc


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset(
        "p div br li ul ol pre h1 h2 h3 h4 h5 h6 tr table section article header footer "
        "blockquote dt dd hr".split()
    )
    _SKIP = frozenset({"script", "style", "noscript", "svg", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: str | None = None
        self.h1: str | None = None
        self._skip = 0
        self._in: str | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "code":
            self.parts.append("`")
        if tag in ("title", "h1") and self._in is None:
            self._in = tag
            self._buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag == "code":
            self.parts.append("`")
        if tag == self._in:
            text = " ".join("".join(self._buffer).split())[:300]
            if tag == "title" and self.title is None:
                self.title = text
            elif tag == "h1" and self.h1 is None:
                self.h1 = text
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in is not None:
            self._buffer.append(data)
        if self._in != "title":
            self.parts.append(data)


_TAG = re.compile(r"<[^<>]{0,2000}>")
_HTML_HINT = re.compile(r"<(?:!doctype|html|body|head|div|p|pre|code|h[1-6]|title)\b", re.I)


def looks_like_html(text: str) -> bool:
    return _HTML_HINT.search(text[:20000]) is not None


def html_to_text(text: str) -> tuple[str, str | None]:
    """The visible text of an HTML page (code kept in backticks) and its title."""
    parser = _TextExtractor()
    try:
        parser.feed(text)
        parser.close()
        return "".join(parser.parts), parser.title or parser.h1
    except Exception:
        return unescape(_TAG.sub(" ", text)), None


_MD_TITLE = re.compile(r"^\s{0,3}#\s+(.{1,300})$", re.M)


def markdown_title(text: str) -> str | None:
    match = _MD_TITLE.search(text[:200_000])
    return match.group(1).strip().strip("#").strip() if match else None

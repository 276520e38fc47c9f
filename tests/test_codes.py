"""The google.rpc codes written once (`authrelay_client.codes.Code`) and read the same way by the
server's errors, the SDK and the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import authrelay.errors as server_errors
import authrelay_client.codes
from authrelay.cli.errors import _code_of
from authrelay_client._exceptions import BY_CODE, ApiError, api_error
from authrelay_client.codes import Code


def test_numbers_names_and_statuses() -> None:
    assert [(int(c), c.name) for c in Code][:4] == [
        (0, "OK"),
        (1, "CANCELLED"),
        (2, "UNKNOWN"),
        (3, "INVALID_ARGUMENT"),
    ]
    assert len(Code) == 17 and Code(16) is Code.UNAUTHENTICATED
    assert Code.FAILED_PRECONDITION.http_status == 412  # SPEC §2's choice, docs/api.md
    assert Code.ALREADY_EXISTS.http_status == Code.ABORTED.http_status == 409
    assert Code.name_of(5) == "NOT_FOUND" and Code.name_of(99) == "99"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, Code.INVALID_ARGUMENT),
        (401, Code.UNAUTHENTICATED),
        (403, Code.PERMISSION_DENIED),
        (404, Code.NOT_FOUND),
        (405, Code.UNIMPLEMENTED),
        (409, Code.ALREADY_EXISTS),
        (412, Code.FAILED_PRECONDITION),
        (413, Code.INVALID_ARGUMENT),
        (500, Code.INTERNAL),
        (502, Code.UNAVAILABLE),
        (504, Code.DEADLINE_EXCEEDED),
        (418, Code.UNKNOWN),
    ],
)
def test_status_to_code(status: int, code: Code) -> None:
    assert Code.for_http_status(status) is code
    assert ApiError(status, {}).code == code  # an answer without a body: the SDK agrees


def test_every_server_error_class_answers_with_its_codes_status_or_says_why() -> None:
    deliberate = {"PayloadTooLarge": 413, "RequestTimeout": 408, "Unavailable": 502}
    classes = [
        cls
        for cls in vars(server_errors).values()
        if isinstance(cls, type)
        and issubclass(cls, server_errors.AuthrelayError)
        and cls.code is not Code.UNKNOWN  # the root and IncompleteRequest: never answered
    ]
    assert len(classes) >= 10
    for cls in classes:
        assert isinstance(cls.code, Code), cls
        expected = deliberate.get(cls.__name__, cls.code.http_status)
        assert cls.http_status == expected, cls
        # the SDK raises the class of the same code for the server's answer
        raised = api_error(cls.http_status, {"code": cls.code, "message": "m"})
        assert raised.code == cls.code
        if cls.code in BY_CODE:
            assert type(raised) is BY_CODE[cls.code]


def test_the_cli_names_the_code() -> None:
    assert _code_of(api_error(409, {"code": 6, "message": "taken"})) == "ALREADY_EXISTS"
    assert _code_of(RuntimeError("x")) is None


def test_codes_module_imports_nothing_of_authrelay() -> None:
    tree = ast.parse(Path(authrelay_client.codes.__file__).read_text(encoding="utf-8"))
    nodes = list(ast.walk(tree))
    modules = {n.module for n in nodes if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
    assert modules == {"__future__", "enum"}


ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "src", ROOT / "client" / "src")
DEFINITION = Path(authrelay_client.codes.__file__).resolve()


def _int(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def _ints(node: ast.AST) -> bool:
    """An int literal, or a tuple, list or set of them (`code in (5, 9)`)."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts) and all(_int(e) for e in node.elts)
    return _int(node)


def _names_code(node: ast.AST) -> bool:
    """`code`, `x.code`, `x["code"]` or `x.get("code")`."""
    if isinstance(node, ast.Name):
        return node.id == "code"
    if isinstance(node, ast.Attribute):
        return node.attr == "code"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "code"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        first = node.args[0] if node.args else None
        return node.func.attr == "get" and isinstance(first, ast.Constant) and first.value == "code"
    return False


def _is_code_member(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Code"
    )


def literal_codes(source: str) -> list[tuple[int, str]]:
    """(line, what) for every google.rpc code or status-to-code mapping written as a number:
    `code == 5`, `code in (5, 9)`, `code = 16`, `f(code=3)`, `{"code": 3}`, `Code(5)` and a
    dict from HTTP statuses to `Code` members."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_names_code(o) for o in operands) and any(_ints(o) for o in operands):
                found.append((node.lineno, "a code compared with a number"))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and _int(node.value) and any(map(_names_code, targets)):
                found.append((node.lineno, "a code assigned a number"))
        elif isinstance(node, ast.keyword):
            if node.arg == "code" and _int(node.value):
                found.append((node.lineno, "code= given a number"))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code" and _int(value):
                    found.append((node.lineno, '"code" mapped to a number'))
                elif key is not None and _int(key) and _is_code_member(value):
                    found.append((node.lineno, "a status mapped to a Code member"))
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "Code":
                if node.args and _int(node.args[0]):
                    found.append((node.lineno, "Code(number)"))
    return found


@pytest.mark.parametrize(
    "line",
    [
        "if code == 5: pass",
        "if err.code != 16: pass",
        "ok = body['code'] in (3, 9)",
        "ok = 9 == body.get('code')",
        "code = 3",
        "class E:\n    code: int = 5",
        "raise E('m', code=16)",
        "body = {'code': 3, 'message': 'm'}",
        "BY_STATUS = {404: Code.NOT_FOUND}",
        "c = Code(5)",
    ],
)
def test_the_scan_finds_literal_codes(line: str) -> None:
    assert literal_codes(line)


@pytest.mark.parametrize(
    "line",
    [
        "if code is Code.NOT_FOUND: pass",
        "body = {'code': int(Code.INVALID_ARGUMENT)}",
        "status_code = 404",
        "code = Code.for_http_status(404)",
        "n = {'count': 3}",
    ],
)
def test_the_scan_passes_codes_by_name(line: str) -> None:
    assert literal_codes(line) == []


def test_no_literal_codes_outside_their_definition() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for root in SOURCES
        for path in sorted(root.rglob("*.py"))
        if path.resolve() != DEFINITION
        for line, what in literal_codes(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "use authrelay_client.codes.Code:\n" + "\n".join(found)

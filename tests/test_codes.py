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

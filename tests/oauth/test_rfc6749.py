"""The OAuth client's token-response parsing and authorization URL (RFC 6749), in-process."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from authrelay.oauth import rfc6749
from authrelay.oauth.rfc7636 import new_verifier, s256_challenge


def test_refresh_token_kept_when_not_rotated() -> None:
    tokens = rfc6749.parse_token_response(200, '{"access_token": "a", "expires_in": 60}', "old-rt")
    assert tokens.refresh_token == "old-rt" and tokens.expires_at is not None
    rotated = rfc6749.parse_token_response(
        200, '{"access_token": "a", "refresh_token": "new"}', "old-rt"
    )
    assert rotated.refresh_token == "new" and rotated.expires_at is None
    scoped = rfc6749.parse_token_response(
        200, '{"access_token": "a", "scope": "read,write x"}', None
    )
    assert scoped.scopes == ["read", "write", "x"]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, '{"error": "invalid_grant"}', rfc6749.InvalidGrant),
        (
            401,
            '{"error": "invalid_client", "error_description": "bad"}',
            rfc6749.TokenEndpointError,
        ),
        (200, "<html>", rfc6749.TokenEndpointError),
        (200, "[1]", rfc6749.TokenEndpointError),
        (200, '{"token_type": "bearer"}', rfc6749.TokenEndpointError),
        (500, "", rfc6749.TokenEndpointError),
    ],
)
def test_errors(status: int, body: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        rfc6749.parse_token_response(status, body, None)


def test_an_error_answer_shows_only_a_code_and_one_line_of_description() -> None:
    """What the 412 message may quote (docs/api.md): an RFC 6749 §5.2 error code and one
    line of at most 300 characters of `error_description`; an `error` that is no such code
    (an internal service's JSON, a stack trace) becomes `server_error`, other keys are never
    shown."""
    body = {
        "error": "Traceback (most recent call last):\n  File internal.py",
        "error_description": "line one\n\tline two " + "x" * 400,
        "config": {"db_password": "internal-value"},
    }
    with pytest.raises(rfc6749.TokenEndpointError) as failed:
        rfc6749.parse_token_response(500, json.dumps(body), None)
    assert failed.value.error == "server_error"
    assert failed.value.description == ("line one line two " + "x" * 400)[:300]
    assert "internal-value" not in str(failed.value)
    with pytest.raises(rfc6749.TokenEndpointError) as coded:
        rfc6749.parse_token_response(
            401, '{"error": "invalid_client", "error_description": 7}', None
        )
    assert (coded.value.error, coded.value.description) == ("invalid_client", "HTTP 401")


def test_authorization_url_and_pkce() -> None:
    verifier = new_verifier()
    assert 43 <= len(verifier) <= 128
    url = rfc6749.authorization_url(
        "https://auth.example.com/authorize?tenant=1",
        client_id="c",
        redirect_uri="https://r/cb",
        state="s",
        scopes=["a", "b"],
        scope_param="user_scope",
        scope_separator=",",
        code_challenge=s256_challenge(verifier),
        extra={"prompt": "consent", "state": "evil"},
    )
    query = parse_qs(urlsplit(url).query)
    assert query["tenant"] == ["1"] and query["user_scope"] == ["a,b"] and query["state"] == ["s"]
    assert query["code_challenge_method"] == ["S256"] and query["prompt"] == ["consent"]
    # RFC 7636 appendix B
    assert (
        s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )

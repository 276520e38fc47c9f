"""The MCP authorization server's refusals, in OAuth's own terms (RFC 6749 §4.1.2.1 and
§5.2, RFC 7591 §3.2.2, RFC 7009 §2.2.1), not the API's SPEC §2 envelope: OAuth clients read
`{"error", "error_description"}`."""

from __future__ import annotations

from http import HTTPStatus


class OAuthError(Exception):
    """An OAuth error answered as JSON (token, registration, revocation endpoints) or, once
    the client and its redirect URI are known, as a redirect to the client."""

    def __init__(self, error: str, description: str, status: int = HTTPStatus.BAD_REQUEST):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class AuthorizePageError(Exception):
    """An authorization request that cannot go back to the client (unknown client, redirect
    URI not registered, a bad hand-off): answered with a page, never a redirect (RFC 6749
    §4.1.2.1), so an attacker cannot use authrelay as an open redirector."""

    def __init__(self, description: str, status: int = HTTPStatus.BAD_REQUEST):
        super().__init__(description)
        self.description = description
        self.status = status


class AuthorizeRedirectError(Exception):
    """An authorization error sent back to the client's (checked) redirect URI."""

    def __init__(self, redirect_uri: str, state: str, error: str, description: str):
        super().__init__(description)
        self.redirect_uri = redirect_uri
        self.state = state
        self.error = error
        self.description = description

"""`oauth_config.token_params`: extra token-request parameters, templates filled from the
account's values. A filled value passes the same check as a path placeholder (one segment of
letters, digits, '.', '_', '~', '-'): no CR/LF, '..', '@', '#', ':' or '/' get through."""

from __future__ import annotations

import re

from authrelay.errors import FailedPrecondition
from authrelay_client.providers.model import AuthPattern
from authrelay_client.providers.urls import PLACEHOLDER, placeholder_value_problem


def token_params(pattern: AuthPattern, values: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The pattern's token_params with each {{field}} filled from `values`; raises
    FailedPrecondition naming the field when a value is missing or not allowed."""
    oauth = pattern.oauth_config
    if oauth is None or not oauth.token_params:
        return ()

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name, "")
        problem = placeholder_value_problem(name, value)
        if problem:
            raise FailedPrecondition(
                f"the connected account's value for {{{{{name}}}}} (used in "
                f"oauth_config.token_params) {problem}; update the connected account"
            )
        return value

    return tuple((key, PLACEHOLDER.sub(repl, tpl)) for key, tpl in oauth.token_params.items())

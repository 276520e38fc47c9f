"""What a connected account keeps encrypted (`connected_accounts.secret_ct`), and the one
place that reads and the one that writes it.

OAuth accounts hold their tokens; static accounts (API key, basic, bearer, token exchange)
and client-credentials accounts hold their field values; a client-credentials account also
its last access token, a token-exchange account its last exchanged token.
"""

from __future__ import annotations

import json

from typing_extensions import TypedDict

from authrelay.vault import KeyRing
from authrelay.vault.contexts import account_context


class ExchangedToken(TypedDict):
    token: str


class AccountSecrets(TypedDict, total=False):
    access_token: str
    refresh_token: str
    #: the pattern's field values (secret and not), by field name
    values: dict[str, str]
    #: values of the proxy URL's `{{placeholders}}`
    path_variables: dict[str, str]
    #: a TOKEN_EXCHANGE account's token, got for `values`
    exchange: ExchangedToken


def decrypt_account_secrets(
    keyring: KeyRing, account_id: str, ciphertext: str | None
) -> AccountSecrets:
    """The account's secrets (empty when it has none yet)."""
    if not ciphertext:
        return {}
    secrets: AccountSecrets = json.loads(keyring.decrypt(ciphertext, account_context(account_id)))
    return secrets


def encrypt_account_secrets(keyring: KeyRing, account_id: str, secrets: AccountSecrets) -> str:
    """The ciphertext to store in the account's `secret_ct`."""
    return keyring.encrypt(json.dumps(secrets), account_context(account_id))

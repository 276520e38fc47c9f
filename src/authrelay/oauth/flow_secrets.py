"""What an authorization flow keeps encrypted (`auth_flows.secret_ct`), and the one place
that reads and the one that writes it.

While the user is at the provider: the PKCE verifier and the host fields the link or form
collected. When the provider has answered and the flow waits for the user's verification
(`PENDING_VERIFICATION`): the tokens, held until `POST .../user/verify` applies them.
"""

from __future__ import annotations

import json

from typing_extensions import TypedDict

from authrelay.vault import KeyRing
from authrelay.vault.contexts import flow_context
from authrelay_client.wire import JSONObject


class FlowSecrets(TypedDict, total=False):
    #: the host fields collected so far (link, form), applied on success
    api_config: dict[str, str]
    #: RFC 7636 verifier, when the connection uses PKCE
    code_verifier: str | None
    # the pending-verification record: the provider's answer, not yet applied
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    scopes: list[str] | None
    user_info: JSONObject | None
    requested: list[str]


def decrypt_flow_secrets(keyring: KeyRing, flow_id: str, ciphertext: str | None) -> FlowSecrets:
    """The flow's secrets (empty when it has none)."""
    if not ciphertext:
        return {}
    secrets: FlowSecrets = json.loads(keyring.decrypt(ciphertext, flow_context(flow_id)))
    return secrets if isinstance(secrets, dict) else {}


def encrypt_flow_secrets(keyring: KeyRing, flow_id: str, secrets: FlowSecrets) -> str:
    """The ciphertext to store in the flow's `secret_ct`."""
    return keyring.encrypt(json.dumps(secrets), flow_context(flow_id))

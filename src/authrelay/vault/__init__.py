"""Encryption of secrets at rest: AES-256-GCM under a key ring."""

from authrelay.vault.keyring import KeyRing, load_keyring
from authrelay.vault.secret import Secret

__all__ = ["KeyRing", "Secret", "load_keyring"]

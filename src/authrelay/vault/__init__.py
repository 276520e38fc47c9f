"""Encryption of secrets at rest: AES-256-GCM under a key ring."""

from authrelay.vault.keyring import KeyRing, load_keyring

__all__ = ["KeyRing", "load_keyring"]

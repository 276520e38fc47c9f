"""The key ring: AES-256-GCM with key ids, context binding, the 0600 key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from authrelay.vault.keyring import VaultError, add_primary_key, key_file, load_keyring


def test_round_trip_context_binding_and_tampering(tmp_path: Path) -> None:
    ring = load_keyring(None, tmp_path)
    sealed = ring.encrypt("s3cret", "account:ca_1")
    assert "s3cret" not in sealed and sealed.startswith(f"v1.{ring.primary_id}.")
    assert ring.decrypt(sealed, "account:ca_1") == "s3cret"
    with pytest.raises(VaultError):
        ring.decrypt(sealed, "account:ca_2")  # a ciphertext cannot be moved to another row
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(VaultError):
        ring.decrypt(tampered, "account:ca_1")
    assert ring.encrypt("s3cret", "x") != ring.encrypt("s3cret", "x")  # fresh nonces


def test_key_file_is_private_and_rotation_keeps_old_keys(tmp_path: Path) -> None:
    ring = load_keyring(None, tmp_path)
    path = key_file(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    old = ring.encrypt("value", "ctx")
    new_kid = add_primary_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.utime(path, (1, 1))  # make the change visible even within one mtime tick
    assert ring.decrypt(old, "ctx") == "value"
    assert ring.encrypt("value", "ctx").split(".")[1] == new_kid
    assert load_keyring(None, tmp_path).primary_id == new_kid


def test_keys_from_the_environment(tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")
    other = base64.urlsafe_b64encode(b"o" * 32).decode().rstrip("=")
    ring = load_keyring(f"new1:{key},old1:{other}", tmp_path)
    assert ring.primary_id == "new1" and set(ring.keys) == {"new1", "old1"}
    assert not key_file(tmp_path).exists()
    for bad in ("", "nokey", "k1:!!!", "k1:" + base64.b64encode(b"short").decode()):
        with pytest.raises(VaultError):
            load_keyring(bad or ",", tmp_path)

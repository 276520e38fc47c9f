"""The key ring: a primary key for writes and older keys for reads.

Ciphertexts are text: ``v1.<key id>.<base64url(nonce || ciphertext || tag)>``. The key id
travels with each ciphertext so rotation can re-encrypt at leisure. The associated data
binds a ciphertext to its purpose (``context``), so one cannot be swapped for another.

Keys come from ``AUTHRELAY_MASTER_KEYS`` (``kid:base64key`` entries, comma separated,
primary first) or from ``<data dir>/master.keys`` (same format, one per line, primary
first), created with mode 0600 on first start. There is no way to run without a key.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE_NAME = "master.keys"
_PREFIX = "v1"


class VaultError(Exception):
    """Raised when a ciphertext cannot be decrypted or the key configuration is invalid."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_entry() -> tuple[str, bytes]:
    return "k" + secrets.token_hex(4), AESGCM.generate_key(bit_length=256)


def format_entry(kid: str, key: bytes) -> str:
    return f"{kid}:{_b64e(key)}"


def parse_entries(text: str) -> list[tuple[str, bytes]]:
    entries: list[tuple[str, bytes]] = []
    for raw in text.replace(",", "\n").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kid, sep, encoded = line.partition(":")
        if not sep or not kid.isalnum():
            raise VaultError("master key entries must look like KEYID:BASE64KEY")
        try:
            key = _b64d(encoded.strip())
        except ValueError as exc:
            raise VaultError(f"master key {kid}: not base64") from exc
        if len(key) != 32:
            raise VaultError(f"master key {kid}: must be 32 bytes (AES-256)")
        entries.append((kid, key))
    if not entries:
        raise VaultError("no master key configured")
    return entries


@dataclass
class KeyRing:
    primary_id: str
    keys: dict[str, AESGCM]
    #: the key file this ring came from; re-read when it changes (rotation by another process)
    source: Path | None = None
    source_mtime: float = 0.0

    @classmethod
    def from_entries(cls, entries: list[tuple[str, bytes]]) -> KeyRing:
        return cls(primary_id=entries[0][0], keys={kid: AESGCM(key) for kid, key in entries})

    def refresh(self) -> None:
        """Pick up a rotated key file: new primary for writes, every key for reads."""
        if self.source is None:
            return
        try:
            mtime = self.source.stat().st_mtime
        except OSError:
            return
        if mtime == self.source_mtime:
            return
        entries = parse_entries(self.source.read_text())
        self.primary_id = entries[0][0]
        self.keys = {kid: AESGCM(key) for kid, key in entries}
        self.source_mtime = mtime

    def encrypt(self, plaintext: str, context: str) -> str:
        self.refresh()
        nonce = os.urandom(12)
        sealed = self.keys[self.primary_id].encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8")
        )
        return f"{_PREFIX}.{self.primary_id}.{_b64e(nonce + sealed)}"

    def decrypt(self, ciphertext: str, context: str) -> str:
        try:
            prefix, kid, body = ciphertext.split(".", 2)
        except ValueError as exc:
            raise VaultError("malformed ciphertext") from exc
        if kid not in self.keys:
            self.refresh()
        if prefix != _PREFIX or kid not in self.keys:
            raise VaultError(f"ciphertext under unknown key {kid!r}")
        raw = _b64d(body)
        try:
            plain = self.keys[kid].decrypt(raw[:12], raw[12:], context.encode("utf-8"))
        except InvalidTag as exc:
            raise VaultError("ciphertext failed authentication") from exc
        return plain.decode("utf-8")

    def key_id_of(self, ciphertext: str) -> str:
        return ciphertext.split(".", 2)[1]


def key_file(data_dir: Path) -> Path:
    return data_dir / KEY_FILE_NAME


def load_keyring(master_keys: str | None, data_dir: Path, *, create: bool = True) -> KeyRing:
    """Build the key ring from configuration, creating the key file on first start."""
    if master_keys:
        return KeyRing.from_entries(parse_entries(master_keys))
    path = key_file(data_dir)
    if not path.exists():
        if not create:
            raise VaultError(f"no master key: set AUTHRELAY_MASTER_KEYS or create {path}")
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        kid, key = new_key_entry()
        tmp = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(format_entry(kid, key) + "\n")
        try:
            os.link(tmp, path)  # atomic: of several processes starting at once, one wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    ring = KeyRing.from_entries(parse_entries(path.read_text()))
    ring.source, ring.source_mtime = path, path.stat().st_mtime
    return ring


def add_primary_key(path: Path) -> str:
    """Put a new key first in the key file (older keys stay for reading); return its id."""
    entries = parse_entries(path.read_text())
    kid, key = new_key_entry()
    lines = [format_entry(kid, key)] + [format_entry(k, v) for k, v in entries]
    tmp = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)  # atomic: readers see the old file or the new one
    return kid

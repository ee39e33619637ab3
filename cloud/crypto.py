"""Field encryption with the master key (AES-GCM); every ciphertext is bound to what it protects."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class DecryptError(Exception):
    """A ciphertext did not authenticate (wrong key, wrong context or tampering)."""


class FieldCipher:
    """AES-256-GCM over small fields; `aad` names the field so ciphertexts cannot be swapped."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        # MAC keys are derived, never the master key itself: a leaked MAC key reveals no field.
        self._mac_root = hmac.new(master_key, b"gatehouse:mac-keys", hashlib.sha256).digest()

    def mac_key(self, purpose: str) -> bytes:
        """A 32-byte HMAC key for one purpose (e.g. signing a page's form), derived from the master key."""
        return hmac.new(self._mac_root, purpose.encode(), hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes, aad: str) -> bytes:
        """nonce || ciphertext+tag."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def decrypt(self, blob: bytes, aad: str) -> bytes:
        """The plaintext of a blob made by encrypt with the same aad."""
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())
        except InvalidTag as err:
            raise DecryptError(f"cannot decrypt field {aad}") from err

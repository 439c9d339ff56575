"""Attachment storage behind one small interface (local directory by default)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    """Where attachment bytes live; keys are random and carry no user input."""

    def save(self, data: bytes) -> str: ...

    def load(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under a directory outside the web root, named by random keys."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    def save(self, data: bytes) -> str:
        """Write ``data`` atomically under a new random key and return the key."""
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(".part")
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return key

    def load(self, key: str) -> bytes:
        """The bytes stored under ``key``."""
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._path(key).unlink(missing_ok=True)

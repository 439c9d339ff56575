"""Accepted files of a failed web submission, kept against the form's one-time submission key.

A form sent back (a wrong captcha, a missing field) must not silently lose the files the
citizen chose: the browser cannot put them back into a file input. The files that passed
their own checks are saved in the storage backend and listed in a small JSON manifest per
submission key (``<instance>/pending-uploads/<key>.json``); the form shows them as "Tệp đã
đính kèm" with a checkbox to keep each one. The next post of the same form takes the kept
ones along; a successful submission discards the set; housekeeping removes what nobody
came back for after :data:`gateway.constants.PENDING_UPLOAD_SECONDS`.

The submission key is 128 random bits only its form knows, so the listing reveals nothing
to anyone else; the manifest holds file names and sizes, never their content.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from channels.base import RawFile
from config.settings import Settings
from gateway.constants import PENDING_UPLOAD_SECONDS
from gateway.storage import Storage
from normalizer.attachment import Kind, check, safe_name

log = logging.getLogger(__name__)
KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # the form's submission key (secrets.token_urlsafe)


@dataclass(frozen=True)
class PendingFile:
    """One kept file: its id on the form, display name, size and where the bytes are."""

    id: str
    filename: str
    size: int
    storage_key: str


def _root(settings: Settings) -> Path:
    return settings.instance_path / "pending-uploads"


def _manifest(settings: Settings, key: str) -> Path | None:
    return _root(settings) / f"{key}.json" if KEY.fullmatch(key) else None


def listed(settings: Settings, *, key: str) -> list[PendingFile]:
    """The files kept for the form ``key`` (none for an unknown or malformed key)."""
    path = _manifest(settings, key)
    if path is None or not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [PendingFile(**row) for row in rows]
    except (ValueError, TypeError):
        log.warning("unreadable pending-upload manifest %s ignored", path.name)
        return []


def _write(settings: Settings, key: str, files: Sequence[PendingFile]) -> None:
    path = _manifest(settings, key)
    assert path is not None
    if not files:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.part")
    tmp.write_text(json.dumps([asdict(f) for f in files], ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def acceptable(files: Sequence[RawFile], *, settings: Settings, room: int) -> list[RawFile]:
    """The files that pass their own checks (type by content, size), at most ``room`` of them."""
    good = [f for f in files if isinstance(check(f.filename, f.data, settings.max_file_bytes), Kind)]
    return good[:max(0, room)]


def keep(settings: Settings, storage: Storage, *, key: str, files: Sequence[RawFile]) -> list[PendingFile]:
    """Add ``files`` (already checked) to the form's kept set; returns the whole set."""
    current = listed(settings, key=key)
    if _manifest(settings, key) is None:
        return current
    for raw in files:
        current.append(PendingFile(id=secrets.token_hex(8), filename=safe_name(raw.filename), size=len(raw.data),
                                   storage_key=storage.save(raw.data)))
    _write(settings, key, current)
    return current


def retain(settings: Settings, storage: Storage, *, key: str, ids: Sequence[str]) -> list[PendingFile]:
    """Keep only the files whose ids are in ``ids`` (the checked boxes); delete the others."""
    current = listed(settings, key=key)
    kept = [f for f in current if f.id in set(ids)]
    for dropped in (f for f in current if f.id not in set(ids)):
        storage.delete(dropped.storage_key)
    if len(kept) != len(current):
        _write(settings, key, kept)
    return kept


def load(storage: Storage, files: Sequence[PendingFile]) -> tuple[RawFile, ...]:
    """The kept files' bytes, as if uploaded again (a file gone from storage is skipped)."""
    out = []
    for item in files:
        try:
            out.append(RawFile(filename=item.filename, data=storage.load(item.storage_key)))
        except FileNotFoundError:
            log.warning("pending upload %s vanished from storage", item.id)
    return tuple(out)


def discard(settings: Settings, storage: Storage, *, key: str) -> None:
    """Forget the form's kept files (after a successful submission: the case has its own copies)."""
    for item in listed(settings, key=key):
        storage.delete(item.storage_key)
    path = _manifest(settings, key)
    if path is not None:
        path.unlink(missing_ok=True)


def expire(settings: Settings, storage: Storage, *, now: float | None = None) -> int:
    """Housekeeping: remove the kept sets untouched for PENDING_UPLOAD_SECONDS; returns how many."""
    root = _root(settings)
    if not root.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - PENDING_UPLOAD_SECONDS
    removed = 0
    for path in root.glob("*.json"):
        try:
            if path.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        discard(settings, storage, key=path.stem)
        removed += 1
    for part in root.glob("*.part"):  # a write interrupted by a crash
        if part.stat().st_mtime < cutoff:
            part.unlink(missing_ok=True)
    return removed

"""Citizen-facing text from ``config/messages.toml``."""

from __future__ import annotations

import tomllib
import unicodedata
from functools import lru_cache
from typing import Any

from config.settings import ROOT

MESSAGES_PATH = ROOT / "config" / "messages.toml"


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    """The parsed message catalogue (NFC-normalized once)."""
    with open(MESSAGES_PATH, "rb") as handle:
        data = tomllib.load(handle)
    return _nfc(data)


def _nfc(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _nfc(v) for k, v in node.items()}
    return unicodedata.normalize("NFC", node) if isinstance(node, str) else node


def text(section: str, key: str, **params: Any) -> str:
    """One message, formatted with ``params``."""
    return str(catalog()[section][key]).strip().format(**params)


def label(field: str) -> str:
    """The Vietnamese label of a form field."""
    return str(catalog()["field_labels"][field])


def field_error(field: str, code: str, limit: int = 0) -> str:
    """A per-field validation message."""
    return text("field_errors", code, label=label(field), limit=limit)


def file_error(name: str, code: str, limit: int = 0) -> str:
    """A message about one attachment (or the batch when ``name`` is empty)."""
    return text("file_errors", code, name=name, limit=limit)


def bounds_error(problem: str, limit: int = 0) -> str:
    """The Vietnamese message for a :class:`normalizer.bounds.Problem` code."""
    key = problem if problem in ("control_chars", "too_long") else "bad_request"
    return text("errors", key, limit=limit)

"""The OpenAPI 3.1 contract of ``/api/v1`` and ``/open311/v2``, served at ``/api/openapi.json``.

The document is written by hand once (``openapi.json`` beside this file); the tests check
it against the running app (every route exists, every response matches its schema).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify

DOCUMENT = Path(__file__).with_name("openapi.json")
bp = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    data: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return data


@bp.get("/openapi.json")
def openapi_json() -> Any:
    """The contract, for integrators and their tools."""
    response = jsonify(document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # public contract: API explorers may fetch it
    return response

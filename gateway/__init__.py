"""PAKN gateway: intake of citizens' reports and petitions from every channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from config.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Flask app factory (the import is deferred so that the worker stays light)."""
    from gateway.app import build

    return build(settings)

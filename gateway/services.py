"""Per-app services (engine, Redis, queue, storage) and the per-request DB session."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app, g
from rq import Queue
from sqlalchemy import Engine
from sqlmodel import Session

from config.settings import Settings
from gateway.db import new_session
from gateway.db import read_session as db_read_session
from gateway.storage import Storage


@dataclass
class Services:
    """What views need; one instance per app."""

    settings: Settings
    engine: Engine
    redis: redis.Redis
    queue: Queue
    storage: Storage


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["pakn"]


def session() -> Session:
    """The request's DB session (closed at teardown)."""
    if "db_session" not in g:
        g.db_session = new_session(services().engine)
    return g.db_session


def read_session() -> Session:
    """The request's DB session for a view that only reads (see :func:`gateway.db.read_session`).

    It becomes the request's session: call it before anything else opens one, and
    never write through it.
    """
    if "db_session" not in g:
        g.db_session = db_read_session(services().engine)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown: close the request's session if one was opened."""
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()

"""``/metrics``: Prometheus text format, for a bearer token (METRICS_TOKEN) or a staff session.

Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set, the in-process counters of every
worker are aggregated (prometheus_client's multiprocess mode; see config/gunicorn.py).
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Blueprint, Flask, Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest, multiprocess

from gateway import auth
from gateway.constants import Role
from gateway.metrics.collector import GatewayCollector, queue_connection
from gateway.services import services, session

bp = Blueprint("metrics", __name__)
METRICS_ROLES = frozenset({Role.admin, Role.coordinator})
REQUESTS = Counter("pakn_http_requests", "HTTP requests answered, by blueprint and status class",
                   ["blueprint", "status"])


def _allowed() -> bool:
    token = services().settings.metrics_token
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return bool(token) and hmac.compare_digest(header[7:].strip().encode(), (token or "").encode())
    user = auth.current_user(session())
    if user is None:
        abort(401, description="Cần đăng nhập hoặc mã truy cập (Authorization: Bearer …).")
    return user.role in METRICS_ROLES


@bp.get("/metrics")
def metrics() -> Response:
    """The metrics, after checking who asks."""
    if not _allowed():
        abort(403)
    session().close()  # SQLite: the login check's transaction holds the write lock the collector would wait for
    svc = services()
    if "metrics_collector" not in g:
        connection = queue_connection(svc.settings.redis_url, svc.redis)
        g.metrics_collector = GatewayCollector(svc.engine, connection, svc.settings.queue_name)
    ours = CollectorRegistry(auto_describe=False)
    ours.register(g.metrics_collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process = CollectorRegistry()
        multiprocess.MultiProcessCollector(process)
    else:
        process = REGISTRY
    body = generate_latest(process) + generate_latest(ours)
    response = Response(body, mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def count_request(response: Any) -> Any:
    """after_request: one more answered request of this blueprint and status class."""
    REQUESTS.labels(request.blueprint or "-", f"{response.status_code // 100}xx").inc()
    return response


def init_app(app: Flask) -> None:
    """Count requests (per process; aggregated in multiprocess mode)."""
    app.after_request(count_request)

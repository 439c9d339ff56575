"""Building the Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config.settings import Settings
from gateway import cli, messages
from gateway.db import is_disconnect, make_engine
from gateway.queue import connect, make_queue
from gateway.services import Services, close_session
from gateway.storage import LocalStorage
from normalizer import bounds
from normalizer.phone import display as phone_display

csrf = CSRFProtect()
FORM_OVERHEAD = 2 * 1024 * 1024  # room for the text fields around the files

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class BoundedInt(IntegerConverter):
    """``<int:…>`` in every route: ids fit the database's INTEGER (a longer number is a 404, not a 500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", bounds.INT32_MAX)
        super().__init__(map, *args, **kwargs)


class BoundedRemoteAddr:
    """WSGI middleware (inside ProxyFix): the client address as stored is short and clean.

    Behind a proxy, ``X-Forwarded-For`` is whatever the client wrote; it becomes
    ``request.remote_addr`` and is stored with every inbound row (64 characters).
    """

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        addr = environ.get("REMOTE_ADDR")
        if isinstance(addr, str) and (len(addr) > bounds.MAX_REMOTE_ADDR or bounds.has_forbidden(addr)):
            environ["REMOTE_ADDR"] = bounds.strip_forbidden(addr)[: bounds.MAX_REMOTE_ADDR]
        return self.wsgi_app(environ, start_response)


def _configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_total_bytes + FORM_OVERHEAD,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=12 * 3600,  # one working day for staff
        WTF_CSRF_TIME_LIMIT=4 * 3600,  # long petitions take a while to write
        WTF_CSRF_SSL_STRICT=False,  # behind a TLS proxy the Referer check misfires; the token suffices
        JSON_AS_ASCII=False,
    )
    app.wsgi_app = BoundedRemoteAddr(app.wsgi_app)  # type: ignore[method-assign]
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/"))


def _error(status: int, message: str) -> Any:
    if request.path.startswith("/open311/"):
        from gateway.open311.views import error_for_path

        return error_for_path(request.path, status, message)
    if _wants_json():
        return jsonify(error=status, message=message), status
    from gateway.staffhome import staff_way

    settings = app_settings()
    way = staff_way(contact_email=settings.coordinator_email or settings.mail_from,
                    hotline=phone_display(settings.hotline_number))
    if way is not None:  # staff are sent to their desk and the coordinating office, not the citizen home
        return render_template("staff/error.html", message=message, status=status, way=way), status
    return render_template("error.html", message=message, status=status), status


def app_settings() -> Settings:
    """The current app's settings."""
    from flask import current_app

    return current_app.extensions["pakn"].settings


def _register_errors(app: Flask) -> None:
    limit_mb = app.extensions["pakn"].settings.max_total_bytes // (1024 * 1024)

    @app.errorhandler(CSRFError)
    def csrf_error(_exc: CSRFError) -> Any:
        from gateway.views.citizen import resubmit_after_csrf

        if request.endpoint == "citizen.submit":
            return resubmit_after_csrf()
        return _error(400, messages.text("errors", "csrf"))

    @app.errorhandler(413)
    def too_large(_exc: Exception) -> Any:
        if request.endpoint == "citizen.submit":  # the citizen's form again, with the limits (not a bare page)
            from gateway.views.citizen import form_too_large

            return form_too_large()
        return _error(413, messages.text("errors", "too_large", limit=limit_mb))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        known = {403: "forbidden", 404: "not_found", 429: "rate_limited"}
        ours = exc.description and exc.description != type(exc).description  # set on purpose, in Vietnamese
        text = str(exc.description) if ours else messages.text("errors", known.get(code, "bad_request"))
        body, status = _error(code, text if code < 500 else messages.text("errors", "server_error"))
        response = app.make_response((body, status))
        for name, value in exc.get_headers():
            if name == "Retry-After":
                response.headers[name] = value
        return response

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> Any:
        if not is_disconnect(exc):
            return unexpected(exc)
        # The pooled connection was dead (no pre-ping): the pool has been invalidated and
        # reconnects on the next checkout, so this is a clean "try again now".
        app.logger.warning("database connection lost on %s (reconnecting): %s", request.path, exc.orig)
        response = app.make_response(_error(503, messages.text("errors", "server_error")))
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s", request.path)
        return _error(500, messages.text("errors", "server_error"))


def build(settings: Settings | None = None) -> Flask:
    """Create the app for ``settings`` (default: from the environment)."""
    settings = (settings or Settings.from_env()).validate()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.url_map.converters["int"] = BoundedInt
    _configure(app, settings)
    connection = connect(settings, request_path=True)  # short timeouts: a citizen is waiting
    app.extensions["pakn"] = Services(
        settings=settings,
        engine=make_engine(settings.database_url),
        redis=connection,
        queue=make_queue(connection, settings),
        storage=LocalStorage(settings.upload_dir),
    )
    csrf.init_app(app)
    from gateway.open311 import views as open311
    from gateway.openapi import bp as openapi_bp
    from gateway.views import admin, agency, api, auth, citizen, coordinator, hotline, signing, sms

    app.register_blueprint(citizen.bp)
    app.register_blueprint(auth.bp, url_prefix="/staff")
    app.register_blueprint(hotline.bp, url_prefix="/hotline")
    app.register_blueprint(agency.bp, url_prefix="/agency")
    app.register_blueprint(coordinator.bp, url_prefix="/coordinator")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(sms.bp, url_prefix="/sms")
    from gateway.metrics import views as metrics_views
    from gateway.publication import desk, public
    from gateway.stats import views as stats_views

    app.register_blueprint(stats_views.bp, url_prefix="/thong-ke")
    app.register_blueprint(public.bp, url_prefix="/cong-khai")
    app.register_blueprint(desk.bp, url_prefix="/coordinator/publication")
    app.register_blueprint(metrics_views.bp)
    metrics_views.init_app(app)
    app.register_blueprint(signing.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(open311.bp, url_prefix="/open311/v2")
    app.register_blueprint(openapi_bp, url_prefix="/api")
    if not settings.production:  # the development SMS console; never in production (PAKN_ENV=production)
        from gateway import devsms

        app.register_blueprint(devsms.bp, url_prefix="/dev/sms")
    csrf.exempt(api.bp)
    csrf.exempt(open311.bp)  # API key instead
    csrf.exempt(sms.bp)  # signed by Twilio instead
    app.teardown_appcontext(close_session)
    app.after_request(_security_headers)
    _register_errors(app)
    cli.register(app)
    app.add_template_filter(phone_display, "phone")
    _register_labels(app)
    return app


def _register_labels(app: Flask) -> None:
    """Staff see Vietnamese words, never slugs: ``{{ value|vi }}``, ``{{ value|vi('field') }}``."""
    from gateway import labels

    app.add_template_filter(labels.vi, "vi")
    app.add_template_filter(labels.vi_text, "vi_text")
    app.add_template_filter(labels.event_sentence, "event_sentence")
    from gateway.staffhome import home_endpoint

    app.add_template_global(home_endpoint, "staff_home")


def _security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response

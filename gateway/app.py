"""Building the Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import Settings
from gateway import cli, messages
from gateway.db import make_engine
from gateway.queue import connect, make_queue
from gateway.services import Services, close_session
from gateway.storage import LocalStorage
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
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error(status: int, message: str) -> Any:
    if _wants_json():
        return jsonify(error=status, message=message), status
    return render_template("error.html", message=message, status=status), status


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

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s", request.path)
        return _error(500, messages.text("errors", "server_error"))


def build(settings: Settings | None = None) -> Flask:
    """Create the app for ``settings`` (default: from the environment)."""
    settings = (settings or Settings.from_env()).validate()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    _configure(app, settings)
    connection = connect(settings)
    app.extensions["pakn"] = Services(
        settings=settings,
        engine=make_engine(settings.database_url),
        redis=connection,
        queue=make_queue(connection, settings),
        storage=LocalStorage(settings.upload_dir),
    )
    csrf.init_app(app)
    from gateway.views import agency, api, auth, citizen, coordinator, hotline, sms

    app.register_blueprint(citizen.bp)
    app.register_blueprint(auth.bp, url_prefix="/staff")
    app.register_blueprint(hotline.bp, url_prefix="/hotline")
    app.register_blueprint(agency.bp, url_prefix="/agency")
    app.register_blueprint(coordinator.bp, url_prefix="/coordinator")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(sms.bp, url_prefix="/sms")
    csrf.exempt(api.bp)
    csrf.exempt(sms.bp)  # signed by Twilio instead
    app.teardown_appcontext(close_session)
    app.after_request(_security_headers)
    _register_errors(app)
    cli.register(app)
    app.add_template_filter(phone_display, "phone")
    return app


def _security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response

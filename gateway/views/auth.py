"""Staff login and logout."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for

from gateway import auth, messages, ratelimit
from gateway.constants import Role
from gateway.services import services, session
from normalizer import bounds

bp = Blueprint("auth", __name__)
HOME = {Role.operator: "hotline.desk", Role.coordinator: "coordinator.queue", Role.admin: "coordinator.queue",
        Role.agency: "agency.dashboard"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never an open redirect."""
    if not target:
        return None
    if len(target) > 2000 or bounds.has_forbidden(target) or "\\" in target or target.startswith("//"):
        return None  # browsers read "/\\evil.example" as "//evil.example"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Staff sign-in (CSRF-protected form)."""
    if request.method == "GET":
        return render_template("staff/login.html", error=None, next=_safe_next(request.args.get("next")) or "")
    if not ratelimit.hit(services().redis, scope="login", who=request.remote_addr or "-", limit=(20, 600)):
        abort(429, description=messages.text("errors", "rate_limited", minutes=10))
    username, password = request.form.get("username", ""), request.form.get("password", "")
    if bounds.check_text(username, max_len=bounds.MAX_USERNAME) or bounds.check_text(password,
                                                                                      max_len=bounds.MAX_PASSWORD):
        error = messages.text("staff", "login_malformed")
        return render_template("staff/login.html", error=error, next=_safe_next(request.form.get("next")) or ""), 400
    user = auth.authenticate(session(), username=username, password=password)
    if user is None:
        error = messages.text("staff", "login_failed")
        return render_template("staff/login.html", error=error, next=_safe_next(request.form.get("next")) or ""), 401
    auth.log_in(user)
    return redirect(_safe_next(request.form.get("next")) or url_for(HOME[user.role]))


@bp.post("/logout")
def logout() -> Any:
    """Sign out (POST, so that a link on another site cannot do it)."""
    auth.log_out()
    return redirect(url_for("auth.login"))
